"""Differentiation for the proof: by ``sympy.diff``, memoised per shape of term or per subterm.

``grouped_gradient`` differentiates backprop's sums term by term (one ``diff`` per shape of term);
``ForwardDiff`` differentiates the composed loss of a whole network node by node, each repeated
subterm once; ``opaque_activation`` keeps a hidden activation a function whose derivative is its
proved lecture form.
"""
from __future__ import annotations

import sympy as sp

from ..derivation.backprop import Derivation
from ..model.activations import A as GENERIC_A, Z as GENERIC_Z, Activation


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


def grouped_gradient(terms: list[sp.Expr], variables: set[sp.Symbol],
                     cache: _DiffCache | None = None) -> dict[sp.Symbol, list[sp.Expr]]:
    """∂(Σ terms)/∂v for every v, term by term: each term is differentiated only by the variables it contains."""
    cache = cache or _DiffCache()
    out: dict[sp.Symbol, list[sp.Expr]] = {}
    for term in terms:
        for v in term.free_symbols & variables:
            out.setdefault(v, []).append(cache.diff(term, v))
    return out


def linear_coefficients(expr: sp.Expr, variables: tuple[sp.Symbol, ...]) -> dict[sp.Symbol, sp.Expr]:
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


class ForwardDiff:
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


def opaque_activation(name: str, activation: Activation) -> type[sp.Function]:
    """A hidden activation as an opaque function g whose derivative is its proved lecture form.

    Identity 1 proved g' = lecture form; keeping g opaque spares SymPy from nesting
    exponentials layer in layer, so the end-to-end check stays fast for deeper nets.
    """
    lecture = activation.lecture_derivative

    def fdiff(self, argindex=1):
        return lecture.subs({GENERIC_A: self, GENERIC_Z: self.args[0]})

    return type(name, (sp.Function,), {"fdiff": fdiff, "is_real": True})


def opaque_derivative_activation(name: str) -> tuple[type[sp.Function], type[sp.Function]]:
    """An opaque activation g whose derivative is an opaque g′ (``d`` + name), both left unevaluated.

    For a piecewise g′ (relu′ = 1 if z > 0 else 0): on a composed z, SymPy tries to decide the sign of z
    each time the condition is rebuilt, which costs seconds per net; the claim's g′(z) (its lecture form,
    proved equal to ``sympy.diff`` of g in identity 1) is then written as the same opaque g′(z).
    """
    derivative = type(f"d{name}", (sp.Function,), {"is_real": True})

    def fdiff(self, argindex=1):
        return derivative(self.args[0])

    return type(name, (sp.Function,), {"fdiff": fdiff, "is_real": True}), derivative


def targets_constraint(d: Derivation, y: tuple[sp.Symbol, ...]) -> dict[sp.Symbol, sp.Expr]:
    """For losses on probability targets, eliminate the last target: y_n = 1 − Σ_{k<n} y_k."""
    if not d.network.loss.targets_sum_to_one:
        return {}
    return {y[-1]: 1 - sp.Add(*y[:-1])}
