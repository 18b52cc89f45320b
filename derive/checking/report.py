"""The check's report: plain text in English or Portuguese, or JSON. Deterministic: no times, no paths
beyond the names the caller passes, numbers printed by ``mpmath.nstr``."""
from __future__ import annotations

import json
from typing import Any

import mpmath

from .check import CheckResult, ClaimResult, EntryResult
from .graph import Key
from .mistakes import Cause

LANGUAGES = ("en", "pt")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "deltagen check: {answers} against {spec}",
        "order": "Claims in the order they are computed; the first wrong step is marked.",
        "example": "example {n}",
        "correct": "correct",
        "wrong": "wrong",
        "follows-through": "follows through",
        "rounding": "rounding",
        "unproven": "not decided",
        "first_wrong": "<- first wrong step",
        "right_value": "right value {value}",
        "from_yours": "what your earlier numbers give: {value}",
        "from_rounded": "what the rounded earlier numbers give: {value}",
        "truncated": "cut off instead of rounded",
        "rounded_from": "from {what} rounded to {value}",
        "cause": "likely cause: {text}",
        "causes": "likely causes: {text}",
        "or": "; or ",
        "and": ", together with ",
        "no_cause": "no known cause",
        "summary": "Summary: {total} numbers and formulas: {parts}.",
        "first_step": "First wrong step: {name}.",
        "none_wrong": "No wrong step.",
        "formula_correct": "equal to the derivation's {derived} for every input",
        "formula_correct_layers": "equal to the derivation's for every input, at layers {layers}",
        "formula_wrong": "the derivation gives {derived}; at {point} the claim is {claimed_value} but it is "
                         "{derived_value}",
        "formula_unproven": "SymPy could not reduce the difference to 0, and found no point where they differ "
                            "(the derivation gives {derived})",
        "affine_correct": "every second derivative in x is 0: {quantity} = {derived}",
        "affine_wrong": "{claimed} fails at {point}: it is {derived_value}",
        "targets_sum_to_one": " (using that the targets sum to 1)",
        "at_layer": " at layer {layer}",
        "count_correct": "{n} correct", "count_wrong": "{n} wrong", "count_follows-through": "{n} follow through",
        "count_rounding": "{n} rounding", "count_unproven": "{n} not decided",
        # causes
        "sigmoid_sign": "a sign slip in the sigmoid's exponent, 1/(1 + e^z) for σ(z) (layer {layers})",
        "sum_for_mean": "a sum over the examples where the cost is their mean (the 1/m left out)",
        "mean_for_sum": "a mean (1/m) where the cost is the sum over the examples",
        "loss_doubled": "a factor 2 too many (the ½ of the loss left out, or a 2 kept from differentiating the square)",
        "loss_halved": "a factor ½ too many",
        "g_for_derivative": "g(z) used where its derivative g'(z) belongs (layer {layers})",
        "derivative_sign": "the wrong sign: y − a where a − y belongs",
        "transposed_forward": "the weights transposed in the forward pass, z = Wᵀa (layer {layers})",
        "transposed_backward": "W δ where Wᵀ δ belongs (the weights of layer {layers})",
        "learning_rate_sign": "the step taken uphill, W + η ∂C/∂W",
        "sequential": "the earlier layers' δ computed with weights already updated",
        "single_example": "the step taken with example {example} alone (its gradient, not the batch's)",
        "misread_y": "the target y_{unit} of example {example} read as {read} instead of {actual}",
        "misread_x": "the input x_{unit} of example {example} read as {read} instead of {actual}",
        "digit_slip": "a slip of the pen: one digit differs from {expected}",
        "derivative_left_out": "the activation's derivative g'(z) left out (layer {layers})",
        "in_example": ", in example {example} only",
    },
    "pt": {
        "title": "deltagen check: {answers} contra {spec}",
        "order": "Afirmações na ordem em que são calculadas; o primeiro passo errado está marcado.",
        "example": "exemplo {n}",
        "correct": "correto",
        "wrong": "errado",
        "follows-through": "segue do erro anterior",
        "rounding": "arredondamento",
        "unproven": "não decidido",
        "first_wrong": "<- primeiro passo errado",
        "right_value": "valor correto {value}",
        "from_yours": "o que seus valores anteriores dão: {value}",
        "from_rounded": "o que os valores anteriores arredondados dão: {value}",
        "truncated": "truncado em vez de arredondado",
        "rounded_from": "a partir de {what} arredondado para {value}",
        "cause": "causa provável: {text}",
        "causes": "causas prováveis: {text}",
        "or": "; ou ",
        "and": ", junto com ",
        "no_cause": "nenhuma causa conhecida",
        "summary": "Resumo: {total} números e fórmulas: {parts}.",
        "first_step": "Primeiro passo errado: {name}.",
        "none_wrong": "Nenhum passo errado.",
        "formula_correct": "igual à expressão {derived} da derivação, para qualquer entrada",
        "formula_correct_layers": "igual à da derivação para qualquer entrada, nas camadas {layers}",
        "formula_wrong": "a derivação dá {derived}; em {point} a afirmação vale {claimed_value}, mas o valor é "
                         "{derived_value}",
        "formula_unproven": "o SymPy não reduziu a diferença a 0 nem achou um ponto em que elas diferem "
                            "(a derivação dá {derived})",
        "affine_correct": "toda derivada segunda em x é 0: {quantity} = {derived}",
        "affine_wrong": "{claimed} falha em {point}: vale {derived_value}",
        "targets_sum_to_one": " (usando que os alvos somam 1)",
        "at_layer": " na camada {layer}",
        "count_correct": "{n} corretos", "count_wrong": "{n} errados", "count_follows-through": "{n} seguem do erro",
        "count_rounding": "{n} arredondamento", "count_unproven": "{n} não decididos",
        "sigmoid_sign": "sinal trocado no expoente da sigmoide, 1/(1 + e^z) no lugar de σ(z) (camada {layers})",
        "sum_for_mean": "soma sobre os exemplos onde o custo é a média (faltou o 1/m)",
        "mean_for_sum": "média (1/m) onde o custo é a soma sobre os exemplos",
        "loss_doubled": "um fator 2 a mais (faltou o ½ da perda, ou sobrou o 2 da derivada do quadrado)",
        "loss_halved": "um fator ½ a mais",
        "g_for_derivative": "g(z) usada no lugar da derivada g'(z) (camada {layers})",
        "derivative_sign": "sinal trocado: y − a no lugar de a − y",
        "transposed_forward": "pesos transpostos na propagação direta, z = Wᵀa (camada {layers})",
        "transposed_backward": "W δ no lugar de Wᵀ δ (pesos da camada {layers})",
        "learning_rate_sign": "passo no sentido do gradiente, W + η ∂C/∂W",
        "sequential": "δ das camadas anteriores calculados com os pesos já atualizados",
        "single_example": "passo dado só com o exemplo {example} (o gradiente dele, não o do lote)",
        "misread_y": "o alvo y_{unit} do exemplo {example} lido como {read} em vez de {actual}",
        "misread_x": "a entrada x_{unit} do exemplo {example} lida como {read} em vez de {actual}",
        "digit_slip": "erro de cópia: um dígito difere de {expected}",
        "derivative_left_out": "faltou a derivada da ativação g'(z) (camada {layers})",
        "in_example": ", só no exemplo {example}",
    },
}


def number(value: Any, digits: int = 6) -> str:
    """A value for people: ``digits`` significant digits, the same on every run.

    The conversion runs at a fixed precision: ``mpmath.mpf`` rounds to the precision in force,
    which another module may have changed, and the printed digits must not depend on it.
    """
    with mpmath.workdps(60):
        return mpmath.nstr(mpmath.mpf(value), digits, strip_zeros=True)


def _words(lang: str) -> dict[str, str]:
    if lang not in WORDS:
        raise ValueError(f"--lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    return WORDS[lang]


def claim_name(result: ClaimResult, lang: str) -> str:
    claim = result.claim
    name = claim.quantity.replace(" ", "")
    if claim.example is not None:
        name += f" ({_words(lang)['example'].format(n=claim.example + 1)})"
    return name


def entry_name(result: ClaimResult, entry: EntryResult) -> str:
    """``a[2]_2`` for one unit of a vector, ``dW[1]_(1,2)`` for a matrix entry, ``C`` for one number."""
    base = result.claim.quantity.replace(" ", "")
    if entry.position == () or (result.claim.unit is None and result.claim.value.size == 1):
        return base
    if len(entry.position) == 1:
        return f"{base}_{entry.position[0] + 1}"
    return f"{base}_({entry.position[0] + 1},{entry.position[1] + 1})"


def cause_text(cause: Cause, lang: str) -> str:
    words = _words(lang)
    details = dict(cause.details)
    if cause.id == "misread":
        return words["misread_" + details["what"]].format(**details)
    text = words[cause.id].format(**details)
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
    kind, layer, example = key
    name = kind if layer is None else f"{kind}[{layer}]"
    if position:
        name += "_" + ",".join(str(p + 1) for p in position)
    if example is not None:
        name += f" ({_words(lang)['example'].format(n=example + 1)})"
    return name


def entry_text(entry: EntryResult, lang: str, layer_offset: int = 0) -> str:
    words = _words(lang)
    verdict = words[entry.verdict]
    if entry.verdict == "correct":
        return verdict
    parts = [words["right_value"].format(value=number(entry.correct))]
    if entry.verdict in ("follows-through", "rounding"):
        if entry.note == "truncated":
            parts.append(words["truncated"] + (
                f" ({number(entry.expected if entry.expected is not None else entry.correct, 8)})"))
        elif entry.note == "rounded" and entry.rounded is not None:
            key, position, value = entry.rounded
            shown = key._replace(layer=None if key.layer is None else key.layer + layer_offset)
            parts.append(words["rounded_from"].format(what=_intermediate(shown, position, lang), value=value))
        elif entry.expected is not None:
            which = "from_yours" if entry.verdict == "follows-through" else "from_rounded"
            parts.append(words[which].format(value=number(entry.expected, 8)))
    else:
        if entry.expected is not None:
            parts.append(words["from_yours"].format(value=number(entry.expected)))
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
            detail = words["affine_wrong"].format(claimed=f.claimed, point=_point(f.counterexample),
                                                  derived_value=f.derived_value)
        elif f.verdict == "correct":
            detail = words["affine_correct"].format(derived=f.derived, quantity=result.claim.quantity)
        else:
            detail = words["formula_unproven"].format(derived=f.derived)
    elif f.verdict == "correct":
        detail = words["formula_correct"].format(derived=f.derived) + assumption
    elif f.verdict == "wrong":
        detail = words["formula_wrong"].format(derived=f.derived, point=_point(f.counterexample),
                                               claimed_value=f.claimed_value, derived_value=f.derived_value)
        detail += assumption + "; " + causes_text(f.causes, lang)
    else:
        detail = words["formula_unproven"].format(derived=f.derived)
    return f"{verdict}{where}: {detail}"


def _point(values: dict[str, str] | None) -> str:
    return ", ".join(f"{k} = {v}" for k, v in (values or {}).items())


# ---------------------------------------------------------------- text

def render_text(result: CheckResult, lang: str = "en", answers_name: str | None = None,
                spec_name: str | None = None) -> str:
    """The human-readable report."""
    words = _words(lang)
    lines = [words["title"].format(answers=answers_name or result.answers.source,
                                   spec=spec_name or result.spec_name)]
    if result.answers.title:
        lines.append(result.answers.title)
    lines += ["", words["order"], ""]
    first = None
    for n, claim_result in enumerate(result.results, start=1):
        head = f"{n:>3}. {claim_name(claim_result, lang)}: {words[claim_result.verdict]}"
        if claim_result.first_wrong:
            head += "  " + words["first_wrong"]
            first = claim_name(claim_result, lang)
        lines.append(head)
        if claim_result.claim.expression is not None:
            lines.append(f"       {claim_result.claim.quantity} = {claim_result.claim.expression}")
        if claim_result.formula is not None:
            lines.append(f"       {formula_text(claim_result, lang)}")
        for entry in claim_result.entries:
            lines.append(f"       {entry_name(claim_result, entry)} = {entry.written}: {entry_text(entry, lang, result.layer_offset)}")
    counts = result.counts()
    total = sum(counts.values())
    parts = ", ".join(words[f"count_{k}"].format(n=v) for k, v in counts.items())
    lines += ["", words["summary"].format(total=total, parts=parts),
              words["first_step"].format(name=first) if first else words["none_wrong"]]
    return "\n".join(lines) + "\n"


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
            "entry": [p + 1 for p in e.position],
            "written": e.written,
            "tolerance": str(e.tolerance),
            "verdict": e.verdict,
            "correct": number(e.correct, 15),
            "from_own_numbers": None if e.expected is None else number(e.expected, 15),
            "note": e.note,
            "rounded_intermediate": None if e.rounded is None else {
                "quantity": e.rounded[0].kind,
                "layer": None if e.rounded[0].layer is None else e.rounded[0].layer + result.layer_offset,
                "example": None if e.rounded[0].example is None else e.rounded[0].example + 1,
                "entry": [p + 1 for p in e.rounded[1]], "value": e.rounded[2]},
            "causes": _cause_json(e.causes),
        } for e in r.entries]
        claims.append(item)
    first = next((c for c in claims if c["first_wrong"]), None)
    return {
        "spec": spec_name or result.spec_name,
        "answers": answers_name or result.answers.source,
        "title": result.answers.title,
        "ok": result.ok,
        "counts": result.counts(),
        "first_wrong": None if first is None else {"order": first["order"], "quantity": first["quantity"],
                                                   "example": first["example"]},
        "claims": claims,
    }


def render_json(result: CheckResult, answers_name: str | None = None, spec_name: str | None = None) -> str:
    return json.dumps(as_json(result, answers_name, spec_name), ensure_ascii=False, indent=2) + "\n"


# ---------------------------------------------------------------- generated/ reports

def answer_reports(derivation, folder) -> dict[str, str]:
    """The reports of every ``answers*.toml`` beside a spec: ``NAME.report.en.txt``, ``.pt.txt`` and ``.json``.

    A producer for ``codegen.refresh`` (``(derivation, folder) -> {file name: text}``); names in the
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
