"""One submission graded: the checker's verdicts counted per claim, its report, and the grades.csv row.

A claim (one asked quantity) takes the verdict of its worst number, as the checker reports it;
correct, rounding and follows-through earn it, wrong does not, a blank value is not answered.
``Grader`` runs in each worker process: it reads every variant's spec and derivation once, on
first use, and returns plain data (``Graded``) that pickles back to the parent.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

from ..checking.answers import parse_answers
from ..checking.blank import NOT_ANSWERED, blank_words, claim_label, variant_of
from ..checking.check import check
from ..checking.report import cause_text, render_text
from ..derivation.backprop import Derivation
from ..errors import SpecError, printable, read_capped, toml_error
from ..model.spec import load_spec
from .copying import CopyMatch, Keys, copied_from

COLUMNS = ("student", "variant", "asked", "answered", "correct", "rounding", "follows_through", "wrong", "score",
           "error")


@dataclass(frozen=True)
class ClaimGrade:
    """One asked quantity of one submission."""

    key: tuple            # (kind, layer, example, unit, step): the same quantity in every submission
    label: str            # "delta[2] (example 1)", in the report's language
    position: int         # its place in the answers file (the template's order)
    verdict: str          # correct, rounding, follows-through, wrong, unproven or "not answered"
    causes: tuple[tuple[str, str], ...] = ()   # (cause id, its sentence) of the wrong numbers, each id once


@dataclass(frozen=True)
class Graded:
    """A submission's counts, or the one-line error that kept it from being graded."""

    student: str
    variant: str
    counts: dict[str, int] | None = None     # asked, answered, correct, rounding, follows_through, wrong
    error: str = ""
    feedback: str = ""
    claims: tuple[ClaimGrade, ...] = ()
    copied: CopyMatch | None = None

    @property
    def score(self) -> Fraction | None:
        if self.counts is None or not self.counts["asked"]:
            return None
        c = self.counts
        return Fraction(c["correct"] + c["rounding"] + c["follows_through"], c["asked"])

    def row(self) -> list[str]:
        """The grades.csv row, every field a string (empty counts for a submission that was not read)."""
        if self.counts is None:
            return [self.student, self.variant] + [""] * 7 + [self.error]
        counts = [str(self.counts[name]) for name in COLUMNS[2:8]]
        return [self.student, self.variant, *counts, score_text(self.score), self.error]


def score_text(score: Fraction | None) -> str:
    """The score to 3 decimals, halves rounded up (exact: 5/8 is 0.625, 1/3 is 0.333)."""
    if score is None:
        return ""
    exact = Decimal(score.numerator) / Decimal(score.denominator)
    return str(exact.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP))


class Grader:
    """Grades submissions against an exercise's variants: ``specs`` maps a variant ("001") to its spec file;
    a single spec (every submission graded against it, whatever its variant) is the one entry ``""``."""

    def __init__(self, specs: dict[str, str], lang: str = "en") -> None:
        self.specs = specs
        self.lang = lang
        self.single = list(specs) == [""]
        self._derivations: dict[str, Derivation] = {}
        self._templates: dict[str, dict[tuple, ClaimGrade]] = {}
        self.keys = Keys(self.derivation)

    def derivation(self, variant: str) -> Derivation:
        if variant not in self._derivations:
            self._derivations[variant] = Derivation(load_spec(self.specs[variant]))
        return self._derivations[variant]

    def template(self, variant: str) -> dict[tuple, ClaimGrade]:
        """The quantities the variant's answers.toml asks for (a claim a student deleted is still asked)."""
        if variant not in self._templates:
            path = Path(self.specs[variant]).with_name("answers.toml")
            asked: dict[tuple, ClaimGrade] = {}
            if not self.single and path.is_file():
                template = parse_answers(_read(str(path), f"{variant}/answers.toml"), self.derivation(variant),
                                         f"{variant}/answers.toml")
                for claim in sorted(template.claims + template.unanswered, key=lambda c: c.position):
                    asked.setdefault(_key(claim), _claim_grade(claim, NOT_ANSWERED, (), self.lang))
            self._templates[variant] = asked
        return self._templates[variant]

    def grade(self, path: str) -> Graded:
        name = Path(path).name
        student = Path(path).stem
        variant = ""
        try:
            text = _read(path, name)
            variant = _written_variant(text, name)
            own = "" if self.single else self._variant(variant, name)
            derivation = self.derivation(own)
            answers = parse_answers(text, derivation, name)
        except SpecError as exc:
            return Graded(student, variant, error=printable(str(exc)), feedback=printable(str(exc)) + "\n")
        copied = None if self.single else copied_from(answers, own, sorted(self.specs), self.keys)
        try:     # numbers that are another variant's key: no likely causes to find in them
            result = check(derivation, answers, explain=copied is None)
        except Exception as exc:  # noqa: BLE001 - one submission the checker trips on must not stop the class
            line = f"{name}: expected answers the checker can judge (it failed: {type(exc).__name__}: {exc})"
            return Graded(student, variant, error=printable(line.splitlines()[0]), feedback=printable(line) + "\n")
        spec_name = Path(self.specs[own]).name if self.single else f"{own}/spec.toml"
        feedback = printable(render_text(result, self.lang, answers_name=name, spec_name=spec_name))
        claims = [_claim_grade(r.claim, r.verdict, _causes(r, self.lang), self.lang) for r in result.results]
        claims += [_claim_grade(c, NOT_ANSWERED, (), self.lang) for c in answers.unanswered]
        missing = [c for key, c in self.template(own).items() if key not in {c.key for c in claims}]
        if missing:     # deleted from the file: asked all the same
            feedback += blank_words(self.lang)["missing"].format(names=", ".join(c.label for c in missing)) + "\n"
        claims = sorted(claims, key=lambda c: c.position) + missing
        verdicts = [c.verdict for c in claims]
        counts = {"asked": len(claims), "answered": len(result.results), "correct": verdicts.count("correct"),
                  "rounding": verdicts.count("rounding"), "follows_through": verdicts.count("follows-through"),
                  "wrong": verdicts.count("wrong")}
        if copied is not None:
            feedback += _NOT_SEARCHED[self.lang].format(variant=copied.variant) + "\n"
        return Graded(student, variant, counts, "", feedback, tuple(claims), copied)

    def _variant(self, variant: str, name: str) -> str:
        if not variant:
            raise SpecError("variant", f"expected the variant this file answers, as variant = \"001\" at the top "
                                       f"(one of {', '.join(sorted(self.specs))}), got none", name)
        if variant not in self.specs:
            raise SpecError("variant", f"expected one of the exercise's variants {', '.join(sorted(self.specs))}, "
                                       f"got unknown variant {variant!r}", name)
        return variant


#: the feedback's note when the numbers are another variant's key (the likely causes were not searched)
_NOT_SEARCHED = {"en": "These numbers are variant {variant}'s key: likely causes were not searched.",
                 "pt": "Estes números são a chave da variante {variant}: as causas prováveis não foram procuradas."}


def _read(path: str, name: str) -> str:
    try:
        with open(path, "rb") as handle:
            raw = read_capped(handle, name, "an answers file")
    except OSError as exc:
        raise SpecError("", f"expected a readable answers file ({exc.strerror or exc})", name) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError("", f"expected a UTF-8 text file ({exc.reason} at byte {exc.start})", name) from None


def _written_variant(text: str, name: str) -> str:
    """The top-level ``variant`` as written ("" without one); bad TOML is reported as the checker does."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_error(str(exc), text, name) from None
    except Exception as exc:  # e.g. RecursionError on absurd nesting
        raise SpecError("", f"expected valid TOML ({type(exc).__name__})", name) from None
    try:
        return variant_of(data.get("variant")) or ""
    except SpecError as exc:
        raise exc.with_source(name) from None


def _causes(result, lang: str) -> tuple[tuple[str, str], ...]:
    """Each likely cause of the claim's wrong numbers once: (id, its sentence as the report words it)."""
    alternatives = [combo for e in result.entries if e.verdict == "wrong" for combo in e.causes]
    if result.formula is not None and result.verdict == "wrong":
        alternatives += list(result.formula.causes)
    seen: dict[str, str] = {}
    for combo in alternatives:
        for cause in combo:
            seen.setdefault(cause.id, cause_text(cause, lang))
    return tuple(seen.items())


def _key(claim) -> tuple:
    """The quantity a claim is about, however it is written (a[L] and a[3] alike)."""
    return claim.kind, claim.layer, claim.example, claim.unit, claim.step


def _claim_grade(claim, verdict: str, causes: tuple, lang: str) -> ClaimGrade:
    return ClaimGrade(_key(claim), claim_label(claim.quantity, claim.example, lang, claim.unit), claim.position, verdict,
                      causes)


# ---------------------------------------------------------------- worker processes

_GRADER: Grader | None = None


def start_worker(specs: dict[str, str], lang: str) -> None:
    """A worker's initializer: its own Grader (derivations are built there, once per variant)."""
    global _GRADER
    _GRADER = Grader(specs, lang)


def grade_in_worker(path: str) -> Graded:
    assert _GRADER is not None, "start_worker first"
    return _GRADER.grade(path)
