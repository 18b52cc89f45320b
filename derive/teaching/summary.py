"""The class summary: summary.md (scores, each asked quantity's verdicts, the most frequent causes,
answers that match another variant's key) and summary.png (the same counts as a plot).

What an instructor reads to decide what to explain again. Deterministic: rows in a fixed order,
ties broken by name, the plot drawn by matplotlib's Agg backend at a fixed size without a
"Software" stamp.
"""
from __future__ import annotations

import statistics
from collections import Counter
from fractions import Fraction
from pathlib import Path

from ..checking.blank import NOT_ANSWERED
from .copying import SHARE
from .gradebook import Graded, score_text

VERDICTS = ("correct", "rounding", "follows-through", "wrong", NOT_ANSWERED)
#: causes shown per quantity
TOP_CAUSES = 3
#: score bins: [0, 0.1), [0.1, 0.2), ..., [0.9, 1), and 1 alone (full marks)
BINS = 10
PLOT_SIZE = (10.0, 4.0)
PLOT_DPI = 100
#: the plot's colours, one per verdict (colour-blind safe: Okabe-Ito)
COLOURS = ("#009E73", "#56B4E9", "#E69F00", "#D55E00", "#BBBBBB")

_WORDS = {
    "en": {
        "title": "Class summary: {name}", "count": "{n} submissions: {graded} graded, {unread} could not be read.",
        "scores": "Scores", "score": "score", "submissions": "submissions",
        "stats": "Mean {mean}, median {median}, lowest {low}, highest {high}.",
        "quantities": "Per asked quantity", "quantity": "quantity",
        "verdicts": ("correct", "rounding", "follows through", "wrong", "not answered"),
        "causes": "Most frequent likely causes", "no_causes": "No wrong number has a known cause.",
        "example": "e.g.", "copied": "Answers matching another variant's key",
        "copied_intro": "At least {share}% of the claimed numbers (and more than for its own variant) are right for "
                        "another variant: possibly copied from a classmate.",
        "copied_head": ("student", "variant", "matches variant", "numbers right there", "right for its own"),
        "of": "{m} of {n}", "none_copied": "None.", "unread": "Submissions that could not be read",
        "error": "error", "plot": "![Scores and verdicts per quantity](summary.png)",
        "no_plot": "(The plot summary.png needs matplotlib: pip install 'deltagen[teach]'.)",
        "plot_scores": "Scores", "plot_quantities": "Verdicts per asked quantity",
    },
    "pt": {
        "title": "Resumo da turma: {name}", "count": "{n} entregas: {graded} corrigidas, {unread} não puderam ser lidas.",
        "scores": "Notas", "score": "nota", "submissions": "entregas",
        "stats": "Média {mean}, mediana {median}, menor {low}, maior {high}.",
        "quantities": "Por grandeza pedida", "quantity": "grandeza",
        "verdicts": ("corretas", "arredondamento", "seguem do erro", "erradas", "não respondidas"),
        "causes": "Causas prováveis mais frequentes", "no_causes": "Nenhum número errado tem causa conhecida.",
        "example": "ex.", "copied": "Respostas que coincidem com a chave de outra variante",
        "copied_intro": "Ao menos {share}% dos números afirmados (e mais do que para a própria variante) estão certos "
                        "para outra variante: possivelmente copiados de um colega.",
        "copied_head": ("aluno", "variante", "coincide com a variante", "números certos lá", "certos na própria"),
        "of": "{m} de {n}", "none_copied": "Nenhuma.", "unread": "Entregas que não puderam ser lidas",
        "error": "erro", "plot": "![Notas e veredictos por grandeza](summary.png)",
        "no_plot": "(O gráfico summary.png precisa do matplotlib: pip install 'deltagen[teach]'.)",
        "plot_scores": "Notas", "plot_quantities": "Veredictos por grandeza pedida",
    },
}


def words(lang: str) -> dict:
    return _WORDS.get(lang, _WORDS["en"])


def quantity_counts(graded: list[Graded]) -> list[tuple[str, Counter, Counter, dict[str, str]]]:
    """Per asked quantity, in the template's order: (label, verdict counts, cause-id counts, a sentence per id)."""
    table: dict[tuple, tuple[str, int, Counter, Counter, dict[str, str]]] = {}
    for g in graded:
        for claim in g.claims:
            label, position, verdicts, causes, texts = table.setdefault(
                claim.key, (claim.label, claim.position, Counter(), Counter(), {}))
            verdicts[claim.verdict] += 1
            for cause, text in claim.causes:
                causes[cause] += 1
                texts.setdefault(cause, text)
    rows = sorted(table.values(), key=lambda row: (row[1], row[0]))
    return [(label, verdicts, causes, texts) for label, _, verdicts, causes, texts in rows]


def _bin(score: Fraction) -> int:
    return BINS if score == 1 else int(score * BINS)


def _bin_label(index: int) -> str:
    if index == BINS:
        return "1.0"
    return f"{index / BINS:.1f}–{(index + 1) / BINS:.1f}"


def _cell(text: str) -> str:
    """Text in a Markdown table cell: no pipe or line break ends the cell early."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def summary_markdown(graded: list[Graded], name: str, lang: str = "en", plot: bool = True) -> str:
    w = words(lang)
    read = [g for g in graded if g.counts is not None]
    unread = [g for g in graded if g.counts is None]
    lines = [f"# {w['title'].format(name=name)}", "",
             w["count"].format(n=len(graded), graded=len(read), unread=len(unread)), ""]
    lines += [f"## {w['scores']}", ""]
    scores = [g.score for g in read if g.score is not None]
    if scores:
        bins = Counter(_bin(s) for s in scores)
        lines += [f"| {w['score']} | {w['submissions']} |", "|---|---:|"]
        lines += [f"| {_bin_label(i)} | {bins.get(i, 0)} |" for i in range(BINS + 1)]
        lines += ["", w["stats"].format(mean=score_text(sum(scores) / len(scores)),
                                         median=score_text(Fraction(statistics.median(scores))),
                                         low=score_text(min(scores)), high=score_text(max(scores))), ""]
    lines += [w["plot"] if plot else w["no_plot"], ""]
    quantities = quantity_counts(read)
    lines += [f"## {w['quantities']}", "", f"| {w['quantity']} | " + " | ".join(w["verdicts"]) + " |",
              "|---|" + "---:|" * len(VERDICTS)]
    lines += [f"| {_cell(label)} | " + " | ".join(str(verdicts.get(v, 0)) for v in VERDICTS) + " |"
              for label, verdicts, _, _ in quantities]
    lines += ["", f"## {w['causes']}", ""]
    any_cause = False
    for label, _, causes, texts in quantities:
        if not causes:
            continue
        any_cause = True
        top = sorted(causes.items(), key=lambda item: (-item[1], item[0]))[:TOP_CAUSES]
        lines.append(f"- **{_cell(label)}**: " + "; ".join(
            f"`{cause}` ×{n} ({w['example']} “{texts[cause]}”)" for cause, n in top))
    if not any_cause:
        lines.append(w["no_causes"])
    lines += ["", f"## {w['copied']}", "", w["copied_intro"].format(share=round(100 * SHARE)), ""]
    copied = [g for g in read if g.copied is not None]
    if copied:
        lines += ["| " + " | ".join(w["copied_head"]) + " |", "|---|---|---|---:|---:|"]
        lines += [f"| {_cell(g.student)} | {_cell(g.variant)} | {g.copied.variant} | "
                  f"{w['of'].format(m=g.copied.matched, n=g.copied.numbers)} | "
                  f"{w['of'].format(m=g.copied.own, n=g.copied.numbers)} |" for g in copied]
    else:
        lines.append(w["none_copied"])
    if unread:
        lines += ["", f"## {w['unread']}", "", f"| {w['copied_head'][0]} | {w['error']} |", "|---|---|"]
        lines += [f"| {_cell(g.student)} | {_cell(g.error)} |" for g in unread]
    return "\n".join(lines) + "\n"


def write_plot(graded: list[Graded], path: Path, lang: str = "en") -> bool:
    """summary.png: the score histogram and the verdicts per quantity; False when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg", force=True)
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return False
    w = words(lang)
    read = [g for g in graded if g.counts is not None]
    scores = [g.score for g in read if g.score is not None]
    quantities = quantity_counts(read)
    figure = Figure(figsize=(PLOT_SIZE[0], max(PLOT_SIZE[1], 1.0 + 0.3 * len(quantities))), dpi=PLOT_DPI)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": (1, 1.4)})
    bins = Counter(_bin(s) for s in scores)
    left.bar(range(BINS + 1), [bins.get(i, 0) for i in range(BINS + 1)], color=COLOURS[0])
    left.set_xticks(range(BINS + 1), [_bin_label(i) for i in range(BINS + 1)], rotation=60, fontsize=7)
    left.set_title(w["plot_scores"])
    left.set_ylabel(w["submissions"])
    left.yaxis.set_major_locator(MaxNLocator(integer=True))     # counts of students: whole numbers
    labels = [label for label, _, _, _ in quantities]
    start = [0] * len(quantities)
    for verdict, name, colour in zip(VERDICTS, w["verdicts"], COLOURS):
        counts = [verdicts.get(verdict, 0) for _, verdicts, _, _ in quantities]
        right.barh(range(len(labels)), counts, left=start, color=colour, label=name)
        start = [s + c for s, c in zip(start, counts)]
    right.set_yticks(range(len(labels)), labels, fontsize=7)
    right.invert_yaxis()                       # the template's first quantity on top
    right.set_title(w["plot_quantities"])
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(VERDICTS), frameon=False)
    figure.tight_layout()
    figure.savefig(path, format="png", dpi=PLOT_DPI, metadata={"Software": None})
    return True
