"""Options of the NumPy backend."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NumpyConfig:
    """Options of the NumPy backend."""

    dtype: str = "numpy.float64"
