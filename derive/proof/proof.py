"""Proof that the derived gradients are the derivatives of the cost.

Layer-local (any size, linear in the number of parameters), by induction from the output:
  1. each activation derivative's lecture form equals ``sympy.diff`` of the activation;
  2. δ_k^[L] equals ∂ℓ/∂z_k^[L], differentiating the loss through the output activation;
  3. for l < L, δ_j^[l] equals Σ_k δ_k^[l+1] ∂z_k^[l+1]/∂z_j^[l] (chain rule through z^[l+1]);
  4. ∂ℓ/∂W_jk^[l] = Σ_p δ_p^[l] ∂z_p^[l]/∂W_jk^[l] equals δ_j a_k^[l−1], and likewise for b;
  5. the L2 term differentiates to λW.
The derivatives in 2–5 are taken by ``sympy.diff``; an identity holds when the difference is
exactly zero. Identities that are one formula under a renaming of symbols are decided once.

End-to-end (small nets): the loss of the whole composed network, differentiated with
respect to every parameter, equals backprop's gradient; and the batch cost (mean or sum,
plus L2) differentiates to the reduction of the per-example gradients. The composed loss is
differentiated node by node (``_ForwardDiff``: the rules ``sympy.diff`` applies, each repeated
subterm once).

Deciding "exactly zero" (``is_zero``): every non-rational subterm (g_l(z), exp(z), log(…), a
Piecewise, …) is named by a symbol, equal subterms by the same one (``_Atoms``), and the
result is decided as a rational function of those symbols (``_RationalFunctions``), kept in
factored form and split by denominators so that nothing is multiplied out that both sides
share. That is sound (an identity of rational functions in free variables holds at any value
of them) and decides every gradient identity of a net whose output δ does; ``simplify`` is left
for identities that need a relation between subterms (|u|² = u², …), where the end-to-end
proof first looks for a numeric counterexample so that a wrong gradient fails at once.
"""
from __future__ import annotations

import operator
import random
import time
from dataclasses import dataclass, field

import mpmath
import sympy as sp
from sympy.polys.rings import PolyRing

from ..model.activations import A as GENERIC_A, Z as GENERIC_Z
from ..derivation.backprop import LAMBDA, Derivation

#: largest net (in parameters) proved end to end by default
END_TO_END_MAX_PARAMS = 60


@dataclass(frozen=True)
class Identity:
    """One checked statement and its verdict (``verified`` or ``failed``)."""

    statement: str
    method: str
    verdict: str
    count: int = 1          # how many scalar identities this line stands for

    @property
    def ok(self) -> bool:
        return self.verdict == "verified"


@dataclass
class ProofReport:
    network_name: str
    n_params: int
    identities: list[Identity] = field(default_factory=list)
    end_to_end: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.identities)

    @property
    def failed(self) -> list[Identity]:
        return [i for i in self.identities if not i.ok]

    def summary(self) -> str:
        kinds = "layer-local" + (" and end-to-end" if self.end_to_end else "")
        if self.ok:
            return f"proof: all {self.n_params} gradients verified ({kinds}, {self.seconds:.2f} s)"
        return f"proof: FAILED: {len(self.failed)} of {len(self.identities)} identities do not hold ({kinds})"

    def __str__(self) -> str:
        lines = [f"[{i.verdict}] {i.statement}  ({i.method}{'' if i.count == 1 else f'; {i.count} instances'})"
                 for i in self.identities]
        return "\n".join(lines + [self.summary()])


class _Atoms:
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


class _RationalFunctions:
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


def _nodes(exprs, kind=None) -> set[sp.Basic]:
    """Every distinct subterm of ``exprs`` (of type ``kind``), each visited once."""
    seen: set[sp.Basic] = set()
    stack = list(exprs)
    while stack:
        e = stack.pop()
        if e not in seen:
            seen.add(e)
            stack.extend(e.args)
    return {e for e in seen if kind is None or isinstance(e, kind)}


def _leaves(exprs, skip: frozenset | set = frozenset()) -> tuple[set, set, set]:
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


def _shared_sums(exprs: list[sp.Expr], left: list[sp.Expr], right: list[sp.Expr]) -> frozenset:
    """The sums found on both sides of the identities that can be taken as leaves without hiding a
    cancellation through a denominator: none of their leaves occurs below a negative power outside such
    sums, and the leaves of a sum that is, or holds, a denominator occur nowhere else (else, e.g.,
    1 + e^{−z} in σ(z) would be cut from the e^{−z} of σ'(z), or softmax's Σ_j e^{z_j} from its terms)."""
    candidates = _nodes(left, sp.Add) & _nodes(right, sp.Add)
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
    return _RationalFunctions([expr]).zero(expr)


def is_rational_zero(expr: sp.Expr, atoms: _Atoms | None = None) -> bool:
    """Whether ``expr`` is zero as a rational function of its symbols and of its non-rational subterms
    (``_Atoms``): sound, fast, but blind to relations such as |u|² = u² (then False)."""
    return expr == 0 or _rational_zero((atoms or _Atoms())(expr))


def is_zero(expr: sp.Expr, atoms: _Atoms | None = None) -> bool:
    """Exact symbolic zero test: cheap canonical forms first, ``simplify`` last.

    First ``is_rational_zero``; then ``cancel``, then ``simplify`` (with ``piecewise_fold`` first
    for piecewise expressions).
    """
    return is_rational_zero(expr, atoms) or _simplifies_to_zero(expr)


def _simplifies_to_zero(expr: sp.Expr) -> bool:
    if expr.has(sp.Piecewise):
        expr = sp.piecewise_fold(expr)
        return sp.simplify(expr) == 0
    if sp.cancel(expr) == 0:
        return True
    return sp.simplify(expr) == 0


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


def _counterexample(expr: sp.Expr, functions: dict, points: int = 8) -> bool:
    """Whether ``expr`` is plainly nonzero at one of a few fixed rational points: the same value, far from 0,
    at 50 and at 80 significant digits. Only ever used to say an identity fails (at once, instead of after
    a long ``simplify``); an identity is verified only symbolically. Several points, as a relu unit is
    inactive at about half of them."""
    rng = random.Random(20240611)
    symbols = sorted(_nodes([expr], sp.Symbol), key=sp.default_sort_key)
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


class _DiffCache:
    """∂term/∂v by ``sympy.diff``, once per shape of (term, v) up to a renaming of symbols.

    Backprop's terms repeat one shape per weight (W_jk a_k δ_j), so a big layer
    costs one differentiation and a renaming per weight instead of one ``diff`` each.
    """

    def __init__(self) -> None:
        self.derivatives: dict[tuple[sp.Expr, sp.Symbol], sp.Expr] = {}
        self._names: dict[tuple, sp.Symbol] = {}

    def _canonical(self, i: int, s: sp.Symbol) -> sp.Symbol:
        key = (i, tuple(sorted(s.assumptions0.items())))
        if key not in self._names:
            self._names[key] = sp.Symbol(f"_d{i}", **s.assumptions0)
        return self._names[key]

    def diff(self, term: sp.Expr, v: sp.Symbol) -> sp.Expr:
        symbols = sorted(term.free_symbols, key=lambda s: s.name)
        canonical = {s: self._canonical(i, s) for i, s in enumerate(symbols)}
        key = (term.xreplace(canonical), canonical[v])
        if key not in self.derivatives:
            self.derivatives[key] = sp.diff(*key)
        return self.derivatives[key].xreplace({c: s for s, c in canonical.items()})


def _grouped_gradient(terms: list[sp.Expr], variables: set[sp.Symbol],
                      cache: _DiffCache | None = None) -> dict[sp.Symbol, list[sp.Expr]]:
    """∂(Σ terms)/∂v for every v, term by term: each term is differentiated only by the variables it contains."""
    cache = cache or _DiffCache()
    out: dict[sp.Symbol, list[sp.Expr]] = {}
    for term in terms:
        for v in term.free_symbols & variables:
            out.setdefault(v, []).append(cache.diff(term, v))
    return out


def _linear_coefficients(expr: sp.Expr, variables: tuple[sp.Symbol, ...]) -> dict[sp.Symbol, sp.Expr]:
    """Coefficients of an expression linear in ``variables``, written prefactor · Σ_k c_k v_k."""
    wanted = set(variables)
    prefactor, linear = sp.Integer(1), expr
    if isinstance(expr, sp.Mul):
        inside = [f for f in expr.args if f.free_symbols & wanted]
        if len(inside) == 1:
            prefactor = sp.Mul(*[f for f in expr.args if not f.free_symbols & wanted])
            linear = inside[0]
    out: dict[sp.Symbol, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(linear) if not isinstance(linear, sp.Add) else linear):
        present = term.free_symbols & wanted
        if len(present) != 1:
            return {v: sp.expand(expr).coeff(v) for v in variables}
        v = present.pop()
        out[v] = out.get(v, 0) + prefactor * sp.diff(term, v)
    return out


class _Cache:
    """Decides identities up to a renaming of symbols to canonical names, once per shape."""

    def __init__(self) -> None:
        self.verdicts: dict[sp.Expr, bool] = {}

    def zero(self, expr: sp.Expr) -> bool:
        symbols = sorted(expr.free_symbols, key=lambda s: s.name)
        canonical = expr.xreplace({s: sp.Symbol(f"_v{i}", **s.assumptions0) for i, s in enumerate(symbols)})
        if canonical not in self.verdicts:
            self.verdicts[canonical] = is_zero(canonical)
        return self.verdicts[canonical]


def _same(direct: list[sp.Expr], derived: sp.Expr, cache: _Cache) -> bool:
    """Σ direct == derived: at once when the one direct term is the very same expression, else exactly."""
    if len(direct) == 1 and direct[0] == derived:
        return True
    return cache.zero(sp.Add(*direct) - derived)


def _targets_constraint(d: Derivation, y: tuple[sp.Symbol, ...]) -> dict:
    """For losses on probability targets, eliminate the last target: y_n = 1 − Σ_{k<n} y_k."""
    if not d.network.loss.targets_sum_to_one:
        return {}
    return {y[-1]: 1 - sp.Add(*y[:-1])}


def _layer_local(d: Derivation, report: ProofReport) -> bool:
    """Steps 1-4 into ``report``; returns whether step 2 (δ^[L]) held as a rational-function identity."""
    cache = _Cache()
    net = d.network
    L = d.L
    seen = set()
    for index, layer in enumerate(net.layers, start=1):
        act = layer.activation
        if act.is_softmax or act.name in seen:
            continue
        seen.add(act.name)
        ok = is_zero(act.lecture_derivative.subs(GENERIC_A, act.expr) - act.derivative)
        report.identities.append(Identity(
            f"{act.name}: g'(z) = {sp.sstr(act.lecture_derivative)} with a = g(z)",
            "sympy.diff of g", "verified" if ok else "failed"))

    # 2. δ^[L] against direct differentiation of ℓ(g(z^[L]))
    s = d.symbols(L)
    a_of_z = dict(zip(s.a, d.a_index(L)))
    loss_of_z = d.loss.xreplace(a_of_z)
    constraint = _targets_constraint(d, d.y)
    all_ok = rational = True
    for k, zk in enumerate(s.z):
        difference = (sp.diff(loss_of_z, zk) - d.output_delta[k].xreplace(a_of_z)).xreplace(constraint)
        decided = is_rational_zero(difference)
        rational &= decided
        all_ok &= decided or _simplifies_to_zero(difference)
    num = s.number
    report.identities.append(Identity(
        f"δ[{num}] = ∂ℓ/∂z[{num}]: " + ", ".join(sp.sstr(e) for e in d.output_delta[:4])
        + (" ..." if len(d.output_delta) > 4 else ""),
        "sympy.diff of the loss through the output activation" + (", targets summing to 1" if constraint else ""),
        "verified" if all_ok else "failed", count=len(s.z)))

    # 3. hidden δ by the chain rule through z^[l+1]
    for index in range(L - 1, 0, -1):
        s, nxt = d.symbols(index), d.symbols(index + 1)
        a_of_z = dict(zip(s.a, d.a_index(index)))
        z_next = d.z_index(index + 1)
        terms = [term.xreplace(a_of_z) * nxt.delta[k]
                 for k in range(len(nxt.z)) for term in sp.Add.make_args(z_next[k])]
        gradient = _grouped_gradient(terms, set(s.z))
        derived = d.delta_index(index)
        ok = True
        for j, zj in enumerate(s.z):
            direct = gradient.get(zj, [])
            expected = derived[j].xreplace(a_of_z)
            # compare coefficient by coefficient of δ^[l+1]_k: each is one small identity
            coefficients = _linear_coefficients(expected, nxt.delta)
            for k, dk in enumerate(nxt.delta):
                direct_k = sp.Add(*[t for t in direct if dk in t.free_symbols])
                ok &= cache.zero(direct_k - coefficients.get(dk, 0) * dk)
        report.identities.append(Identity(
            f"δ[{s.number}]_j = Σ_k δ[{nxt.number}]_k ∂z[{nxt.number}]_k/∂z[{s.number}]_j = "
            f"{sp.sstr(derived[0])}" + (" ..." if len(derived) > 1 else ""),
            "chain rule, sympy.diff term by term", "verified" if ok else "failed", count=len(s.z)))

    # 4. weights and biases through z^[l]
    for index in range(1, L + 1):
        s = d.symbols(index)
        z = d.z_index(index)
        terms = [term * s.delta[j] for j in range(len(z)) for term in sp.Add.make_args(z[j])]
        params = set(s.W) | set(s.b or ())
        gradient = _grouped_gradient(terms, params)
        ok = all(_same(gradient.get(s.W[j, k], []), d.grad_W_entry(index, j, k), cache)
                 for j in range(s.W.rows) for k in range(s.W.cols))
        report.identities.append(Identity(
            f"∂ℓ/∂W[{s.number}]_jk = δ[{s.number}]_j a[{s.number - 1}]_k",
            "sympy.diff of Σ_p δ_p z_p", "verified" if ok else "failed", count=s.W.rows * s.W.cols))
        if s.b:
            grad_b = d.grad_b_index(index)
            ok = all(cache.zero(sp.Add(*gradient.get(bj, [])) - grad_b[j]) for j, bj in enumerate(s.b))
            report.identities.append(Identity(
                f"∂ℓ/∂b[{s.number}]_j = δ[{s.number}]_j", "sympy.diff of Σ_p δ_p z_p",
                "verified" if ok else "failed", count=len(s.b)))
        if d.l2 != 0:
            penalty = [LAMBDA / 2 * w ** 2 for w in s.W]
            gradient = _grouped_gradient(penalty, set(s.W))
            ok = all(cache.zero(sp.Add(*gradient[w]) - LAMBDA * w) for w in s.W)
            report.identities.append(Identity(
                f"∂/∂W[{s.number}] (λ/2)‖W[{s.number}]‖² = λ W[{s.number}]", "sympy.diff",
                "verified" if ok else "failed", count=s.W.rows * s.W.cols))
    return rational


class _ForwardDiff:
    """∂e/∂p of an expression tree by the sum, product, power and chain rules, each subterm once per p.

    The same derivative as ``sympy.diff(e, p)`` (the rules it applies node by node; the derivative
    g'(s) of each function is ``sympy.diff(g(s), s)``, and any other node is left to ``sympy.diff``),
    but memoised: the composed loss repeats its subterms (every z^[l] in every unit above it),
    which ``sympy.diff`` differentiates and walks again at each occurrence, taking seconds.
    """

    def __init__(self) -> None:
        self._free: dict[sp.Basic, frozenset] = {}
        self._done: dict[tuple[sp.Basic, sp.Symbol], sp.Expr] = {}

    def _symbols(self, e: sp.Basic) -> frozenset:
        if e not in self._free:
            if e.is_Symbol:
                self._free[e] = frozenset([e])
            else:
                self._free[e] = frozenset().union(*[self._symbols(a) for a in e.args])
        return self._free[e]

    def __call__(self, e: sp.Expr, p: sp.Symbol) -> sp.Expr:
        if p not in self._symbols(e):
            return sp.Integer(0)
        if e == p:
            return sp.Integer(1)
        if (e, p) not in self._done:
            if isinstance(e, sp.Add):
                out = sp.Add(*[self(a, p) for a in e.args])
            elif isinstance(e, sp.Mul):
                out = sp.Add(*[sp.Mul(*e.args[:i], self(a, p), *e.args[i + 1:])
                               for i, a in enumerate(e.args) if p in self._symbols(a)])
            elif isinstance(e, sp.Pow) and p not in self._symbols(e.exp):
                out = e.exp * e.base ** (e.exp - 1) * self(e.base, p)
            elif isinstance(e, sp.Function) and len(e.args) == 1 and not isinstance(e, sp.Piecewise):
                u = e.args[0]
                s = sp.Dummy("s", real=True) if u.is_extended_real else sp.Dummy("s")
                derivative = sp.diff(e.func(s), s)
                if derivative.has(sp.Derivative, sp.Subs):   # g' unknown: sympy writes the chain rule itself
                    out = sp.diff(e, p)
                else:
                    out = derivative.xreplace({s: u}) * self(u, p)
            else:
                out = sp.diff(e, p)
            self._done[e, p] = out
        return self._done[e, p]


def _opaque_activation(name: str, activation) -> type[sp.Function]:
    """A hidden activation as an opaque function g whose derivative is its proved lecture form.

    Identity 1 proved g' = lecture form; keeping g opaque spares SymPy from nesting
    exponentials layer in layer, so the end-to-end check stays fast for deeper nets.
    """
    lecture = activation.lecture_derivative

    def fdiff(self, argindex=1):
        return lecture.subs({GENERIC_A: self, GENERIC_Z: self.args[0]})

    return type(name, (sp.Function,), {"fdiff": fdiff, "is_real": True})


def _end_to_end(d: Derivation, report: ProofReport) -> None:
    """Differentiate the whole network's loss for one symbolic example; compare with backprop.

    Then the batch assembly: with each example's loss ℓ_i an arbitrary function of
    the parameters, ∂/∂θ [c Σ_i ℓ_i + (λ/2) Σ‖W‖²] = c Σ_i ∂ℓ_i/∂θ + λθ.
    """
    net = d.network
    params: list[sp.Symbol] = []
    for index in range(1, d.L + 1):
        s = d.symbols(index)
        params += list(s.W) + list(s.b or ())
    values: dict[sp.Symbol, sp.Expr] = {}
    functions: dict[type, sp.Expr] = {}      # each opaque g_l and its expression in z
    for index in range(1, d.L + 1):
        s = d.symbols(index)
        z = [e.xreplace(values) for e in d.z_index(index)]
        values.update(zip(s.z, z))
        if index < d.L:
            activation = d.network.layers[index - 1].activation
            g = _opaque_activation(f"g{s.number}", activation)
            functions[g] = activation.expr
            values.update(zip(s.a, [g(zj) for zj in z]))
        else:
            values.update(zip(s.a, d.a_index(index, tuple(z))))
    # for targets summing to 1, y_n = 1 − Σ_{k<n} y_k in the loss and in δ^[L], the only places y occurs
    constraint = _targets_constraint(d, d.y)
    loss = d.loss.xreplace(constraint).xreplace(values)   # y is in the formulas, not in the values
    backprop: dict[sp.Symbol, sp.Expr] = {}
    for index in range(d.L, 0, -1):
        s = d.symbols(index)
        values.update(zip(s.delta, [e.xreplace(constraint).xreplace(values) for e in d.delta_index(index)]))
        grad_W = d.grad_W_index(index)
        for j in range(s.W.rows):
            for k in range(s.W.cols):
                backprop[s.W[j, k]] = grad_W[j, k].xreplace(values)
        for j, bj in enumerate(s.b or ()):
            backprop[bj] = values[s.delta[j]]
    atoms = _Atoms()   # the subterms (g_l(z), exp(z), …) recur in every parameter's identity
    diff = _ForwardDiff()

    direct = [atoms(diff(loss, p)) for p in params]
    derived = [atoms(backprop[p]) for p in params]
    abstracted = [a - b for a, b in zip(direct, derived)]
    # first with the sums both sides share (g_l'(z) = 1 − a², …) taken as leaves, so that long products
    # of them down a deep net are never multiplied out; then, for any identity left, exactly
    shared = _shared_sums(abstracted, direct, derived)
    first = _RationalFunctions(abstracted, shared)
    exact: list[_RationalFunctions] = [] if shared else [first]

    def holds(i: int) -> bool:
        if abstracted[i] == 0 or first.zero(abstracted[i]):
            return True
        # a wrong gradient is shown wrong at once by a counterexample (a few hundredths of a second)
        difference = diff(loss, params[i]) - backprop[params[i]]
        if _counterexample(difference, functions):
            return False
        if not exact:
            exact.append(_RationalFunctions(abstracted))
        # exactly, every sum multiplied out; failing that (a relation such as |u|² = u² is needed), simplify
        # on the whole expression (slow)
        return exact[0].zero(abstracted[i]) or _simplifies_to_zero(difference)

    ok = all(holds(i) for i in range(len(params)))
    report.identities.append(Identity(
        f"∂ℓ/∂θ = backprop's gradient for all {len(params)} parameters, through the whole network",
        "chain rule through the composed loss, sympy.diff of each function", "verified" if ok else "failed",
        count=len(params)))

    m = 3  # any batch size: the identity is linear in the examples
    c = d.reduction_factor.subs(sp.Symbol("m", integer=True, positive=True), m)
    losses = [sp.Function(f"ell_{i + 1}")(*params) for i in range(m)]
    weights = [w for index in range(1, d.L + 1) for w in d.symbols(index).W]
    cost = c * sp.Add(*losses) + d.l2 / 2 * sp.Add(*[w ** 2 for w in weights])
    ok = all(is_zero(sp.diff(cost, p) - c * sp.Add(*[sp.diff(l, p) for l in losses])
                     - (d.l2 * p if p in weights else 0)) for p in params)
    reduction = "(1/m) Σ_i" if net.reduction == "mean" else "Σ_i"
    report.identities.append(Identity(
        f"∂C/∂θ = {reduction} ∂ℓ_i/∂θ" + (" + λθ for weights" if d.l2 != 0 else ""),
        "sympy.diff of the batch cost", "verified" if ok else "failed", count=len(params)))
    report.end_to_end = True


def prove(d: Derivation, end_to_end: bool | None = None) -> ProofReport:
    """Check every derived gradient exactly.

    ``end_to_end`` defaults to nets of at most 60 parameters whose output layer passes two
    structural tests: its activation and the loss are not piecewise (relu, leaky_relu, hinge
    there branch the whole composed derivative, which SymPy cannot decide quickly), and its
    δ identity (step 2) holds as an identity of rational functions in the symbols and the
    subterms exp(…), g(…), … (``is_rational_zero``). An output that needs more, such as
    |z|² = z² for z/(1 + |z|), would leave each end-to-end identity to ``simplify`` on the
    whole composed expression, which takes minutes. The layer-local proof covers every net.
    """
    start = time.perf_counter()
    report = ProofReport(d.network.name, d.network.n_params)
    output_rational = _layer_local(d, report)
    output = d.network.layers[-1].activation
    piecewise = (output.expr is not None and output.expr.has(sp.Piecewise)) or d.loss.has(sp.Piecewise)
    if end_to_end is None:
        end_to_end = d.network.n_params <= END_TO_END_MAX_PARAMS and not piecewise and output_rational
    if end_to_end:
        _end_to_end(d, report)
    report.seconds = time.perf_counter() - start
    return report
