"""quiz.xml (issue 16): one Moodle Cloze question per variant, every blank checked against an independent net.

The variant folders are built here (a spec copied from generated/, an answers template written by hand),
so these tests do not wait on the exercise generator. The expected numbers come from tests/mp_network.py
and tests/mp_conv_network.py (mpmath at 50 digits, gradients by central differences), never from deltagen;
the tolerance from the README's rule, half a unit in the last written digit, worked out by hand.
"""
from __future__ import annotations

import re
import shutil
import tomllib
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import mpmath
import numpy as np
import pytest

from deltagen.derive.errors import SpecError
from deltagen.derive.teaching.moodle import write_quiz
from mp_conv_network import MpConvNet
from mp_network import MpNet, loss as mp_loss

ROOT = Path(__file__).resolve().parent.parent
#: the blank syntax the brief fixes: {1:NUMERICAL:=value:tolerance}
BLANK = re.compile(r"\{1:NUMERICAL:=(-?[0-9.]+):([0-9.]+)\}")
#: Moodle's own start of a Cloze sub-question (question/type/multianswer/questiontype.php, ANSWER_START_REGEX)
MOODLE_START = re.compile(r"\{([0-9]*):(NUMERICAL|NM|MULTICHOICE\w*|MC\w*|SHORTANSWER\w*|SA\w*|MW\w*|MULTIRESPONSE\w*"
                          r"|MR\w*):")
#: Moodle's NUMERICAL_ALTERNATIVE_REGEX: a number, optionally :tolerance
MOODLE_NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
MOODLE_NUMERICAL = re.compile(rf"^({MOODLE_NUMBER})(:{MOODLE_NUMBER})?$")

#: a 2-3-1 variant of lecture_vectorized_231 with other weights, as a generator would draw them (tenths)
VARIANT_002 = """W = [ [[0.3, -0.2], [0.1, 0.4], [-0.5, 0.2]], [[0.6, 0.3, -0.4]] ]
X = [[0.5, 0.2], [0.1, 0.6]]
Y = [[0.6, 0.8]]
learning_rate = 0.1
"""

#: the conv exercise with b^[1] = -0.25 in place of 0: no z^[1] is then exactly 0, where relu has its kink and a
#: central difference (the reference's gradient) gives the mean of the two one-sided slopes
CONV_004 = """W = [ [[[[1, -1], [0, 1]]]], [[1, 0.5, -1, 0.5]] ]
b = [ [-0.25], [-1] ]
X = [[[0, 1, 2, 0, 2],
      [0, 0, 1, 2, 1],
      [0, 0, 0, 1, 1],
      [1, 2, 1, 2, 2],
      [1, 0, 0, 1, 1]]]
Y = [[1]]
learning_rate = 0.1
"""

DENSE_TEMPLATE = """title = "{name}, variant {variant}"
variant = "{variant}"

[[claim]]
quantity = "z[1]"
example = 1
value = ""
note = "to 4 decimals"

[[claim]]
quantity = "a[2]"
example = 2
value = ""

[[claim]]
quantity = "C"
example = 1
value = ""

[[claim]]
quantity = "delta[2]"
example = 1
value = ""

[[claim]]
quantity = "cost"
value = ""

[[claim]]
quantity = "dW[1]"
value = ""

[[claim]]
quantity = "W[2]+"
value = ""

[[claim]]
quantity = "dW[2]"
entry = [1, 2]
value = ""
"""

CONV_TEMPLATE = """title = "lecture_conv_exercise, variant {variant}"
variant = "{variant}"

[[claim]]
quantity = "a[1]"
example = 1
value = ""

[[claim]]
quantity = "a[3]"
example = 1
value = ""

[[claim]]
quantity = "cost"
value = ""

[[claim]]
quantity = "dW[1]"
value = ""

[[claim]]
quantity = "db[1]"
value = ""

[[claim]]
quantity = "dW[3]"
value = ""

[[claim]]
quantity = "a[1]"
example = 1
entry = [1, 1, 3]
value = ""
"""


def _variant(root: Path, variant: str, spec: Path, template: str, example: str | None = None) -> None:
    folder = root / variant
    folder.mkdir(parents=True)
    text = spec.read_text(encoding="utf-8")
    if example is not None:        # another variant's numbers in place of the spec's [example]
        text = text[:text.index("[example]")] + "[example]\n" + example
    name = tomllib.loads(text)["name"]
    (folder / "spec.toml").write_text(f"# variant {variant} of {name}, seed 7\n{text}", encoding="utf-8")
    (folder / "answers.toml").write_text(template.format(name=name, variant=variant), encoding="utf-8")


@pytest.fixture(scope="module")
def exercise(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("exercise")
    vectorized = ROOT / "generated/lecture_vectorized_231/spec.toml"
    _variant(root, "001", vectorized, DENSE_TEMPLATE)
    _variant(root, "002", vectorized, DENSE_TEMPLATE, VARIANT_002)
    _variant(root, "003", ROOT / "generated/lecture_softmax_tanh/spec.toml", DENSE_TEMPLATE)
    _variant(root, "004", ROOT / "generated/lecture_conv_exercise/spec.toml", CONV_TEMPLATE, CONV_004)
    return root


@pytest.fixture(scope="module")
def quiz(exercise) -> tuple[Path, bytes]:
    path = write_quiz(exercise)
    return path, path.read_bytes()


# ---------------------------------------------------------------- independent numbers

def dense_expected(spec: dict) -> list[list]:
    """The template's numbers for a dense spec, claim by claim, from MpNet at 50 digits."""
    example = spec["example"]
    net = MpNet(spec)
    params = {f"W{i + 1}": np.array(w, dtype=float) for i, w in enumerate(example["W"])}
    biased = [i for i, layer in enumerate(spec["layers"]) if layer.get("bias", True)]
    for i, b in zip(biased, example.get("b", [])):
        params[f"b{i + 1}"] = np.array(b, dtype=float).reshape(-1, 1)
    X, Y = np.array(example["X"], dtype=float), np.array(example["Y"], dtype=float)
    eta = mpmath.mpf(example["learning_rate"])
    with mpmath.workdps(50):
        p = net._params(params)
        columns = net._columns(X, X.shape[0])
        targets = net._columns(Y, Y.shape[0])
        _, zs = net._trace(p, columns[0])
        out2 = net.output(params, X[:, 1])
        out1 = net.output(params, X[:, 0])
        h = mpmath.mpf("1e-20")

        def loss_from_z(z):
            return mp_loss(spec["loss"], net._from(p, 1, z), targets[0])

        delta = []
        for j in range(len(zs[1])):
            up, down = list(zs[1]), list(zs[1])
            up[j] += h
            down[j] -= h
            delta.append((loss_from_z(up) - loss_from_z(down)) / (2 * h))
        grads = net.gradient_mp(params, X, Y)
        W2 = p["W2"]
        stepped = [W2[j][k] - eta * grads["W2"][j][k] for j in range(len(W2)) for k in range(len(W2[0]))]
        return [zs[0], out2, [mp_loss(spec["loss"], out1, targets[0])], delta, [net.cost(params, X, Y)],
                [v for row in grads["W1"] for v in row], stepped, [grads["W2"][0][1]]]


def conv_expected(spec: dict) -> list[list]:
    """The conv template's numbers from MpConvNet at 50 digits."""
    example = spec["example"]
    net = MpConvNet(spec)
    params = {"W1": np.array(example["W"][0], dtype=float), "b1": np.array(example["b"][0], dtype=float).reshape(-1, 1),
              "W3": np.array(example["W"][1], dtype=float), "b3": np.array(example["b"][1], dtype=float).reshape(1, 1)}
    X = np.array(example["X"], dtype=float).reshape(-1, 1)
    Y = np.array(example["Y"], dtype=float)
    with mpmath.workdps(50):
        p = net._params(params)
        x = net._columns(X, X.shape[0])[0]
        a1 = net._layer(net.layers[0], p, x)
        out = net.forward_mp(params, X)[0]
        grads = net.gradients_mp(params, X, Y)
        return [a1, out, [net.cost(params, X, Y)], grads["W1"], grads["b1"], grads["W3"], [a1[2]]]


# ---------------------------------------------------------------- reading the quiz

def _questions(data: bytes) -> list[ET.Element]:
    root = ET.fromstring(data)
    assert root.tag == "quiz"
    return root.findall("question")


def _text(question: ET.Element) -> str:
    return question.find("questiontext/text").text


def _blank_groups(text: str) -> list[list[tuple[str, str]]]:
    """The blanks of each numbered sub-question (<li> of the <ol>), in order."""
    body = text[text.index("<ol>"):]
    return [BLANK.findall(item) for item in body.split("<li>")[1:]]


# ---------------------------------------------------------------- tests

def test_quiz_is_moodle_xml_with_one_cloze_question_per_variant(quiz):
    path, data = quiz
    assert path.name == "quiz.xml"
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    questions = _questions(data)
    assert [q.get("type") for q in questions] == ["cloze"] * 4
    names = [q.find("name/text").text for q in questions]
    assert names == ["lecture_vectorized_231 variant 001", "lecture_vectorized_231 variant 002",
                     "lecture_softmax_tanh variant 003", "lecture_conv_exercise variant 004"]
    for q in questions:
        assert q.find("questiontext").get("format") == "html"
        assert q.find("generalfeedback/text").text
        assert q.find("shuffleanswers").text == "0"
    # the question text is CDATA in the file, so its HTML needs no escaping as XML
    assert data.count(b"<![CDATA[") == 2 * 4


def test_every_blank_is_cloze_numerical_syntax_moodle_parses(quiz):
    for q in _questions(quiz[1]):
        text = _text(q)
        starts = list(MOODLE_START.finditer(text))
        blanks = list(BLANK.finditer(text))
        assert starts and len(starts) == len(blanks)      # nothing else looks like a sub-question to Moodle
        assert [m.start() for m in starts] == [m.start() for m in blanks]
        for value, tolerance in (m.groups() for m in blanks):
            assert MOODLE_NUMERICAL.match(f"{value}:{tolerance}")
            assert not set(value + tolerance) & set('}#~/"\\')     # nothing Cloze would need escaped
        assert text.count(r"\(") == text.count(r"\)") > 0       # MathJax inline delimiters, balanced
        assert "$" not in text


def _check_values(groups, expected, decimals=4):
    tolerance = Decimal(1) / 2 * Decimal(10) ** -decimals            # half a unit of the last asked decimal
    assert [len(g) for g in groups] == [len(e) for e in expected]
    for group, numbers in zip(groups, expected):
        for (value, tol), right in zip(group, numbers):
            assert Decimal(tol) == tolerance
            assert len(value.split(".")[1]) in (decimals, decimals + 1)     # +1 only for an exact tie
            with mpmath.workdps(50):
                assert abs(mpmath.mpf(value) - right) <= mpmath.mpf(tol) + mpmath.mpf("1e-30"), (value, right)
            rounded = Decimal(mpmath.nstr(right, 40, min_fixed=-mpmath.inf, max_fixed=mpmath.inf)).quantize(
                Decimal(10) ** -decimals)
            if len(value.split(".")[1]) == decimals:
                assert Decimal(value) == rounded, (value, right)


@pytest.mark.parametrize("index, spec", [(0, "001"), (1, "002"), (2, "003")])
def test_dense_blanks_equal_an_independent_net_to_their_tolerance(quiz, exercise, index, spec):
    raw = tomllib.loads((exercise / spec / "spec.toml").read_text())
    groups = _blank_groups(_text(_questions(quiz[1])[index]))
    _check_values(groups, dense_expected(raw))


def test_conv_variant_blanks_equal_an_independent_conv_net(quiz, exercise):
    raw = tomllib.loads((exercise / "004" / "spec.toml").read_text())
    text = _text(_questions(quiz[1])[3])
    groups = _blank_groups(text)
    _check_values(groups, conv_expected(raw))
    assert [len(g) for g in groups] == [16, 1, 1, 4, 1, 4, 1]
    assert text.count("<table>") == 3        # a[1] as its 4×4 map, dW[1] as its 2×2 kernel, dW[3] as 1×4


def test_questiontext_has_the_given_numbers(quiz, exercise):
    for question, spec in zip(_questions(quiz[1]), ("001", "002", "003")):
        raw = tomllib.loads((exercise / spec / "spec.toml").read_text())
        text = _text(question)
        shown = [np.array([[float(v) for v in row.split("&amp;")] for row in body.split(r"\\")])
                 for body in re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", text)]
        example = raw["example"]
        wanted = [np.array(w, float) for w in example["W"]] + [np.array(b, float).reshape(-1, 1)
                                                              for b in example.get("b", [])]
        wanted += [np.array(example["X"], float), np.array(example["Y"], float)]
        for array in wanted:
            assert any(s.shape == array.shape and np.array_equal(s, array) for s in shown), array
        assert rf"\eta = {example['learning_rate']}" in text
    conv = _text(_questions(quiz[1])[3])
    assert r"\begin{bmatrix}0 &amp; 1 &amp; 2 &amp; 0 &amp; 2 \\ 0 &amp; 0 &amp; 1 &amp; 2 &amp; 1" in conv


def test_same_input_same_bytes(quiz, exercise, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(exercise, copy, ignore=shutil.ignore_patterns("quiz.xml"))
    assert write_quiz(copy).read_bytes() == quiz[1]


def test_portuguese_words_and_decimal_comma_but_cloze_numbers_with_a_point(exercise, tmp_path):
    copy = tmp_path / "pt"
    shutil.copytree(exercise / "001", copy / "001")
    text = _text(_questions(write_quiz(copy, "pt").read_bytes())[0])
    assert "casas decimais" in text and "exemplo 1" in text
    assert r"\begin{bmatrix}0{,}5 &amp; 0{,}2" in text
    assert BLANK.findall(text)[0] == ("0.2700", "0.00005")     # z = 0.5·0.5 + 0.2·0.1 = 0.27


def test_spec_decimals_set_the_blanks_and_their_tolerance(exercise, tmp_path):
    copy = tmp_path / "three"
    shutil.copytree(exercise / "002", copy / "001")
    spec = copy / "001" / "spec.toml"
    spec.write_text(spec.read_text().replace("[example]", "[exercise]\ndecimals = 3\n\n[example]"))
    path = write_quiz(copy)
    text = _text(_questions(path.read_bytes())[0])
    assert "to 3 decimals" in text
    _check_values(_blank_groups(text), dense_expected(tomllib.loads(spec.read_text())), decimals=3)


def test_tie_accepts_both_roundings(tmp_path):
    from deltagen.derive.teaching.moodle import blank_of
    with mpmath.workdps(40):
        tie = blank_of(mpmath.mpf("0.00625"), 4)          # 0.0062 and 0.0063 are both within 0.00005
        plain = blank_of(mpmath.mpf("0.006249"), 4)
        negative_zero = blank_of(mpmath.mpf("-0.00001"), 4)
    assert (tie.answer, tie.tolerance) == ("0.00625", "0.00005")
    assert plain.answer == "0.0062"
    assert negative_zero.answer == "0.0000"


def test_bad_folders_are_one_line_errors(tmp_path, exercise):
    with pytest.raises(SpecError, match="expected variant folders 001"):
        write_quiz(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(exercise / "001", broken / "001")
    (broken / "001" / "answers.toml").unlink()
    with pytest.raises(SpecError, match=r"answers\.toml: expected an existing file"):
        write_quiz(broken)
    (broken / "001" / "answers.toml").write_text('[[claim]]\nquantity = "delta[L]"\nexpression = "a[L] - y"\n')
    with pytest.raises(SpecError, match=r"claim\[0\]: expected a number to compute"):
        write_quiz(broken)
    (broken / "001" / "answers.toml").write_text('[[claim]]\nquantity = "z[7]"\nexample = 1\nvalue = ""\n')
    with pytest.raises(SpecError, match=r"answers\.toml: claim\[0\]\.quantity: expected layer 1 to 2"):
        write_quiz(broken)
