"""deltagen's code generation: a ``Derivation`` rendered through one backend folder's printer and templates."""
from .backends import TARGETS
from .files import write_files
from .render import render

__all__ = ["TARGETS", "render", "write_files"]
