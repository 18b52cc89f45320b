"""A number as a person writes it: a decimal point or a decimal comma ("0,5"), a minus sign (−), thin spaces.

One reader for the spec's ``[example]`` strings and the answers files' numbers. It keeps the digits
(a ``Decimal``), because an answer's digits set its tolerance.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

#: what a written number may be: a person writes a handful of digits; these bound the checker's precision
MAX_DIGITS = 40
MAX_EXPONENT = 1000


def parse_decimal(value: Any) -> Decimal | None:
    """A number as written: TOML float (already Decimal), integer, or a string with a decimal point or comma."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("−", "-").replace("\u2009", "").replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
    else:
        return None
    if not number.is_finite() or len(number.as_tuple().digits) > MAX_DIGITS:
        return None
    return number if number == 0 or abs(number.adjusted()) <= MAX_EXPONENT else None
