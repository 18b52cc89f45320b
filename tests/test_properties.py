"""Property tests (hypothesis): random architectures and data, against an independent mpmath reference.

For random nets — 1 to 4 layers of 1 to 8 units, every activation (built-in and custom)
and every loss with the output activations it pairs with, bias on or off, mean or sum,
with or without L2, either layer numbering — and random weights and data (targets
including exact 0 and 1):

- the generated NumPy module's and the generated C's (double) cost and gradients agree
  with the cost and the central differences of tests/mp_network.py at 50 digits, to
  1e-9 relative per entry (see ``assert_close`` for the exact rule);
- ``sgd_step`` equals params − η·gradients, in NumPy and in C (m = 1 takes C's fused path);
- ``prove(derive(network))`` verifies: the layer-local proof on every architecture drawn,
  and the default proof, end to end included, on nets of up to 60 parameters.

The run is deterministic (``derandomize=True``, no example database). The default sizes
keep it to a minute or two; ``DELTAGEN_HYPOTHESIS_EXAMPLES=N`` runs N examples of each
property instead (the proof property runs N // 3, at least 1: proofs are the slow part).
"""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from deltagen import prove
from deltagen.codegen.render import render, write_files
from deltagen.derive import derive, spec_from_dict
from deltagen.derive.proof import END_TO_END_MAX_PARAMS

from c_harness import CNet, compile_c
from conftest import import_file
from mp_network import MpNet
from test_extremes import ACTIVATIONS, LOSSES, documented_pairing

HAVE_GCC = shutil.which("gcc") is not None
REQUESTED = int(os.environ.get("DELTAGEN_HYPOTHESIS_EXAMPLES", "0") or 0)
GRADIENT_EXAMPLES = REQUESTED or 25
PROOF_EXAMPLES = max(1, REQUESTED // 3) if REQUESTED else 10
#: the end-to-end proof runs by default for nets up to this many parameters (a few seconds each at most),
#: so it is drawn on every net of up to 4 layers that small
PROOF_E2E_MAX_PARAMS = END_TO_END_MAX_PARAMS

RELATIVE = 1e-9
HIDDEN = [a for a in ACTIVATIONS if a != "softmax"]
KINKED = ("relu", "leaky_relu")   # piecewise: the derivative at 0 is a convention


def common_settings(examples: int) -> settings:
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ------------------------------------------------------------------ strategies

@st.composite
def network_specs(draw, max_depth: int = 4, max_units: int = 8, max_input: int = 8) -> dict:
    """A spec dict: any depth, sizes, activations that pair with the loss, bias, reduction, L2, numbering."""
    loss = draw(st.sampled_from(LOSSES))
    depth = draw(st.integers(1, max_depth))
    layers = []
    for i in range(depth):
        last = i == depth - 1
        choices = [a for a in ACTIVATIONS if documented_pairing(a, loss)] if last else HIDDEN
        activation = draw(st.sampled_from(choices))
        layer = {"units": draw(st.integers(2 if activation == "softmax" else 1, max_units)),
                 "activation": activation}
        if not draw(st.booleans()):
            layer["bias"] = False
        if activation == "leaky_relu" and draw(st.booleans()):
            layer["alpha"] = draw(st.sampled_from([0.05, 0.2, 0.5]))
        layers.append(layer)
    spec = {"name": "prop", "input": draw(st.integers(1, max_input)), "layers": layers, "loss": loss,
            "reduction": draw(st.sampled_from(["mean", "sum"])), "l2": draw(st.sampled_from([0.0, 0.0, 0.01, 0.3]))}
    if draw(st.booleans()):
        spec["notation"] = {"input_layer": 1}
    return spec


def parameter_count(spec: dict) -> int:
    sizes = [spec["input"]] + [layer["units"] for layer in spec["layers"]]
    return sum(sizes[i] * sizes[i - 1] + (sizes[i] if layer.get("bias", True) else 0)
               for i, layer in enumerate(spec["layers"], start=1))


def param_names(spec: dict) -> list[tuple[str, tuple[int, int]]]:
    first = spec.get("notation", {}).get("input_layer", 0)
    sizes = [spec["input"]] + [layer["units"] for layer in spec["layers"]]
    names = []
    for position, layer in enumerate(spec["layers"], start=1):   # 1-based position in the spec's list
        number = first + position
        names.append((f"W{number}", (sizes[position], sizes[position - 1])))
        if layer.get("bias", True):
            names.append((f"b{number}", (sizes[position], 1)))
    return names


def random_data(spec: dict, seed: int, m: int):
    """Weights of unit scale per fan-in, inputs N(0, 1), targets valid for the loss with some at exactly 0 and 1."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in param_names(spec):
        params[name] = rng.normal(0, 1.5 / np.sqrt(shape[1]) if name.startswith("W") else 0.5, shape)
    X = rng.normal(0, 1, (spec["input"], m))
    n_out = spec["layers"][-1]["units"]
    loss = spec["loss"]
    if loss == "bce":
        Y = rng.choice([0.0, 1.0, 0.3, 0.85], size=(n_out, m))
    elif loss == "cce":
        Y = np.eye(n_out)[:, rng.integers(0, n_out, m)] if rng.random() < 0.5 else rng.dirichlet(np.ones(n_out), m).T
    elif loss in ("logistic", "hinge"):
        Y = rng.choice([-1.0, 1.0], size=(n_out, m))
    else:
        Y = np.where(rng.random((n_out, m)) < 0.3, rng.choice([0.0, 1.0], (n_out, m)), rng.normal(0, 1, (n_out, m)))
    return params, X, Y


def near_a_kink(spec: dict, params: dict, X, Y) -> bool:
    """Whether some relu/leaky_relu input or hinge margin is within 1e-9 of its kink (the derivative there
    is a convention, which central differences do not see)."""
    a = np.asarray(X, float)
    for position, layer in enumerate(spec["layers"], start=1):
        below = MpNet({**spec, "layers": spec["layers"][:position]}, digits=30)
        w_name, b_name, _ = below.layers[-1]
        z = params[w_name] @ a + (params[b_name] if b_name else 0.0)
        if layer["activation"] in KINKED and np.any(np.abs(z) < 1e-9):
            return True
        a = np.array([[float(v) for v in below.output(params, X[:, i])] for i in range(X.shape[1])]).T
    return spec["loss"] == "hinge" and bool(np.any(np.abs(1 - Y * a) < 1e-9))


# ------------------------------------------------------------------ builds, cached by spec

class Builds:
    """The generated NumPy module and C library (double) of each spec, built once (hypothesis shrinks by
    re-running similar specs)."""

    def __init__(self, directory_factory):
        self.directory_factory = directory_factory
        self.cache: dict[str, tuple] = {}

    def get(self, spec: dict):
        key = json.dumps(spec, sort_keys=True)
        if key not in self.cache:
            directory = self.directory_factory()
            derivation = derive(spec_from_dict(spec))
            write_files({**render(derivation, "numpy"), **render(derivation, "c")}, directory)
            module = import_file(directory / "prop.py")
            c = None
            if HAVE_GCC:
                library = compile_c([directory / "prop.c"], directory / "libprop.so", "prop")
                c = CNet(library, "prop", dict(module.PARAM_SHAPES))
            self.cache[key] = (module, c)
        return self.cache[key]


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    return Builds(lambda: tmp_path_factory.mktemp("prop"))


def assert_close(got, want, what: str, scale: float) -> None:
    """|got − want| ≤ 1e-9·|want| + 1e-9·1e-6·scale per entry, ``scale`` being the largest |entry| of the whole
    gradient: relative 1e-9, except that an entry a million times smaller than the largest one (a sum
    that cancels) is held to an absolute 1e-15·scale."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    assert np.isfinite(got).all(), (what, got)
    bound = RELATIVE * np.abs(want) + RELATIVE * 1e-6 * scale
    worst = np.max(np.abs(got - want) - bound)
    assert worst <= 0, (what, got, want)


# ------------------------------------------------------------------ the properties

@common_settings(GRADIENT_EXAMPLES)
@given(spec=network_specs(), seed=st.integers(0, 2**32 - 1), m=st.integers(1, 4),
       learning_rate=st.sampled_from([0.01, 0.5, 2.0]))
def test_generated_numpy_and_c_match_mpmath_central_differences(builds, spec, seed, m, learning_rate):
    params, X, Y = random_data(spec, seed, m)
    assume(not near_a_kink(spec, params, X, Y))
    note(f"{parameter_count(spec)} parameters")
    module, c_net = builds.get(spec)
    reference = MpNet(spec)
    expected_cost = float(reference.cost(params, X, Y))
    expected = reference.gradient(params, X, Y)
    scale = max(float(np.max(np.abs(g))) for g in expected.values())
    implementations = {"numpy": module} if c_net is None else {"numpy": module, "c": c_net}
    for label, implementation in implementations.items():
        cost = implementation.cost(params, X, Y)
        assert abs(cost - expected_cost) <= RELATIVE * abs(expected_cost) + 1e-300, (label, cost, expected_cost)
        grads = implementation.gradients(params, X, Y)
        assert set(grads) == set(expected), (label, sorted(grads))
        for name, want in expected.items():
            assert_close(np.reshape(grads[name], want.shape), want, f"{label} {name}", scale)
        for batch in sorted({1, m}):   # C: m = 1 updates in place layer by layer, m > 1 via a buffer
            Xb, Yb = X[:, :batch], Y[:, :batch]
            own = implementation.gradients(params, Xb, Yb)
            stepped = implementation.sgd_step(params, Xb, Yb, learning_rate)
            for name in params:
                step = learning_rate * np.reshape(own[name], params[name].shape)
                exact = params[name] - step
                bound = 4 * np.finfo(float).eps * (np.abs(params[name]) + np.abs(step))
                assert (np.abs(np.reshape(stepped[name], exact.shape) - exact) <= bound).all(), \
                    (label, batch, name, stepped[name], exact)


@common_settings(PROOF_EXAMPLES)
@given(spec=network_specs())
def test_the_layer_local_proof_verifies(spec):
    """Any architecture: the layer-local proof (steps 1-4 of the README's Proof section)."""
    report = prove(derive(spec_from_dict(spec)), end_to_end=False)
    note(report.summary())
    assert report.ok, str(report)


@common_settings(PROOF_EXAMPLES)
@given(spec=network_specs().filter(lambda spec: parameter_count(spec) <= PROOF_E2E_MAX_PARAMS))
def test_the_default_proof_verifies_end_to_end_on_small_nets(spec):
    """``prove()`` as the CLI runs it: for these nets (at most 60 parameters) it includes the end-to-end proof,
    unless the output layer or the loss is piecewise or the output's δ needs more than rational algebra."""
    report = prove(derive(spec_from_dict(spec)))
    note(report.summary())
    assert report.ok, str(report)
