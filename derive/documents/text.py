"""``TextPrinter``: a derivation's SymPy expressions in the lectures' notation, as plain Unicode text.

For ``deltagen derive``, the comments of generated C and the check report's formula explanations:
``w[3]_11 δ[3]_1`` (not ``W3_1_1*delta3_1``), ``1 − a²`` (not ``1 - a**2``), ``G[1] ⊙ (W[2]ᵀ Δ[2])``
(not ``HadamardProduct(G1, W2.T*Delta2)``), ``max(0, z)`` for relu. One ``_print_X`` per construct.
Symbols are named from what they stand for (``meaning_of``), spelled by the spec's ``[notation]``
as the LaTeX printer spells them (``printer.py``). Products are juxtaposition, so every factor that
is a sum keeps its parentheses: ``(1 − a²) (w δ)``, ``(1/m) Δ[2] 𝟏``. The text never contains ``*/``.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.core.mul import _keep_coeff
from sympy.matrices.expressions import HadamardProduct, MatAdd, MatMul, OneMatrix
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty_symbology import greek_unicode
from sympy.printing.str import StrPrinter

from ..derivation.symbols import Meaning, meaning_of
from ..model.network import Notation
from .notation import LOSS_ROW

#: the minus sign of printed formulas (U+2212), as in the lectures' typeset text
MINUS = "\u2212"
#: the all-ones column 𝟏 of the batch forms (Δ 𝟏 sums the columns of Δ), and the transpose mark
ONES, TRANSPOSE = "\U0001D7CF", "\u1D40"

_WEIGHT_LETTERS = {"W": ("W", "w"), "w": ("w", "w"), "theta": ("θ", "θ")}
_DELTA_LETTERS = {"delta": ("Δ", "δ"), "epsilon": ("ℰ", "ε")}
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_RELATIONS = {">": ">", "<": "<", ">=": "≥", "<=": "≤", "==": "=", "!=": "≠"}
#: a name that needs no parentheses under an exponent: letters and digits, no subscript or brackets
_PLAIN_NAME = re.compile(r"[^\W\d_][^\W_]*")


def _negative(term: sp.Basic) -> bool:
    """Whether a term prints with a leading minus (−η ∂C/∂W is a MatMul whose coefficient is −η)."""
    if isinstance(term, MatMul):
        return term.args[0].could_extract_minus_sign()
    return term.could_extract_minus_sign()


def _signed(text: str) -> str:
    return MINUS + text[1:] if text.startswith("-") else text


class TextPrinter(StrPrinter):
    """Prints expressions as the lectures write them, in plain text; symbols in the spec's notation.

    ``big_index`` writes two unit indices as ``(1,10)`` (needed once a layer has 10 units); a symbol
    whose own indices pass 9 gets them anyway, so ``w[1]_110`` is never printed.
    """

    printmethod = "_deltagen_text"

    def __init__(self, notation: Notation | None = None, *, big_index: bool = False) -> None:
        super().__init__()
        self.notation = notation = notation or Notation()
        self.open, self.close = ("[", "]") if notation.brackets == "square" else ("(", ")")
        self.weight_matrix_letter, self.weight_letter = _WEIGHT_LETTERS[notation.weight_symbol]
        self.delta_matrix_letter, self.delta_letter = _DELTA_LETTERS[notation.delta_symbol]
        self.cost = notation.cost_symbol
        self.transposed = notation.weight_convention == "WTa"
        self.big_index = big_index

    # ---------------------------------------------------------------- names
    def sup(self, number: int | str) -> str:
        """The layer mark: ``[2]`` or ``(2)``."""
        return f"{self.open}{number}{self.close}"

    def indices(self, *indices: int | str) -> str:
        """``11`` for w_11; ``(1,10)`` once an index passes 9 (or with ``big_index``)."""
        numbers = [i for i in indices if isinstance(i, int)]
        if len(indices) > 1 and (self.big_index or any(i > 9 for i in numbers)):
            return "(" + ",".join(map(str, indices)) + ")"
        return "".join(map(str, indices))

    def scalar(self, letter: str, number: int | str | None, *indices: int | str) -> str:
        """``letter[number]_indices``: ``a[2]_1``, ``x_3``, ``δ[2]_j``."""
        sup = "" if number is None else self.sup(number)
        return f"{letter}{sup}" + (f"_{self.indices(*indices)}" if indices else "")

    def weight_entry(self, number: int | str, row: int | str, col: int | str) -> str:
        """The entry linking unit ``col`` of layer l−1 to unit ``row`` of layer l (code order)."""
        if self.transposed:
            row, col = col, row
        return self.scalar(self.weight_letter, number, row, col)

    def _scalar_name(self, meaning: Meaning) -> str:
        if meaning.layer is None:   # an input x_k or a target y_k
            return self.scalar(meaning.kind, None, *meaning.units)
        if meaning.kind == "W":
            return self.weight_entry(meaning.layer, *meaning.units)
        letter = self.delta_letter if meaning.kind == "delta" else meaning.kind
        return self.scalar(letter, meaning.layer, *meaning.units)

    def _matrix_name(self, expr: sp.Basic, transpose: bool) -> str | None:
        """A matrix symbol's name, with ᵀ; None if it is not one of the derivation's."""
        if expr == LOSS_ROW:
            return "ℓ" + (TRANSPOSE if transpose else "")
        meaning = meaning_of(expr)
        if meaning is None or not meaning.matrix:
            return None
        kind, number = meaning.kind, meaning.layer
        if kind == "ones":
            return ONES + (TRANSPOSE if transpose else "")
        if kind in ("W", "dW") and self.transposed:
            transpose = not transpose     # the displayed W is the code's Wᵀ
        mark = TRANSPOSE if transpose else ""
        if kind in ("dW", "db"):
            letter = self.weight_matrix_letter if kind == "dW" else "b"
            label = f"∂{self.cost}/∂{letter}{self.sup(number)}"
            return f"({label}){mark}" if transpose else label
        letters = {"W": self.weight_matrix_letter, "b": "b", "Z": "Z", "A": "A",
                   "Delta": self.delta_matrix_letter, "G": "G"}
        return f"{letters[kind]}{self.sup(number)}{mark}"

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        meaning = meaning_of(expr)
        if meaning is not None:
            return self._scalar_name(meaning)
        return greek_unicode.get(expr.name, expr.name)

    # ---------------------------------------------------------------- numbers
    def _print_Integer(self, expr: sp.Integer) -> str:
        return _signed(str(expr.p))

    def _print_Zero(self, expr) -> str:
        return "0"

    def _print_Rational(self, expr: sp.Rational) -> str:
        return _signed(f"{expr.p}/{expr.q}" if expr.q != 1 else str(expr.p))

    def _print_Float(self, expr: sp.Float) -> str:
        return _signed(repr(float(expr)))   # the shortest decimal that reads back as the same double

    def _print_Exp1(self, expr) -> str:
        return "e"

    def _print_Pi(self, expr) -> str:
        return "π"

    # ---------------------------------------------------------------- arithmetic
    def _print_Add(self, expr: sp.Add, order=None) -> str:
        """Terms without a minus sign first (1 − a, not −a + 1); a − b, never a + −b."""
        terms = self._as_ordered_terms(expr, order=order)
        terms = [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]
        text = ""
        for i, term in enumerate(terms):
            negative = _negative(term)
            body = self.parenthesize(-term if negative else term, PRECEDENCE["Add"], strict=True)
            if i == 0:
                text = MINUS + body if negative else body
            else:
                text += f" {MINUS} {body}" if negative else f" + {body}"
        return text

    def _print_Mul(self, expr: sp.Mul) -> str:
        """Juxtaposed factors, sums in parentheses; a denominator after a slash: (a − y)/m, 1/(2 m)."""
        coeff, rest = expr.as_coeff_Mul()
        if coeff < 0:
            return MINUS + self.parenthesize(_keep_coeff(-coeff, rest), PRECEDENCE["Mul"], strict=True)
        numerator, denominator = [], []
        # order "none": the factors as the expression holds them (an unevaluated Mul arranged by the caller)
        for factor in (expr.args if self._settings.get("order") == "none" else expr.as_ordered_factors()):
            if factor.is_commutative and factor.is_Pow and factor.exp.as_coeff_Mul()[0] < 0:
                exponent = -factor.exp
                denominator.append(factor.base if exponent == 1 else sp.Pow(factor.base, exponent, evaluate=False))
            elif factor.is_Rational:
                numerator += [sp.Integer(factor.p)] if factor.p != 1 else []
                denominator += [sp.Integer(factor.q)] if factor.q != 1 else []
            else:
                numerator.append(factor)
        text = self._juxtapose(numerator) if numerator else "1"
        if not denominator:
            return text
        if len(denominator) == 1:
            return f"{text}/{self.parenthesize(denominator[0], PRECEDENCE['Mul'], strict=False)}"
        return f"{text}/({self._juxtapose(denominator)})"

    def _juxtapose(self, factors: list[sp.Basic]) -> str:
        """Factors side by side; two numbers get a · between them so they never read as one."""
        parts = []
        for i, factor in enumerate(factors):
            text = self.parenthesize(factor, PRECEDENCE["Mul"], strict=False)
            if i and factor.is_Number:
                parts.append("· " + text)
            else:
                parts.append(text)
        return " ".join(parts)

    def _base(self, base: sp.Basic) -> str:
        """A power's base: parenthesized unless it is one plain letter, a function call or a natural number."""
        text = self._print(base)
        if (isinstance(base, sp.Symbol) and _PLAIN_NAME.fullmatch(text)) or \
                (base.is_Integer and base >= 0) or (isinstance(base, sp.Function) and not isinstance(base, sp.exp)):
            return text
        return f"({text})"

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        """a², √z, 1/(1 + e^(−z)), 2^z, z^(1/3)."""
        base, exponent = expr.base, expr.exp
        if exponent is sp.S.Half:
            return "√" + self._base(base)
        if expr.is_commutative and exponent.is_Rational and exponent < 0:
            inverse = base if exponent == -1 else sp.Pow(base, -exponent, evaluate=False)
            return "1/" + self.parenthesize(inverse, PRECEDENCE["Mul"], strict=False)
        if exponent.is_Integer and exponent > 0:
            return self._base(base) + str(exponent).translate(_SUPERSCRIPT)
        shown = self._print(exponent)
        if not (exponent.is_Integer and exponent > 0 or _PLAIN_NAME.fullmatch(shown)):
            shown = f"({shown})"
        return f"{self._base(base)}^{shown}"

    def _print_exp(self, expr: sp.exp) -> str:
        """e^z, e^(−z), e^(z[2]_1)."""
        shown = self._print(expr.args[0])
        return f"e^{shown}" if _PLAIN_NAME.fullmatch(shown) else f"e^({shown})"

    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"|{self._print(expr.args[0])}|"

    # ---------------------------------------------------------------- branches
    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        """relu as max(0, z); any other as cases {value, condition; ...}, the last condition spelled out."""
        pieces = expr.args
        if len(pieces) == 2 and pieces[1].cond == sp.true and pieces[1].expr == 0 \
                and pieces[0].cond == sp.StrictGreaterThan(pieces[0].expr, 0):
            return f"max(0, {self._print(pieces[0].expr)})"
        shown, before = [], []
        for piece in pieces:
            condition = piece.cond if piece.cond != sp.true else sp.And(*[sp.Not(c) for c in before])
            shown.append(f"{self._print(piece.expr)}, {self._print(condition)}")
            before.append(piece.cond)
        return "{" + "; ".join(shown) + "}"

    def _print_Relational(self, expr: sp.core.relational.Relational) -> str:
        return f"{self._print(expr.lhs)} {_RELATIONS[expr.rel_op]} {self._print(expr.rhs)}"

    def _print_And(self, expr: sp.And) -> str:
        return " ∧ ".join(self.parenthesize(a, PRECEDENCE["And"]) for a in expr.args)

    def _print_Or(self, expr: sp.Or) -> str:
        return " ∨ ".join(self.parenthesize(a, PRECEDENCE["Or"]) for a in expr.args)

    # ---------------------------------------------------------------- matrices
    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        name = self._matrix_name(expr, transpose=False)
        return name if name is not None else expr.name

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        arg = expr.arg
        if isinstance(arg, OneMatrix):
            return ONES if arg.shape[0] == 1 else ONES + TRANSPOSE
        if isinstance(arg, sp.MatrixSymbol):
            name = self._matrix_name(arg, transpose=True)
            return name if name is not None else arg.name + TRANSPOSE
        return f"({self._print(arg)}){TRANSPOSE}"

    def _print_OneMatrix(self, expr: OneMatrix) -> str:
        # b 𝟏ᵀ broadcasts a column over the m examples; a (1 × m) block of ones is 𝟏ᵀ
        return ONES + TRANSPOSE if expr.shape[0] == 1 and expr.shape[1] != 1 else ONES

    def _print_ZeroMatrix(self, expr) -> str:
        return "0"

    def _print_Identity(self, expr) -> str:
        return "I"

    def _print_MatMul(self, expr: MatMul) -> str:
        """(1/m) Δ[2] A[1]ᵀ, −η ∂C/∂W[2], W[2]ᵀ (Δ[2] ⊙ G[2]): a scalar in front, sums in parentheses."""
        scalars = [a for a in expr.args if not a.is_Matrix]
        matrices = [a for a in expr.args if a.is_Matrix]
        coeff = sp.Mul(*scalars)
        sign = ""
        if coeff.could_extract_minus_sign():
            sign, coeff = MINUS, -coeff
        parts = []
        if coeff != 1:
            shown = self._print(coeff)
            parts.append(shown if _PLAIN_NAME.fullmatch(shown) or coeff.is_Integer else f"({shown})")
        for factor in matrices:
            shown = self._print(factor)
            parts.append(f"({shown})" if isinstance(factor, (MatAdd, MatMul, HadamardProduct)) else shown)
        return sign + " ".join(parts)

    def _print_MatAdd(self, expr: MatAdd) -> str:
        terms = [t for t in expr.args if not _negative(t)] + [t for t in expr.args if _negative(t)]
        text = ""
        for i, term in enumerate(terms):
            shown = self._print(term)
            if isinstance(term, MatAdd):
                shown = f"({shown})"
            if i == 0:
                text = shown
            elif shown.startswith(MINUS):
                text += f" {MINUS} {shown[1:]}"
            else:
                text += f" + {shown}"
        return text

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        """G[1] ⊙ (W[2]ᵀ Δ[2]): a product or a sum beside ⊙ keeps its parentheses."""
        return " ⊙ ".join(f"({self._print(a)})" if isinstance(a, (MatAdd, MatMul, HadamardProduct))
                          else self._print(a) for a in expr.args)

    def _print_HadamardPower(self, expr) -> str:
        base = self._print(expr.base)
        if not isinstance(expr.base, sp.MatrixSymbol):
            base = f"({base})"
        return f"{base}^∘{self._print(expr.exp)}"

    def _print_Trace(self, expr: sp.Trace) -> str:
        """tr(ℓ 𝟏) = Σ_i ℓ_i and tr(Wᵀ W) = ‖W‖²: the cost's two parts, as the lectures write them."""
        arg = expr.arg
        if isinstance(arg, MatMul) and len(arg.args) == 2:
            left, right = arg.args
            if left == LOSS_ROW and isinstance(right, OneMatrix):
                return "Σ_i ℓ_i"
            if isinstance(left, sp.Transpose) and left.arg == right:
                return f"‖{self._print(right)}‖²"
        return f"tr({self._print(arg)})"

    def _print_MatrixBase(self, expr: sp.MatrixBase) -> str:
        """[a, b; c, d]: rows separated by semicolons."""
        rows = [", ".join(self._print(e) for e in expr.row(i)) for i in range(expr.rows)]
        return "[" + "; ".join(rows) + "]"

    def doprint(self, expr) -> str:
        return super().doprint(expr).replace("*/", "* /")   # a C comment must not end inside a formula


def text_printer(derivation) -> TextPrinter:
    """The printer for ``derivation``'s spec: its notation, with (j,k) indices once a layer has 10 units."""
    network = derivation.network
    return TextPrinter(network.notation, big_index=max(network.sizes) >= 10)


def text(expr: sp.Basic, derivation=None) -> str:
    """``expr`` as plain text, in the notation of ``derivation``'s spec (the default notation without one)."""
    printer = text_printer(derivation) if derivation is not None else TextPrinter()
    return printer.doprint(expr)
