"""The lecture form of an activation's derivative: g' written through a = g(z) (σ' = a(1 − a)).

Candidates come from bounded substitutions only (no ``sympy.solve``, no clock), and one is
taken only once it is proved equal to ``sympy.diff``'s g'; see ``Activation.lecture_derivative``.
"""
from __future__ import annotations

import mpmath
import sympy as sp

from .variables import A, Z

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


def pull_sign(expr: sp.Expr) -> sp.Expr:
    """Rewrite ``-a*(a - 1)`` as ``a*(1 - a)``: the same expression, in the lecture's order."""
    if isinstance(expr, sp.Mul) and expr.could_extract_minus_sign():
        factors = list(sp.Mul.make_args(-expr))
        for i, factor in enumerate(factors):
            if isinstance(factor, sp.Add):
                factors[i] = sp.Add(*[-t for t in factor.args])
                return sp.Mul(*factors, evaluate=False)
    return expr


#: the functions a peeled step can undo, with their inverses (used only for the value of an
#: inner node; a candidate still containing an inverse function is not taken)
_INVERSES = {sp.exp: sp.log, sp.log: sp.exp, sp.tanh: sp.atanh, sp.sinh: sp.asinh, sp.atan: sp.tan}
#: the a-form search looks only at candidates this small (count_ops) ...
MAX_CANDIDATE_OPS = 200
#: ... and falls back on ``sympy.simplify`` to prove one equal only when the difference is this small
MAX_SIMPLIFY_OPS = 40
#: ... and tries the rational-in-one-kernel form only when g has at most this many kernels (z and the
#: functions of z in it: 2 for (e^z − 1)/(e^z + 1))
MAX_KERNELS = 4
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
    if len(kernels) > MAX_KERNELS:
        return []   # functions nested this deep are not rational in one of them (and each try costs more)
    found = []
    for kernel in sorted(kernels, key=sp.default_sort_key):
        u = sp.Dummy("u")
        in_u = expr.xreplace({kernel: u})     # structural: subs re-evaluates nested functions (exponential)
        if Z in in_u.free_symbols:
            continue
        numerator, denominator = sp.fraction(sp.together(in_u))
        if not (numerator.is_polynomial(u) and denominator.is_polynomial(u)) \
                or max(degree(numerator, u), degree(denominator, u)) > 2:
            continue
        equation = sp.Poly(sp.expand(numerator - A * denominator), u)
        if equation.degree() < 1 or equation.degree() > 2:
            continue
        d_in_u = d.xreplace({kernel: u})
        if Z in d_in_u.free_symbols:
            continue
        roots = sp.roots(equation, u, multiple=True)
        found += [d_in_u.subs(u, root) for root in sorted(set(roots), key=sp.default_sort_key)]
    return found


def a_form_candidates(expr: sp.Expr, d: sp.Expr):
    """Candidates for g' in terms of a, cheapest first; each is only a substitution (see above)."""
    yield d.subs(expr, A)
    if expr.has(sp.Piecewise):
        return
    for inner, value in _peel(expr):
        yield d.subs(inner, value)
    yield from _kernel_roots(expr, d)


def shortest_form(candidate: sp.Expr) -> sp.Expr:
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


def equal_in_z(candidate_in_z: sp.Expr, d: sp.Expr) -> bool:
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


#: public names for the activation checks (activations.py): the sample points and the node-by-node value
SAMPLE_POINTS = _SAMPLE_POINTS
numeric_value = _numeric
