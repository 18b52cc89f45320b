"""The stable rewrites are identities: undoing them gives back the derived expression, exactly."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from deltagen.derive import derive, spec_from_dict
from deltagen.derive.proof.zero_test import is_zero
from deltagen.derive.derivation.stable import stabilize, stabilize_branched, unstable_form

PAIRS = [("sigmoid", "bce", 2), ("softmax", "cce", 3), ("identity", "logistic", 2), ("tanh", "logistic", 1),
         ("softmax", "half_sse", 2), ("sigmoid", "half_sse", 1), ("log(1 + exp(z))", "logistic", 1)]


@pytest.mark.parametrize("output, loss, units", PAIRS)
def test_stabilized_forms_equal_the_derived_ones(output, loss, units):
    d = derive(spec_from_dict({"name": "t", "input": 1, "loss": loss,
                               "layers": [{"units": units, "activation": output}]}))
    s = d.symbols(d.last)   # the one layer, the output
    loss_of_z = d.loss.xreplace(dict(zip(s.a, d.a_index(d.last))))
    expressions = [loss_of_z, *d.output_delta, *d.a_index(d.last)]
    for expr in expressions:
        stable = stabilize(expr)
        assert is_zero(sp.expand_log(unstable_form(stable) - expr, force=True)), (expr, stable)


def test_log_sigmoid_becomes_logaddexp_and_stays_accurate():
    z = sp.Symbol("z", real=True)
    stable = stabilize(sp.log(1 / (1 + sp.exp(-z))))
    assert sp.srepr(stable) == sp.srepr(stabilize(-sp.log(1 + sp.exp(-z))))
    # accurate in the tail where a cancelling form (z − logaddexp(0, z)) would give 0
    value = sp.lambdify(z, stable, "numpy")(40.0)
    assert value == pytest.approx(-float(sp.exp(-40)), rel=1e-12)


@pytest.mark.parametrize("output, loss, units", PAIRS)
def test_branched_forms_equal_the_derived_ones_at_many_points(output, loss, units):
    """The C forms (sign-branched sigmoid, max-shifted softmax, log1p losses) against mpmath at 50 digits."""
    d = derive(spec_from_dict({"name": "t", "input": 1, "loss": loss,
                               "layers": [{"units": units, "activation": output}]}))
    s = d.symbols(d.last)
    loss_of_z = d.loss.xreplace(dict(zip(s.a, d.a_index(d.last))))
    rng = np.random.default_rng(5)
    for expr in [loss_of_z, *d.a_index(d.last)]:
        branched = stabilize_branched(expr)
        symbols = sorted(expr.free_symbols, key=str)
        # evaluated by mpmath: sp.N of an unevaluated Max(0, x) can return x when x < 0 is tiny
        branched_at = sp.lambdify(symbols, branched, "mpmath")
        for _ in range(20):
            point = {sym: sp.Float(float(rng.uniform(-30, 30)), 50) for sym in symbols}
            if any(sym.name.startswith("y") for sym in symbols):   # targets from {-1, 0, 1} keep every loss defined
                point.update({sym: sp.Integer(int(rng.integers(0, 2))) for sym in symbols if sym.name.startswith("y")})
            exact = sp.N(expr.xreplace(point), 40)
            with mpmath.workdps(50):
                got = sp.Float(branched_at(*[mpmath.mpf(str(point[sym])) for sym in symbols]), 40)
            assert abs(got - exact) <= sp.Float("1e-30") * max(1, abs(exact)), (expr, point)


def test_a_cancelling_exponential_is_distributed_so_no_inf_times_zero_remains():
    """(1 − e^a) e^{−a−s} would evaluate e^a = inf at a = 1000; e^{−a−s} − e^{−s} is finite."""
    a, y = sp.symbols("a y", real=True)
    delta = y * (1 - sp.exp(a)) * sp.exp(-a) / (sp.exp(a * y) + 1)   # softplus output, logistic loss
    stable = stabilize(delta)
    assert is_zero(sp.expand_log(unstable_form(stable) - delta, force=True))
    with np.errstate(over="raise", invalid="raise"):
        value = sp.lambdify((a, y), stable, "numpy")(1000.0, 1.0)
    # exact value y(e^{−a} − 1)/(e^{a} + 1) ≈ −e^{−1000}, which underflows to −0 in double
    assert value == 0.0 and np.isfinite(value)
    with np.errstate(over="raise", invalid="raise"):
        value = sp.lambdify((a, y), stable, "numpy")(30.0, 1.0)
    assert value == pytest.approx(float((sp.exp(-30) - 1) / (sp.exp(30) + 1)), rel=1e-13)
