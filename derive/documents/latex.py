"""LaTeX for a ``Derivation``, in the notation of the spec's ``[notation]`` block.

Every formula is one of the derivation's SymPy expressions printed by
``NotationPrinter``, a SymPy ``LatexPrinter`` subclass that only decides how
symbols are *named* (W or θ or w, δ or ε, a^{[l]} or a^{(l)}, the layer numbers,
and the Wᵀ a convention). Notation never changes the math: the same expression
is printed, only its symbols are spelled differently.

``derivation_document`` builds the complete document of ``deltagen derive --latex``:
forward pass, cost, activation derivatives, δ^[L] by the chain rule, the δ
recurrence, the gradients (index and matrix form), the update rule, a TikZ
drawing of the network and the proof verdict.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.matrices.expressions import HadamardPower, HadamardProduct, OneMatrix
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from ..model.activations import A as GENERIC_A, Z as GENERIC_Z
from ..proof import ProofReport
from ..derivation.backprop import LAMBDA, M, Derivation
from .document import LatexDocument
from ..model.network import Notation
from .words import words

#: the per-example loss ℓ
ELL = r"\ell"

#: the learning rate η in update rules
ETA = sp.Symbol("eta", positive=True)
#: the row of per-example losses ℓ_1 … ℓ_m in the cost
LOSS_ROW = sp.MatrixSymbol("ell", 1, M)

#: the all-ones matrix of an elementwise batch form (1 − A)
ONES = "__ones__"

#: layers with more units (sums with more terms) than this are shown in part
MAX_UNITS_SHOWN = 4
MAX_TERMS_SHOWN = 8
MAX_TIKZ_UNITS = 6

_WEIGHT_LETTERS = {"W": ("W", "w"), "w": ("w", "w"), "theta": (r"\theta", r"\theta")}
_DELTA_LETTERS = {"delta": (r"\Delta", r"\delta"), "epsilon": (r"\mathcal{E}", r"\varepsilon")}
_MATRIX_NAME = re.compile(r"^(W|b|Z|A|Delta|G|dW|db)(\d+)$")
_SCALAR_NAME = re.compile(r"^(W|b|z|a|delta)(\d+)_(\d+)(?:_(\d+))?$")


def _negative(term) -> bool:
    """Whether a term prints with a leading minus (−η ∂C/∂W is a MatMul whose coefficient is −η)."""
    if isinstance(term, sp.MatMul):
        return term.args[0].could_extract_minus_sign()
    return term.could_extract_minus_sign()


def _natural_key(term) -> list:
    """Sort key reading digit runs as numbers, so unit 2 comes before unit 10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", sp.sstr(term))]


class Names:
    """How the notation spells each kind of symbol (LaTeX strings)."""

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


class NotationPrinter(LatexPrinter):
    """Prints a derivation's expressions with the spec's notation.

    ``values`` maps symbols (or matrix symbols) to LaTeX to print in their place:
    a worked solution substitutes numbers this way, and products then get an
    explicit ``\\cdot`` so two numbers never sit side by side.
    """

    printmethod = "_deltagen_latex"

    def __init__(self, derivation: Derivation, values: dict | None = None, *, per_example: bool = False,
                 **settings) -> None:
        if values:
            settings.setdefault("mul_symbol", "dot")
        settings.setdefault("mat_str", "bmatrix")
        settings.setdefault("mat_delim", "")
        settings.setdefault("long_frac_ratio", 1)   # ½ (a − y)², (1/m) Σ ℓ_i: the lectures' way
        super().__init__(settings)
        self.derivation = derivation
        self.values = values or {}
        self.per_example = per_example   # one example: vectors z, a, δ instead of batch matrices Z, A, Δ
        big = max(derivation.network.sizes) >= 10
        self.names = Names(derivation.network.notation, big_index=big)
        self._input = derivation.layer_number(0)

    def _as_ordered_terms(self, expr, order=None):
        """Terms in SymPy's order, but those without a minus sign first: 1 − a, W − η ∂C/∂W.

        Long sums (units numbered past 9) go in natural order: w_{1,2} x_2 before w_{1,10} x_{10}.
        """
        terms = super()._as_ordered_terms(expr, order)
        if len(terms) > 9:
            terms = sorted(terms, key=_natural_key)
        return [t for t in terms if not _negative(t)] + [t for t in terms if _negative(t)]

    def _print_Add(self, expr, order=None):
        terms = self._as_ordered_terms(expr, order=order)
        if len(terms) > MAX_TERMS_SHOWN:   # a sum over many units: its first terms, ⋯, its last two
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

    # ---------------------------------------------------------------- symbols
    def _print_Symbol(self, expr, style="plain"):
        if expr in self.values:
            return self.values[expr]
        name = self._scalar_name(expr.name)
        return name if name is not None else super()._print_Symbol(expr, style)

    def _scalar_name(self, name: str) -> str | None:
        n = self.names
        if name.startswith(("x_", "y_")) and name[2:].isdigit():
            return n.scalar(name[0], None, name[2:])
        match = _SCALAR_NAME.match(name)
        if not match:
            return None
        kind, number, first, second = match.groups()
        if kind == "W" and second is not None:
            return n.weight_entry(number, first, second)
        letter = {"b": "b", "z": "z", "a": "a", "delta": n.delta_letter}[kind]
        return n.scalar(letter, number, first)

    def _matrix_name(self, expr, transpose: bool) -> str | None:
        """A matrix symbol's name, with ᵀ inside the superscript; None if it is not one of ours."""
        if expr == LOSS_ROW:
            return r"\ell^{\top}" if transpose else r"\ell"
        match = _MATRIX_NAME.match(expr.name)
        if not match:
            return None
        kind, number = match.groups()
        n = self.names
        if kind in ("W", "dW") and n.transposed:
            transpose = not transpose     # the displayed W is the code's Wᵀ
        if kind == "dW":
            label = n.partial(n.cost, n.matrix(n.weight_matrix_letter, number))
            return rf"\left({label}\right)^{{\top}}" if transpose else label
        if kind == "db":
            label = n.partial(n.cost, n.matrix("b", number))
            return rf"\left({label}\right)^{{\top}}" if transpose else label
        letters = {"W": n.weight_matrix_letter, "b": "b", "Z": "Z", "A": "A",
                   "Delta": n.delta_matrix_letter, "G": "G"}
        if self.per_example:
            letters.update(Z="z", A="a", Delta=n.delta_letter)
        letter = letters[kind]
        return n.matrix(letter, number, transpose)

    def _print_MatrixSymbol(self, expr, style="plain"):
        if expr in self.values:
            return self.values[expr]
        if expr.name == ONES:
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


# ------------------------------------------------------------------ helpers

def activation_call(derivation: Derivation, index: int, argument: str, unit: int | None = None) -> str:
    """``σ(z)``, ``tanh(z)``, … — the name of layer ``index``'s activation applied to ``argument``."""
    activation = derivation.network.layers[index - 1].activation
    names = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{relu}",
             "leaky_relu": r"\operatorname{lrelu}", "identity": ""}
    if activation.is_softmax:
        sub = f"_{{{unit}}}" if unit is not None else ""
        return rf"\operatorname{{softmax}}{sub}\left({argument}\right)"
    if activation.is_custom:
        return rf"g_{{{derivation.layer_number(index)}}}\left({argument}\right)"
    name = names[activation.name]
    return rf"{name}\left({argument}\right)" if name else argument


def elementwise_matrix(expr: sp.Expr, mapping: dict[sp.Symbol, sp.MatrixExpr], shape) -> sp.MatrixExpr | None:
    """The elementwise (batch) form of a one-unit expression: a → A, y → Y, products → ⊙.

    ``a(1 − a)`` becomes ``A ⊙ (1 − A)``. Returns None when the expression mixes units or
    applies a function (log, exp, …) that has no plain matrix spelling.
    """
    ones = sp.MatrixSymbol(ONES, *shape)

    def lift(e):
        if e in mapping:
            return mapping[e]
        if e.is_Number:
            return e * ones
        if isinstance(e, sp.Add):
            parts = [lift(t) for t in e.args]
            return None if any(p is None for p in parts) else sp.MatAdd(*parts)
        if isinstance(e, sp.Mul):
            coefficient, factors = e.as_coeff_mul()
            parts = [lift(f) for f in factors]
            if any(p is None for p in parts):
                return None
            product = parts[0] if len(parts) == 1 else HadamardProduct(*parts)
            return product if coefficient == 1 else coefficient * product
        if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp > 0:
            base = lift(e.base)
            return None if base is None else HadamardPower(base, e.exp)
        return None

    return lift(expr)


# ------------------------------------------------------------------ the equations

class DerivationLatex:
    """The derivation's equations as LaTeX lines (``left & = right``), grouped by topic."""

    def __init__(self, derivation: Derivation) -> None:
        self.d = derivation
        self.p = NotationPrinter(derivation)
        self.n = self.p.names
        self.net = derivation.network

    def tex(self, expr) -> str:
        return self.p.doprint(expr)

    def number(self, index: int) -> int:
        return self.d.layer_number(index)

    def _units(self, count: int) -> list[int | None]:
        """0-based units to show; None marks an elision (⋮)."""
        if count <= MAX_UNITS_SHOWN:
            return list(range(count))
        return [0, 1, None, count - 1]

    # -- forward
    def forward_index(self, index: int) -> list[str]:
        d, lines = self.d, []
        s = d.symbols(index)
        z_exprs, a_exprs = d.z_index(index), d.a_index(index)
        for j in self._units(len(s.z)):
            if j is None:
                lines.append(r"& \;\;\vdots")
                continue
            z_name = self.tex(s.z[j])
            lines.append(f"{z_name} & = {self.tex(z_exprs[j])}")
            call = activation_call(d, index, z_name, j + 1)
            a_expr = self.tex(a_exprs[j])
            right = a_expr if call == z_name else f"{call} = {a_expr}"
            lines.append(f"{self.tex(s.a[j])} & = {right}")
        return lines

    def forward_matrix(self, index: int) -> list[str]:
        forms = self.d.matrix(index)
        z_line = f"{self.tex(forms.Z)} & = {self.tex(forms.z_expr)}"
        call = activation_call(self.d, index, self.tex(forms.Z))
        return [z_line, f"{self.tex(forms.A)} & = {call}"]

    # -- cost
    def cost(self) -> list[str]:
        return [f"{ELL} & = {self.tex(self.d.loss)}",
                f"{self.n.cost} & = {self.tex(self.d.cost_matrix_expr(LOSS_ROW))}"]

    # -- activation derivatives
    def derivatives(self) -> list[str]:
        lines, seen = [], set()
        for index, layer in enumerate(self.net.layers, start=1):
            activation = layer.activation
            if activation.is_softmax or activation.name in seen:
                continue
            seen.add(activation.name)
            name = activation_call(self.d, index, "z") if activation.name != "identity" else "g(z)"
            prime = name.replace(r"\left(z\right)", r"'\left(z\right)", 1) if name != "g(z)" else "g'(z)"
            plain, lecture = activation.derivative, activation.lecture_derivative
            right = self.tex(plain)
            if lecture != plain:
                right += f" = {self.tex(lecture)}"
            lines.append(f"{prime} & = {right}")
        return lines

    def derivatives_with_a(self) -> bool:
        """Whether some activation's derivative is written through its output a = g(z)."""
        return any(GENERIC_A in layer.activation.lecture_derivative.free_symbols
                   for layer in self.net.layers if not layer.activation.is_softmax)

    # -- output δ
    def output_delta_index(self) -> list[str]:
        d, n = self.d, self.n
        s = d.symbols(d.L)
        dl_da, J = d.loss_gradient, d.output_jacobian
        lines = []
        softmax = self.net.layers[-1].activation.is_softmax
        for k in self._units(len(s.z)):
            if k is None:
                lines.append(r"& \;\;\vdots")
                continue
            delta = self.tex(s.delta[k])
            z = self.tex(s.z[k])
            js = self._units(len(s.a)) if softmax else [k]
            chain = " + ".join(r"\cdots" if j is None else
                               f"{n.partial(ELL, self.tex(s.a[j]))} {n.partial(self.tex(s.a[j]), z)}" for j in js)
            products = " + ".join(r"\cdots" if j is None else
                                  rf"\left({self.tex(dl_da[j])}\right) \left({self.tex(J[j, k])}\right)" for j in js)
            lines.append(f"{delta} & = {n.partial(ELL, z)} = {chain}")
            lines.append(f"& = {products}")
            lines.append(f"& = {self.tex(d.output_delta[k])}")
        return lines

    def output_delta_short(self) -> list[str]:
        """δ_k^[L] = its simplified formula, one line per shown unit."""
        s = self.d.symbols(self.d.L)
        return [r"& \;\;\vdots" if k is None else f"{self.tex(s.delta[k])} & = {self.tex(self.d.output_delta[k])}"
                for k in self._units(len(s.z))]

    def output_is_a_minus_y(self) -> bool:
        s = self.d.symbols(self.d.L)
        return all(sp.expand(e - (s.a[k] - self.d.y[k])) == 0 for k, e in enumerate(self.d.output_delta))

    def output_delta_matrix(self) -> str | None:
        """Δ^[L] in batch form when every unit's δ is the same elementwise formula, else None."""
        d = self.d
        s = d.symbols(d.L)
        n_out = len(s.z)
        forms = d.matrix(d.L)
        Y = sp.MatrixSymbol("Y", n_out, M)
        lifted = []
        for k, expr in enumerate(d.output_delta):
            mapping = {s.a[k]: forms.A, s.z[k]: forms.Z, d.y[k]: Y}
            if expr.free_symbols - set(mapping):
                return None
            lifted.append(elementwise_matrix(expr, mapping, (n_out, M)))
        if any(m is None for m in lifted) or any(m != lifted[0] for m in lifted):
            return None
        return f"{self.tex(forms.Delta)} & = {self.tex(lifted[0])}"

    # -- hidden δ
    def hidden_delta_index(self, index: int) -> list[str]:
        d = self.d
        s = d.symbols(index)
        factors = d.delta_factors(index)
        lines = []
        for j in self._units(len(s.z)):
            if j is None:
                lines.append(r"& \;\;\vdots")
                continue
            derivative, back_sum = factors[j]
            lines.append(rf"{self.tex(s.delta[j])} & = {self.tex(derivative)} \left({self.tex(back_sum)}\right)")
        return lines

    def hidden_delta_matrix(self, index: int) -> list[str]:
        d = self.d
        forms = d.matrix(index)
        lines = [f"{self.tex(forms.Delta)} & = {self.tex(forms.delta_expr)}"]
        derivative = d.hidden_derivative(index)
        lifted = elementwise_matrix(derivative, {GENERIC_A: forms.A, GENERIC_Z: forms.Z},
                                    (self.net.sizes[index], M))
        call = activation_call(d, index, self.tex(forms.Z))
        if lifted is not None:
            lines.append(f"{self.tex(forms.G)} & = {self.tex(lifted)}")
        else:
            prime = call.replace(r"\left(", r"'\left(", 1) if call != self.tex(forms.Z) else "g'"
            lines.append(f"{self.tex(forms.G)} & = {prime}")
        return lines

    # -- gradients
    def gradient_index(self, index: int) -> list[str]:
        d, n = self.d, self.n
        number = self.number(index)
        grad = d.grad_W_index(index)
        if n.transposed:
            grad = grad.T
        W_label = n.partial(ELL, n.matrix(n.weight_matrix_letter, number))
        lines = []
        if grad.rows <= MAX_UNITS_SHOWN and grad.cols <= MAX_UNITS_SHOWN:
            lines.append(f"{W_label} & = {self.tex(grad)}")
        else:   # one entry stands for all
            entry = n.weight_entry(number, 1, 1)
            lines.append(f"{n.partial(ELL, entry)} & = {self.tex(d.grad_W_index(index)[0, 0])}")
        b_exprs = d.grad_b_index(index)
        if b_exprs is not None:
            b_label = n.partial(ELL, n.matrix("b", number))
            if len(b_exprs) <= MAX_UNITS_SHOWN:
                lines.append(f"{b_label} & = {self.tex(sp.Matrix(b_exprs))}")
            else:
                lines.append(f"{n.partial(ELL, n.scalar('b', number, 1))} & = {self.tex(b_exprs[0])}")
        return lines

    def gradient_matrix(self, index: int) -> list[str]:
        forms = self.d.matrix(index)
        number = self.number(index)
        dW = sp.MatrixSymbol(f"dW{number}", *forms.W.shape)
        dW_expr = forms.dW_expr
        if self.n.transposed:   # the displayed ∂C/∂W is the transpose of the code's
            dW, dW_expr = dW.T, sp.Transpose(dW_expr).doit()
        lines = [f"{self.tex(dW)} & = {self.tex(dW_expr)}"]
        if forms.db_expr is not None:
            db = sp.MatrixSymbol(f"db{number}", *forms.b.shape)
            lines.append(f"{self.tex(db)} & = {self.tex(forms.db_expr)}")
        return lines

    def updates(self) -> list[str]:
        lines = []
        for index in range(1, self.d.L + 1):
            forms = self.d.matrix(index)
            number = self.number(index)
            pairs = [(forms.W, sp.MatrixSymbol(f"dW{number}", *forms.W.shape))]
            if forms.b is not None:
                pairs.append((forms.b, sp.MatrixSymbol(f"db{number}", *forms.b.shape)))
            for param, grad in pairs:
                if self.n.transposed and param == forms.W:
                    param, grad = param.T, grad.T
                lines.append(rf"{self.tex(param)} & \leftarrow {self.tex(self.d.update_expr(param, grad, ETA))}")
        return lines


# ------------------------------------------------------------------ TikZ

def tikz_network(derivation: Derivation, words_: dict[str, str]) -> str:
    """A drawing of the network: one column per layer, one circle per unit, the weights on the edges."""
    d = derivation
    printer = NotationPrinter(d)
    sizes = d.network.sizes
    labelled = max(sizes) <= 4 and all(sizes[i] * sizes[i - 1] <= 9 for i in range(1, len(sizes)))
    x_step, y_step = 3.6, 2.0
    lines = [r"\begin{tikzpicture}[unit/.style={circle, draw, minimum size=11mm, inner sep=0pt},"
             r" weight/.style={font=\scriptsize, fill=white, inner sep=1pt}, >=stealth]"]

    def shown(count: int) -> list[int | None]:
        return list(range(count)) if count <= MAX_TIKZ_UNITS else [0, 1, 2, None, count - 2, count - 1]

    tallest = max(len(shown(count)) for count in sizes)
    bottom = -((tallest - 1) / 2) * y_step - 1.0   # one line of captions under the tallest column
    for layer, count in enumerate(sizes):
        units = shown(count)
        for row, unit in enumerate(units):
            y = ((len(units) - 1) / 2 - row) * y_step
            node = f"n{layer}x{'dots' if unit is None else unit}"
            if unit is None:
                lines.append(rf"\node ({node}) at ({layer * x_step:.2f},{y:.2f}) {{$\vdots$}};")
                continue
            symbol = d.x[unit] if layer == 0 else d.symbols(layer).a[unit]
            lines.append(rf"\node[unit] ({node}) at ({layer * x_step:.2f},{y:.2f}) {{${printer.doprint(symbol)}$}};")
        kind = "input_layer" if layer == 0 else ("output_layer" if layer == len(sizes) - 1 else "hidden_layer")
        caption = words_[kind].format(number=d.layer_number(layer))
        lines.append(rf"\node[font=\small] at ({layer * x_step:.2f},{bottom:.2f}) {{{caption}}};")
    for layer in range(1, len(sizes)):
        weights = d.symbols(layer).W
        targets, sources = shown(sizes[layer]), shown(sizes[layer - 1])
        for j in targets:
            for k in sources:
                if j is None or k is None:
                    continue
                edge = rf"\draw[->] (n{layer - 1}x{k}) -- (n{layer}x{j})"
                if labelled:
                    # near the source, where the edges leaving one unit are still apart
                    edge += rf" node[weight, pos=0.27] {{${printer.doprint(weights[j, k])}$}}"
                lines.append(edge + ";")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


# ------------------------------------------------------------------ documents

def _plain(value: float) -> str:
    """A spec number as written (``0.01``, not ``0.0100000000000000``)."""
    return repr(float(value)).removesuffix(".0")


def _format_sizes(sizes) -> str:
    return "\\text{--}".join(str(s) for s in sizes)


def derivation_document(derivation: Derivation, lang: str = "en", *, report: ProofReport | None = None) -> str:
    """The complete LaTeX document of the derivation (compiles with pdflatex; no dates, so it is reproducible).

    ``report`` is the derivation's ``ProofReport`` (``deltagen.prove``); without one the document
    has no proof section. The document never runs the proof itself.
    """
    w = words(lang)
    d, net = derivation, derivation.network
    eq = DerivationLatex(d)
    n = eq.n
    doc = LatexDocument(w["derivation_title"].format(name=LatexDocument.code(net.name)), tikz=True)

    # the network and its notation
    doc.section(w["network"])
    layers = "; ".join(
        w["layer_item"].format(number=d.layer_number(i), units=layer.units,
                               unit_word=w["unit"] if layer.units == 1 else w["units"],
                               activation=doc.code(layer.activation.name),
                               bias=w["with_bias"] if layer.bias else w["without_bias"])
        for i, layer in enumerate(net.layers, start=1))
    l2 = w["l2_term"].format(l2=f"${sp.latex(LAMBDA)} = {_plain(net.l2)}$") if net.l2 else w["no_l2"]
    doc.paragraph(w["network_summary"].format(sizes=f"${_format_sizes(net.sizes)}$", layers=layers,
                                              loss=doc.code(net.loss.name),
                                              reduction=w["reduction_" + net.reduction], l2=l2))
    input_number = d.layer_number(0)
    doc.paragraph(w["notation_layers"].format(a0=f"${n.scalar('a', input_number)} = x$", first=input_number,
                                              L=d.layer_number(d.L)))
    W_first = n.matrix(n.weight_matrix_letter, d.layer_number(1))
    entry = n.weight_entry(d.layer_number(1), "j", "k")
    first_layer = eq.forward_matrix(1)[0].replace("&", "")
    key = "notation_transposed" if n.transposed else "notation_standard"
    doc.paragraph(w[key].format(z=f"${first_layer}$", W=f"${W_first}$", entry=f"${entry}$"))
    doc.figure(tikz_network(d, w), w["figure_caption"])

    # forward pass
    doc.section(w["forward"])
    doc.paragraph(w["forward_intro"])
    for index in range(1, d.L + 1):
        doc.subsection(w["layer"].format(number=d.layer_number(index)))
        doc.equations(eq.forward_index(index))
        doc.paragraph(w["matrix_form"])
        doc.equations(eq.forward_matrix(index))

    # cost
    doc.section(w["cost"])
    doc.paragraph(w["cost_intro"].format(C=f"${n.cost}$"))
    doc.equations(eq.cost())

    # activation derivatives
    derivative_lines = eq.derivatives()
    if derivative_lines:
        doc.section(w["derivatives"])
        doc.paragraph(w["derivatives_intro"] + (" " + w["derivatives_through_a"] if eq.derivatives_with_a() else ""))
        doc.equations(derivative_lines)

    # output δ
    L_sup = f"${n.scalar(n.delta_letter, d.layer_number(d.L))}$"
    doc.section(w["output_delta"].format(delta=L_sup))
    doc.paragraph(w["output_delta_intro"])
    doc.equations(eq.output_delta_index())
    if eq.output_is_a_minus_y():
        doc.paragraph(w["canonical"])
    matrix_line = eq.output_delta_matrix()
    if matrix_line is not None:
        doc.paragraph(w["matrix_form_batch"])
        doc.equations([matrix_line])
    else:
        doc.paragraph(w["output_delta_columns"].format(
            Delta=f"${eq.tex(d.matrix(d.L).Delta)}$", delta=L_sup))

    # hidden δ
    if d.L > 1:
        doc.section(w["recurrence"])
        doc.paragraph(w["recurrence_intro"])
        for index in range(d.L - 1, 0, -1):
            doc.subsection(w["layer"].format(number=d.layer_number(index)))
            doc.equations(eq.hidden_delta_index(index))
            doc.paragraph(w["matrix_form_batch_hadamard"])
            doc.equations(eq.hidden_delta_matrix(index))

    # gradients
    doc.section(w["gradients"])
    doc.paragraph(w["gradients_intro"])
    for index in range(d.L, 0, -1):
        doc.subsection(w["layer"].format(number=d.layer_number(index)))
        doc.equations(eq.gradient_index(index))
        doc.paragraph(w["gradients_matrix"].format(c=f"${eq.tex(d.reduction_factor)}$"))
        doc.equations(eq.gradient_matrix(index))

    doc.section(w["update"])
    doc.paragraph(w["update_intro"])
    doc.equations(eq.updates())

    if report is not None:
        doc.section(w["proof"])
        doc.paragraph(w["proof_intro"])
        kinds = w["proof_kinds_both"] if report.end_to_end else w["proof_kinds_local"]
        identities = sum(i.count for i in report.identities)
        if report.ok:
            doc.paragraph(w["proof_ok"].format(count=report.n_params, identities=identities, kinds=kinds))
        else:
            doc.paragraph(w["proof_failed"].format(failed=len(report.failed), total=len(report.identities),
                                                   kinds=kinds))
    return doc.render()


def derivation_math(derivation: Derivation) -> str:
    """Display math for a notebook (``deltagen.math``): matrix forms of the forward and backward pass."""
    d = derivation
    eq = DerivationLatex(d)
    lines: list[str] = []
    for index in range(1, d.L + 1):
        lines += eq.forward_matrix(index)
    lines += eq.cost()
    output = eq.output_delta_matrix()
    lines += [output] if output is not None else eq.output_delta_short()
    for index in range(d.L - 1, 0, -1):
        lines += eq.hidden_delta_matrix(index)
    for index in range(d.L, 0, -1):
        lines += eq.gradient_matrix(index)
    return "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$"
