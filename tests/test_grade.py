"""deltagen grade: a seeded class of three variants of lecture 000's 1-2-1 sigmoid net, graded.

The variant folders are built here (the lecture spec with three [example]s, an answers template
each), and every submission is written from values computed here, independently of deltagen:
the textbook forward pass and backprop of a sigmoid net with ½‖a − y‖² in mpmath, checked
against tests/mp_network.py's finite differences. The expected verdicts follow from how each
submission was made (a mistake in z[2] makes every later number of that example follow through).
"""
from __future__ import annotations

import csv
import json
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import mpmath
import pytest

from conftest import ROOT
from mp_network import MpNet

from deltagen.derive import derive
from deltagen.derive.checking.answers import parse_answers
from deltagen.derive.checking.check import check
from deltagen.derive.checking.report import as_json, render_text
from deltagen.derive.errors import SpecError
from deltagen.derive.teaching.grade import grade_class

LECTURE = ROOT / "generated" / "lecture_sigmoid_121" / "spec.toml"
#: (W2, b2, W3, b3, X, Y) of each variant: one input, two hidden units, one output; two examples
VARIANTS = {
    "001": ([[0.5], [-0.3]], [[0.1], [0.2]], [[0.7, -0.4]], [[0.3]], [[1.0, 2.0]], [[1.0, 0.0]]),
    "002": ([[-0.6], [0.4]], [[0.3], [-0.1]], [[0.2, 0.9]], [[-0.5]], [[0.5, -1.0]], [[0.0, 1.0]]),
    "003": ([[0.8], [0.1]], [[-0.2], [0.4]], [[-0.5, 0.6]], [[0.1]], [[1.5, 0.5]], [[1.0, 1.0]]),
}
#: the asked quantities, in the template's order: (quantity, example or None)
ASKED = [("z[2]", 1), ("a[2]", 1), ("z[3]", 1), ("a[3]", 1), ("C", 1), ("delta[3]", 1), ("delta[2]", 1),
         ("dW[2]", None), ("db[2]", None)]
mpmath.mp.dps = 50


# ---------------------------------------------------------------- independent values

def sigma(z):
    return 1 / (1 + mpmath.exp(-z))


def values(variant: str, z2_first=None) -> dict[str, list]:
    """Every asked quantity, by the textbook formulas; ``z2_first`` replaces z[2] of example 1 (a mistake
    whose consequences follow through)."""
    W2, b2, W3, b3, X, Y = ([[mpmath.mpf(str(v)) for v in row] for row in m] for m in VARIANTS[variant])
    per_example = []
    for i in range(2):
        x, y = X[0][i], Y[0][i]
        z2 = [W2[j][0] * x + b2[j][0] for j in range(2)]
        if i == 0 and z2_first is not None:
            z2 = list(z2_first)
        a2 = [sigma(z) for z in z2]
        z3 = W3[0][0] * a2[0] + W3[0][1] * a2[1] + b3[0][0]
        a3 = sigma(z3)
        delta3 = (a3 - y) * a3 * (1 - a3)
        delta2 = [W3[0][j] * delta3 * a2[j] * (1 - a2[j]) for j in range(2)]
        per_example.append({"z[2]": z2, "a[2]": a2, "z[3]": z3, "a[3]": a3, "C": (a3 - y) ** 2 / 2,
                            "delta[3]": delta3, "delta[2]": delta2, "x": x})
    first = per_example[0]
    out = {q: first[q] for q, example in ASKED if example == 1}
    out["dW[2]"] = [[sum(e["delta[2]"][j] * e["x"] for e in per_example) / 2] for j in range(2)]   # mean of 2
    out["db[2]"] = [sum(e["delta[2]"][j] for e in per_example) / 2 for j in range(2)]
    return out


def spec_dict(variant: str) -> dict:
    W2, b2, W3, b3, X, Y = VARIANTS[variant]
    return {"name": "lecture_sigmoid_121", "layers": [{"units": 2, "activation": "sigmoid"},
                                                      {"units": 1, "activation": "sigmoid"}],
            "loss": "half_sse", "reduction": "mean", "notation": {"input_layer": 1}}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_hand_backprop_matches_finite_differences(variant):
    """The hand formulas above agree with mp_network's central differences (dW, db of the batch and of example 1)."""
    W2, b2, W3, b3, X, Y = VARIANTS[variant]
    params = {"W2": W2, "b2": b2, "W3": W3, "b3": b3}
    net = MpNet(spec_dict(variant))
    ours = values(variant)
    batch = net.gradient_mp(params, X, Y)
    first = net.gradient_mp(params, [[X[0][0]]], [[Y[0][0]]])
    for j in range(2):
        assert abs(batch["W2"][j][0] - ours["dW[2]"][j][0]) < 1e-12   # MpNet reads the float64 of 0.1, we read 1/10
        assert abs(batch["b2"][j][0] - ours["db[2]"][j]) < 1e-12   # MpNet reads the float64 of 0.1, we read 1/10
        assert abs(first["b2"][j][0] - ours["delta[2]"][j]) < 1e-12   # MpNet reads the float64 of 0.1, we read 1/10     # δ[2] = ∂ℓ₁/∂b[2]
    assert abs(first["b3"][0][0] - ours["delta[3]"]) < 1e-12   # MpNet reads the float64 of 0.1, we read 1/10


# ---------------------------------------------------------------- the class

def four(value, rounding=ROUND_HALF_UP) -> str:
    return str(Decimal(mpmath.nstr(value, 30, strip_zeros=False)).quantize(Decimal("0.0001"), rounding=rounding))


def written(value, rounding=ROUND_HALF_UP) -> str:
    """A TOML value of strings to 4 decimals, in the quantity's shape."""
    if isinstance(value, list):
        return "[" + ", ".join(written(v, rounding) for v in value) + "]"
    return f'"{four(value, rounding)}"'


def answers_text(variant: str, numbers: dict[str, str | None]) -> str:
    """An answers file: ``numbers`` maps a quantity to its TOML value, None for blank (value = "")."""
    lines = ['title = "Backprop exercise"', f'variant = "{variant}"']
    for quantity, example in ASKED:
        lines += ["", "[[claim]]", f'quantity = "{quantity}"']
        if example is not None:
            lines.append(f"example = {example}")
        value = numbers.get(quantity)
        lines += [f"value = {value if value is not None else chr(34) * 2}", 'note = "to 4 decimals"']
    return "\n".join(lines) + "\n"


def all_right(variant: str) -> dict[str, str]:
    return {q: written(v) for q, v in values(variant).items()}


def build_exercise(folder: Path) -> Path:
    """DIR/NNN/spec.toml (the lecture spec with the variant's [example]) and DIR/NNN/answers.toml (blank)."""
    base = LECTURE.read_text(encoding="utf-8").split("[example]")[0]
    for variant, (W2, b2, W3, b3, X, Y) in VARIANTS.items():
        (folder / variant).mkdir(parents=True)
        example = f"[example]\nW = [ {W2}, {W3} ]\nb = [ {b2}, {b3} ]\nX = {X}\nY = {Y}\n"
        (folder / variant / "spec.toml").write_text(f"# variant {variant} of lecture_sigmoid_121, seed 7\n"
                                                    + base + example, encoding="utf-8")
        (folder / variant / "answers.toml").write_text(answers_text(variant, {}), encoding="utf-8")
    return folder


def mistaken(variant: str) -> dict[str, str]:
    """z[2]_1 of example 1 off by 0.5, everything after it computed from that wrong z[2] (4 decimals)."""
    z2 = values(variant)["z[2]"]
    wrong = [z2[0] + mpmath.mpf("0.5"), z2[1]]
    out = {q: written(v) for q, v in values(variant, z2_first=wrong).items()}
    out["z[2]"] = written(wrong)
    return out


def truncated_last(variant: str) -> dict[str, str]:
    """All right, but one entry of db[2] cut off at 4 decimals instead of rounded (the last claim: nothing
    uses it): the first entry whose cut-off differs from its rounded value."""
    db2 = values(variant)["db[2]"]
    j = next(j for j in range(2) if four(db2[j], ROUND_DOWN) != four(db2[j]))
    out = all_right(variant)
    out["db[2]"] = "[" + ", ".join(f'"{four(v, ROUND_DOWN if i == j else ROUND_HALF_UP)}"'
                                   for i, v in enumerate(db2)) + "]"
    return out


def write_class(folder: Path) -> None:
    folder.mkdir()
    blank = all_right("001")
    blank["delta[2]"] = blank["dW[2]"] = None
    files = {
        "alice": answers_text("001", all_right("001")),
        "bob": answers_text("002", mistaken("002")),
        "carol": answers_text("003", truncated_last("003")),
        "dave": answers_text("001", blank),
        "erin": answers_text("002", {"z[2]": "0,5017"}),      # an unquoted decimal comma: not TOML
        "frank": answers_text("007", all_right("001")),
        "grace": answers_text("001", all_right("002")),      # variant 002's numbers handed in as 001
    }
    for student, text in files.items():
        (folder / f"{student}.toml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    exercise = build_exercise(root / "exercise")
    write_class(root / "submissions")
    report = grade_class(exercise, root / "submissions", root / "out", progress=False)
    again = grade_class(exercise, root / "submissions", root / "again", progress=False)
    return root, report, again


def test_grace_verdicts_follow_from_her_numbers():
    """Grace's numbers (variant 002's) judged against variant 001: a[2] and a[3] follow from her own z[2]
    and z[3]; every other number is far from what variant 001's data gives from hers."""
    hers, ours = values("002"), values("001")
    W3, b3, Y = VARIANTS["001"][2], VARIANTS["001"][3], VARIANTS["001"][5]
    assert all(abs(hers["z[2]"][j] - ours["z[2]"][j]) > 0.01 for j in range(2))
    z3 = W3[0][0] * hers["a[2]"][0] + W3[0][1] * hers["a[2]"][1] + b3[0][0]
    assert abs(z3 - hers["z[3]"]) > 0.01
    y = Y[0][0]
    assert abs((hers["a[3]"] - y) ** 2 / 2 - hers["C"]) > 0.01
    delta3 = (hers["a[3]"] - y) * hers["a[3]"] * (1 - hers["a[3]"])
    assert abs(delta3 - hers["delta[3]"]) > 0.01
    assert abs(W3[0][0] * hers["delta[3]"] * hers["a[2]"][0] * (1 - hers["a[2]"][0]) - hers["delta[2]"][0]) > 0.01


def test_grades_csv_rows(graded):
    root, report, _ = graded
    rows = list(csv.reader((root / "out" / "grades.csv").open(encoding="utf-8", newline="")))
    assert rows[0] == ["student", "variant", "asked", "answered", "correct", "rounding", "follows_through",
                       "wrong", "score", "error"]
    body = {row[0]: row for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]
    assert body["alice"] == ["alice", "001", "9", "9", "9", "0", "0", "0", "1.000", ""]
    assert body["bob"] == ["bob", "002", "9", "9", "0", "0", "8", "1", "0.889", ""]
    assert body["carol"] == ["carol", "003", "9", "9", "8", "1", "0", "0", "1.000", ""]
    assert body["dave"] == ["dave", "001", "9", "7", "7", "0", "0", "0", "0.778", ""]
    assert body["grace"] == ["grace", "001", "9", "9", "0", "0", "2", "7", "0.222", ""]
    # unreadable: the one-line error, no counts, no score
    assert body["erin"][:9] == ["erin", "", "", "", "", "", "", "", ""]
    assert body["erin"][9].startswith("erin.toml: expected valid TOML at line 7") and "\n" not in body["erin"][9]
    assert body["frank"][:9] == ["frank", "007", "", "", "", "", "", "", ""]
    assert body["frank"][9] == ("frank.toml: variant: expected one of the exercise's variants 001, 002, 003, "
                                "got unknown variant '007'")
    assert len(report.unread) == 2 and [g.student for g in report.copied] == ["grace"]


def test_feedback_files(graded):
    root, _, _ = graded
    feedback = root / "out" / "feedback"
    assert sorted(p.name for p in feedback.iterdir()) == [f"{s}.txt" for s in
                                                          ("alice", "bob", "carol", "dave", "erin", "frank", "grace")]
    bob = (feedback / "bob.txt").read_text(encoding="utf-8")
    assert "z[2] (example 1): wrong  <- first wrong step" in bob or "First wrong step: z[2] (example 1)." in bob
    assert "First wrong step: z[2] (example 1)." in bob
    assert "a[3] (example 1): follows-through" in bob or "a[3] (example 1): follows through" in bob
    dave = (feedback / "dave.txt").read_text(encoding="utf-8")
    assert "delta[2] (example 1): not answered" in dave and "dW[2]: not answered" in dave
    assert "No wrong step." in (feedback / "alice.txt").read_text(encoding="utf-8")
    assert (feedback / "frank.txt").read_text(encoding="utf-8").startswith("frank.toml: variant: expected")
    grace = (feedback / "grace.txt").read_text(encoding="utf-8")      # variant 002's numbers handed in as 001
    assert grace.endswith("These numbers are variant 002's key: likely causes were not searched.\n")
    assert "likely cause" not in grace.split("These numbers")[0]


def test_summary_markdown(graded):
    root, _, _ = graded
    summary = (root / "out" / "summary.md").read_text(encoding="utf-8")
    assert "7 submissions: 5 graded, 2 could not be read." in summary
    rows = [  # correct, rounding, follows through, wrong, not answered: alice, bob, carol, dave, grace
        "| z[2] (example 1) | 3 | 0 | 0 | 2 | 0 |",
        "| a[2] (example 1) | 3 | 0 | 2 | 0 | 0 |",
        "| z[3] (example 1) | 3 | 0 | 1 | 1 | 0 |",
        "| a[3] (example 1) | 3 | 0 | 2 | 0 | 0 |",
        "| C (example 1) | 3 | 0 | 1 | 1 | 0 |",
        "| delta[3] (example 1) | 3 | 0 | 1 | 1 | 0 |",
        "| delta[2] (example 1) | 2 | 0 | 1 | 1 | 1 |",
        "| dW[2] | 2 | 0 | 1 | 1 | 1 |",
        "| db[2] | 2 | 1 | 1 | 1 | 0 |",
    ]
    lines = summary.splitlines()
    start = lines.index(rows[0])
    assert lines[start:start + len(rows)] == rows
    # scores 1, 1, 0.889, 0.778, 0.222: one each in 0.2–0.3, 0.7–0.8, 0.8–0.9, two at 1.0
    assert "| 0.2–0.3 | 1 |" in lines and "| 0.8–0.9 | 1 |" in lines and "| 1.0 | 2 |" in lines
    assert "| grace | 001 | 002 | 14 of 14 | 0 of 14 |" in lines      # 14 numbers, all right for variant 002
    assert sum(line.startswith("| ") and "of 14 |" in line for line in lines) == 1    # nobody else flagged
    assert "summary.png" in summary


def test_summary_plot_is_a_deterministic_png(graded):
    root, report, again = graded
    first, second = (root / "out" / "summary.png").read_bytes(), (root / "again" / "summary.png").read_bytes()
    assert first.startswith(b"\x89PNG\r\n\x1a\n") and first == second
    assert b"Software" not in first
    for name in ("grades.csv", "summary.md"):
        assert (root / "out" / name).read_bytes() == (root / "again" / name).read_bytes()


def test_blank_claims_in_the_check_report(tmp_path):
    """value = "" is asked but not answered: listed as such, neither right nor wrong; JSON verdict "not answered"."""
    exercise = build_exercise(tmp_path / "exercise")
    d = derive(exercise / "001" / "spec.toml")
    blank = all_right("001")
    blank["delta[2]"] = None
    answers = parse_answers(answers_text("001", blank), d, "dave.toml")
    assert answers.variant == "001" and [c.quantity for c in answers.unanswered] == ["delta[2]"]
    result = check(d, answers)
    assert result.ok and len(result.results) == 8
    text = render_text(result)
    assert "  9. delta[2] (example 1): not answered" in text and "; 1 claim not answered." in text
    data = json.loads(json.dumps(as_json(result)))
    assert [c["verdict"] for c in data["claims"]].count("not answered") == 1
    assert data["counts"]["not answered"] == 1 and data["counts"]["wrong"] == 0
    with pytest.raises(SpecError, match=r"variant: expected the variant's number as a string"):
        parse_answers('variant = 1\n[[claim]]\nquantity = "cost"\nvalue = "0.1"\n', d, "x.toml")


def test_a_spec_file_grades_every_submission_and_a_deleted_claim_is_still_asked(tmp_path, capsys):
    exercise = build_exercise(tmp_path / "exercise")
    submissions = tmp_path / "subs"
    submissions.mkdir()
    (submissions / "ann.toml").write_text(answers_text("002", all_right("001")), encoding="utf-8")
    short = answers_text("001", all_right("001")).split("[[claim]]")
    ben = "[[claim]]".join(short[:-1])           # db[2] deleted
    (submissions / "ben.toml").write_text(ben.replace('variant = "001"\n', ""), encoding="utf-8")
    report = grade_class(exercise / "001" / "spec.toml", submissions, tmp_path / "one")
    rows = (tmp_path / "one" / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert rows[1:] == ["ann,002,9,9,9,0,0,0,1.000,", "ben,,8,8,8,0,0,0,1.000,"]   # no template beside a spec
    grade_class(exercise, submissions, tmp_path / "dir", progress=None)
    rows = list(csv.reader((tmp_path / "dir" / "grades.csv").open(encoding="utf-8", newline="")))
    assert rows[2] == ["ben"] + [""] * 8 + ['ben.toml: variant: expected the variant this file answers, as '
                                            'variant = "001" at the top (one of 001, 002, 003), got none']
    assert capsys.readouterr().err == ""      # no progress bar when stderr is not a terminal
    (submissions / "ben.toml").write_text(ben, encoding="utf-8")
    grade_class(exercise, submissions, tmp_path / "dir")
    rows = (tmp_path / "dir" / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert rows[2] == "ben,001,9,8,8,0,0,0,0.889,"       # the template asks for db[2]
    assert "db[2]" in (tmp_path / "dir" / "feedback" / "ben.txt").read_text(encoding="utf-8").splitlines()[-1]
    assert report.plot is not None


def test_bad_exercise_or_submissions_are_one_line_errors(tmp_path):
    exercise = build_exercise(tmp_path / "exercise")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="expected answers files"):
        grade_class(exercise, tmp_path / "empty", tmp_path / "out")
    with pytest.raises(SpecError, match="expected an exercise folder"):
        grade_class(tmp_path / "nothing", tmp_path / "empty", tmp_path / "out")
    with pytest.raises(SpecError, match="variant folders 001/"):
        grade_class(tmp_path / "empty", tmp_path / "empty", tmp_path / "out")


def test_three_hundred_submissions_are_graded(tmp_path):
    exercise = build_exercise(tmp_path / "exercise")
    submissions = tmp_path / "subs"
    submissions.mkdir()
    kinds = [lambda v: all_right(v), mistaken, truncated_last]
    texts = {(v, k): answers_text(v, kinds[k](v)) for v in VARIANTS for k in range(3)}
    for n in range(300):
        variant = sorted(VARIANTS)[n % 3]
        (submissions / f"s{n:03d}.toml").write_text(texts[(variant, (n // 3) % 3)], encoding="utf-8")
    report = grade_class(exercise, submissions, tmp_path / "out", progress=False)
    rows = (tmp_path / "out" / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 301 and not report.unread
    assert rows[1] == "s000,001,9,9,9,0,0,0,1.000," and rows[4] == "s003,001,9,9,0,0,8,1,0.889,"
