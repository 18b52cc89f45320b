"""The C99 backend: ``NAME.h`` and ``NAME.c`` per spec (libm only, no allocation)."""
from __future__ import annotations

from pathlib import Path

from ..base import Backend
from .config import CConfig
from .module import CModule

BACKEND = Backend(
    name="c",
    templates=Path(__file__).parent / "templates",
    config_type=CConfig,
    build_context=lambda derivation, config: CModule(derivation, config).context(),
    outputs=(("{name}.h", "header.h.jinja"), ("{name}.c", "source.c.jinja")),
)

__all__ = ["BACKEND", "CConfig", "CModule"]
