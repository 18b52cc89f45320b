"""Blank claims and an exercise's variant: what the answers template of ``deltagen exercise`` adds.

A template lists every asked quantity with ``value = ""``; a student fills in the numbers. A claim
still blank is asked but not answered: it is neither right nor wrong, the check leaves it out
(``Answers.unanswered``) and the report lists it as "not answered". A top-level ``variant = "001"``
names the exercise variant the file answers (``deltagen grade`` picks the spec by it).
"""
from __future__ import annotations

import re
from typing import Any

from ..documents.words import words as _words
from ..errors import SpecError
from .written import show

NOT_ANSWERED = "not answered"     # the verdict, in JSON and in ``deltagen grade``'s counts

_WORDS = {
    "en": {"not_answered": "not answered", "count": "{n} claims not answered", "count_one": "1 claim not answered",
           "missing": "Asked but missing from the file (not answered): {names}."},
    "pt": {"not_answered": "não respondida", "count": "{n} afirmações não respondidas",
           "count_one": "1 afirmação não respondida",
           "missing": "Pedidas mas ausentes do arquivo (não respondidas): {names}."},
}


def blank_words(lang: str) -> dict[str, str]:
    return _WORDS.get(lang, _WORDS["en"])


def is_blank(value: Any) -> bool:
    """``value = ""`` (or only spaces): the template's empty answer."""
    return isinstance(value, str) and not value.strip()


def variant_of(value: Any) -> str | None:
    """The top-level ``variant``: a variant folder's number as a string of digits, ``"001"``."""
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,6}\s*", value):
        return value.strip()
    raise SpecError("variant", f"expected the variant's number as a string such as \"001\", got {show(value)}")


def claim_label(quantity: str, example: int | None, lang: str, unit: tuple[int, ...] | None = None) -> str:
    """``delta[2]_1 (example 1)``: how the report names a claim (``example``, ``unit`` 0-based)."""
    name = quantity.replace(" ", "")
    if unit is not None:
        name += f"_{unit[0] + 1}" if len(unit) == 1 else f"_({','.join(str(u + 1) for u in unit)})"
    return name if example is None else f"{name} ({_words(lang)['example'].format(n=example + 1)})"
