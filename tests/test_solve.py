"""Worked solutions: every number a student sees equals an independent value at the stated digits.

The committed generated/*/solution_*.tex are read back as text. Expected values come
from the generated NumPy modules (tested on their own against mpmath references in
test_lectures.py), from a plain NumPy forward pass written here, and from mpmath.
"""
from __future__ import annotations

import math
from fractions import Fraction
import subprocess
import sys
import tomllib

import mpmath
import numpy as np
import pytest

from conftest import ROOT, import_file
from deltagen.derive import derive, load_spec, spec_from_dict
from deltagen.derive.documents.numerals import format_number
from deltagen.derive.documents.solution import solution_document
from latex_tools import compile_latex, result_of, results, sections

GENERATED = ROOT / "generated"

#: each lecture's notation, as documented in the README: (brackets, first layer number, weight letter, cost, Wᵀa)
LECTURES = {
    "lecture_sigmoid_121": ("[]", 1, "w", "R", False),
    "lecture_scalar_chain": ("()", 0, r"\theta", "J", False),
    "lecture_vectorized_231": ("()", 0, r"\theta", "J", False),
    "lecture_xor": ("[]", 0, "W", "J", False),
    "lecture_and": ("[]", 0, "W", "J", False),
    "lecture_bce_classifier": ("()", 0, "W", "C", True),
    "lecture_mse_regression": ("()", 0, "W", "C", True),
    "lecture_softmax_tanh": ("[]", 0, "W", "J", False),
    "lecture_linear_mlp": ("()", 0, r"\theta", "J", False),
}

#: the lectures' activations, written out with NumPy (columns are examples)
ACTIVATIONS = {
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "identity": lambda z: z,
    "2*z": lambda z: 2.0 * z,
    "softmax": lambda z: np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0),
}


class Lecture:
    """A lecture example: its spec's numbers, its generated module, and the labels its notation gives."""

    def __init__(self, name: str) -> None:
        self.name = name
        folder = GENERATED / name
        self.spec = tomllib.loads((folder / "spec.toml").read_text())
        self.module = import_file(folder / f"{name}.py")
        brackets, self.first, self.W_letter, self.cost, self.transposed = LECTURES[name]
        self.open, self.close = brackets
        example = self.spec["example"]
        self.X = np.array(example["X"], dtype=float)
        self.Y = np.array(example["Y"], dtype=float)
        self.m = self.X.shape[1]
        self.learning_rate = example.get("learning_rate")
        self.layers = self.spec["layers"]
        self.params: dict[str, np.ndarray] = {}
        biases = iter(example.get("b", []))
        for position, (W, layer) in enumerate(zip(example["W"], self.layers), start=1):
            self.params[f"W{self.number(position)}"] = np.array(W, dtype=float)
            if layer.get("bias", True):
                self.params[f"b{self.number(position)}"] = np.array(next(biases), dtype=float).reshape(-1, 1)

    def number(self, position: int) -> int:
        """The spec's number of the layer at 1-based ``position`` in its list of layers."""
        return position + self.first

    def sup(self, position: int) -> str:
        return f"{self.open}{self.number(position)}{self.close}"

    def column(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return self.X[:, [i]], self.Y[:, [i]]

    def shown(self, matrix: np.ndarray, kind: str) -> np.ndarray:
        """Weight matrices (and their gradients) are displayed transposed under the Wᵀa convention."""
        return matrix.T if (kind == "W" and self.transposed) else matrix

    def forward_by_hand(self, x: np.ndarray) -> tuple[list, list]:
        """z and a of every layer for one example: z = W a + b, a = g(z)."""
        a, zs, activations = x, [], []
        for position, layer in enumerate(self.layers, start=1):
            z = self.params[f"W{self.number(position)}"] @ a + self.params.get(f"b{self.number(position)}", 0.0)
            a = ACTIVATIONS[layer["activation"]](z)
            zs.append(z)
            activations.append(a)
        return zs, activations


def assert_shown(relation: str, shown, expected, digits: int = 4, what: str = "", noise: float = 0.0) -> None:
    """``shown`` is ``expected`` rounded to ``digits`` significant digits (exactly, when the relation is =).

    ``noise``: the float64 rounding error of ``expected`` when it is a sum that cancels; a value
    within it of 0 is zero, and the solution (computed at higher precision) must show 0.
    """
    shown = np.array(shown, dtype=float)
    expected = np.atleast_2d(np.array(expected, dtype=float))
    assert shown.shape == expected.shape, f"{what}: shape {shown.shape}, expected {expected.shape}"
    for s, e in zip(shown.reshape(-1), expected.reshape(-1)):
        if abs(e) <= noise:
            assert s == 0, f"{what}: shows {s} for a value that is 0 up to float64 noise ({e})"
        elif relation == "=":
            assert math.isclose(s, e, rel_tol=1e-12, abs_tol=1e-300), f"{what}: {s} shown as exact, is {e}"
        else:
            half_unit = 0.5 * 10.0 ** (math.floor(math.log10(abs(e))) - digits + 1) if e else 0.0
            assert abs(s - e) <= half_unit * (1 + 1e-9) + 1e-15 * abs(e), f"{what}: shows {s}, value {e}"


def solution_sections(lecture: Lecture, lang: str = "en") -> dict[str, str]:
    text = (GENERATED / lecture.name / f"solution_{lang}.tex").read_text(encoding="utf-8")
    return dict(sections(text))


@pytest.mark.parametrize("name", sorted(LECTURES))
def test_every_number_of_the_worked_solution_is_right(name):
    lec = Lecture(name)
    mod, params = lec.module, lec.params
    body = solution_sections(lec)
    L = len(lec.layers)
    W, dC = lec.W_letter, lec.cost
    checked = 0
    for i in range(lec.m):
        x, y = lec.column(i)
        forward = body[f"Forward pass, example {i + 1}"]
        zs, activations = lec.forward_by_hand(x)
        for position in range(1, L + 1):
            assert_shown(*result_of(forward, f"z^{{{lec.sup(position)}}}"), zs[position - 1], what=f"z{position}")
            assert_shown(*result_of(forward, f"a^{{{lec.sup(position)}}}"), activations[position - 1],
                         what=f"a{position}")
        assert_shown(*result_of(forward, f"a^{{{lec.sup(L)}}}"), mod.forward(params, x), what="a^L")
        assert_shown(*result_of(forward, rf"\ell_{{{i + 1}}}"), mod.cost(params, x, y), what="loss")

        backward = body[f"Backward pass, example {i + 1}"]
        grads = mod.gradients(params, x, y)          # m = 1: the gradients of this example's loss
        for position in range(L, 0, -1):
            n = lec.number(position)
            if f"b{n}" in grads:
                delta = grads[f"b{n}"]                # ∂ℓ/∂b = δ
            else:                                    # ∂ℓ/∂W_jk = δ_j a_k: read δ off the largest a_k
                a_prev = x if position == 1 else activations[position - 2]
                k = int(np.argmax(np.abs(a_prev[:, 0])))
                delta = grads[f"W{n}"][:, [k]] / a_prev[k, 0]
            for j in range(delta.shape[0]):
                label = rf"\delta^{{{lec.sup(position)}}}_{{{j + 1}}}"
                assert_shown(*result_of(backward, label), delta[j, 0], what=label)
            label = rf"\frac{{\partial \ell_{{{i + 1}}}}}{{\partial {W}^{{{lec.sup(position)}}}}}"
            assert_shown(*result_of(backward, label), lec.shown(grads[f"W{n}"], "W"), what=label)
            if f"b{n}" in grads:
                label = rf"\frac{{\partial \ell_{{{i + 1}}}}}{{\partial b^{{{lec.sup(position)}}}}}"
                assert_shown(*result_of(backward, label), grads[f"b{n}"], what=label)
            checked += 1

    assert_shown(*result_of(body["Cost"], dC), mod.cost(params, lec.X, lec.Y), what="cost")
    batch = body["Gradients of the cost"]
    grads = mod.gradients(params, lec.X, lec.Y)
    for key, value in grads.items():
        letter, n = key[0], key[1:]
        label = rf"\frac{{\partial {dC}}}{{\partial {W if letter == 'W' else 'b'}^{{{lec.open}{n}{lec.close}}}}}"
        # a mean of per-example gradients can cancel: float64 leaves ~1e-16 of their size
        terms = max(np.abs(mod.gradients(params, *lec.column(i))[key]).max() for i in range(lec.m))
        assert_shown(*result_of(batch, label), lec.shown(value, letter), what=label, noise=1e-14 * terms)

    if lec.learning_rate is None:
        assert "Updated parameters" not in body
    else:
        updated = body["Updated parameters"]
        new = mod.sgd_step(params, lec.X, lec.Y, lec.learning_rate)
        for key, value in new.items():
            letter, n = key[0], key[1:]
            label = f"{W if letter == 'W' else 'b'}^{{{lec.open}{n}{lec.close}}}"
            assert_shown(*result_of(updated, label), lec.shown(value, letter), what=label)
    assert checked == lec.m * L


def test_lecture_000_shows_the_right_sigmoid_of_3_not_the_lectures():
    """Lecture 000 prints σ(3) ≈ −0,1398 (and builds on it); σ(3) = 1/(1 + e^{−3}) ≈ 0.9526."""
    lec = Lecture("lecture_sigmoid_121")
    for lang, title in (("en", "Forward pass, example 1"), ("pt", "Propagação direta, exemplo 1")):
        text = (GENERATED / lec.name / f"solution_{lang}.tex").read_text(encoding="utf-8")
        forward = dict(sections(text))[title]
        relation, a2 = result_of(forward, "a^{[2]}")
        assert relation == r"\approx" and a2 == [[0.5], [0.9526]]
        sigma3 = float(1 / (1 + mpmath.exp(-3)))
        assert_shown(relation, [[a2[1][0]]], sigma3)
        assert "0.1398" not in text and "0,1398" not in text
        # the numbers that carried the lecture's error, corrected (README: a^[3] 0.992292, C₁ 2.971·10⁻⁵)
        assert result_of(forward, "a^{[3]}") == (r"\approx", [[0.9923]])
        assert result_of(forward, r"\ell_{1}") == (r"\approx", [[2.971e-05]])


def test_a_gradient_that_cancels_is_shown_as_zero_not_float_noise():
    """lecture_and: ∂J/∂W = ¼ [σ(−5) + σ(5) − 1, same] = 0 exactly (σ(5) = 1 − σ(−5)); float64 leaves ~10⁻¹⁸."""
    with mpmath.workdps(50):
        sigma = lambda z: 1 / (1 + mpmath.exp(-z))
        assert abs(sigma(-5) + sigma(5) - 1) < mpmath.mpf(10) ** -45
    lec = Lecture("lecture_and")
    float_value = lec.module.gradients(lec.params, lec.X, lec.Y)["W1"]
    assert 0 < np.abs(float_value).max() < 1e-15           # what float64 makes of it
    shown = result_of(solution_sections(lec)["Gradients of the cost"], r"\frac{\partial J}{\partial W^{[1]}}")
    assert shown == ("=", [[0.0, 0.0]])


def test_exact_decimal_inputs_give_exact_results_not_float_residue():
    """z^[1]_1 = 0.5·1 − 0.3·2 + 0.1 = 0 in the decimals the spec writes (float64 gives 2.776·10⁻¹⁷)."""
    W1, x, b1 = [[Fraction("0.5"), Fraction("-0.3")], [Fraction("0.2"), Fraction("0.1")]], [1, 2], [Fraction("0.1"), 0]
    z1 = [sum(w * v for w, v in zip(row, x)) + b for row, b in zip(W1, b1)]
    assert z1 == [0, Fraction("0.4")] and 0.5 * 1 + -0.3 * 2 + 0.1 != 0      # exact in decimals, not in float64
    data = {"name": "residue", "input": 2, "loss": "mse",
            "layers": [{"units": 2, "activation": "identity"}, {"units": 1, "activation": "sigmoid"}],
            "example": {"W": [[[0.5, -0.3], [0.2, 0.1]], [[1.0, 1.0]]], "b": [[[0.1], [0.0]], [[0.0]]],
                        "X": [[1.0], [2.0]], "Y": [[1.0]], "learning_rate": 0.1}}
    document = solution_document(derive(spec_from_dict(data)))
    assert "10^{-1" not in document and "10^{-2" not in document
    forward = dict(sections(document))["Forward pass, example 1"]
    assert result_of(forward, "z^{[1]}") == ("=", [[float(v)] for v in z1])
    gradients = dict(sections(document))["Gradients of the cost"]
    relation, dW2 = result_of(gradients, r"\frac{\partial C}{\partial W^{[2]}}")
    assert dW2[0][0] == 0.0                                   # ∂C/∂w^[2]_11 = δ^[2] a^[1]_1 = δ^[2] · 0


def test_an_exact_zero_at_the_relu_kink_takes_the_derivative_at_zero():
    """z^[1]_1 = 0.5·1 − 0.3·2 + 0.1 = 0 exactly: relu′(0) = 0 (the derivative's z > 0 branch is not taken), so
    row 1 of ∂C/∂W^[1] is 0 and W^[1]'s row 1 is unchanged, in every precision (a residue of either sign
    would decide the kink)."""
    data = {"name": "kink", "input": 2, "loss": "mse",
            "layers": [{"units": 2, "activation": "relu"}, {"units": 1, "activation": "sigmoid"}],
            "example": {"W": [[[0.5, -0.3], [0.2, 0.1]], [[1.0, 1.0]]], "b": [[[0.1], [0.0]], [[0.0]]],
                        "X": [[1.0], [2.0]], "Y": [[1.0]], "learning_rate": 0.1}}
    derivation = derive(spec_from_dict(data))
    for digits in (4, 12):
        body = dict(sections(solution_document(derivation, digits=digits)))
        _, dW1 = result_of(body["Gradients of the cost"], r"\frac{\partial C}{\partial W^{[1]}}")
        assert dW1[0] == [0.0, 0.0] and dW1[1][0] != 0.0
        updates = [text for title, text in body.items() if "W^{[1]} & \\leftarrow" in text]
        _, W1_next = result_of(updates[0], "W^{[1]}", occurrence=-1)
        assert W1_next[0] == [0.5, -0.3] and W1_next[1][0] != 0.2


def test_batch_shows_per_example_and_mean_quantities():
    lec = Lecture("lecture_sigmoid_121")
    body = solution_sections(lec)
    cost = body["Cost"]
    assert r"\frac{1}{m} \sum_{i=1}^{m} \ell_{i}" in cost and r"\frac{1}{2}" in cost
    assert "mean of the 2 losses" in cost
    losses = [result_of(body[f"Forward pass, example {i}"], rf"\ell_{{{i}}}")[1][0][0] for i in (1, 2)]
    assert f"({format_number(losses[0])} + {format_number(losses[1])})".replace("(", r"\left(") \
        .replace(")", r"\right)") in cost.replace(r"\cdot \left(", r"\left(").replace(r"\frac{1}{2} \left(", r"\left(")


def _sum_spec(**changes) -> dict:
    spec = tomllib.loads((GENERATED / "lecture_xor" / "spec.toml").read_text())
    spec.update(changes)
    return spec


def test_sum_reduction_and_l2_are_shown_as_the_spec_says():
    d = derive(spec_from_dict(_sum_spec(reduction="sum", l2=0.01)))
    text = solution_document(d)
    body = dict(sections(text))
    module_params = {"W1": np.array([[10.0, -10.0], [-10.0, 10.0]]), "b1": np.array([[-5.0], [-5.0]]),
                     "W2": np.array([[10.0, 10.0]]), "b2": np.array([[-5.0]])}
    X = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=float)
    Y = np.array([[0, 1, 1, 0]], dtype=float)
    assert "sum of the 4 losses" in body["Cost"] and r"\frac{1}{m}" not in body["Cost"]
    assert r"\lambda" in body["Cost"] and r"\left\lVert" in body["Cost"]
    # expected by hand: C = Σ ℓ_i + (λ/2) Σ‖W‖², ∂C/∂W = Σ δ aᵀ + λ W (independent NumPy, not deltagen)
    a0 = X
    z1 = module_params["W1"] @ a0 + module_params["b1"]
    a1 = 1 / (1 + np.exp(-z1))
    z2 = module_params["W2"] @ a1 + module_params["b2"]
    a2 = 1 / (1 + np.exp(-z2))
    cost = 0.5 * np.sum((a2 - Y) ** 2) + 0.005 * sum(np.sum(W ** 2) for W in (module_params["W1"], module_params["W2"]))
    assert_shown(*result_of(body["Cost"], "J"), cost)
    d2 = (a2 - Y) * a2 * (1 - a2)
    assert_shown(*result_of(body["Gradients of the cost"], r"\frac{\partial J}{\partial W^{[2]}}"),
                 d2 @ a1.T + 0.01 * module_params["W2"])
    assert_shown(*result_of(body["Gradients of the cost"], r"\frac{\partial J}{\partial b^{[2]}}"),
                 d2.sum(axis=1, keepdims=True))


def test_more_digits_come_from_mpmath():
    d = derive(load_spec(GENERATED / "lecture_sigmoid_121" / "spec.toml"))
    text = solution_document(d, digits=20)
    with mpmath.workdps(40):
        expected = mpmath.nstr(1 / (1 + mpmath.exp(3 * -1)), 20)
    assert expected.startswith("0.95257412682243321")
    forward = dict(sections(text))["Forward pass, example 1"]
    assert f"0.5 \\\\ {expected}" in results(forward)["a^{[2]}"][0][1]
    six = dict(sections(solution_document(d, digits=6)))["Forward pass, example 1"]
    assert result_of(six, "a^{[2]}") == (r"\approx", [[0.5], [0.952574]])


def test_markdown_has_the_same_steps_and_numbers():
    d = derive(load_spec(GENERATED / "lecture_vectorized_231" / "spec.toml"))
    latex, markdown = solution_document(d), solution_document(d, fmt="markdown")
    assert not markdown.startswith("\\documentclass") and markdown.startswith("# Worked solution for `")
    assert "$$\n\\begin{aligned}" in markdown and "\\begin{align*}" not in markdown
    latex_steps = [(title, results(body)) for title, body in sections(latex)]
    markdown_steps = [(title, results(body)) for title, body in sections(markdown)]
    assert latex_steps == markdown_steps and len(latex_steps) >= 7


def test_portuguese_changes_words_and_the_decimal_separator_not_numbers():
    def as_points(steps: dict) -> dict:
        return {left: [(relation, text.replace("{,}", ".")) for relation, text in found] for left, found in steps.items()}

    for name in LECTURES:
        en = solution_sections(Lecture(name), "en")
        pt = solution_sections(Lecture(name), "pt")
        assert [results(body) for body in en.values()] == [as_points(results(body)) for body in pt.values()]
        assert "{,}" in "".join(pt.values()) and "{,}" not in "".join(en.values())
        assert list(en)[0] == "Given" and list(pt)[0] == "Dados"


def test_the_order_a_student_computes_in():
    lec = Lecture("lecture_sigmoid_121")
    titles = list(solution_sections(lec))
    assert titles == ["Given", "Forward pass, example 1", "Forward pass, example 2", "Cost",
                      "Backward pass, example 1", "Backward pass, example 2", "Gradients of the cost"]
    lec = Lecture("lecture_scalar_chain")
    assert list(solution_sections(lec))[-1] == "Updated parameters"


def test_substituted_numbers_are_shown():
    """The step shows the formula with the numbers in it, as the lecture does: σ(3), (0.9923 − 1)."""
    body = solution_sections(Lecture("lecture_sigmoid_121"))
    forward = body["Forward pass, example 1"]
    assert (r"\begin{bmatrix} 1 \\ 1 \end{bmatrix} \begin{bmatrix} 1 \end{bmatrix} + "
            r"\begin{bmatrix} -1 \\ 2 \end{bmatrix}") in forward
    assert r"\sigma\left(\begin{bmatrix} 0 \\ 3 \end{bmatrix}\right)" in forward
    backward = body["Backward pass, example 1"]
    assert r"0.9923 \cdot \left(1 - 0.9923\right) \cdot \left(0.9923 - 1\right)" in backward
    assert r"\left(2 \cdot \left(-5.896 \cdot 10^{-5}\right)\right)" in backward


@pytest.mark.parametrize("name", sorted(LECTURES))
def test_worked_solutions_compile(name, tmp_path):
    for lang in ("en", "pt"):
        text = (GENERATED / name / f"solution_{lang}.tex").read_text(encoding="utf-8")
        _, log = compile_latex(text, tmp_path, f"solution_{lang}")
        assert max([0.0] + __import__("latex_tools").overfull_widths(log)) < 20, "text runs off the page"


def run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagen.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env)


def test_solve_cli_writes_files_and_markdown(tmp_path):
    spec = GENERATED / "lecture_scalar_chain" / "spec.toml"
    out = tmp_path / "sub" / "solution.tex"
    result = run("solve", str(spec), "-o", str(out), "--lang", "pt")
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == (GENERATED / "lecture_scalar_chain" / "solution_pt.tex").read_text(
        encoding="utf-8")
    result = run("solve", str(spec), "--format", "markdown")
    assert result.returncode == 0 and result.stdout.startswith("# Worked solution")
    assert r"\theta^{(2)}" in result.stdout


def test_solve_is_deterministic_across_processes():
    spec = str(GENERATED / "lecture_bce_classifier" / "spec.toml")
    outputs = {run("solve", spec, env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "4242")}
    assert len(outputs) == 1 and next(iter(outputs)).endswith("\\end{document}\n")


def test_solve_bad_input_is_one_line_and_writes_nothing(tmp_path):
    spec = tmp_path / "no_example.toml"
    spec.write_text('name = "x"\ninput = 1\nlayers = [{ units = 1, activation = "sigmoid" }]\nloss = "half_sse"\n')
    out = tmp_path / "out.tex"
    result = run("solve", str(spec), "-o", str(out))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"{spec}: example: expected")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["no_example.toml"]
    for args in (["--digits", "0"], ["--digits", "many"], ["--lang", "fr"], ["--format", "html"]):
        result = run("solve", str(GENERATED / "lecture_xor" / "spec.toml"), *args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
