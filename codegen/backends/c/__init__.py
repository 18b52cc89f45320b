"""The C99 backend: ``NAME.h`` and ``NAME.c`` per spec (libm only, no allocation); with ``python``, ``NAME_c.py``."""
from __future__ import annotations

from pathlib import Path

from ..base import Backend
from .config import CConfig
from .module import CModule
from .python_wrapper import python_files

BACKEND = Backend(
    name="c",
    templates=Path(__file__).parent / "templates",
    config_type=CConfig,
    build_context=lambda derivation, config: CModule(derivation, config).context(),
    outputs=(("{name}.h", "header.h.jinja"), ("{name}.c", "source.c.jinja")),
    extra_files=python_files,
)

__all__ = ["BACKEND", "CConfig", "CModule"]
