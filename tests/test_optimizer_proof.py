"""The proof of each optimizer's closed forms against its update rule (derive/proof/optimizers.py).

Each claimed identity is verified; the claims are also checked independently of SymPy by running
torch.optim's algorithms in exact Fraction arithmetic; wrong closed forms (no bias correction,
ε inside the root, the EMA form without dampening, …) are refuted by the same ``claim``; a rule
changed under the proof makes it fail; the CLI verdict counts the identities, and a spec without
[optimizer] keeps its report.
"""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from fractions import Fraction

import pytest
import sympy as sp

from conftest import ROOT
from deltagen.derive import derive, load_spec
from deltagen.derive.model import optimizers as model
from deltagen.derive.model.optimizers import (ALPHA, BETA1, BETA2, DAMPENING, EPSILON, ETA, GRAD, MU, STEP, THETA,
                                              RULES)
from deltagen.derive.proof import prove
from deltagen.derive.proof import optimizers as proof
from deltagen.derive.proof.optimizers import adam_one_line, claim, holds, one_step, optimizer_identities, run

XOR = ROOT / "generated" / "lecture_xor" / "spec.toml"
m, v, b = proof.m, proof.v, proof.b

# scalar identities per kind, counted by hand from the statements (k = 1..4 runs count 4 each):
# sgd 1 + 4; momentum 1 + 4 + 4; nesterov 1 + 1 + 4 + 4; adagrad 1 + 4 + 4; rmsprop 1 + 4 + 4;
# adam 1 (one line) + 1 (torch) + 1 (paper) + 4 (m_k) + 4 (v_k) + 8 (m̂_k, v̂_k) + 4 (steps)
COUNTS = {"sgd": 5, "momentum": 9, "nesterov": 10, "adagrad": 9, "rmsprop": 9, "adam": 23}


@pytest.mark.parametrize("kind", sorted(RULES))
def test_every_claimed_closed_form_is_verified(kind):
    identities = optimizer_identities(kind)
    assert identities and all(i.ok for i in identities), [str(i) for i in identities if not i.ok]
    assert all(i.statement.startswith(kind) and i.topic == "optimizer" for i in identities)
    assert sum(i.count for i in identities) == COUNTS[kind]


# ---------------------------------------------------------------- the claims, independently of SymPy

def _adam_torch(g: Fraction, steps: int, beta1: Fraction, beta2: Fraction) -> list[tuple[Fraction, Fraction]]:
    """torch.optim.Adam's exp_avg and exp_avg_sq from zero state, exactly (the sqrt is not needed)."""
    m_, v_, out = Fraction(0), Fraction(0), []
    for _ in range(steps):
        m_ = beta1 * m_ + (1 - beta1) * g
        v_ = beta2 * v_ + (1 - beta2) * g * g
        out.append((m_, v_))
    return out


def test_adam_zero_start_and_its_bias_correction_in_exact_arithmetic():
    g, beta1, beta2 = Fraction(-3, 7), Fraction(9, 10), Fraction(999, 1000)
    for k, (m_k, v_k) in enumerate(_adam_torch(g, 4, beta1, beta2), start=1):
        assert m_k == (1 - beta1 ** k) * g and v_k == (1 - beta2 ** k) * g * g
        assert m_k / (1 - beta1 ** k) == g and v_k / (1 - beta2 ** k) == g * g


def test_momentum_ema_and_nesterov_buffers_in_exact_arithmetic():
    g, mu = Fraction(5, 3), Fraction(7, 10)
    ema, heavy, nag = Fraction(0), Fraction(0), Fraction(0)
    for k in range(1, 5):
        ema = mu * ema + (1 - mu) * g            # torch.optim.SGD, dampening = momentum
        heavy = mu * heavy + g                    # dampening 0
        nag = mu * nag + g
        step = g + mu * nag                       # torch's nesterov direction
        assert ema == (1 - mu ** k) * g
        assert heavy == sum(mu ** j for j in range(k)) * g
        assert step == sum(mu ** j for j in range(k + 1)) * g


def test_the_symbolic_runs_match_a_numeric_run():
    # the proof's run() at a rational point against Fraction arithmetic of the same algorithm (adagrad)
    point = {GRAD: sp.Rational(2, 5), ETA: sp.Rational(1, 10), EPSILON: sp.Rational(1, 1000)}
    states = run(RULES["adagrad"])
    total = Fraction(0)
    for k, state in enumerate(states, start=1):
        total += Fraction(2, 5) ** 2
        assert state[proof.G].xreplace(point) == sp.Rational(total.numerator, total.denominator)
        assert state[STEP] == k


# ---------------------------------------------------------------- wrong closed forms are refuted

def _adam_updated():
    """m, v after the step and t + 1, from the state before it."""
    return BETA1 * m + (1 - BETA1) * GRAD, BETA2 * v + (1 - BETA2) * GRAD ** 2, STEP + 1


WRONG_ADAM = {
    "without bias correction": lambda mn, vn, t: THETA - ETA * mn / (sp.sqrt(vn) + EPSILON),
    "ε inside the square root": lambda mn, vn, t: THETA - ETA * (mn / (1 - BETA1 ** t)) / sp.sqrt(
        vn / (1 - BETA2 ** t) + EPSILON),
    "t not incremented": lambda mn, vn, t: THETA - ETA * (mn / (1 - BETA1 ** (t - 1))) / (
        sp.sqrt(vn / (1 - BETA2 ** (t - 1))) + EPSILON),
    "β₁ and 1 − β₁ swapped": lambda mn, vn, t: THETA - ETA * (((1 - BETA1) * m + BETA1 * GRAD) / (1 - BETA1 ** t)) / (
        sp.sqrt(vn / (1 - BETA2 ** t)) + EPSILON),
}


@pytest.mark.parametrize("mistake", sorted(WRONG_ADAM))
def test_a_wrong_adam_step_is_refuted(mistake):
    wrong = WRONG_ADAM[mistake](*_adam_updated())
    actual = one_step(RULES["adam"])[THETA]
    identity = claim(f"adam {mistake}", [(wrong, actual)])
    assert not identity.ok and identity.verdict == "failed"
    # the right one-line form passes the very same check
    assert claim("adam", [(adam_one_line(), actual)]).ok


def test_wrong_zero_state_claims_are_refuted():
    adam = run(RULES["adam"])
    rms = run(RULES["rmsprop"])
    heavy = run(RULES["momentum"])
    # m_k itself is not g (only m̂_k is); RMSProp has no bias correction; the EMA form needs dampening = μ
    assert not claim("m_k = g", [(GRAD, adam[k][m]) for k in range(4)]).ok
    assert not claim("rmsprop v_k = g²", [(GRAD ** 2, rms[k][v]) for k in range(4)]).ok
    assert not claim("b_k = (1 − μ^k) g, dampening 0",
                     [((1 - MU ** (k + 1)) * GRAD, heavy[k][b].xreplace({DAMPENING: 0})) for k in range(4)]).ok
    # nesterov is not heavy ball: θ − η b_new
    assert not holds(THETA - ETA * (MU * b + GRAD), one_step(RULES["nesterov"])[THETA])
    # but the right ones hold
    assert holds((1 - ALPHA ** 3) * GRAD ** 2, rms[2][v])


def test_a_changed_rule_fails_its_proof(monkeypatch):
    # Adam without bias correction in the definition: the claims about the bias-corrected step fail
    adam = RULES["adam"]
    mn, vn, _ = _adam_updated()
    broken = dataclasses.replace(adam, assignments=adam.assignments[:-1] + (
        (THETA, THETA - ETA * m / (sp.sqrt(v) + EPSILON)),))
    monkeypatch.setitem(model.RULES, "adam", broken)
    identities = optimizer_identities("adam")
    failed = [i.statement for i in identities if not i.ok]
    assert any(s.startswith("adam: θ_new = θ − η m̂") for s in failed)
    assert any("every step" in s for s in failed)
    # the buffer claims do not depend on the θ assignment and still hold
    assert all(i.ok for i in identities if "m_k = (1 − β₁^k) g" in i.statement)


# ---------------------------------------------------------------- the report and the CLI

def _adam_spec(tmp_path):
    spec = tmp_path / "xor_adam.toml"
    spec.write_text(XOR.read_text() + '\n[optimizer]\nkind = "adam"\nlearning_rate = 0.01\n')
    return spec


def test_report_of_a_spec_with_adam_counts_the_update_rule(tmp_path):
    report = prove(derive(load_spec(_adam_spec(tmp_path))))
    assert report.ok and report.optimizer == "adam" and report.optimizer_identities == 23
    # 31 gradient identities of the XOR net (tests/test_proof_report.py) + 23
    assert report.scalar_identities == 31 + 23
    assert report.summary().startswith("proof: all 9 gradients and 23 adam update-rule identities verified")


def test_report_of_a_spec_without_optimizer_is_unchanged():
    report = prove(derive(load_spec(XOR)))
    assert report.optimizer == "" and report.optimizer_identities == 0
    assert all(i.topic == "gradient" for i in report.identities)
    assert report.summary().startswith("proof: all 9 gradients verified (layer-local and end-to-end, ")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagen.cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_verdict_and_details_for_an_adam_spec(tmp_path):
    spec = _adam_spec(tmp_path)
    result = _cli("derive", str(spec))
    assert result.returncode == 0, result.stderr
    assert "proof: all 9 gradients and 23 adam update-rule identities verified" in result.stdout.splitlines()[-1]
    details = _cli("derive", "--proof-details", str(spec))
    assert details.returncode == 0, details.stderr
    lines = [line for line in details.stdout.splitlines() if line.startswith("[verified] adam:")]
    assert len(lines) == 7
    assert any("m̂_k = m_k / (1 − β₁^k) = g" in line and "8 instances" in line for line in lines)


def test_the_derivation_document_names_the_update_rule_identities_apart():
    """The gradient verdict counts the same identities as without [optimizer]; adam's 23 get their own line."""
    import tomllib

    import deltagen
    from conftest import ROOT
    spec = tomllib.loads((ROOT / "generated" / "lecture_xor" / "spec.toml").read_text(encoding="utf-8"))
    plain = deltagen.latex(deltagen.derive(spec), deltagen.prove(deltagen.derive(spec)))
    spec["optimizer"] = {"kind": "adam"}
    with_adam = deltagen.latex(deltagen.derive(spec), deltagen.prove(deltagen.derive(spec)))
    verdict = [line for line in plain.splitlines() if line.startswith("Verdict")]
    assert verdict and verdict[0] in with_adam.splitlines()
    assert r"The closed forms of the \texttt{adam} update rule: 23 identities verified." in with_adam
