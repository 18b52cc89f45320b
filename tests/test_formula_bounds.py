"""Formula claims are bounded by their structure: hostile ones are refused in one line, quickly, exit 2."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
XOR = ROOT / "generated" / "lecture_xor" / "spec.toml"

HOSTILE = {
    "power_tower": ("a[L]**" + "**".join(["9"] * 6), "exponent"),
    "symbolic_exponent": ("a[L]**a[L]", "exponent"),
    "deep_unary_minus": ("-" * 100_000 + "a[L]", "at most 1000 characters"),
    "long_sum": (" + ".join(["a[L]"] * 20_000), "at most 1000 characters"),
    "nested_calls": ("exp(" * 60 + "a[L]" + ")" * 60, "nested at most 40"),
    "constant_growth": ("(" * 10 + "10**60" + ")**60" * 10 + " * a[L]", "beyond 2**4096"),
    "infinite_constant": ("1e999 * a[L]", "inf"),
}


def check(tmp_path: Path, expression: str) -> subprocess.CompletedProcess:
    answers = tmp_path / "answers.toml"
    answers.write_text(f'[[claim]]\nquantity = "delta[L]"\nexpression = "{expression}"\n')
    return subprocess.run([sys.executable, "-m", "deltagen.cli", "check", str(XOR), str(answers)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("key", sorted(HOSTILE))
def test_a_hostile_formula_claim_is_refused_in_one_line(tmp_path, key):
    expression, expected = HOSTILE[key]
    result = check(tmp_path, expression)
    assert result.returncode == 2, result.stderr[-500:]
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert "claim[0].expression" in result.stderr and expected in result.stderr, result.stderr[:300]
    assert len(result.stderr) < 1000                # the input is not echoed whole


def test_a_formula_inside_the_bounds_is_still_checked(tmp_path):
    """δ^[L] for half_sse + sigmoid: (a − y) a (1 − a), with a square and a fraction exponent that are fine."""
    result = check(tmp_path, "(a[L] - y) * a[L] * (1 - a[L]) * ((a[L]**2)**(1/2) / a[L])")
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    assert "correct" in result.stdout.lower()


def test_a_formula_that_divides_by_zero_is_wrong_not_undecided(tmp_path):
    result = check(tmp_path, "(a[L] - y)/0")
    assert result.returncode == 1, result.stderr
    assert "1 wrong" in result.stdout and "undefined" in result.stdout and "not decided" not in result.stdout
