"""``NotationPrinter``: a SymPy ``LatexPrinter`` that prints a derivation's expressions in the spec's notation.

It decides how symbols are *named*, reading what each stands for from ``meaning_of``
(kind, layer, units) and spelling it through ``Names``, and, by language, the decimal
separator (``0{,}5`` in Portuguese) and the words of a piecewise definition; everything
else is SymPy's printing, with the lectures' choices for sums, ⊙ and traces.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import OneMatrix
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ..derivation.backprop import Derivation
from ..derivation.symbols import Meaning, meaning_of
from .notation import LOSS_ROW, Names
from .numerals import SYMPY_DECIMAL
from .words import words

#: sums with more terms than this are shown in part: the first three, ⋯, the last two
MAX_TERMS_SHOWN = 8
#: sums with more terms than this are ordered by unit (w_{1,2} x_2 before w_{1,10} x_{10})
MAX_TERMS_IN_SYMPY_ORDER = 9


def _negative(term) -> bool:
    """Whether a term prints with a leading minus (−η ∂C/∂W is a MatMul whose coefficient is −η)."""
    if isinstance(term, sp.MatMul):
        return term.args[0].could_extract_minus_sign()
    return term.could_extract_minus_sign()


def _unit_order(term) -> list[tuple]:
    """Sort key of a term by what its symbols stand for, so unit 2 comes before unit 10.

    The derivation's symbols compare by (kind, layer, units), numerically; any other
    atom (a number, a foreign symbol) by its text, after them.
    """
    key = []
    for node in sp.preorder_traversal(term):
        if node.args:   # a product or a function: its atoms speak for it
            continue
        meaning = meaning_of(node)
        if meaning is None:
            key.append((1, sp.sstr(node), 0, ()))
        else:
            key.append((0, meaning.kind, meaning.layer or 0, meaning.units))
    return key


class NotationPrinter(LatexPrinter):
    """Prints a derivation's expressions with the spec's notation.

    ``values`` maps symbols (or matrix symbols) to LaTeX to print in their place:
    a worked solution substitutes numbers this way, and products then get an
    explicit ``\\cdot`` so two numbers never sit side by side. With ``per_example``
    the batch matrices Z, A, Δ print as one example's vectors z, a, δ. ``lang`` sets the
    words of a piecewise definition (for/otherwise, se/caso contrário) and the decimal
    separator of a number in a formula (0.5, 0{,}5).
    """

    printmethod = "_deltagen_latex"

    def __init__(self, derivation: Derivation, values: dict | None = None, *, per_example: bool = False,
                 lang: str = "en", **settings) -> None:
        if values:
            settings.setdefault("mul_symbol", "dot")
        settings.setdefault("mat_str", "bmatrix")
        settings.setdefault("mat_delim", "")
        settings.setdefault("long_frac_ratio", 1)   # ½ (a − y)², (1/m) Σ ℓ_i: the lectures' way
        settings.setdefault("decimal_separator", SYMPY_DECIMAL[lang])
        super().__init__(settings)
        self.words = words(lang)
        self.derivation = derivation
        self.values = values or {}
        self.per_example = per_example
        self.names = Names(derivation.network.notation, big_index=max(derivation.network.sizes) >= 10)

    # ---------------------------------------------------------------- sums
    def _as_ordered_terms(self, expr, order=None):
        """Terms in SymPy's order, but those without a minus sign first: 1 − a, W − η ∂C/∂W.

        Long sums (units numbered past 9) go in unit order: w_{1,2} x_2 before w_{1,10} x_{10}.
        """
        terms = super()._as_ordered_terms(expr, order)
        if len(terms) > MAX_TERMS_IN_SYMPY_ORDER:
            terms = sorted(terms, key=_unit_order)
        return [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]

    def _print_Add(self, expr, order=None):
        terms = self._as_ordered_terms(expr, order=order)
        if len(terms) > MAX_TERMS_SHOWN:
            terms = terms[:3] + [None] + terms[-2:]
        tex = ""
        for i, term in enumerate(terms):
            if term is None:
                tex += r" + \cdots"
                continue
            if i == 0:
                pass
            elif _negative(term):
                tex += " - "
                term = -term
            else:
                tex += " + "
            term_tex = self._print(term)
            if self._needs_add_brackets(term):
                term_tex = r"\left(%s\right)" % term_tex
            tex += term_tex
        return tex

    def _print_Piecewise(self, expr):
        """SymPy's cases layout (relu, leaky_relu, their derivatives), with the language's words."""
        condition, otherwise = self.words["cases_if"], self.words["cases_otherwise"]
        pairs = [rf"{self._print(e)} & \text{{{condition}}}\: {self._print(c)}" for e, c in expr.args[:-1]]
        last = expr.args[-1]
        if last.cond == sp.true:
            pairs.append(rf"{self._print(last.expr)} & \text{{{otherwise}}}")
        else:
            pairs.append(rf"{self._print(last.expr)} & \text{{{condition}}}\: {self._print(last.cond)}")
        return r"\begin{cases} %s \end{cases}" % r" \\".join(pairs)

    # ---------------------------------------------------------------- symbols
    def _print_Symbol(self, expr, style="plain"):
        if expr in self.values:
            return self.values[expr]
        meaning = meaning_of(expr)
        return super()._print_Symbol(expr, style) if meaning is None else self._scalar_name(meaning)

    def _scalar_name(self, meaning: Meaning) -> str:
        """One entry: x_k, y_k, w^{[l]}_{jk} (in the notation's weight order), b, z, a, δ^{[l]}_j."""
        n = self.names
        if meaning.layer is None:   # an input x_k or a target y_k
            return n.scalar(meaning.kind, None, *meaning.units)
        if meaning.kind == "W":
            return n.weight_entry(meaning.layer, *meaning.units)
        letter = n.delta_letter if meaning.kind == "delta" else meaning.kind
        return n.scalar(letter, meaning.layer, *meaning.units)

    def _matrix_name(self, expr, transpose: bool) -> str | None:
        """A matrix symbol's name, with ᵀ inside the superscript; None if it is not one of ours."""
        if expr == LOSS_ROW:
            return r"\ell^{\top}" if transpose else r"\ell"
        meaning = meaning_of(expr)
        if meaning is None or not meaning.matrix:
            return None
        kind, number = meaning.kind, meaning.layer
        n = self.names
        if kind in ("W", "dW") and n.transposed:
            transpose = not transpose     # the displayed W is the code's Wᵀ
        if kind in ("dW", "db"):
            letter = n.weight_matrix_letter if kind == "dW" else "b"
            label = n.partial(n.cost, n.matrix(letter, number))
            return rf"\left({label}\right)^{{\top}}" if transpose else label
        letters = {"W": n.weight_matrix_letter, "b": "b", "Z": "Z", "A": "A",
                   "Delta": n.delta_matrix_letter, "G": "G"}
        if self.per_example:
            letters.update(Z="z", A="a", Delta=n.delta_letter)
        return n.matrix(letters[kind], number, transpose)

    def _print_MatrixSymbol(self, expr, style="plain"):
        if expr in self.values:
            return self.values[expr]
        meaning = meaning_of(expr)
        if meaning is not None and meaning.kind == "ones":
            return r"\mathbf{1}"
        name = self._matrix_name(expr, transpose=False)
        return name if name is not None else super()._print_MatrixSymbol(expr)

    def _print_Transpose(self, expr):
        arg = expr.arg
        if expr in self.values:
            return self.values[expr]
        if isinstance(arg, sp.MatrixSymbol):
            if arg in self.values:
                value = self.values[arg]
                return value.removesuffix(r"^{\top}") if value.endswith(r"^{\top}") else rf"{value}^{{\top}}"
            name = self._matrix_name(arg, transpose=True)
            if name is not None:
                return name
        if isinstance(arg, OneMatrix):
            return r"\mathbf{1}" if arg.shape[0] == 1 else r"\mathbf{1}^{\top}"
        return rf"\left({self._print(arg)}\right)^{{\top}}"

    # ---------------------------------------------------------------- batch forms
    def _print_OneMatrix(self, expr):
        if self.per_example:   # b 1ᵀ of a batch is just b for one example
            return ""
        # b 1ᵀ broadcasts a column over the m examples; a (1 × m) block of ones is 1ᵀ
        if expr.shape[0] == 1 and expr.shape[1] != 1:
            return r"\mathbf{1}^{\top}"
        return r"\mathbf{1}"

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self.parenthesize(arg, PRECEDENCE["Mul"], strict=False) for arg in expr.args)

    def _print_HadamardPower(self, expr):
        base = self._print(expr.base)
        if "^" in base or not isinstance(expr.base, sp.MatrixSymbol):
            base = rf"\left({base}\right)"
        return rf"{base}^{{\circ {self._print(expr.exp)}}}"

    def _print_Trace(self, expr):
        arg = expr.arg
        # tr(ℓ 1) = Σ_i ℓ_i and tr(Wᵀ W) = ‖W‖²: the cost's two parts, named as the lectures write them
        if isinstance(arg, sp.MatMul) and len(arg.args) == 2:
            left, right = arg.args
            if left == LOSS_ROW and isinstance(right, OneMatrix):
                return self.values.get(LOSS_ROW, r"\sum_{i=1}^{m} \ell_{i}")
            if isinstance(left, sp.Transpose) and left.arg == right:
                return rf"\left\lVert {self._print(right)} \right\rVert^{{2}}"
        return super()._print_Trace(expr)
