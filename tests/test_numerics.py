"""Generated NumPy at extreme inputs (|z| = 1000) and on random nets, against mpmath at 50 digits.

The mpmath reference is written out here from the textbook definitions, independently
of deltagen's derivation; gradients are central differences in mpmath (h = 1e-20).
"""
from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pytest

from deltagen.codegen import render, write_files
from conftest import import_file
from deltagen.derive import derive, spec_from_dict

mp.mp.dps = 50


@pytest.fixture(autouse=True)
def fifty_digits():
    """The references' central differences need 50 digits whatever another test module set."""
    with mp.workdps(50):
        yield

ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": lambda z: 1 / (1 + mp.exp(-z)),
    "tanh": mp.tanh,
    "relu": lambda z: z if z > 0 else mp.mpf(0),
    "leaky_relu": lambda z: z if z > 0 else z / 100,
}


def reference_loss(loss: str, a: list, y: list) -> mp.mpf:
    if loss == "half_sse":
        return sum((ak - yk) ** 2 for ak, yk in zip(a, y)) / 2
    if loss == "mse":
        return sum((ak - yk) ** 2 for ak, yk in zip(a, y)) / len(a)
    if loss == "bce":
        return -sum(yk * mp.log(ak) + (1 - yk) * mp.log(1 - ak) for ak, yk in zip(a, y))
    if loss == "cce":
        return -sum(yk * mp.log(ak) for ak, yk in zip(a, y))
    if loss == "logistic":
        return mp.log(1 + mp.exp(-sum(ak * yk for ak, yk in zip(a, y))))
    if loss == "hinge":
        return sum(max(mp.mpf(0), 1 - yk * ak) for ak, yk in zip(a, y))
    raise ValueError(loss)


def reference_output(activation: str, z: list) -> list:
    if activation == "softmax":
        top = max(z)
        exps = [mp.exp(zk - top) for zk in z]
        return [e / sum(exps) for e in exps]
    return [ACTIVATIONS[activation](zk) for zk in z]


def reference_cost_of_z(activation: str, loss: str, z: list, y: list) -> mp.mpf:
    return reference_loss(loss, reference_output(activation, z), y)


PAIRS = [("identity", "half_sse"), ("sigmoid", "half_sse"), ("tanh", "mse"), ("sigmoid", "bce"),
         ("softmax", "cce"), ("softmax", "half_sse"), ("identity", "logistic"), ("tanh", "logistic"),
         ("identity", "hinge"), ("relu", "half_sse"), ("leaky_relu", "mse")]


def generate(tmp_path_factory, spec: dict):
    out = tmp_path_factory.mktemp(spec["name"])
    write_files(render(derive(spec_from_dict(spec))), out)
    return import_file(out / f"{spec['name']}.py")


@pytest.fixture(scope="module")
def output_modules(tmp_path_factory):
    """One module per pair: z = W x + b with x = 1, so the bias sets z directly."""
    modules = {}
    for activation, loss in PAIRS:
        units = 2
        spec = {"name": f"extreme_{activation}_{loss}", "input": 1,
                "layers": [{"units": units, "activation": activation}], "loss": loss}
        modules[activation, loss] = generate(tmp_path_factory, spec)
    return modules


def targets_for(loss: str) -> list[list[float]]:
    if loss in ("logistic", "hinge"):
        return [[1.0, -1.0], [-1.0, 1.0]]
    if loss == "cce":
        return [[1.0, 0.0], [0.0, 1.0]]
    return [[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]


@pytest.mark.parametrize("activation, loss", PAIRS)
@pytest.mark.parametrize("z", [[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, 999.0], [-1000.0, -998.0], [30.0, -35.0]])
def test_extreme_inputs_give_finite_correct_cost_and_gradient(output_modules, activation, loss, z):
    module = output_modules[activation, loss]
    for y in targets_for(loss):
        params = {"W1": np.zeros((2, 1)), "b1": np.array(z).reshape(2, 1)}
        X, Y = np.ones((1, 1)), np.array(y).reshape(2, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # an overflow warning fails the test
            cost = module.cost(params, X, Y)
            grads = module.gradients(params, X, Y)
        zs, ys = [mp.mpf(v) for v in z], [mp.mpf(v) for v in y]
        expected = reference_cost_of_z(activation, loss, zs, ys)
        if not mp.isfinite(expected):
            continue
        assert np.isfinite(cost)
        assert abs(cost - float(expected)) <= 1e-12 * max(1.0, abs(float(expected)))
        for k in range(2):
            def along(t, k=k):
                shifted = list(zs)
                shifted[k] += t
                return reference_cost_of_z(activation, loss, shifted, ys)
            if activation in ("relu", "leaky_relu") and abs(z[k]) < 1e-9 or loss == "hinge" and abs(1 - y[k] * z[k]) < 1e-9:
                continue   # at a kink the derivative is a convention, not a limit
            h = mp.mpf("1e-20")
            slope = (along(h) - along(-h)) / (2 * h)
            got = grads["b1"][k, 0]
            assert np.isfinite(got)
            assert abs(got - float(slope)) <= 1e-12 * max(1.0, abs(float(slope))), (k, got, slope)


def test_saturated_hidden_layers_stay_finite(tmp_path_factory):
    spec = {"name": "saturated", "input": 2, "layers": [{"units": 3, "activation": "sigmoid"},
            {"units": 3, "activation": "tanh"}, {"units": 2, "activation": "softmax"}], "loss": "cce"}
    module = generate(tmp_path_factory, spec)
    params = {key: np.full(shape, 500.0) for key, shape in module.PARAM_SHAPES.items()}
    X = np.array([[1.0, -1.0], [1.0, -1.0]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(module.cost(params, X, Y))
        assert all(np.isfinite(g).all() for g in module.gradients(params, X, Y).values())
