"""softmax + cce's δ^[L] = a − y holds when each example's targets sum to 1; an [example] that breaks it is refused."""
from __future__ import annotations

import mpmath
import pytest

from deltagen.derive import SpecError, derive, spec_from_dict
from deltagen.derive.evaluation import evaluate


def net(Y) -> dict:
    return {"name": "sm", "input": 1, "loss": "cce", "layers": [{"units": 3, "activation": "softmax"}],
            "example": {"W": [[[1.0], [0.5], [-0.5]]], "b": [[[0.0], [0.0], [0.0]]], "X": [[1.0, 2.0]], "Y": Y}}


def test_targets_that_do_not_sum_to_one_are_refused():
    with pytest.raises(SpecError) as info:
        spec_from_dict(net([[1, 0], [1, 0], [0, 1]]))
    assert info.value.field == "example.Y" and "sum to 1" in info.value.line() and "example 1" in info.value.line()


def test_a_written_distribution_is_accepted_even_where_its_floats_do_not_sum_to_one():
    assert 0.2 + 0.7 + 0.1 != 1.0                                    # the doubles do not; the decimals do
    Y = [[0.2, 0.0], [0.7, 0.5], [0.1, 0.5]]
    d = derive(spec_from_dict(net(Y)))
    trace = evaluate(d, digits=30)
    # δ = a − y for a distribution (the derivation's form), by hand: softmax of (1, 0.5, −0.5) at x = 1
    with mpmath.workdps(30):
        z = [mpmath.mpf(1), mpmath.mpf("0.5"), mpmath.mpf("-0.5")]
        a = [mpmath.exp(v) / mpmath.fsum(mpmath.exp(u) for u in z) for v in z]
        for k, y in enumerate(("0.2", "0.7", "0.1")):
            assert abs(trace.delta[1][k, 0] - (a[k] - mpmath.mpf(y))) < mpmath.mpf("1e-25")
