"""The check's report: plain text in English or Portuguese, or JSON. Deterministic: no times, no paths
beyond the names the caller passes, numbers printed by ``mpmath.nstr``."""
from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import mpmath
import numpy as np

from ..documents.words import words as _words   # the one en/pt word table, shared with the documents
from ..evaluation.numbers import to_mpf
from .blank import NOT_ANSWERED, blank_words, claim_label
from .check import CheckResult, ClaimResult, EntryResult, index_of
from .mistakes import Cause
from .nodes import Key, split_state
from .optimizer_words import optimizer_words
from .spatial_words import spatial_words


#: a number as the report prints it (a counterexample's value, a cause's detail): only these get a decimal comma
_NUMBER = re.compile(r"[-+−]?\d+(\.\d+)?([eE][-+]?\d+)?")


def number(value: Any, digits: int = 6, lang: str = "en") -> str:
    """A value for people: ``digits`` significant digits, the same on every run; a decimal comma in pt.

    The conversion runs at a fixed precision: ``mpmath.mpf`` rounds to the precision in force,
    which another module may have changed, and the printed digits must not depend on it.
    JSON calls this with the default ``en``: its numbers keep the point.
    """
    with mpmath.workdps(60):
        return localized(mpmath.nstr(mpmath.mpf(value), digits, strip_zeros=True), lang)


def localized(text: str, lang: str) -> str:
    """``text`` with a decimal comma in Portuguese (0,5), when it is a number; anything else as it is."""
    if lang == "pt" and _NUMBER.fullmatch(text):
        return text.replace(".", ",")
    return text


def _digits_for(value: Any, tolerance: Decimal, least: int) -> int:
    """Significant digits that show ``value`` one place finer than ``tolerance`` (at least ``least``, at most 15)."""
    with mpmath.workdps(60):
        size = mpmath.mpf(value)
        if size == 0 or tolerance <= 0:
            return least
        places = int(mpmath.floor(mpmath.log10(abs(size)))) - int(mpmath.floor(mpmath.log10(to_mpf(tolerance))))
    return min(15, max(least, places + 2))


def tolerance_text(tolerance: Decimal, lang: str) -> str:
    """±0.00005 (pt: ±0,00005): the tolerance a number was judged with, as a plain decimal."""
    return "±" + localized(format(tolerance.normalize(), "f"), lang)


def claim_name(result: ClaimResult, lang: str) -> str:
    claim = result.claim
    name = claim.quantity.replace(" ", "")
    if claim.example is not None:
        name += f" ({_words(lang)['example'].format(n=claim.example + 1)})"
    if claim.step > 1:
        name += f" ({optimizer_words(lang)['after_steps'].format(n=claim.step)})"
    return name


def entry_name(result: ClaimResult, entry: EntryResult) -> str:
    """``a[2]_2`` for one unit of a vector, ``dW[1]_(1,2)`` for a matrix entry, ``C`` for one number."""
    base = result.claim.quantity.replace(" ", "")
    if entry.position == () or (result.claim.unit is None and result.claim.value.size == 1):
        return base
    position = shown_entry(result, entry)
    if len(position) == 1:
        return f"{base}_{position[0] + 1}"
    return f"{base}_({','.join(str(p + 1) for p in position)})"


def shown_entry(result: ClaimResult, entry: EntryResult) -> tuple[int, ...]:
    """The entry's position as the claim writes it: (c, i, j) for a unit of a conv or pool layer."""
    shape = result.claim.shape
    if shape is None or len(entry.position) != 1:
        return tuple(entry.position)
    return tuple(int(i) for i in np.unravel_index(entry.position[0], shape))


def cause_text(cause: Cause, lang: str) -> str:
    words = {**_words(lang), **optimizer_words(lang), **spatial_words(lang)}
    details = {key: localized(value, lang) for key, value in cause.details}
    if cause.id == "misread":
        return words["misread_" + details["what"]].format(**details)
    if cause.id == "padding_forgotten_backward":
        details["what"] = words["padding_what_" + details["what"]]
    name = "learning_rate_sign_optimizer" if cause.id == "learning_rate_sign" and "optimizer" in details else cause.id
    text = words[name].format(**details)
    if "scope" in details:
        text += words["in_example"].format(example=details["scope"])
    return text


def causes_text(causes: list[tuple[Cause, ...]], lang: str) -> str:
    words = _words(lang)
    if not causes:
        return words["no_cause"]
    alternatives = [words["and"].join(cause_text(c, lang) for c in combo) for combo in causes]
    key = "cause" if len(alternatives) == 1 else "causes"
    return words[key].format(text=words["or"].join(alternatives))


def _intermediate(key: Key, position: tuple, lang: str) -> str:
    kind, layer, example, step = key
    state = split_state(kind)
    name = kind if layer is None else f"{state[0]}({state[1]}[{layer}])" if state else f"{kind}[{layer}]"
    if position:
        name += "_" + ",".join(str(p + 1) for p in position)
    if example is not None:
        name += f" ({_words(lang)['example'].format(n=example + 1)})"
    if step > 1:
        name += f" ({optimizer_words(lang)['after_steps'].format(n=step)})"
    return name


def _judged(claimed: Decimal | None, reference: Any, tolerance: Decimal, lang: str) -> str:
    """How far the claim is from the value it was judged against, with the tolerance it was judged with.

    Within the tolerance: "within ±0.00005". Further (an earlier claimed number was rounded, and that
    rounding moves this value too; ``check.py`` allows for it): the distance, and that it is allowed.
    """
    words = _words(lang)
    tol = tolerance_text(tolerance, lang)
    if claimed is None:
        return words["judged_within"].format(tolerance=tol)
    with mpmath.workdps(60):
        distance = abs(to_mpf(claimed) - mpmath.mpf(reference))
        if distance <= to_mpf(tolerance):
            return words["judged_within"].format(tolerance=tol)
        return words["judged_carried"].format(distance=number(distance, 2, lang), tolerance=tol)


def entry_text(entry: EntryResult, lang: str, claimed: Decimal | None = None) -> str:
    """The verdict on one number, the right value, and why: what it follows from, with the tolerance.

    ``claimed`` is the number as read (the distance to what it is judged against is shown when the
    tolerance alone does not cover it).
    """
    words = _words(lang)
    verdict = words[entry.verdict]
    if entry.verdict == "correct":
        return verdict
    right = number(entry.correct, _digits_for(entry.correct, entry.tolerance, 6), lang)
    parts = [words["right_value"].format(value=right)]
    if entry.verdict in ("follows-through", "rounding"):
        if entry.note == "truncated":
            reference = entry.expected if entry.expected is not None else entry.correct
            parts.append(words["truncated"] + f" ({number(reference, 8, lang)})")
        elif entry.note == "rounded" and entry.rounded is not None:
            key, position, value = entry.rounded
            parts.append(words["rounded_from"].format(what=_intermediate(key, position, lang),
                                                      value=localized(value, lang)))
        elif entry.expected is not None:
            which = "from_yours" if entry.verdict == "follows-through" else "from_rounded"
            shown = number(entry.expected, _digits_for(entry.expected, entry.tolerance, 8), lang)
            parts.append(words[which].format(value=shown)
                         + f" ({_judged(claimed, entry.expected, entry.tolerance, lang)})")
    else:
        parts[0] += f" ({words['allowed'].format(tolerance=tolerance_text(entry.tolerance, lang))})"
        if entry.expected is not None:
            parts.append(words["from_yours"].format(value=number(entry.expected, lang=lang)))
        parts.append(causes_text(entry.causes, lang))
    return f"{verdict}: " + "; ".join(parts)


def formula_text(result: ClaimResult, lang: str) -> str:
    words = _words(lang)
    f = result.formula
    verdict = words[f.verdict]
    layers = f.layers
    where = words["at_layer"].format(layer=", ".join(map(str, layers))) if result.claim.generic_layer else ""
    assumption = words["targets_sum_to_one"] if f.assumption else ""
    if result.claim.prop is not None:
        if f.verdict == "wrong":
            detail = words["affine_wrong"].format(claimed=f.claimed, point=_point(f.counterexample, lang),
                                                  derived_value=localized(f.derived_value or "", lang))
        elif f.verdict == "correct":
            detail = words["affine_correct"].format(derived=f.derived, quantity=result.claim.quantity)
        else:
            detail = words["formula_unproven"].format(derived=f.derived)
    elif f.verdict == "correct":
        detail = words["formula_correct"].format(derived=f.derived) + assumption
    elif f.verdict == "wrong":
        detail = words["formula_wrong"].format(derived=f.derived, point=_point(f.counterexample, lang),
                                               claimed_value=localized(f.claimed_value or "", lang),
                                               derived_value=localized(f.derived_value or "", lang))
        detail += assumption + "; " + causes_text(f.causes, lang)
    else:
        detail = words["formula_unproven"].format(derived=f.derived)
    return f"{verdict}{where}: {detail}"


def _point(values: dict[str, str] | None, lang: str = "en") -> str:
    return ", ".join(f"{k} = {localized(v, lang)}" for k, v in (values or {}).items())


# ---------------------------------------------------------------- text

def render_text(result: CheckResult, lang: str = "en", answers_name: str | None = None,
                spec_name: str | None = None) -> str:
    """The human-readable report."""
    words = _words(lang)
    lines = title_lines(result, lang, answers_name, spec_name)
    lines += ["", words["order"], ""]
    for n, claim_result in enumerate(result.results, start=1):
        head = f"{n:>3}. {claim_name(claim_result, lang)}: {words[claim_result.verdict]}"
        if claim_result.first_wrong:
            head += "  " + words["first_wrong"]
        lines.append(head)
        lines += [f"       {name}{text}" for _, name, text in claim_details(claim_result, lang)]
    not_answered = blank_words(lang)["not_answered"]
    for n, name in enumerate(unanswered_names(result, lang), start=len(result.results) + 1):   # asked, left empty
        lines.append(f"{n:>3}. {name}: {not_answered}")
    lines += [""] + summary_lines(result, lang)
    return "\n".join(lines) + "\n"


def title_lines(result: CheckResult, lang: str, answers_name: str | None = None,
                spec_name: str | None = None) -> list[str]:
    """The report's first line (which answers, against which spec), and the answers' title if they have one."""
    lines = [_words(lang)["title"].format(answers=answers_name or result.answers.source,
                                          spec=spec_name or result.spec_name)]
    return lines + ([result.answers.title] if result.answers.title else [])


def claim_details(claim_result: ClaimResult, lang: str) -> list[tuple[str | None, str, str]]:
    """The lines under a claim's heading as (verdict, what, text): ``text`` begins with the verdict's word
    (verdict None: the claimed expression, as written); ``what`` is the number's name and value, or ""."""
    claim = claim_result.claim
    lines: list[tuple[str | None, str, str]] = []
    if claim.expression is not None:
        lines.append((None, "", f"{claim.quantity} = {claim.expression}"))
    if claim_result.formula is not None:
        lines.append((claim_result.formula.verdict, "", formula_text(claim_result, lang)))
    for entry in claim_result.entries:
        claimed = claim.value[index_of(claim, entry.position)]
        lines.append((entry.verdict, f"{entry_name(claim_result, entry)} = {entry.written}: ",
                      entry_text(entry, lang, claimed)))
    return lines


def unanswered_names(result: CheckResult, lang: str) -> list[str]:
    """The claims the answers file asks for but leaves empty, as the report names them."""
    return [claim_label(c.quantity, c.example, lang, c.unit) for c in result.answers.unanswered]


def summary_lines(result: CheckResult, lang: str) -> list[str]:
    """The report's last two lines: how many numbers got each verdict, and the first wrong step."""
    words, blank = _words(lang), blank_words(lang)
    counts = result.counts()
    parts = ", ".join(words[f"count_{k}"].format(n=v) for k, v in counts.items())
    if result.answers.unanswered:
        n = len(result.answers.unanswered)
        parts += "; " + (blank["count_one"] if n == 1 else blank["count"].format(n=n))
    first = next((claim_name(r, lang) for r in result.results if r.first_wrong), None)
    return [words["summary"].format(total=sum(counts.values()), parts=parts),
            words["first_step"].format(name=first) if first else words["none_wrong"]]


# ---------------------------------------------------------------- JSON

def _cause_json(causes: list[tuple[Cause, ...]]) -> list[list[dict[str, str]]]:
    return [[c.as_dict() for c in combo] for combo in causes]


def as_json(result: CheckResult, answers_name: str | None = None, spec_name: str | None = None) -> dict:
    """The report as plain data (every number a string, as printed by mpmath at 15 digits)."""
    claims = []
    for order, r in enumerate(result.results, start=1):
        item: dict[str, Any] = {
            "order": order,
            "claim": r.claim.position,       # 0-based, as in the claim[N] of error messages
            "quantity": r.claim.quantity,
            "example": None if r.claim.example is None else r.claim.example + 1,
            **({"step": r.claim.step} if r.claim.step > 1 else {}),
            "verdict": r.verdict,
            "first_wrong": r.first_wrong,
        }
        if r.claim.note:
            item["note"] = r.claim.note
        if r.formula is not None:
            f = r.formula
            item["formula"] = {
                "expression": r.claim.expression, "property": r.claim.prop, "layers": f.layers,
                "derived": f.derived, "counterexample": f.counterexample, "claimed_value": f.claimed_value,
                "derived_value": f.derived_value, "assumption": f.assumption, "causes": _cause_json(f.causes),
            }
        item["numbers"] = [{
            "entry": [p + 1 for p in shown_entry(r, e)],
            "written": e.written,
            "tolerance": str(e.tolerance),
            "verdict": e.verdict,
            "correct": number(e.correct, 15),
            "from_own_numbers": None if e.expected is None else number(e.expected, 15),
            "note": e.note,
            "rounded_intermediate": None if e.rounded is None else {
                "quantity": e.rounded[0].kind,
                "layer": e.rounded[0].layer,
                "example": None if e.rounded[0].example is None else e.rounded[0].example + 1,
                "entry": [p + 1 for p in e.rounded[1]], "value": e.rounded[2]},
            "causes": _cause_json(e.causes),
        } for e in r.entries]
        claims.append(item)
    for claim in result.answers.unanswered:     # asked, left empty: neither right nor wrong
        claims.append({"order": len(claims) + 1, "claim": claim.position, "quantity": claim.quantity,
                       "example": None if claim.example is None else claim.example + 1,
                       **({"step": claim.step} if claim.step > 1 else {}), "verdict": NOT_ANSWERED,
                       "first_wrong": False, **({"note": claim.note} if claim.note else {}), "numbers": []})
    first = next((c for c in claims if c["first_wrong"]), None)
    return {
        "spec": spec_name or result.spec_name,
        "answers": answers_name or result.answers.source,
        "title": result.answers.title,
        "ok": result.ok,
        "counts": {**result.counts(), **({NOT_ANSWERED: len(result.answers.unanswered)}
                                         if result.answers.unanswered else {})},
        "first_wrong": None if first is None else {"order": first["order"], "quantity": first["quantity"],
                                                   "example": first["example"]},
        "claims": claims,
    }


def render_json(result: CheckResult, answers_name: str | None = None, spec_name: str | None = None) -> str:
    return json.dumps(as_json(result, answers_name, spec_name), ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------- generated/ reports

def answer_reports(derivation, folder) -> dict[str, str]:
    """The reports of every ``answers*.toml`` beside a spec: ``NAME.report.en.txt``, ``.pt.txt`` and ``.json``.

    A producer for ``deltagen.codegen.refresh`` (``(derivation, folder) -> {file name: text}``); names in the
    reports are the file names, so the reports do not depend on where the repository lives.
    """
    from pathlib import Path

    from .answers import load_answers
    from .check import check

    files: dict[str, str] = {}
    for path in sorted(Path(folder).glob("answers*.toml")):
        result = check(derivation, load_answers(path, derivation))
        names = {"answers_name": path.name, "spec_name": "spec.toml"}
        files[f"{path.stem}.report.en.txt"] = render_text(result, "en", **names)
        files[f"{path.stem}.report.pt.txt"] = render_text(result, "pt", **names)
        files[f"{path.stem}.report.json"] = render_json(result, **names)
    return files
