"""``deltagen exercise``: N seeded variants of a spec's exercise, each a folder of four files.

    OUT/NNN/spec.toml      the spec's text with the variant's [example] (and its [exercise], as written)
    OUT/NNN/sheet.tex      the questions (en or pt)
    OUT/NNN/key.tex        the worked solution: ``deltagen solve OUT/NNN/spec.toml --digits D+2``
    OUT/NNN/answers.toml   the answers template: one [[claim]] per asked quantity, value = ""

Every file is computed before any is written, and the folders are written whole into a hidden staging
folder inside OUT and then moved into place, so an error leaves OUT as it was (the idea of
``codegen.files.write_files``, which derive does not import). The same seed gives the same bytes.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import tomllib
from decimal import Decimal
from pathlib import Path

from ..checking.spatial_claims import claim_shape
from ..errors import make_directories as _make_directories
from ..derivation.backprop import Derivation
from ..documents.solution import solution_document
from ..errors import SpecError, read_capped
from ..model.spec import load_spec, spec_from_dict
from ..model.exercise_spec import Exercise, exercise_table
from .asked import Asked, asked as asked_quantities, written_shape
from .exercise_words import exercise_words
from .random import MASK64, variant_stream
from .sheet import sheet_document
from .variants import draw, variant_spec_text

MAX_VARIANTS = 999       # NNN: three digits
_STAGING = ".deltagen-exercise-"


def write_exercise(spec_path: Path, variants: int, seed: int, out: Path, lang: str = "en") -> list[Path]:
    """Write ``variants`` variants of the spec's exercise into ``out``/001, /002, ...; return those folders.

    Bad input (the spec, its [exercise], the arguments) is one ``SpecError`` line and nothing is written.
    """
    source = str(os.fspath(spec_path))
    if isinstance(variants, bool) or not isinstance(variants, int) or not 1 <= variants <= MAX_VARIANTS:
        raise SpecError("--variants", f"expected a whole number from 1 to {MAX_VARIANTS}, got {variants!r}",
                        "deltagen exercise")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MASK64:
        raise SpecError("--seed", f"expected a whole number from 0 to 2^64 - 1, got {seed!r}", "deltagen exercise")
    try:
        exercise_words(lang)
    except ValueError:
        raise SpecError("--lang", f"expected en or pt, got {lang!r}", "deltagen exercise") from None
    text, data, exact = _read(source)
    try:
        exercise = exercise_table(exact)
    except SpecError as error:
        raise error.with_source(source) from None
    network = spec_from_dict({k: v for k, v in data.items() if k != "exercise"}, source=source)
    files: dict[str, str] = {}
    for number in range(1, variants + 1):
        folder = f"{number:03d}"
        files.update({f"{folder}/{name}": content for name, content in
                      variant_files(text, network, exercise, seed, number, lang, source).items()})
    return _write_folders(files, Path(out))


def _read(source: str) -> tuple[str, dict, dict]:
    """The spec's text, parsed as the spec reader parses it and with floats as Decimal (for [exercise])."""
    try:
        with open(source, "rb") as handle:
            text = read_capped(handle, source, "a spec file").decode("utf-8-sig")
        return text, tomllib.loads(text), tomllib.loads(text, parse_float=Decimal)
    except Exception:
        load_spec(source)       # the spec reader's one-line error for an unreadable file or bad TOML
        raise


def variant_files(text: str, network, exercise: Exercise, seed: int, number: int, lang: str,
                  source: str) -> dict[str, str]:
    """The four files of variant ``number`` (1-based), by file name."""
    folder = f"{number:03d}"
    drawn = draw(network, exercise, variant_stream(seed, number))
    spec_text = variant_spec_text(text, drawn, f"variant {folder} of {network.name}, seed {seed}")
    data = tomllib.loads(spec_text)
    data.pop("exercise", None)
    derivation = Derivation(spec_from_dict(data, source=source))
    try:
        asked = asked_quantities(exercise, derivation)
    except SpecError as error:
        raise error.with_source(source) from None
    digits = min(30, exercise.decimals + 2)
    key = solution_document(derivation, lang=lang, digits=digits)
    sheet = sheet_document(derivation, asked, key, variant=folder, learning_rate=drawn.learning_rate,
                           digits=digits, decimals=exercise.decimals, lang=lang)
    template = answers_template(derivation, asked, folder, exercise.decimals, lang)
    return {"spec.toml": spec_text, "sheet.tex": sheet, "key.tex": key, "answers.toml": template}


def answers_template(d: Derivation, asked: tuple[Asked, ...], variant: str, decimals: int, lang: str) -> str:
    """The answers file a student fills in: one [[claim]] per asked quantity, ``value = ""`` (not answered)."""
    ew = exercise_words(lang)
    rounding = ew["note_decimals"].format(decimals=decimals) if decimals else ew["note_whole"]
    title = ew["template_title"].format(name=d.network.name, variant=variant)
    lines = [f"title = {_quoted(title)}", f"variant = {_quoted(variant)}"]
    for position, one in enumerate(asked, start=1):
        lines += ["", f"[[claim]]   # {position}", f"quantity = {_quoted(one.quantity)}"]
        if one.example is not None:
            lines.append(f"example = {one.example}")
        if one.unit is not None:
            lines.append(f"unit = {one.unit}")
        if one.entry is not None:
            lines.append("entry = [" + ", ".join(str(i) for i in one.entry) + "]")
        lines.append('value = ""')
        lines.append(f"note = {_quoted(_note(one, d, rounding, ew))}")
    return "\n".join(lines) + "\n"


def _note(one: Asked, d: Derivation, rounding: str, ew: dict[str, str]) -> str:
    shape = written_shape(one, d)
    if not shape or shape == (1,):       # one number
        return rounding
    if len(shape) == 1:
        what = ew["note_numbers"].format(count=shape[0])
    elif len(shape) == 2 and claim_shape(one.kind, one.layer, d) is None:     # a dense layer's matrix
        what = ew["note_matrix"].format(rows=shape[0], cols=shape[1])
    else:
        what = ew["note_shape"].format(shape="(" + ", ".join(map(str, shape)) + ")")
    return f"{rounding}; {what}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- writing, all or nothing

def _write_folders(files: dict[str, str], out: Path) -> list[Path]:
    """Write ``files`` ("NNN/name": text) under ``out``: every variant folder appears whole, or none changes.

    The folders are written into a staging folder inside ``out``, then each moved into place (an existing
    folder of the same name is set aside first, and put back if a later move fails)."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(20, "is not a directory; expected a directory or nothing", str(out))
    folders = sorted({name.split("/")[0] for name in files})
    for folder in folders:
        if (out / folder).exists() and not (out / folder).is_dir():
            raise NotADirectoryError(20, "is not a directory; expected a variant folder or nothing",
                                     str(out / folder))
    created = _make_directories(out)
    moved: list[tuple[Path, Path | None]] = []          # (destination, the previous folder set aside)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=out))
    try:
        for name, text in files.items():
            path = staging / name
            path.parent.mkdir(exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
        for folder in folders:
            destination = out / folder
            previous = None
            if destination.exists():
                previous = staging / f".previous-{folder}"
                os.rename(destination, previous)
            moved.append((destination, previous))
            os.rename(staging / folder, destination)
        return [out / folder for folder in folders]
    except BaseException:
        for destination, previous in reversed(moved):
            if destination.exists() and (previous is None or previous.exists()):
                shutil.rmtree(destination, ignore_errors=True)
            if previous is not None and previous.exists():
                os.rename(previous, destination)
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                shutil.rmtree(directory) if directory == out else directory.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
