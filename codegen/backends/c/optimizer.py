"""The optimizer part of a generated C file: the state, the update rule and the learning rate, from SymPy.

``derive.model.optimizers`` holds each kind's rule as sequential assignments for one
parameter entry (t ← t + 1, each state buffer, θ). The step's increment is printed
once per update (``s->step``); the other assignments are printed once, into a static
function of one entry whose locals are named as the rule's symbols, and the template
calls it in a loop over every entry of every parameter array. Hyperparameters print as
macros of the source (``NAME_BETA1``), so each number appears once, exactly as the
spec gave it.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from deltagen.derive.model.network import Network
from deltagen.derive.model.optimizers import DEFAULT_LEARNING_RATE, ETA, GRAD, HYPERPARAMETERS, STEP, THETA, Optimizer

from .parts import Assign
from .printer import CCodePrinter

#: the local names of the entry function: θ, g, t and η (buffers keep torch.optim's state keys)
ENTRY_NAMES = {THETA: "theta", GRAD: "g", STEP: "t", ETA: "learning_rate"}


@dataclass(frozen=True)
class Constant:
    """``#define NAME_KEY NAME_LIT(value)``: one hyperparameter of the rule."""

    macro: str
    value: str     # printed by the C printer
    key: str       # the spec key, for the header's comment
    number: str    # the spec's number, as written in the header


class RulePrinter(CCodePrinter):
    """Sums with their positive terms first: θ − η g rather than −η g + θ (as the NumPy module prints them)."""

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        terms = sorted(self._as_ordered_terms(expr, order=order), key=lambda term: term.could_extract_minus_sign())
        text = self._print(terms[0])
        for term in terms[1:]:
            negative = term.could_extract_minus_sign()
            text += (" - " if negative else " + ") + self.parenthesize(-term if negative else term, PRECEDENCE["Add"])
        return text


def state_learning_rate(network: Network) -> tuple[float, str]:
    """The learning rate ``NAME_state_init`` sets, and where it comes from (for the header).

    The [optimizer] table's (which defaults to torch.optim's for its kind); without the
    table, the [example]'s learning_rate; without either, torch.optim.SGD's default, as a
    table with only ``kind = "sgd"`` would give.
    """
    optimizer = network.optimizer
    if optimizer.learning_rate is not None:
        return float(optimizer.learning_rate), "from the [optimizer] table"
    if network.example is not None and network.example.learning_rate is not None:
        return float(network.example.learning_rate), "from the [example]: the spec has no [optimizer] table"
    return DEFAULT_LEARNING_RATE["sgd"], "torch.optim.SGD's default: the spec gives no learning rate"


def _reads(expr: sp.Expr, symbol: sp.Symbol) -> bool:
    return symbol in expr.free_symbols


def step_terms(entry: list[tuple[sp.Symbol, sp.Expr]]) -> dict[sp.Expr, sp.Symbol]:
    """The largest subexpressions of the entry rule that read t and only t, η and hyperparameters (adam's
    1 − β₁ᵗ): the same for every entry of an update, so NAME_update computes each once (``t_term0``, …) instead
    of a pow per entry. Each is the very expression the entry would compute (a reciprocal is not taken: the
    entry still divides by it), so the numbers do not change."""
    scalars = {STEP, ETA, *HYPERPARAMETERS.values()}
    found: dict[sp.Expr, sp.Symbol] = {}

    def walk(expr: sp.Expr) -> None:
        reciprocal = expr.is_Pow and expr.exp.is_negative    # x/(1 − β₁ᵗ) stays a division: the same bits
        if not expr.is_Atom and not reciprocal and STEP in expr.free_symbols and expr.free_symbols <= scalars:
            found.setdefault(expr, sp.Symbol(f"t_term{len(found)}", real=True))
            return
        for arg in expr.args:
            walk(arg)
    for _, expr in entry:
        walk(expr)
    return found


def optimizer_context(network: Network, prefix: str) -> dict:
    """Template values for NAME_state, NAME_state_init, NAME_update and the header's description."""
    optimizer: Optimizer = network.optimizer
    rule = optimizer.rule
    names = dict(ENTRY_NAMES)
    constants = []
    for key, number in optimizer.settings:
        macro = f"{prefix}_{key.upper()}"
        names[HYPERPARAMETERS[key]] = macro
        constants.append(Constant(macro, CCodePrinter(prefix).doprint(sp.Float(float(number))), key, repr(number)))
    for buffer in rule.buffers:
        names[buffer.symbol] = buffer.name
    (step, increment), *entry = rule.assignments
    if step != STEP:
        raise ValueError(f"the {rule.kind} rule does not start with t ← t + 1")
    hoisted = step_terms(entry)
    entry = [(target, expr.xreplace(hoisted)) for target, expr in entry]
    names.update({symbol: symbol.name for symbol in hoisted.values()})
    printer = RulePrinter(prefix, names)
    rate, rate_source = state_learning_rate(network)
    return {
        "optimizer_kind": rule.kind,
        "optimizer_formula": rule.formula,
        "optimizer_given": optimizer.given,
        "optimizer_constants": constants,
        "state_buffers": [buffer.name for buffer in rule.buffers],
        "state_learning_rate": CCodePrinter(prefix).doprint(sp.Float(rate)),
        "state_learning_rate_number": repr(rate),
        "state_learning_rate_source": rate_source,
        "decay_formula": optimizer.decay.formula if optimizer.decay else None,
        # t ← t + 1 once per update, on the state itself
        "step_statement": Assign("s->step", RulePrinter(prefix, {STEP: "s->step"}).doprint(increment)),
        "update_reads_step": any(_reads(expr, STEP) for _, expr in entry),
        # once per update, before the loops over the entries
        "step_terms": [Assign(symbol.name, printer.doprint(expr)) for expr, symbol in hoisted.items()],
        "update_entry_statements": [Assign(printer.doprint(target), printer.doprint(expr)) for target, expr in entry],
    }
