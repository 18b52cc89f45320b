"""The stable rewrites are identities: undoing them gives back the derived expression, exactly."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive import derive, spec_from_dict
from derive.proof import is_zero
from derive.stable import stabilize, stabilize_branched, unstable_form

PAIRS = [("sigmoid", "bce", 2), ("softmax", "cce", 3), ("identity", "logistic", 2), ("tanh", "logistic", 1),
         ("softmax", "half_sse", 2), ("sigmoid", "half_sse", 1)]


@pytest.mark.parametrize("output, loss, units", PAIRS)
def test_stabilized_forms_equal_the_derived_ones(output, loss, units):
    d = derive(spec_from_dict({"name": "t", "input": 1, "loss": loss,
                               "layers": [{"units": units, "activation": output}]}))
    s = d.symbols(1)
    loss_of_z = d.loss.xreplace(dict(zip(s.a, d.a_index(1))))
    expressions = [loss_of_z, *d.output_delta, *d.a_index(1)]
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
    s = d.symbols(1)
    loss_of_z = d.loss.xreplace(dict(zip(s.a, d.a_index(1))))
    rng = np.random.default_rng(5)
    for expr in [loss_of_z, *d.a_index(1)]:
        branched = stabilize_branched(expr)
        symbols = sorted(expr.free_symbols, key=str)
        for _ in range(20):
            point = {sym: sp.Float(float(rng.uniform(-30, 30)), 50) for sym in symbols}
            if any(sym.name.startswith("y") for sym in symbols):   # targets from {-1, 0, 1} keep every loss defined
                point.update({sym: sp.Integer(int(rng.integers(0, 2))) for sym in symbols if sym.name.startswith("y")})
            exact = sp.N(expr.xreplace(point), 40)
            got = sp.N(branched.xreplace(point), 40)
            assert abs(got - exact) <= sp.Float("1e-30") * max(1, abs(exact)), (expr, point)
