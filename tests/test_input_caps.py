"""Spec and answers files are read up to a cap: a huge file or an endless device is one line, exit 2."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deltagen.derive.errors import MAX_INPUT_BYTES

XOR = Path(__file__).resolve().parent.parent / "generated" / "lecture_xor" / "spec.toml"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagen.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def huge(tmp_path) -> Path:
    path = tmp_path / "huge.toml"
    path.write_text("# padding\n" * (MAX_INPUT_BYTES // 10 + 1))      # valid TOML, just too large
    return path


@pytest.mark.parametrize("command", [["derive"], ["generate", "--out", "OUT"], ["solve"]])
def test_a_spec_beyond_the_cap_is_refused(huge, tmp_path, command):
    args = [a.replace("OUT", str(tmp_path / "out")) for a in command]
    result = cli(args[0], str(huge), *args[1:])
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"{huge}: expected a spec file of at most 4 MiB")
    assert not (tmp_path / "out").exists()


def test_an_answers_file_beyond_the_cap_is_refused(huge):
    result = cli("check", str(XOR), str(huge))
    assert result.returncode == 2 and result.stderr.startswith(f"{huge}: expected an answers file of at most 4 MiB")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_an_endless_device_is_refused_not_read_forever(tmp_path):
    for args in (["generate", "/dev/zero", "--out", str(tmp_path / "never")], ["check", str(XOR), "/dev/zero"]):
        result = cli(*args)
        assert result.returncode == 2 and "at most 4 MiB" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_huge_unknown_key_is_not_echoed_whole(tmp_path):
    key = "k" * 100_000
    spec = tmp_path / "spec.toml"
    spec.write_text(f'name = "x"\ninput = 1\nlayers = [ {{ units = 1, activation = "sigmoid" }} ]\nloss = "mse"\n'
                    f'{key} = 1\n')
    answers = tmp_path / "answers.toml"
    answers.write_text(f'[[claim]]\nquantity = "a[1]"\n{key} = 1\nvalue = [0]\n')
    for result in (cli("derive", str(spec)), cli("check", str(XOR), str(answers))):
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
        assert len(result.stderr) < 1000 and "unknown key" in result.stderr and "100000 characters" in result.stderr
