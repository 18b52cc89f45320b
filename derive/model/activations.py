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


def degree(expr: sp.Expr, x: sp.Symbol = Z) -> int:
    """An upper bound on the degree of ``expr`` in ``x``, read from its structure without expanding.

    Like a polynomial's degree (x**40 → 40, (1 + x**2)**3 → 6, a product adds), where a
    function counts as its argument (exp(x**2) → 2) and a rational exponent p/q as |p|.
    """
    if x not in expr.free_symbols:
        return 0
    if expr == x:
        return 1
    if expr.is_Mul:
        return sum(degree(arg, x) for arg in expr.args)
    if expr.is_Pow:
        base, exponent = expr.args
        if exponent.is_Rational:
            return abs(exponent.p) * degree(base, x)
        return degree(base, x) + degree(exponent, x)
    return max(degree(arg, x) for arg in expr.args)


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

        The candidates, cheapest first (``_a_form_candidates``), come from substitution
        only: g(z) → a, then each inner node of g → its value in a, peeling one-to-one
        steps off g (σ: 1 + e^{−z} → 1/a, e^{−z} → 1/a − 1), then g rational of degree
        ≤ 2 in one of its functions. The first that is free of z, uses no function g' does
        not use, and equals ``derivative`` (``_equal``) is taken, in its shortest cheap form.
        Otherwise g' is kept in z, exactly as ``sympy.diff`` gives it.
        """
        d = self.derivative
        if Z not in d.free_symbols:
            return d
        known = {type(f) for f in self.expr.atoms(sp.Function)} | {type(f) for f in d.atoms(sp.Function)}
        for candidate in _a_form_candidates(self.expr, d):
            if Z in candidate.free_symbols or candidate.has(sp.nan, sp.zoo, sp.oo, sp.I):
                continue
            if {type(f) for f in candidate.atoms(sp.Function)} - known:
                continue   # an inverse function (atanh, ...) would be new to the generated code
            if _equal(candidate.subs(A, self.expr), d):
                return _shortest_form(candidate)
        return d


#: the functions a peeled step can undo, with their inverses (used only for the value of an
#: inner node; a candidate still containing an inverse function is not taken)
_INVERSES = {sp.exp: sp.log, sp.log: sp.exp, sp.tanh: sp.atanh, sp.sinh: sp.asinh, sp.atan: sp.tan}
#: the a-form search looks only at candidates this small (count_ops) ...
MAX_CANDIDATE_OPS = 200
#: ... and falls back on ``sympy.simplify`` to prove one equal only when the difference is this small
MAX_SIMPLIFY_OPS = 40
#: exact points where a candidate must agree numerically with g' before it is proved equal
_SAMPLE_POINTS = (sp.Rational(-7, 3), sp.Integer(-1), sp.Rational(-1, 3), sp.Integer(0),
                  sp.Rational(1, 2), sp.Rational(5, 4), sp.Integer(3))


def _peel(expr: sp.Expr) -> list[tuple[sp.Expr, sp.Expr]]:
    """The inner nodes of g(z) down to z, each with its value in terms of a = g(z).

    Peels one-to-one steps off g while z occurs in only one operand: adding or multiplying
    by a constant, 1/u, sqrt(u), b**u and the functions in ``_INVERSES``.
    For σ = 1/(1 + e^{−z}): [(1 + e^{−z}, 1/a), (e^{−z}, 1/a − 1), (−z, log(1/a − 1)), (z, −log(1/a − 1))].
    """
    chain = []
    node, value = expr, A
    while node != Z:
        if node.is_Add or node.is_Mul:
            constant, inner = node.as_independent(Z, as_Add=node.is_Add)
            if inner == node or inner.func == node.func:
                break   # z in several terms or factors: not one step to undo
            if node.is_Mul and constant.has(sp.Float):
                break   # dividing by 0.37 would round: only exact steps are undone
            value = value - constant if node.is_Add else value / constant
        elif node.is_Pow:
            base, exponent = node.args
            if Z in exponent.free_symbols and Z not in base.free_symbols and base.is_positive:
                inner, value = exponent, sp.log(value) / sp.log(base)
            elif exponent in (-1, sp.Rational(1, 2), sp.Rational(-1, 2)):
                inner, value = base, value ** (1 / exponent)
            else:
                break   # an even power or an odd root has no single-valued real inverse here
        elif type(node) in _INVERSES:
            inner, value = node.args[0], _INVERSES[type(node)](value)
        else:
            break
        chain.append((inner, value))
        node = inner
    return chain


def _kernel_roots(expr: sp.Expr, d: sp.Expr) -> list[sp.Expr]:
    """g' at u = r(a), when g is rational of degree ≤ 2 in one u (z or one function of z).

    For (e^z − 1)/(e^z + 1) = a: e^z = (1 + a)/(1 − a), so g' = 2e^z/(e^z + 1)² is (1 − a²)/2.
    Each u is tried in a fixed order; each gives at most two roots (the quadratic formula).
    """
    if sp.count_ops(expr) > MAX_CANDIDATE_OPS // 4 or expr.has(sp.Float):
        return []   # big, or solving would divide by rounded coefficients
    kernels = {f for f in expr.atoms(sp.Function) if Z in f.free_symbols} | {Z}
    found = []
    for kernel in sorted(kernels, key=sp.default_sort_key):
        u = sp.Dummy("u")
        in_u = expr.subs(kernel, u)
        if Z in in_u.free_symbols:
            continue
        numerator, denominator = sp.fraction(sp.together(in_u))
        if not (numerator.is_polynomial(u) and denominator.is_polynomial(u)) \
                or max(degree(numerator, u), degree(denominator, u)) > 2:
            continue
        equation = sp.Poly(sp.expand(numerator - A * denominator), u)
        if equation.degree() < 1 or equation.degree() > 2:
            continue
        d_in_u = d.subs(kernel, u)
        if Z in d_in_u.free_symbols:
            continue
        roots = sp.roots(equation, u, multiple=True)
        found += [d_in_u.subs(u, root) for root in sorted(set(roots), key=sp.default_sort_key)]
    return found


def _a_form_candidates(expr: sp.Expr, d: sp.Expr):
    """Candidates for g' in terms of a, cheapest first; each is only a substitution (see above)."""
    yield d.subs(expr, A)
    if expr.has(sp.Piecewise):
        return
    for inner, value in _peel(expr):
        yield d.subs(inner, value)
    yield from _kernel_roots(expr, d)


def _shortest_form(candidate: sp.Expr) -> sp.Expr:
    """The shortest (``count_ops``) of a few equal forms; ties go to the earlier one."""
    forms = [candidate, pull_sign(candidate)]
    if sp.count_ops(candidate) <= MAX_CANDIDATE_OPS:
        forms += [pull_sign(sp.factor(candidate)), sp.expand(candidate), sp.expand(sp.cancel(candidate))]
    return min(forms, key=sp.count_ops)   # the shortest of equal forms reads best


_MP_FUNCTIONS = {sp.exp: mpmath.exp, sp.log: mpmath.log, sp.tanh: mpmath.tanh, sp.sinh: mpmath.sinh,
                 sp.cosh: mpmath.cosh, sp.sin: mpmath.sin, sp.cos: mpmath.cos, sp.atan: mpmath.atan,
                 sp.Abs: abs, sp.sign: mpmath.sign, sp.atanh: mpmath.atanh, sp.asinh: mpmath.asinh,
                 sp.tan: mpmath.tan}


def _numeric(expr: sp.Expr, point: sp.Rational):
    """``expr`` at z = point with mpmath at 192 bits, or None where that is not a modest finite number.

    Evaluated node by node, giving up as soon as a value passes 2**1000 in magnitude, so that
    exp(exp(exp(exp(z)))) costs no more than sin(z): pure Python arithmetic, the same on every machine.
    """
    values: dict[sp.Basic, object] = {}

    def value(node: sp.Basic):
        if node in values:
            return values[node]
        if node == Z:
            result = mpmath.mpf(point.p) / point.q
        elif node.is_Rational:
            result = mpmath.mpf(node.p) / node.q
        elif node.is_Float:
            result = mpmath.mpf(node._mpf_)
        elif node in (sp.pi, sp.E, sp.I):
            result = {sp.pi: mpmath.pi, sp.E: mpmath.e, sp.I: mpmath.j}[node] + 0
        elif node.is_Add or node.is_Mul:
            args = [value(arg) for arg in node.args]
            result = mpmath.fsum(args) if node.is_Add else mpmath.fprod(args)
        elif node.is_Pow:
            result = mpmath.power(value(node.base), value(node.exp))
        elif type(node) in _MP_FUNCTIONS and len(node.args) == 1:
            result = _MP_FUNCTIONS[type(node)](value(node.args[0]))
        else:
            raise ValueError(f"no numerical value for {type(node).__name__}")
        if not mpmath.isfinite(result) or (result != 0 and mpmath.mag(result) > 1000):
            raise OverflowError
        values[node] = result
        return result

    with mpmath.workprec(192):
        try:
            return mpmath.mpc(value(expr))
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return None


def _equal(candidate_in_z: sp.Expr, d: sp.Expr) -> bool:
    """Whether the two expressions in z are equal for every real z, decided cheaply and exactly.

    Numeric values at fixed exact points reject a wrong candidate at once; an equal one is then
    proved exactly by ``sympy.cancel``, or by ``sympy.simplify`` when the difference is small.
    Never a clock: what is tried depends only on the expressions.
    """
    difference = candidate_in_z - d
    if difference == 0:
        return True
    if sp.count_ops(difference) > 2 * MAX_CANDIDATE_OPS:
        return False
    for point in _SAMPLE_POINTS:
        left, right = _numeric(candidate_in_z, point), _numeric(d, point)
        if left is not None and right is not None and abs(left - right) > 1e-15 * (1 + abs(left) + abs(right)):
            return False
    if sp.cancel(difference) == 0:
        return True
    return sp.count_ops(difference) <= MAX_SIMPLIFY_OPS and sp.simplify(difference) == 0


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
