"""Formula claims: a claimed expression checked symbolically against the derivation.

An expression (the language of ``expression.py``) is written over the quantities of one
example, in the spec's layer numbering. It is compared with the expression the evaluator
computes for the claimed quantity (``evaluation.expressions``) after writing every a^[l]
as g(z^[l]) (and, for losses whose targets sum to 1, the last target as 1 minus the
others): equal means SymPy reduced the difference to 0; otherwise a point where the two
differ is the counterexample (``counterexample.py``). A constant ratio between the two
(2, ½, m, 1/m, −1) is reported as the likely mistake.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..derivation.backprop import M, Derivation
from ..derivation.symbols import meaning_of
from ..documents.text import TextPrinter, text_printer
from ..errors import SpecError
from ..evaluation import expressions
from .answers import GENERIC_HIDDEN, Claim
from .counterexample import decide
from .derivative_mistakes import formula_causes
from .expression import parse_expression
from .mistakes import Cause


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
        every = derivation.layer_numbers
        layers = list(every[:-1]) if claim.kind in GENERIC_HIDDEN else list(every)
    else:
        layers = [claim.layer]
    results = [_check_one(claim, derivation, layer, source) for layer in layers]
    wrong = [r for r in results if r.verdict == "wrong"]
    chosen = wrong[0] if wrong else next((r for r in results if r.verdict == "unproven"), results[0])
    chosen.layers = layers
    return chosen


# ---------------------------------------------------------------- the derivation's side

def _truth(claim: Claim, derivation: Derivation, layer: int | None) -> sp.Matrix:
    """The expression the evaluator computes for the claimed quantity of one example."""
    kind = claim.kind
    d = derivation
    if claim.prop is not None:
        raise AssertionError("properties are checked elsewhere")
    if kind == "z":
        return sp.Matrix(expressions.z(d, layer)[1])
    if kind == "a":
        return sp.Matrix(expressions.a(d, layer)[1]) if layer != d.input_number else sp.Matrix(d.x)
    if kind == "delta":
        return sp.Matrix(d.delta_index(layer))
    if kind == "C":
        return sp.Matrix(expressions.loss(d)[1])
    if kind == "dC/da":
        return sp.Matrix(expressions.loss_gradient(d)[1])
    if kind == "dcost/da":
        return sp.Matrix([d.reduction_factor * g for g in expressions.loss_gradient(d)[1]])
    if kind == "g'":
        if d.layer(layer).activation.is_softmax:
            raise SpecError(f"{claim.field}.quantity", "expected an elementwise activation for g' "
                                                       "(softmax has a Jacobian)")
        return sp.Matrix(expressions.activation_derivative(d, layer)[1])
    if kind == "WTdelta":
        return sp.Matrix(expressions.back_sum(d, layer)[1])
    if kind == "dW":
        return sp.Matrix(d.grad_W_index(layer))
    if kind == "db":
        return sp.Matrix(d.grad_b_index(layer))
    raise SpecError(f"{claim.field}.quantity", f"expected a per-example quantity for a formula claim "
                                               f"(z, a, delta, C, dC/da, dcost/da, g', WTdelta, dW, db), got {kind}")


def _independent(derivation: Derivation, expr: sp.Expr) -> sp.Expr:
    """Write every a^[l] as g(z^[l]) and, when the targets sum to 1, the last target through the others."""
    d = derivation
    for layer in reversed(d.layer_numbers):
        s = d.symbols(layer)
        outputs = d.a_index(layer)
        expr = expr.subs({aj: g for aj, g in zip(s.a, outputs)})
    if d.network.loss.targets_sum_to_one and len(d.y) > 1:
        expr = expr.subs(d.y[-1], 1 - sp.Add(*d.y[:-1]))
    return expr


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
    result = FormulaResult("correct", claimed=_show(claimed, derivation), derived=_show(truth, derivation),
                           assumption=assumption)
    undecided = False
    for c, t in zip(c_ind, t_ind):
        outcome, point = decide(c, t)
        if outcome != "differ":
            undecided = undecided or outcome == "undecided"
            continue
        result.verdict = "wrong"
        result.counterexample, result.claimed_value, result.derived_value = point
        result.counterexample = _show_point(result.counterexample, derivation)
        ratio = _constant_ratio(c, t)
        if ratio is not None:
            result.causes = [(cause,) for cause in _ratio_causes(ratio)]
        else:       # the derivative mistakes the number checker knows, made in the formula (every unit)
            result.causes = [(Cause(cause_id, details),) for cause_id, details
                             in formula_causes(claim.kind, derivation, layer, list(c_ind), _independent)]
        return result
    if undecided:
        result.verdict = "unproven"
    return result


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


_RATIO_CAUSES = ((2, "loss_doubled"), (sp.Rational(1, 2), "loss_halved"), (-1, "derivative_sign"),
                 (M, "sum_for_mean"), (1 / M, "mean_for_sum"))


def _ratio_causes(ratio: sp.Expr) -> list[Cause]:
    return [Cause(cause) for factor, cause in _RATIO_CAUSES if ratio == factor]


def _check_affine(claim: Claim, derivation: Derivation, layer: int) -> FormulaResult:
    """``a[l]`` (or ``z[l]``) as a function of the input x: affine iff every second derivative is 0."""
    d = derivation
    previous: list[sp.Expr] = list(d.x)
    expr = sp.Matrix(d.x)
    for number in range(d.first, layer + 1):        # compose the layers down to x
        inputs = dict(zip(d.activations_of(number - 1), previous))
        z = [zj.subs(inputs) for zj in d.z_index(number)]
        if number == layer and claim.kind == "z":
            expr = sp.Matrix(z)
            break
        previous = [aj.subs(dict(zip(d.symbols(number).z, z))) for aj in d.a_index(number)]
        expr = sp.Matrix(previous)
    result = FormulaResult("correct", claimed="affine in x", derived=_show(expr, derivation))
    for entry in expr:
        for xi in d.x:
            for xk in d.x:
                second = sp.diff(entry, xi, xk)
                outcome, point = decide(second, sp.Integer(0))
                if outcome != "differ":
                    if outcome == "undecided":
                        result.verdict = "unproven"
                    continue
                result.verdict = "wrong"
                result.counterexample, result.claimed_value, result.derived_value = \
                    _show_point(point[0], derivation), "0", point[1]
                result.claimed = f"∂²/∂{xi}∂{xk} = 0"
                return result
    return result


def _show(value, derivation: Derivation | None = None) -> str:
    """A formula as the report shows it: in the spec's notation (w[3]_11 δ[3]_1, (a[2]_1)²), entries listed.

    Without ``derivation`` the default notation is used; pass it, so a spec's θ, (l) or Wᵀa reads as written.
    """
    printer = text_printer(derivation) if derivation is not None else TextPrinter()
    if isinstance(value, sp.MatrixBase):
        items = [printer.doprint(e) for e in value]
        return items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"
    return printer.doprint(value)


def _show_point(point: dict[str, str], derivation: Derivation | None = None) -> dict[str, str]:
    """A counterexample's {symbol name: value} with each name in the spec's notation (z3_1 → z[3]_1)."""
    printer = text_printer(derivation) if derivation is not None else TextPrinter()
    shown = {}
    for name, value in point.items():
        symbol = sp.Symbol(name, real=True)     # the derivation's symbols are real: the same symbol
        shown[printer.doprint(symbol) if meaning_of(symbol) is not None else name] = value
    return shown
