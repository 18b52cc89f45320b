"""backward() of the generated NumPy module: every Δ^[l] = ∂C/∂Z^[l] and dX = ∂C/∂X (issue 14, item 6).

Expected numbers are central differences of the cost in mpmath at 50+ digits (tests/mp_network.py,
which does not import deltagen): ∂C/∂Z^[l]_ji moves z^[l]_j of example i alone and runs the net
on from there; ∂C/∂X_ki moves the input entry itself. So they are the cost's own derivatives, not
the δ recurrence read back. Params are drawn at random (seeded) and, where the spec gives them,
taken from its [example]; X and Y are the [example]'s, so the targets suit the loss.
"""
from __future__ import annotations

import tomllib

import mpmath
import numpy as np
import pytest

from conftest import ROOT, import_file
from deltagen.codegen import render, write_files
from deltagen.derive import derive, spec_from_dict
from mp_network import MpNet, loss, mpf

BUNDLED = sorted(path.parent.name for path in (ROOT / "generated").glob("*/spec.toml"))

#: nets beyond the bundled ones (all of which take the mean without L2): sum, L2, softmax with 3 classes,
#: relu and leaky ReLU, input_layer = 1, a layer without bias, the other losses
EXTRA = {
    "bw_sum_l2_bce": {"input": 3, "loss": "bce", "reduction": "sum", "l2": 0.25,
                      "layers": [{"units": 4, "activation": "tanh"}, {"units": 2, "activation": "sigmoid"}],
                      "example": {"X": [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, 0.0, 1.0]],
                                  "Y": [[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]}},
    "bw_softmax3": {"input": 2, "loss": "cce", "reduction": "mean", "l2": 0.1,
                    "notation": {"input_layer": 1},
                    "layers": [{"units": 3, "activation": "leaky_relu"}, {"units": 3, "activation": "softmax"}],
                    "example": {"X": [[0.3, -1.2, 0.8, 2.0], [1.1, 0.4, -0.7, 0.1]],
                                "Y": [[1.0, 0.0, 0.0, 0.2], [0.0, 1.0, 0.0, 0.3], [0.0, 0.0, 1.0, 0.5]]}},
    "bw_relu_mse": {"input": 2, "loss": "mse", "reduction": "sum",
                    "layers": [{"units": 3, "activation": "relu", "bias": False},
                               {"units": 2, "activation": "identity"}],
                    "example": {"X": [[0.3, -1.2, 0.8], [1.1, 0.4, -0.7]], "Y": [[0.5, -0.5, 1.0], [0.0, 2.0, 1.0]]}},
    "bw_logistic": {"input": 2, "loss": "logistic", "reduction": "mean",
                    "layers": [{"units": 2, "activation": "sigmoid"}, {"units": 1, "activation": "identity"}],
                    "example": {"X": [[0.3, -1.2, 0.8], [1.1, 0.4, -0.7]], "Y": [[1.0, -1.0, 1.0]]}},
    "bw_hinge": {"input": 2, "loss": "hinge", "reduction": "mean",
                 "layers": [{"units": 3, "activation": "tanh"}, {"units": 1, "activation": "identity"}],
                 "example": {"X": [[0.3, -1.2, 0.8], [1.1, 0.4, -0.7]], "Y": [[1.0, -1.0, 1.0]]}},
}


def _spec(name: str) -> dict:
    if name in EXTRA:
        return {"name": name, **EXTRA[name]}
    return tomllib.loads((ROOT / "generated" / name / "spec.toml").read_text())


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    """Each net's module, generated from its spec into a temporary folder (generated/ is not read)."""
    out = {}
    for name in BUNDLED + list(EXTRA):
        spec = _spec(name)
        folder = tmp_path_factory.mktemp(name)
        if name in EXTRA:   # their "example" holds only X and Y, for these tests
            spec = {key: value for key, value in spec.items() if key != "example"}
        write_files(render(derive(spec_from_dict(spec)), "numpy"), folder)
        out[name] = import_file(folder / f"{spec['name']}.py")
    return out


def _param_sets(module, spec: dict) -> list[dict]:
    """Seeded random params (scale 0.8), and the [example]'s own when it gives every one."""
    rng = np.random.default_rng(14)
    sets = [{key: rng.normal(0.0, 0.8, size=shape) for key, shape in module.PARAM_SHAPES.items()}]
    example = spec.get("example", {})
    first = spec.get("notation", {}).get("input_layer", 0) + 1
    given = {f"W{first + i}": np.array(w, dtype=float) for i, w in enumerate(example.get("W", []))}
    given.update({f"b{first + i}": np.array(b, dtype=float) for i, b in enumerate(example.get("b", []))})
    if set(given) >= set(module.PARAM_SHAPES) and all(given[k].shape == s for k, s in module.PARAM_SHAPES.items()):
        sets.append({key: given[key] for key in module.PARAM_SHAPES})
    return sets


def _expected(spec: dict, params: dict, X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
    """∂C/∂Z^[l] and ∂C/∂X by central differences of the cost at 50+ digits."""
    net = MpNet(spec)
    first = spec.get("notation", {}).get("input_layer", 0) + 1
    with mpmath.workdps(net.working_digits(params, X) + 20):
        p, xs, ys = net._prepared(params, X, Y)
        h, m = net.step, len(xs)
        scale = mpmath.mpf(1) / m if net.mean else mpmath.mpf(1)
        out = {}
        for index in range(len(net.layers)):
            rows = []
            for j in range(len(p[net.layers[index][0]])):
                row = []
                for x, y in zip(xs, ys):
                    # moving z^[l]_j of example i changes only ℓ_i (the L2 term and the other examples stay)
                    z = list(net._trace(p, x)[1][index])
                    z[j] += h
                    up = loss(net.loss, net._from(p, index, z), y)
                    z[j] -= 2 * h
                    down = loss(net.loss, net._from(p, index, z), y)
                    row.append(float(scale * (up - down) / (2 * h)))
                rows.append(row)
            out[f"Delta{first + index}"] = np.array(rows)
        dX = np.zeros(X.shape)
        for k in range(X.shape[0]):
            for i in range(X.shape[1]):
                shifted = [list(x) for x in xs]
                shifted[i][k] = xs[i][k] + h
                up = net._cost(p, shifted, ys)
                shifted[i][k] = xs[i][k] - h
                down = net._cost(p, shifted, ys)
                dX[k, i] = float((up - down) / (2 * h))
        out["dX"] = dX
        return out


def _check(got: dict, expected: dict) -> None:
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key].shape == value.shape, key
        np.testing.assert_allclose(got[key], value, rtol=1e-9, atol=1e-13 * max(1.0, np.abs(value).max()),
                                   err_msg=key)


@pytest.mark.parametrize("name", BUNDLED + list(EXTRA))
def test_backward_is_the_cost_derivative(modules, name):
    module, spec = modules[name], _spec(name)
    X = np.array(spec["example"]["X"], dtype=float)
    Y = np.array(spec["example"]["Y"], dtype=float)
    for params in _param_sets(module, spec):
        _check(module.backward(params, X, Y), _expected_conv(spec, params, X, Y)
               if any("kind" in layer for layer in spec["layers"]) else _expected(spec, params, X, Y))


def _expected_conv(spec: dict, params: dict, X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
    """A net with conv or pool layers: the same central differences, by the conv reference (tests/mp_conv_network.py);
    Δ^[l] in Z^[l]'s shape, dX in X's."""
    from mp_conv_network import MpConvNet
    from test_numpy_conv import _mp_deltas
    flat = X.reshape(MpConvNet(spec).n_in, -1)     # X as given: (n_in, m), INPUT_SHAPE + (m,) or INPUT_SHAPE
    out = {key: value if value.ndim > 2 else value.reshape(value.shape[0], -1)
           for key, value in _mp_deltas(spec, params, flat, Y).items()}
    if X.ndim == len(spec["input"]):               # one example: every array drops its example axis
        out = {key: value[..., 0] for key, value in out.items()}
    out["dX"] = MpConvNet(spec).input_gradient(params, flat, Y).reshape(X.shape)
    return out


@pytest.mark.parametrize("name", ["lecture_softmax_tanh", "bw_sum_l2_bce", "bw_softmax3"])
def test_backward_agrees_with_gradients(modules, name):
    """∂C/∂b = Δ 1 and ∂C/∂W = Δ A_prevᵀ + λ W with backward's Δ (C's derivative, the 1/m inside)."""
    module, spec = modules[name], _spec(name)
    X = np.array(spec["example"]["X"], dtype=float)
    Y = np.array(spec["example"]["Y"], dtype=float)
    params = _param_sets(module, spec)[0]
    deltas, grads = module.backward(params, X, Y), module.gradients(params, X, Y)
    first = spec.get("notation", {}).get("input_layer", 0) + 1
    net = MpNet(spec)
    p, xs, _ = net._prepared(params, X, Y)
    traces = [net._trace(p, x)[0] for x in xs]      # each layer's input a^[l−1], example by example
    for index, layer in enumerate(spec["layers"]):
        number = first + index
        A_prev = np.array([[float(v) for v in inputs[index]] for inputs in traces]).T
        if layer.get("bias", True):
            np.testing.assert_allclose(deltas[f"Delta{number}"].sum(axis=1, keepdims=True), grads[f"b{number}"],
                                       rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(deltas[f"Delta{number}"] @ A_prev.T + spec.get("l2", 0.0) * params[f"W{number}"],
                                   grads[f"W{number}"], rtol=1e-12, atol=1e-15)


def test_backward_one_example_is_one_dimensional(modules):
    """A 1-D x gives 1-D arrays, as forward does; with one example, ∂C/∂Z is the lecture's δ itself."""
    module, spec = modules["bw_softmax3"], _spec("bw_softmax3")
    params = _param_sets(module, spec)[0]
    x, y = np.array([0.3, 1.1]), np.array([1.0, 0.0, 0.0])
    got = module.backward(params, x, y)
    assert {key: value.shape for key, value in got.items()} == {"Delta3": (3,), "Delta2": (3,), "dX": (2,)}
    expected = _expected(spec, params, x.reshape(2, 1), y.reshape(3, 1))
    _check({key: value.reshape(-1, 1) for key, value in got.items()}, expected)
    # softmax with cce: δ^[L] = a − y, with a from an mpmath softmax of the example's z
    net = MpNet(spec)
    p = net._params(params)
    z = net._trace(p, [mpf(v) for v in x])[1][-1]
    a = [float(v) for v in net.layers[-1][2](z)]
    np.testing.assert_allclose(got["Delta3"], np.array(a) - y, rtol=1e-12)


def test_backward_masks(modules):
    module, spec = modules["lecture_xor"], _spec("lecture_xor")
    params = _param_sets(module, spec)[0]
    X, Y = np.array(spec["example"]["X"], dtype=float), np.array(spec["example"]["Y"], dtype=float)
    assert set(module.backward(params, X, Y, masks=None)) == {"Delta1", "Delta2", "dX"}
    assert set(module.backward(params, X, Y, masks={})) == {"Delta1", "Delta2", "dX"}
    with pytest.raises(ValueError, match="masks: this network has no dropout layer"):
        module.backward(params, X, Y, masks={"D1": np.ones((2, 4))})


def test_backward_does_not_modify_its_inputs(modules):
    module, spec = modules["bw_sum_l2_bce"], _spec("bw_sum_l2_bce")
    params = _param_sets(module, spec)[0]
    X, Y = np.array(spec["example"]["X"], dtype=float), np.array(spec["example"]["Y"], dtype=float)
    before = ({key: value.copy() for key, value in params.items()}, X.copy(), Y.copy())
    module.backward(params, X, Y)
    assert all(np.array_equal(params[key], before[0][key]) for key in params)
    assert np.array_equal(X, before[1]) and np.array_equal(Y, before[2])
