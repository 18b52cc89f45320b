"""The worked solution of nets with conv and pool layers (issue 15): the classic exercise, en and pt.

Every printed line of numbers is evaluated as written (``latex_arithmetic``, which reads ``\\max`` for
pooling) and must give the printed result; the hand-derived numbers of ``test_conv_evaluation`` appear
where a student looks for them; both languages compile with pdflatex.
"""
from __future__ import annotations

import copy
import re
import subprocess
import sys

import pytest

import deltagen
from latex_tools import compile_latex, overfull_widths
from test_conv_evaluation import CLASSIC
from test_solutions_as_written import _check_steps, _functions


@pytest.fixture(scope="module")
def solutions() -> dict[str, str]:
    return {lang: deltagen.solve(CLASSIC, lang=lang) for lang in ("en", "pt")}


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_every_printed_step_of_the_classic_exercise_reads_as_it_computes(solutions, lang):
    read, _ = _check_steps(solutions[lang], f"classic exercise ({lang})", _functions(CLASSIC))
    assert read >= 16 + 4 + 1 + 1 + 4 + 4 + 4 + 5 + 10     # z¹, pools, z³, a³, δ² (4), δ¹ (4), ∂W³, ∂W¹, updates


def test_the_classic_exercise_shows_each_number_a_student_computes(solutions):
    text = solutions["en"]
    compact = re.sub(r"\s+", " ", text)
    # the forward sum of z_{1,3} with its numbers: x_{1,3} − x_{1,4} + x_{2,4} = 2 − 0 + 2
    assert r"z^{[1]}_{1,3} & = w^{[1]}_{1,1} x_{1,3} + w^{[1]}_{1,2} x_{1,4} + w^{[1]}_{2,1} x_{2,3} + " \
           r"w^{[1]}_{2,2} x_{2,4} + b^{[1]}" in compact
    assert r"& = 1 \cdot 2 + \left(-1\right) \cdot 0 + 0 \cdot 1 + 1 \cdot 2 + 0 \\ & = 4" in compact
    # pooling: each window's max, and which entry wins (a tie of zeros goes to the first)
    assert r"& = \max\left(4, 0, 0, 2\right) \\ & = 4" in compact
    assert r"$a^{[1]}_{1,1}, a^{[1]}_{1,2}, a^{[1]}_{2,1}, a^{[1]}_{2,2} = 0, 0, 0, 0$; its first maximum is " \
           r"$a^{[1]}_{1,1}$" in compact
    assert r"its first maximum is $a^{[1]}_{3,4}$, which receives $\delta^{[2]}_{2,2} = -0.25$" in compact
    # loss, δ of the output, δ through the dense layer, through relu′
    assert r"C & = \ell_{1} \approx 0.6931" in compact
    assert r"\delta^{[3]}_{1} & = a^{[3]}_{1} - y_{1} \\ & = 0.5 - 1 \\ & = -0.5" in compact
    assert r"\delta^{[2]}_{1,2} & = w^{[3]}_{1,2} \delta^{[3]}_{1} \\ & = 0.5 \cdot \left(-0.5\right) \\ & = -0.25" \
        in compact
    assert r"\begin{cases} 1 & \text{for}\: 4 > 0 \\0 & \text{otherwise} \end{cases} \cdot \left(-0.25\right) \\ " \
           r"& = -0.25" in compact
    assert "Every other entry of $\\delta$ of layer 1 is 0" in compact
    # ∂ℓ/∂W_{1,1} = −¾, the update of W_{1,1}: 1 − 0.1 · (−0.75) = 1.075
    assert re.search(r"\\frac\{\\partial \\ell_\{1\}\}\{\\partial w\^\{\[1\]\}_\{1,1\}\} & = \\delta\^\{\[1\]\}_\{1,1\} "
                     r"x_\{1,1\} \+ .*? & = -0\.75 ", compact)
    assert r"& = 1 - 0.1 \cdot \left(-0.75\right) \\ & = 1.075" in compact
    assert r"& = -1 - 0.1 \cdot \left(-0.5\right) \\ & = -0.95" in compact


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_the_classic_exercise_compiles(solutions, lang, tmp_path):
    _, log = compile_latex(solutions[lang], tmp_path, f"conv_{lang}")
    assert max(overfull_widths(log), default=0) < 20


def test_portuguese_writes_decimal_commas_and_its_own_words(solutions):
    assert r"& = 1 - 0{,}1 \cdot \left(-0{,}75\right) \\" in solutions["pt"]
    assert "primeiro máximo" in solutions["pt"] and "first maximum" not in solutions["pt"]


#: other kinds the solution must write as it computes: channels, padding, stride 2, average pooling, 1-D,
#: tanh, two examples with a mean, L2
OTHERS = {
    "channels_padding_average_l2": {
        "input": [2, 3, 3], "loss": "mse", "l2": 0.1,
        "layers": [{"kind": "conv", "channels": 2, "kernel": 2, "padding": 1, "activation": "tanh"},
                   {"kind": "pool", "mode": "average", "size": 2},
                   {"units": 1, "activation": "identity"}],
        "example": {"W": [[[[[1, 0], [0.5, -1]], [[0, 1], [1, 0]]], [[[0.5, 0.5], [-1, 0]], [[1, -0.5], [0, 1]]]],
                          [[0.5, -0.5, 1, 0.25, 0, 1, -1, 0.5]]],
                    "b": [[0, 0.5], [0]], "X": [[[1, 0, 2], [0, 1, 1], [2, 1, 0]], [[0, 1, 0], [1, 0, 2], [1, 1, 1]]],
                    "Y": [[1]], "learning_rate": 0.5}},
    "one_d_stride_two_examples": {
        "input": [1, 6], "loss": "bce",
        "layers": [{"kind": "conv", "channels": 1, "kernel": 3, "stride": 2, "activation": "relu"},
                   {"kind": "pool", "mode": "max", "size": 2},
                   {"units": 1, "activation": "sigmoid"}],
        "example": {"W": [[[[1, -1, 0.5]]], [[2]]], "b": [[0.5], [[0]]],
                    "X": [[[1, 0], [2, 1], [0, 3], [1, 1], [2, 0], [0, 2]]], "Y": [[1, 0]], "learning_rate": 0.1}},
}


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_other_conv_nets_read_as_they_compute(name):
    spec = {"name": name, **copy.deepcopy(OTHERS[name])}
    for lang in ("en", "pt"):
        _check_steps(deltagen.solve(spec, lang=lang), f"{name} ({lang})", _functions(spec))
    assert "$$" in deltagen.solve(spec, fmt="markdown")


def test_an_optimizer_other_than_sgd_is_refused_in_one_line(tmp_path):
    spec = tmp_path / "adam.toml"
    spec.write_text('name = "net"\ninput = [1, 3, 3]\nloss = "mse"\nlayers = [{ kind = "conv", channels = 1, '
                    'kernel = 2, activation = "relu" }, { units = 1, activation = "identity" }]\n'
                    '[optimizer]\nkind = "adam"\n[example]\nW = [ [[[[1, 0], [0, 1]]]], [[1, 1, 1, 1]] ]\n'
                    'b = [ [0], [0] ]\nX = [[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]\nY = [[1]]\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "deltagen.cli", "solve", str(spec)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "optimizer.kind: expected plain gradient descent" in result.stderr
