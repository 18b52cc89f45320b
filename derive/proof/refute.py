"""Numeric refutation: a wrong identity shown wrong at once by its value at a point, in mpmath.

Only ever used to say an identity fails; an identity is verified only symbolically (``zero_test``).
"""
from __future__ import annotations

import operator
import random

import mpmath
import sympy as sp

from ..model.activations import Z as GENERIC_Z
from .zero_test import nodes


class _Unevaluable(Exception):
    pass


_MPMATH = {sp.exp: "exp", sp.log: "log", sp.tanh: "tanh", sp.sinh: "sinh", sp.cosh: "cosh", sp.sin: "sin",
           sp.cos: "cos", sp.atan: "atan", sp.Abs: "fabs", sp.sign: "sign"}
_COMPARE = {sp.StrictGreaterThan: operator.gt, sp.GreaterThan: operator.ge, sp.StrictLessThan: operator.lt,
            sp.LessThan: operator.le, sp.Equality: operator.eq, sp.Unequality: operator.ne}


def _evaluate(expr: sp.Expr, point: dict, functions: dict) -> mpmath.mpf:
    """``expr`` at ``point`` in mpmath's current precision, each subterm once; an opaque g_l is evaluated
    as ``functions[g_l]``, an expression in z."""
    memo: dict[sp.Basic, object] = {}

    def truth(condition) -> bool:
        if condition in (sp.true, sp.false):
            return bool(condition)
        if type(condition) in _COMPARE:
            return _COMPARE[type(condition)](value(condition.lhs), value(condition.rhs))
        raise _Unevaluable(condition)

    def value(e):
        if e not in memo:
            if e.is_Rational:
                v = mpmath.mpf(e.p) / e.q
            elif e in point:
                v = point[e]
            elif e is sp.pi or e is sp.E:
                v = mpmath.pi if e is sp.pi else mpmath.e
            elif e.is_Add:
                v = mpmath.fsum(value(a) for a in e.args)
            elif e.is_Mul:
                v = mpmath.fprod(value(a) for a in e.args)
            elif e.is_Pow:
                v = value(e.base) ** (int(e.exp) if e.exp.is_Integer else value(e.exp))
            elif type(e) in functions:
                v = _evaluate(functions[type(e)], {GENERIC_Z: value(e.args[0])}, functions)
            elif type(e) in _MPMATH:
                v = getattr(mpmath, _MPMATH[type(e)])(value(e.args[0]))
            elif isinstance(e, sp.Piecewise):
                v = next(value(piece) for piece, condition in e.args if truth(condition))
            else:
                raise _Unevaluable(e)
            memo[e] = v
        return memo[e]

    return value(expr)


def counterexample(expr: sp.Expr, functions: dict, points: int = 8) -> bool:
    """Whether ``expr`` is plainly nonzero at one of a few fixed rational points: the same value, far from 0,
    at 50 and at 80 significant digits. Only ever used to say an identity fails (at once, instead of after
    a long ``simplify``); an identity is verified only symbolically. Several points, as a relu unit is
    inactive at about half of them."""
    rng = random.Random(20240611)
    symbols = sorted(nodes([expr], sp.Symbol), key=sp.default_sort_key)
    for _ in range(points):
        point = [(s, rng.randint(-193, 193), 97) for s in symbols]
        values = []
        try:
            for digits in (50, 80):
                with mpmath.workdps(digits):
                    values.append(_evaluate(expr, {s: mpmath.mpf(p) / q for s, p, q in point}, functions))
        except (_Unevaluable, ArithmeticError, TypeError, ValueError, StopIteration):
            continue
        low, high = values
        if isinstance(low, mpmath.mpf) and isinstance(high, mpmath.mpf) and mpmath.isfinite(high) \
                and abs(high) > 1e-20 and abs(low - high) <= 1e-30 * abs(high):
            return True
    return False
