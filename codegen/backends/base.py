"""What a backend is: its templates, its config and the context it prepares for them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from deltagen.derive.derivation.backprop import Derivation

#: builds the template context (names, sizes and printed parts) from a derivation and a config
ContextBuilder = Callable[[Derivation, Any], dict]


@dataclass(frozen=True)
class Backend:
    """One target: ``outputs`` maps a file name pattern (``{name}`` is the spec's name) to a template."""

    name: str
    templates: Path
    config_type: type
    build_context: ContextBuilder
    outputs: tuple[tuple[str, str], ...]
    #: files a config option adds, {file name: text}, from (derivation, config, the header context, a function
    #: giving the backend's Jinja environment with more template folders); None: no such option
    extra_files: Callable[..., dict[str, str]] | None = None
