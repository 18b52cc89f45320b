"""Activation functions as SymPy expressions in ``z``, and their derivatives.

Every derivative comes from ``sympy.diff``. Where the derivative can be written
through the activation's own output ``a = g(z)`` (the lecture forms
σ' = σ(1−σ), tanh' = 1 − tanh²), that form is found by substitution and proved
equal to the plain derivative before it is used.

Everything here is deterministic and bounded by the expression's structure, never
by a clock: a custom expression's exponents and degree are bounded when it is read
(``MAX_DEGREE``), and the a-form is looked for only by cheap substitutions (no
``sympy.solve``), so the same spec gives the same formulas on any machine.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cached_property

import mpmath
import sympy as sp
from sympy.parsing.sympy_parser import parse_expr, standard_transformations

from .lecture_form import SAMPLE_POINTS, a_form_candidates, degree, equal_in_z, numeric_value, pull_sign, shortest_form
from .variables import A, Z
from ..errors import did_you_mean


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
#: activations other libraries build in that are not built in here, as the custom expression that gives them
CUSTOM_FORMS = {"softplus": "log(1 + exp(z))", "swish": "z/(1 + exp(-z))", "silu": "z/(1 + exp(-z))",
                "mish": "z*tanh(log(1 + exp(z)))"}
#: other names for the built-in activations (lowercase, no separators), for "did you mean"
_SYNONYMS = {"logistic": "sigmoid", "linear": "identity", "none": "identity", "lrelu": "leaky_relu",
             "hyperbolictangent": "tanh", "tangentehiperbolica": "tanh", "sigmoide": "sigmoid"}
#: other libraries' activations that are neither built in nor a custom expression away (pieces, erf,
#: a learned slope): a "did you mean relu?" for them would mislead
_ELSEWHERE = frozenset({"elu", "selu", "gelu", "celu", "relu6", "prelu", "rrelu", "hardtanh", "hardsigmoid",
                        "hardswish", "softsign", "maxout"})
_PARSER_GLOBALS = {"Integer": sp.Integer, "Float": sp.Float, "Rational": sp.Rational, "Symbol": sp.Symbol}
_ALLOWED_TEXT = re.compile(r"^[0-9A-Za-z_+\-*/^(). ]+$")

#: bounds on a custom activation, checked as it is read (README, "Activations"): every exponent
#: that is a number p/q has |p| <= MAX_DEGREE and q <= MAX_DEGREE, and the degree in z (``degree``)
#: is at most MAX_DEGREE ...
MAX_DEGREE = 64
#: ... and every constant part, as it is evaluated, is below 2**MAX_CONSTANT_BITS in magnitude
MAX_CONSTANT_BITS = 4096
_CONSTANT_LIMIT = sp.Float(2) ** MAX_CONSTANT_BITS


class _Unbounded(ValueError):
    """A custom activation beyond the bounds above (its message says which)."""


def _exponent_too_big(value: sp.Basic) -> bool:
    """Whether ``value``, an exponent, is a number p/q (or a float) beyond MAX_DEGREE.

    An exponent in z (2**z) or a symbolic constant (pi) is never expanded, so it is not bounded;
    an infinite one (1/0) is left for the differentiability check to report.
    """
    if not isinstance(value, sp.Expr):
        return False
    if value.is_Rational:
        return abs(value.p) > MAX_DEGREE or value.q > MAX_DEGREE
    if value.is_Float:
        return bool(value.is_finite) and abs(value) > MAX_DEGREE
    return False


def _constant_too_big(value: sp.Basic) -> bool:
    """Whether ``value``, free of z, is finite but not below 2**MAX_CONSTANT_BITS in magnitude.

    Called on every constant as soon as it is formed, so its arguments are already bounded
    and its numerical value (15 digits) is quick to find: exp(exp(100)) is refused before
    anyone tries exp(exp(exp(100))).
    """
    if not isinstance(value, sp.Expr) or value.free_symbols or value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return False
    if value.is_Rational:
        return max(abs(value.p).bit_length(), value.q.bit_length()) > MAX_CONSTANT_BITS
    approx = abs(sp.N(value, 15))
    return bool(approx.is_Number and approx.is_finite and approx >= _CONSTANT_LIMIT)


def _check_bounds(text: str) -> None:
    """Refuse an expression whose numbers would blow up while SymPy reads it (``9**9**9**9``).

    Walks the Python syntax tree of ``text`` bottom-up, building the same SymPy values the
    parser would, and checks each exponent *before* the power is computed and each constant
    as soon as it is formed (the bounds above). Raises ``_Unbounded`` (a ValueError) saying
    what is expected; anything else wrong with the text is left to ``parse_expr`` to report.
    """
    source = text.replace("^", "**").strip()
    operators = {ast.Add: lambda x, y: x + y, ast.Sub: lambda x, y: x - y, ast.Mult: lambda x, y: x * y,
                 ast.Div: lambda x, y: x / y}

    def shown(node: ast.AST) -> str:
        part = ast.get_source_segment(source, node) or source
        return repr(text) if part == source else f"{part!r} in {text!r}"

    def value(node: ast.AST) -> sp.Basic:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            result = sp.Integer(node.value) if isinstance(node.value, int) else sp.Float(node.value)
        elif isinstance(node, ast.Name):
            result = Z if node.id == "z" else CUSTOM_FUNCTIONS[node.id]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            inner = value(node.operand)
            result = -inner if isinstance(node.op, ast.USub) else inner
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            result = value(node.func)(*[value(arg) for arg in node.args])
        elif isinstance(node, ast.BinOp) and type(node.op) in operators:
            result = operators[type(node.op)](value(node.left), value(node.right))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            base, exponent = value(node.left), value(node.right)
            if _exponent_too_big(exponent):
                raise _Unbounded(f"expected exponents p/q with |p| <= {MAX_DEGREE} and q <= {MAX_DEGREE}, "
                                 f"got exponent {shown(node.right)}")
            if base.is_Rational and exponent.is_Rational and \
                    max(abs(base.p).bit_length(), base.q.bit_length()) * abs(exponent.p) \
                    > MAX_CONSTANT_BITS * exponent.q:
                raise _Unbounded(f"expected constants below 2**{MAX_CONSTANT_BITS}, got {shown(node)}")
            result = base ** exponent
        else:
            raise _Unbounded(f"expected an expression of numbers, z, + - * / ** and function calls, "
                             f"got {shown(node)}")
        if _constant_too_big(result):
            raise _Unbounded(f"expected constants below 2**{MAX_CONSTANT_BITS}, got {shown(node)}")
        return result

    try:
        value(ast.parse(source, mode="eval").body)
    except _Unbounded:
        raise
    except Exception:  # not Python syntax, or SymPy refuses an operation: parse_expr reports it as before
        return


def activation_hint(name: str) -> str:
    """``"; did you mean relu?"`` for an unknown activation name, or how to write it as an expression.

    Case and separators do not matter (``ReLU``, ``Leaky-ReLU``); ``softplus`` and the like are
    not built in but are one custom expression away.
    """
    plain = re.sub(r"[\s_\-]", "", name.lower())
    if plain in CUSTOM_FORMS:
        return (f"; {name} is not built in, but it can be given as a custom expression: "
                f"activation = \"{CUSTOM_FORMS[plain]}\"")
    if plain in _ELSEWHERE:
        return f"; {name} is not built in"
    return did_you_mean(name, BUILTIN_NAMES, _SYNONYMS)


def _expression_hint(name: str) -> str:
    """A hint for one unknown name inside a custom expression (``sigmoid(z)``, ``ln(z)``, ``Exp(z)``)."""
    plain = re.sub(r"[\s_\-]", "", name.lower())
    builtin = {re.sub(r"_", "", b): b for b in BUILTIN_NAMES}.get(plain) or _SYNONYMS.get(plain)
    if builtin:
        return f"; {builtin} is built in: write activation = \"{builtin}\" alone, not inside an expression"
    if plain in CUSTOM_FORMS:
        return f"; for {name} write its expression, {CUSTOM_FORMS[plain]}"
    return did_you_mean(name, [*sorted(CUSTOM_FUNCTIONS), "z"], {"ln": "log", "e": "E", "abs": "Abs"})


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
    if unknown and re.fullmatch(r"\s*[A-Za-z_][A-Za-z_0-9]*\s*", text):   # a name, not an expression
        raise ValueError(f"expected {expected}, got {text!r}{activation_hint(text.strip())}")
    if unknown and names == set(unknown) and re.fullmatch(r"\s*[A-Za-z][A-Za-z0-9_ -]*\s*", text) \
            and activation_hint(text.strip()):
        # a name written with separators (Leaky-ReLU), which would otherwise read as Leaky minus ReLU
        raise ValueError(f"expected {expected}, got {text!r}{activation_hint(text.strip())}")
    if unknown:
        raise ValueError(f"expected {expected}, got unknown name(s) {', '.join(unknown)} in {text!r}"
                         f"{''.join(_expression_hint(name) for name in unknown)}")
    _check_bounds(text)
    try:
        expr = parse_expr(text.replace("^", "**"), local_dict={"z": Z, **CUSTOM_FUNCTIONS},
                          global_dict=dict(_PARSER_GLOBALS), transformations=standard_transformations,
                          evaluate=True)
    except Exception:  # any parse failure is the user's text, reported in one line
        raise ValueError(f"expected {expected}, got unparsable {text!r}") from None
    if not isinstance(expr, sp.Expr) or expr.free_symbols != {Z}:
        raise ValueError(f"expected an expression in z alone, got {text!r}")
    for power in sorted(expr.atoms(sp.Pow), key=sp.default_sort_key):
        if _exponent_too_big(power.exp):   # (z**8)**9 is z**72
            raise _Unbounded(f"expected exponents p/q with |p| <= {MAX_DEGREE} and q <= {MAX_DEGREE}, "
                             f"got exponent {power.exp} in {text!r}")
    if degree(expr) > MAX_DEGREE:
        raise _Unbounded(f"expected an expression of degree at most {MAX_DEGREE} in z, "
                         f"got degree {degree(expr)} in {text!r}")
    derivative = sp.diff(expr, Z)
    if derivative.has(sp.Derivative, sp.Subs, sp.nan, sp.zoo, sp.oo):
        raise ValueError(f"expected an expression differentiable in z, got {text!r}")
    if _vanishes(derivative):
        raise ValueError(f"expected an expression that depends on z, got {text!r}, a constant (its derivative is 0)")
    return expr


def _vanishes(derivative: sp.Expr) -> bool:
    """Whether g' is identically 0 (cos²z + sin²z): exactly 0 at every sample point that has a value, at 192 bits.

    A non-constant g of these functions is analytic, so its g' cannot vanish at seven fixed points at once."""
    if derivative == 0:
        return True
    values = [numeric_value(derivative, point) for point in SAMPLE_POINTS]
    defined = [v for v in values if v is not None]
    return len(defined) >= 4 and all(abs(v) < mpmath.mpf(2) ** -150 for v in defined)


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

        The candidates, cheapest first (``lecture_form.a_form_candidates``), come from substitution
        only: g(z) → a, then each inner node of g → its value in a, peeling one-to-one
        steps off g (σ: 1 + e^{−z} → 1/a, e^{−z} → 1/a − 1), then g rational of degree
        ≤ 2 in one of its functions. The first that is free of z, uses no function g' does
        not use, and equals ``derivative`` (``lecture_form.equal_in_z``) is taken, in its shortest cheap form.
        Otherwise g' is kept in z, exactly as ``sympy.diff`` gives it.
        """
        d = self.derivative
        if Z not in d.free_symbols:
            return d
        known = {type(f) for f in self.expr.atoms(sp.Function)} | {type(f) for f in d.atoms(sp.Function)}
        for candidate in a_form_candidates(self.expr, d):
            if Z in candidate.free_symbols or candidate.has(sp.nan, sp.zoo, sp.oo, sp.I):
                continue
            if {type(f) for f in candidate.atoms(sp.Function)} - known:
                continue   # an inverse function (atanh, ...) would be new to the generated code
            if equal_in_z(candidate.subs(A, self.expr), d):
                return shortest_form(candidate)
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
