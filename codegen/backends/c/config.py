"""Options of the C backend."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CConfig:
    """Options of the C backend."""

    #: layers with at most this many weights are unrolled (each statement its own line, with CSE)
    unroll_max_weights: int = 16
    #: also write NAME_c.py, the NumPy module's API backed by the compiled C (``--python``; python_wrapper.py)
    python: bool = False
