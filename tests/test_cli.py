"""The command line: derive prints the proof verdict; bad input is one line, status 2, nothing written."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, import_file

XOR = ROOT / "generated" / "lecture_xor" / "spec.toml"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagen.cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_derive_prints_the_derivation_and_the_verdict():
    result = run("derive", str(XOR))
    assert result.returncode == 0, result.stderr
    assert "δ[2]_k = ∂ℓ/∂z[2]_k" in result.stdout
    assert "proof: all 9 gradients verified" in result.stdout


def test_generate_writes_an_importable_module(tmp_path):
    result = run("generate", str(XOR), "--target", "numpy", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    module = import_file(tmp_path / "out" / "lecture_xor.py")
    assert module.LAYER_SIZES == (2, 2, 1)


BAD_SPECS = {
    "syntax.toml": ("name = \"x\"\ninput = [\n", ""),
    "activation.toml": ('name = "x"\ninput = 2\nlayers = [{ units = 1, activation = "sigmoidd" }]\nloss = "half_sse"\n',
                        "layers[0].activation"),
    "name.toml": ('name = "int"\ninput = 2\nlayers = [{ units = 1, activation = "sigmoid" }]\nloss = "half_sse"\n', "name"),
    "pairing.toml": ('name = "x"\ninput = 2\nlayers = [{ units = 1, activation = "identity" }]\nloss = "bce"\n', "loss"),
    "shape.toml": ('name = "x"\ninput = 2\nlayers = [{ units = 1, activation = "sigmoid" }]\nloss = "bce"\n'
                   '[example]\nW = [[[1.0]]]\nb = [[[0.0]]]\nX = [[0], [1]]\nY = [[1]]\n', "example.W[0]"),
}


@pytest.mark.parametrize("file_name", sorted(BAD_SPECS))
@pytest.mark.parametrize("command", ["derive", "generate"])
def test_bad_spec_is_one_line_status_2_and_writes_nothing(tmp_path, file_name, command):
    text, field = BAD_SPECS[file_name]
    spec = tmp_path / file_name
    spec.write_text(text)
    out = tmp_path / "out"
    args = [command, str(spec)] + (["--out", str(out)] if command == "generate" else [])
    result = run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(str(spec)) and field in lines[0]
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [file_name]   # no staging directory left behind


def test_missing_file_and_unknown_target():
    result = run("derive", "no/such/spec.toml")
    assert result.returncode == 2 and "no/such/spec.toml" in result.stderr and "Traceback" not in result.stderr
    result = run("generate", str(XOR), "--target", "rust", "--out", "x")
    assert result.returncode == 2 and "--target" in result.stderr and len(result.stderr.strip().splitlines()) == 1
