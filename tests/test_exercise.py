"""``deltagen exercise`` (issue 16 item 1): seeded variants, question sheets, answer keys, answers templates.

Expected values come from outside the code under test: SplitMix64's published outputs (README "Random
numbers", Rosetta Code) and the generated NumPy module's own SplitMix64 (independent code); the README's
drawing rule re-implemented here from its text; exact Decimal arithmetic for the grid; and
``tests/mp_network.py`` (mpmath, no deltagen) for the numbers of a variant's key.
"""
from __future__ import annotations

import tomllib
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import mpmath
import numpy as np
import pytest

from conftest import ROOT, import_file
from latex_tools import compile_latex, result_of, sections
from mp_network import MpNet
from test_bad_inputs import header

from deltagen.derive import derive
from deltagen.derive.checking.answers import parse_answers
from deltagen.derive.checking.check import check
from deltagen.derive.errors import SpecError
from deltagen.derive.teaching.exercise import write_exercise
from deltagen.derive.teaching.random import SplitMix64, variant_stream

XOR = ROOT / "generated" / "lecture_xor" / "spec.toml"
SOFTMAX = ROOT / "generated" / "lecture_softmax_tanh" / "spec.toml"
REGRESSION = ROOT / "generated" / "lecture_mse_regression" / "spec.toml"
CONV = ROOT / "generated" / "lecture_conv_exercise" / "spec.toml"
EXERCISE_CASES = sorted((Path(__file__).resolve().parent / "bad_inputs" / "specs").glob("exercise_*.toml"))
FILES = ["answers.toml", "key.tex", "sheet.tex", "spec.toml"]

#: an [exercise] table added to lecture_softmax_tanh's spec (2 examples, tanh then softmax with cce)
ASKING = """
[exercise]
ask = ["z[1]", "a[2]", { quantity = "a[2]", example = 2, unit = 3 }, "cost", "dW[1]", "db[2]",
       { quantity = "W[2]+", entry = [3, 2] }, "W[1]+"]
weights = [-0.5, 0.5]
inputs = [-2, 2]
step = 0.5
decimals = 3
"""


def generator_module():
    return import_file(ROOT / "generated" / "lecture_xor" / "lecture_xor.py")


def exercise(spec: Path, out: Path, variants: int = 2, seed: int = 7, lang: str = "en") -> list[Path]:
    return write_exercise(spec, variants, seed, out, lang)


def variant_data(folder: Path) -> dict:
    return tomllib.loads((folder / "spec.toml").read_text(), parse_float=Decimal)


def variant_derivation(folder: Path):
    """The variant spec's derivation (its [exercise] table is kept: ``--moodle`` reads its decimals)."""
    return derive(folder / "spec.toml")


def asking_spec(tmp_path: Path) -> Path:
    path = tmp_path / "asking.toml"
    path.write_text(SOFTMAX.read_text() + ASKING)
    return path


# ------------------------------------------------------------------ the generator

def test_splitmix64_gives_the_published_outputs():
    g = SplitMix64(1234567)
    assert [g.next_u64() for _ in range(3)] == [6457827717110365317, 3203168211198807973, 9817491932198370423]


@pytest.mark.parametrize("seed", [0, 1, 7, 2 ** 32 + 5, 2 ** 64 - 1])
def test_splitmix64_matches_the_generated_modules_generator(seed):
    theirs, ours = generator_module().SplitMix64(seed, skip=3), SplitMix64(seed, skip=3)
    assert [theirs.next_u64() for _ in range(200)] == [ours.next_u64() for _ in range(200)]


def test_a_variant_stream_is_seeded_with_the_variants_draw_of_the_seed():
    module = generator_module()
    seeds = module.SplitMix64(99)
    for variant in range(1, 6):
        expected = module.SplitMix64(seeds.next_u64())
        got = variant_stream(99, variant)
        assert [got.next_u64() for _ in range(10)] == [expected.next_u64() for _ in range(10)]


def test_a_variant_is_drawn_as_the_readme_says(tmp_path):
    """xor (2-2-1, biases, 4 examples, targets 0/1 in the spec), variant 2 of seed 11, redrawn from the
    README's rule with the generated module's generator: W row by row (a row of zeros drawn again), then b,
    then X example by example, then Y one draw mod 2 each; grid −1, −0.9, ..., 1 (21 points)."""
    folder = exercise(XOR, tmp_path / "out", variants=2, seed=11)[1]
    module = generator_module()
    g = module.SplitMix64(module.SplitMix64(11, skip=1).next_u64())
    tenth = lambda: Decimal(-1) + (g.next_u64() % 21) * Decimal("0.1")

    def row(n):
        while True:
            values = [tenth() for _ in range(n)]
            if any(values):
                return values
    W = [[row(2), row(2)], [row(2)]]
    b = [[[tenth()] for _ in range(2)], [[tenth()]]]
    columns = [[tenth(), tenth()] for _ in range(4)]
    Y = [[(0, 1)[g.next_u64() % 2] for _ in range(4)]]
    example = variant_data(folder)["example"]
    assert example["W"] == W and example["b"] == b
    assert example["X"] == [[c[0] for c in columns], [c[1] for c in columns]]
    assert example["Y"] == Y and example["learning_rate"] == Decimal("0.1")
    assert (folder / "spec.toml").read_text().startswith("# variant 002 of lecture_xor, seed 11\n")


# ------------------------------------------------------------------ the files

def test_same_seed_gives_the_same_bytes_and_another_seed_other_numbers(tmp_path):
    first = exercise(CONV, tmp_path / "a", variants=2, seed=5)
    second = exercise(CONV, tmp_path / "b", variants=2, seed=5)
    other = exercise(CONV, tmp_path / "c", variants=2, seed=6)
    assert [p.name for p in first] == ["001", "002"]
    for a, b in zip(first, second):
        assert sorted(p.name for p in a.iterdir()) == FILES
        for name in FILES:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (first[0] / "spec.toml").read_text() != (other[0] / "spec.toml").read_text()
    assert (first[0] / "spec.toml").read_text() != (first[1] / "spec.toml").read_text()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["001", "002"]    # no staging folder left


def _leaves(value):
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_numbers_lie_on_the_grid_in_range_and_no_row_is_zero(tmp_path):
    for folder in exercise(XOR, tmp_path / "xor", variants=6, seed=3):
        example = variant_data(folder)["example"]
        for value in _leaves([example["W"], example["b"], example["X"]]):
            assert -1 <= value <= 1 and value % Decimal("0.1") == 0, value
        for matrix in example["W"]:
            assert all(any(v != 0 for v in row) for row in matrix)
        derive(folder / "spec.toml")                     # a plain spec: deltagen reads it
    for folder in exercise(asking_spec(tmp_path), tmp_path / "asking", variants=4, seed=3):
        example = variant_data(folder)["example"]
        for value in _leaves([example["W"], example["b"]]):
            assert -Decimal("0.5") <= value <= Decimal("0.5") and value % Decimal("0.5") == 0, value
        for value in _leaves(example["X"]):
            assert -2 <= value <= 2 and value % Decimal("0.5") == 0, value
        assert len(example["X"][0]) == 2                 # the spec's m
        assert variant_data(folder)["exercise"]["decimals"] == 3        # [exercise] kept as written
    for folder in exercise(CONV, tmp_path / "conv", variants=4, seed=3):
        example = variant_data(folder)["example"]
        kernel = example["W"][0]
        assert np.array(kernel, dtype=float).shape == (1, 1, 2, 2) and any(_leaves(kernel))
        image = example["X"]
        assert np.array(image, dtype=float).shape == (1, 5, 5)          # one image, as drawn
        assert all(isinstance(v, int) and 0 <= v <= 2 for v in _leaves(image))


def test_targets_keep_the_specs_structure(tmp_path):
    for folder in exercise(SOFTMAX, tmp_path / "cce", variants=5, seed=1):
        Y = np.array(variant_data(folder)["example"]["Y"], dtype=float)
        assert Y.shape == (3, 2) and set(Y.ravel()) <= {0, 1} and (Y.sum(axis=0) == 1).all()
    for folder in exercise(CONV, tmp_path / "bce", variants=5, seed=1):
        assert variant_data(folder)["example"]["Y"] in ([[0]], [[1]])
    seen = set()
    for folder in exercise(REGRESSION, tmp_path / "mse", variants=5, seed=1):
        Y = variant_data(folder)["example"]["Y"]
        assert len(Y) == 1 and len(Y[0]) == 4
        for value in Y[0]:                               # identity output: tenths in [−1, 1]
            assert isinstance(value, Decimal) and -1 <= value <= 1 and value % Decimal("0.1") == 0
            seen.add(value)
    assert len(seen) > 2                                 # not 0/1 targets


@pytest.mark.parametrize("lang", ["en", "pt"])
@pytest.mark.parametrize("spec", [SOFTMAX, CONV], ids=["dense", "conv"])
def test_sheets_and_keys_compile(spec, lang, tmp_path):
    folder = exercise(spec, tmp_path / "out", variants=1, seed=4, lang=lang)[0]
    sheet = (folder / "sheet.tex").read_text()
    compile_latex(sheet, tmp_path, "sheet")
    compile_latex((folder / "key.tex").read_text(), tmp_path, "key")
    asked = tomllib.loads((folder / "answers.toml").read_text())["claim"]
    assert sheet.count(r"\item ") == len(asked)
    word = {"en": "Compute", "pt": "Calcule"}[lang]
    assert sheet.count(r"\item " + word) == len(asked)
    rounding = {"en": "rounded to 4 decimals", "pt": "arredondado para 4 casas decimais"}[lang]
    assert rounding in sheet and r"\begin{tikzpicture}" in sheet


def test_the_sheet_gives_the_variants_numbers(tmp_path):
    folder = exercise(XOR, tmp_path / "out", variants=1, seed=8)[0]
    example = variant_data(folder)["example"]
    sheet = (folder / "sheet.tex").read_text()
    given = dict(sections(sheet))["Given"]
    _, W1 = result_of(given, "W^{[1]}")
    assert W1 == [[float(v) for v in row] for row in example["W"][0]]
    _, X = result_of(given, "X")
    assert X == [[float(v) for v in row] for row in example["X"]]
    assert r"Compute the cost $J$." in sheet            # the spec's cost symbol (lecture 004: J)


# ------------------------------------------------------------------ the template and the key

def _rounded(value, decimals: int) -> str:
    return str(Decimal(mpmath.nstr(value, 40)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN))


def _filled(template: str, values: list) -> str:
    """The template with each ``value = ""`` filled in, in order."""
    parts = template.split('value = ""')
    assert len(parts) == len(values) + 1
    return parts[0] + "".join(f"value = {v}{part}" for v, part in zip(values, parts[1:]))


def test_template_lists_exactly_the_asked_quantities(tmp_path):
    folder = exercise(asking_spec(tmp_path), tmp_path / "out", variants=1, seed=2)[0]
    data = tomllib.loads((folder / "answers.toml").read_text())
    assert data["variant"] == "001" and data["title"] == "lecture_softmax_tanh, variant 001"
    claims = [{k: v for k, v in claim.items() if k != "note"} for claim in data["claim"]]
    blank = {"value": ""}
    assert claims == [
        {"quantity": "z[1]", "example": 1, **blank}, {"quantity": "a[2]", "example": 1, **blank},
        {"quantity": "a[2]", "example": 2, "unit": 3, **blank}, {"quantity": "cost", **blank},
        {"quantity": "dW[1]", **blank}, {"quantity": "db[2]", **blank},
        {"quantity": "W[2]+", "entry": [3, 2], **blank}, {"quantity": "W[1]+", **blank}]
    assert all(claim["note"].startswith("to 3 decimals") for claim in data["claim"])
    assert data["claim"][4]["note"] == "to 3 decimals; a 3×2 matrix, as a list of rows"
    defaults = tomllib.loads((exercise(CONV, tmp_path / "conv", variants=1)[0] / "answers.toml").read_text())
    assert [(c["quantity"], c.get("example")) for c in defaults["claim"]] == [
        ("z[1]", 1), ("a[1]", 1), ("a[2]", 1), ("z[3]", 1), ("a[3]", 1), ("cost", None), ("delta[3]", 1),
        ("delta[2]", 1), ("delta[1]", 1), ("dW[3]", None), ("db[3]", None), ("dW[1]", None), ("db[1]", None),
        ("W[1]+", None), ("b[1]+", None), ("W[3]+", None), ("b[3]+", None)]


def test_the_blank_template_loads_with_the_checker_as_all_unanswered(tmp_path):
    folder = exercise(CONV, tmp_path / "out", variants=2)[1]
    answers = parse_answers((folder / "answers.toml").read_text(), variant_derivation(folder))
    assert answers.variant == "002" and answers.claims == ()
    assert [c.quantity for c in answers.unanswered] == [c["quantity"] for c in tomllib.loads(
        (folder / "answers.toml").read_text())["claim"]]


def test_a_keys_numbers_equal_an_independent_computation(tmp_path):
    """Variant 2 of the asking spec: every asked number from mp_network (mpmath, central differences),
    rounded to 3 decimals, is judged correct by the checker; the key's updated W[2] is the same number."""
    folder = exercise(asking_spec(tmp_path), tmp_path / "out", variants=2, seed=9)[1]
    spec = tomllib.loads((folder / "spec.toml").read_text())
    example = spec["example"]
    params = {"W1": example["W"][0], "b1": example["b"][0], "W2": example["W"][1], "b2": example["b"][1]}
    X, Y = np.array(example["X"], dtype=float), np.array(example["Y"], dtype=float)
    net = MpNet(spec)
    eta = mpmath.mpf(example["learning_rate"])
    with mpmath.workdps(50):
        x1 = [mpmath.mpf(v) for v in X[:, 0]]
        z1 = [mpmath.fsum(mpmath.mpf(w) * x for w, x in zip(row, x1)) + mpmath.mpf(b[0])
              for row, b in zip(params["W1"], params["b1"])]
    a2_first, a2_second = net.output(params, X[:, 0]), net.output(params, X[:, 1])
    grads = net.gradient_mp(params, X, Y)
    W_next = {key: [[mpmath.mpf(w) - eta * g for w, g in zip(row, grow)] for row, grow in zip(params[key], grads[key])]
              for key in ("W1", "W2")}
    r = lambda v: _rounded(v, 3)
    vector = lambda values: "[" + ", ".join(r(v) for v in values) + "]"
    matrix = lambda rows: "[" + ", ".join(vector(row) for row in rows) + "]"
    values = [vector(z1), vector(a2_first), r(a2_second[2]), r(net.cost(params, X, Y)), matrix(grads["W1"]),
              vector([row[0] for row in grads["b2"]]), r(W_next["W2"][2][1]), matrix(W_next["W1"])]
    text = _filled((folder / "answers.toml").read_text(), values)
    d = variant_derivation(folder)
    result = check(d, parse_answers(text, d))
    assert [res.verdict for res in result.results] == ["correct"] * 8, [
        (res.claim.quantity, res.verdict) for res in result.results]
    key = (folder / "key.tex").read_text()
    _, W2 = result_of(dict(sections(key))["Updated parameters"], "W^{[2]}")
    assert np.allclose(W2, [[float(v) for v in row] for row in W_next["W2"]], atol=5e-6)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("spec", EXERCISE_CASES, ids=lambda p: p.stem)
def test_a_bad_exercise_table_is_one_line_and_nothing_is_written(spec, tmp_path):
    expect = header(spec)
    with pytest.raises(SpecError) as caught:
        write_exercise(spec, 2, 1, tmp_path / "out")
    line = caught.value.line()
    assert line.startswith(f"{spec}: {expect['field']}: expected "), line
    assert expect["expected"] in line and "\n" not in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("ask, field, expected", [
    ('["z[9]"]', "exercise.ask[0]", "expected layer 1 to 2 for z"),
    ('["dW[1]", "zz[1]"]', "exercise.ask[1]", "unknown quantity 'zz[1]'"),
    ('[{ quantity = "a[2]", example = 3 }]', "exercise.ask[0].example", "an example number from 1 to 2"),
    ('[{ quantity = "dW[1]", entry = [4, 1] }]', "exercise.ask[0].entry", "row 1..3 and column 1..2"),
    ('[{ quantity = "cost", example = 1 }]', "exercise.ask[0].example", "no example for cost"),
    ('[{ quantity = "z[1]", units = 1 }]', "exercise.ask[0].units", "one of the keys quantity, example"),
    ('["z[1]", "z[1]"]', "exercise.ask[1]", "each quantity once"),
    ('[3]', "exercise.ask[0]", "a quantity such as"),
])
def test_a_bad_asked_quantity_is_the_checkers_one_line_error(ask, field, expected, tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SOFTMAX.read_text() + f"\n[exercise]\nask = {ask}\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious\n")
    with pytest.raises(SpecError) as caught:
        write_exercise(spec, 3, 1, out)
    line = caught.value.line()
    assert line.startswith(f"{spec}: {field}: expected "), line
    assert expected in line, line
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_bad_arguments_are_one_line_errors(tmp_path):
    for args, word in [((XOR, 0, 1, tmp_path / "o"), "--variants"), ((XOR, 1, -1, tmp_path / "o"), "--seed"),
                       ((XOR, 1000, 1, tmp_path / "o"), "--variants"), ((tmp_path / "none.toml", 1, 1, tmp_path / "o"),
                                                                        "expected an existing spec file")]:
        with pytest.raises(SpecError) as caught:
            write_exercise(*args)
        assert word in caught.value.line()
    with pytest.raises(SpecError, match="--lang"):
        write_exercise(XOR, 1, 1, tmp_path / "o", lang="fr")
    assert list(tmp_path.iterdir()) == []


def test_rewriting_replaces_variant_folders_whole(tmp_path):
    out = tmp_path / "out"
    exercise(XOR, out, variants=2, seed=1)
    (out / "001" / "stale.txt").write_text("old\n")
    exercise(XOR, out, variants=1, seed=2)
    assert sorted(p.name for p in (out / "001").iterdir()) == FILES          # the old folder went whole
    assert "seed 2" in (out / "001" / "spec.toml").read_text()
    assert "seed 1" in (out / "002" / "spec.toml").read_text()               # not asked for: left alone
    assert sorted(p.name for p in out.iterdir()) == ["001", "002"]
