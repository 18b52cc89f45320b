"""The plain-text printer (``derive/documents/text.py``) and the text that uses it.

One construct per printer test: ``printer.doprint(expr) == "..."``, every expected string written
out by hand as the lectures write the formula (⊙, ᵀ, a², max(0, z), the spec's notation). Then
the text of ``deltagen derive``, the comments of generated C, and the check report's explanations,
tolerances and decimal commas.
"""
from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import mpmath
import pytest
import sympy as sp
from sympy.matrices.expressions import HadamardPower, HadamardProduct, OneMatrix

from deltagen.codegen.render import render, write_files
from deltagen.derive import derive, spec_from_dict
from deltagen.derive.checking.answers import load_answers
from deltagen.derive.checking.check import check
from deltagen.derive.checking.formulas import _show, _show_point
from deltagen.derive.checking.report import number, render_json, render_text, tolerance_text
from deltagen.derive.derivation import symbols
from deltagen.derive.derivation.backprop import LAMBDA, M
from deltagen.derive.documents.describe import describe
from deltagen.derive.documents.notation import ETA, LOSS_ROW
from deltagen.derive.documents.text import TextPrinter
from deltagen.derive.model.activations import make_activation
from deltagen.derive.model.network import Notation

from c_harness import compile_c

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
z, a, y = sp.Symbol("z", real=True), sp.Symbol("a", real=True), sp.Symbol("y", real=True)
W3_11, W2_11 = symbols.scalar("W", 3, 1, 1), symbols.scalar("W", 2, 1, 1)
W2_12, W2_21 = symbols.scalar("W", 2, 1, 2), symbols.scalar("W", 2, 2, 1)
a1_1, a2_1, d2_1, d2_2 = (symbols.scalar("a", 1, 1), symbols.scalar("a", 2, 1), symbols.scalar("delta", 2, 1),
                          symbols.scalar("delta", 2, 2))
W2, D2, A1, G1 = (symbols.matrix("W", 2, 3, 3), symbols.matrix("Delta", 2, 3, M), symbols.matrix("A", 1, 3, M),
                  symbols.matrix("G", 1, 3, M))
b2, dW2 = symbols.matrix("b", 2, 3, 1), symbols.matrix("dW", 2, 3, 3)

LECTURE = TextPrinter()
THETA = TextPrinter(Notation(brackets="paren", weight_symbol="theta", delta_symbol="epsilon", cost_symbol="J",
                             weight_convention="WTa"))


# ------------------------------------------------------------------ names

@pytest.mark.parametrize("expr, expected", [
    (W3_11, "w[3]_11"),
    (W2_12, "w[2]_12"),
    (symbols.scalar("delta", 3, 1), "δ[3]_1"),
    (symbols.scalar("z", 2, 3), "z[2]_3"),
    (symbols.scalar("b", 1, 2), "b[1]_2"),
    (symbols.scalar("x", None, 2), "x_2"),
    (symbols.scalar("y", None, 1), "y_1"),
    (symbols.scalar("W", 1, 1, 10), "w[1]_(1,10)"),     # never w[1]_110
    (sp.Symbol("lambda"), "λ"),
    (ETA, "η"),
    (sp.Symbol("a_k"), "a_k"),
])
def test_symbols_are_named_as_the_lectures_write_them(expr, expected):
    assert LECTURE.doprint(expr) == expected


@pytest.mark.parametrize("expr, expected", [
    (W2_12, "θ(2)_21"),                        # Wᵀa: w_ij links unit i of layer l−1 to unit j
    (symbols.scalar("delta", 3, 1), "ε(3)_1"),
    (W2, "θ(2)ᵀ"),                             # the displayed θ is the code's Wᵀ
    (W2.T, "θ(2)"),
    (D2, "ℰ(2)"),
    (dW2, "(∂J/∂θ(2))ᵀ"),
    (dW2.T, "∂J/∂θ(2)"),
])
def test_symbols_follow_the_spec_notation(expr, expected):
    assert THETA.doprint(expr) == expected


def test_big_index_writes_every_pair_of_indices_apart():
    assert TextPrinter(big_index=True).doprint(W2_12) == "w[2]_(1,2)"


# ------------------------------------------------------------------ numbers and arithmetic

@pytest.mark.parametrize("expr, expected", [
    (sp.Integer(-3), "−3"),
    (sp.Rational(1, 2), "1/2"),
    (sp.Rational(-3, 4), "−3/4"),
    (sp.Float(0.01), "0.01"),
    (sp.pi, "π"),
    (1 - a ** 2, "1 − a²"),
    (-a + y, "y − a"),
    (a - y, "a − y"),
    (-y * sp.log(a), "−y log(a)"),
    (-y * sp.log(a) - (1 - y) * sp.log(1 - a), "−y log(a) − (1 − y) log(1 − a)"),
    (a * (1 - a), "a (1 − a)"),
    ((a - y) / M, "(a − y)/m"),
    (z / (2 * M), "z/(2 m)"),
    ((a - y) ** 2 / 2, "(a − y)²/2"),
    (2 * z, "2 z"),
    (sp.Mul(2, 3, evaluate=False), "2 · 3"),   # two numbers never sit side by side
])
def test_numbers_sums_and_products(expr, expected):
    assert LECTURE.doprint(expr) == expected


@pytest.mark.parametrize("expr, expected", [
    (a ** 2, "a²"),
    (z ** 3, "z³"),
    ((1 - a) ** 2, "(1 − a)²"),
    (a2_1 ** 2, "(a[2]_1)²"),                    # a subscripted name keeps its exponent outside
    (sp.tanh(z) ** 2, "tanh(z)²"),
    (sp.sqrt(z), "√z"),
    (sp.sqrt(1 + z ** 2), "√(z² + 1)"),
    (1 / sp.sqrt(z), "1/√z"),
    (1 / z, "1/z"),
    (z ** -2, "1/z²"),
    (1 / (1 + sp.exp(-z)), "1/(1 + e^(−z))"),
    (sp.exp(z), "e^z"),
    (sp.exp(-z), "e^(−z)"),
    (sp.exp(symbols.scalar("z", 2, 1)), "e^(z[2]_1)"),
    (sp.Pow(sp.exp(z), 2, evaluate=False), "(e^z)²"),   # never e^z², which reads as e^(z²)
    (2 ** z, "2^z"),
    (z ** sp.Rational(1, 3), "z^(1/3)"),
    (sp.Abs(z), "|z|"),
])
def test_powers_and_functions(expr, expected):
    assert LECTURE.doprint(expr) == expected


def test_a_sum_that_multiplies_keeps_its_parentheses():
    """Issue 13 item 1: (1 − a²)(w δ), read as written, is the tanh δ; 1 − a² (w δ) is not."""
    expr = (1 - a1_1 ** 2) * (W2_11 * d2_1 + W2_21 * d2_2)
    assert LECTURE.doprint(expr) == "(1 − (a[1]_1)²) (w[2]_11 δ[2]_1 + w[2]_21 δ[2]_2)"
    assert LECTURE.doprint(-(a + y) * z) == "z (−a − y)"     # SymPy carries the minus into the sum
    assert LECTURE.doprint(1 / (a * z)) == "1/(a z)"
    assert LECTURE.doprint(-z / (a + y)) == "−z/(a + y)"


@pytest.mark.parametrize("name, g, derivative", [
    ("relu", "max(0, z)", "{1, z > 0; 0, z ≤ 0}"),
    ("leaky_relu", "{z, z > 0; z/100, z ≤ 0}", "{1, z > 0; 1/100, z ≤ 0}"),
    ("sigmoid", "1/(1 + e^(−z))", "a (1 − a)"),
    ("tanh", "tanh(z)", "1 − a²"),
    ("identity", "z", "1"),
    ("2*z", "2 z", "2"),
])
def test_activations_and_their_lecture_derivatives(name, g, derivative):
    activation = make_activation(name)
    assert LECTURE.doprint(activation.expr) == g
    assert LECTURE.doprint(activation.lecture_derivative) == derivative


# ------------------------------------------------------------------ matrices

@pytest.mark.parametrize("expr, expected", [
    (HadamardProduct(G1, W2.T * D2), "G[1] ⊙ (W[2]ᵀ Δ[2])"),
    (D2 * A1.T / M, "(1/m) Δ[2] A[1]ᵀ"),
    (D2 * OneMatrix(M, 1) / M, "(1/m) Δ[2] 𝟏"),
    (b2 * OneMatrix(1, M), "b[2] 𝟏ᵀ"),
    (W2 - ETA * dW2, "W[2] − η ∂C/∂W[2]"),
    (D2 * A1.T / M + LAMBDA * W2, "λ W[2] + (1/m) Δ[2] A[1]ᵀ"),
    (W2.T * HadamardProduct(D2, G1), "W[2]ᵀ (Δ[2] ⊙ G[1])"),
    (sp.Transpose(W2 * A1), "(W[2] A[1])ᵀ"),
    (HadamardPower(D2, 2), "Δ[2]^∘2"),
    (sp.Trace(LOSS_ROW * OneMatrix(M, 1)), "Σ_i ℓ_i"),
    (sp.Trace(W2.T * W2), "‖W[2]‖²"),
    (sp.Matrix([[a, y], [z, 1]]), "[a, y; z, 1]"),
])
def test_matrix_forms(expr, expected):
    assert LECTURE.doprint(expr) == expected


def test_wta_notation_moves_the_transpose():
    """Lecture 003 writes z = Wᵀ a + b, so the code's Wᵀ Δ is its W Δ."""
    assert THETA.doprint(HadamardProduct(G1, W2.T * D2)) == "G(1) ⊙ (θ(2) ℰ(2))"


def test_text_never_ends_a_c_comment():
    assert "*/" not in LECTURE.doprint(sp.Symbol("x*/y"))


# ------------------------------------------------------------------ deltagen derive

SPECS = sorted(GENERATED.glob("*/spec.toml"))
EVERY_ACTIVATION = {"name": "every_activation", "input": 2, "loss": "cce", "layers": [
    {"units": 2, "activation": "relu"}, {"units": 2, "activation": "leaky_relu"},
    {"units": 2, "activation": "sqrt(1 + z**2)"}, {"units": 2, "activation": "tanh"},
    {"units": 2, "activation": "sigmoid"}, {"units": 3, "activation": "softmax"}]}
NOTATION = {"name": "notation_net", "input": 2, "loss": "half_sse", "l2": 0.1, "layers": [
    {"units": 2, "activation": "tanh"}, {"units": 1, "activation": "identity"}],
    "notation": {"brackets": "paren", "weight_symbol": "theta", "delta_symbol": "epsilon", "cost_symbol": "J",
                 "weight_convention": "WTa", "input_layer": 1}}
RAW_SYMPY = [re.compile(p) for p in (r"HadamardProduct", r"\*\*", r"Piecewise", r"\w\s*\*\s*\w", r"\.T\b",
                                     r"\b[A-Za-z]+\d+_\d+", r"\bDelta\d", r"\bexp\(")]


@pytest.mark.parametrize("spec", SPECS + [EVERY_ACTIVATION, NOTATION],
                         ids=[p.parent.name for p in SPECS] + ["every_activation", "notation"])
def test_derive_text_has_no_raw_sympy(spec):
    network = spec_from_dict(spec) if isinstance(spec, dict) else spec
    shown = describe(derive(network))
    for pattern in RAW_SYMPY:
        assert not pattern.search(shown), (pattern.pattern, shown)


def test_derive_text_of_the_softmax_tanh_lecture():
    lines = describe(derive(GENERATED / "lecture_softmax_tanh" / "spec.toml")).splitlines()
    for expected in [
        "Loss per example: ℓ = −y_1 log(a[2]_1) − y_2 log(a[2]_2) − y_3 log(a[2]_3)",
        "  δ[2]_k = ∂ℓ/∂z[2]_k: a[2]_1 − y_1, a[2]_2 − y_2, a[2]_3 − y_3",
        "  δ[1]_j = g'(z[1]_j) Σ_k w[2]_kj δ[2]_k,  g'(z[1]_j) = 1 − (a[1]_j)²",
        "  ∂ℓ/∂w[1]_jk = δ[1]_j a[0]_k,  ∂ℓ/∂b[1]_j = δ[1]_j",
        "  Δ[1] = G[1] ⊙ (W[2]ᵀ Δ[2])",
        "  ∂J/∂b[2] = (1/m) Δ[2] 𝟏",
        "  ∂J/∂W[1] = (1/m) Δ[1] A[0]ᵀ",
    ]:
        assert expected in lines, (expected, lines)


def test_derive_text_in_the_spec_notation():
    shown = describe(derive(spec_from_dict(NOTATION)))
    assert "  z(2) = θ(2)ᵀ a(1) + b(2)" in shown
    assert "  ε(2)_j = g'(z(2)_j) Σ_k θ(3)_jk ε(3)_k,  g'(z(2)_j) = 1 − (a(2)_j)²" in shown
    assert "  ∂ℓ/∂θ(2)_kj = ε(2)_j a(1)_k" in shown
    assert "  ℰ(2) = G(2) ⊙ (θ(3) ℰ(3))" in shown
    assert "  ∂J/∂θ(3) = λ θ(3) + (1/m) A(2) ℰ(3)ᵀ" in shown
    assert "  a(3) = z(3)" in shown


def test_derive_text_writes_out_custom_and_relu_activations():
    shown = describe(derive(spec_from_dict(EVERY_ACTIVATION)))
    assert "  a[1] = relu(z[1]),  relu(z) = max(0, z)" in shown
    assert "  a[3] = g(z[3]),  g(z) = √(z² + 1)" in shown
    assert "  a[4] = tanh(z[4])" in shown.splitlines()            # never tanh(z) = tanh(z)
    assert "g'(z[1]_j) = {1, z[1]_j > 0; 0, z[1]_j ≤ 0}" in shown


# ------------------------------------------------------------------ C comments

@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")
def test_c_comments_print_the_lecture_formulas_and_compile_strictly(tmp_path):
    derivation = derive(spec_from_dict(EVERY_ACTIVATION))
    files = render(derivation, "c")
    write_files(files, tmp_path)
    source = files["every_activation.c"]
    comments = re.findall(r"/\*(.*?)\*/", source, re.S)
    assert source.count("/*") == source.count("*/") == len(comments)
    text = "\n".join(comments)
    assert "g(z) = max(0, z)" in text
    assert "g' = {1, z > 0; 0, z ≤ 0}" in text
    assert "g(z) = 1/(1 + e^(−z))" in text
    assert "g' = 1 − a²" in text
    assert "∂C/∂W[1] = (1/m) Σ_i ∂ℓ/∂W[1]" in text
    for pattern in RAW_SYMPY[:3]:
        assert not pattern.search(text), pattern.pattern
    compile_c([tmp_path / "every_activation.c"], tmp_path / "every_activation.so", "every_activation")


# ------------------------------------------------------------------ the check report

def lecture_report(name: str, lang: str) -> str:
    folder = GENERATED / name
    derivation = derive(folder / "spec.toml")
    result = check(derivation, load_answers(folder / "answers_lecture.toml", derivation))
    return render_text(result, lang, "answers_lecture.toml", "spec.toml")


def test_number_has_a_decimal_comma_in_portuguese_only():
    assert number(mpmath.mpf("0.17450496"), 8, "pt") == "0,17450496"
    assert number(mpmath.mpf("-2.5e-5"), lang="pt") == "-2,5e-5"
    assert number(mpmath.mpf("0.17450496"), 8) == "0.17450496"
    assert tolerance_text(Decimal("0.00005"), "en") == "±0.00005"
    assert tolerance_text(Decimal("5E-7"), "pt") == "±0,0000005"


def test_follow_through_shows_the_tolerance_it_was_judged_with():
    """Lecture 000: z[3] = 1,5807 where its own a[2] gives 1.5806, one unit of the fourth decimal off:
    more than the ±0.00005 of its own last digit, allowed for by the rounding of the a[2] it uses."""
    report = lecture_report("lecture_sigmoid_121", "en")
    assert ("z[3] = 1,5807: follows through: right value 4.857722; what your earlier numbers give: 1.5806 "
            "(yours is 0.0001 from it: more than ±0.00005, but within what the rounding of the earlier "
            "numbers it uses allows)") in report
    # lecture 002: −0.0039 and the −0.0039014461 its numbers give are 1.4e-6 apart, well within ±0.00005
    assert ("what your earlier numbers give: -0.0039014461 (yours is within ±0.00005 of it)"
            in lecture_report("lecture_vectorized_231", "en"))


def test_wrong_numbers_show_the_tolerance():
    report = lecture_report("lecture_vectorized_231", "en")
    assert re.search(r"dC/da\[2\] = -0\.095: wrong: right value \S+ \(±0\.0005 allowed\)", report)


def test_portuguese_report_writes_decimal_commas_and_json_keeps_points():
    folder = GENERATED / "lecture_vectorized_231"
    derivation = derive(folder / "spec.toml")
    result = check(derivation, load_answers(folder / "answers_lecture.toml", derivation))
    report = render_text(result, "pt")
    assert "lido como 0,7 em vez de 0,6" in report
    assert "(tolerância ±0,0005)" in report
    for line in report.splitlines():
        judged = line.split(": ", 1)[1] if re.match(r"\s+\S+ = \S+: ", line) else line
        assert not re.search(r"\d\.\d", judged), line        # only the numbers as written keep their point
    numbers = json.loads(render_json(result))["claims"][1]["numbers"][0]
    assert "," not in numbers["correct"] and "." in numbers["correct"]


def test_formula_explanations_use_the_lecture_names():
    """Lecture 000, δ[2] of its 1-2-1 net: one output unit, so δ[2]_j = w[3]_1j δ[3]_1 a[2]_j (1 − a[2]_j)."""
    report = lecture_report("lecture_sigmoid_121", "en")
    line = next(line for line in report.splitlines() if "correct at layer 2: equal to" in line)
    for name in ("w[3]_11", "δ[3]_1", "a[2]_1", "(1 − a[2]_1)", "w[3]_12", "(1 − a[2]_2)"):
        assert name in line
    for raw in ("W3_1_1", "delta3_1", "a2_1", "**", "*"):
        assert raw not in line


def test_formula_shown_in_the_spec_notation():
    """θ, (l), ε and Wᵀa: unit 2 of layer 2 sums θ(3)_2k ε(3)_k over the one output unit k = 1."""
    d = derive(spec_from_dict(NOTATION))
    assert _show(sp.Matrix(d.delta_index(2)), d) == (
        "[θ(3)_11 ε(3)_1 (1 − (a(2)_1)²), θ(3)_21 ε(3)_1 (1 − (a(2)_2)²)]")
    assert _show_point({"m": "2", "y_1": "1/3", "z3_1": "2"}, d) == {"m": "2", "y_1": "1/3", "z(3)_1": "2"}


# ------------------------------------------------------------------ read as written

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def read_as_written(shown: str) -> sp.Expr:
    """The printed text read by the usual rules (juxtaposition is a product, written before /), by SymPy.

    Independent of the printer: plain string rewriting into Python syntax, then ``sympify``.
    """
    t = shown.replace("−", "-").replace("max(", "Max(")
    t = re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹]+", lambda g: "**" + g.group().translate(_SUPERSCRIPTS), t)
    t = re.sub(r"e\^([A-Za-z]\w*)", r"exp(\1)", t).replace("e^(", "exp(").replace("^", "**")
    t = re.sub(r"√([A-Za-z]\w*)", r"sqrt(\1)", t).replace("√(", "sqrt(")
    t = re.sub(r"(?<=[\w)])\s+(?=[\w(])", "*", t)
    return sp.sympify(t, locals={"a": a, "y": y, "z": z, "m": M})


@pytest.mark.parametrize("expr", [
    (1 - a ** 2) * (a * y + z),
    -(a + y) * (z - 1),
    (a - y) ** 2 / 2,
    a * (1 - a) * (a - y),
    1 / (1 + sp.exp(-z)),
    sp.exp(-z) / (1 + sp.exp(-z)) ** 2,
    (a - y) / M,
    -y / a + (1 - y) / (1 - a),
    z / (2 * M * a),
    sp.sqrt(1 + z ** 2) - z * sp.exp(a + y),
    (z + 1) ** sp.Rational(1, 3) * a,
    -2 * z * sp.exp(-z ** 2),
    sp.Piecewise((z, z > 0), (0, True)) * (a - y),      # relu, printed max(0, z)
    (1 - sp.tanh(z) ** 2) * (a - y),
])
def test_printed_formulas_read_as_they_compute(expr):
    """Issue 13: a printed formula, read by a student with ordinary precedence, is the formula
    (compared exactly at points where each side is defined, z on both sides of 0)."""
    shown = LECTURE.doprint(expr)
    read = read_as_written(shown)
    for point in ({a: sp.Rational(1, 3), y: sp.Rational(3, 4), z: sp.Rational(1, 2), M: 3},
                  {a: sp.Rational(-2, 5), y: 2, z: sp.Rational(-7, 3), M: 5}):
        assert sp.simplify(read.subs(point) - expr.subs(point)) == 0, shown
