"""Test helpers for LaTeX output: compile with pdflatex, and read the results of a worked solution.

Nothing here imports deltagen: a worked solution is read back from its text, so
the tests check what a student sees.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

PDFLATEX = shutil.which("pdflatex")
#: CI sets this, so that a missing pdflatex fails the run instead of skipping the tests
REQUIRE_LATEX = os.environ.get("DELTAGEN_REQUIRE_LATEX") == "1"


def require_pdflatex() -> str:
    """The pdflatex path; skips the test when it is absent, unless DELTAGEN_REQUIRE_LATEX=1 (then fails)."""
    if PDFLATEX is None:
        message = ("pdflatex is not installed (apt-get install texlive-latex-base texlive-latex-recommended "
                   "texlive-pictures)")
        if REQUIRE_LATEX:
            pytest.fail(message + " and DELTAGEN_REQUIRE_LATEX=1 forbids skipping")
        pytest.skip(message + "; set DELTAGEN_REQUIRE_LATEX=1 to make this a failure")
    return PDFLATEX


def compile_latex(text: str, directory: Path, name: str = "doc") -> tuple[Path, str]:
    """Compile ``text`` with pdflatex in ``directory``; returns (pdf path, log). Fails the test on an error."""
    pdflatex = require_pdflatex()
    source = directory / f"{name}.tex"
    source.write_text(text, encoding="utf-8")
    result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                             f"{name}.tex"], cwd=directory, capture_output=True, text=True, errors="replace",
                            timeout=120)
    log = (directory / f"{name}.log").read_text(encoding="utf-8", errors="replace") \
        if (directory / f"{name}.log").exists() else result.stdout
    errors = [line for line in log.splitlines() if line.startswith("!")]
    assert result.returncode == 0, f"pdflatex failed on {name}: {errors or result.stdout[-2000:]}"
    pdf = directory / f"{name}.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000
    return pdf, log


def overfull_widths(log: str) -> list[float]:
    """How far (pt) each overfull box sticks out of the text width."""
    return [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]


# ------------------------------------------------------------------ reading a worked solution

_NUMBER = re.compile(r"^\s*(-?[\d.]+)(?:\s*\\cdot\s*10\^\{(-?\d+)\})?\s*$")


def parse_number(text: str) -> float:
    """``0.9526`` or ``-5.896 \\cdot 10^{-5}`` (or, in Portuguese, ``0{,}9526``) as a float."""
    match = _NUMBER.match(text.replace("{,}", "."))
    assert match, f"not a number: {text!r}"
    mantissa, exponent = match.groups()
    return float(f"{mantissa}e{exponent}" if exponent else mantissa)


def parse_value(text: str) -> list[list[float]]:
    """A result: a bmatrix as rows of floats, or a scalar as [[x]]."""
    text = text.strip()
    match = re.fullmatch(r"\\begin\{bmatrix\}(.*)\\end\{bmatrix\}", text)
    if not match:
        return [[parse_number(text)]]
    rows = [row for row in match.group(1).split(r"\\")]
    return [[parse_number(cell) for cell in row.split("&")] for row in rows]


def sections(document: str) -> list[tuple[str, str]]:
    """(title, body) of every section, in order; works for LaTeX (\\section*) and Markdown (##)."""
    pattern = re.compile(r"^(?:\\section\*\{(.*)\}|## (.*))$", re.M)
    marks = list(pattern.finditer(document))
    out = []
    for mark, following in zip(marks, marks[1:] + [None]):
        end = following.start() if following else len(document)
        out.append((mark.group(1) or mark.group(2), document[mark.end():end]))
    return out


def results(body: str) -> dict[str, list[tuple[str, str]]]:
    """{left-hand side: [(relation, result text), ...]} of the steps in a section's display math.

    A step starts at a line with a left-hand side (``z^{[2]} & = ...``) and its result is
    the last line before the next step: ``& \\approx <result>`` or ``& = <result>``.
    """
    found: dict[str, list[tuple[str, str]]] = {}
    blocks = re.findall(r"\\begin\{(?:align\*|aligned)\}(.*?)\\end\{(?:align\*|aligned)\}", body, re.S)
    for block in blocks:
        lines = [line.strip() for line in block.strip().split(" \\\\\n")]
        current = None
        for line in lines:
            left, _, right = line.partition("&")
            if left.strip():
                current = left.strip()
                found.setdefault(current, []).append(("", ""))
            # the result follows the line's last relation (``a^{[0]} & = x = [...]`` gives [...])
            parts = re.split(r"(\\approx|=)", right)
            if len(parts) >= 3 and current is not None:
                found[current][-1] = (parts[-2], parts[-1].strip())
    return found


def result_of(body: str, label: str, occurrence: int = 0) -> tuple[str, list[list[float]]]:
    """(relation, value) of the step whose left-hand side is ``label``."""
    steps = results(body)
    assert label in steps, f"no step {label!r}; steps are {sorted(steps)}"
    relation, text = steps[label][occurrence]
    return relation, parse_value(text)
