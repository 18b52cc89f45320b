"""The notebook side: the reports' HTML, the worked solution as Markdown, and the example notebook, run.

``generated/lecture_xor/lecture_xor.ipynb`` is executed with nbclient (as Jupyter would run it, from its
folder); its outputs are checked against numbers worked out here by hand, in mpmath.
"""
from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import mpmath
import pytest

import deltagen
from deltagen.derive.checking.report import render_text
from deltagen.derive.documents.solution import solution_document
from deltagen.derive.proof.report import FAILED, VERIFIED, Identity, ProofReport

ROOT = Path(__file__).resolve().parent.parent
XOR = ROOT / "generated" / "lecture_xor"
NOTEBOOK = XOR / "lecture_xor.ipynb"
RED, GREEN = "#cf222e", "#1a7f37"


def _sigma(z):
    return 1 / (1 + mpmath.exp(-z))


def _yhat(x1: int, x2: int):
    """Lecture 004's XOR net by hand: a1 = σ(10(x1 − x2 − 0.5)), a2 = σ(10(x2 − x1 − 0.5)),
    ŷ = σ(10(a1 + a2 − 0.5))."""
    a1, a2 = _sigma(10 * (x1 - x2) - 5), _sigma(10 * (x2 - x1) - 5)
    return _sigma(10 * (a1 + a2) - 5)


def _plain(markup: str) -> str:
    """HTML as the reader sees it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


# ---------------------------------------------------------------- the proof report's table

def _report(*identities: Identity) -> ProofReport:
    return ProofReport("net", 2, list(identities))


def test_a_verified_report_is_a_green_table_with_its_summary():
    report = _report(Identity("δ[2] = a - y", "sympy.diff", VERIFIED, count=2))
    markup = report._repr_html_()
    assert markup.count("<tr>") == 2     # the header and one identity
    assert f'color: {GREEN}; font-weight: bold">verified</td>' in markup
    assert "failed" not in markup and RED not in markup
    assert "proof: all 2 gradients verified" in markup
    assert str(report) == "[verified] δ[2] = a - y  (sympy.diff; 2 instances)\n" + report.summary()   # unchanged


def test_a_failed_identity_shows_red_and_the_summary_says_failed():
    report = _report(Identity("ok", "m", VERIFIED), Identity("δ[1] = 0", "chain rule", FAILED, scope="end-to-end"))
    markup = report._repr_html_()
    rows = markup.split("<tr>")[2:]
    assert f'color: {GREEN}; font-weight: bold">verified</td>' in rows[0]
    assert f'color: {RED}; font-weight: bold">failed</td>' in rows[1] and "end-to-end" in rows[1]
    assert f'<p style="color: {RED}">proof: FAILED: 1 of 2 identities do not hold' in markup


def test_statements_are_escaped():
    markup = _report(Identity("a < b & c > \"d\"", "x<y", VERIFIED))._repr_html_()
    assert "a &lt; b &amp; c &gt; &quot;d&quot;" in markup and "x&lt;y" in markup
    assert "a < b" not in markup and "<y" not in markup


# ---------------------------------------------------------------- the check report's HTML

def test_the_check_report_colours_each_verdict_in_the_text_reports_words(tmp_path):
    # lecture 004's labels claim ŷ(0, 0) = 1: by hand ŷ = σ(10 · 2σ(−5) − 5) = 0.00764..., so wrong;
    # a[1] at (0, 0) is (σ(−5), σ(−5)) = (0.0067, 0.0067), 0 to within the file's 0.01: correct
    assert abs(_yhat(0, 0) - 1) > 0.01 and abs(_sigma(-5)) < 0.01
    result = deltagen.check(XOR / "spec.toml", XOR / "answers_lecture.toml")
    assert isinstance(result, deltagen.CheckResult) and not result.ok
    markup = result._repr_html_()
    items = markup.split("<li>")
    first = next(item for item in items if item.startswith("a[1] (example 1): "))
    wrong = next(item for item in items if item.startswith("a[2] (example 1): "))
    assert f'<span class="dg-correct" style="color: {GREEN}; font-weight: bold">correct</span>' in first
    assert f'<span class="dg-wrong" style="color: {RED}; font-weight: bold">wrong</span>' in wrong
    assert "first wrong step" in wrong
    # every line of the text report is in the HTML, word for word (the same functions wrote both)
    plain = _plain(markup)
    for line in render_text(result).splitlines():
        text = re.sub(r"^\s*\d+\.\s*|^\s+", "", line).replace("  <- first", " <- first")
        assert text in plain, text
    assert repr(result).startswith("<CheckReport ") and "3 wrong" in repr(result)


def test_the_check_report_escapes_the_title_and_lists_a_blank_claim_grey(tmp_path):
    # ŷ(0, 0) = 0.00764... by hand: 0.0076 is right to its written ±0.00005
    assert abs(_yhat(0, 0) - mpmath.mpf("0.0076")) < mpmath.mpf("0.00005")
    answers = tmp_path / "answers.toml"
    answers.write_text('title = "<b>x & y</b>"\n\n[[claim]]\nquantity = "a[2]"\nexample = 1\nvalue = 0.0076\n'
                       '\n[[claim]]\nquantity = "cost"\nvalue = ""\n', encoding="utf-8")
    markup = deltagen.check(XOR / "spec.toml", answers)._repr_html_()
    assert "&lt;b&gt;x &amp; y&lt;/b&gt;" in markup and "<b>" not in markup
    assert 'a[2] (example 1): <span class="dg-correct"' in markup
    assert '<li>cost: <span class="dg-not-answered" style="color: #6e7781' in markup


# ---------------------------------------------------------------- the worked solution as Markdown

def test_solve_markdown_is_a_str_a_notebook_renders_and_latex_is_a_plain_str(tmp_path):
    d = deltagen.derive(XOR / "spec.toml")
    text = deltagen.solve(d, fmt="markdown")
    plain = solution_document(d, fmt="markdown")
    assert isinstance(text, str) and text == plain and hash(text) == hash(plain)
    assert text._repr_markdown_() == plain and type(text._repr_markdown_()) is str
    (tmp_path / "s.md").write_text(text, encoding="utf-8")
    assert (tmp_path / "s.md").read_text(encoding="utf-8") == plain
    tex = deltagen.solve(d)
    assert type(tex) is str and not hasattr(tex, "_repr_markdown_") and tex.startswith("\\documentclass")


# ---------------------------------------------------------------- the example notebook

def test_the_notebook_is_what_nbformat_writes_with_fixed_ids_and_no_outputs():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[tests]')")
    text = NOTEBOOK.read_text(encoding="utf-8")
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    assert nbformat.writes(notebook) + "\n" == text
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.id for cell in code] == ["derive", "prove", "solve", "check", "train"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)


def _outputs(cell) -> dict[str, str]:
    """{mime type or "stdout": text} of a run cell."""
    found: dict[str, str] = {}
    for output in cell.outputs:
        assert output.output_type != "error", "".join(output.get("traceback", []))
        if output.output_type == "stream":
            found[output.name] = found.get(output.name, "") + output.text
        else:
            found.update(output.get("data", {}))
    return found


@pytest.fixture(scope="module")
def executed():
    missing = [m for m in ("nbclient", "nbformat", "ipykernel") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: pip install -e '.[tests]' installs them")
    import nbclient
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(XOR)}}).execute()
    return {cell.id: _outputs(cell) for cell in notebook.cells if cell.cell_type == "code"}


def test_the_notebook_derives_and_proves(executed):
    assert "<Derivation of lecture_xor: 2-2-1" in executed["derive"]["stdout"]
    assert "\\begin{aligned}" in executed["derive"]["text/latex"]
    table = executed["prove"]["text/html"]
    assert ">verified</td>" in table and "failed" not in table.lower()
    assert "proof: all 9 gradients verified" in table      # 2·2 + 2 + 2 + 1 parameters


def test_the_notebook_shows_the_worked_solution(executed):
    solution = executed["solve"]["text/markdown"]
    assert solution.startswith("# Worked solution for `lecture_xor`") and "$$" in solution


def test_the_notebook_marks_the_wrong_answer_wrong_and_the_right_ones_correct(executed):
    markup = executed["check"]["text/html"]
    items = markup.split("<li>")
    verdicts = {item.split(": <span", 1)[0]: re.search(r'class="dg-([a-z-]+)"', item).group(1)
                for item in items if ": <span" in item and " = " not in item.split(": <span", 1)[0]}
    assert verdicts == {"a[1] (example 2)": "correct", "a[2] (example 2)": "wrong", "cost": "correct",
                        "db[2]": "correct"}
    # the right ŷ for (0, 1), by hand, to the report's 6 digits; the student's 0.0072 is 1 − ŷ
    right = mpmath.nstr(_yhat(0, 1), 6)
    assert right == "0.992847" and f"right value {right}" in _plain(markup)
    assert "sign slip in the sigmoid" in _plain(markup)


def test_the_notebook_trains_the_generated_module(executed):
    match = re.search(r"first cost ([\d.]+), last cost ([\d.]+)", executed["train"]["stdout"])
    assert match, executed["train"]
    first, last = map(float, match.groups())
    assert last < first / 10
