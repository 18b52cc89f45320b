"""The committed generated/ tree equals a fresh generation (golden files); ``pytest --update`` rewrites it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from deltagen.codegen.refresh import GENERATED, expected_files, specs
from deltagen.codegen.refresh_classes import class_recipes, expected_class_files, stale_class_files, write_class_files
from deltagen.codegen.render import write_files

SPECS = specs()


def test_every_lecture_example_is_generated():
    names = {spec.parent.name for spec in SPECS}
    assert {"lecture_sigmoid_121", "lecture_scalar_chain", "lecture_vectorized_231", "lecture_xor",
            "lecture_and", "lecture_bce_classifier"} <= names


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.parent.name)
def test_generated_files_are_fresh(spec, tmp_path, update):
    files = expected_files(spec)
    if update:
        write_files(files, spec.parent)
    write_files(files, tmp_path)   # regenerate into a temp dir, then diff byte for byte
    for name in files:
        fresh = (tmp_path / name).read_bytes()
        committed = spec.parent / name
        assert committed.exists(), f"{committed} is missing: run pytest --update"
        assert committed.read_bytes() == fresh, f"{committed} is stale: run pytest --update"


@pytest.mark.parametrize("recipe", class_recipes(GENERATED), ids=lambda p: p.parent.name)
def test_class_examples_are_fresh(recipe, update):
    """A class example's exercise/ (variants, quiz.xml) and grades/ (CSV, feedback, summary, plot), byte for byte."""
    files = expected_class_files(recipe)
    if update:
        write_class_files(recipe, files)
    assert {"exercise/001/sheet.tex", "exercise/quiz.xml", "grades/grades.csv", "grades/summary.png"} <= set(files)
    assert not stale_class_files(recipe, files), "stale: run pytest --update"


def test_generation_is_deterministic_across_processes(tmp_path):
    """Two processes with different hash seeds write byte-identical files."""
    spec = SPECS[0]
    outputs = []
    for seed in ("1", "12345"):
        out = tmp_path / seed
        subprocess.run([sys.executable, "-m", "deltagen.cli", "generate", str(spec), "--out", str(out)],
                       check=True, env={"PYTHONHASHSEED": seed, "PATH": ""}, capture_output=True)
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outputs[0] == outputs[1]
