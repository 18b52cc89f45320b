"""Deciding whether an expression is exactly zero (``is_zero``, ``is_rational_zero``).

Every non-rational subterm (g_l(z), exp(z), log(…), a Piecewise, …) is named by a symbol, equal
subterms by the same one (``Atoms``), and the result is decided as a rational function of those
symbols (``RationalFunctions``), kept in factored form and split by denominators so that nothing is
multiplied out that both sides share. That is sound (an identity of rational functions in free
variables holds at any value of them) and decides every gradient identity of a net whose output δ
does; ``simplify`` is left for identities that need a relation between subterms (|u|² = u², …).
"""
from __future__ import annotations

from collections.abc import Iterable

import sympy as sp

from .rational_functions import RationalFunctions


class Atoms:
    """Names every non-rational subterm of an expression by a fresh symbol, equal subterms by the same one.

    A subterm f(u_1, …, u_n) (an opaque g_l, log, tanh, a Piecewise, a non-integer power, …)
    becomes one symbol t per f and per tuple of arguments, the arguments being themselves
    abstracted and brought to the canonical form of ``sympy.cancel``; exp(u) becomes a product of
    powers of such symbols (``_exp``), so that exp(−u) = 1/exp(u) and exp(u + v) = exp(u) exp(v).
    Equal keys denote equal functions, so if the abstracted expression is the zero rational
    function, the expression is zero wherever it is defined (each t_i is then replaced by its
    subterm). The converse need not hold (|u|² = u² is not seen): ``is_zero`` then falls back to
    ``simplify``. One instance may be shared by many expressions.
    """

    def __init__(self) -> None:
        self.symbols: dict[tuple, sp.Dummy] = {}
        self._done: dict[sp.Basic, sp.Expr] = {}
        self._canonical: dict[sp.Basic, sp.Expr] = {}

    def _atom(self, key: tuple) -> sp.Dummy:
        if key not in self.symbols:
            self.symbols[key] = sp.Dummy(f"t{len(self.symbols)}")
        return self.symbols[key]

    def canonical(self, expr: sp.Expr) -> sp.Expr:
        if expr not in self._canonical:
            self._canonical[expr] = sp.cancel(self(expr))
        return self._canonical[expr]

    def _exp(self, u: sp.Expr) -> sp.Expr:
        """exp(u) as a product of powers of atoms exp(m/q): u is expanded into terms, which are brought to
        the canonical form of ``cancel`` and summed per denominator q; each numerator is split into its
        monomials c m (c rational). So exp(−u) = 1/exp(u) and exp(u + v) = exp(u) exp(v) are seen."""
        by_denominator: dict[sp.Expr, sp.Expr] = {}
        for term in sp.Add.make_args(sp.expand(u)):
            p, q = sp.fraction(sp.cancel(term))
            by_denominator[q] = by_denominator.get(q, 0) + p
        out = sp.Integer(1)
        for q, p in by_denominator.items():
            p, q = sp.fraction(sp.cancel(p / q))
            for term in sp.Add.make_args(sp.expand(p)):
                c, m = term.as_coeff_Mul()
                if c.is_Rational:
                    out *= self._atom((sp.exp, m / (c.q * q))) ** c.p
                else:
                    out *= self._atom((sp.exp, term / q))
        return out

    def _key(self, arg: sp.Basic):
        if isinstance(arg, sp.Expr):
            return self.canonical(arg)
        if isinstance(arg, sp.core.relational.Relational):
            return (type(arg), self.canonical(arg.lhs - arg.rhs))
        return (arg.func, tuple(self._key(a) for a in arg.args))

    def __call__(self, expr: sp.Expr) -> sp.Expr:
        if expr.is_Atom:
            return expr
        if expr not in self._done:
            if isinstance(expr, (sp.Add, sp.Mul)):
                out = expr.func(*[self(a) for a in expr.args])
            elif isinstance(expr, sp.Pow) and expr.exp.is_Integer:
                out = self(expr.base) ** expr.exp
            elif isinstance(expr, sp.exp):
                out = self._exp(self(expr.args[0]))
            else:
                out = self._atom((expr.func, tuple(self._key(a) for a in expr.args)))
            self._done[expr] = out
        return self._done[expr]


def nodes(exprs: Iterable[sp.Basic], kind: type | None = None) -> set[sp.Basic]:
    """Every distinct subterm of ``exprs`` (of type ``kind``), each visited once."""
    seen: set[sp.Basic] = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e not in seen:
            seen.add(e)
            stack.extend(e.args)
    return {e for e in seen if kind is None or isinstance(e, kind)}


def _leaves(exprs: Iterable[sp.Basic], skip: frozenset | set = frozenset()) -> tuple[set, set, set]:
    """The leaves of ``exprs``, not looking into the terms in ``skip``; those below a negative power; and
    the terms of ``skip`` met below a negative power."""
    found: set[sp.Basic] = set()
    below: set[sp.Basic] = set()
    skipped_below: set[sp.Basic] = set()
    seen: set[tuple] = set()
    stack = [(e, False) for e in exprs]
    while stack:
        e, under = stack.pop()
        if (e, under) in seen:
            continue
        seen.add((e, under))
        if e in skip:
            if under:
                skipped_below.add(e)
        elif not e.args:
            if not e.is_Rational:
                (below if under else found).add(e)
        else:
            negative = isinstance(e, sp.Pow) and e.exp.is_negative
            stack.extend((a, under or negative) for a in e.args)
    return found | below, below, skipped_below


def shared_sums(exprs: list[sp.Expr], left: list[sp.Expr], right: list[sp.Expr]) -> frozenset:
    """The sums found on both sides of the identities that can be taken as leaves without hiding a
    cancellation through a denominator: none of their leaves occurs below a negative power outside such
    sums, and the leaves of a sum that is, or holds, a denominator occur nowhere else (else, e.g.,
    1 + e^{−z} in σ(z) would be cut from the e^{−z} of σ'(z), or softmax's Σ_j e^{z_j} from its terms)."""
    candidates = nodes(left, sp.Add) & nodes(right, sp.Add)
    inside = {c: _leaves([c])[:2] for c in candidates}
    while candidates:
        outside, below, denominators = _leaves(exprs, candidates)
        keep = {c for c in candidates
                if not inside[c][0] & below
                and not (inside[c][0] if c in denominators else inside[c][1]) & outside}
        if keep == candidates:
            break
        candidates = keep
    return frozenset(candidates)


def _rational_zero(expr: sp.Expr) -> bool:
    """``expr`` (made of leaves by +, × and integer powers) is the zero rational function."""
    return RationalFunctions([expr]).zero(expr)


def is_rational_zero(expr: sp.Expr, atoms: Atoms | None = None) -> bool:
    """Whether ``expr`` is zero as a rational function of its symbols and of its non-rational subterms
    (``Atoms``): sound, fast, but blind to relations such as |u|² = u² (then False)."""
    return expr == 0 or _rational_zero((atoms or Atoms())(expr))


def is_zero(expr: sp.Expr, atoms: Atoms | None = None) -> bool:
    """Exact symbolic zero test: cheap canonical forms first, ``simplify`` last.

    First ``is_rational_zero``; then ``cancel``, then ``simplify`` (with ``piecewise_fold`` first
    for piecewise expressions).
    """
    return is_rational_zero(expr, atoms) or simplifies_to_zero(expr)


def simplifies_to_zero(expr: sp.Expr) -> bool:
    """The slow exact test: ``cancel``, then ``simplify`` (after ``piecewise_fold`` for piecewise expressions)."""
    if expr.has(sp.Piecewise):
        expr = sp.piecewise_fold(expr)
        return sp.simplify(expr) == 0
    if sp.cancel(expr) == 0:
        return True
    return sp.simplify(expr) == 0
