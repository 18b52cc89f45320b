"""Worked solutions of wide nets fit the page (issue 13, item 3), and still read as they compute.

A 5-6-3 net with 4 examples used to give lines up to 207 pt too wide; 11 examples or more did
not compile at all (amsmath's bmatrix takes 10 columns). Compiled with pdflatex, en and pt,
no line may stick out more than 10 pt, the document must say what it split, and every line of
numbers, split or not, must still give its printed result (read by ``latex_arithmetic``).
"""
from __future__ import annotations

import random
import re

import pytest

import deltagen
from latex_tools import compile_latex, overfull_widths
from test_solutions_as_written import _check_steps

#: the sentence that says what was split, in each language (words.py's "split_note")
SPLIT_SAID = {"en": "shown in blocks of columns", "pt": "aparece em blocos de colunas"}


def _spec(name: str, sizes: list[int], activations: list[str], loss: str, m: int, seed: int = 1) -> dict:
    """A net with the given layer sizes and m examples; numbers of two decimals, fixed by ``seed``."""
    pick = random.Random(seed)
    value = lambda: round(pick.uniform(-1, 1), 2)
    W = [[[value() for _ in range(sizes[i])] for _ in range(sizes[i + 1])] for i in range(len(sizes) - 1)]
    b = [[[value()] for _ in range(sizes[i + 1])] for i in range(len(sizes) - 1)]
    X = [[value() for _ in range(m)] for _ in range(sizes[0])]
    if loss == "cce":
        Y = [[1.0 if i % sizes[-1] == k else 0.0 for i in range(m)] for k in range(sizes[-1])]
    else:
        Y = [[float(pick.choice([0, 1])) for _ in range(m)] for _ in range(sizes[-1])]
    return {"name": name, "input": sizes[0], "loss": loss,
            "layers": [{"units": u, "activation": a} for u, a in zip(sizes[1:], activations)],
            "example": {"W": W, "b": b, "X": X, "Y": Y, "learning_rate": 0.1}}


WIDE = {
    "input8_m12": _spec("input8_m12", [8, 4, 1], ["sigmoid", "sigmoid"], "bce", 12),
    "net563_m4": _spec("net563_m4", [5, 6, 3], ["sigmoid", "sigmoid"], "bce", 4),
}


@pytest.mark.parametrize("lang", ["en", "pt"])
@pytest.mark.parametrize("net", sorted(WIDE))
def test_wide_solutions_compile_without_overfull_lines(net, lang, tmp_path):
    text = deltagen.solve(WIDE[net], lang=lang)
    _, log = compile_latex(text, tmp_path, net)
    assert max(overfull_widths(log), default=0.0) <= 10.0, sorted(overfull_widths(log))[-3:]
    assert SPLIT_SAID[lang] in text
    # each block says which columns it shows, in the document's language
    label = {"en": r"\text{columns 1 to ", "pt": r"\text{colunas 1 a "}[lang]
    assert label in text
    # no bmatrix of more than 10 columns is left (amsmath's MaxMatrixCols)
    for body in re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", text, re.S):
        assert all(row.count("&") < 10 for row in body.split(r"\\"))


@pytest.mark.parametrize("net", sorted(WIDE))
def test_split_lines_read_as_they_compute(net):
    # the 12 examples' X is split in column blocks, ∂C/∂W in sums of products over groups of examples:
    # each line, as printed, still gives its printed result
    for lang in ("en", "pt"):
        checked, matrices = _check_steps(deltagen.solve(WIDE[net], lang=lang), f"{net} ({lang})")
        assert matrices >= 10, f"only {matrices} matrix lines read"


def test_the_12_examples_gradient_is_a_sum_over_groups_of_examples():
    text = deltagen.solve(WIDE["input8_m12"])
    section = text[text.index("Gradients of the cost"):text.index("Updated parameters")]
    # ∂C/∂b for the output layer: 1/12 (Δ[:, 1..6] 1 + Δ[:, 7..12] 1), each block a 1 × 6 row
    db = section[section.index(r"\frac{\partial C}{\partial b^{[2]}}"):]
    first_block = re.search(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\} \\mathbf\{1\}", db)[1]
    assert first_block.count("&") == 5


@pytest.mark.parametrize("net", sorted(WIDE))
def test_markdown_of_wide_solutions_has_no_latex_only_constructs(net):
    text = deltagen.solve(WIDE[net], fmt="markdown")
    assert r"\begin{align*}" not in text and r"\section" not in text and r"\intertext" not in text
    assert text.count("$$") % 2 == 0
    # the same blocks and the same sentence as the LaTeX document
    assert SPLIT_SAID["en"] in text and r"\text{columns 1 to " in text


def test_small_solutions_are_not_split():
    spec = _spec("small", [2, 2, 1], ["tanh", "sigmoid"], "bce", 2)
    text = deltagen.solve(spec)
    assert SPLIT_SAID["en"] not in text and r"\text{columns" not in text and r"\qquad" not in text
