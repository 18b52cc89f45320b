"""The end-to-end proof of small conv nets (derive/proof/end_to_end.py with pool_regions.py).

For every small net here, 1-D and 2-D, stride 1 and 2, padding 0 and 1, max and average pooling and a conv
layer straight into a dense one, ``prove`` runs the end-to-end proof by default and it holds: ∂ℓ/∂θ from the
δ recurrence equals sympy.diff of the composed loss for every parameter, and δ^[l] = ∂ℓ/∂z^[l] for every
hidden layer. Then each classic mistake is injected into the derivation (the expected verdict, failed,
follows from the mistake by hand: each is wrong at a point of some region) and the end-to-end proof alone,
run on an empty report, must refute it. Max pooling is proved region by region: a δ that differs from the
first maximum only at ties (the last maximum) is still proved, one that ignores the region is not.
"""
from __future__ import annotations

import json

import pytest
import sympy as sp

from deltagen.derive import derive, spec_from_dict
from deltagen.derive.derivation import spatial
from deltagen.derive.proof import END_TO_END_MAX_PARAMS, END_TO_END_MAX_UNITS, ProofReport, prove
from deltagen.derive.proof.end_to_end import end_to_end


def _net(name: str, input_shape: list[int], layers: list[dict], loss: str = "cce") -> dict:
    return {"name": name, "input": input_shape, "loss": loss, "layers": layers}


NETS = {
    # 2-D, stride 1, padding 0, max pool 2 (stride 2), relu below the pool
    "conv2d_s1_p0_max": _net("a", [1, 5, 5], [
        {"kind": "conv", "channels": 1, "kernel": [2, 2], "activation": "relu"},
        {"kind": "pool", "mode": "max", "size": 2},
        {"units": 2, "activation": "softmax"}]),
    # 2-D, stride 2, padding 1, two channels, average pool
    "conv2d_s2_p1_average": _net("b", [1, 4, 4], [
        {"kind": "conv", "channels": 2, "kernel": [3, 3], "stride": 2, "padding": 1, "activation": "tanh"},
        {"kind": "pool", "mode": "average", "size": 2},
        {"units": 1, "activation": "sigmoid"}], loss="bce"),
    # 1-D, stride 1, padding 1, two input channels, overlapping max-pool windows (size 2, stride 1)
    "conv1d_s1_p1_max_overlapping": _net("c", [2, 5], [
        {"kind": "conv", "channels": 2, "kernel": [3], "padding": 1, "activation": "sigmoid"},
        {"kind": "pool", "mode": "max", "size": 2, "stride": 1},
        {"units": 2, "activation": "softmax"}]),
    # 1-D, stride 2, padding 0, average pool, mse
    "conv1d_s2_p0_average": _net("d", [1, 7], [
        {"kind": "conv", "channels": 2, "kernel": [3], "stride": 2, "activation": "tanh"},
        {"kind": "pool", "mode": "average", "size": 3},
        {"units": 1, "activation": "identity"}], loss="mse"),
    # a conv layer straight into the dense output (stride 2, padding 1)
    "conv2d_into_dense": _net("e", [1, 4, 4], [
        {"kind": "conv", "channels": 1, "kernel": [2, 2], "stride": 2, "padding": 1, "activation": "leaky_relu"},
        {"units": 2, "activation": "softmax"}]),
    # conv → max pool → conv → dense: the pool's δ comes back through a kernel, the δ below it through the max
    "conv_max_conv": _net("f", [1, 5, 5], [
        {"kind": "conv", "channels": 1, "kernel": [2, 2], "activation": "tanh"},
        {"kind": "pool", "mode": "max", "size": 2},
        {"kind": "conv", "channels": 2, "kernel": [2, 2], "activation": "relu"},
        {"units": 1, "activation": "identity"}], loss="mse"),
    # two stride-1 convs: the δ of the first is the full correlation of the second's δ with its flipped kernel
    "conv_conv": _net("g", [1, 4, 4], [
        {"kind": "conv", "channels": 1, "kernel": [2, 2], "activation": "tanh"},
        {"kind": "conv", "channels": 1, "kernel": [2, 2], "activation": "tanh"},
        {"units": 1, "activation": "identity"}], loss="mse"),
}


def _end_to_end_only(name: str) -> ProofReport:
    """The end-to-end proof alone (no layer-local identity) of ``NETS[name]``, on an empty report."""
    d = derive(spec_from_dict(NETS[name]))
    report = ProofReport(d.network.name, d.network.n_params)
    end_to_end(d, report)
    return report


def _statements(report: ProofReport) -> list[str]:
    return [i.statement for i in report.identities if i.scope == "end-to-end"]


@pytest.mark.parametrize("name", sorted(NETS))
def test_small_conv_nets_are_proved_end_to_end_by_default(name):
    d = derive(spec_from_dict(NETS[name]))
    hidden = list(d.layer_numbers[:-1])
    report = prove(d)
    assert d.network.n_params <= END_TO_END_MAX_PARAMS
    assert report.ok and report.end_to_end, str(report)
    statements = _statements(report)
    # the gradient of every parameter, the δ of every hidden layer, the batch cost
    assert statements[0].startswith(f"∂ℓ/∂θ = backprop's gradient for all {d.network.n_params} parameters")
    for layer in hidden:
        units = d.layer(layer).units
        assert any(s.startswith(f"{d.layer(layer).kind}[{layer}]: δ[{layer}]_j = ∂ℓ/∂z[{layer}]_j for all {units} "
                                "units") for s in statements), statements
    assert statements[-1].startswith("∂C/∂θ = (1/m) Σ_i ∂ℓ_i/∂θ")
    counts = {i.statement: i.count for i in report.identities if i.scope == "end-to-end"}
    assert sum(counts.values()) == 2 * d.network.n_params + sum(d.layer(layer).units for layer in hidden)
    max_pool = any(layer.get("mode") == "max" for layer in NETS[name]["layers"])
    assert all(("in every region where each window has one largest entry" in s) == max_pool
               for s in statements[:-1])


def test_the_report_as_json_and_text_names_the_end_to_end_identities():
    report = prove(derive(spec_from_dict(NETS["conv2d_s1_p0_max"])))
    data = json.loads(json.dumps(report.as_dict()))
    assert data["ok"] is True and data["end_to_end"] is True and data["parameters"] == 5 + 10
    end = [i for i in data["identities"] if i["scope"] == "end-to-end"]
    assert [i["statement"].split(":")[0] for i in end] == [
        "∂ℓ/∂θ = backprop's gradient for all 15 parameters, through the whole network (max pool", "conv[1]",
        "pool[2]", "∂C/∂θ = (1/m) Σ_i ∂ℓ_i/∂θ"]
    assert [i["count"] for i in end] == [15, 16, 4, 15] and all(i["verdict"] == "verified" for i in end)
    assert {i["scope"] for i in data["identities"]} == {"layer-local", "end-to-end"}
    text = str(report)
    assert ("[verified] conv[1]: δ[1]_j = ∂ℓ/∂z[1]_j for all 16 units, through the layers above (max pool: in every "
            "region where each window has one largest entry)") in text
    assert text.endswith("(layer-local and end-to-end, " + f"{report.seconds:.2f} s)")


# ------------------------------------------------------------------ injected mistakes
def _unflipped(layer, W, delta):
    """The kernel read forwards: W_(c,c′,p) δ_(x − P + p) where W_(c,c′,p) δ_((x + P − p)/s) belongs."""
    out = []
    for c_in, *spot in spatial.positions(layer.in_shape):
        terms = []
        for c in range(layer.channels):
            for tap in spatial.positions(layer.kernel):
                i = tuple(x - pad + p for x, pad, p in zip(spot, layer.padding, tap))
                if all(0 <= v < n for v, n in zip(i, layer.out_shape[1:])):
                    terms.append(W[(c, c_in) + tap] * delta[spatial.flat(layer.out_shape, (c,) + i)])
        out.append(sp.Add(*terms))
    return out


def _padding_forgotten(layer, a_in, delta):
    """∂ℓ/∂W_(c,c′,p) = Σ_i δ_(c,i) a_(c′, s·i + p): the padding left out of the backward pass."""
    entries = []
    for c, c_in, *tap in spatial.positions(layer.weight_shape):
        terms = []
        for out in spatial.positions(layer.out_shape[1:]):
            read = tuple(s * i + p for i, p, s in zip(out, tap, layer.stride))
            if all(0 <= x < n for x, n in zip(read, layer.in_shape[1:])):
                terms.append(delta[spatial.flat(layer.out_shape, (c,) + out)]
                             * a_in[spatial.flat(layer.in_shape, (c_in,) + read)])
        entries.append(sp.Add(*terms))
    return sp.Array(entries, layer.weight_shape)


def _average_not_divided(layer, a_in, delta):
    """The δ of an average pool sent whole to every entry of the window (1/|window| forgotten)."""
    terms = [[] for _ in a_in]
    for k, window in enumerate(spatial.pool_windows(layer)):
        for u in window:
            terms[u].append(delta[k])
    return [sp.Add(*t) for t in terms]


def _last_maximum(window, position):
    """δ to the LAST maximum: the same as the first wherever one entry is largest (they differ at ties only)."""
    mine = window[position]
    conditions = [mine >= other for other in window[:position]] + [mine > other for other in window[position + 1:]]
    return sp.Piecewise((1, sp.And(*conditions)), (0, True)) if conditions else sp.Integer(1)


MISTAKES = [  # (net, module attribute, replacement, the end-to-end identities it must break)
    ("conv_conv", "conv_input_delta", _unflipped, ["∂ℓ/∂θ", "conv[1]: δ"]),
    ("conv_max_conv", "conv_input_delta", _unflipped, ["∂ℓ/∂θ", "conv[1]: δ", "pool[2]: δ"]),
    ("conv2d_s1_p0_max", "first_maximum", lambda window, position: sp.Integer(1), ["∂ℓ/∂θ", "conv[1]: δ"]),
    ("conv1d_s1_p1_max_overlapping", "first_maximum", lambda window, position: sp.Integer(1),
     ["∂ℓ/∂θ", "conv[1]: δ"]),
    ("conv2d_s1_p0_max", "first_maximum", lambda window, position: sp.Integer(position == 0),
     ["∂ℓ/∂θ", "conv[1]: δ"]),     # δ always to the window's first entry, whichever is largest
    ("conv2d_s2_p1_average", "pool_input_delta", _average_not_divided, ["∂ℓ/∂θ", "conv[1]: δ"]),
    ("conv2d_s2_p1_average", "conv_weight_gradient", _padding_forgotten, ["∂ℓ/∂θ"]),
    ("conv2d_into_dense", "conv_weight_gradient", _padding_forgotten, ["∂ℓ/∂θ"]),
]


@pytest.mark.parametrize("name, attribute, replacement, broken", MISTAKES,
                         ids=[f"{m[0]}-{m[1]}-{i}" for i, m in enumerate(MISTAKES)])
def test_the_end_to_end_proof_refutes_a_classic_mistake(monkeypatch, name, attribute, replacement, broken):
    monkeypatch.setattr(spatial, attribute, replacement)
    report = _end_to_end_only(name)
    failed = [i.statement for i in report.identities if not i.ok]
    for start in broken:
        assert any(s.startswith(start) for s in failed), (start, failed)
    assert not report.ok


def test_the_max_pool_proof_is_region_by_region_ties_are_the_convention(monkeypatch):
    """The last maximum instead of the first differs only where two entries tie for the largest, where the
    derivative does not exist: the region-by-region proof holds for it (what the report says it proves)."""
    monkeypatch.setattr(spatial, "first_maximum", _last_maximum)
    report = _end_to_end_only("conv_max_conv")
    assert report.ok, str(report)


def test_a_net_over_the_unit_bound_stays_layer_local():
    """Few parameters but large maps: the layer-local proof only, by default."""
    spec = _net("wide", [1, 10, 10], [
        {"kind": "conv", "channels": 1, "kernel": [3, 3], "activation": "relu"},
        {"kind": "pool", "mode": "max", "size": 2},
        {"units": 2, "activation": "softmax"}])
    d = derive(spec_from_dict(spec))
    assert d.network.n_params <= END_TO_END_MAX_PARAMS
    assert sum(layer.units for layer in d.network.layers[:-1]) == 64 + 16 > END_TO_END_MAX_UNITS
    report = prove(d)
    assert report.ok and not report.end_to_end


def test_the_issues_cnn_is_proved_layer_local():
    """[1, 8, 8] → conv 4×3×3 relu → max pool 2 → dense 10 softmax + cce: 410 parameters, layer-local."""
    spec = _net("cnn", [1, 8, 8], [
        {"kind": "conv", "channels": 4, "kernel": [3, 3], "activation": "relu"},
        {"kind": "pool", "mode": "max", "size": 2},
        {"units": 10, "activation": "softmax"}])
    report = prove(derive(spec_from_dict(spec)))
    assert report.ok and not report.end_to_end and report.n_params == 4 * 9 + 4 + 36 * 10 + 10
