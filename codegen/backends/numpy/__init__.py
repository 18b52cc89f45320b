"""The NumPy backend: a standalone module (imports numpy only) per spec."""
from __future__ import annotations

from pathlib import Path

from ..base import Backend
from .config import NumpyConfig
from .module import NumpyModule

BACKEND = Backend(
    name="numpy",
    templates=Path(__file__).parent / "templates",
    config_type=NumpyConfig,
    build_context=lambda derivation, config: NumpyModule(derivation, config).context(),
    outputs=(("{name}.py", "module.py.jinja"),),
)

__all__ = ["BACKEND", "NumpyConfig", "NumpyModule"]
