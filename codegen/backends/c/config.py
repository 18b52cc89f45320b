"""Options of the C backend."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CConfig:
    """Options of the C backend."""

    #: layers with at most this many weights are unrolled (each statement its own line, with CSE)
    unroll_max_weights: int = 16
