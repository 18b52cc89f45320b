"""The optimizer part of a generated NumPy module: the update rule and the schedule, printed from SymPy.

``derive.model.optimizers`` holds each kind's rule as sequential assignments for one
parameter entry; printed over whole arrays, the same lines update every parameter.
Hyperparameters print as the module's constants (``BETA1``, ...), so the numbers
appear once, in ``OPTIMIZER`` and beside it, exactly as the spec gave them.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from deltagen.derive.model.optimizers import (DECAY_INTERVAL, DECAY_RATE, EPOCH, ETA, GRAD, HYPERPARAMETERS, STEP,
                                              THETA, Optimizer)

from .inplace import NotInPlace, RuleCompiler
from .parts import Assignment
from .printer import NumpyCodePrinter


@dataclass(frozen=True)
class BufferInfo:
    name: str    # the state key (torch.optim's name)
    local: str   # the variable the printed lines use


def _literal(value: object) -> str:
    """A Python literal for the plain values of ``Optimizer.as_dict`` (floats by repr: exact)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {_literal(item)}" for key, item in value.items()) + "}"
    return repr(value)


class _RulePrinter(NumpyCodePrinter):
    """Sums with their positive terms first: θ − η g rather than −η g + θ (the same number: + commutes)."""

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        terms = sorted(self._as_ordered_terms(expr, order=order), key=lambda term: term.could_extract_minus_sign())
        text = self._print(terms[0])
        for term in terms[1:]:
            negative = term.could_extract_minus_sign()
            text += (" - " if negative else " + ") + self.parenthesize(-term if negative else term, PRECEDENCE["Add"])
        return text


def _names(optimizer: Optimizer) -> dict[sp.Basic, str]:
    names: dict[sp.Basic, str] = {THETA: "theta", GRAD: "grad", STEP: "t", ETA: "learning_rate",
                                  EPOCH: "epoch", DECAY_RATE: "DECAY_RATE", DECAY_INTERVAL: "DECAY_INTERVAL"}
    for key, _ in optimizer.settings:
        names[HYPERPARAMETERS[key]] = key.upper()
    for buffer in optimizer.rule.buffers:
        names[buffer.symbol] = buffer.local_name
    return names


def _in_place_rule(lines: list[Assignment], buffers: list[str]) -> tuple[list[str] | None, int]:
    """The rule's lines as ufunc calls into theta, the buffers and scratch arrays, and how many scratch arrays."""
    compiler = RuleCompiler({"theta", "grad", *buffers})
    try:
        for s in lines:
            compiler.line(s.target, s.value)
    except NotInPlace:
        return None, 0
    return compiler.lines, compiler.temps


def optimizer_context(optimizer: Optimizer) -> dict:
    """Template values for OPTIMIZER, init_state, update, learning_rate_at and train."""
    printer = _RulePrinter(_names(optimizer))
    rule = optimizer.rule
    rule_lines = [Assignment(printer.doprint(target), printer.doprint(expr)) for target, expr in rule.assignments]
    in_place, temps = _in_place_rule(rule_lines, [buffer.local_name for buffer in rule.buffers])
    constants = [(key.upper(), repr(float(number))) for key, number in optimizer.settings]
    if optimizer.decay is not None:
        constants.append(("DECAY_RATE", repr(float(optimizer.decay.rate))))
        if optimizer.decay.kind == "inverse_time":
            constants.append(("DECAY_INTERVAL", repr(int(optimizer.decay.interval))))
    return {
        "optimizer_kind": optimizer.kind,
        "optimizer_given": optimizer.given,
        "optimizer_formula": rule.formula,
        "optimizer_literal": _literal(optimizer.as_dict()),
        "optimizer_constants": constants,
        "buffers": [BufferInfo(buffer.name, buffer.local_name) for buffer in rule.buffers],
        "update_rule_lines": rule_lines,
        "in_place_rule_lines": in_place,
        "rule_temps": temps,
        "rule_temp_names": "".join(f"_t{i}, " for i in range(temps)).rstrip(" "),
        "schedule_expr": printer.doprint(optimizer.schedule()),
        "decay_formula": f"{optimizer.decay.kind} decay, {optimizer.decay.formula}" if optimizer.decay else None,
    }
