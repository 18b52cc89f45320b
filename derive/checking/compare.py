"""Comparing a claimed number, as written, with a computed value."""
from __future__ import annotations

from decimal import Decimal

import mpmath

from ..evaluation.numbers import to_mpf
from .mistakes import Cause


def within(claimed: Decimal, value, tol: Decimal, spread: float) -> bool:
    """|claimed − value| ≤ tol + spread (a hair of slack for the exact-tie case)."""
    c, v = to_mpf(claimed), to_mpf(value)
    slack = mpmath.mpf(10) ** (-(mpmath.mp.dps - 5)) * max(1, abs(c))
    return abs(c - v) <= to_mpf(tol) + mpmath.mpf(spread) + slack


def truncated(claimed: Decimal, value, tol: Decimal, spread: float) -> bool:
    """The claimed number is ``value`` cut off (not rounded) at its last written digit."""
    c, v = to_mpf(claimed), to_mpf(value)
    unit = 2 * to_mpf(tol)
    lo, hi = v - mpmath.mpf(spread), v + mpmath.mpf(spread)
    if c >= 0:                # cut off towards zero: value in [c, c + unit)
        return hi >= c and lo < c + unit and v >= 0 - mpmath.mpf(spread)
    return lo <= c and hi > c - unit


def close(a, b) -> bool:
    a, b = to_mpf(a), to_mpf(b)
    return abs(a - b) <= mpmath.mpf(10) ** (-(mpmath.mp.dps - 8)) * max(1, abs(b))


def digit_slip(written: str, value) -> Cause | None:
    """One digit different (or two neighbours swapped) from ``value`` written the same way."""
    text = written.replace(",", ".").strip()
    if "e" in text.lower() or len(text.lstrip("+-").replace(".", "").lstrip("0")) < 3:
        return None     # too few digits for a slip to be told from any other mistake
    decimals = len(text.split(".")[1]) if "." in text else 0
    shown = mpmath.nstr(to_mpf(value), 40, min_fixed=-mpmath.inf, max_fixed=mpmath.inf)
    try:
        target = format(Decimal(shown).quantize(Decimal(1).scaleb(-decimals)), "f")
    except Exception:
        return None
    if target.startswith("-") != text.startswith("-"):
        return None
    a, b = text.lstrip("+-"), target.lstrip("-")
    if len(a) != len(b) or a == b:
        return None
    differ = [i for i in range(len(a)) if a[i] != b[i]]
    swapped = len(differ) == 2 and differ[1] == differ[0] + 1 and a[differ[0]] == b[differ[1]] \
        and a[differ[1]] == b[differ[0]]
    if len(differ) == 1 or swapped:
        return Cause("digit_slip", (("expected", ("-" if target.startswith("-") else "") + b),))
    return None
