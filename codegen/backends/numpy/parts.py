"""The one part the NumPy template arranges: an array assignment holding a printed expression."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Assignment:
    """``target op value`` over whole arrays (the template writes one line per assignment)."""

    target: str
    value: str
    op: str = "="
