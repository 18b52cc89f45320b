"""Render a ``Derivation`` into source files through the backend a target names."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import jinja2

from deltagen.derive import __version__
from deltagen.derive.derivation.backprop import Derivation

from .backends import TARGETS, Backend, backend_named
from .files import write_files
from .stability import check_generated_stability


def _tuple_literal(values) -> str:
    items = ", ".join(repr(v) for v in values)
    return f"({items},)" if len(values) == 1 else f"({items})"


def environment(backend: Backend, more: tuple[Path, ...] = ()) -> jinja2.Environment:
    """The Jinja environment of a backend (its templates, then the folders ``more``): strict about undefined names,
    keeps whitespace predictable."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(backend.templates), *map(str, more)]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["tuple_literal"] = _tuple_literal
    return env


#: characters that could end or corrupt the C comment or Python docstring a file name is shown in
#: (*/ closes a comment, quotes and backslashes a docstring, ??/ is a trigraph)
_UNSAFE_IN_HEADER = frozenset('*/\\"\'?`')


def safe_shown_name(name: str) -> str:
    """``name`` as it may appear in a generated comment or docstring: unsafe characters become ``_``.

    Control characters, line breaks and undecodable bytes (surrogates) are replaced too,
    so the header stays one line of valid UTF-8 text.
    """
    return "".join("_" if ch in _UNSAFE_IN_HEADER or not ch.isprintable() else ch for ch in name)


#: a file name made only of these needs no quoting in a POSIX shell (letters of any script, digits, ._+,:@%=/-)
_SHELL_SAFE = re.compile(r"[\w.+,:@%=/-]+")


def shell_safe_name(shown: str) -> str:
    """The shown spec name for the header's regenerate command: itself when a shell reads it as one plain word,
    else ``SPEC`` (a name such as ``$(id).toml`` pasted into a shell would run ``id``; quoting it would need
    quote characters, which the comment cannot hold)."""
    return shown if _SHELL_SAFE.fullmatch(shown) and not shown.startswith("-") else "SPEC"


def _spec_identity(derivation: Derivation) -> tuple[str, str]:
    """The spec's file name (made safe to show) and sha256 (of its bytes), for the generated header."""
    source = derivation.network.source
    path = Path(source)
    if source != "<dict>" and path.is_file():
        return safe_shown_name(path.name), hashlib.sha256(path.read_bytes()).hexdigest()
    return safe_shown_name(source), ""


def render(derivation: Derivation, target: str = "numpy", config: Any = None) -> dict[str, str]:
    """The generated files for ``target`` as {file name: text}; deterministic for a given spec and config.

    ``config`` is the backend's config dataclass (``CConfig``, ``NumpyConfig``); None takes its defaults.
    """
    backend = backend_named(target)
    config = backend.config_type() if config is None else config
    if not isinstance(config, backend.config_type):
        raise TypeError(f"config: expected a {backend.config_type.__name__} for target {target!r}")
    check_generated_stability(derivation, target)
    spec_file, spec_sha = _spec_identity(derivation)
    common = {"version": __version__, "spec_file": spec_file, "spec_sha": spec_sha,
              "spec_command_name": shell_safe_name(spec_file)}
    extra = backend.extra_files(derivation, config, common, lambda more: environment(backend, more)) \
        if backend.extra_files is not None else {}       # first: a refused option fails before the long part
    context = {**common, **backend.build_context(derivation, config)}
    env = environment(backend)
    name = derivation.network.name
    return {**{pattern.format(name=name): env.get_template(template).render(**context)
               for pattern, template in backend.outputs}, **extra}


__all__ = ["TARGETS", "environment", "render", "safe_shown_name", "write_files"]
