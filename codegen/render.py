"""Render a ``Derivation`` into source files, and write them without leaving half-written output."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import jinja2

from derive import __version__
from derive.backprop import Derivation

from .c_backend import CConfig, CModule
from .numpy_backend import NumpyConfig, NumpyModule

TEMPLATES = Path(__file__).parent / "templates"
TARGETS = ("numpy", "c")


def _tuple_literal(values) -> str:
    items = ", ".join(repr(v) for v in values)
    return f"({items},)" if len(values) == 1 else f"({items})"


def environment() -> jinja2.Environment:
    """The Jinja environment: strict about undefined names, keeps whitespace predictable."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
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


def _spec_identity(derivation: Derivation) -> tuple[str, str]:
    """The spec's file name (made safe to show) and sha256 (of its bytes), for the generated header."""
    source = derivation.network.source
    path = Path(source)
    if source != "<dict>" and path.is_file():
        return safe_shown_name(path.name), hashlib.sha256(path.read_bytes()).hexdigest()
    return safe_shown_name(source), ""


def render(derivation: Derivation, target: str = "numpy", c_config: CConfig | None = None) -> dict[str, str]:
    """The generated files for ``target`` as {file name: text}; deterministic for a given spec and config."""
    if target not in TARGETS:
        raise ValueError(f"--target: expected one of {', '.join(TARGETS)}, got {target!r}")
    spec_file, spec_sha = _spec_identity(derivation)
    context = {"version": __version__, "spec_file": spec_file, "spec_sha": spec_sha}
    name = derivation.network.name
    env = environment()
    if target == "c":
        context.update(CModule(derivation, c_config or CConfig()).context())
        return {f"{name}.h": env.get_template("c/header.h.jinja").render(**context),
                f"{name}.c": env.get_template("c/source.c.jinja").render(**context)}
    context.update(NumpyModule(derivation, NumpyConfig()).context())
    return {f"{name}.py": env.get_template("numpy/module.py.jinja").render(**context)}


def _replaceable(destination: Path) -> None:
    """Raise an OSError naming ``destination`` when a file cannot be moved onto it."""
    if destination.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory; expected a file or nothing", str(destination))


def write_files(files: dict[str, str], out_dir: str | os.PathLike) -> list[Path]:
    """Write ``files`` into ``out_dir`` atomically: all of them appear, or none do.

    Files are written to a temporary directory beside ``out_dir`` and moved into
    place only after every one was written. A destination that cannot be replaced
    (a directory of the same name) is found before anything moves; should a move
    still fail, the files already replaced get their previous contents back.
    """
    out = Path(out_dir)
    parent = out.parent if out.parent != Path("") else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "is not a directory; expected a directory or nothing", str(out))
    for name in files:
        _replaceable(out / name)
    staging = Path(tempfile.mkdtemp(prefix=".deltagen-", dir=parent))
    created_out = not out.exists()
    moved: list[tuple[Path, Path | None]] = []   # (destination, its previous version in staging)
    try:
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8", newline="\n")
        out.mkdir(exist_ok=True)
        for index, name in enumerate(files):
            destination = out / name
            previous = None
            if destination.exists() or destination.is_symlink():
                previous = staging / f".previous-{index}"
                os.replace(destination, previous)
            moved.append((destination, previous))
            os.replace(staging / name, destination)
        return [out / name for name in files]
    except BaseException:
        for destination, previous in reversed(moved):
            if previous is not None:
                os.replace(previous, destination)
            elif destination.exists():
                destination.unlink()
        if created_out and out.exists() and not any(out.iterdir()):
            out.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
