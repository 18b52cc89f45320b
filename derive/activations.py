"""Activation functions as SymPy expressions in ``z``, and their derivatives.

Every derivative comes from ``sympy.diff``. Where the derivative can be written
through the activation's own output ``a = g(z)`` (the lecture forms
σ' = σ(1−σ), tanh' = 1 − tanh²), that form is found by substitution and proved
equal to the plain derivative before it is used.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

Z = sp.Symbol("z", real=True)
A = sp.Symbol("a", real=True)

#: default negative slope of leaky_relu (PyTorch's default)
LEAKY_RELU_ALPHA = sp.Rational(1, 100)


def _builtin_expr(name: str, alpha: sp.Expr) -> sp.Expr:
    exprs = {
        "identity": Z,
        "sigmoid": 1 / (1 + sp.exp(-Z)),
        "tanh": sp.tanh(Z),
        # relu'(0) is taken as 0, as PyTorch does
        "relu": sp.Piecewise((Z, Z > 0), (0, True)),
        "leaky_relu": sp.Piecewise((Z, Z > 0), (alpha * Z, True)),
    }
    return exprs[name]


BUILTIN_NAMES = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax")

# Names a custom activation expression may use, besides the variable z.
CUSTOM_FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": sp.tanh, "sinh": sp.sinh,
    "cosh": sp.cosh, "sin": sp.sin, "cos": sp.cos, "atan": sp.atan,
    "Abs": sp.Abs, "pi": sp.pi, "E": sp.E,
}
_PARSER_GLOBALS = {"Integer": sp.Integer, "Float": sp.Float, "Rational": sp.Rational, "Symbol": sp.Symbol}
_ALLOWED_TEXT = re.compile(r"^[0-9A-Za-z_+\-*/^(). ]+$")


def parse_custom_activation(text: str) -> sp.Expr:
    """Parse a custom activation like ``"2*z"``; raise ValueError saying what is expected.

    Only the variable ``z``, numbers, arithmetic and the functions in
    ``CUSTOM_FUNCTIONS`` are accepted, checked before anything is evaluated.
    """
    expected = (f"one of {', '.join(BUILTIN_NAMES)}, or a differentiable SymPy expression in z "
                f"using only {', '.join(sorted(CUSTOM_FUNCTIONS))}")
    if not text.strip() or len(text) > 500 or not _ALLOWED_TEXT.match(text):
        raise ValueError(f"expected {expected}, got {text!r}")
    names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text))
    unknown = sorted(names - set(CUSTOM_FUNCTIONS) - {"z"})
    if unknown:
        raise ValueError(f"expected {expected}, got unknown name(s) {', '.join(unknown)} in {text!r}")
    try:
        expr = parse_expr(text.replace("^", "**"), local_dict={"z": Z, **CUSTOM_FUNCTIONS},
                          global_dict=dict(_PARSER_GLOBALS), transformations=standard_transformations,
                          evaluate=True)
    except Exception:  # any parse failure is the user's text, reported in one line
        raise ValueError(f"expected {expected}, got unparsable {text!r}") from None
    if not isinstance(expr, sp.Expr) or expr.free_symbols != {Z}:
        raise ValueError(f"expected an expression in z alone, got {text!r}")
    derivative = sp.diff(expr, Z)
    if derivative.has(sp.Derivative, sp.Subs, sp.nan, sp.zoo, sp.oo):
        raise ValueError(f"expected an expression differentiable in z, got {text!r}")
    return expr


def pull_sign(expr: sp.Expr) -> sp.Expr:
    """Rewrite ``-a*(a - 1)`` as ``a*(1 - a)``: the same expression, in the lecture's order."""
    if isinstance(expr, sp.Mul) and expr.could_extract_minus_sign():
        factors = list(sp.Mul.make_args(-expr))
        for i, factor in enumerate(factors):
            if isinstance(factor, sp.Add):
                factors[i] = sp.Add(*[-t for t in factor.args])
                return sp.Mul(*factors, evaluate=False)
    return expr


@dataclass(frozen=True)
class Activation:
    """One layer's activation. ``expr`` is g(z); softmax (vector-valued) has ``expr=None``."""

    name: str
    expr: sp.Expr | None
    alpha: float | None = field(default=None, compare=False)

    @property
    def is_softmax(self) -> bool:
        return self.expr is None

    @property
    def is_custom(self) -> bool:
        return self.name not in BUILTIN_NAMES

    @cached_property
    def derivative(self) -> sp.Expr:
        """g'(z) exactly as ``sympy.diff`` gives it."""
        if self.expr is None:
            raise TypeError("softmax has a Jacobian, not an elementwise derivative")
        return sp.diff(self.expr, Z)

    @cached_property
    def lecture_derivative(self) -> sp.Expr:
        """g' written through a = g(z) where possible (σ' = a(1 − a)), else in z.

        Found by substitution (g(z) → a, or z → g⁻¹(a)) and accepted only when
        SymPy proves it equal to ``derivative``.
        """
        d = self.derivative
        if Z not in d.free_symbols:
            return d
        candidates = [d.subs(self.expr, A)]
        if not self.expr.has(sp.Piecewise):
            try:
                candidates += [sp.simplify(d.subs(Z, inverse)) for inverse in sp.solve(sp.Eq(A, self.expr), Z)]
            except (NotImplementedError, TypeError, ValueError):
                pass
        known = {type(f) for f in self.expr.atoms(sp.Function)} | {type(f) for f in d.atoms(sp.Function)}
        for candidate in candidates:
            if Z in candidate.free_symbols or candidate.has(sp.nan, sp.zoo):
                continue
            if {type(f) for f in candidate.atoms(sp.Function)} - known:
                continue   # an inverse function (atanh, ...) would be new to the generated code
            forms = [candidate, pull_sign(candidate), pull_sign(sp.factor(candidate))]
            candidate = min(forms, key=sp.count_ops)  # the shortest of equal forms reads best
            if sp.simplify(candidate.subs(A, self.expr) - d) == 0:
                return candidate
        return d


def make_activation(name: str, alpha: float | None = None) -> Activation:
    """Build an activation from a built-in name or a custom expression in z."""
    if name == "softmax":
        return Activation("softmax", None)
    if name in BUILTIN_NAMES:
        slope = LEAKY_RELU_ALPHA if alpha is None else sp.nsimplify(alpha, rational=True)
        return Activation(name, _builtin_expr(name, slope), alpha if name == "leaky_relu" else None)
    return Activation(name, parse_custom_activation(name))


def softmax_outputs(zs: list[sp.Symbol]) -> list[sp.Expr]:
    """softmax_k(z) = e^{z_k} / Σ_j e^{z_j}, as SymPy expressions."""
    total = sp.Add(*[sp.exp(z) for z in zs])
    return [sp.exp(z) / total for z in zs]
