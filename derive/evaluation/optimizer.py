"""One optimizer step, entry by entry, from the SymPy rule of ``derive.model.optimizers.RULES``.

A rule is a sequence of assignments (t ← t + 1, each buffer, θ) whose right-hand sides read
the values assigned before them. Here Adam's bias corrections get lines of their own, as the
worked solution prints them (m̂ = m / (1 − β₁ᵗ) and v̂ = v / (1 − β₂ᵗ), split out of θ's line by
the same rule the documents use: a buffer times factors of t and the β's alone), so a check can
name them. Each line is compiled with ``sympy.lambdify`` for mpmath (the precision in force)
or NumPy, like the evaluator's other steps (``steps.py``); the hyperparameters are the spec's
decimals (``to_mpf``) and η is the schedule's η_e at the step's epoch. The state starts at zero
and the step count at 0, so step k reads t = k.

``OptimizerStep(optimizer, exact, lines)`` takes other lines too: the answer checker's mistake
variants are the same lines rewritten (``derive.checking.optimizer_mistakes``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import mpmath
import numpy as np
import sympy as sp

from ..model.optimizers import (BETA1, BETA2, DECAY_INTERVAL, DECAY_RATE, EPOCH, ETA, HYPERPARAMETERS, STEP,
                                THETA, Optimizer, split_corrections)
from .numbers import Array, Numbers


@dataclass(frozen=True)
class Line:
    """``name ← expr``: ``name`` is "t", a buffer's letter (m, v, G, b), a correction (mhat, vhat) or "theta"."""

    name: str
    symbol: sp.Symbol
    expr: sp.Expr


def hat_name(letter: str) -> str:
    return f"{letter}hat"


def rule_lines(optimizer: Optimizer) -> tuple[Line, ...]:
    """The rule's assignments in order, with each bias correction on a line of its own before θ's."""
    rule = optimizer.rule
    letters = {buffer.symbol: buffer.symbol.name for buffer in rule.buffers}
    lines: list[Line] = []
    for target, expr in rule.assignments:
        if target == STEP:
            lines.append(Line("t", STEP, expr))
        elif target == THETA:
            expr, corrections = _split_corrections(expr, letters)
            lines += corrections
            lines.append(Line("theta", THETA, expr))
        else:
            lines.append(Line(letters[target], target, expr))
    return tuple(lines)


def _split_corrections(expr: sp.Expr, letters: dict[sp.Symbol, str]) -> tuple[sp.Expr, list[Line]]:
    """Each bias correction of θ's line on a line of its own (``optimizers.split_corrections``), m̂ before v̂."""
    expr, found = split_corrections(expr, letters, STEP, {STEP, BETA1, BETA2},
                                    lambda letter: sp.Symbol(hat_name(letter), real=True))
    lines = {symbol.name: Line(symbol.name, symbol, product) for symbol, product in found}
    order = list(letters.values())      # m̂ before v̂, as the buffers
    return expr, sorted(lines.values(), key=lambda line: order.index(line.name.removesuffix("hat")))


def state_names(optimizer: Optimizer) -> dict[str, str]:
    """Every name a claim may give a state of this optimizer → its letter: the letters (m, v, b, G), the
    corrections (mhat, vhat) and torch.optim's state keys (exp_avg, exp_avg_sq, momentum_buffer, sum, …)."""
    if not optimizer.given:
        return {}
    names = {buffer.symbol.name: buffer.symbol.name for buffer in optimizer.rule.buffers}
    names.update({line.name: line.name for line in rule_lines(optimizer) if line.name.endswith("hat")})
    names.update({buffer.name: buffer.symbol.name for buffer in optimizer.rule.buffers})
    return names


def _lambdify(symbols: list[sp.Symbol], expr: sp.Expr, exact: bool) -> Callable:
    return sp.lambdify(symbols, expr, modules="mpmath" if exact else "numpy")


class OptimizerStep:
    """The lines of one step compiled for one number system; ``apply`` evaluates one line entry by entry."""

    def __init__(self, optimizer: Optimizer, exact: bool, lines: tuple[Line, ...] | None = None) -> None:
        self.optimizer = optimizer
        self.exact = exact
        self.numbers = Numbers(exact)
        self.lines = rule_lines(optimizer) if lines is None else lines
        self.by_name = {line.name: line for line in self.lines}
        self._compiled: dict[str, tuple[Callable, list[sp.Symbol]]] = {}
        self._settings = {HYPERPARAMETERS[key]: value for key, value in optimizer.settings}
        self._scalars: dict[tuple[int, int], dict[sp.Symbol, Any]] = {}
        schedule = optimizer.schedule()
        self._schedule = (_lambdify(sorted(schedule.free_symbols, key=lambda s: s.name), schedule, exact),
                          sorted(schedule.free_symbols, key=lambda s: s.name))

    def reads(self, name: str) -> list[sp.Symbol]:
        """The symbols line ``name`` reads, in a fixed order."""
        return sorted(self.by_name[name].expr.free_symbols, key=lambda s: s.name)

    def _function(self, name: str) -> tuple[Callable, list[sp.Symbol]]:
        if name not in self._compiled:
            symbols = self.reads(name)
            self._compiled[name] = (_lambdify(symbols, self.by_name[name].expr, self.exact), symbols)
        return self._compiled[name]

    def learning_rate(self, step: int):
        """η of step ``step`` (1, 2, …): the schedule's η_e at epoch e = step − 1 (a full-batch step is an epoch)."""
        optimizer = self.optimizer
        number = self.numbers.scalar
        values = {ETA: number(optimizer.learning_rate), EPOCH: number(step - 1)}
        if optimizer.decay is not None:
            values[DECAY_RATE] = number(optimizer.decay.rate)
            values[DECAY_INTERVAL] = number(optimizer.decay.interval)
        function, symbols = self._schedule
        return number(function(*[values[s] for s in symbols]))

    def step_count(self, step: int):
        """t after step ``step``: the t line from t = step − 1 (step itself, unless a variant says otherwise)."""
        function, symbols = self._function("t")
        return self.numbers.scalar(function(*[self.numbers.scalar(step - 1) for _ in symbols]))

    def scalars(self, step: int) -> dict[sp.Symbol, Any]:
        """The numbers every line of step ``step`` may read: t, η and the hyperparameters (computed once per
        step and precision: mpmath numbers are made at the precision in force)."""
        cache_key = (step, mpmath.mp.prec)
        if cache_key not in self._scalars:
            out = {symbol: self.numbers.scalar(value) for symbol, value in self._settings.items()}
            out[STEP] = self.step_count(step)
            out[ETA] = self.learning_rate(step)
            self._scalars[cache_key] = out
        return self._scalars[cache_key]

    def apply(self, name: str, values: Mapping[sp.Symbol, Array], step: int) -> Array:
        """Line ``name`` of step ``step``, entry by entry: ``values`` maps the arrays it reads (θ, g, buffers,
        corrections; all of one shape) to their values; the scalars come from ``scalars``."""
        function, symbols = self._function(name)
        scalars = self.scalars(step)
        shape = np.shape(next(iter(values.values()))) if values else ()
        out = np.empty(shape, dtype=object if self.exact else float)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            for index in np.ndindex(shape):
                args = [values[s][index] if s in values else scalars[s] for s in symbols]
                out[index] = self.numbers.scalar(function(*args))
        return out
