"""The classic optimizer mistakes, as rewrites of the rule's SymPy lines (``evaluation.optimizer``).

Each mistake is a field of ``Variant``; ``mistaken_lines`` makes it in the lines the checker
evaluates, so a mistaken number comes from the same rule as a right one:

- ``no_bias_correction`` (adam): m and v used for m̂ and v̂ (1 − βᵗ read as 1);
- ``epsilon_inside_root`` (adam, rmsprop, adagrad): √(v̂ + ε) for √v̂ + ε;
- ``beta_swapped``: β and 1 − β exchanged in one moving average (adam's m or v, rmsprop's v),
  or μ and 1 − dampening in the momentum buffer;
- ``step_not_incremented`` (adam): every step reads t = 1;
- ``learning_rate_sign``: the update added to θ, θ + (θ − θ_new) for θ_new.

``optimizer_catalogue`` offers each one where it applies, with the details its sentence needs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from ..evaluation.optimizer import Line
from ..model.optimizers import ALPHA, BETA1, BETA2, DAMPENING, EPSILON, MU, STEP, THETA, Optimizer
from .mistake_cause import Cause

if TYPE_CHECKING:
    from .variant import Variant

#: the weights of a moving average, each with what it becomes when swapped (both at once for momentum)
_SWAPS = ({BETA1: 1 - BETA1}, {BETA2: 1 - BETA2}, {ALPHA: 1 - ALPHA}, {MU: 1 - DAMPENING, DAMPENING: 1 - MU})

#: how a swapped moving average reads, for the report: (kind, buffer) → (the weights swapped, the line)
SWAPPED_TEXT = {
    ("adam", "m"): ("β₁ ↔ 1 − β₁", "m ← (1 − β₁) m + β₁ g"),
    ("adam", "v"): ("β₂ ↔ 1 − β₂", "v ← (1 − β₂) v + β₂ g²"),
    ("rmsprop", "v"): ("α ↔ 1 − α", "v ← (1 − α) v + α g²"),
    ("momentum", "b"): ("μ ↔ 1 − dampening", "b ← (1 − dampening) b + μ g"),
}
#: ε inside the root, for the report: kind → (as written, as it belongs)
ROOT_TEXT = {"adam": ("√(v̂ + ε)", "√v̂ + ε"), "rmsprop": ("√(v + ε)", "√v + ε"), "adagrad": ("√(G + ε)", "√G + ε")}


def mistaken_lines(optimizer: Optimizer, lines: tuple[Line, ...], variant: "Variant") -> tuple[Line, ...]:
    """``lines`` with the variant's optimizer mistakes made (the same tuple when it makes none)."""
    if not (variant.no_bias_correction or variant.epsilon_inside_root or variant.beta_swapped
            or variant.step_not_incremented or (variant.learning_rate_sign and optimizer is not None)):
        return lines
    out = []
    for line in lines:
        expr = line.expr
        if variant.step_not_incremented and line.name == "t":
            expr = sp.Integer(1)
        if variant.no_bias_correction:
            expr = expr.xreplace({BETA1 ** STEP: sp.Integer(0), BETA2 ** STEP: sp.Integer(0)})
        if line.name in variant.beta_swapped:
            expr = expr.xreplace(_swap_of(expr))
        if line.name == "theta" and variant.epsilon_inside_root:
            expr = _epsilon_inside(expr)
        if line.name == "theta" and variant.learning_rate_sign:
            expr = 2 * THETA - expr
        out.append(Line(line.name, line.symbol, expr))
    return tuple(out)


def _swap_of(expr: sp.Expr) -> dict:
    symbols = expr.free_symbols
    return next((swap for swap in _SWAPS if set(swap) <= symbols), {})


def _epsilon_inside(expr: sp.Expr) -> sp.Expr:
    """Every √X + ε (in a sum) as √(X + ε)."""
    if not expr.args:
        return expr
    expr = expr.func(*[_epsilon_inside(arg) for arg in expr.args])
    if isinstance(expr, sp.Add) and EPSILON in expr.args:
        roots = [a for a in expr.args if isinstance(a, sp.Pow) and a.exp == sp.Rational(1, 2)]
        if len(roots) == 1:
            rest = [a for a in expr.args if a is not roots[0] and a != EPSILON]
            return sp.Add(sp.sqrt(roots[0].base + EPSILON), *rest)
    return expr


def optimizer_catalogue(optimizer: Optimizer | None, lines: tuple[Line, ...]) -> list[tuple["Variant", Cause]]:
    """The optimizer mistakes that apply to ``optimizer`` (none without an [optimizer] table), and the
    learning-rate sign of its step."""
    from .variant import Variant

    if optimizer is None:
        return []
    kind = optimizer.kind
    out: list[tuple[Variant, Cause]] = [(Variant(learning_rate_sign=True),
                                         Cause("learning_rate_sign", (("optimizer", kind),) if kind != "sgd" else ()))]
    if kind == "adam":
        out.append((Variant(no_bias_correction=True), Cause("adam_no_bias_correction")))
    if kind in ROOT_TEXT:
        written, right = ROOT_TEXT[kind]
        out.append((Variant(epsilon_inside_root=True),
                    Cause("epsilon_inside_root", (("written", written), ("right", right)))))
    swapped = [line.name for line in lines if (kind, line.name) in SWAPPED_TEXT and _swap_of(line.expr)]
    for name in swapped:
        pair, written = SWAPPED_TEXT[(kind, name)]
        out.append((Variant(beta_swapped=frozenset({name})),
                    Cause("beta_swapped", (("buffer", name), ("weights", pair), ("written", written)))))
    if len(swapped) > 1:       # both of Adam's averages: one habit, made twice
        texts = [SWAPPED_TEXT[(kind, name)] for name in swapped]
        out.append((Variant(beta_swapped=frozenset(swapped)),
                    Cause("beta_swapped", (("buffer", ", ".join(swapped)),
                                           ("weights", ", ".join(t[0] for t in texts)),
                                           ("written", "; ".join(t[1] for t in texts))))))
    if any(STEP in line.expr.free_symbols for line in lines if line.name != "t"):
        out.append((Variant(step_not_incremented=True), Cause("step_not_incremented")))
    return out
