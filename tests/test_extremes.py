"""Every accepted (activation, loss) pair at |z| up to 1000 with targets at exactly 0 and 1,
in generated NumPy and in generated C (double and float), against mpmath.

The reference is tests/mp_network.py: textbook definitions evaluated at 1000 digits (enough
that σ(1000) = 1 − e^{-1000} is not rounded to 1, so bce with a target of exactly 0 has a
finite reference), gradients by central differences. Nothing in it comes from deltagen.

Tolerances, per value v against the reference r (ε = 2^-52 in double, 2^-23 in float):
double |v − r| ≤ 1e-12·|r| + 4ε·Z, float |v − r| ≤ 1e-5·|r| + 4ε·Z, where Z is the largest
|z| involved (at least 1): a loss such as z_k − log Σ_j e^{z_j} at z = (1000, 999) is a
difference of numbers near 1000, which a float resolves only to 1000·2^-23 ≈ 1.2e-4.
Costs and gradients must be finite wherever the reference is representable. In nets with
saturated hidden layers the gradient is compared normwise (every entry against the bound of
the largest one): σ' = a(1 − a) and tanh' = 1 − a² at a ≈ ±1 have an absolute error of about
ε, so an entry much smaller than the gradient's largest is not resolved relatively (the
README's "Float32 limits").
"""
from __future__ import annotations

import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from deltagen.codegen.render import render, write_files
from deltagen.derive import SpecError, derive, spec_from_dict

from c_harness import CNet, compile_c
from conftest import import_file
from mp_network import MpNet

HAVE_GCC = shutil.which("gcc") is not None
needs_gcc = pytest.mark.skipif(not HAVE_GCC, reason="gcc is not installed")

BUILTIN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"]
#: custom activations: linear (lecture 002), softplus (needs the stable log(1 + e^u)), softsign (bounded, no exp),
#: swish written out (its derivative's z e^−z/(1 + e^−z)² was inf · 0 = NaN in C at z = −1000)
CUSTOM = ["2*z", "log(1 + exp(z))", "z/(1 + Abs(z))", "z/(1 + exp(-z))"]
ACTIVATIONS = BUILTIN + CUSTOM
LOSSES = ["half_sse", "mse", "bce", "cce", "logistic", "hinge"]


def documented_pairing(activation: str, loss: str) -> bool:
    """The README's table: which output activation each loss takes (and why, there)."""
    if loss == "bce":
        return activation == "sigmoid"           # needs probabilities in (0, 1)
    if loss == "cce":
        return activation == "softmax"           # needs a probability vector
    if loss in ("logistic", "hinge"):
        return activation != "softmax"           # take a real score per output
    return True                                  # half_sse, mse: any output


PAIRS = [(a, l) for l in LOSSES for a in ACTIVATIONS if documented_pairing(a, l)]

#: pre-activations of the two output units (z = W x + b with x = 1 and W = 0, so b sets z)
Z_VALUES = [(1000.0, -1000.0), (-1000.0, 1000.0), (1000.0, 999.0), (-1000.0, -998.0), (30.0, -35.0), (0.5, -0.25)]

DTYPES = {"double": (np.float64, 1e-12), "float": (np.float32, 1e-5)}


def targets(loss: str) -> list[tuple[float, float]]:
    """Targets at exactly 0 and 1 (and −1 for the margin losses, whose labels are ±1)."""
    if loss == "cce":
        return [(1.0, 0.0), (0.0, 1.0)]
    if loss in ("logistic", "hinge"):
        return [(1.0, -1.0), (-1.0, 1.0), (0.0, 1.0), (1.0, 0.0)]
    return [(0.0, 1.0), (1.0, 0.0), (0.0, 0.0), (1.0, 1.0)]


def pair_spec(activation: str, loss: str) -> dict:
    return {"name": "extreme", "input": 1, "layers": [{"units": 2, "activation": activation}], "loss": loss}


def on_kink(activation: str, loss: str, z: tuple, a: list, y: tuple) -> bool:
    """Where the derivative is a convention (relu'(0) = 0, hinge at the margin y·a = 1), not a limit."""
    return (activation in ("relu", "leaky_relu") and 0.0 in z) or \
        (loss == "hinge" and any(abs(1 - yk * ak) < 1e-9 for yk, ak in zip(y, a)))


def allowed_error(reference: float, real: str, largest_z: float) -> float:
    """The documented tolerance: relative, plus 4ε·Z for differences of numbers of size Z."""
    dtype, rtol = DTYPES[real]
    return rtol * abs(reference) + 4 * float(np.finfo(dtype).eps) * max(1.0, largest_z)


# ------------------------------------------------------------------ the pairs the spec accepts

def test_accepted_pairs_are_exactly_the_documented_ones():
    for activation in ACTIVATIONS:
        for loss in LOSSES:
            try:
                spec_from_dict(pair_spec(activation, loss))
                accepted = True
            except SpecError as error:
                accepted = False
                assert error.field == "loss" and "expected" in error.line()
            assert accepted == documented_pairing(activation, loss), (activation, loss)


# ------------------------------------------------------------------ builds

class Builds:
    """Per spec, the generated NumPy module and the C compiled in double and float, made once."""

    def __init__(self, directory_factory):
        self.directory_factory = directory_factory
        self.cache: dict = {}

    def get(self, key: str, spec: dict):
        if key not in self.cache:
            network = spec_from_dict(spec)
            directory = self.directory_factory(key)
            derivation = derive(network)
            write_files({**render(derivation, "numpy"), **render(derivation, "c")}, directory)
            name = network.name
            module = import_file(directory / f"{name}.py")
            shapes = dict(module.PARAM_SHAPES)
            c = {}
            if HAVE_GCC:
                with ThreadPoolExecutor(2) as pool:   # the two compilations side by side
                    libraries = {real: pool.submit(compile_c, [directory / f"{name}.c"],
                                                   directory / f"lib{name}_{real}.so", name, real=real)
                                 for real in DTYPES}
                c = {real: CNet(future.result(), name, shapes, real=real) for real, future in libraries.items()}
            self.cache[key] = (module, c)
        return self.cache[key]


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    return Builds(lambda key: tmp_path_factory.mktemp(key.replace("*", "x").replace("/", "_")[:40]))


def backend(builds, key: str, spec: dict, which: str):
    module, c = builds.get(key, spec)
    if which == "numpy":
        return module
    if not c:
        pytest.skip("gcc is not installed")
    return c[which.removeprefix("c_")]


def call(net, which: str, params: dict, X, Y):
    """(cost, gradients); NumPy under warnings-as-errors, so an overflow warning fails the test."""
    if which == "numpy":
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return net.cost(params, X, Y), net.gradients(params, X, Y)
    return net.cost(params, X, Y), net.gradients(params, X, Y)


BACKENDS = ["numpy", "c_double", "c_float"]


def precision(which: str) -> str:
    return "float" if which == "c_float" else "double"


# ------------------------------------------------------------------ output layer at |z| = 1000

def pair_params() -> list:
    return [pytest.param(a, l, id=f"{a}-{l}") for a, l in PAIRS]


@pytest.mark.parametrize("which", BACKENDS)
@pytest.mark.parametrize("activation, loss", pair_params())
def test_output_layer_at_extreme_z_matches_mpmath(builds, which, activation, loss):
    spec = pair_spec(activation, loss)
    net = backend(builds, f"{activation}-{loss}", spec, which)
    reference = MpNet(spec, digits=1000)
    real = precision(which)
    checked = 0
    for z in Z_VALUES:
        largest = max(abs(v) for v in z)
        params = {"W1": np.zeros((2, 1)), "b1": np.array(z).reshape(2, 1)}
        for y in targets(loss):
            X, Y = np.ones((1, 1)), np.array(y).reshape(2, 1)
            cost, grads = call(net, which, params, X, Y)
            expected_cost = float(reference.cost(params, X, Y))
            assert np.isfinite(expected_cost)   # every case here has a representable cost
            assert np.isfinite(cost), (z, y, cost)
            assert abs(cost - expected_cost) <= allowed_error(expected_cost, real, largest), (z, y, cost, expected_cost)
            if on_kink(activation, loss, z, reference.output(params, X[:, 0]), y):
                continue
            expected = reference.gradient(params, X, Y)
            for key in ("W1", "b1"):   # with x = 1, ∂C/∂W = ∂C/∂b = ∂C/∂z
                for got, want in zip(np.ravel(grads[key]), np.ravel(expected[key])):
                    assert np.isfinite(got), (z, y, key, got)
                    assert abs(got - want) <= allowed_error(want, real, largest), (z, y, key, got, want)
            checked += 1
    assert checked >= len(Z_VALUES)   # the kinks skipped are few


# ------------------------------------------------------------------ saturated hidden layers

#: nets whose hidden layers are driven far into saturation (|z| in the hundreds to thousands)
SATURATED = {
    "sat_sigmoid_tanh_softmax_cce": {"input": 2, "loss": "cce", "layers": [
        {"units": 3, "activation": "sigmoid"}, {"units": 3, "activation": "tanh"}, {"units": 2, "activation": "softmax"}]},
    "sat_tanh_sigmoid_bce_sum": {"input": 2, "loss": "bce", "reduction": "sum", "layers": [
        {"units": 3, "activation": "tanh"}, {"units": 2, "activation": "sigmoid"}]},
    "sat_relu_leaky_sigmoid_bce": {"input": 2, "loss": "bce", "layers": [
        {"units": 3, "activation": "relu"}, {"units": 3, "activation": "leaky_relu", "alpha": 0.1},
        {"units": 1, "activation": "sigmoid"}]},
    "sat_softplus_softsign_logistic": {"input": 2, "loss": "logistic", "layers": [
        {"units": 3, "activation": "log(1 + exp(z))"}, {"units": 2, "activation": "z/(1 + Abs(z))"},
        {"units": 1, "activation": "identity"}]},
    "sat_swish_tanh_mse": {"input": 2, "loss": "mse", "layers": [
        {"units": 3, "activation": "z/(1 + exp(-z))"}, {"units": 2, "activation": "tanh"}]},
    "sat_sigmoid_tanh_hinge_l2": {"input": 2, "loss": "hinge", "l2": 0.01, "layers": [
        {"units": 4, "activation": "sigmoid"}, {"units": 1, "activation": "tanh"}]},
    "sat_sigmoid_identity_mse_nobias": {"input": 2, "loss": "mse", "layers": [
        {"units": 3, "activation": "sigmoid", "bias": False}, {"units": 2, "activation": "identity", "bias": False}]},
}


def saturated_data(spec: dict, seed: int):
    """(params, X, Y, Z): weights scaled layer by layer so that every layer's pre-activations reach a few
    hundred (Z, the largest |z|, at most about 1100, which the 1000-digit reference resolves); targets 0 and 1."""
    rng = np.random.default_rng(seed)
    sizes = [spec["input"]] + [layer["units"] for layer in spec["layers"]]
    X = np.array([[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]])
    params, largest = {}, 0.0
    for index, layer in enumerate(spec["layers"], start=1):
        below = MpNet({**spec, "layers": spec["layers"][:index - 1]}, digits=30)
        A = np.array([[float(v) for v in below.output(params, X[:, i])] for i in range(X.shape[1])]).T
        target = rng.uniform(300, 900)
        scale = target / (sizes[index - 1] * max(1.0, float(np.max(np.abs(A)))))
        shape = (sizes[index], sizes[index - 1])
        params[f"W{index}"] = rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.0, shape) * scale
        z = params[f"W{index}"] @ A
        if layer.get("bias", True):
            params[f"b{index}"] = rng.uniform(-0.2, 0.2, (sizes[index], 1)) * target
            z = z + params[f"b{index}"]
        largest = max(largest, float(np.max(np.abs(z))))
    n_out = sizes[-1]
    if spec["loss"] == "cce":
        Y = np.eye(n_out)[:, [0, 1, 0]]
    elif spec["loss"] in ("logistic", "hinge"):
        Y = np.tile([1.0, -1.0, 0.0], (n_out, 1))
    else:
        Y = np.tile([0.0, 1.0, 1.0], (n_out, 1))
    return params, X, Y, largest


@pytest.mark.parametrize("which", BACKENDS)
@pytest.mark.parametrize("key", sorted(SATURATED))
def test_saturated_hidden_layers_match_mpmath(builds, which, key):
    spec = {"name": "saturated", **SATURATED[key]}
    net = backend(builds, key, spec, which)
    reference = MpNet(spec, digits=1000)
    real = precision(which)
    for seed in (1, 2):
        params, X, Y, largest = saturated_data(spec, seed)
        assert 100 < largest < 1200   # the data saturate the net, within what the reference resolves
        cost, grads = call(net, which, params, X, Y)
        expected_cost = float(reference.cost(params, X, Y))
        assert np.isfinite(cost) and abs(cost - expected_cost) <= allowed_error(expected_cost, real, largest), \
            (seed, cost, expected_cost)
        expected = reference.gradient(params, X, Y)
        # normwise over the whole gradient: an entry far below the largest one cannot be resolved once
        # σ' = a(1 − a) is taken at a ≈ 1 (the lecture's form, as in PyTorch), so it is held to the same
        # absolute error as the largest entry
        scale = max(float(np.max(np.abs(want))) for want in expected.values())
        for name, want in expected.items():
            got = np.asarray(grads[name], float).reshape(want.shape)
            assert np.isfinite(got).all(), (seed, name, got)
            error = float(np.max(np.abs(got - want)))
            assert error <= allowed_error(scale, real, largest), (seed, name, error, scale, got, want)


# ------------------------------------------------------------------ activations the rewrites cannot make stable

UNSTABLE = "log(exp(z) + exp(-z))"      # its derivative (e^z − e^−z)/(e^z + e^−z) is inf/inf at |z| = 1000


def test_an_activation_the_rewrites_cannot_make_stable_is_refused_at_generation(tmp_path, monkeypatch):
    import subprocess
    import sys

    render_module = sys.modules["deltagen.codegen.render"]     # (the package exports a function of that name)
    spec = {"name": "unstable", "input": 1, "loss": "half_sse",
            "layers": [{"units": 1, "activation": UNSTABLE}, {"units": 1, "activation": "identity"}]}
    path = tmp_path / "unstable.toml"
    path.write_text(f'name = "unstable"\ninput = 1\nloss = "half_sse"\nlayers = [ {{ units = 1, activation = '
                    f'"{UNSTABLE}" }}, {{ units = 1, activation = "identity" }} ]\n')
    for target in ("numpy", "c"):
        result = subprocess.run([sys.executable, "-m", "deltagen.cli", "generate", str(path), "--target", target,
                                 "--out", str(tmp_path / target)], capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
        assert "layers[0].activation" in result.stderr and "z = -1000" in result.stderr
        assert not (tmp_path / target).exists()
    # the refusal is right: generated anyway, the module's gradient is NaN where the true one is −1000·…
    monkeypatch.setattr(render_module, "check_generated_stability", lambda derivation, target: None)
    write_files(render(derive(spec_from_dict(spec)), "numpy"), tmp_path / "anyway")
    module = import_file(tmp_path / "anyway" / "unstable.py")
    params = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]]), "W2": np.array([[1.0]]), "b2": np.array([[0.0]])}
    with np.errstate(all="ignore"):
        grads = module.gradients(params, np.array([[-1000.0]]), np.array([[0.0]]))
    assert np.isnan(grads["b1"]).any()


def test_the_custom_activations_the_rewrites_make_stable_are_not_refused():
    for activation in CUSTOM + ["z*tanh(log(1 + exp(z)))", "exp(z)/(1 + exp(z))"]:
        spec = {"name": "fine", "input": 1, "loss": "half_sse",
                "layers": [{"units": 1, "activation": activation}, {"units": 1, "activation": "identity"}]}
        for target in ("numpy", "c"):
            assert render(derive(spec_from_dict(spec)), target)
