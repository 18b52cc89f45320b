"""The check's report as HTML, for a notebook: the text report's lines (``report.py``), each verdict coloured.

``CheckReport`` is the ``CheckResult`` that ``deltagen.check`` returns: the same data, plus ``_repr_html_``.
It is a subclass here rather than a method of ``CheckResult``, because ``check.py`` cannot import
its own report (``report.py`` imports ``check.py``; tests/test_layout.py forbids the cycle).
"""
from __future__ import annotations

import html
from dataclasses import fields

from ..documents.words import words as _words
from .blank import NOT_ANSWERED, blank_words
from .check import CheckResult
from .report import claim_details, claim_name, summary_lines, title_lines, unanswered_names

#: a verdict's colour: green right, amber accepted (it follows from rounding or an earlier mistake), red wrong
COLOURS = {"correct": "#1a7f37", "rounding": "#9a6700", "follows-through": "#9a6700", "wrong": "#cf222e",
           "unproven": "#6e7781", NOT_ANSWERED: "#6e7781"}


def _verdict(verdict: str, text: str, weight: str = "bold") -> str:
    """``text`` in the verdict's colour, with the verdict as its class (``dg-wrong``, ``dg-not-answered``)."""
    style = f"color: {COLOURS.get(verdict, 'inherit')}; font-weight: {weight}"
    return f'<span class="dg-{verdict.replace(" ", "-")}" style="{style}">{html.escape(text)}</span>'


def render_html(result: CheckResult, lang: str = "en", answers_name: str | None = None,
                spec_name: str | None = None) -> str:
    """The report of ``render_text`` as HTML: a list of the claims, their numbers' verdicts and likely causes."""
    words = _words(lang)
    out = [_paragraph(title_lines(result, lang, answers_name, spec_name)), _paragraph([words["order"]]), "<ol>"]
    for claim_result in result.results:
        head = f"{html.escape(claim_name(claim_result, lang))}: " + _verdict(claim_result.verdict,
                                                                           words[claim_result.verdict])
        if claim_result.first_wrong:
            head += f" <em>{html.escape(words['first_wrong'])}</em>"
        details = "".join(f"<li>{_detail(verdict, what, text)}</li>"
                          for verdict, what, text in claim_details(claim_result, lang))
        out.append(f'<li>{head}<ul style="list-style: none">{details}</ul></li>')
    not_answered = blank_words(lang)["not_answered"]
    out += [f"<li>{html.escape(name)}: {_verdict(NOT_ANSWERED, not_answered)}</li>"
            for name in unanswered_names(result, lang)]
    out += ["</ol>", _paragraph(summary_lines(result, lang))]
    return "\n".join(out)


def _paragraph(lines: list[str]) -> str:
    return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>"


def _detail(verdict: str | None, what: str, text: str) -> str:
    """A line under a claim: the number's name and value as written, then its verdict and why, coloured."""
    return html.escape(what) + (html.escape(text) if verdict is None else _verdict(verdict, text, "normal"))


class CheckReport(CheckResult):
    """A ``CheckResult`` that a notebook shows as its coloured report (English)."""

    @classmethod
    def of(cls, result: CheckResult) -> CheckReport:
        return cls(**{f.name: getattr(result, f.name) for f in fields(CheckResult)})

    def __repr__(self) -> str:
        summary = summary_lines(self, "en")
        return f"<CheckReport {self.answers.source} against {self.spec_name}: {summary[0]} {summary[1]}>"

    def _repr_html_(self) -> str:
        return render_html(self)
