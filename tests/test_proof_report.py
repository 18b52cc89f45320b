"""``repr()`` of a proof report and of its identities says what they are."""
from __future__ import annotations

from conftest import ROOT
from deltagen.derive import derive, load_spec, spec_from_dict
from deltagen.derive.proof import Identity, ProofReport, prove


def test_repr_of_a_verified_report_counts_gradients_and_identities():
    report = prove(derive(load_spec(ROOT / "generated" / "lecture_xor" / "spec.toml")))
    # 2-2-1 with biases: 4 + 2 + 2 + 1 = 9 parameters. Scalar identities: sigmoid' 1, δ[2] 1, δ[1] 2,
    # W[1] 4, b[1] 2, W[2] 2, b[2] 1, end to end 9, batch cost 9: 31
    assert repr(report) == "<ProofReport lecture_xor: 9 gradients verified, 31 identities, layer-local + end-to-end>"


def test_repr_of_a_layer_local_report():
    net = spec_from_dict({"name": "wide", "input": 8, "loss": "bce", "layers": [
        {"units": 8, "activation": "sigmoid"}, {"units": 1, "activation": "sigmoid"}]})
    report = prove(derive(net))
    # 8·8 + 8 + 8 + 1 = 81 parameters, over the end-to-end limit. Scalar identities: sigmoid' 1 (both
    # layers share it), δ[2] 1, δ[1] 8, W[1] 64, b[1] 8, W[2] 8, b[2] 1: 91
    assert repr(report) == "<ProofReport wide: 81 gradients verified, 91 identities, layer-local>"


def test_repr_of_a_failed_report_and_of_identities():
    good = Identity("∂ℓ/∂b[1]_j = δ[1]_j", "sympy.diff", "verified", count=2)
    bad = Identity("δ[2] = ∂ℓ/∂z[2]", "sympy.diff", "failed")
    report = ProofReport("toy", 3, [good, bad], end_to_end=False)
    assert repr(report) == "<ProofReport toy: FAILED: 1 of 2 identities do not hold, layer-local>"
    assert repr(good) == "<Identity verified (2 instances): ∂ℓ/∂b[1]_j = δ[1]_j>"
    assert repr(bad) == "<Identity failed: δ[2] = ∂ℓ/∂z[2]>"
    assert str(bad) == "[failed] δ[2] = ∂ℓ/∂z[2]  (sympy.diff)"
