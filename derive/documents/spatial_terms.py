"""How a worked solution writes the per-unit sums of conv, pool and dense layers: term by term, in unit order.

The sums are the derivation's own expressions (a conv z, a kernel entry's gradient, what flows back
through a kernel); ``write`` prints each term's factors in a fixed order (the weight or δ first, the input
it multiplies last) and the terms in the order of the units they read, once with names and once with
numbers, so the two lines of a step match term for term.
"""
from __future__ import annotations

from typing import Callable

import sympy as sp

from ..derivation.symbols import meaning_of

#: the order of the factors of a printed product: the weight (or δ) first, the input it multiplies last
_KIND_ORDER = {"W": 0, "delta": 1, "a": 2, "x": 3, "b": 4, "z": 5, "y": 6}


def _key(term: sp.Expr) -> tuple:
    """Sort terms by the units of their factors (kernel entry, then position): the order a student reads."""
    factors = sorted((meaning_of(s) for s in term.free_symbols if meaning_of(s) is not None),
                     key=lambda m: _KIND_ORDER.get(m.kind, 9))
    return tuple((_KIND_ORDER.get(m.kind, 9), m.units) for m in factors)


def write(expr: sp.Expr, names: dict, numbers: bool, substituted: Callable[[str], str]) -> str:
    """``expr`` with each symbol written as ``names`` says; ``numbers``: products joined by ``\\cdot`` and a
    negative constant in parentheses (``substituted``)."""
    if isinstance(expr, sp.Add):
        return " + ".join(write(term, names, numbers, substituted) for term in sorted(expr.args, key=_key))
    if isinstance(expr, sp.Mul):
        coefficient, rest = expr.as_coeff_Mul()
        factors = sorted(sp.Mul.make_args(rest), key=_key)
        parts = [rf"\left({write(f, names, numbers, substituted)}\right)" if isinstance(f, sp.Add)
                 else write(f, names, numbers, substituted) for f in factors]
        if coefficient != 1:
            parts.insert(0, sp.latex(coefficient) if coefficient > 0 else rf"\left({sp.latex(coefficient)}\right)")
        return (r" \cdot " if numbers else " ").join(parts)
    if isinstance(expr, sp.Max):
        return r"\max\left(" + ", ".join(write(a, names, numbers, substituted) for a in sorted(expr.args, key=_key)) \
            + r"\right)"
    if isinstance(expr, sp.Symbol):
        return names[expr]
    return substituted(sp.latex(expr)) if numbers else sp.latex(expr)


def flat_symbols(W) -> list[sp.Symbol]:
    """A layer's weight symbols in C order (a dense matrix row by row, a conv kernel array)."""
    return list(W) if isinstance(W, sp.MatrixBase) else list(sp.flatten(W))


def total(terms: list[str]) -> str:
    """``(t_1 + … + t_m)``, or the one term."""
    return terms[0] if len(terms) == 1 else r"\left(" + " + ".join(terms) + r"\right)"


def pair(values: tuple[int, ...]) -> str:
    """A stride or padding: ``2``, or ``(1, 2)`` when the axes differ."""
    return str(values[0]) if len(set(values)) == 1 else "(" + ", ".join(map(str, values)) + ")"
