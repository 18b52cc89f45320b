"""How a document writes a number, in each language: 0.9526 in English, 0{,}9526 in Portuguese.

Brazilian Portuguese writes a decimal comma (the lectures write 0,5 and 0,8493). In math mode a
bare comma is punctuation, so TeX would put a space after it (0, 5); ``{,}`` makes it an
ordinary symbol, and 0{,}5 prints as 0,5 in LaTeX and in Markdown's $…$ math (MathJax, KaTeX)
alike. Every number a document shows goes through here; formulas with a number of their own
(a SymPy ``Float``) get the same separator from ``NotationPrinter``.
"""
from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np

DEFAULT_DIGITS = 4

#: the decimal separator of each language, as written in math mode
MATH_DECIMAL = {"en": ".", "pt": "{,}"}
#: the decimal separator of each language, as SymPy's LaTeX printer names it (setting ``decimal_separator``)
SYMPY_DECIMAL = {"en": "period", "pt": "comma"}


def in_language(text: str, lang: str) -> str:
    """A number written with a decimal point (``-0.5``, ``5.896 \\cdot 10^{-5}``), with ``lang``'s separator.

    Only for the text of numbers: the ``.`` of anything else (``\\cdot`` has none) would be changed too.
    """
    separator = MATH_DECIMAL[lang]
    return text if separator == "." else text.replace(".", separator)


def format_number(value: Any, digits: int = DEFAULT_DIGITS, lang: str = "en") -> str:
    """``value`` to ``digits`` significant digits, as LaTeX: 0.9526, 0.9820, -5.896 \\cdot 10^{-5} (0{,}9526 in pt).

    Trailing zeros are kept when the value was rounded (0.9820 is 0.98201…) and
    dropped when it is shown exactly (0.5, 3).
    """
    if isinstance(value, mpmath.mpf):
        # the same switch to scientific notation as Python's "g": exponent < -4 or >= digits
        full = mpmath.nstr(value, digits, strip_zeros=False, min_fixed=-5, max_fixed=digits)
    else:
        full = f"{float(value):#.{digits}g}"
    mantissa, _, exponent = full.partition("e")
    stripped = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    exact = _same(stripped + (f"e{exponent}" if exponent else ""), value, digits)
    mantissa = stripped if exact else mantissa.rstrip(".")
    if mantissa in ("-0", "", "0.", "-0."):
        mantissa = "0"
    mantissa = in_language(mantissa, lang)
    if exponent:
        return rf"{mantissa} \cdot 10^{{{int(exponent)}}}"
    return mantissa


def _same(text: str, value: Any, digits: int) -> bool:
    """Whether the decimal ``text`` is ``value`` up to rounding noise (0.4 − 0.1 shows as 0.3, exactly).

    mpmath values are computed with 10 digits more than the ``digits`` shown.
    """
    if isinstance(value, mpmath.mpf):
        with mpmath.workdps(digits + 10):
            return abs(mpmath.mpf(text) - value) <= mpmath.mpf(10) ** -(digits + 5) * abs(value)
    return math.isclose(float(text), float(value), rel_tol=1e-12, abs_tol=1e-300)


def format_input(value: Any, lang: str = "en") -> str:
    """A number given in the spec, as written there (exactly: 0.1, -10, 0.25; 0{,}1 in pt)."""
    number = float(value)
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    text = repr(number)
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{in_language(mantissa, lang)} \cdot 10^{{{int(exponent)}}}"
    return in_language(text, lang)


class _Numbers:
    """How one solution writes numbers: inputs exactly, results to ``digits`` significant digits, in ``lang``."""

    def __init__(self, digits: int, lang: str = "en") -> None:
        self.digits = digits
        self.lang = lang

    def result(self, value) -> str:
        return format_number(value, self.digits, self.lang)

    def input(self, value) -> str:
        """A number of the spec (a parameter, an input, the learning rate), exactly as written."""
        return format_input(value, self.lang)

    def is_exact(self, values) -> bool:
        """Whether every value is shown exactly, so ``=`` rather than ``≈``."""
        for value in np.asarray(values, dtype=object).reshape(-1):
            # read back the English form: the decimal point is what float() and mpf() read
            shown = format_number(value, self.digits).replace(r" \cdot 10^{", "e").rstrip("}")
            if not _same(shown, value, self.digits):
                return False
        return True

    def relation(self, values) -> str:
        return "=" if self.is_exact(values) else r"\approx"

    @staticmethod
    def substituted(text: str) -> str:
        """A number inside a formula: negative ones in parentheses, so 1 − (−0.5) reads right."""
        return rf"\left({text}\right)" if text.startswith("-") else text
