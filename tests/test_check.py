"""deltagen check: verdicts, follow-through, rounding, the mistake catalogue, formulas, reports and bad input.

Every claimed number below is computed here, by a hand derivation in mpmath of a small 2-2-2
sigmoid network (``Hand``), with the mistake in question made on purpose; nothing comes from
deltagen. The checker must then give the verdict and the cause the test expects.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import mpmath
import pytest
from mpmath import mpf

from deltagen import derive
from deltagen.derive.checking.answers import half_unit, parse_answers
from deltagen.derive.checking.check import check
from deltagen.derive.checking.nodes import Key
from deltagen.derive.checking.report import render_json, render_text

ROOT = Path(__file__).resolve().parent.parent

# A 2-2-2 sigmoid network, half_sse, mean over two examples. Its weight matrices are square
# and not symmetric, so transposing them is a visible mistake.
SPEC = """
name = "mistake_net"
input = 2
layers = [ { units = 2, activation = "sigmoid" }, { units = 2, activation = "sigmoid" } ]
loss = "half_sse"
reduction = "mean"
[example]
W = [ [[0.5, -1.0], [1.5, 0.25]], [[1.0, -0.5], [0.75, 2.0]] ]
b = [ [[0.1], [-0.2]], [[0.3], [-0.1]] ]
X = [[1.0, -0.5], [2.0, 0.5]]
Y = [[1.0, 0.0], [0.0, 1.0]]
learning_rate = 0.5
"""
with mpmath.workdps(60):      # the spec's decimals, past the 40 digits the tests compute at
    W1 = [[mpf("0.5"), mpf("-1.0")], [mpf("1.5"), mpf("0.25")]]
    B1 = [mpf("0.1"), mpf("-0.2")]      # the decimals the spec writes, which the checker computes with
    W2 = [[mpf("1.0"), mpf("-0.5")], [mpf("0.75"), mpf("2.0")]]
    B2 = [mpf("0.3"), mpf("-0.1")]
    XS = [[mpf("1.0"), mpf("2.0")], [mpf("-0.5"), mpf("0.5")]]      # the examples (columns of X)
    YS = [[mpf("1.0"), mpf("0.0")], [mpf("0.0"), mpf("1.0")]]
    ETA = mpf("0.5")


@pytest.fixture(autouse=True)
def forty_digits():
    with mpmath.workdps(40):
        yield


def sigma(v, sign=1):
    return 1 / (1 + mpmath.exp(-sign * v))


def matvec(W, v):
    return [mpmath.fsum(w * x for w, x in zip(row, v)) for row in W]


def transpose(W):
    return [list(col) for col in zip(*W)]


class Hand:
    """One example through the network by hand, with optional mistakes."""

    def __init__(self, i, y=None, sign=1, g_for_gprime=False, transposed_back=False, W2_used=None):
        x = XS[i]
        self.y = y or YS[i]
        self.z1 = [s + b for s, b in zip(matvec(W1, x), B1)]
        self.a1 = [sigma(v, sign) for v in self.z1]
        self.z2 = [s + b for s, b in zip(matvec(W2, self.a1), B2)]
        self.a2 = [sigma(v) for v in self.z2]
        self.C = mpmath.fsum((a - t) ** 2 for a, t in zip(self.a2, self.y)) / 2
        self.dC_da = [a - t for a, t in zip(self.a2, self.y)]
        self.d2 = [g * a * (1 - a) for g, a in zip(self.dC_da, self.a2)]
        W2b = W2_used or W2
        back = matvec(W2b if transposed_back else transpose(W2b), self.d2)
        self.d1 = [(a if g_for_gprime else a * (1 - a)) * s for a, s in zip(self.a1, back)]
        self.dW1 = [[d * xk for xk in x] for d in self.d1]
        self.dW2 = [[d * ak for ak in self.a1] for d in self.d2]


def batch(grads, factor=mpf(1) / 2):
    return [[factor * mpmath.fsum(g[j][k] for g in grads) for k in range(2)] for j in range(2)]


def fmt(value, digits=6) -> str:
    return mpmath.nstr(value, digits, strip_zeros=False, min_fixed=-6, max_fixed=6)


def toml_value(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return f'"{fmt(value)}"'


def claims(*items) -> str:
    out = []
    for quantity, example, value in items:
        out.append("[[claim]]")
        out.append(f'quantity = "{quantity}"')
        if example is not None:
            out.append(f"example = {example}")
        out.append(f"value = {value if isinstance(value, str) and value.startswith('[') else toml_value(value)}")
    return "\n".join(out) + "\n"


@pytest.fixture(scope="module")
def derivation():
    return derive.derive(derive.spec_from_dict(__import__("tomllib").loads(SPEC), source="mistake_net.toml"))


def run_check(derivation, text):
    return check(derivation, parse_answers(text, derivation, "answers.toml"))


def verdicts(result):
    return [(r.claim.quantity, r.claim.example, [e.verdict for e in r.entries]) for r in result.results]


def cause_ids(entry):
    return [[c.id for c in combo] for combo in entry.causes]


# ---------------------------------------------------------------- tolerances and right answers

def test_tolerance_is_half_a_unit_of_the_last_written_digit():
    assert half_unit(Decimal("0.5470")) == Decimal("0.00005")
    assert half_unit(Decimal("12")) == Decimal("0.5")
    assert half_unit(Decimal("1.5E-3")) == Decimal("0.00005")


def test_right_numbers_are_correct_and_exit_zero(derivation):
    h1, h2 = Hand(0), Hand(1)
    dW2 = batch([h1.dW2, h2.dW2])
    text = claims(("a[1]", 1, h1.a1), ("z[2]", 2, h2.z2), ("C", 1, h1.C), ("delta[1]", 2, h2.d1),
                  ("dW[2]", None, dW2), ("W[2]+", None, [[w - ETA * g for w, g in zip(wr, gr)]
                                                         for wr, gr in zip(W2, dW2)]),
                  ("cost", None, (h1.C + h2.C) / 2))
    result = run_check(derivation, text)
    assert all(v == "correct" for _, _, vs in verdicts(result) for v in vs), verdicts(result)
    assert result.ok and not any(r.first_wrong for r in result.results)


def test_decimal_comma_and_given_tolerance(derivation):
    h1 = Hand(0)
    off = h1.C + mpf("0.003")
    text = ('[[claim]]\nquantity = "C"\nexample = 1\nvalue = "' + fmt(h1.C, 4).replace(".", ",") + '"\n'
            '[[claim]]\nquantity = "C"\nexample = 1\nvalue = ' + fmt(off, 6) + '\ntolerance = 0.005\n')
    assert [r.verdict for r in run_check(derivation, text).results] == ["correct", "correct"]


# ---------------------------------------------------------------- follow-through and rounding

def test_follow_through_after_a_wrong_step(derivation):
    slipped = Hand(0, sign=-1)                     # a[1] with σ(−z): wrong
    text = claims(("a[1]", 1, slipped.a1), ("z[2]", 1, slipped.z2), ("a[2]", 1, slipped.a2))
    result = run_check(derivation, text)
    assert [r.verdict for r in result.results] == ["wrong", "follows-through", "follows-through"]
    assert result.results[0].first_wrong and not result.results[1].first_wrong
    right = Hand(0)
    for entry, expected in zip(result.results[1].entries, right.z2):
        assert abs(entry.correct - expected) < mpf("1e-30")


def test_rounded_intermediates_give_rounding(derivation):
    h = Hand(0)
    rounded_a1 = [mpmath.mpf(fmt(v, 2)) for v in h.a1]           # a[1] to 2 digits: still right to 2 digits
    z2 = [s + b for s, b in zip(matvec(W2, rounded_a1), B2)]     # computed from them, written to 6 digits
    assert any(abs(mpf(fmt(v)) - t) > mpf("5e-6") for v, t in zip(z2, h.z2))
    result = run_check(derivation, claims(("a[1]", 1, [fmt(v, 2) for v in h.a1]), ("z[2]", 1, z2)))
    assert result.results[0].verdict == "correct"
    assert result.results[1].verdict == "rounding"


def test_truncation_is_rounding(derivation):
    h = Hand(0)
    places = next(p for p in range(3, 12) if mpmath.nint(h.a1[0] * 10 ** p) != mpmath.floor(h.a1[0] * 10 ** p))
    truncated = mpmath.floor(h.a1[0] * 10 ** places) / 10 ** places
    assert abs(truncated - h.a1[0]) > mpf(10) ** -places / 2       # rounding would give the next digit
    written = format(Decimal(mpmath.nstr(truncated, 30)).quantize(Decimal(1).scaleb(-places)), "f")
    result = run_check(derivation, claims(("a[1]", 1, [written, fmt(h.a1[1])])))
    entry = result.results[0].entries[0]
    assert entry.verdict == "rounding" and entry.note == "truncated"


def test_order_follows_dependencies_not_the_file(derivation):
    slipped = Hand(0, sign=-1)
    text = claims(("a[2]", 1, slipped.a2), ("C", 2, Hand(1).C), ("a[1]", 1, slipped.a1))
    result = run_check(derivation, text)
    assert [(r.claim.quantity, r.claim.example) for r in result.results] == [("C", 1), ("a[1]", 0), ("a[2]", 0)]
    assert result.results[1].first_wrong


# ---------------------------------------------------------------- the mistake catalogue

def one_cause(derivation, quantity, example, value):
    result = run_check(derivation, claims((quantity, example, value)))
    (claim,) = result.results
    assert claim.verdict == "wrong"
    return [cause_ids(e) for e in claim.entries if e.verdict == "wrong"]


def test_sigmoid_sign_slip(derivation):
    assert one_cause(derivation, "a[1]", 1, Hand(0, sign=-1).a1) == [[["sigmoid_sign"]]] * 2


def test_sum_instead_of_mean(derivation):
    summed = batch([Hand(0).dW2, Hand(1).dW2], factor=mpf(1))
    # with two examples a sum is twice the mean, so a doubled loss gives the same numbers: both are said
    assert one_cause(derivation, "dW[2]", None, summed) == [[["sum_for_mean"], ["loss_doubled"]]] * 4


def test_missing_half(derivation):
    h = Hand(0)
    assert one_cause(derivation, "C", 1, 2 * h.C) == [[["loss_doubled"]]]


def test_g_instead_of_derivative(derivation):
    assert one_cause(derivation, "delta[1]", 2, Hand(1, g_for_gprime=True).d1) == [[["g_for_derivative"]]] * 2


def test_transposed_weights_in_the_backward_pass(derivation):
    assert one_cause(derivation, "delta[1]", 1, Hand(0, transposed_back=True).d1) == [[["transposed_backward"]]] * 2


def test_learning_rate_sign(derivation):
    dW2 = batch([Hand(0).dW2, Hand(1).dW2])
    uphill = [[w + ETA * g for w, g in zip(wr, gr)] for wr, gr in zip(W2, dW2)]
    # W + η∂C/∂W is also what a − y taken with the wrong sign gives, when no δ or gradient is claimed
    assert one_cause(derivation, "W[2]+", None, uphill) == [[["derivative_sign"], ["learning_rate_sign"]]] * 4


def test_sequential_update(derivation):
    dW2 = batch([Hand(0).dW2, Hand(1).dW2])
    W2_new = [[w - ETA * g for w, g in zip(wr, gr)] for wr, gr in zip(W2, dW2)]
    dW1 = batch([Hand(0, W2_used=W2_new).dW1, Hand(1, W2_used=W2_new).dW1])
    W1_new = [[w - ETA * g for w, g in zip(wr, gr)] for wr, gr in zip(W1, dW1)]
    assert one_cause(derivation, "W[1]+", None, W1_new) == [[["sequential"]]] * 4


@pytest.fixture(scope="module")
def derivation_from_2():
    """The same net with the input numbered 1 (as lecture 000 numbers it): a[1] = x, layers 2 and 3."""
    data = __import__("tomllib").loads(SPEC) | {"notation": {"input_layer": 1}}
    return derive.derive(derive.spec_from_dict(data, source="mistake_net.toml"))


def test_layers_are_the_specs_numbers_when_the_input_is_layer_1(derivation_from_2):
    d = derivation_from_2
    h, slipped, transposed = Hand(0), Hand(0, sign=-1), Hand(0, transposed_back=True)
    result = run_check(d, claims(("a[1]", 1, XS[0]), ("a[2]", 1, slipped.a1), ("delta[2]", 1, transposed.d1)))
    x, a2, delta2 = result.results
    assert x.verdict == "correct" and x.key == Key("x", None, 0)          # a at the input's number is x
    assert a2.key == Key("a", 2, 0) and delta2.key == Key("delta", 2, 0)
    assert [[dict(c.details) for c in combo] for combo in a2.entries[0].causes] == [[
        {"layers": "2"}]]
    # Wᵀ δ into layer 2 is the mistake of W^[3]: possible although W^[2] is the first layer's
    assert [[(c.id, dict(c.details)) for c in combo] for combo in delta2.entries[0].causes] == [[
        ("transposed_backward", {"layers": "3"})]]
    # an intermediate a[2] rounded to 2 decimals is named by its number, in the text and in the JSON
    a1 = [mpmath.mpf(fmt(h.a1[0], 2)), h.a1[1]]
    z3 = [s + b for s, b in zip(matvec(W2, a1), B2)]
    result = run_check(d, claims(("z[3]", 1, z3)))
    entry = result.results[0].entries[0]
    assert result.results[0].verdict == "rounding" and entry.rounded[0] == Key("a", 2, 0)
    assert "a[2]_1 (example 1)" in render_text(result)
    assert json.loads(render_json(result))["claims"][0]["numbers"][0]["rounded_intermediate"]["layer"] == 2
    for quantity, expected in (("a[0]", "expected layer 1 to 3 for a"), ("z[1]", "expected layer 2 to 3 for z"),
                               ("delta[4]", "expected layer 2 to 3 for delta")):
        with pytest.raises(derive.SpecError, match=expected.replace("[", r"\[")):
            run_check(d, claims((quantity, 1, [1, 2])))


def test_misread_target_is_found_with_the_value_read(derivation):
    misread = Hand(0, y=[mpf("0.8"), mpf("0.0")])                # y_1 of example 1 is 1.0
    result = run_check(derivation, claims(("dC/da[2]", 1, misread.dC_da)))
    entry = result.results[0].entries[0]
    assert entry.verdict == "wrong"
    assert [[dict(c.details) for c in combo] for combo in entry.causes] == [[
        {"what": "y", "example": "1", "unit": "1", "read": "0.8", "actual": "1"}]]
    assert result.results[0].entries[1].verdict == "correct"


def test_no_known_cause_is_said_honestly(derivation):
    result = run_check(derivation, claims(("C", 1, mpf("0.123456"))))
    entry = result.results[0].entries[0]
    assert entry.verdict == "wrong" and entry.causes == []
    assert "no known cause" in render_text(result)


def test_digit_slip(derivation):
    right = fmt(Hand(0).a1[0], 4)
    slipped = right[:-2] + str((int(right[-2]) + 3) % 10) + right[-1]
    assert one_cause(derivation, "a[1]", 1, [slipped, fmt(Hand(0).a1[1])])[0] == [["digit_slip"]]


# ---------------------------------------------------------------- formulas

def formula(derivation, quantity, expression):
    text = f'[[claim]]\nquantity = "{quantity}"\nexpression = "{expression}"\n'
    (result,) = run_check(derivation, text).results
    return result


def test_formula_equal_for_every_input(derivation):
    assert formula(derivation, "delta[L]", "(a[L] - y) * a[L] * (1 - a[L])").verdict == "correct"
    assert formula(derivation, "delta[1]", "(W[2].T @ delta[2]) * a[1] * (1 - a[1])").verdict == "correct"
    assert formula(derivation, "dW[l]", "delta[l] @ a[l-1].T").formula.layers == [1, 2]


def test_formula_counterexample_is_a_point_where_they_differ(derivation):
    result = formula(derivation, "delta[L]", "a[L] - y")          # not for half_sse with a sigmoid output
    assert result.verdict == "wrong"
    point = {k: mpf(sympy_rational(v)) for k, v in result.formula.counterexample.items()}
    a = sigma(point["z[2]_1"])
    y = point["y_1"]
    claimed, right = a - y, (a - y) * a * (1 - a)                 # worked out here, not by the checker
    assert abs(claimed - mpf(result.formula.claimed_value)) < mpf("1e-5") * abs(claimed)
    assert abs(right - mpf(result.formula.derived_value)) < mpf("1e-5") * abs(right)


def test_formula_with_a_factor_names_it(derivation):
    result = formula(derivation, "dcost/da[L]", "2/m * (a[L] - y)")
    assert result.verdict == "wrong"
    assert cause_ids_of(result.formula) == [["loss_doubled"]]
    result = formula(derivation, "dcost/da[L]", "a[L] - y")
    assert cause_ids_of(result.formula) == [["sum_for_mean"]]


def test_affine_property(derivation):
    text = '[[claim]]\nquantity = "a[L]"\nproperty = "affine in x"\n'
    (result,) = run_check(derivation, text).results
    assert result.verdict == "wrong"                               # sigmoids are not affine
    linear = derive.derive(derive.load_spec(ROOT / "generated" / "lecture_linear_mlp" / "spec.toml"))
    (result,) = run_check(linear, text).results
    assert result.verdict == "correct"


def sympy_rational(text: str):
    import sympy
    return float(sympy.Rational(text))


def cause_ids_of(formula_result):
    return [[c.id for c in combo] for combo in formula_result.causes]


# ---------------------------------------------------------------- bad input

BAD_ANSWERS = {
    "unknown quantity": ('[[claim]]\nquantity = "q[1]"\nexample = 1\nvalue = 1\n', "claim[0].quantity"),
    "layer out of range": ('[[claim]]\nquantity = "a[5]"\nexample = 1\nvalue = [1, 2]\n', "claim[0].quantity"),
    "shape": ('[[claim]]\nquantity = "a[1]"\nexample = 1\nvalue = [1, 2, 3]\n', "claim[0].value"),
    "number": ('[[claim]]\nquantity = "a[1]"\nexample = 1\nvalue = [1, "abc"]\n', "claim[0].value[1]"),
    "example range": ('[[claim]]\nquantity = "a[1]"\nexample = 3\nvalue = [1, 2]\n', "claim[0].example"),
    "example missing": ('[[claim]]\nquantity = "a[1]"\nvalue = [1, 2]\n', "claim[0].example"),
    "unknown key": ('[[claim]]\nquantity = "cost"\nvalue = 1\ncolour = 2\n', "claim[0].colour"),
    "value and formula": ('[[claim]]\nquantity = "cost"\nvalue = 1\nexpression = "1"\n', "claim[0]"),
    "formula syntax": ('[[claim]]\nquantity = "delta[L]"\nexpression = "a[L] -"\n', "claim[0].expression"),
    "formula name": ('[[claim]]\nquantity = "delta[L]"\nexpression = "q - y"\n', "claim[0].expression"),
    "no claims": ('title = "x"\n', "claim"),
    "toml": ('[[claim]\n', ""),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_bad_answers_are_one_line_naming_the_field(derivation, case):
    text, field = BAD_ANSWERS[case]
    with pytest.raises(derive.SpecError) as info:
        run_check(derivation, text)
    assert info.value.field == field
    assert info.value.source == "answers.toml"
    assert "\n" not in info.value.line()


def test_claims_after_a_step_need_a_learning_rate():
    network = derive.load_spec(ROOT / "generated" / "lecture_sigmoid_121" / "spec.toml")
    with pytest.raises(derive.SpecError) as info:
        parse_answers('[[claim]]\nquantity = "W[2]+"\nvalue = [[1], [1]]\n', derive.derive(network), "a.toml")
    # the spec lacks it, so the spec is named (the answers file is not wrong)
    assert info.value.field == "example.learning_rate" and info.value.source == str(network.source)


# ---------------------------------------------------------------- command line and reports

def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "deltagen.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env)


@pytest.fixture()
def files(tmp_path):
    spec = tmp_path / "net.toml"
    spec.write_text(SPEC, encoding="utf-8")
    return tmp_path, spec


def test_cli_exit_status(files):
    folder, spec = files
    h = Hand(0)
    good = folder / "good.toml"
    good.write_text(claims(("a[1]", 1, h.a1)), encoding="utf-8")
    bad = folder / "bad.toml"
    bad.write_text(claims(("a[1]", 1, Hand(0, sign=-1).a1)), encoding="utf-8")
    assert cli("check", spec, good).returncode == 0
    result = cli("check", spec, bad)
    assert result.returncode == 1 and "first wrong step" in result.stdout
    assert "primeiro passo errado" in cli("check", spec, bad, "--lang", "pt").stdout
    data = json.loads(cli("check", spec, bad, "--json").stdout)
    assert data["ok"] is False and data["first_wrong"]["quantity"] == "a[1]"
    assert data["claims"][0]["numbers"][0]["causes"] == [[{"id": "sigmoid_sign", "layers": "1"}]]


@pytest.mark.parametrize("text, field", [
    ('[[claim]]\nquantity = "a[9]"\nexample = 1\nvalue = 1\n', "claim[0].quantity"),
    ('[[claim]]\nquantity = "a[1]"\nexample = 1\nvalue = ["1", "x"]\n', "claim[0].value[1]"),
])
def test_cli_bad_input_is_one_line_status_2(files, text, field):
    folder, spec = files
    answers = folder / "answers.toml"
    answers.write_text(text, encoding="utf-8")
    result = cli("check", spec, answers)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and f"answers.toml: {field}: expected" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_missing_example_in_spec(tmp_path):
    spec = tmp_path / "noex.toml"
    spec.write_text(SPEC.split("[example]")[0], encoding="utf-8")
    answers = tmp_path / "answers.toml"
    answers.write_text('[[claim]]\nquantity = "cost"\nvalue = 1\n', encoding="utf-8")
    result = cli("check", spec, answers)
    assert result.returncode == 2 and "noex.toml: example: expected" in result.stderr


def test_reports_are_identical_across_processes(files):
    folder, spec = files
    answers = folder / "answers.toml"
    answers.write_text(claims(("a[1]", 1, Hand(0, sign=-1).a1), ("z[2]", 1, Hand(0, sign=-1).z2)), encoding="utf-8")
    outputs = []
    for seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outputs.append((cli("check", spec, answers, env=env).stdout, cli("check", spec, answers, "--json", env=env).stdout))
    assert outputs[0] == outputs[1]


def test_json_and_text_agree(derivation):
    result = run_check(derivation, claims(("C", 1, 2 * Hand(0).C)))
    data = json.loads(render_json(result, "answers.toml", "net.toml"))
    assert data["counts"] == {"correct": 0, "rounding": 0, "follows-through": 0, "wrong": 1}
    assert data["claims"][0]["numbers"][0]["correct"] == mpmath.nstr(Hand(0).C, 15)
    assert "a factor 2 too many" in render_text(result, "en")
    assert "um fator 2 a mais" in render_text(result, "pt")


def test_every_cause_has_words_in_both_languages():
    from deltagen.derive.checking.mistakes import CAUSE_IDS
    from deltagen.derive.documents.words import WORDS
    for lang in ("en", "pt"):
        for cause in CAUSE_IDS:
            keys = ("misread_x", "misread_y") if cause == "misread" else (cause,)
            assert all(key in WORDS[lang] for key in keys), (lang, cause)


@pytest.mark.parametrize("name", ["lecture_xor", "lecture_scalar_chain"])
def test_reports_do_not_depend_on_mpmath_global_precision(name):
    """Other modules set mpmath's global precision (tests/reference.py sets 50 digits on import)."""
    from deltagen.derive.checking.report import answer_reports
    folder = ROOT / "generated" / name
    derivation = derive.derive(derive.load_spec(folder / "spec.toml"))
    outputs = []
    for dps in (15, 60):
        with mpmath.workdps(dps):
            outputs.append(answer_reports(derivation, folder))
    assert outputs[0] == outputs[1]
