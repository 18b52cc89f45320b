"""Exact zero test of rational functions, without multiplying out what both sides of an identity share.

``RationalFunctions`` decides whether expressions built by +, × and integer powers from rationals and
leaves are the zero rational function of their leaves; ``_Factored`` is its polynomial arithmetic,
which keeps products factored so that long shared products are compared, never expanded.
"""
from __future__ import annotations

import operator

import sympy as sp
from sympy.polys.rings import PolyRing


class _Factored:
    """Polynomials over Q kept as c·m·Π_P P^e: m a monomial, each P a monic polynomial of several terms.

    A product multiplies nothing out; a sum pulls out the factors and the monomial its terms share
    and expands only the rest, which becomes a new factor P. So the two sides of an identity,
    which share long products (Π_l g_l'(z_l) W_l down a deep net), are compared by their few
    differing factors, never expanded into the exponentially many terms of the products.
    ``pairs`` lists the (F, t) with F = 1/t for a leaf t: monomials are kept free of t·F (the normal
    form of Q[t, F]/(tF − 1)), so e^u e^{−u} = 1 cancels at once.
    """

    def __init__(self, ring, pairs: list[tuple[int, int]]) -> None:
        self.ring = ring
        self.pairs = pairs
        self._powers: dict[tuple, object] = {}

    def power(self, P, k: int):
        if k == 1:
            return P
        if (P, k) not in self._powers:
            self._powers[P, k] = self.reduce(P ** k)
        return self._powers[P, k]

    def _monomial(self, m: tuple) -> tuple:
        for f, t in self.pairs:
            k = min(m[f], m[t])
            if k:
                m = tuple(e - k if i in (f, t) else e for i, e in enumerate(m))
        return m

    def reduce(self, p):
        if not self.pairs or not p:
            return p
        out: dict[tuple, object] = {}
        for m, c in p.items():
            m = self._monomial(m)
            out[m] = out[m] + c if m in out else c
        return self.ring.from_dict({m: c for m, c in out.items() if c})

    def expand(self, value):
        factors, rest = value
        return self.reduce(self.ring.mul(rest, *[self.power(P, e) for P, e in factors.items()]))

    def mul(self, values):
        factors: dict = {}
        rest = self.ring.one
        for f, r in values:
            rest = rest * r
            for P, e in f.items():
                factors[P] = factors.get(P, 0) + e
        return (factors, self.reduce(rest)) if rest else ({}, self.ring.zero)

    def pow(self, value, n: int):
        factors, rest = value
        return {P: e * n for P, e in factors.items()}, rest ** n

    def add(self, values):
        terms = [(f, r) for f, r in values if r]
        if not terms:
            return {}, self.ring.zero
        if len(terms) == 1:
            return terms[0]
        keys = set().union(*[f for f, _ in terms])
        common = {P: min(f.get(P, 0) for f, _ in terms) for P in keys}
        common = {P: e for P, e in common.items() if e}
        monomials = [r.LM for _, r in terms]
        shared = tuple(min(exponents) for exponents in zip(*monomials))
        total = self.reduce(self.ring.add(*[
            self.ring.mul(self.ring({tuple(a - b for a, b in zip(r.LM, shared)): r.LC}),
                          *[self.power(P, e - common.get(P, 0)) for P, e in f.items() if e > common.get(P, 0)])
            for f, r in terms]))
        if not total:
            return {}, self.ring.zero
        monomial = self.ring({shared: total.LC})
        if len(total) == 1:
            return common, self.reduce(monomial * self.ring({total.LM: 1}))
        P = total.monic()
        return {**common, P: common.get(P, 0) + 1}, monomial


class RationalFunctions:
    """Decides whether expressions built by +, × and integer powers from rationals and leaves are the zero
    rational function of their leaves (symbols, and any other subterm taken as an independent variable,
    which is sound). Many expressions may be decided together, sharing their common subterms.

    Each base b of a negative power becomes a new variable F_b standing for 1/b, so that an expression
    is a polynomial over Q in the leaves and the F_b, evaluated in factored form (``_Factored``):
    c·m·Π P^e. It is zero if c = 0, the common case where both sides of an identity are the same sum
    of products. Otherwise it is ≡ 0 iff some P(F_b = 1/b) ≡ 0. Each P is split by its monomials in
    the leaves N that occur in no denominator, whose coefficients are polynomials in the other leaves
    and the F_b, and P(F_b = 1/b) ≡ 0 iff every coefficient is: multiplying a coefficient by b^k, k its
    degree in F_b, and replacing F_b b by 1 (outermost b first) gives a polynomial in the leaves, zero
    iff the coefficient is (each b is checked nonzero). A common denominator of a whole expression is
    never formed, so a sum over many output units, each with its own denominator, stays small.
    """

    def __init__(self, exprs: list[sp.Expr], opaque: frozenset = frozenset()) -> None:
        """``opaque``: subterms taken as leaves too (sound: an identity in a variable holds at any value)."""
        leaves: set[sp.Expr] = set()
        in_denominator: set[sp.Expr] = set()
        self.bases: dict[sp.Expr, sp.Dummy] = {}     # each base of a negative power, inner ones first
        visited: set[tuple[sp.Expr, bool]] = set()
        stack: list = [(e, False, False) for e in reversed(exprs)]
        while stack:                                 # depth first, each base registered after its content
            e, below, done = stack.pop()
            if done:
                if e.base not in self.bases:
                    self.bases[e.base] = sp.Dummy(f"F{len(self.bases)}")
                continue
            if (e, below) in visited:
                continue
            visited.add((e, below))
            if e in opaque:
                (in_denominator if below else leaves).add(e)
            elif isinstance(e, (sp.Add, sp.Mul)):
                stack.extend((a, below, False) for a in reversed(e.args))
            elif isinstance(e, sp.Pow) and e.exp.is_Integer:
                if e.exp < 0:
                    stack.append((e, below, True))
                stack.append((e.base, below or e.exp < 0, False))
            elif not e.is_Rational:
                (in_denominator if below else leaves).add(e)
        self.defined = not (leaves | in_denominator) & {sp.nan, sp.zoo, sp.oo, -sp.oo}
        self.numerator_leaves = leaves - in_denominator
        self.gens = sorted(leaves | in_denominator, key=sp.default_sort_key) + list(self.bases.values())
        if self.gens:
            self.ring = PolyRing(self.gens, sp.QQ)
            self.algebra = _Factored(self.ring, [(self.gens.index(F), self.gens.index(b))
                                                 for b, F in self.bases.items() if b in self.gens])
            self.value: dict[sp.Expr, tuple] = {g: ({}, x) for g, x in zip(self.gens, self.ring.gens)}
        self._split = None

    def factored(self, e: sp.Expr) -> tuple:
        if e.is_Rational:
            return {}, self.ring(sp.QQ.from_sympy(e))
        if e not in self.value:
            if e.is_Add:
                self.value[e] = self.algebra.add([self.factored(a) for a in e.args])
            elif e.is_Mul:
                self.value[e] = self.algebra.mul([self.factored(a) for a in e.args])
            elif e.exp < 0:
                self.value[e] = self.algebra.pow(self.value[self.bases[e.base]], int(-e.exp))
            else:
                self.value[e] = self.algebra.pow(self.factored(e.base), int(e.exp))
        return self.value[e]

    def zero(self, expr: sp.Expr) -> bool:
        if not self.defined:
            return False                             # not a function to reason about: left to simplify
        if not self.gens:
            return expr == 0
        factors, rest = self.factored(expr)
        if not rest:
            return True
        # the monomial rest is nonzero (each F_b = 1/b is), so expr ≡ 0 iff one of its factors is
        if self._split is None:
            self._split = self._denominators()
        return bool(self._split) and any(self._vanishes(P) for P in factors)

    def _denominators(self):
        """The ring of the coefficients, in the leaves that occur in a denominator and the F_b, and each b there."""
        numerator = {self.gens.index(g) for g in self.numerator_leaves}
        outside = [i for i in range(len(self.gens)) if i in numerator]
        inside = [i for i in range(len(self.gens)) if i not in numerator]
        if not inside:
            return ()                                # no denominator: a nonzero polynomial is nonzero

        def projection(positions: list[int]):
            if len(positions) == 1:
                return lambda monom: (monom[positions[0]],)
            return operator.itemgetter(*positions) if positions else (lambda monom: ())

        self.key_of, self.rest_of = projection(outside), projection(inside)
        self.inside = PolyRing([self.gens[i] for i in inside], sp.QQ)
        self.inverses = [(inside.index(self.gens.index(F)), self.inside.from_dict(
                             {self.rest_of(m): c for m, c in self.algebra.expand(self.factored(b)).items()}))
                         for b, F in self.bases.items()]
        self.index_of = {index: i for i, (index, _) in enumerate(self.inverses)}
        self.inner = [self._inverses_in(b) for _, b in self.inverses]
        self.powers: dict[tuple[int, int], object] = {}
        # every b must be a nonzero function: multiplying by b^k must not make a nonzero coefficient vanish
        if any(not self._eliminate(b) for _, b in self.inverses):
            return ()
        return True

    def _inverses_in(self, c) -> set[int]:
        return {self.index_of[k] for monom in c for k, e in enumerate(monom) if e and k in self.index_of}

    def _power(self, i: int, k: int):
        if (i, k) not in self.powers:
            self.powers[i, k] = self.inverses[i][1] ** k
        return self.powers[i, k]

    def _eliminate(self, c):
        """c with each F_b replaced by 1/b, times a power of each b: a polynomial in the leaves alone."""
        pending = self._inverses_in(c)
        while pending and c:
            i = max(pending)                         # outermost first: b_i holds only F's of inner bases
            pending.remove(i)
            index = self.inverses[i][0]
            by_degree: dict[int, dict] = {}
            for monom, coeff in c.items():
                by_degree.setdefault(monom[index], {})[monom[:index] + (0,) + monom[index + 1:]] = coeff
            top = max(by_degree)
            c = self.inside.add(*[self.inside.from_dict(part) * self._power(i, top - k)
                                  for k, part in by_degree.items()])
            pending |= self.inner[i]
        return c

    def _vanishes(self, P) -> bool:
        coefficients: dict[tuple, dict] = {}
        for monom, coeff in P.items():
            coefficients.setdefault(self.key_of(monom), {})[self.rest_of(monom)] = coeff
        distinct = {frozenset(c.items()): c for c in coefficients.values()}.values()
        return all(not self._eliminate(self.inside.from_dict(c)) for c in distinct)
