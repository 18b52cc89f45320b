"""Numbers as written in an answers file: their digits kept, because the digits set the tolerance.

TOML floats arrive as ``Decimal`` (read with ``parse_float=Decimal``); strings may use a
decimal comma. The default tolerance of a number is half a unit in its last written digit.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from ..errors import SpecError
from ..model.decimals import MAX_DIGITS, MAX_EXPONENT, parse_decimal


def _decimal_or_fail(value: Any, field_name: str) -> Decimal:
    number = parse_decimal(value)
    if number is None:
        raise SpecError(field_name, f"expected a number as printed (such as 0.5470, -1.2e-3 or \"0,5470\"; at "
                                    f"most {MAX_DIGITS} digits, between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT} in "
                                    f"size, or 0), got {show(value)}")
    return number


def _written(value: Any) -> str:
    """The number's text as written (the decimal comma kept)."""
    if isinstance(value, str):
        return value.strip()
    return str(value).replace("E", "e")    # a TOML 9.6e-10 read as Decimal prints 9.6E-10


def written_numbers(value: Any, field_name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The claimed value as an array of written strings of ``shape``; a vector may be flat or a column."""
    want = {0: "a number", 1: f"{shape[0] if shape else 0} numbers", 2: f"a {shape[0]}×{shape[1]} matrix "
            f"(a list of {shape[0]} rows of {shape[1]} numbers)" if len(shape) == 2 else ""}[len(shape)]
    raw = value
    # accept the natural ways to write small shapes: [v] for one number, [[v1], [v2]] for a column,
    # a flat list for a one-row or one-column matrix
    if isinstance(raw, list) and shape == () and len(raw) == 1 and not isinstance(raw[0], list):
        raw = raw[0]
    if isinstance(raw, list) and shape == () and len(raw) == 1 and isinstance(raw[0], list) and len(raw[0]) == 1:
        raw = raw[0][0]
    if len(shape) == 1 and isinstance(raw, list) and raw and all(isinstance(r, list) and len(r) == 1 for r in raw):
        raw = [r[0] for r in raw]
    if len(shape) == 1 and shape[0] == 1 and not isinstance(raw, list):
        raw = [raw]
    if len(shape) == 2 and isinstance(raw, list) and raw and not any(isinstance(r, list) for r in raw):
        if shape[0] == 1:
            raw = [raw]
        elif shape[1] == 1:
            raw = [[v] for v in raw]
    if len(shape) == 2 and shape == (1, 1) and not isinstance(raw, list):
        raw = [[raw]]
    out = np.empty(shape, dtype=object)
    if len(shape) == 0:
        if isinstance(raw, list):
            raise SpecError(field_name, f"expected {want}, got a list{_comma_hint(raw)}")
        _decimal_or_fail(raw, field_name)
        out[()] = _written(raw)
        return out
    if not isinstance(raw, list) or len(raw) != shape[0]:
        got = _entries(len(raw)) + _comma_hint(raw) if isinstance(raw, list) else show(raw)
        raise SpecError(field_name, f"expected {want}, got {got}")
    for i, item in enumerate(raw):
        if len(shape) == 1:
            if isinstance(item, list):
                raise SpecError(f"{field_name}[{i}]", f"expected a number, got a list")
            _decimal_or_fail(item, f"{field_name}[{i}]")
            out[i] = _written(item)
            continue
        if not isinstance(item, list) or len(item) != shape[1]:
            got = _entries(len(item)) + _comma_hint(item) if isinstance(item, list) else show(item)
            raise SpecError(f"{field_name}[{i}]", f"expected a row of {shape[1]} numbers ({want}), got {got}")
        for k, number in enumerate(item):
            _decimal_or_fail(number, f"{field_name}[{i}][{k}]")
            out[i, k] = _written(number)
    return out


def _entries(count: int) -> str:
    return "1 entry" if count == 1 else f"{count} entries"


def _comma_hint(items: list) -> str:
    """Whole numbers where decimals were meant: TOML reads [0,5017, 0,4983] as four integers."""
    if len(items) >= 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        return f" (whole numbers {show(items)}: a decimal comma must be quoted, as in \"0,5017\")"
    return ""


def decimal_of(written: str) -> Decimal:
    """The Decimal of a number as written in an answers file."""
    number = parse_decimal(written)
    assert number is not None
    return number


def half_unit(value: Decimal) -> Decimal:
    """Half a unit in the last written digit: 0.5470 → 0.00005, 12 → 0.5, 1.5e-3 → 0.00005."""
    return Decimal(5).scaleb(value.as_tuple().exponent - 1)


def show(value: Any) -> str:
    text = repr(value)
    if isinstance(value, Decimal):
        text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
