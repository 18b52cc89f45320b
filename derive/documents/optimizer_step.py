"""The worked solution's update with a spec's ``[optimizer]`` (not sgd): its first step by hand (issue 14, item 8).

From the zero state, the step number going from t = 0 to t = 1: for each parameter θ (each W and b),
the rule's lines in the lecture's step notation (``updates.step_form``, as the derivation document
prints them) with t = 1 — m_1 = β₁ m_0 + (1 − β₁) g_1, m̂_1 = m_1 / (1 − β₁¹), …, θ_1 = θ_0 − … —
each shown as the other steps of a solution are: the formula, the numbers substituted (the state
m_0 as its zero matrix, g_1 the gradient of the cost computed above), the result. The rules act on
each entry on its own, so a line's matrices are combined entry by entry (the section says so).

The numbers come from the rule's SymPy expressions (``derive.model.optimizers.RULES``, through the
step form) evaluated with mpmath at the trace's precision (the solution's digits + GUARD_DIGITS),
from the trace's unrounded gradients; the learning rate is the schedule's η_e at epoch 0.
"""
from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..derivation import symbols
from ..evaluation.numbers import to_mpf
from ..model.optimizers import EPOCH, ETA, STEP, Optimizer
from .layout import CONTINUED, MAX_COLUMNS, PAGE_WIDTH, blocks_of, bmatrix, break_line, too_wide, width
from .printer import NotationPrinter
from .updates import StepForm, arranged_terms, assigned_earlier, latex_fields, schedule_line, settings, step_form


def optimizer_step(solution: Any) -> bool:
    """Write the section of one optimizer step into ``solution`` (a ``solution._Solution``).

    False, and nothing written, without an ``[optimizer]`` table or with sgd: the gradient step stays.
    """
    optimizer: Optimizer = solution.d.network.optimizer
    if not optimizer.given or optimizer.kind == "sgd":
        return False
    _Step(solution, optimizer).write()
    return True


def first_step(optimizer: Optimizer, form: StepForm, theta, grad, precision: int) -> dict[sp.Symbol, np.ndarray]:
    """Every placeholder of ``form`` → its value (an object array of mpf, the shape of ``theta``) at step 1.

    The state before the step is zero; η is the schedule's value at epoch 0. ``precision`` digits.
    """
    theta, grad = np.asarray(theta, dtype=object), np.asarray(grad, dtype=object)
    with mpmath.workdps(precision):
        scalars: dict[sp.Symbol, Any] = {symbol: to_mpf(number) for _, symbol, number in settings(optimizer, form)}
        scalars[form.fixed[STEP]] = mpmath.mpf(1)           # t ← t + 1 from t = 0
        schedule = schedule_line(optimizer, form)
        if schedule is not None:                            # η_0 of the decay (η itself, at epoch 0)
            eta_0 = _evaluate(schedule[1], {**scalars, form.fixed[EPOCH]: mpmath.mpf(0)}, ())
            scalars[form.fixed[ETA]] = eta_0[()]
        named = {s.name: s for s in form.latex}
        arrays: dict[sp.Symbol, np.ndarray] = {named["s_theta__t-1"]: theta, named["s_g__t"]: grad}
        for state in form.state:                            # the buffers at step 0 (…__0) read as …__t-1
            arrays[named[state.name.removesuffix("__0") + "__t-1"]] = np.full(theta.shape, mpmath.mpf(0),
                                                                               dtype=object)
        for target, expr in form.lines:
            arrays[target] = _evaluate(expr, {**scalars, **arrays}, theta.shape)
    return arrays


def _evaluate(expr: sp.Expr, values: dict, shape: tuple) -> np.ndarray:
    """``expr`` with mpmath, entry by entry: a value in ``values`` is a number or an array of ``shape``."""
    args = sorted(expr.free_symbols, key=lambda s: s.name)
    function = sp.lambdify(args, expr, "mpmath")
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        out[index] = function(*[values[a][index] if isinstance(values[a], np.ndarray) else values[a]
                                for a in args])
    return out


class _Step:
    """The section: an introduction, then per parameter its state and the rule's lines with numbers."""

    def __init__(self, solution: Any, optimizer: Optimizer) -> None:
        self.s, self.optimizer = solution, optimizer
        self.form = step_form(optimizer)
        self.named = {p.name: p for p in self.form.latex}
        self.names = {p: self._at_one(p, latex) for p, latex in self.form.latex.items()}
        self.names[self.form.fixed[STEP]] = "1"
        self.inputs = {symbol: solution.numbers.input(number) for _, symbol, number in settings(optimizer, self.form)}
        self.inputs[self.form.fixed[STEP]] = "1"

    @staticmethod
    def _at_one(placeholder: sp.Symbol, latex: str) -> str:
        """The name at t = 1: m_{t−1} is m_0, m̂_t is m̂_1."""
        if latex.endswith("_{t-1}"):
            return latex.removesuffix("_{t-1}") + "_{0}"
        return latex.removesuffix("_{t}") + "_{1}" if latex.endswith("_{t}") else latex

    def write(self) -> None:
        s, w, doc, form = self.s, self.s.w, self.s.doc, self.form
        kind = doc.code(self.optimizer.kind)
        doc.section(w["optimizer_step"].format(kind=kind))
        values = ", ".join(f"${form.latex[symbol]} = {self.inputs[symbol]}$ ({doc.code(key)})"
                           for key, symbol, _ in settings(self.optimizer, form))
        doc.paragraph(w["optimizer_step_intro"].format(kind=kind, values=values))
        fields = latex_fields(self.optimizer, form)
        doc.paragraph(w[f"optimizer_state_{self.optimizer.kind}"].format(**fields))   # what the letters stand for
        if self.optimizer.decay is not None:
            eta_0 = fields["eta_e"].replace("{e}", "{0}").rstrip("$") + " = " + fields["eta"].lstrip("$")
            doc.paragraph(w["optimizer_step_epoch"].format(eta_0=eta_0))
        for layer in s.d.layer_numbers:
            forms = s.d.matrix(layer)
            grad = symbols.matrix("dW", layer, *forms.W.shape)
            param, theta, gradient = forms.W, s.trace.W[layer], s.trace.dW[layer]
            self.parameter(param, grad, theta, gradient, s.transposed)
            if forms.b is not None:
                self.parameter(forms.b, symbols.matrix("db", layer, *forms.b.shape), s.trace.b[layer],
                               s.trace.db[layer], False)

    def parameter(self, param, grad, theta, gradient, transposed: bool) -> None:
        """The paragraph naming θ, g and the zero state, then the rule's lines for this parameter."""
        s, form = self.s, self.form
        values = first_step(self.optimizer, form, theta, gradient, s.trace.digits)
        if transposed:   # the displayed W is the code's Wᵀ; entry by entry, so every matrix turns alike
            param, grad = param.T, grad.T
            values = {key: value.T for key, value in values.items()}
        zeros = " = ".join(self.names[self.named[p.name.removesuffix("__0") + "__t-1"]] for p in form.state)
        s.doc.paragraph(s.w["optimizer_step_parameter"].format(
            theta=rf"$\theta = {s.tex(param)}$", theta_before=f"${self.names[self.named['s_theta__t-1']]} = {s.tex(param)}$",
            g=f"${self.names[self.named['s_g__t']]} = {s.tex(grad)}$", zeros=f"${zeros} = 0$"))
        known = {self.named["s_theta__t-1"]: (values[self.named["s_theta__t-1"]], s.numbers.input)}
        known.update({p: (value, s.numbers.result) for p, value in values.items() if p not in known})
        lines: list[str] = []
        earlier = assigned_earlier(form)
        symbolic = NotationPrinter(s.d, self.names, lang=s.lang, order="none", mul_symbol=None)
        for target, expr in form.lines:
            arranged = arranged_terms(expr, earlier)
            lines += self.step(symbolic.doprint(target), symbolic.doprint(arranged), arranged, known, values[target])
        s.equations(lines)

    def step(self, left: str, formula: str, expr: sp.Expr, known: dict, result: np.ndarray) -> list[str]:
        """formula, numbers, result; in blocks of columns (every matrix of the line cut alike) when too wide."""
        s = self.s
        budget = PAGE_WIDTH - width(left) - 5.0
        columns = result.shape[1]

        def numbers(cols: slice) -> str:
            shown = {p: bmatrix(value[:, cols], write) for p, (value, write) in known.items()}
            printer = NotationPrinter(s.d, {**self.inputs, **shown}, lang=s.lang, order="none")
            return printer.doprint(expr)

        def fits(cols: slice) -> bool:
            lines = break_line(numbers(cols), budget, budget - width(CONTINUED))
            return not too_wide(bmatrix(result[:, cols], s.numbers.result), budget) and \
                not any(too_wide(line, budget + 30) for line in lines)

        size = next(size for size in range(min(columns, MAX_COLUMNS), 0, -1)
                    if size == 1 or all(fits(cols) for cols in blocks_of(columns, size)))
        blocks = blocks_of(columns, size)
        lines = self.broken(f"{left} & = ", formula, budget)
        for cols in blocks:
            if len(blocks) > 1:
                s.layout.split = True
                label = s.layout.columns_label.format(first=cols.start + 1, last=cols.stop)
                lines.append(rf" & \text{{{label}}}")
            part = result[:, cols]
            lines += self.broken("& = ", numbers(cols), budget)
            lines.append(f"& {s.numbers.relation(part)} {bmatrix(part, s.numbers.result)}")
        return lines

    def broken(self, start: str, tex: str, budget: float) -> list[str]:
        lines = break_line(tex, budget, budget - width(CONTINUED))
        if len(lines) > 1:
            self.s.layout.split = True
        return [start + lines[0]] + [rf"& {CONTINUED}{line}" for line in lines[1:]]
