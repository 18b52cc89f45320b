"""deltagen's code generation: a ``Derivation`` rendered through Jinja templates and SymPy printers."""
from .render import TARGETS, render, write_files

__all__ = ["TARGETS", "render", "write_files"]
