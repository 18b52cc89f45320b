"""The derivative mistakes students make get their cause, for numbers and formulas alike (issue 13, item 5).

Every wrong number here is made on purpose by a hand computation in mpmath of a small network
(``Hand``): g' left out of δ (at the output, as lecture 002's first summary writes δ^[L] = ∂ℓ/∂a^[L],
and in a hidden layer), g' evaluated at a instead of z, a sign slip inside g''s lecture form, a
doubled loss. Nothing comes from deltagen. ``deltagen check --json`` must name the cause, and a
later claim computed from the wrong number must "follow through". A cause must not depend on
right claims for other examples.
"""
from __future__ import annotations

import json
from pathlib import Path

import mpmath
import pytest
from mpmath import mpf

from deltagen.cli import main

ROOT = Path(__file__).resolve().parent.parent

# 2-2-2: tanh hidden, sigmoid output, half_sse, mean over two examples. Every number is a short
# binary fraction, so the spec's decimals and their doubles are the same numbers.
SPEC = """
name = "derivative_net"
input = 2
layers = [ { units = 2, activation = "tanh" }, { units = 2, activation = "sigmoid" } ]
loss = "half_sse"
reduction = "mean"
[example]
W = [ [[0.5, -0.25], [0.75, 0.5]], [[1.0, -0.75], [0.5, 1.25]] ]
b = [ [[0.125], [-0.5]], [[0.25], [-0.125]] ]
X = [[1.0, -0.5], [0.5, 1.5]]
Y = [[1.0, 0.0], [0.0, 1.0]]
learning_rate = 0.5
"""
W1 = [[mpf("0.5"), mpf("-0.25")], [mpf("0.75"), mpf("0.5")]]
B1 = [mpf("0.125"), mpf("-0.5")]
W2 = [[mpf("1.0"), mpf("-0.75")], [mpf("0.5"), mpf("1.25")]]
B2 = [mpf("0.25"), mpf("-0.125")]
XS = [[mpf("1.0"), mpf("0.5")], [mpf("-0.5"), mpf("1.5")]]     # the examples: columns of X
YS = [[mpf(1), mpf(0)], [mpf(0), mpf(1)]]


@pytest.fixture(autouse=True)
def forty_digits():
    with mpmath.workdps(40):
        yield


def sigma(v):
    return 1 / (1 + mpmath.exp(-v))


def matvec(W, v):
    return [mpmath.fsum(w * x for w, x in zip(row, v)) for row in W]


def transpose(W):
    return [list(col) for col in zip(*W)]


def times(u, v):
    return [p * q for p, q in zip(u, v)]


class Hand:
    """One example of the 2-2-2 net by hand: forward, ∂ℓ/∂a, g' of both layers, δ."""

    def __init__(self, i):
        self.x, self.y = XS[i], YS[i]
        self.z1 = [s + b for s, b in zip(matvec(W1, self.x), B1)]
        self.a1 = [mpmath.tanh(v) for v in self.z1]
        self.z2 = [s + b for s, b in zip(matvec(W2, self.a1), B2)]
        self.a2 = [sigma(v) for v in self.z2]
        self.C = mpmath.fsum((a - t) ** 2 for a, t in zip(self.a2, self.y)) / 2
        self.dC_da = [a - t for a, t in zip(self.a2, self.y)]
        self.g2 = [a * (1 - a) for a in self.a2]                  # σ'(z) = a(1 − a)
        self.d2 = times(self.dC_da, self.g2)
        self.g1 = [1 - a * a for a in self.a1]                    # tanh'(z) = 1 − a²
        self.d1 = times(self.g1, self.back(self.d2))

    @staticmethod
    def back(d2):
        """W^[2]ᵀ δ^[2]."""
        return matvec(transpose(W2), d2)

    def outer(self, delta, prev):
        return [[d * p for p in prev] for d in delta]


def fmt(value, digits=6) -> str:
    return mpmath.nstr(value, digits, strip_zeros=False, min_fixed=-6, max_fixed=6)


def toml_value(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return f'"{fmt(value)}"'


def number_claims(*items) -> str:
    """[[claim]] tables for (quantity, 1-based example or None, value)."""
    out = []
    for quantity, example, value in items:
        out += ["[[claim]]", f'quantity = "{quantity}"']
        if example is not None:
            out.append(f"example = {example}")
        out.append(f"value = {toml_value(value)}")
    return "\n".join(out) + "\n"


def formula_claims(*items) -> str:
    return "".join(f'[[claim]]\nquantity = "{q}"\nexpression = "{e}"\n' for q, e in items)


def run(tmp_path, answers: str, spec: str = SPEC, lang: str | None = None, capsys=None) -> dict | str:
    """``deltagen check SPEC ANSWERS --json`` (or the text report in ``lang``), through the CLI's main."""
    spec_path, answers_path = tmp_path / "spec.toml", tmp_path / "answers.toml"
    spec_path.write_text(spec)
    answers_path.write_text(answers)
    args = ["check", str(spec_path), str(answers_path)]
    status = main(args + (["--lang", lang] if lang else ["--json"]))
    out = capsys.readouterr().out
    assert status in (0, 1), out
    return out if lang else json.loads(out)


def by_claim(report: dict) -> dict[int, dict]:
    """The report's claims by their 0-based place in the answers file."""
    return {c["claim"]: c for c in report["claims"]}


def causes(number: dict) -> list[list[tuple[str, dict]]]:
    return [[(c["id"], {k: v for k, v in c.items() if k != "id"}) for c in combo] for combo in number["causes"]]


def verdicts(claim: dict) -> list[str]:
    return [n["verdict"] for n in claim["numbers"]]


# ---------------------------------------------------------------- derivative left out

def test_output_derivative_left_out_as_a_number(tmp_path, capsys):
    h = Hand(0)
    left_out = h.dC_da                                    # δ^[2] = ∂ℓ/∂a^[2], without σ'(z^[2])
    dW2 = h.outer(left_out, h.a1)                         # what follows from it
    report = run(tmp_path, number_claims(("delta[2]", 1, left_out), ("dW[2]", 1, dW2)), capsys=capsys)
    delta, grad = by_claim(report)[0], by_claim(report)[1]
    assert verdicts(delta) == ["wrong", "wrong"]
    assert [causes(n) for n in delta["numbers"]] == [[[("derivative_left_out", {"layers": "2"})]]] * 2
    assert grad["verdict"] == "follows-through" and verdicts(grad) == ["follows-through"] * 4


def test_hidden_derivative_left_out_as_a_number(tmp_path, capsys):
    h = Hand(1)
    left_out = h.back(h.d2)                               # δ^[1] = W^[2]ᵀ δ^[2], without tanh'(z^[1])
    dW1 = h.outer(left_out, h.x)
    report = run(tmp_path, number_claims(("delta[2]", 2, h.d2), ("delta[1]", 2, left_out), ("dW[1]", 2, dW1)),
                 capsys=capsys)
    claims = by_claim(report)
    assert verdicts(claims[0]) == ["correct", "correct"]
    assert [causes(n) for n in claims[1]["numbers"]] == [[[("derivative_left_out", {"layers": "1"})]]] * 2
    assert verdicts(claims[2]) == ["follows-through"] * 4


def test_lecture_002_delta_as_the_loss_derivative(tmp_path, capsys):
    """Lecture 002's first summary, δ(L) = ∂J/∂a(L), as a number for its own scalar chain."""
    spec = (ROOT / "generated" / "lecture_scalar_chain" / "spec.toml").read_text()
    a1 = sigma(mpf("-0.5") * 1)                          # θ(1) = −0.5, x = 1
    a2 = sigma(mpf("0.5") * a1)                          # θ(2) = 0.5
    left_out = a2 - 1                                     # y = 1
    report = run(tmp_path, number_claims(("delta[2]", 1, left_out), ("dW[2]", None, left_out * a1)),
                 spec=spec, capsys=capsys)
    delta, grad = by_claim(report)[0], by_claim(report)[1]
    assert causes(delta["numbers"][0]) == [[("derivative_left_out", {"layers": "2"})]]
    assert verdicts(grad) == ["follows-through"]        # one example: ∂C/∂θ(2) = δ(2) a(1)


SOFTMAX_SPEC = """
name = "softmax_net"
input = 2
layers = [ { units = 2, activation = "tanh" }, { units = 2, activation = "softmax" } ]
loss = "cce"
reduction = "mean"
[example]
W = [ [[0.5, -0.25], [0.75, 0.5]], [[1.0, -0.75], [0.5, 1.25]] ]
b = [ [[0.125], [-0.5]], [[0.25], [-0.125]] ]
X = [[1.0], [0.5]]
Y = [[1], [0]]
"""


def test_softmax_output_jacobian_left_out(tmp_path, capsys):
    x = XS[0]
    a1 = [mpmath.tanh(s + b) for s, b in zip(matvec(W1, x), B1)]
    z2 = [s + b for s, b in zip(matvec(W2, a1), B2)]
    total = mpmath.fsum(mpmath.exp(v) for v in z2)
    a2 = [mpmath.exp(v) / total for v in z2]
    y = [mpf(1), mpf(0)]
    left_out = [-t / a for t, a in zip(y, a2)]            # δ^[2] = ∂ℓ/∂a^[2] = −y/a, the Jacobian left out
    report = run(tmp_path, number_claims(("delta[2]", 1, left_out)), spec=SOFTMAX_SPEC, capsys=capsys)
    # the second entry is −0/a = 0: written "0.00000", it is wrong too (the right δ_2 is a_2)
    assert causes(by_claim(report)[0]["numbers"][0]) == [[("derivative_left_out", {"layers": "2"})]]


# ---------------------------------------------------------------- g' at a, and a sign slip in g'

def test_derivative_evaluated_at_a(tmp_path, capsys):
    h = Hand(0)
    at_a = [sigma(a) * (1 - sigma(a)) for a in h.a2]      # σ(a)(1 − σ(a)) where σ(z)(1 − σ(z)) belongs
    report = run(tmp_path, number_claims(("g'[2]", 1, at_a), ("delta[2]", 1, times(h.dC_da, at_a))),
                 capsys=capsys)
    g, delta = by_claim(report)[0], by_claim(report)[1]
    assert [causes(n) for n in g["numbers"]] == [[[("derivative_at_a", {"layers": "2",
                                                                        "written": "σ(a)(1 − σ(a))"})]]] * 2
    assert verdicts(delta) == ["follows-through"] * 2

    # tanh in the hidden layer, with no g' claimed: 1 − tanh²(a) inside δ^[1]
    at_a = [1 - mpmath.tanh(a) ** 2 for a in h.a1]
    report = run(tmp_path, number_claims(("delta[2]", 1, h.d2), ("delta[1]", 1, times(at_a, h.back(h.d2)))),
                 capsys=capsys)
    assert [causes(n) for n in by_claim(report)[1]["numbers"]] == [[[("derivative_at_a", {
        "layers": "1", "written": "1 − tanh²(a)"})]]] * 2


def test_sign_slip_in_the_derivative_formula(tmp_path, capsys):
    h = Hand(1)
    slipped = [1 + a * a for a in h.a1]                   # tanh' written 1 + a²
    delta1 = times(slipped, h.back(h.d2))
    report = run(tmp_path, number_claims(("g'[1]", 2, slipped), ("delta[1]", 2, delta1)), capsys=capsys)
    g, delta = by_claim(report)[0], by_claim(report)[1]
    expected = ("derivative_formula_sign", {"layers": "1", "written": "1 + a²", "right": "1 − a²"})
    assert [causes(n) for n in g["numbers"]] == [[[expected]]] * 2
    assert verdicts(delta) == ["follows-through"] * 2

    # σ' written a(1 + a), inside δ^[2] with no g' claimed
    slipped = [a * (1 + a) for a in h.a2]
    report = run(tmp_path, number_claims(("delta[2]", 2, times(h.dC_da, slipped))), capsys=capsys)
    assert [causes(n) for n in by_claim(report)[0]["numbers"]] == [[[(
        "derivative_formula_sign", {"layers": "2", "written": "a(1 + a)", "right": "a(1 − a)"})]]] * 2


def test_the_new_causes_read_in_english_and_portuguese(tmp_path, capsys):
    h = Hand(0)
    answers = number_claims(("g'[1]", 1, [1 + a * a for a in h.a1]),
                            ("g'[2]", 1, [sigma(a) * (1 - sigma(a)) for a in h.a2]),
                            ("delta[2]", 2, Hand(1).dC_da))
    en = run(tmp_path, answers, lang="en", capsys=capsys)
    assert "a sign slip in the derivative's formula, 1 + a² for 1 − a² (layer 1)" in en
    assert "the derivative evaluated at a instead of z, σ(a)(1 − σ(a)) where g'(z) belongs (layer 2)" in en
    assert "the activation's derivative g'(z) left out (layer 2)" in en
    pt = run(tmp_path, answers, lang="pt", capsys=capsys)
    assert "sinal trocado na fórmula da derivada, 1 + a² no lugar de 1 − a² (camada 1)" in pt
    assert "derivada calculada em a em vez de z, σ(a)(1 − σ(a)) no lugar de g'(z) (camada 2)" in pt
    assert "faltou a derivada da ativação g'(z) (camada 2)" in pt


# ---------------------------------------------------------------- formulas get the same causes

@pytest.mark.parametrize("quantity, expression, cause", [
    ("delta[L]", "a[L] - y", ("derivative_left_out", {"layers": "2"})),
    ("delta[1]", "W[2].T @ delta[2]", ("derivative_left_out", {"layers": "1"})),
    ("delta[l]", "(W[l+1].T @ delta[l+1]) * a[l]", ("g_for_derivative", {"layers": "1"})),
    ("delta[L]", "(a[L] - y) * a[L]", ("g_for_derivative", {"layers": "2"})),
    ("delta[1]", "(W[2].T @ delta[2]) * (1 - tanh(a[1])**2)", ("derivative_at_a", {
        "layers": "1", "written": "1 − tanh²(a)"})),
    ("delta[L]", "(a[L] - y) * sigmoid(a[L]) * (1 - sigmoid(a[L]))", ("derivative_at_a", {
        "layers": "2", "written": "σ(a)(1 − σ(a))"})),
    ("delta[1]", "(W[2].T @ delta[2]) * (1 + a[1]**2)", ("derivative_formula_sign", {
        "layers": "1", "written": "1 + a²", "right": "1 − a²"})),
    ("delta[L]", "(a[L] - y) * a[L] * (1 + a[L])", ("derivative_formula_sign", {
        "layers": "2", "written": "a(1 + a)", "right": "a(1 − a)"})),
    ("g'[1]", "1 + a[1]**2", ("derivative_formula_sign", {"layers": "1", "written": "1 + a²", "right": "1 − a²"})),
    ("g'[2]", "a[2]", ("g_for_derivative", {"layers": "2"})),
    ("delta[L]", "(y - a[L]) * a[L] * (1 - a[L])", ("derivative_sign", {})),
])
def test_formula_claims_get_the_derivative_causes(tmp_path, capsys, quantity, expression, cause):
    report = run(tmp_path, formula_claims((quantity, expression)), capsys=capsys)
    formula = by_claim(report)[0]["formula"]
    assert by_claim(report)[0]["verdict"] == "wrong"
    assert causes(formula) == [[cause]]


def test_right_formulas_stay_right(tmp_path, capsys):
    """The mistaken forms above differ from these, which are the lecture's own."""
    report = run(tmp_path, formula_claims(("delta[L]", "(a[L] - y) * a[L] * (1 - a[L])"),
                                          ("delta[l]", "(W[l+1].T @ delta[l+1]) * (1 - a[l]**2)"),
                                          ("g'[1]", "1 - a[1]**2")), capsys=capsys)
    assert [c["verdict"] for c in report["claims"]] == ["correct"] * 3


# ---------------------------------------------------------------- a cause does not depend on the rest of the file

@pytest.mark.parametrize("mistake", ["doubled", "left_out"])
def test_a_cause_is_the_same_beside_right_claims_for_another_example(tmp_path, capsys, mistake):
    h, other = Hand(0), Hand(1)
    wrong = [2 * d for d in h.d2] if mistake == "doubled" else h.dC_da      # ½ of the loss left out, or σ'
    expected = [("loss_doubled", {})] if mistake == "doubled" else [("derivative_left_out", {"layers": "2"})]
    alone = run(tmp_path, number_claims(("delta[2]", 1, wrong)), capsys=capsys)
    beside = run(tmp_path, number_claims(("delta[2]", 1, wrong), ("a[2]", 2, other.a2), ("C", 2, other.C),
                                         ("delta[2]", 2, other.d2)), capsys=capsys)
    assert [verdicts(c) for c in beside["claims"][1:]] == [["correct", "correct"], ["correct"], ["correct"] * 2]
    for report in (alone, beside):
        assert [causes(n) for n in by_claim(report)[0]["numbers"]] == [[expected]] * 2


def test_one_example_only_is_not_said_of_that_examples_own_number(tmp_path, capsys):
    """A right claim for example 2 rules out the mistake in every example, not in example 1: the
    words for example 1's number are those of the claim alone (no ", in example 1 only")."""
    h, other = Hand(0), Hand(1)
    answers = number_claims(("delta[2]", 1, [2 * d for d in h.d2]), ("delta[2]", 2, other.d2))
    text = run(tmp_path, answers, lang="en", capsys=capsys)
    assert "a factor 2 too many (the ½ of the loss left out, or a 2 kept from differentiating the square)\n" in text
    assert "in example 1 only" not in text
