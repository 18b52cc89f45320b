"""A worked numeric solution of a spec's ``[example]``, as LaTeX or Markdown.

In the order a student computes them: for each example the forward pass (z, a)
and its loss; the cost; for each example the errors δ (output layer first) and
the gradients of its loss; the gradients of the cost (the batch reduction, mean
or sum, plus L2); the parameters after one gradient step. Each step shows the
derivation's expression, the same expression with the numbers substituted, and
the result rounded to ``digits`` significant digits. The numbers come from
``deltagen.derive.evaluation`` (unrounded from step to step), the formulas from the
derivation through ``NotationPrinter``.
"""
from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from ..derivation import symbols
from ..derivation.backprop import LAMBDA, M, Derivation
from .document import make_document
from .dropout_section import dropout_solution_note
from ..evaluation import GUARD_DIGITS, Trace, evaluate
from .notation import ELL, ETA, LOSS_ROW, activation_call, as_factor
from .optimizer_step import optimizer_step
from .numerals import DEFAULT_DIGITS, _Numbers
from .printer import NotationPrinter
from .solution_spatial import SpatialSteps, check_spatial
from .layout import Layout
from .words import words


class _Solution:
    """Builds the worked solution of one derivation's example into a document writer."""

    def __init__(self, derivation: Derivation, trace: Trace, fmt: str, lang: str, digits: int) -> None:
        self.d = derivation
        self.trace = trace
        self.w = words(lang)
        self.lang = lang
        self.numbers = _Numbers(digits, lang)
        self.symbolic = NotationPrinter(derivation, lang=lang)
        self.symbolic_one = NotationPrinter(derivation, per_example=True, lang=lang)
        self.names = self.symbolic.names
        self.transposed = self.names.transposed
        self.doc = make_document(fmt, self.w["solution_title"].format(
            name=make_document(fmt, "").code(derivation.network.name)))
        self.layout, self.split_told = Layout(self.w["columns_block"]), False

    # ------------------------------------------------------------- helpers
    def tex(self, expr, values: dict | None = None, per_example: bool = False) -> str:
        if not values:
            return (self.symbolic_one if per_example else self.symbolic).doprint(expr)
        return NotationPrinter(self.d, values, per_example=per_example, lang=self.lang).doprint(expr)

    def result(self, values) -> str:
        """``≈ result`` (or ``= result`` when exact): a matrix for arrays, a number for scalars."""
        array = np.asarray(values, dtype=object)
        shown = self.numbers.result(array.reshape(-1)[0]) if array.size == 1 and array.ndim == 0 else \
            self.layout.matrix(array, self.numbers.result)
        return f"{self.numbers.relation(array)} {shown}"

    def scalar_result(self, value) -> str:
        return f"{self.numbers.relation([value])} {self.numbers.result(value)}"

    def shown_matrix(self, matrix, computed: bool = True) -> str:
        """A placeholder for the matrix, written out (in blocks, if wide) by the layout of its line."""
        write = self.numbers.result if computed else self.numbers.input
        return self.layout.matrix(matrix, write)

    def weight_values(self, layer: int, W, computed: bool = False) -> dict:
        """Values for the matrix symbol W^[l] of layer number ``layer`` (and its transpose), as displayed."""
        forms = self.d.matrix(layer)
        shown = self.shown_matrix(np.asarray(W, dtype=object).T if self.transposed else W, computed)
        if self.transposed:   # the displayed matrix is Wᵀ of the code: z = (shown)ᵀ a + b
            return {forms.W: shown + r"^{\top}", sp.Transpose(forms.W): shown}
        return {forms.W: shown}

    def example_values(self, i: int) -> dict:
        """Index-form symbols → numbers for example ``i`` (inputs exact, computed values rounded)."""
        d, t, n = self.d, self.trace, self.numbers
        values: dict = {}
        put = lambda symbol, text: values.__setitem__(symbol, n.substituted(text))
        for k, x in enumerate(d.x):
            put(x, self.numbers.input(t.X[k, i]))
        for k, y in enumerate(d.y):
            put(y, self.numbers.input(t.Y[k, i]))
        for layer in d.layer_numbers:
            s = d.symbols(layer)
            for j in range(len(s.z)):
                put(s.z[j], n.result(t.z[layer][j, i]))
                put(s.a[j], n.result(t.a[layer][j, i]))
                put(s.delta[j], n.result(t.delta[layer][j, i]))
                if s.b:
                    put(s.b[j], self.numbers.input(t.b[layer][j, 0]))
                for k in range(s.W.cols):
                    put(s.W[j, k], self.numbers.input(t.W[layer][j, k]))
        return values

    def step(self, left: str, symbolic, substituted, result: str, first: str = "=") -> list[str]:
        """The lines of one step: formula, numbers, result (more when wide: ``layout.Layout.step``)."""
        return self.layout.step(left, symbolic, substituted, result, first)

    def define(self, left: str, relation: str, matrix, computed: bool = True) -> list[str]:
        return self.layout.define(left, relation, self.shown_matrix(matrix, computed))

    def equations(self, lines: list[str]) -> None:
        """Display ``lines``; before the first that had to be split, a sentence saying how."""
        if self.layout.take_split() and not self.split_told:
            self.doc.paragraph(self.w["split_note"])
            self.split_told = True
        self.doc.equations(lines)

    # ------------------------------------------------------------- sections
    def given(self) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        doc.section(w["given"])
        doc.paragraph(w["given_intro"])
        lines = []
        for layer in d.layer_numbers:
            forms = d.matrix(layer)
            W = t.W[layer].T if self.transposed else t.W[layer]
            shown_W = forms.W.T if self.transposed else forms.W
            lines += self.define(self.tex(shown_W), "=", W, computed=False)
            if forms.b is not None:
                lines += self.define(self.tex(forms.b), "=", t.b[layer], computed=False)
        lines += self.define("X", "=", t.X, computed=False) + self.define("Y", "=", t.Y, computed=False)
        optimizer = d.network.optimizer
        own_step = optimizer.given and optimizer.kind != "sgd"      # its η and rule come with its own section
        if t.learning_rate is not None and not own_step:
            lines.append(f"{self.tex(ETA)} & = {self.numbers.input(t.learning_rate)}")
        self.equations(lines)
        if t.learning_rate is None and not own_step:
            doc.paragraph(w["given_no_rate"])
        doc.paragraph(w["digits_note"].format(digits=self.numbers.digits))
        note = dropout_solution_note(d, self.lang)
        if note is not None:
            doc.paragraph(note)

    def forward(self, i: int) -> None:
        d, t, doc = self.d, self.trace, self.doc
        doc.section(self.w["forward_example"].format(i=i + 1))
        input_forms = d.matrix(d.first)
        lines = self.define(self.tex(input_forms.A_prev, per_example=True), "= x =", t.X[:, i], computed=False)
        for layer in d.layer_numbers:
            forms = d.matrix(layer)
            values = {forms.A_prev: self.shown_matrix(t.a[layer - 1][:, i], computed=layer > d.first)}
            values.update(self.weight_values(layer, t.W[layer]))
            if forms.b is not None:
                values[forms.b] = self.shown_matrix(t.b[layer], computed=False)
            lines += self.step(self.tex(forms.Z, per_example=True), self.tex(forms.z_expr, per_example=True),
                               self.tex(forms.z_expr, values, per_example=True), self.result(t.z[layer][:, i]))
            z_name = self.tex(forms.Z, per_example=True)
            call = activation_call(d, layer, z_name)
            numbers = activation_call(d, layer, self.shown_matrix(t.z[layer][:, i]))
            lines += self.step(self.tex(forms.A, per_example=True), call, numbers, self.result(t.a[layer][:, i]))
        self.equations(lines)
        doc.paragraph(self.w["loss_example"].format(i=i + 1))
        self.equations(self.step(f"{ELL}_{{{i + 1}}}", self.tex(d.loss), self.tex(d.loss, self.example_values(i)),
                                self.scalar_result(t.loss[i])))

    def cost(self) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        doc.section(w["total_cost"])
        m = t.m
        doc.paragraph(w[f"total_cost_{d.network.reduction}"].format(m=m))
        losses = " + ".join(self.numbers.substituted(self.numbers.result(v)) for v in t.loss)
        values = {LOSS_ROW: rf"\left({losses}\right)" if m > 1 else self.numbers.result(t.loss[0]), M: str(m)}
        if d.l2 != 0:
            values[LAMBDA] = self.numbers.input(d.network.l2)
            for layer in d.layer_numbers:
                values.update(self.weight_values(layer, t.W[layer]))
        expr = d.cost_matrix_expr(LOSS_ROW)
        self.equations(self.step(self.names.cost, self.tex(expr), self.tex(expr, values),
                                self.scalar_result(t.cost)))

    def backward(self, i: int) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        doc.section(w["backward_example"].format(i=i + 1))
        values = self.example_values(i)
        doc.paragraph(w["output_error"])
        s = d.symbols(d.last)
        lines = []
        for k, expr in enumerate(d.output_delta):
            lines += self.step(self.tex(s.delta[k]), self.tex(expr), self.tex(expr, values),
                               self.scalar_result(t.delta[d.last][k, i]))
        self.equations(lines)
        for layer in reversed(d.layer_numbers[:-1]):
            doc.paragraph(w["hidden_error"].format(number=layer))
            s = d.symbols(layer)
            lines = []
            for j, (derivative, back_sum) in enumerate(d.delta_factors(layer)):
                symbolic = rf"{as_factor(derivative, self.tex(derivative))} \left({self.tex(back_sum)}\right)"
                numbers = rf"{as_factor(derivative, self.tex(derivative, values))} \cdot " \
                          rf"\left({self.tex(back_sum, values)}\right)"
                lines += self.step(self.tex(s.delta[j]), symbolic, numbers, self.scalar_result(t.delta[layer][j, i]))
            self.equations(lines)
        doc.paragraph(w["example_gradients"].format(i=i + 1))
        lines = []
        loss_i = f"{ELL}_{{{i + 1}}}"
        for layer in reversed(d.layer_numbers):
            grad, value = d.grad_W_index(layer), t.dW_example[layer][i]
            if self.transposed:
                grad, value = grad.T, value.T
            label = self.names.partial(loss_i, self.names.matrix(self.names.weight_matrix_letter, layer))
            lines += self.step(label, lambda cols, g=grad: self.tex(g[:, cols]),   # a matrix of entries: cut
                               lambda cols, g=grad: self.tex(g[:, cols], values), self.result(value))
            b_exprs = d.grad_b_index(layer)
            if b_exprs is not None:
                label = self.names.partial(loss_i, self.names.matrix("b", layer))
                column = sp.Matrix(b_exprs)
                lines += self.step(label, self.tex(column), self.tex(column, values),
                                   self.result(t.db_example[layer][i]))
        self.equations(lines)

    def batch_gradients(self) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        doc.section(w["batch_gradients"])
        single = t.m == 1 and d.l2 == 0
        doc.paragraph(w["batch_gradients_single"] if single else
                      w[f"batch_gradients_{d.network.reduction}"].format(m=t.m))
        if d.l2 != 0:
            W = d.matrix(d.first).W
            doc.paragraph(w["batch_gradients_l2"].format(term=f"${self.tex(d.l2 * W)}$"))
        lines = []
        for layer in reversed(d.layer_numbers):
            forms = d.matrix(layer)
            dW = symbols.matrix("dW", layer, *forms.W.shape)
            dW_expr, value = forms.dW_expr, t.dW[layer]
            if self.transposed:
                dW, dW_expr, value = dW.T, sp.Transpose(dW_expr).doit(), value.T
            previous = t.a[layer - 1]
            values = {forms.Delta: self.shown_matrix(t.delta[layer]),
                      forms.A_prev: self.shown_matrix(previous, computed=layer > d.first),
                      # Aᵀ written out as a matrix (one row per example): narrower than A with a ᵀ
                      sp.Transpose(forms.A_prev): self.shown_matrix(previous.T, computed=layer > d.first),
                      M: str(t.m), LAMBDA: self.numbers.input(d.network.l2)}
            values.update(self.weight_values(layer, t.W[layer]))
            if single:
                lines += self.define(self.tex(dW), self.numbers.relation(value), value)
            else:
                lines += self.step(self.tex(dW), self.tex(dW_expr), self.tex(dW_expr, values), self.result(value))
            if forms.db_expr is not None:
                db = symbols.matrix("db", layer, *forms.b.shape)
                if single:
                    lines += self.define(self.tex(db), self.numbers.relation(t.db[layer]), t.db[layer])
                else:
                    lines += self.step(self.tex(db), self.tex(forms.db_expr), self.tex(forms.db_expr, values),
                                       self.result(t.db[layer]))
        self.equations(lines)

    def updates(self) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        if optimizer_step(self):   # an [optimizer] other than sgd: its first step by hand instead
            return
        if t.learning_rate is None:
            return
        doc.section(w["updated"])
        doc.paragraph(w["updated_intro"].format(eta=f"${self.tex(ETA)} = {self.numbers.input(t.learning_rate)}$"))
        lines = []
        for layer in d.layer_numbers:
            forms = d.matrix(layer)
            dW = symbols.matrix("dW", layer, *forms.W.shape)
            values = {ETA: self.numbers.input(t.learning_rate)}
            values.update(self.weight_values(layer, t.W[layer]))
            param, grad, new, gradient = forms.W, dW, t.W_next[layer], t.dW[layer]
            if self.transposed:
                param, grad, new, gradient = param.T, grad.T, new.T, gradient.T
            values[grad] = self.shown_matrix(gradient)
            update = d.update_expr(param, grad, ETA)
            lines += self.step(self.tex(param), self.tex(update), self.tex(update, values), self.result(new),
                               first=r"\leftarrow")
            if forms.b is not None:
                db = symbols.matrix("db", layer, *forms.b.shape)
                values = {ETA: self.numbers.input(t.learning_rate),
                          forms.b: self.shown_matrix(t.b[layer], computed=False), db: self.shown_matrix(t.db[layer])}
                update = d.update_expr(forms.b, db, ETA)
                lines += self.step(self.tex(forms.b), self.tex(update), self.tex(update, values),
                                   self.result(t.b_next[layer]), first=r"\leftarrow")
        self.equations(lines)

    def build(self) -> str:
        self.given()
        for i in range(self.trace.m):
            self.forward(i)
        self.cost()
        for i in range(self.trace.m):
            self.backward(i)
        self.batch_gradients()
        self.updates()
        return self.doc.render()


def solution_document(derivation: Derivation, *, fmt: str = "latex", lang: str = "en",
                      digits: int = DEFAULT_DIGITS) -> str:
    """The worked solution of the spec's ``[example]`` as a complete LaTeX document or as Markdown.

    ``digits`` (1 to 30) is the number of significant digits shown; the numbers are
    computed in float64, or with mpmath when more than 15 digits are asked for.
    A spec without ``[example]`` is a ``SpecError`` on field ``example``.
    """
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 30:
        raise ValueError(f"--digits: expected an integer from 1 to 30, got {digits!r}")
    words(lang)   # fail on an unknown language before any work
    if derivation.network.has_spatial_layers:   # conv and pool layers: unit by unit (solution_spatial)
        check_spatial(derivation, lang)
        solution = type("_SpatialSolution", (SpatialSteps, _Solution), {})
        return solution(derivation, settled_trace(derivation, digits), fmt, lang, digits).build()
    return _Solution(derivation, settled_trace(derivation, digits), fmt, lang, digits).build()


def settled_trace(derivation: Derivation, digits: int) -> Trace:
    """The example's numbers, with what is only rounding noise shown as the 0 it is.

    Computed with mpmath at ``digits + GUARD_DIGITS`` digits and again at twice that:
    a value that does not survive the change of precision is what remains of a
    cancellation (lecture_and's ∂C/∂W is σ(−5) + σ(5) − 1 = 0, which float64 gives as
    ~10⁻¹⁷), and is set to 0.
    """
    precision = digits + GUARD_DIGITS
    trace = evaluate(derivation, digits=precision)
    check = evaluate(derivation, digits=2 * precision)
    tolerance = mpmath.mpf(10) ** -(digits + 3)

    def settle(value, reference):
        if value is None:
            return None
        if isinstance(value, dict):
            return {key: settle(value[key], reference[key]) for key in value}
        if isinstance(value, np.ndarray):
            out = value.copy()
            for index in np.ndindex(value.shape):
                out[index] = settle(value[index], reference[index])
            return out
        return value if abs(value - reference) <= tolerance * abs(reference) else mpmath.mpf(0)

    for name in ("z", "a", "loss", "cost", "delta", "dW", "db", "W_next", "b_next", "dW_example", "db_example"):
        setattr(trace, name, settle(getattr(trace, name), getattr(check, name)))
    return trace
