"""The proof of dense layers for every width (derive/proof/generic.py, indexed.py): it holds, it says so, and it
fails or falls back to the per-unit proof when the derivation's formulas are wrong."""
from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from deltagen.derive import derive, spec_from_dict
from deltagen.derive.derivation import generic, spatial
from deltagen.derive.derivation.backprop import Derivation
from deltagen.derive.model.activations import A, Z, make_activation
from deltagen.derive.proof import prove
from deltagen.derive.proof.differentiate import opaque_derivative_activation
from deltagen.derive.proof.indexed import collapse, indexed_diff, is_zero_indexed

from test_conv_proof import NETS as CONV_NETS

J, K, P, Q = generic.J, generic.K, generic.P, generic.Q
n, m = sp.symbols("n m", integer=True, positive=True)
W, z, delta = (sp.IndexedBase(name, real=True) for name in ("W", "z", "delta"))


def net(hidden: str = "tanh", **extra) -> Derivation:
    spec = {"name": "net", "input": 3, "loss": "half_sse", "layers": [
        {"units": 4, "activation": hidden}, {"units": 2, "activation": "sigmoid"}], **extra}
    return derive(spec_from_dict(spec))


# ------------------------------------------------------------------ indexed.py, by hand
def test_the_l2_term_differentiates_to_lambda_w_for_every_size():
    """∂/∂W_jk ½ Σ_p Σ_q W_pq² = W_jk (hand derivation), with SymPy's two-limit Sum."""
    penalty = sp.Sum(sp.Sum(W[P, Q] ** 2, (Q, 1, n)), (P, 1, m)) / 2
    assert collapse(indexed_diff(penalty, W[J, K]), {J: (1, m), K: (1, n)}) == W[J, K]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid", "z/(1 + Abs(z))"])
def test_the_chain_rule_through_a_sum_keeps_the_summed_index_bound(activation):
    """∂/∂z_j Σ_p δ_p Σ_q W_pq g(z_q) = g'(z_j) Σ_p W_pj δ_p (hand derivation), g opaque while the sums are built:
    SymPy 1.13 folds relu's Piecewise out of Σ_q when Σ_p is built around it, its condition on z_q left free."""
    g = make_activation(activation)
    opaque, derivative = opaque_derivative_activation("g")
    total = sp.Sum(delta[P] * sp.Sum(W[P, Q] * opaque(z[Q]), (Q, 1, n)), (P, 1, m))
    direct = collapse(indexed_diff(total, z[J]), {J: (1, n)})
    assert Q not in direct.free_symbols and P not in direct.free_symbols

    def meaning(e):
        return e.replace(opaque, lambda u: g.expr.xreplace({Z: u})).replace(
            derivative, lambda u: g.derivative.xreplace({Z: u}))
    claimed = g.derivative.xreplace({Z: z[J]}) * sp.Sum(W[P, J] * delta[P], (P, 1, m))
    assert is_zero_indexed(direct - claimed, meaning)
    assert not is_zero_indexed(direct - claimed.xreplace({W[P, J]: W[J, P]}), meaning)      # transposed W
    assert not is_zero_indexed(direct - 2 * claimed, meaning)


def test_a_kronecker_delta_is_summed_out_only_over_its_units_range():
    """Σ_(q=1)^(n) δ_(q,j) f(q) = f(j) needs 1 ≤ j ≤ n: over another range the sum stays."""
    kept = sp.Sum(sp.KroneckerDelta(Q, J) * W[Q, K], (Q, 1, m))
    assert collapse(kept, {J: (1, n)}) == kept
    assert collapse(kept, {J: (1, m)}) == W[J, K]
    assert collapse(kept, {J: (0, m)}) == kept


# ------------------------------------------------------------------ the report
@pytest.mark.parametrize("hidden", ["relu", "tanh", "log(1 + exp(z))", "z/(1 + Abs(z))"])
def test_dense_identities_are_proved_for_every_width(hidden):
    d = net(hidden, l2=0.01)
    report = prove(d)
    assert report.ok
    every = [i.statement for i in report.identities if i.widths == "every width"]
    # δ[1], ∂W and ∂b of both layers, and the L2 term of both
    assert len(every) == 7, every
    assert any(s.startswith("δ[1]_j") and "Sum(W2[p, j]*delta2[p], (p, 1, n2))" in s for s in every)
    per_unit = [i for i in report.identities if i.widths == "per unit" and i.scope == "layer-local"]
    assert [i.statement[:5] for i in per_unit] == ["δ[2] "]    # only the output δ
    assert report.as_dict()["identities"][2]["widths"] in ("every width", "per unit", "scalar")


def test_the_per_unit_proof_gives_the_same_verdicts():
    d = net("tanh", l2=0.01)
    generic_report, unit_report = prove(d), prove(net("tanh", l2=0.01), generic=False)
    assert generic_report.ok and unit_report.ok
    assert all(i.widths != "every width" for i in unit_report.identities)
    assert unit_report.scalar_identities == generic_report.scalar_identities


def test_a_wrong_derivative_fails_for_every_width_and_unit_by_unit(monkeypatch):
    monkeypatch.setattr(Derivation, "hidden_derivative", lambda self, layer: A)   # g' = a: wrong for tanh
    report = prove(net("tanh"), end_to_end=False)
    failed = report.failed
    assert [i.statement[:5] for i in failed] == ["δ[1]_"]
    assert "not proved for every width, so unit by unit" in failed[0].method


def test_per_unit_forms_that_are_not_the_generic_forms_instance_fall_back_and_fail(monkeypatch):
    """A transposed W in the derivation's per-unit δ (what documents and unrolled code print) is caught."""
    def transposed(self, layer, units=None):
        s, above = self.symbols(layer), self.symbols(layer + 1)
        units = range(len(s.z)) if units is None else units
        return [(1 - s.a[j] ** 2, sp.Add(*[above.W[k, j] * above.delta[k] for k in range(len(above.delta))]
                                        ) if j else above.W[0, 1] * above.delta[0]) for j in units]
    monkeypatch.setattr(Derivation, "delta_factors", transposed)
    report = prove(net("tanh"), end_to_end=False)
    assert [i.statement[:5] for i in report.failed] == ["δ[1]_"]


def test_a_wrong_weight_gradient_at_one_entry_is_caught(monkeypatch):
    original = Derivation.grad_W_entry
    monkeypatch.setattr(Derivation, "grad_W_entry",
                        lambda self, layer, j, k: original(self, layer, j, k) * (2 if (layer, j, k) == (1, 3, 2) else 1))
    report = prove(net("tanh"), end_to_end=False)
    assert [i.statement[:8] for i in report.failed] == ["∂ℓ/∂W[1]"]


def test_a_wrong_generic_form_alone_falls_back_to_the_per_unit_proof(monkeypatch):
    """The generic form is only a way to prove the per-unit forms: wrong there, the per-unit proof decides."""
    original = generic.dense_forms
    monkeypatch.setattr(generic, "dense_forms", lambda d, layer: dataclasses.replace(
        original(d, layer), grad_W=2 * original(d, layer).grad_W))
    report = prove(net("tanh"), end_to_end=False)
    assert report.ok
    fallen = [i for i in report.identities if i.statement.startswith("∂ℓ/∂W")]
    assert fallen and all(i.widths == "per unit" and "not proved for every width" in i.method for i in fallen)


def test_a_wide_net_reads_few_weight_symbols():
    """The proof of a 300-200-3 net builds no per-weight expression: it reads a handful of W entries."""
    d = derive(spec_from_dict({"name": "wide", "input": 300, "loss": "cce", "layers": [
        {"units": 200, "activation": "relu"}, {"units": 3, "activation": "softmax"}]}))
    report = prove(d)
    assert report.ok and report.n_params == 300 * 200 + 200 + 200 * 3 + 3
    assert d.symbols(d.first).W.made <= 3 * 300 + 3 * 3
    assert d.symbols(d.last).W.made <= 3 * 200


# ------------------------------------------------------------------ conv layers
@pytest.mark.parametrize("name", sorted(CONV_NETS))
def test_conv_parameter_gradients_are_proved_for_every_size(name):
    """Strided, padded, 1-D and 2-D, conv under conv: ∂W and ∂b for every size, the input δ unit by unit."""
    d = derive(spec_from_dict(CONV_NETS[name]))
    report = prove(d, end_to_end=False)
    assert report.ok, str(report)
    for layer in d.layer_numbers:
        if d.layer(layer).kind != "conv":
            continue
        mine = {i.statement.split(" = ")[0].split(" for ")[0]: i.widths
                for i in report.identities if i.statement.startswith(f"conv[{layer}]")}
        assert mine[f"conv[{layer}]: ∂ℓ/∂W_(c,c′,p)"] == "every width"
        assert mine[f"conv[{layer}]: ∂ℓ/∂b_c"] == "every width"
        assert mine[f"conv[{layer}]: Σ_k ∂z_k/∂a_u δ_k"] == "per unit"


def test_a_wrong_conv_weight_gradient_entry_falls_back_and_fails(monkeypatch):
    """A ∂W entry read one position off (what the per-unit forms give the documents) is caught."""
    original = spatial.conv_weight_gradient_entry

    def shifted(layer, a_in, delta, index):
        return original(layer, a_in, delta, index) + (a_in[0] * delta[-1] if index == (1, 0, 2, 2) else 0)
    monkeypatch.setattr(spatial, "conv_weight_gradient_entry", shifted)
    report = prove(derive(spec_from_dict(CONV_NETS["conv2d_s2_p1_average"])), end_to_end=False)
    failed = report.failed
    assert [i.statement[:18] for i in failed] == ["conv[1]: ∂ℓ/∂W_(c,"]
    assert "not proved for every width, so unit by unit" in failed[0].method and failed[0].widths == "per unit"


def test_a_generic_conv_form_that_misreads_the_padding_is_not_taken(monkeypatch):
    """The generic ∂W with the padding left out of its read is not the derivative: the per-unit proof decides."""
    original = generic.conv_forms

    def unpadded(d, layer):
        forms = original(d, layer)
        kind = d.layer(layer)
        return dataclasses.replace(forms, grad_W=forms.grad_W.replace(
            lambda e: isinstance(e, sp.Indexed) and str(e.base) == f"A{layer - 1}",
            lambda e: e.base[(e.indices[0],) + tuple(i + p for i, p in zip(e.indices[1:], kind.padding))]))
    monkeypatch.setattr(generic, "conv_forms", unpadded)
    report = prove(derive(spec_from_dict(CONV_NETS["conv2d_s2_p1_average"])), end_to_end=False)
    assert report.ok
    conv_w = next(i for i in report.identities if i.statement.startswith("conv[1]: ∂ℓ/∂W"))
    assert conv_w.widths == "per unit" and "not proved for every width" in conv_w.method
