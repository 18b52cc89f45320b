"""An optimizer's update rule in the lecture's step notation, θ_t = θ_{t−1} − η g_t, for documents and text.

``derive.model.optimizers`` writes each rule as sequential assignments (t ← t + 1, each buffer,
then θ), the right-hand sides reading the values assigned before them. Lecture 002 writes a step
with time subscripts instead; here every value a rule reads is named by the step it belongs to:
a buffer or θ already assigned in this step is ``X_t``, one not yet assigned is ``X_{t−1}``, the
gradient is ``g_t``, and the t of β₁ᵗ is the step's own number (1, 2, …, as t ← t + 1 comes
first). Adam's bias corrections, a buffer value times factors that depend only on t and the β's,
get their own lines (m̂_t = m_t / (1 − β₁ᵗ)). The expressions stay SymPy, over placeholder
symbols that ``StepForm`` names in LaTeX and in plain text; the printers are the project's
(``NotationPrinter``, ``TextPrinter``), with the factors and terms in the order the rules are
usually written (β₁ m_{t−1} + (1 − β₁) g_t).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..derivation.backprop import Derivation
from ..model.network import Notation
from ..model.optimizers import (ALPHA, BETA1, BETA2, DAMPENING, DECAY_INTERVAL, DECAY_RATE, EPOCH, EPSILON, ETA,
                                GRAD, HYPERPARAMETERS, MU, STEP, THETA, Optimizer, split_corrections)
from .printer import NotationPrinter
from .text import TextPrinter

#: how each hyperparameter and schedule symbol is written, (LaTeX, text); torch's documentation writes
#: dampening τ. Placeholders of these are named "h_…" and the values "s_…", so that SymPy's canonical
#: order (by name) already puts a coefficient before a value: η g_t, μ b_{t−1}
_FIXED: dict[sp.Symbol, tuple[str, str]] = {
    ETA: (r"\eta", "η"), MU: (r"\mu", "μ"), DAMPENING: (r"\tau", "τ"), ALPHA: (r"\alpha", "α"),
    BETA1: (r"\beta_{1}", "β₁"), BETA2: (r"\beta_{2}", "β₂"), EPSILON: (r"\varepsilon", "ε"), STEP: ("t", "t"),
    EPOCH: ("e", "e"), DECAY_RATE: ("r", "r"), DECAY_INTERVAL: ("k", "k"),
}
_LETTERS = {THETA: (r"\theta", "θ"), GRAD: ("g", "g")}


@dataclass(frozen=True)
class StepForm:
    """One step of a rule: ``lines`` (placeholder, its value) in order, and the placeholders' names."""

    lines: tuple[tuple[sp.Symbol, sp.Expr], ...]
    latex: dict[sp.Symbol, str]
    text: dict[sp.Symbol, str]
    state: tuple[sp.Symbol, ...]            # each buffer at step 0 (m_0 …): the state starts at zero
    corrections: tuple[sp.Symbol, ...]      # the bias-corrected values (m̂_t, v̂_t), if any
    fixed: dict[sp.Symbol, sp.Symbol]       # hyperparameter and schedule symbol → its placeholder


class _Namer:
    """Placeholder symbols, with their LaTeX and text names."""

    def __init__(self, optimizer: Optimizer) -> None:
        self.letters = dict(_LETTERS)
        for buffer in optimizer.rule.buffers:
            self.letters[buffer.symbol] = (buffer.symbol.name, buffer.symbol.name)
        self.latex: dict[sp.Symbol, str] = {}
        self.text: dict[sp.Symbol, str] = {}
        self.fixed = {symbol: self._name(f"h_{symbol.name}", *names) for symbol, names in _FIXED.items()}
        self.eta_e = self._name("h_eta_e", r"\eta_{e}", "η_e")

    def _name(self, key: str, latex: str, text: str) -> sp.Symbol:
        placeholder = sp.Symbol(key, real=True)
        self.latex[placeholder], self.text[placeholder] = latex, text
        return placeholder

    def at(self, symbol: sp.Symbol, step: str, hat: bool = False) -> sp.Symbol:
        """``symbol`` at step ``step`` (``t``, ``t-1`` or ``0``): θ_{t−1}, m̂_t, b_0."""
        latex, text = self.letters[symbol]
        if hat:
            latex, text = rf"\hat{{{latex}}}", text + "\u0302"
        text_step = step if len(step) == 1 else f"({step.replace('-', chr(0x2212))})"
        return self._name(f"s_{symbol.name}{'hat' if hat else ''}__{step}", f"{latex}_{{{step}}}",
                          f"{text}_{text_step}")


def step_form(optimizer: Optimizer) -> StepForm:
    """The optimizer's rule, one step, over placeholders (see the module's docstring)."""
    rule, namer = optimizer.rule, _Namer(optimizer)
    stateful = [THETA] + [buffer.symbol for buffer in rule.buffers]
    now = {s: namer.at(s, "t") for s in stateful}
    before = {s: namer.at(s, "t-1") for s in stateful}
    lines: list[tuple[sp.Symbol, sp.Expr]] = []
    corrections: list[sp.Symbol] = []
    assigned: set[sp.Symbol] = set()
    for target, expr in rule.assignments:
        if target == STEP:   # t ← t + 1: the subscript counts the steps
            continue
        mapping = {s: (now[s] if s in assigned else before[s]) for s in stateful}
        value = expr.xreplace({**namer.fixed, **mapping, GRAD: namer.at(GRAD, "t")})
        if target == THETA:
            value, found = split_corrections(value, {now[s]: s for s in stateful[1:]}, namer.fixed[STEP],
                                             {namer.fixed[s] for s in (STEP, BETA1, BETA2)},
                                             lambda buffer: namer.at(buffer, "t", hat=True))
            found.sort(key=lambda line: next(i for i, s in enumerate(stateful) if line[1].has(now[s])))
            lines += found   # in the buffers' order: m̂ before v̂
            corrections += [hat for hat, _ in found]
        lines.append((now[target], value))
        assigned.add(target)
    state = tuple(namer.at(buffer.symbol, "0") for buffer in rule.buffers)
    return StepForm(tuple(lines), namer.latex, namer.text, state, tuple(corrections), namer.fixed)


def schedule_line(optimizer: Optimizer, form: StepForm) -> tuple[sp.Symbol, sp.Expr] | None:
    """(η_e, its value) of the spec's decay, over ``form``'s placeholders; None without a decay."""
    if optimizer.decay is None:
        return None
    eta_e = next(s for s, text in form.text.items() if text == "η_e")
    return eta_e, optimizer.decay.expr().xreplace(form.fixed)


def settings(optimizer: Optimizer, form: StepForm) -> list[tuple[str, sp.Symbol, float | int]]:
    """(spec key, placeholder, number) of η, the rule's hyperparameters and the decay's r and k, in that order."""
    out: list[tuple[str, sp.Symbol, float | int]] = [("learning_rate", ETA, optimizer.learning_rate)]
    out += [(key, HYPERPARAMETERS[key], number) for key, number in optimizer.settings]
    if optimizer.decay is not None:
        out.append(("decay.rate", DECAY_RATE, optimizer.decay.rate))
        if optimizer.decay.kind == "inverse_time":
            out.append(("decay.interval", DECAY_INTERVAL, optimizer.decay.interval))
    return [(key, form.fixed[symbol], number) for key, symbol, number in out]


def latex_fields(optimizer: Optimizer, form: StepForm) -> dict[str, str]:
    """Inline LaTeX for the words' fields: {theta}, {theta_before}, {g}, {zeros}, each buffer's letter ({m}),
    each bias correction ({mhat}), each hyperparameter ({mu}, {tau}, {eps}, …), {t}, {e}, {eta_e}."""
    by_name = {s.name: latex for s, latex in form.latex.items()}
    fields = {"theta": r"$\theta$", "theta_before": f"${by_name['s_theta__t-1']}$", "g": f"${by_name['s_g__t']}$",
              "zeros": "$" + " = ".join(form.latex[s] for s in form.state) + " = 0$" if form.state else ""}
    fields.update({buffer.symbol.name: f"${buffer.symbol.name}$" for buffer in optimizer.rule.buffers})
    fields.update({s.name[2:].removesuffix("__t"): f"${form.latex[s]}$" for s in form.corrections})
    short = {"dampening": "tau", "epsilon": "eps"}
    for symbol, placeholder in form.fixed.items():
        fields[short.get(symbol.name, symbol.name)] = f"${form.latex[placeholder]}$"
    fields["eta_e"] = f"${by_name['h_eta_e']}$"
    return fields


# ---------------------------------------------------------------- printing

def arranged_terms(expr: sp.Expr, earlier: set[sp.Symbol]) -> sp.Expr:
    """``expr`` unevaluated, as the rules are written: numbers, then coefficients (hyperparameters only),
    then the rest in SymPy's order; in a sum, the terms that read an earlier value first."""
    if not expr.args:
        return expr
    if isinstance(expr, sp.Mul):
        def rank(factor: sp.Expr) -> int:
            if factor.is_Number:
                return 0
            return 1 if all(s.name.startswith("h_") for s in factor.free_symbols) else 2
        ordered = sorted(expr.as_ordered_factors(), key=rank)
        return sp.Mul(*[arranged_terms(f, earlier) for f in ordered], evaluate=False)
    if isinstance(expr, sp.Add):
        def place(term: sp.Expr) -> int:
            names = [s.name for s in term.free_symbols]
            if term.free_symbols & earlier:
                return 0                                  # m_{t−1} first, θ_{t−1} − …
            if any(name.startswith("s_g") for name in names):
                return 1                                  # g_t + μ b_t
            if any(name.startswith("s_") for name in names):
                return 2
            return 3 if term.is_Number else 4             # 1 + r ⌊e/k⌋, √v̂_t + ε
        terms = sorted(expr.as_ordered_terms(), key=place)
        return sp.Add(*[arranged_terms(t, earlier) for t in terms], evaluate=False)
    args = [arranged_terms(arg, earlier) for arg in expr.args]
    return expr.func(*args, evaluate=False) if isinstance(expr, sp.Pow) else expr.func(*args)


def assigned_earlier(form: StepForm) -> set[sp.Symbol]:
    return {s for s, text in form.text.items() if "(t" in text}


def latex_lines(derivation: Derivation, form: StepForm, lines, lang: str) -> list[str]:
    """``left & = right`` for each (placeholder, value), printed by ``NotationPrinter`` in ``lang``."""
    printer = NotationPrinter(derivation, form.latex, lang=lang, order="none", mul_symbol=None)
    earlier = assigned_earlier(form)
    return [f"{printer.doprint(target)} & = {printer.doprint(arranged_terms(value, earlier))}" for target, value in lines]


class _StepTextPrinter(TextPrinter):
    """``TextPrinter`` with the placeholders' names and the arranged order kept."""

    def __init__(self, notation: Notation, names: dict[sp.Symbol, str]) -> None:
        super().__init__(notation)
        self._settings["order"] = "none"
        self.names = names

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names.get(expr) or super()._print_Symbol(expr)

    def _print_floor(self, expr: sp.floor) -> str:
        return f"⌊{self._print(expr.args[0])}⌋"


def text_lines(notation: Notation, form: StepForm, lines) -> list[str]:
    """``left = right`` for each (placeholder, value), printed by ``TextPrinter``."""
    printer = _StepTextPrinter(notation, form.text)
    earlier = assigned_earlier(form)
    return [f"{printer.doprint(target)} = {printer.doprint(arranged_terms(value, earlier))}" for target, value in lines]
