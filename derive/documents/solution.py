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

import math
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..derivation import symbols
from ..derivation.backprop import LAMBDA, M, Derivation
from .document import make_document
from ..evaluation import GUARD_DIGITS, Trace, evaluate
from .notation import ELL, ETA, LOSS_ROW, activation_call, as_factor
from .printer import NotationPrinter
from .words import words

DEFAULT_DIGITS = 4


def format_number(value: Any, digits: int = DEFAULT_DIGITS) -> str:
    """``value`` to ``digits`` significant digits, as LaTeX: 0.9526, 0.9820, -5.896 \\cdot 10^{-5}.

    Trailing zeros are kept when the value was rounded (0.9820 is 0.98201…) and
    dropped when it is shown exactly (0.5, 3).
    """
    if isinstance(value, mpmath.mpf):
        # the same switch to scientific notation as Python's "g": exponent < -4 or >= digits
        full = mpmath.nstr(value, digits, strip_zeros=False, min_fixed=-5, max_fixed=digits)
    else:
        full = f"{float(value):#.{digits}g}"
    mantissa, _, exponent = full.partition("e")
    stripped = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    exact = _same(stripped + (f"e{exponent}" if exponent else ""), value, digits)
    mantissa = stripped if exact else mantissa.rstrip(".")
    if mantissa in ("-0", "", "0.", "-0."):
        mantissa = "0"
    if exponent:
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return mantissa


def _same(text: str, value: Any, digits: int) -> bool:
    """Whether the decimal ``text`` is ``value`` up to rounding noise (0.4 − 0.1 shows as 0.3, exactly).

    mpmath values are computed with 10 digits more than the ``digits`` shown.
    """
    if isinstance(value, mpmath.mpf):
        with mpmath.workdps(digits + 10):
            return abs(mpmath.mpf(text) - value) <= mpmath.mpf(10) ** -(digits + 5) * abs(value)
    return math.isclose(float(text), float(value), rel_tol=1e-12, abs_tol=1e-300)


def format_input(value: Any) -> str:
    """A number given in the spec, as written there (exactly: 0.1, -10, 0.25)."""
    number = float(value)
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    text = repr(number)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return text


class _Numbers:
    """How one solution writes numbers: inputs exactly, results to ``digits`` significant digits."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def result(self, value) -> str:
        return format_number(value, self.digits)

    def is_exact(self, values) -> bool:
        """Whether every value is shown exactly, so ``=`` rather than ``≈``."""
        for value in np.asarray(values, dtype=object).reshape(-1):
            shown = format_number(value, self.digits).replace(r" \cdot 10^{", "e").rstrip("}")
            if not _same(shown, value, self.digits):
                return False
        return True

    def relation(self, values) -> str:
        return "=" if self.is_exact(values) else r"\approx"

    @staticmethod
    def substituted(text: str) -> str:
        """A number inside a formula: negative ones in parentheses, so 1 − (−0.5) reads right."""
        return rf"\left({text}\right)" if text.startswith("-") else text


def bmatrix(array, write) -> str:
    """A matrix (or column) of numbers as a LaTeX bmatrix, each entry written by ``write``."""
    rows = np.asarray(array, dtype=object)
    if rows.ndim == 1:
        rows = rows.reshape(-1, 1)
    body = r" \\ ".join(" & ".join(write(v) for v in row) for row in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


class _Solution:
    """Builds the worked solution of one derivation's example into a document writer."""

    def __init__(self, derivation: Derivation, trace: Trace, fmt: str, lang: str, digits: int) -> None:
        self.d = derivation
        self.trace = trace
        self.w = words(lang)
        self.numbers = _Numbers(digits)
        self.symbolic = NotationPrinter(derivation)
        self.symbolic_one = NotationPrinter(derivation, per_example=True)
        self.names = self.symbolic.names
        self.transposed = self.names.transposed
        self.doc = make_document(fmt, self.w["solution_title"].format(
            name=make_document(fmt, "").code(derivation.network.name)))

    # ------------------------------------------------------------- helpers
    def tex(self, expr, values: dict | None = None, per_example: bool = False) -> str:
        if not values:
            return (self.symbolic_one if per_example else self.symbolic).doprint(expr)
        return NotationPrinter(self.d, values, per_example=per_example).doprint(expr)

    def result(self, values) -> str:
        """``≈ result`` (or ``= result`` when exact): a matrix for arrays, a number for scalars."""
        array = np.asarray(values, dtype=object)
        shown = self.numbers.result(array.reshape(-1)[0]) if array.size == 1 and array.ndim == 0 else \
            bmatrix(array, self.numbers.result)
        return f"{self.numbers.relation(array)} {shown}"

    def scalar_result(self, value) -> str:
        return f"{self.numbers.relation([value])} {self.numbers.result(value)}"

    def shown_matrix(self, matrix, computed: bool = True) -> str:
        write = self.numbers.result if computed else format_input
        return bmatrix(matrix, write)

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
            put(x, format_input(t.X[k, i]))
        for k, y in enumerate(d.y):
            put(y, format_input(t.Y[k, i]))
        for layer in d.layer_numbers:
            s = d.symbols(layer)
            for j in range(len(s.z)):
                put(s.z[j], n.result(t.z[layer][j, i]))
                put(s.a[j], n.result(t.a[layer][j, i]))
                put(s.delta[j], n.result(t.delta[layer][j, i]))
                if s.b:
                    put(s.b[j], format_input(t.b[layer][j, 0]))
                for k in range(s.W.cols):
                    put(s.W[j, k], format_input(t.W[layer][j, k]))
        return values

    def step(self, left: str, symbolic: str, substituted: str, result: str) -> list[str]:
        """The three lines of one step: formula, numbers, result."""
        return [f"{left} & = {symbolic}", f"& = {substituted}", f"& {result}"]

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
            lines.append(f"{self.tex(shown_W)} & = {self.shown_matrix(W, computed=False)}")
            if forms.b is not None:
                lines.append(f"{self.tex(forms.b)} & = {self.shown_matrix(t.b[layer], computed=False)}")
        lines.append(f"X & = {self.shown_matrix(t.X, computed=False)}")
        lines.append(f"Y & = {self.shown_matrix(t.Y, computed=False)}")
        if t.learning_rate is not None:
            lines.append(f"{self.tex(ETA)} & = {format_input(t.learning_rate)}")
        doc.equations(lines)
        if t.learning_rate is None:
            doc.paragraph(w["given_no_rate"])
        doc.paragraph(w["digits_note"].format(digits=self.numbers.digits))

    def forward(self, i: int) -> None:
        d, t, doc = self.d, self.trace, self.doc
        doc.section(self.w["forward_example"].format(i=i + 1))
        input_forms = d.matrix(d.first)
        lines = [f"{self.tex(input_forms.A_prev, per_example=True)} & = x = "
                 f"{self.shown_matrix(t.X[:, i], computed=False)}"]
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
        doc.equations(lines)
        doc.paragraph(self.w["loss_example"].format(i=i + 1))
        doc.equations(self.step(f"{ELL}_{{{i + 1}}}", self.tex(d.loss), self.tex(d.loss, self.example_values(i)),
                                self.scalar_result(t.loss[i])))

    def cost(self) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        doc.section(w["total_cost"])
        m = t.m
        doc.paragraph(w[f"total_cost_{d.network.reduction}"].format(m=m))
        losses = " + ".join(self.numbers.substituted(self.numbers.result(v)) for v in t.loss)
        values = {LOSS_ROW: rf"\left({losses}\right)" if m > 1 else self.numbers.result(t.loss[0]), M: str(m)}
        if d.l2 != 0:
            values[LAMBDA] = format_input(d.network.l2)
            for layer in d.layer_numbers:
                values.update(self.weight_values(layer, t.W[layer]))
        expr = d.cost_matrix_expr(LOSS_ROW)
        doc.equations(self.step(self.names.cost, self.tex(expr), self.tex(expr, values),
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
        doc.equations(lines)
        for layer in reversed(d.layer_numbers[:-1]):
            doc.paragraph(w["hidden_error"].format(number=layer))
            s = d.symbols(layer)
            lines = []
            for j, (derivative, back_sum) in enumerate(d.delta_factors(layer)):
                symbolic = rf"{as_factor(derivative, self.tex(derivative))} \left({self.tex(back_sum)}\right)"
                numbers = rf"{as_factor(derivative, self.tex(derivative, values))} \cdot " \
                          rf"\left({self.tex(back_sum, values)}\right)"
                lines += self.step(self.tex(s.delta[j]), symbolic, numbers, self.scalar_result(t.delta[layer][j, i]))
            doc.equations(lines)
        doc.paragraph(w["example_gradients"].format(i=i + 1))
        lines = []
        loss_i = f"{ELL}_{{{i + 1}}}"
        for layer in reversed(d.layer_numbers):
            grad, value = d.grad_W_index(layer), t.dW_example[layer][i]
            if self.transposed:
                grad, value = grad.T, value.T
            label = self.names.partial(loss_i, self.names.matrix(self.names.weight_matrix_letter, layer))
            lines += self.step(label, self.tex(grad), self.tex(grad, values), self.result(value))
            b_exprs = d.grad_b_index(layer)
            if b_exprs is not None:
                label = self.names.partial(loss_i, self.names.matrix("b", layer))
                column = sp.Matrix(b_exprs)
                lines += self.step(label, self.tex(column), self.tex(column, values),
                                   self.result(t.db_example[layer][i]))
        doc.equations(lines)

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
                      M: str(t.m), LAMBDA: format_input(d.network.l2)}
            values.update(self.weight_values(layer, t.W[layer]))
            if single:
                lines.append(f"{self.tex(dW)} & {self.result(value)}")
            else:
                lines += self.step(self.tex(dW), self.tex(dW_expr), self.tex(dW_expr, values), self.result(value))
            if forms.db_expr is not None:
                db = symbols.matrix("db", layer, *forms.b.shape)
                if single:
                    lines.append(f"{self.tex(db)} & {self.result(t.db[layer])}")
                else:
                    lines += self.step(self.tex(db), self.tex(forms.db_expr), self.tex(forms.db_expr, values),
                                       self.result(t.db[layer]))
        doc.equations(lines)

    def updates(self) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        if t.learning_rate is None:
            return
        doc.section(w["updated"])
        doc.paragraph(w["updated_intro"].format(eta=f"${self.tex(ETA)} = {format_input(t.learning_rate)}$"))
        lines = []
        for layer in d.layer_numbers:
            forms = d.matrix(layer)
            dW = symbols.matrix("dW", layer, *forms.W.shape)
            values = {ETA: format_input(t.learning_rate)}
            values.update(self.weight_values(layer, t.W[layer]))
            param, grad, new, gradient = forms.W, dW, t.W_next[layer], t.dW[layer]
            if self.transposed:
                param, grad, new, gradient = param.T, grad.T, new.T, gradient.T
            values[grad] = self.shown_matrix(gradient)
            update = d.update_expr(param, grad, ETA)
            lines += [rf"{self.tex(param)} & \leftarrow {self.tex(update)}",
                      f"& = {self.tex(update, values)}", f"& {self.result(new)}"]
            if forms.b is not None:
                db = symbols.matrix("db", layer, *forms.b.shape)
                values = {ETA: format_input(t.learning_rate), forms.b: self.shown_matrix(t.b[layer], computed=False),
                          db: self.shown_matrix(t.db[layer])}
                update = d.update_expr(forms.b, db, ETA)
                lines += [rf"{self.tex(forms.b)} & \leftarrow {self.tex(update)}",
                          f"& = {self.tex(update, values)}", f"& {self.result(t.b_next[layer])}"]
        doc.equations(lines)

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
