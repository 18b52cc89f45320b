"""Generation is deterministic: the same spec, generated in two processes with different hash seeds,
gives byte-identical files, for every target.

Hash randomisation changes the iteration order of sets and of dicts built from them; any
such order leaking into SymPy's printing, ``cse`` or the templates would show up here.
The specs cover unrolled and looped layers, softmax, a custom activation, L2, no-bias
layers and the lecture numbering (input_layer = 1).
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deltagen.codegen.render import TARGETS
from conftest import ROOT

RICH_SPEC = """\
name = "determinism"
input = 5
layers = [
  { units = 20, activation = "tanh" },                       # 100 weights: loops in C
  { units = 3, activation = "log(1 + exp(z))", bias = false },
  { units = 4, activation = "leaky_relu", alpha = 0.2 },
  { units = 3, activation = "softmax" },
]
loss = "cce"
reduction = "sum"
l2 = 0.01

[notation]
input_layer = 1
"""

SMALL_SPEC = """\
name = "determinism_small"
input = 2
layers = [
  { units = 3, activation = "sigmoid" },
  { units = 2, activation = "2*z", bias = false },
  { units = 1, activation = "sigmoid" },
]
loss = "bce"
"""

SEEDS = ("1", "4242")


def generate(spec, target: str, out, seed: str) -> dict[str, bytes]:
    """Run ``generate`` in a fresh process with PYTHONHASHSEED=seed; the written files' bytes by name."""
    env = {**os.environ, "PYTHONHASHSEED": seed,
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-m", "deltagen.cli", "generate", str(spec), "--target", target,
                             "--out", str(out)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("text", [RICH_SPEC, SMALL_SPEC], ids=["rich", "small"])
def test_two_processes_with_different_hash_seeds_write_identical_bytes(tmp_path, target, text):
    spec = tmp_path / "spec.toml"
    spec.write_text(text)
    outputs = [generate(spec, target, tmp_path / f"out_{seed}", seed) for seed in SEEDS]
    assert outputs[0].keys() == outputs[1].keys() and outputs[0], outputs[0].keys()
    for name in outputs[0]:
        assert outputs[0][name] == outputs[1][name], f"{name} differs between PYTHONHASHSEED={SEEDS[0]} and {SEEDS[1]}"
