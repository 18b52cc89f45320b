"""How the spec's ``[notation]`` spells things in LaTeX: letters, layer superscripts, unit subscripts.

Notation never changes the math: the same expression is printed, only its symbols are
spelled differently (W or θ or w, δ or ε, a^{[l]} or a^{(l)}, the layer numbers, and the
Wᵀ a convention). ``Names`` holds those choices; the symbols below are the few the
documents add to the derivation's own.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence

from ..derivation.backprop import M, Derivation
from ..model.network import Notation

#: the per-example loss ℓ
ELL = r"\ell"

#: the learning rate η in update rules
ETA = sp.Symbol("eta", positive=True)
#: the row of per-example losses ℓ_1 … ℓ_m in the cost
LOSS_ROW = sp.MatrixSymbol("ell", 1, M)

_WEIGHT_LETTERS = {"W": ("W", "w"), "w": ("w", "w"), "theta": (r"\theta", r"\theta")}
_DELTA_LETTERS = {"delta": (r"\Delta", r"\delta"), "epsilon": (r"\mathcal{E}", r"\varepsilon")}
_ACTIVATION_NAMES = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{relu}",
                     "leaky_relu": r"\operatorname{lrelu}", "identity": ""}


class Names:
    """How the notation spells each kind of symbol (LaTeX strings).

    ``big_index`` separates two unit indices by a comma (w_{1,10}), needed once a layer has 10 units.
    """

    def __init__(self, notation: Notation, big_index: bool = False) -> None:
        self.notation = notation
        self.open, self.close = ("[", "]") if notation.brackets == "square" else ("(", ")")
        self.weight_matrix_letter, self.weight_letter = _WEIGHT_LETTERS[notation.weight_symbol]
        self.delta_matrix_letter, self.delta_letter = _DELTA_LETTERS[notation.delta_symbol]
        self.cost = notation.cost_symbol
        self.transposed = notation.weight_convention == "WTa"
        self._comma = "," if big_index else ""

    def sup(self, number: int | str) -> str:
        return f"{self.open}{number}{self.close}"

    def indices(self, *indices) -> str:
        return self._comma.join(str(i) for i in indices)

    def scalar(self, letter: str, number: int | str | None, *indices) -> str:
        """``letter^{[number]}_{indices}``."""
        sup = "" if number is None else f"^{{{self.sup(number)}}}"
        sub = f"_{{{self.indices(*indices)}}}" if indices else ""
        return f"{letter}{sup}{sub}"

    def matrix(self, letter: str, number: int | str, transpose: bool = False) -> str:
        top = r"\top" if transpose else ""
        return f"{letter}^{{{self.sup(number)}{top}}}"

    def weight_entry(self, number: int | str, row, col) -> str:
        """The entry linking unit ``col`` of layer l−1 to unit ``row`` of layer l (code order)."""
        if self.transposed:
            row, col = col, row
        return self.scalar(self.weight_letter, number, row, col)

    def partial(self, top: str, bottom: str) -> str:
        return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def activation_call(derivation: Derivation, layer: int, argument: str, unit: int | None = None) -> str:
    """``σ(z)``, ``tanh(z)``, … — the name of layer number ``layer``'s activation applied to ``argument``."""
    activation = derivation.layer(layer).activation
    if activation.is_softmax:
        sub = f"_{{{unit}}}" if unit is not None else ""
        return rf"\operatorname{{softmax}}{sub}\left({argument}\right)"
    if activation.is_custom:
        return rf"g_{{{layer}}}\left({argument}\right)"
    name = _ACTIVATION_NAMES[activation.name]
    return rf"{name}\left({argument}\right)" if name else argument


def as_factor(expr: sp.Expr, text: str) -> str:
    """``text`` (``expr`` printed) as the left factor of a product written beside another.

    A sum or a negated product gets its parentheses, so the line reads as it computes:
    (1 − a²)(w δ), never 1 − a² (w δ).
    """
    return rf"\left({text}\right)" if precedence(expr) < PRECEDENCE["Mul"] else text
