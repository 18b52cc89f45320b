"""The stable rewrites are identities: undoing them gives back the derived expression, exactly."""
from __future__ import annotations

import pytest
import sympy as sp

from derive import derive, spec_from_dict
from derive.proof import is_zero
from derive.stable import stabilize, unstable_form

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
