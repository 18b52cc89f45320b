"""Small checks of spec fields, shared by the spec's readers: each failure is one ``SpecError`` line."""
from __future__ import annotations

import numbers
import re
from typing import Any, Mapping

from ..errors import SpecError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def table(value: Any, field: str, allowed: tuple[str, ...]) -> None:
    """Require a table (mapping) whose keys are all in ``allowed``."""
    where = field or "the spec"
    if not isinstance(value, Mapping):
        raise SpecError(field, f"expected a table for {where}, got {show(value)}")
    for key in value:
        if key not in allowed:
            shown = key if isinstance(key, str) and IDENTIFIER.fullmatch(key) else repr(key)
            path = f"{field}.{shown}" if field else shown
            raise SpecError(path, f"expected one of the keys {', '.join(allowed)}, got unknown key {shown}")


def integer(value: Any, field: str, lo: int, hi: int) -> int:
    """An integer in [lo, hi]; bools and floats (even 2.0) are rejected as likely mistakes."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not lo <= value <= hi:
        kind = "a positive integer" if lo == 1 else f"an integer from {lo}"
        raise SpecError(field, f"expected {kind} at most {hi}, got {show(value)}")
    return int(value)


def show(value: Any) -> str:
    """A short, single-line rendering of a bad value for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
