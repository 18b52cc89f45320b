"""`deltagen exercise` and `deltagen grade` from the command line: the files, and one-line errors (exit 2)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

CLASS = ROOT / "generated" / "class_sigmoid_121"
SPEC = ROOT / "generated" / "lecture_sigmoid_121" / "spec.toml"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagen.cli", *args], capture_output=True, text=True, timeout=300)


def test_exercise_and_grade_reproduce_the_committed_class_example(tmp_path):
    """The commands the class example's class.toml describes give its committed files."""
    made = _run("exercise", str(SPEC), "--variants", "3", "--seed", "2026", "--out", str(tmp_path / "exercise"),
                "--lang", "pt", "--moodle")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines() == [str(tmp_path / "exercise" / v) for v in ("001", "002", "003")] + [
        str(tmp_path / "exercise" / "quiz.xml")]
    for name in ("001/spec.toml", "002/sheet.tex", "003/key.tex", "001/answers.toml", "quiz.xml"):
        assert (tmp_path / "exercise" / name).read_bytes() == (CLASS / "exercise" / name).read_bytes(), name
    graded = _run("grade", str(tmp_path / "exercise"), str(CLASS / "submissions"), "--out", str(tmp_path / "grades"),
                  "--lang", "pt")
    assert graded.returncode == 0, graded.stderr
    assert (tmp_path / "grades" / "grades.csv").read_text() == (CLASS / "grades" / "grades.csv").read_text()
    rows = (tmp_path / "grades" / "grades.csv").read_text().splitlines()
    assert rows[0] == "student,variant,asked,answered,correct,rounding,follows_through,wrong,score,error"
    assert rows[1] == "ana,001,15,15,15,0,0,0,1.000,"          # every number from hand backprop in mpmath
    assert rows[3] == "carla,002,15,6,6,0,0,0,0.400,"          # six answered, all right; nine blank


@pytest.mark.parametrize("args, message", [
    (["exercise", str(SPEC), "--variants", "0", "--seed", "1", "--out", "OUT"], "--variants: expected"),
    (["exercise", str(SPEC), "--variants", "2", "--seed", "-1", "--out", "OUT"], "--seed: expected"),
    (["grade", "MISSING", str(CLASS / "submissions"), "--out", "OUT"], "MISSING"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, args, message):
    run = _run(*[str(tmp_path / "out") if a == "OUT" else str(tmp_path / a) if a == "MISSING" else a for a in args])
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and message in run.stderr
    assert not (tmp_path / "out").exists()
