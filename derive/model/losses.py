"""Per-example losses ℓ(a, y) as SymPy expressions of the output activations a and targets y.

Each loss states which output activations it pairs with and any constraint on
the targets that its simplifications rely on (cce: targets sum to 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import sympy as sp

from ..errors import did_you_mean


def _half_sse(a: Sequence[sp.Expr], y: Sequence[sp.Expr]) -> sp.Expr:
    return sp.Rational(1, 2) * sp.Add(*[(ak - yk) ** 2 for ak, yk in zip(a, y)])


def _mse(a: Sequence[sp.Expr], y: Sequence[sp.Expr]) -> sp.Expr:
    return sp.Rational(1, len(a)) * sp.Add(*[(ak - yk) ** 2 for ak, yk in zip(a, y)])


def _bce(a: Sequence[sp.Expr], y: Sequence[sp.Expr]) -> sp.Expr:
    return -sp.Add(*[yk * sp.log(ak) + (1 - yk) * sp.log(1 - ak) for ak, yk in zip(a, y)])


def _cce(a: Sequence[sp.Expr], y: Sequence[sp.Expr]) -> sp.Expr:
    return -sp.Add(*[yk * sp.log(ak) for ak, yk in zip(a, y)])


def _logistic(a: Sequence[sp.Expr], y: Sequence[sp.Expr]) -> sp.Expr:
    return sp.log(1 + sp.exp(-sp.Add(*[ak * yk for ak, yk in zip(a, y)])))


def _hinge(a: Sequence[sp.Expr], y: Sequence[sp.Expr]) -> sp.Expr:
    # max{0, 1 − y a} per output; the subgradient at the kink is taken as 0
    return sp.Add(*[sp.Piecewise((1 - yk * ak, yk * ak < 1), (0, True)) for ak, yk in zip(a, y)])


@dataclass(frozen=True)
class Loss:
    """A per-example loss. ``outputs`` lists the output activations it accepts (None: any but softmax)."""

    name: str
    formula: str
    build: Callable[[Sequence[sp.Expr], Sequence[sp.Expr]], sp.Expr]
    outputs: tuple[str, ...] | None
    targets_sum_to_one: bool = False
    why: str = ""

    def accepts(self, activation_name: str) -> bool:
        if self.outputs is None:
            return activation_name != "softmax"
        return activation_name in self.outputs


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in [
        Loss("half_sse", "½ Σ_k (a_k − y_k)²", _half_sse, ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "*")),
        Loss("mse", "(1/n_L) Σ_k (a_k − y_k)²", _mse, ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softmax", "*")),
        Loss("bce", "−Σ_k [y_k log a_k + (1 − y_k) log(1 − a_k)]", _bce, ("sigmoid",),
             why="bce takes probabilities in (0, 1), which only a sigmoid output guarantees"),
        Loss("cce", "−Σ_k y_k log a_k", _cce, ("softmax",), targets_sum_to_one=True,
             why="cce takes a probability vector, which only a softmax output guarantees"),
        Loss("logistic", "log(1 + e^{−aᵀy}), y ∈ {−1, 1}", _logistic, None,
             why="logistic takes a real score per output, not a probability vector"),
        Loss("hinge", "Σ_k max{0, 1 − y_k a_k}, y ∈ {−1, 1}", _hinge, None,
             why="hinge takes a real score per output, not a probability vector"),
    ]
}


def loss_accepts(loss: Loss, activation_name: str, is_custom: bool) -> bool:
    """Whether ``loss`` pairs with an output activation (custom expressions count as ``*``)."""
    if loss.outputs is not None and "*" in loss.outputs and is_custom:
        return True
    return loss.accepts(activation_name)


#: other libraries' names of these losses (lowercase, no separators), for "did you mean"
_SYNONYMS = {"meansquarederror": "mse", "mseloss": "mse", "binarycrossentropy": "bce", "bceloss": "bce",
             "crossentropy": "cce", "crossentropyloss": "cce", "categoricalcrossentropy": "cce",
             "hingeloss": "hinge", "halfsse": "half_sse"}


def loss_hint(name: object) -> str:
    """``"; did you mean mse?"`` for an unknown loss name such as ``MSE`` or ``cross_entropy``, else ``""``."""
    return did_you_mean(name, LOSSES, _SYNONYMS) if isinstance(name, str) else ""
