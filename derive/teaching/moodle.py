"""quiz.xml: the exercise's variants as Moodle XML, one Cloze (embedded answers) question per variant.

``write_quiz(exercise_dir, lang)`` reads every variant folder ``exercise_dir/NNN/`` (its ``spec.toml``
and ``answers.toml`` template) and writes ``exercise_dir/quiz.xml``. Each asked number is one blank
``{1:NUMERICAL:=value:tolerance}``: the value is the one the checker judges against (the same
``World`` the checker's judge builds from the evaluator's steps, at 30 digits and more), rounded to
the decimals the sheet asks (``[exercise] decimals``, default 4); the tolerance is half a unit of the
last asked decimal, the tolerance ``deltagen check`` gives a number written with those digits. When the
exact value lies halfway between two roundings, the checker accepts both, so the blank's value is the
exact one: Moodle then accepts both too. Same input, same bytes.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import mpmath
import numpy as np

from ..checking.answers import Claim, parse_answers, parse_quantity, shape_of
from ..checking.check import claim_key
from ..checking.graph import Graph
from ..checking.spatial_claims import claim_shape
from ..checking.world import World
from ..derivation.backprop import Derivation
from ..documents.notation import Names
from ..errors import SpecError
from ..evaluation.numbers import GUARD_DIGITS
from ..model.spec import load_spec
from .moodle_html import blanks_html, given_numbers, math, network_items, quantity_tex
from .moodle_words import words

DEFAULT_DECIMALS = 4
MAX_DECIMALS = 12
_VARIANT = re.compile(r"^\d{3,}$")
#: the claim keys that say which number is asked (value, note and tolerance are the student's side)
_WHICH = ("quantity", "example", "unit", "entry", "step")


@dataclass(frozen=True)
class Blank:
    """One asked number: the exact value, and the Cloze answer and tolerance written for it."""

    exact: Any            # mpmath number
    answer: str           # fixed-point decimal, as Moodle's NUMERICAL reads it
    tolerance: str


@dataclass(frozen=True)
class Asked:
    """One asked quantity (one claim of the template) and its blanks, in the claim's written order."""

    claim: Claim
    shape: tuple[int, ...]
    blanks: tuple[Blank, ...]


def write_quiz(exercise_dir: Path, lang: str = "en") -> Path:
    """Write ``exercise_dir/quiz.xml`` from the variant folders ``exercise_dir/NNN/``; returns its path."""
    exercise_dir = Path(exercise_dir)
    if lang not in ("en", "pt"):
        raise SpecError("lang", f"expected en or pt, got {lang!r}", str(exercise_dir))
    if not exercise_dir.is_dir():
        raise SpecError("", "expected an exercise folder (deltagen exercise --out DIR)", str(exercise_dir))
    variants = sorted(p for p in exercise_dir.iterdir() if p.is_dir() and _VARIANT.match(p.name))
    if not variants:
        raise SpecError("", "expected variant folders 001, 002, ... (deltagen exercise --out DIR)",
                        str(exercise_dir))
    questions = [question_xml(folder, lang) for folder in variants]
    text = '<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n' + "".join(questions) + "</quiz>\n"
    out = exercise_dir / "quiz.xml"
    out.write_text(text, encoding="utf-8", newline="\n")
    return out


# ---------------------------------------------------------------- one variant

def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise SpecError("", "expected an existing file (deltagen exercise writes it)", str(path)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError("", f"expected a readable TOML file ({exc})", str(path)) from None


def decimals_of(raw_spec: dict, source: str) -> int:
    """``[exercise] decimals`` of the variant's spec: how many decimals the sheet asks for (default 4)."""
    exercise = raw_spec.get("exercise", {})
    value = exercise.get("decimals", DEFAULT_DECIMALS) if isinstance(exercise, dict) else DEFAULT_DECIMALS
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DECIMALS:
        raise SpecError("exercise.decimals", f"expected a whole number from 0 to {MAX_DECIMALS}, got {value!r}",
                        source)
    return value


def asked_claims(template: dict, derivation: Derivation, source: str) -> list[Claim]:
    """The template's numeric claims as the checker reads them, each blank value replaced by zeros.

    Only the keys that say which number is asked are kept, so the claims are the ones the checker
    would judge, whatever the template's blanks look like."""
    claims = template.get("claim")
    if not isinstance(claims, list) or not claims:
        raise SpecError("claim", "expected at least one [[claim]] table", source)
    lines = []
    for i, entry in enumerate(claims):
        if not isinstance(entry, dict):
            raise SpecError(f"claim[{i}]", "expected a table", source)
        if "expression" in entry or "property" in entry:
            raise SpecError(f"claim[{i}]", "expected a number to compute (a Moodle blank holds a number, "
                                           "not a formula)", source)
        if "quantity" not in entry:
            raise SpecError(f"claim[{i}].quantity", "expected a value (required)", source)
        try:
            kind, layer, _, _ = parse_quantity(entry["quantity"], derivation, f"claim[{i}].quantity")
        except SpecError as exc:        # the template's field, in the template's file
            raise (exc.with_source(source) if exc.source == "<dict>" else exc) from None
        if "unit" in entry or "entry" in entry:
            zeros: Any = 0
        else:
            zeros = np.zeros(claim_shape(kind, layer, derivation) or shape_of(kind, layer, derivation), int).tolist()
        lines.append("[[claim]]")
        lines += [f"{key} = {json.dumps(entry[key], ensure_ascii=False)}" for key in _WHICH if key in entry]
        lines.append(f"value = {json.dumps(zeros)}")
    return list(parse_answers("\n".join(lines) + "\n", derivation, source).claims)


def _positions(claim: Claim) -> list[tuple]:
    """The graph positions of the claim's numbers, in its written (C) order, as the checker's judge reads them."""
    return [claim.unit] if claim.unit is not None else list(np.ndindex(claim.value.shape))


def blank_of(value: Any, decimals: int) -> Blank:
    """The Cloze answer for an exact value asked to ``decimals`` decimals, and its tolerance."""
    unit = Decimal(1).scaleb(-decimals)
    half = Decimal(5).scaleb(-decimals - 1)            # written.half_unit of a number with these decimals
    with localcontext(prec=mpmath.mp.dps + 10):        # every digit of the exact value kept
        exact = Decimal(mpmath.nstr(value, mpmath.mp.dps, min_fixed=-mpmath.inf, max_fixed=mpmath.inf))
        rounded = exact.quantize(unit, rounding=ROUND_HALF_EVEN)
        tie = abs(abs(exact - rounded) - half) <= Decimal(10) ** -(mpmath.mp.dps - 10) * max(1, abs(exact))
        answer = (rounded + half if exact > rounded else rounded - half) if tie else rounded
    if answer.is_zero():
        answer = abs(answer)                            # no -0.0000
    return Blank(value, format(answer, "f"), format(half, "f"))


def asked_values(derivation: Derivation, claims: list[Claim], decimals: int) -> list[Asked]:
    """Every asked number's exact value, from the checker's own graph of the variant's example."""
    graph = Graph(derivation)
    with mpmath.workdps(GUARD_DIGITS + decimals + 10):
        world = World(graph, exact=True)
        out = []
        for claim in claims:
            truth = np.asarray(world.value(claim_key(claim, derivation)), dtype=object)
            blanks = tuple(blank_of(truth[position], decimals) for position in _positions(claim))
            shape = () if claim.unit is not None else (claim.shape or claim.value.shape)
            out.append(Asked(claim, tuple(shape), blanks))
    return out


def cloze(blank: Blank) -> str:
    """``{1:NUMERICAL:=value:tolerance}``: a number needs none of the Cloze escapes (} # ~ / \" \\)."""
    return f"{{1:NUMERICAL:={blank.answer}:{blank.tolerance}}}"


def _label(asked: Asked, names: Names, w: dict[str, Any]) -> str:
    claim = asked.claim
    per_example = claim.example is not None
    text = math(quantity_tex(claim.kind, claim.layer, names, per_example))
    notes = []
    if claim.kind.endswith("+") and claim.step == 1:
        notes.append(w["after"])
    if claim.step > 1:
        notes.append(w["step"].format(k=claim.step))
    if per_example:
        notes.append(w["per_example"].format(i=claim.example + 1))
    if claim.unit is not None:
        notes.append(w["entry"].format(entry=", ".join(str(i + 1) for i in _written_entry(claim))))
    return text + (f" ({', '.join(notes)})" if notes else "")


def _written_entry(claim: Claim) -> tuple[int, ...]:
    """A one-number claim's entry as the template wrote it (a spatial unit in its layer's shape)."""
    if claim.shape is not None and len(claim.unit) == 1:
        return tuple(int(i) for i in np.unravel_index(claim.unit[0], claim.shape))
    return tuple(claim.unit)


def question_xml(folder: Path, lang: str) -> str:
    """The ``<question type="cloze">`` of one variant folder."""
    spec_path, answers_path = folder / "spec.toml", folder / "answers.toml"
    raw = _read_toml(spec_path)
    decimals = decimals_of(raw, str(spec_path))
    network = load_spec(spec_path)
    if network.example is None:
        raise SpecError("example", "expected an [example] table (the variant's numbers)", str(spec_path))
    derivation = Derivation(network)
    template = _read_toml(answers_path)
    asked = asked_values(derivation, asked_claims(template, derivation, str(answers_path)), decimals)
    w = words(lang)
    names = Names(network.notation)
    variant = folder.name
    places = w["decimals_1"] if decimals == 1 else w["decimals_n"].format(n=decimals)
    items = "".join(f"<li>{item}</li>" for item in network_items(raw, network, w))
    given = "".join(f"<p>{line}</p>" for line in given_numbers(network, names, lang, w))
    parts = "".join(f"<li><p>{_label(a, names, w)}:</p>{blanks_html([cloze(b) for b in a.blanks], a.shape, w)}</li>"
                    for a in asked)
    text = (f"<p>{xml_escape(w['intro'].format(spec=network.name, variant=variant))}</p><ul>{items}</ul>"
            f"<p>{w['given']}</p>{given}<p>{w['asked'].format(places=places)}</p><ol>{parts}</ol>")
    tolerance = format(Decimal(5).scaleb(-decimals - 1), "f")
    answers = "".join(f"<li>{_label(a, names, w)}: {', '.join(b.answer for b in a.blanks)}</li>" for a in asked)
    feedback = (f"<p>{w['feedback'].format(tolerance=tolerance, places=places, variant=variant)}</p>"
                f"<ol>{answers}</ol>")
    name = w["name"].format(spec=network.name, variant=variant)
    return (f'  <question type="cloze">\n'
            f"    <name><text>{xml_escape(name)}</text></name>\n"
            f'    <questiontext format="html"><text>{_cdata(text)}</text></questiontext>\n'
            f'    <generalfeedback format="html"><text>{_cdata(feedback)}</text></generalfeedback>\n'
            f"    <penalty>0.3333333</penalty>\n"
            f"    <hidden>0</hidden>\n"
            f"    <shuffleanswers>0</shuffleanswers>\n"
            f"  </question>\n")


def _cdata(text: str) -> str:
    """Text as CDATA; a ``]]>`` inside (not written by this module, but safe anyway) is split across two."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"
