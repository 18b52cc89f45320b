"""The two number systems of a pass (float64, or mpmath at the precision in force) and how far past the
digits anyone reads the exact one computes."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp

Array = np.ndarray

#: Digits computed beyond the most digits anyone reads. A worked solution showing ``d`` digits computes at
#: ``d + GUARD_DIGITS`` (and again at twice that, to tell rounding noise from a true zero); the checker computes
#: at the longest claimed number's digits + GUARD_DIGITS. Either way the evaluation's own rounding stays ~30
#: orders of magnitude below the last digit shown or compared, so it never decides a digit or a verdict.
GUARD_DIGITS = 30


def to_mpf(value: Any) -> mpmath.mpf:
    """One number as an mpf. A float (or NumPy float) is the decimal it prints as (``repr``): the spec writes
    0.3, TOML stores the nearest double, and a worked solution computes with the 0.3 written, so exact decimal
    inputs give exact results (0.5·1 − 0.3·2 + 0.1 = 0, not 2.8·10⁻¹⁷). A str, Decimal or Fraction is the
    decimal or ratio it writes; a SymPy number is evaluated past the precision in force."""
    if isinstance(value, mpmath.mpf):
        return value
    if isinstance(value, Fraction):
        return mpmath.mpf(value.numerator) / value.denominator
    if isinstance(value, int):
        return mpmath.mpf(value)
    if isinstance(value, (Decimal, str)):
        return mpmath.mpf(str(value))
    if isinstance(value, sp.Basic):
        return mpmath.mpf(sp.N(value, mpmath.mp.dps + 10))
    return mpmath.mpf(repr(float(value)))


class Numbers:
    """How a pass makes and adds numbers: float64, or (``exact``) mpmath mpf at the precision in force."""

    def __init__(self, exact: bool) -> None:
        self.exact = exact

    def scalar(self, value: Any):
        """One number in this system (``to_mpf``, or ``float``)."""
        return to_mpf(value) if self.exact else float(value)

    def array(self, value: Any) -> Array:
        """A new array of numbers: float64, or an object array of mpf."""
        if not self.exact:
            return np.array(value, dtype=np.float64)
        raw = np.asarray(value, dtype=object)
        out = np.empty(raw.shape, dtype=object)
        for index in np.ndindex(raw.shape):
            out[index] = to_mpf(raw[index])
        return out

    def sum(self, values: list):
        """Σ values (mpmath's exactly rounded ``fsum`` for mpf)."""
        if self.exact:
            return mpmath.fsum(values) if values else mpmath.mpf(0)
        return float(np.sum(values)) if values else 0.0

    def sum_axis0(self, stack: Array) -> Array:
        """The sum over the first axis (the examples) of a stack of per-example arrays."""
        if not self.exact:
            return stack.sum(axis=0)
        out = np.empty(stack.shape[1:], dtype=object)
        for index in np.ndindex(out.shape):
            out[index] = mpmath.fsum(stack[(slice(None),) + index])
        return out
