"""The worked solution's update with a spec's ``[optimizer]`` (not sgd): its first step by hand (issue 14, item 8).

From the zero state, the step number going from t = 0 to t = 1: for each parameter θ (each W and b),
the rule's lines in the lecture's step notation (``updates.step_form``, as the derivation document
prints them) with t = 1 — m_1 = β₁ m_0 + (1 − β₁) g_1, m̂_1 = m_1 / (1 − β₁¹), …, θ_1 = θ_0 − … —
each shown as the other steps of a solution are: the formula, the numbers substituted (the state
m_0 as its zero matrix, g_1 the gradient of the cost computed above), the result. The rules act on
each entry on its own, so a line's matrices are combined entry by entry (the section says so).

The numbers come from the rule's SymPy expressions (``derive.model.optimizers.RULES``, through the
step form) evaluated with mpmath at the trace's precision (the solution's digits + GUARD_DIGITS),
from the trace's unrounded gradients; the learning rate is the schedule's η_e at epoch 0. Every line reads
as written: each value is shown with the fewest digits (at least the solution's) with which every line,
computed from its numbers as printed, rounds to its printed result (``shown_digits``).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..derivation import symbols
from ..evaluation.numbers import to_mpf
from ..model.optimizers import EPOCH, ETA, STEP, Optimizer
from .numerals import _Numbers, format_input, format_number
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
        scalars = step_scalars(optimizer, form)
        named = {s.name: s for s in form.latex}
        arrays: dict[sp.Symbol, np.ndarray] = {named["s_theta__t-1"]: theta, named["s_g__t"]: grad}
        for state in form.state:                            # the buffers at step 0 (…__0) read as …__t-1
            arrays[named[state.name.removesuffix("__0") + "__t-1"]] = np.full(theta.shape, mpmath.mpf(0),
                                                                               dtype=object)
        for target, expr in form.lines:
            arrays[target] = _evaluate(expr, {**scalars, **arrays}, theta.shape)
    return arrays


def step_scalars(optimizer: Optimizer, form: StepForm) -> dict[sp.Symbol, Any]:
    """The numbers of step 1 that are not arrays: the hyperparameters as the spec writes them, t = 1, η_0."""
    scalars: dict[sp.Symbol, Any] = {symbol: to_mpf(number) for _, symbol, number in settings(optimizer, form)}
    scalars[form.fixed[STEP]] = mpmath.mpf(1)           # t ← t + 1 from t = 0
    schedule = schedule_line(optimizer, form)
    if schedule is not None:                            # η_0 of the decay (η itself, at epoch 0)
        eta_0 = _evaluate(schedule[1], {**scalars, form.fixed[EPOCH]: mpmath.mpf(0)}, ())
        scalars[form.fixed[ETA]] = eta_0[()]
    return scalars


def shown_digits(form: StepForm, scalars: dict, values: dict[sp.Symbol, np.ndarray], digits: int,
                 precision: int) -> dict[sp.Symbol, int]:
    """The significant digits (at least ``digits``) each computed value of the step is shown with, so that
    every line, evaluated from its numbers as printed, gives its printed result when rounded to its digits.

    A line's inputs can need more digits than its result: √v_1 is |g| √(1 − α) up to ε, so rmsprop's θ_1 is
    θ_0 − η sign(g)/√(1 − α) up to a term of the size of ε/|g|, and where θ_0 is that step (weights of 0.1
    and η = 0.1 with adagrad or adam) the result is that small term, which only g and v to many digits give.
    So an input of a line that does not re-read gets one digit more (a value keeps its digits on every line),
    until every line re-reads, at most ``precision`` − 4 digits. A result that would print as exact
    (``= 0.8``) without being so gets a digit more too. θ_{t−1} is given, and printed exactly.
    """
    given = next(p for p in values if p.name == "s_theta__t-1")
    shown = {p: digits for p in values if p != given}
    room = lambda p: shown[p] < precision - 4
    with mpmath.workdps(precision):
        while True:
            raised = False
            for target, expr in form.lines:
                more = {target} if room(target) and _claims_exact(values[target], shown[target]) else set()
                if not _rereads(target, expr, scalars, values, shown):
                    more |= {p for p in expr.free_symbols & shown.keys() if room(p) and not _exact(values[p], shown[p])}
                for p in more:
                    shown[p] += 1
                raised = raised or bool(more)
            if not raised:
                return shown


def _printed(value, digits: int | None) -> Decimal:
    """``value`` as a document prints it with ``digits`` (None: a given number, exactly), read back."""
    if digits is None:
        return Decimal(format_input(value))
    return Decimal(format_number(value, digits).replace(r" \cdot 10^{", "e").rstrip("}"))


def _exact(values, digits: int) -> bool:
    """Whether every value is its printed decimal, up to the noise of the working precision."""
    noise = mpmath.mpf(10) ** -(mpmath.mp.dps - 4)
    return all(abs(v - mpmath.mpf(str(_printed(v, digits)))) <= noise * abs(v) for v in np.reshape(values, -1))


def _claims_exact(values: np.ndarray, digits: int) -> bool:
    """Whether some value would print as exact (trailing zeros dropped, "=") without being its printed decimal."""
    return any(_Numbers(digits).is_exact([v]) and not _exact(v, digits) for v in values.reshape(-1))


def _rereads(target: sp.Symbol, expr: sp.Expr, scalars: dict, values: dict, shown: dict) -> bool:
    """Whether ``expr`` from its inputs as printed gives the printed ``target`` to less than half a unit of its
    last digit (at half a unit exactly, a student rounding up reads another result)."""
    def as_printed(p: sp.Symbol) -> np.ndarray:
        return np.vectorize(lambda v: mpmath.mpf(str(_printed(v, shown.get(p)))), otypes=[object])(values[p])
    arrays = {p: as_printed(p) for p in expr.free_symbols if p in values}
    written = _evaluate(expr, {**scalars, **arrays}, values[target].shape)
    for w, v in zip(written.reshape(-1), values[target].reshape(-1)):
        printed = _printed(v, shown[target])
        exponent = printed.adjusted() - shown[target] + 1 if printed else -(mpmath.mp.dps - 4)
        unit = mpmath.mpf(10) ** exponent
        if abs(w - mpmath.mpf(str(printed))) > unit / 2 * (1 - mpmath.mpf(10) ** -9):   # a tie reads either way
            return False
    return True


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
        with mpmath.workdps(solution.trace.digits):
            self.scalars = step_scalars(optimizer, self.form)

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
        digits = shown_digits(form, self.scalars, values, s.numbers.digits, s.trace.digits)
        if transposed:   # the displayed W is the code's Wᵀ; entry by entry, so every matrix turns alike
            param, grad = param.T, grad.T
            values = {key: value.T for key, value in values.items()}
        zeros = " = ".join(self.names[self.named[p.name.removesuffix("__0") + "__t-1"]] for p in form.state)
        s.doc.paragraph(s.w["optimizer_step_parameter"].format(
            theta=rf"$\theta = {s.tex(param)}$", theta_before=f"${self.names[self.named['s_theta__t-1']]} = {s.tex(param)}$",
            g=f"${self.names[self.named['s_g__t']]} = {s.tex(grad)}$", zeros=f"${zeros} = 0$"))
        numbers = {p: _Numbers(count, s.lang) for p, count in digits.items()}
        known = {self.named["s_theta__t-1"]: (values[self.named["s_theta__t-1"]], s.numbers.input)}
        known.update({p: (value, numbers[p].result) for p, value in values.items() if p not in known})
        lines: list[str] = []
        earlier = assigned_earlier(form)
        symbolic = NotationPrinter(s.d, self.names, lang=s.lang, order="none", mul_symbol=None)
        for target, expr in form.lines:
            arranged = arranged_terms(expr, earlier)
            lines += self.step(symbolic.doprint(target), symbolic.doprint(arranged), arranged, known, values[target],
                               numbers[target])
        s.equations(lines)

    def step(self, left: str, formula: str, expr: sp.Expr, known: dict, result: np.ndarray,
             shown: _Numbers) -> list[str]:
        """formula, numbers, result (written by ``shown``); in blocks of columns (every matrix of the line cut
        alike) when too wide."""
        s = self.s
        budget = PAGE_WIDTH - width(left) - 5.0
        columns = result.shape[1]

        def numbers(cols: slice) -> str:
            shown = {p: bmatrix(value[:, cols], write) for p, (value, write) in known.items()}
            printer = NotationPrinter(s.d, {**self.inputs, **shown}, lang=s.lang, order="none")
            return printer.doprint(expr)

        def fits(cols: slice) -> bool:
            lines = break_line(numbers(cols), budget, budget - width(CONTINUED))
            return not too_wide(bmatrix(result[:, cols], shown.result), budget) and \
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
            lines.append(f"& {shown.relation(part)} {bmatrix(part, shown.result)}")
        return lines

    def broken(self, start: str, tex: str, budget: float) -> list[str]:
        lines = break_line(tex, budget, budget - width(CONTINUED))
        if len(lines) > 1:
            self.s.layout.split = True
        return [start + lines[0]] + [rf"& {CONTINUED}{line}" for line in lines[1:]]
