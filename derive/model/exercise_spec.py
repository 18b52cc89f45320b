"""The optional ``[exercise]`` table of a spec: what an exercise asks and the ranges its numbers are drawn from.

```toml
[exercise]
ask = ["z[1]", "a[1]", "delta[2]", "dW[1]", "W[1]+", { quantity = "a[2]", example = 2, unit = 1 }]
weights = [-1, 1]      # weights and biases: on the grid below, in this range (never a row of zeros)
inputs = [-1, 1]       # the inputs (whole numbers for an image or sequence input)
step = 0.1             # the grid the numbers are drawn on
decimals = 4           # what the sheet asks students to round to
```

Every problem is one ``SpecError`` naming the field (``exercise.step``). This module reads the table alone
(it imports nothing but the errors, so the spec reader may call it); the asked quantities are checked
against the network in ``asked``.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import SpecError, did_you_mean
from .fields import show

KEYS = ("ask", "weights", "inputs", "step", "decimals")
MAX_ASKED = 200
MAX_DECIMALS = 10
#: the largest number a range may reach: a student works these by hand
MAX_MAGNITUDE = Decimal(1000)


@dataclass(frozen=True)
class Exercise:
    """The settings of ``[exercise]`` (defaults filled in); ``ask`` None until checked against the net."""

    weights: tuple[Decimal, Decimal] = (Decimal(-1), Decimal(1))
    inputs: tuple[Decimal, Decimal] | None = None      # None: the default for the input's kind (``variants``)
    step: Decimal = Decimal("0.1")
    decimals: int = 4
    ask: tuple[Any, ...] | None = None                 # as written, until ``asked`` checks it


def exercise_table(data: Any) -> Exercise:
    """The ``[exercise]`` table of a parsed spec (floats read as ``Decimal``); defaults where it is absent."""
    if "exercise" not in data:
        return Exercise()
    table = data["exercise"]
    if not isinstance(table, dict):
        raise SpecError("exercise", f"expected a table [exercise], got {show(table)}")
    for key in table:
        if key not in KEYS:
            raise SpecError(f"exercise.{key}", f"expected one of the keys {', '.join(KEYS)}, got unknown key "
                                               f"{key}{did_you_mean(key, KEYS)}")
    step = _number(table.get("step", Decimal("0.1")), "exercise.step")
    if not step > 0:
        raise SpecError("exercise.step", f"expected a positive number such as 0.1, got {show(table['step'])}")
    weights = _range(table.get("weights", [-1, 1]), "exercise.weights", step)
    inputs = _range(table["inputs"], "exercise.inputs", step) if "inputs" in table else None
    decimals = table.get("decimals", 4)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= MAX_DECIMALS:
        raise SpecError("exercise.decimals", f"expected a whole number from 0 to {MAX_DECIMALS} (the decimals "
                                             f"students round to), got {show(decimals)}")
    ask = table.get("ask")
    if ask is not None and (not isinstance(ask, list) or not ask or len(ask) > MAX_ASKED):
        raise SpecError("exercise.ask", f"expected a list of 1 to {MAX_ASKED} quantities such as [\"z[1]\", "
                                        f"\"delta[2]\", \"dW[1]\"], got {show(ask)}")
    return Exercise(weights=weights, inputs=inputs, step=step, decimals=decimals,
                    ask=tuple(ask) if ask is not None else None)


def _number(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, Decimal, float)):
        raise SpecError(field, f"expected a number, got {show(value)}")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or abs(number) > MAX_MAGNITUDE:
        raise SpecError(field, f"expected a finite number of size at most {MAX_MAGNITUDE}, got {show(value)}")
    return number


def _range(value: Any, field: str, step: Decimal) -> tuple[Decimal, Decimal]:
    if not isinstance(value, list) or len(value) != 2:
        raise SpecError(field, f"expected [lo, hi], two numbers with lo < hi, got {show(value)}")
    lo, hi = (_number(v, f"{field}[{i}]") for i, v in enumerate(value))
    if not lo < hi:
        raise SpecError(field, f"expected [lo, hi] with lo < hi, got [{lo}, {hi}]")
    if hi - lo < step:
        raise SpecError(field, f"expected a range at least one step ({step}) wide, got [{lo}, {hi}]")
    return lo, hi
