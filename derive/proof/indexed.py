"""Differentiation and the zero test of formulas over arrays of symbolic size (``Indexed`` reads under ``Sum``).

Done here rather than by ``sympy.diff`` of the ``Sum``: in SymPy 1.13 that derivative pulls a Piecewise
(relu's g') out of the sum whose index it reads, leaving the summed index free outside it. The rules
used are the lectures' and each is sound on its own:

* ∂/∂x[i] of Σ_q f(q) is Σ_q ∂f(q)/∂x[i], and of a product by the product rule;
* a term free of sums is differentiated by ``sympy.diff`` with each read x[r] of the array named by a
  plain symbol ξ_r: ∂f/∂x[i] = Σ_r ∂f/∂ξ_r · δ_(r,i) (Kronecker δ, index by index);
* Σ_(q=1)^(n) δ_(q,i) h(q) = h(i) for a unit i of a layer of width n (so 1 ≤ i ≤ n), and the terms
  without δ_(q,i) stay in the sum (over an inner sum whose limits do not depend on q, the sum over q is
  taken inside it: finite sums commute);
* a difference is 0 when, after the sums over the same range are merged into one (their common factors
  taken inside, the summed index given one name), every summand and the remainder are 0 by ``is_zero``.

The last is sufficient, not necessary: an identity it cannot decide is reported as not proved generically,
and the caller falls back to the per-unit proof.
"""
from __future__ import annotations

from typing import Callable

import sympy as sp

from .zero_test import is_zero


def indexed_diff(expr: sp.Expr, target: sp.Indexed) -> sp.Expr:
    """∂expr/∂target, Kronecker δs left in place (``collapse`` sums them out)."""
    if not _reads(expr, target.base):
        return sp.Integer(0)
    if isinstance(expr, sp.Add):
        return sp.Add(*[indexed_diff(term, target) for term in expr.args])
    if isinstance(expr, sp.Sum):
        bound = {limit[0] for limit in expr.limits}
        if bound & target.free_symbols:
            raise ValueError(f"{target}: its index is summed over in {expr}")
        return sp.Sum(indexed_diff(expr.function, target), *expr.limits)
    if isinstance(expr, sp.Mul) and expr.has(sp.Sum):
        factors = expr.args
        return sp.Add(*[sp.Mul(*factors[:i], indexed_diff(f, target), *factors[i + 1:])
                        for i, f in enumerate(factors) if _reads(f, target.base)])
    if expr.has(sp.Sum):
        raise ValueError(f"a sum inside {type(expr).__name__}: not differentiated here")
    reads = sorted((r for r in expr.atoms(sp.Indexed) if r.base == target.base), key=sp.default_sort_key)
    named = {r: sp.Dummy("xi", real=True) for r in reads}
    plain = expr.xreplace(named)
    back = {v: r for r, v in named.items()}
    return sp.Add(*[sp.diff(plain, named[r]).xreplace(back)
                    * sp.Mul(*[sp.KroneckerDelta(i, t) for i, t in zip(r.indices, target.indices)])
                    for r in reads])


def _reads(expr: sp.Expr, base: sp.IndexedBase) -> bool:
    return any(r.base == base for r in expr.atoms(sp.Indexed))


#: the range of each free unit index: {i: (low, high)}, low ≤ i ≤ high
Ranges = dict[sp.Symbol, tuple[sp.Expr, sp.Expr]]


def collapse(expr: sp.Expr, ranges: Ranges) -> sp.Expr:
    """Sum out the Kronecker δs: Σ_(q=low)^(high) δ_(q,i) h(q) = h(i) where ``ranges[i]`` is (low, high)."""
    if isinstance(expr, sp.Sum):
        inside = collapse(expr.function, ranges)
        for limit in expr.limits:       # SymPy keeps Σ_p Σ_q as one Sum, innermost limit first
            inside = _collapse_one(inside, limit, ranges)
        return inside
    if expr.args and expr.has(sp.Sum):
        return expr.func(*[collapse(a, ranges) for a in expr.args])
    return expr


def _collapse_one(function: sp.Expr, limit: tuple, ranges: Ranges) -> sp.Expr:
    """Σ_q ``function`` over ``limit``, each term's δ_(q,i) summed out; a term that is an inner sum whose limits do not
    depend on q has the sum over q taken inside it (finite sums commute)."""
    q, low, high = limit
    kept, out = [], []
    for term in sp.Add.make_args(sp.expand(function)):
        index = _delta_partner(term, q, ranges, low, high)
        inner = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        if index is not None:
            out.append(term.xreplace({sp.KroneckerDelta(q, index): 1, sp.KroneckerDelta(index, q): 1})
                       .xreplace({q: index}))
        elif len(inner) == 1 and not any(q in bound.free_symbols for lim in inner[0].limits for bound in lim[1:]):
            outside = sp.Mul(*[f for f in sp.Mul.make_args(term) if f is not inner[0]])
            out.append(sp.Sum(_collapse_one(outside * inner[0].function, limit, ranges), *inner[0].limits))
        else:
            kept.append(term)
    return sp.Add(*out) + (sp.Sum(sp.Add(*kept), (q, low, high)) if kept else 0)


def _delta_partner(term: sp.Expr, q: sp.Symbol, ranges: Ranges, low: sp.Expr, high: sp.Expr) -> sp.Symbol | None:
    """i when ``term`` is δ_(q,i) times a factor and i is a unit of the sum's very range; else None."""
    for factor in sp.Mul.make_args(term):
        if isinstance(factor, sp.KroneckerDelta) and q in factor.args:
            other = factor.args[1] if factor.args[0] == q else factor.args[0]
            if ranges.get(other) == (low, high):
                return other
    return None


def _plain(expr: sp.Expr) -> sp.Expr:
    """Each read as a real symbol (W3[p, j] → ``W3[p, j]``), for ``is_zero``."""
    return expr.xreplace({r: sp.Symbol(str(r), real=True) for r in expr.atoms(sp.Indexed)})


def _merged(expr: sp.Expr) -> tuple[dict[tuple, sp.Expr], sp.Expr]:
    """{ranges: summand} with the summed indices renamed ``_q0``, ``_q1``, … in the order of their ranges, and the
    remainder free of sums."""
    sums: dict[tuple, list[sp.Expr]] = {}
    rest = []
    for term in sp.Add.make_args(expr):
        inside = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        if not inside:
            rest.append(term)
            continue
        if len(inside) > 1:
            raise ValueError(f"{term}: a product of sums")
        total = inside[0]
        limits = sorted(total.limits, key=lambda limit: sp.default_sort_key((limit[1], limit[2])))
        key = tuple((low, high) for _, low, high in limits)
        if len(set(key)) < len(key):
            raise ValueError(f"{term}: two summed indices over one range")
        common = {q: sp.Symbol(f"_q{i}", integer=True) for i, (q, _, _) in enumerate(limits)}
        coefficient = sp.Mul(*[f for f in sp.Mul.make_args(term) if f is not total])
        sums.setdefault(key, []).append(coefficient * total.function.xreplace(common))
    return {key: sp.Add(*terms) for key, terms in sums.items()}, sp.Add(*rest)


def is_zero_indexed(expr: sp.Expr, meaning: Callable[[sp.Expr], sp.Expr] = lambda e: e) -> bool:
    """Whether ``expr`` (sums over ranges, reads of arrays) is 0 by the merge-and-compare rule above.

    ``meaning`` gives opaque functions their formulas once no sum contains them: SymPy folds a Piecewise
    (relu) in a summand out through an enclosing Sum whenever one is built, so g and g' stay opaque until here.
    """
    try:
        sums, rest = _merged(expr)      # not expanded: a nested activation's g' would grow without bound
    except ValueError:
        return False
    return all(is_zero(_plain(meaning(summand))) for summand in sums.values()) and is_zero(_plain(meaning(rest)))


__all__ = ["collapse", "indexed_diff", "is_zero_indexed"]
