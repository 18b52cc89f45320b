"""Formula claims: a claimed expression checked symbolically against the derivation.

An expression is written over the quantities of one example, in the spec's layer numbering:
``a[L]``, ``z[2]``, ``delta[l+1]``, ``W[l+1]``, ``b[1]``, ``x``, ``y`` (column vectors or
matrices), ``m`` (examples in the batch), numbers, ``+ - * / **`` (elementwise, as ⊙),
``@`` (matrix product), ``.T`` (transpose) and the functions ``sigmoid`` (or ``σ``),
``exp``, ``log``, ``tanh``, ``sqrt``. It is compared with the derivation's own expression
for the claimed quantity after writing every a^[l] as g(z^[l]) (and, for losses whose
targets sum to 1, the last target as 1 minus the others): equal means SymPy reduced the
difference to 0; otherwise a point where the two differ is the counterexample. A
constant ratio between the two (2, ½, m, 1/m, −1) is reported as the likely mistake.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

import mpmath
import sympy as sp

from ..model.activations import A as GENERIC_A, Z as GENERIC_Z
from .answers import GENERIC_HIDDEN, Claim
from ..derivation.backprop import M, Derivation
from ..errors import SpecError
from .mistakes import Cause

FUNCTIONS = {
    "sigmoid": lambda v: 1 / (1 + sp.exp(-v)), "σ": lambda v: 1 / (1 + sp.exp(-v)), "exp": sp.exp,
    "log": sp.log, "ln": sp.log, "tanh": sp.tanh, "sqrt": sp.sqrt,
}
#: values tried, in order, for the free symbols of a counterexample (nice numbers first)
TRIAL_VALUES = [sp.Rational(1, 2), sp.Rational(1, 3), sp.Integer(2), sp.Rational(-1, 4), sp.Rational(3, 5),
                sp.Rational(-2, 3), sp.Rational(5, 4), sp.Rational(1, 7)]


@dataclass
class FormulaResult:
    """``verdict``: correct (proved equal), wrong (counterexample) or unproven; per layer for ``l``."""

    verdict: str
    layers: list[int] = field(default_factory=list)              # spec numbers checked
    claimed: str = ""                                             # the claimed expression, as SymPy prints it
    derived: str = ""                                             # the derivation's, same substitutions
    counterexample: dict[str, str] | None = None                  # symbol → value
    claimed_value: str | None = None
    derived_value: str | None = None
    causes: list[tuple[Cause, ...]] = field(default_factory=list)
    assumption: str | None = None                                 # e.g. "the targets sum to 1"


def check_formula(claim: Claim, derivation: Derivation, source: str) -> FormulaResult:
    """Check one formula claim for every layer it names."""
    if claim.generic_layer:
        layers = list(range(1, derivation.L)) if claim.kind in GENERIC_HIDDEN else list(range(1, derivation.L + 1))
    else:
        layers = [claim.layer]
    results = [_check_one(claim, derivation, layer, source) for layer in layers]
    wrong = [r for r in results if r.verdict == "wrong"]
    chosen = wrong[0] if wrong else next((r for r in results if r.verdict == "unproven"), results[0])
    chosen.layers = [derivation.layer_number(l) for l in layers]
    return chosen


# ---------------------------------------------------------------- the derivation's side

def _truth(claim: Claim, derivation: Derivation, layer: int | None) -> sp.Matrix:
    kind = claim.kind
    d = derivation
    if claim.prop is not None:
        raise AssertionError("properties are checked elsewhere")
    if kind == "z":
        return sp.Matrix(d.z_index(layer))
    if kind == "a":
        return sp.Matrix(d.a_index(layer)) if layer > 0 else sp.Matrix(d.x)
    if kind == "delta":
        return sp.Matrix(d.delta_index(layer))
    if kind == "C":
        return sp.Matrix([d.loss])
    if kind in ("dC/da", "dcost/da"):
        factor = d.reduction_factor if kind == "dcost/da" else 1
        return sp.Matrix([factor * sp.diff(d.loss, aj) for aj in d.symbols(d.L).a])
    if kind == "g'":
        s = d.symbols(layer)
        act = d.network.layers[layer - 1].activation
        if act.is_softmax:
            raise SpecError(f"{claim.field}.quantity", "expected an elementwise activation for g' "
                                                       "(softmax has a Jacobian)")
        return sp.Matrix([act.lecture_derivative.subs({GENERIC_A: s.a[j], GENERIC_Z: s.z[j]})
                          for j in range(len(s.z))])
    if kind == "WTdelta":
        s, nxt = d.symbols(layer), d.symbols(layer + 1)
        weighted = sp.Add(*[nxt.delta[k] * zk for k, zk in enumerate(d.z_index(layer + 1))])
        return sp.Matrix([sp.diff(weighted, aj) for aj in s.a])
    if kind == "dW":
        return sp.Matrix(d.grad_W_index(layer))
    if kind == "db":
        return sp.Matrix(d.grad_b_index(layer))
    raise SpecError(f"{claim.field}.quantity", f"expected a per-example quantity for a formula claim "
                                               f"(z, a, delta, C, dC/da, dcost/da, g', WTdelta, dW, db), got {kind}")


def _independent(derivation: Derivation, expr: sp.Expr) -> sp.Expr:
    """Write every a^[l] as g(z^[l]) and, when the targets sum to 1, the last target through the others."""
    d = derivation
    for index in range(d.L, 0, -1):
        s = d.symbols(index)
        outputs = d.a_index(index)
        expr = expr.subs({aj: g for aj, g in zip(s.a, outputs)})
    if d.network.loss.targets_sum_to_one and len(d.y) > 1:
        expr = expr.subs(d.y[-1], 1 - sp.Add(*d.y[:-1]))
    return expr


def _is_zero(expr: sp.Expr) -> bool | None:
    """True when SymPy proves ``expr`` = 0, None when it cannot tell."""
    for attempt in (lambda e: e, sp.cancel, lambda e: sp.simplify(e.rewrite(sp.exp)), sp.simplify):
        try:
            reduced = attempt(expr)
        except Exception:
            continue
        if reduced == 0:
            return True
    return None


# ---------------------------------------------------------------- checking

def _check_one(claim: Claim, derivation: Derivation, layer: int | None, source: str) -> FormulaResult:
    if claim.prop is not None:
        return _check_affine(claim, derivation, layer)
    truth = _truth(claim, derivation, layer)
    claimed = parse_expression(claim.expression, derivation, layer, f"{claim.field}.expression", source)
    if not isinstance(claimed, sp.MatrixBase):
        claimed = sp.Matrix([claimed]) if truth.shape == (1, 1) else sp.ones(*truth.shape) * claimed
    if claimed.shape != truth.shape:
        raise SpecError(f"{claim.field}.expression", f"expected a value of shape {truth.shape} like "
                                                     f"{claim.quantity}, got shape {claimed.shape}", source)
    uses_targets = any(y in e.free_symbols for e in list(truth) + list(claimed) for y in derivation.y)
    assumption = "targets_sum_to_one" if derivation.network.loss.targets_sum_to_one and len(derivation.y) > 1 \
        and uses_targets else None
    c_ind = claimed.applyfunc(lambda e: _independent(derivation, e))
    t_ind = truth.applyfunc(lambda e: _independent(derivation, e))
    result = FormulaResult("correct", claimed=_show(claimed), derived=_show(truth), assumption=assumption)
    undecided = False
    for c, t in zip(c_ind, t_ind):
        point = _counterexample(c, t)      # a point where they differ is cheap to find, a proof is not
        if point is None:
            if not _is_zero(c - t):
                undecided = True
            continue
        values, c_value, t_value = point
        result.verdict = "wrong"
        result.counterexample = values
        result.claimed_value, result.derived_value = c_value, t_value
        ratio = _constant_ratio(c, t)
        if ratio is not None:
            result.causes = [(cause,) for cause in _ratio_causes(ratio, derivation)]
        elif claim.kind == "delta" and _missing_derivative(c, t, derivation, layer):
            result.causes = [(Cause("derivative_left_out", (("layers", str(derivation.layer_number(layer))),)),)]
        return result
    if undecided:
        result.verdict = "unproven"
    return result


def _counterexample(claimed: sp.Expr, truth: sp.Expr):
    """The first trial point where the two differ: ({symbol: value}, claimed, derived) as strings, or None."""
    symbols = sorted(claimed.free_symbols | truth.free_symbols, key=lambda s: s.name)
    for shift in range(len(TRIAL_VALUES)):
        point = {}
        for k, symbol in enumerate(symbols):
            if symbol == M:
                point[symbol] = sp.Integer(2 + shift)
            else:
                point[symbol] = TRIAL_VALUES[(k + shift) % len(TRIAL_VALUES)]
        with mpmath.workdps(40):
            try:
                c = sp.N(claimed.subs(point), 30)
                t = sp.N(truth.subs(point), 30)
            except Exception:
                continue
            if not (c.is_number and t.is_number and c.is_real and t.is_real):
                continue
            if abs(c - t) > sp.Float("1e-20") * max(1, abs(t)):
                return ({_name(s): str(v) for s, v in point.items()}, _number(c), _number(t))
    return None


def _constant_ratio(claimed: sp.Expr, truth: sp.Expr) -> sp.Expr | None:
    if truth == 0:
        return None
    try:
        ratio = sp.simplify(claimed / truth)
    except Exception:
        return None
    free = ratio.free_symbols
    if free and free != {M}:
        return None
    return ratio


def _missing_derivative(claimed: sp.Expr, truth: sp.Expr, derivation: Derivation, layer: int) -> bool:
    """Whether the derivation's δ is the claim times g'(z) of the layer: the activation's derivative left out."""
    activation = derivation.network.layers[layer - 1].activation
    if activation.is_softmax or claimed == 0:
        return False
    s = derivation.symbols(layer)
    for zj, aj in zip(s.z, s.a):
        derivative = _independent(derivation, activation.lecture_derivative.subs({GENERIC_A: aj, GENERIC_Z: zj}))
        if _counterexample(claimed * derivative, truth) is None and _is_zero(claimed * derivative - truth):
            return True
    return False


def _ratio_causes(ratio: sp.Expr, derivation: Derivation) -> list[Cause]:
    causes = []
    if ratio == 2:
        causes.append(Cause("loss_doubled"))
    if ratio == sp.Rational(1, 2):
        causes.append(Cause("loss_halved"))
    if ratio == -1:
        causes.append(Cause("derivative_sign"))
    if ratio == M:
        causes.append(Cause("sum_for_mean"))
    if ratio == 1 / M:
        causes.append(Cause("mean_for_sum"))
    return causes


def _check_affine(claim: Claim, derivation: Derivation, layer: int) -> FormulaResult:
    """``a[l]`` (or ``z[l]``) as a function of the input x: affine iff every second derivative is 0."""
    d = derivation
    previous: list[sp.Expr] = list(d.x)
    expr = sp.Matrix(d.x)
    for index in range(1, layer + 1):        # compose the layers down to x
        inputs = dict(zip(d.activations_of(index - 1), previous))
        z = [zj.subs(inputs) for zj in d.z_index(index)]
        if index == layer and claim.kind == "z":
            expr = sp.Matrix(z)
            break
        previous = [aj.subs(dict(zip(d.symbols(index).z, z))) for aj in d.a_index(index)]
        expr = sp.Matrix(previous)
    result = FormulaResult("correct", claimed="affine in x", derived=_show(expr))
    for entry in expr:
        for xi in d.x:
            for xk in d.x:
                second = sp.diff(entry, xi, xk)
                point = _counterexample(second, sp.Integer(0))
                if point is None:
                    if not _is_zero(second):
                        result.verdict = "unproven"
                    continue
                result.verdict = "wrong"
                result.counterexample, result.claimed_value, result.derived_value = point[0], "0", point[1]
                result.claimed = f"∂²/∂{xi}∂{xk} = 0"
                return result
    return result


# ---------------------------------------------------------------- parsing expressions

class _Evaluator(ast.NodeVisitor):
    """Evaluates the small expression language over SymPy matrices (column vectors) and scalars."""

    def __init__(self, derivation: Derivation, layer: int | None, field_name: str, source: str) -> None:
        self.d = derivation
        self.layer = layer
        self.field = field_name
        self.source = source

    def fail(self, what: str) -> SpecError:
        return SpecError(self.field, f"expected a formula over a[l], z[l], delta[l], W[l], b[l], x, y, m with "
                                     f"+ - * / ** @ .T and {', '.join(sorted(set(FUNCTIONS) - {'σ'}))}; {what}",
                         self.source)

    def visit_Expression(self, node):
        return self.visit(node.body)

    def visit_Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise self.fail(f"got {node.value!r}")
        return sp.nsimplify(node.value, rational=True)

    def visit_Name(self, node):
        if node.id == "y":
            return sp.Matrix(self.d.y)
        if node.id == "x":
            return sp.Matrix(self.d.x)
        if node.id == "m":
            return M
        raise self.fail(f"got unknown name {node.id!r}" + (" (write it with a layer, as in a[2])"
                                                            if node.id in ("a", "z", "delta", "W", "b") else ""))

    def visit_Subscript(self, node):
        if not isinstance(node.value, ast.Name) or node.value.id not in ("a", "z", "delta", "W", "b"):
            raise self.fail("got a subscript on something other than a, z, delta, W or b")
        number = self._layer_number(node.slice)
        index = number - self.d.layer_number(0)
        name = node.value.id
        lowest = 0 if name == "a" else 1
        if not lowest <= index <= self.d.L:
            raise self.fail(f"got layer {number}, outside {self.d.layer_number(lowest)}..{self.d.layer_number(self.d.L)}")
        if name == "a":
            return sp.Matrix(self.d.activations_of(index))
        s = self.d.symbols(index)
        if name == "z":
            return sp.Matrix(s.z)
        if name == "delta":
            return sp.Matrix(s.delta)
        if name == "W":
            return s.W
        if s.b is None:
            raise self.fail(f"got b[{number}], a layer without bias")
        return sp.Matrix(s.b)

    def _layer_number(self, node) -> int:
        """A layer subscript: an integer expression in l (the claim's layer) and L, in the spec's numbering."""
        L = self.d.layer_number(self.d.L)
        names = {"L": L}
        if self.layer is not None:
            names["l"] = self.d.layer_number(self.layer)

        def value(n):
            if isinstance(n, ast.Constant) and isinstance(n.value, int) and not isinstance(n.value, bool):
                return n.value
            if isinstance(n, ast.Name) and n.id in names:
                return names[n.id]
            if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub)):
                left, right = value(n.left), value(n.right)
                return left + right if isinstance(n.op, ast.Add) else left - right
            raise self.fail("got a layer that is not a number, L, l or l±k")
        return value(node)

    def visit_Attribute(self, node):
        if node.attr != "T":
            raise self.fail(f"got .{node.attr}")
        value = self.visit(node.value)
        return value.T if isinstance(value, sp.MatrixBase) else value

    def visit_UnaryOp(self, node):
        value = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        raise self.fail("got an unsupported operator")

    def visit_BinOp(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        op = node.op
        if isinstance(op, ast.MatMult):
            if not (isinstance(left, sp.MatrixBase) and isinstance(right, sp.MatrixBase)) \
                    or left.shape[1] != right.shape[0]:
                raise self.fail(f"got @ between shapes {_shape(left)} and {_shape(right)}")
            return left * right
        combine = {ast.Add: lambda p, q: p + q, ast.Sub: lambda p, q: p - q, ast.Mult: lambda p, q: p * q,
                   ast.Div: lambda p, q: p / q, ast.Pow: lambda p, q: p ** q}.get(type(op))
        if combine is None:
            raise self.fail("got an unsupported operator")
        return self._elementwise(left, right, combine)

    def _elementwise(self, left, right, combine):
        left_m, right_m = isinstance(left, sp.MatrixBase), isinstance(right, sp.MatrixBase)
        if left_m and right_m:
            if left.shape != right.shape:
                raise self.fail(f"got shapes {left.shape} and {right.shape} in an elementwise operation")
            return sp.Matrix(left.rows, left.cols, lambda i, j: combine(left[i, j], right[i, j]))
        if left_m:
            return left.applyfunc(lambda e: combine(e, right))
        if right_m:
            return right.applyfunc(lambda e: combine(left, e))
        return combine(left, right)

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or len(node.args) != 1 or node.keywords:
            raise self.fail("got an unknown function or a call with other than one argument")
        function = FUNCTIONS[node.func.id]
        value = self.visit(node.args[0])
        return value.applyfunc(function) if isinstance(value, sp.MatrixBase) else function(value)

    def generic_visit(self, node):
        raise self.fail(f"got unsupported syntax ({type(node).__name__})")


def parse_expression(text: str, derivation: Derivation, layer: int | None, field_name: str, source: str) -> Any:
    """The claimed formula as a SymPy matrix (or scalar), with ``l`` standing for ``layer``."""
    cleaned = text.replace("−", "-").replace("⊙", "*").replace("·", "*").replace("ᵀ", ".T").replace("^", "**")
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError:
        raise SpecError(field_name, f"expected a formula such as \"a[L] - y\", got unparsable {text!r}",
                        source) from None
    return _Evaluator(derivation, layer, field_name, source).visit(tree)


def _shape(value) -> str:
    return str(value.shape) if isinstance(value, sp.MatrixBase) else "a number"


def _show(value) -> str:
    if isinstance(value, sp.MatrixBase):
        items = [sp.sstr(e) for e in value]
        return items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"
    return sp.sstr(value)


def _name(symbol: sp.Symbol) -> str:
    return symbol.name


def _number(value: sp.Expr) -> str:
    with mpmath.workdps(40):     # whatever precision another module left mpmath at
        return mpmath.nstr(mpmath.mpf(str(sp.N(value, 30))), 6)
