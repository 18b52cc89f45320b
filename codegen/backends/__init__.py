"""The registry of backends: each is one folder (config, printer, module builder, templates).

A new backend is a new folder here whose ``__init__`` defines ``BACKEND``, plus one line below.
"""
from __future__ import annotations

from .base import Backend
from .c import BACKEND as C_BACKEND
from .numpy import BACKEND as NUMPY_BACKEND

BACKENDS: dict[str, Backend] = {backend.name: backend for backend in (NUMPY_BACKEND, C_BACKEND)}
TARGETS: tuple[str, ...] = tuple(BACKENDS)


def backend_named(target: str) -> Backend:
    """The backend for ``--target``; a ValueError naming the choices otherwise."""
    if target not in BACKENDS:
        raise ValueError(f"--target: expected one of {', '.join(TARGETS)}, got {target!r}")
    return BACKENDS[target]


__all__ = ["BACKENDS", "Backend", "TARGETS", "backend_named"]
