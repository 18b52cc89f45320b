"""The end-to-end proof stays fast on small nets that once took minutes, and stays a proof.

Each slow net is proved in a subprocess with a generous timeout, so that a regression fails
instead of hanging the suite; nothing here asserts a time. The exact zero test behind the proof
(``deltagen.derive.proof.zero_test.is_rational_zero``) is checked to refuse non-identities, and a wrong
gradient on one of these nets to be reported wrong, end to end, just as fast.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sympy as sp

from conftest import ROOT
from deltagen import prove
from deltagen.derive import derive, spec_from_dict
from deltagen.derive.proof import END_TO_END_MAX_PARAMS
from deltagen.derive.proof.differentiate import ForwardDiff
from deltagen.derive.proof.zero_test import is_rational_zero, is_zero

#: generous: each of these proves in a few seconds; before, they took 93 s to 12 min
TIMEOUT = 120

SLOW_NETS = {
    # 19 parameters, identity and sigmoid layers without bias, bce, L2: 713 s before
    "identity_sigmoid_bce_l2": {
        "name": "slow_bce", "input": 8, "loss": "bce", "l2": 0.3, "layers": [
            {"units": 1, "activation": "identity"},
            {"units": 2, "activation": "identity", "bias": False},
            {"units": 4, "activation": "sigmoid", "bias": False}]},
    # 51 parameters, a softplus output with the logistic loss: minutes before (was skipped by the properties)
    "softplus_logistic_51": {
        "name": "slow_softplus", "input": 8, "loss": "logistic", "layers": [
            {"units": 4, "activation": "sigmoid"},
            {"units": 3, "activation": "log(1 + exp(z))"}]},
    # 24 parameters, relu and leaky_relu hidden layers: minutes before
    "relu_leaky_relu": {
        "name": "slow_relu", "input": 3, "loss": "half_sse", "layers": [
            {"units": 3, "activation": "relu"},
            {"units": 2, "activation": "leaky_relu", "alpha": 0.2},
            {"units": 2, "activation": "sigmoid", "bias": False}]},
    # 54 parameters, six layers: long products of g'(z) down the net (exponentially many terms expanded)
    "six_layers": {
        "name": "deep", "input": 3, "loss": "bce", "layers": [
            {"units": 3, "activation": "tanh", "bias": False},
            {"units": 3, "activation": "sigmoid", "bias": False},
            {"units": 3, "activation": "sigmoid", "bias": False},
            {"units": 3, "activation": "z/(1 + Abs(z))", "bias": False},
            {"units": 3, "activation": "relu", "bias": False},
            {"units": 3, "activation": "sigmoid", "bias": False}]},
}

PROVE = """
import json, sys
from deltagen import prove
from deltagen.derive import derive, spec_from_dict
from deltagen.derive.model.activations import A
spec, wrong = json.loads(sys.argv[1]), sys.argv[2]
d = derive(spec_from_dict(spec))
if wrong == "weight":
    right = d.grad_W_entry
    entry = (d.first, 0, 0)   # layer number, then 0-based j and k
    d.grad_W_entry = lambda layer, j, k: 2 * right(layer, j, k) if (layer, j, k) == entry else right(layer, j, k)
report = prove(d)
print(json.dumps({"ok": report.ok, "end_to_end": report.end_to_end, "n_params": report.n_params,
                  "failed": [i.statement for i in report.failed]}))
"""


def prove_in_subprocess(spec: dict, wrong: str = "") -> dict:
    try:
        result = subprocess.run([sys.executable, "-c", PROVE, json.dumps(spec), wrong], capture_output=True,
                                text=True, cwd=ROOT, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the proof of {spec['name']} did not finish in {TIMEOUT} s")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", SLOW_NETS)
def test_the_default_proof_verifies_end_to_end(name):
    spec = SLOW_NETS[name]
    verdict = prove_in_subprocess(spec)
    assert verdict["n_params"] <= END_TO_END_MAX_PARAMS
    assert verdict["ok"], verdict["failed"]
    assert verdict["end_to_end"]


@pytest.mark.parametrize("name", ["identity_sigmoid_bce_l2", "relu_leaky_relu"])
def test_a_wrong_weight_gradient_fails_layer_local_and_end_to_end(name):
    verdict = prove_in_subprocess(SLOW_NETS[name], wrong="weight")
    assert not verdict["ok"]
    assert verdict["end_to_end"]
    assert any(s.startswith("∂ℓ/∂W[1]_jk") for s in verdict["failed"]), verdict["failed"]
    assert any("through the whole network" in s for s in verdict["failed"]), verdict["failed"]


x, y, t, u = sp.symbols("x y t u", real=True)
#: Π_i a_i (1 − a_i) over 30 variables: 2^30 terms if multiplied out
LONG = sp.Mul(*[sp.Symbol(f"a{i}") * (1 - sp.Symbol(f"a{i}")) for i in range(30)])


@pytest.mark.parametrize("expr", [
    sp.exp(x + y) - sp.exp(x) * sp.exp(y),
    (sp.exp(x) + 1) ** 2 - sp.exp(2 * x) - 2 * sp.exp(x) - 1,
    (1 / (1 + sp.exp(-x))) * (1 - 1 / (1 + sp.exp(-x))) - sp.exp(-x) / (1 + sp.exp(-x)) ** 2,
    y / (1 / (1 + 1 / t)) - y * (t + 1) / t,
    LONG * ((x + y) ** 2 - x ** 2 - 2 * x * y - y ** 2),
])
def test_the_rational_zero_test_proves_identities(expr):
    assert is_rational_zero(expr)


@pytest.mark.parametrize("expr", [
    x - y,
    1 / (1 + x) - 1 / (1 + y),
    y / (1 / (1 + 1 / t)) - y * (t + 2) / t,
    sp.exp(x) + sp.exp(y) - sp.exp(x + y),
    LONG * ((x + y) ** 2 - x ** 2 - y ** 2),
    sp.Abs(x) ** 2 - x * sp.Abs(x),
    x / sp.Add(sp.Mul(t, sp.Pow(t, -1, evaluate=False), evaluate=False), -1, evaluate=False),  # x / 0
])
def test_the_rational_zero_test_refuses_non_identities(expr):
    assert not is_rational_zero(expr)


def test_a_relation_between_subterms_is_left_to_simplify():
    """|u|² = u² is no rational-function identity in the subterm |u|: the fast test says no, is_zero yes."""
    expr = (1 + sp.Abs(u)) ** 2 - (1 + 2 * sp.Abs(u) + u ** 2)
    assert not is_rational_zero(expr)
    assert is_zero(expr)


def test_an_output_needing_such_a_relation_is_proved_layer_local_by_default():
    """z/(1 + |z|) as output with the logistic loss: its δ identity needs a relation such as
    sign(z)|z| = z, so end to end would need simplify on the whole composed expression; the
    default proof is then layer-local (a rule on the output layer alone)."""
    report = prove(derive(spec_from_dict({"name": "softsign_out", "input": 3, "loss": "logistic", "layers": [
        {"units": 2, "activation": "tanh"}, {"units": 1, "activation": "z/(1 + Abs(z))"}]})))
    assert report.ok, str(report)
    assert not report.end_to_end


def test_forward_differentiation_equals_sympy_diff():
    """The end-to-end proof differentiates the composed loss node by node (memoised); the same as sympy.diff."""
    g = type("g", (sp.Function,), {"fdiff": lambda self, argindex=1: 1 - self ** 2, "is_real": True})
    h = sp.Function("h", real=True)          # no known derivative: left to sympy.diff
    w1, w2, w3, b = sp.symbols("w1 w2 w3 b", real=True)
    inner = g(w1 * x + b)
    loss = (sp.log(1 + sp.exp(-y * sp.tanh(w2 * inner + w3 * inner ** 2))) + sp.Abs(w1 * x - w3)
            + (w2 * inner) ** 3 / (1 + inner ** 2) + h(w2 * x) + sp.sqrt(1 + w3 ** 2))
    diff = ForwardDiff()
    for p in (w1, w2, w3, b, x):
        assert sp.simplify(diff(loss, p) - sp.diff(loss, p)) == 0, p
