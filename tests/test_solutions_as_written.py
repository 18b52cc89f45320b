"""Every scalar line of numbers in every worked solution, evaluated exactly as printed, gives the printed result.

What a document prints is what a student reads: ``1 − 0.7616² · (…)`` is computed as
1 − (0.7616² · (…)), so a missing pair of parentheses shows here even when the result
printed beside it is right. The reader (``latex_arithmetic``) does not import deltagen.
"""
from __future__ import annotations

import re

import mpmath
import pytest

from conftest import ROOT
from latex_arithmetic import Unsupported, evaluate_written

SOLUTIONS = sorted(ROOT.glob("generated/*/solution_*.tex"))
_STEP = re.compile(r"^& = (?P<numbers>.*?)\s*\\\\$")
_RESULT = re.compile(r"^& (?:=|\\approx) (?P<result>-?\d+(?:\.\d+)?)(?: \\cdot 10\^\{(?P<exponent>-?\d+)\})?\s*(?:\\\\)?$")


def _printed_number(match: re.Match) -> mpmath.mpf:
    value = mpmath.mpf(match["result"])
    return value * mpmath.mpf(10) ** int(match["exponent"]) if match["exponent"] else value


def _steps(text: str) -> list[tuple[str, str, mpmath.mpf]]:
    """(line of numbers, its printed result, the result) for each scalar step of a solution."""
    lines = text.splitlines()
    steps = []
    for line, following in zip(lines, lines[1:]):
        step, result = _STEP.match(line), _RESULT.match(following)
        if step and result and "bmatrix" not in line:
            steps.append((step["numbers"], following, _printed_number(result)))
    return steps


def _agrees(written: mpmath.mpf, printed: mpmath.mpf) -> bool:
    """Equal up to the rounding of the 4-significant-digit inputs the line shows."""
    return abs(written - printed) <= mpmath.mpf("0.005") * abs(printed) + mpmath.mpf("1e-4")


def test_the_reader_follows_printed_precedence():
    assert evaluate_written(r"1 - 0.5^{2} \cdot \left(2\right)") == mpmath.mpf("0.5")     # 1 − (0.25 · 2)
    assert evaluate_written(r"\left(1 - 0.5^{2}\right) \cdot \left(2\right)") == mpmath.mpf("1.5")
    assert evaluate_written(r"- 1 \cdot \log{\left(1 \right)} + \frac{1}{4} 2") == mpmath.mpf("0.5")
    assert evaluate_written(r"\left(-3\right)^{2}") == 9 and evaluate_written(r"-3^{2}") == -9
    with pytest.raises(Unsupported):
        evaluate_written(r"\begin{bmatrix} 1 \end{bmatrix}")


def test_the_checker_of_lines_catches_the_missing_parentheses_of_issue_13():
    # the line as it was printed before the fix, with its (right) printed result
    written = evaluate_written(r"1 - 0.7616^{2} \cdot \left(1.2 \cdot \left(-0.03197\right)\right)")
    assert not _agrees(written, mpmath.mpf("-0.01611"))


def _check_steps(text: str, where: str) -> None:
    steps = _steps(text)
    checked, wrong = 0, []
    for numbers, result_line, printed in steps:
        try:
            written = evaluate_written(numbers)
        except Unsupported:
            continue
        checked += 1
        if not _agrees(written, printed):
            wrong.append(f"{numbers}  →  {mpmath.nstr(written, 6)}, printed {result_line}")
    assert checked >= 3, f"only {checked} scalar steps read in {where}"
    assert wrong == []


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_scalar_step_reads_as_it_computes(path):
    _check_steps(path.read_text(encoding="utf-8"), str(path))


#: a 2-2-k net with a hidden layer of each activation (and the output pairs that go with it)
NETS = {
    "tanh": ("tanh", "sigmoid", "bce", 1), "sigmoid": ("sigmoid", "identity", "half_sse", 1),
    "relu": ("relu", "sigmoid", "bce", 1), "leaky_relu": ("leaky_relu", "identity", "mse", 1),
    "softmax_cce": ("tanh", "softmax", "cce", 3), "custom": ("z/(1 + Abs(z))", "identity", "half_sse", 1),
}


@pytest.mark.parametrize("net", sorted(NETS))
def test_solutions_of_each_activation_read_as_they_compute(net):
    import deltagen
    hidden, output, loss, units = NETS[net]
    targets = [[1.0, 0.0]] if units == 1 else [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    spec = {"name": f"as_written_{net.replace('-', '_')}", "input": 2, "loss": loss, "layers": [
        {"units": 2, "activation": hidden}, {"units": units, "activation": output}],
        "example": {"W": [[[0.5, -0.3], [0.8, 0.2]], [[0.4, -0.6]] * units],
                    "b": [[[0.1], [-0.2]], [[0.3]] * units],
                    "X": [[1.0, -0.5], [2.0, 0.25]], "Y": targets, "learning_rate": 0.1}}
    for lang in ("en", "pt"):
        _check_steps(deltagen.solve(spec, lang=lang), f"{net} ({lang})")
