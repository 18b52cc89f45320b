"""Deciding whether two SymPy expressions are equal: a point where they differ, else a reduction to 0.

A point where they differ is cheap to find and settles "not equal" for certain; SymPy reducing
the difference to 0 settles "equal"; neither is "undecided". Values at a point are computed
with mpmath at a fixed precision, whatever precision another module left mpmath at.
"""
from __future__ import annotations

import mpmath
import sympy as sp

from ..derivation.backprop import M

#: values tried, in order, for the free symbols of a counterexample (nice numbers first)
TRIAL_VALUES = [sp.Rational(1, 2), sp.Rational(1, 3), sp.Integer(2), sp.Rational(-1, 4), sp.Rational(3, 5),
                sp.Rational(-2, 3), sp.Rational(5, 4), sp.Rational(1, 7)]
#: digits of the values at a trial point, and mpmath's working precision while computing them
POINT_DIGITS, WORKING_DIGITS = 30, 40

#: a counterexample: ({symbol name: value}, the claimed value, the derived value), all as text
Point = tuple[dict[str, str], str, str]


def counterexample(claimed: sp.Expr, truth: sp.Expr) -> Point | None:
    """The first trial point where the two differ, or None."""
    symbols = sorted(claimed.free_symbols | truth.free_symbols, key=lambda s: s.name)
    for shift in range(len(TRIAL_VALUES)):
        point = {}
        for k, symbol in enumerate(symbols):
            if symbol == M:
                point[symbol] = sp.Integer(2 + shift)
            else:
                point[symbol] = TRIAL_VALUES[(k + shift) % len(TRIAL_VALUES)]
        with mpmath.workdps(WORKING_DIGITS):
            try:
                c = sp.N(claimed.subs(point), POINT_DIGITS)
                t = sp.N(truth.subs(point), POINT_DIGITS)
            except Exception:
                continue
            if c.has(sp.zoo, sp.nan, sp.oo, -sp.oo) and t.is_number and t.is_real:
                # the claim is undefined here (a division by 0) where the derivation has a number
                return ({s.name: str(v) for s, v in point.items()}, "undefined", shown(t))
            if not (c.is_number and t.is_number and c.is_real and t.is_real):
                continue
            if abs(c - t) > sp.Float("1e-20") * max(1, abs(t)):
                return ({s.name: str(v) for s, v in point.items()}, shown(c), shown(t))
    return None


def is_zero(expr: sp.Expr) -> bool | None:
    """True when SymPy proves ``expr`` = 0, None when it cannot tell."""
    for attempt in (lambda e: e, sp.cancel, lambda e: sp.simplify(e.rewrite(sp.exp)), sp.simplify):
        try:
            reduced = attempt(expr)
        except Exception:
            continue
        if reduced == 0:
            return True
    return None


def decide(claimed: sp.Expr, truth: sp.Expr) -> tuple[str, Point | None]:
    """("differ", the point) / ("equal", None) / ("undecided", None)."""
    point = counterexample(claimed, truth)
    if point is not None:
        return "differ", point
    return ("equal" if is_zero(claimed - truth) else "undecided"), None


def shown(value: sp.Expr) -> str:
    """A SymPy number to 6 significant digits."""
    with mpmath.workdps(WORKING_DIGITS):
        return mpmath.nstr(mpmath.mpf(str(sp.N(value, POINT_DIGITS))), 6)
