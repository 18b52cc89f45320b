"""Conv and pool layers in index form (derive/derivation/spatial.py) against torch, and their proof.

torch.nn.functional's conv1d/conv2d, max_pool and avg_pool in float64 give z, and autograd of Σ δ·z gives
the δ reaching the input, ∂/∂W and ∂/∂b: the expected numbers here are torch's, not deltagen's.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from deltagen.derive.derivation import spatial
from deltagen.derive.model.activations import make_activation
from deltagen.derive.model.layer_kinds import ConvLayer, PoolLayer
from deltagen.derive.proof import spatial as proof

CONVS = [  # in_shape, channels, kernel, stride, padding
    ((2, 5, 4), 3, (3, 3), (1, 1), (1, 1)),
    ((1, 6, 5), 2, (2, 3), (2, 1), (0, 1)),
    ((3, 7), 2, (3,), (2,), (1,)),
    ((1, 4, 4), 1, (2, 2), (2, 2), (0, 0)),
]
POOLS = [((2, 4, 4), "max", (2, 2), (2, 2)), ((1, 5, 4), "max", (2, 2), (1, 2)), ((2, 6), "average", (3,), (2,)),
         ((1, 4, 6), "average", (2, 3), (2, 3))]


def _evaluate(exprs, values: dict) -> np.ndarray:
    return np.array([float(sp.sympify(e).xreplace(values)) for e in exprs])


def _conv(spec):
    in_shape, channels, kernel, stride, padding = spec
    return ConvLayer(channels, kernel, stride, padding, make_activation("relu"), in_shape)


@pytest.mark.parametrize("spec", CONVS)
def test_conv_forward_and_backward_are_torchs(spec):
    torch = pytest.importorskip("torch")
    layer = _conv(spec)
    rng = np.random.default_rng(len(spec[0]) + spec[1])
    W, b = spatial.conv_weights(layer, 1), spatial.conv_biases(layer, 1)
    a = tuple(sp.Symbol(f"a_{u}", real=True) for u in range(int(np.prod(layer.in_shape))))
    delta = tuple(sp.Symbol(f"d_{k}", real=True) for k in range(layer.units))
    w_val, b_val = rng.normal(size=layer.weight_shape), rng.normal(size=layer.channels)
    a_val, d_val = rng.normal(size=layer.in_shape), rng.normal(size=layer.out_shape)
    values = {**dict(zip(sp.flatten(W), w_val.ravel())), **dict(zip(b, b_val)), **dict(zip(a, a_val.ravel())),
              **dict(zip(delta, d_val.ravel()))}
    tw, tb, ta = (torch.tensor(v, requires_grad=True) for v in (w_val, b_val, a_val))
    conv = torch.nn.functional.conv2d if len(layer.in_shape) == 3 else torch.nn.functional.conv1d
    z = conv(ta[None], tw, tb, stride=layer.stride, padding=layer.padding)[0]
    (z * torch.tensor(d_val)).sum().backward()
    np.testing.assert_allclose(_evaluate(spatial.conv_z(layer, W, b, a), values), z.detach().numpy().ravel(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_evaluate(spatial.conv_input_delta(layer, W, delta), values), ta.grad.numpy().ravel(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_evaluate(sp.flatten(spatial.conv_weight_gradient(layer, a, delta)), values),
                               tw.grad.numpy().ravel(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_evaluate(spatial.conv_bias_gradient(layer, delta), values), tb.grad.numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec", POOLS)
def test_pool_forward_and_backward_are_torchs(spec):
    torch = pytest.importorskip("torch")
    in_shape, mode, size, stride = spec
    layer = PoolLayer(mode, size, stride, in_shape)
    rng = np.random.default_rng(7)
    a = tuple(sp.Symbol(f"a_{u}", real=True) for u in range(int(np.prod(in_shape))))
    delta = tuple(sp.Symbol(f"d_{k}", real=True) for k in range(layer.units))
    a_val, d_val = rng.permutation(np.arange(a.__len__())) / 7.0, rng.normal(size=layer.out_shape)   # no ties
    a_val = a_val.reshape(in_shape)
    values = {**dict(zip(a, a_val.ravel())), **dict(zip(delta, d_val.ravel()))}
    ta = torch.tensor(a_val, requires_grad=True)
    F = torch.nn.functional
    pool = {("max", 3): F.max_pool2d, ("max", 2): F.max_pool1d, ("average", 3): F.avg_pool2d,
            ("average", 2): F.avg_pool1d}[mode, len(in_shape)]
    z = pool(ta[None], size, stride=stride)[0]
    (z * torch.tensor(d_val)).sum().backward()
    np.testing.assert_allclose(_evaluate(spatial.pool_z(layer, a), values), z.detach().numpy().ravel(), rtol=1e-14)
    np.testing.assert_allclose(_evaluate(spatial.pool_input_delta(layer, a, delta), values), ta.grad.numpy().ravel(),
                               rtol=1e-12, atol=1e-14)


def test_max_pool_sends_delta_to_the_first_maximum_at_a_tie_as_torch_does():
    torch = pytest.importorskip("torch")
    layer = PoolLayer("max", (2, 2), (2, 2), (1, 2, 2))
    a = tuple(sp.Symbol(f"a_{u}", real=True) for u in range(4))
    values = {a[0]: 0.5, a[1]: 3.0, a[2]: 3.0, a[3]: 3.0}        # three equal maxima: the first is a_1
    got = _evaluate(spatial.pool_input_delta(layer, a, (sp.Integer(1),)), values)
    ta = torch.tensor([[[0.5, 3.0], [3.0, 3.0]]], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.max_pool2d(ta[None], 2)[0].sum().backward()
    np.testing.assert_array_equal(got, ta.grad.numpy().ravel())
    assert got.tolist() == [0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("spec", CONVS)
def test_the_conv_proof_holds(spec):
    assert all(identity.ok for identity in proof.conv_identities(_conv(spec), 1))


@pytest.mark.parametrize("spec", POOLS)
def test_the_pool_proof_holds(spec):
    in_shape, mode, size, stride = spec
    assert all(identity.ok for identity in proof.pool_identities(PoolLayer(mode, size, stride, in_shape), 2))


def test_the_proof_fails_for_a_kernel_not_flipped(monkeypatch):
    """The classic mistake: W_(c,c′,p) δ_(x − p) (the kernel read forwards) where W_(c,c′,p) δ_(x + P − p) belongs."""
    layer = _conv(CONVS[0])

    def unflipped(layer, W, delta):
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
    monkeypatch.setattr(spatial, "conv_input_delta", unflipped)
    assert not proof.conv_identities(layer, 1)[0].ok


def test_the_proof_fails_for_max_pool_delta_sent_to_every_entry(monkeypatch):
    """The classic mistake: the δ of a max pool sent to every position of the window."""
    layer = PoolLayer("max", (2, 2), (2, 2), (1, 4, 4))
    monkeypatch.setattr(spatial, "first_maximum", lambda window, position: sp.Integer(1))
    assert not proof.pool_identities(layer, 1)[0].ok


# ------------------------------------------------------------------ through Derivation
CNN = {"name": "cnn", "input": [1, 5, 4], "loss": "cce", "layers": [
    {"kind": "conv", "channels": 2, "kernel": [2, 2], "padding": 1, "activation": "tanh"},
    {"kind": "pool", "mode": "max", "size": 2, "stride": [2, 1]},
    {"kind": "conv", "channels": 2, "kernel": [1, 2], "stride": 1, "activation": "sigmoid", "bias": False},
    {"units": 3, "activation": "softmax"}]}


def test_a_cnns_derivation_gives_torchs_gradients_for_one_example():
    """Every z, a and δ of the Derivation evaluated layer by layer, then ∂ℓ/∂θ, against torch's autograd."""
    torch = pytest.importorskip("torch")
    from deltagen.derive import derive, spec_from_dict
    d = derive(spec_from_dict(CNN))
    rng = np.random.default_rng(3)
    values: dict = {}
    params = {}
    for layer in d.layer_numbers:
        s = d.symbols(layer)
        weights = list(sp.flatten(s.W))
        w = rng.normal(size=len(weights))
        values.update(zip(weights, w))
        params[f"W{layer}"] = w
        if s.b:
            bias = rng.normal(size=len(s.b))
            values.update(zip(s.b, bias))
            params[f"b{layer}"] = bias
    x, y = rng.normal(size=20), np.array([0.0, 1.0, 0.0])
    values.update(zip(d.x, x))
    values.update(zip(d.y, y))
    for layer in d.layer_numbers:                                   # forward, unit by unit
        s = d.symbols(layer)
        z = [float(e.xreplace(values)) for e in d.z_index(layer)]
        values.update(zip(s.z, z))
        values.update(zip(s.a, [float(e.xreplace(values)) for e in d.a_index(layer)]))
    for layer in reversed(d.layer_numbers):                         # backward
        s = d.symbols(layer)
        values.update(zip(s.delta, [float(sp.sympify(e).xreplace(values)) for e in d.delta_index(layer)]))
    got = {symbol: float(sp.sympify(e).xreplace(values)) for layer in d.layer_numbers
           for symbol, e in d.parameter_gradients(layer).items()}

    layers = d.network.layers
    tensors = {key: torch.tensor(value, requires_grad=True) for key, value in params.items()}
    a = torch.tensor(x).reshape(1, 1, 5, 4)
    a = torch.tanh(torch.nn.functional.conv2d(a, tensors["W1"].reshape(layers[0].weight_shape), tensors["b1"],
                                              padding=1))
    a = torch.nn.functional.max_pool2d(a, 2, stride=(2, 1))
    a = torch.sigmoid(torch.nn.functional.conv2d(a, tensors["W3"].reshape(layers[2].weight_shape)))
    z = tensors["W4"].reshape(3, -1) @ a.reshape(-1) + tensors["b4"]
    loss = -(torch.tensor(y) * torch.log_softmax(z, 0)).sum()
    loss.backward()
    for layer in d.layer_numbers:
        s = d.symbols(layer)
        for key, symbols_ in ((f"W{layer}", list(sp.flatten(s.W))), (f"b{layer}", list(s.b or ()))):
            if symbols_:
                np.testing.assert_allclose([got[v] for v in symbols_], tensors[key].grad.numpy(), rtol=1e-10,
                                           atol=1e-12, err_msg=key)


def test_a_cnns_proof_holds_and_names_each_kind():
    from deltagen.derive import derive, spec_from_dict
    from deltagen.derive.proof import prove
    report = prove(derive(spec_from_dict(CNN)))
    assert report.ok
    statements = " | ".join(i.statement for i in report.identities)
    assert "conv[1]: Σ_k ∂z_k/∂a_u δ_k = the correlation of δ with the flipped kernel" in statements
    assert "pool[2] (max)" in statements and "conv[3]: ∂ℓ/∂W" in statements
    assert "δ[2]_j = Σ_k δ[3]_k ∂z[3]_k/∂z[2]_j" in statements     # through conv 3, by sympy.diff of its z


def test_a_cnns_derivation_gives_the_mpmath_references_gradients():
    """Without torch: the same CNN's ∂ℓ/∂θ from the Derivation against tests/mp_conv_network.py's central
    differences at 50 digits (a reference that imports nothing of deltagen and is itself checked against torch
    and the CS231n and deeplearning.ai published numbers)."""
    from deltagen.derive import derive, spec_from_dict
    from mp_conv_network import MpConvNet, param_shapes
    d = derive(spec_from_dict(CNN))
    rng = np.random.default_rng(11)
    params = {key: rng.normal(size=shape) for key, shape in param_shapes(CNN).items()}
    x, y = rng.normal(size=(20, 1)), np.array([[0.0], [0.0], [1.0]])
    expected = MpConvNet(CNN).gradients(params, x, y)
    values = {**dict(zip(d.x, x[:, 0])), **dict(zip(d.y, y[:, 0]))}
    for layer in d.layer_numbers:
        s = d.symbols(layer)
        values.update(zip(sp.flatten(s.W), np.ravel(params.get(f"W{layer}", []))))
        values.update(zip(s.b or (), np.ravel(params.get(f"b{layer}", []))))
    for layer in d.layer_numbers:
        s = d.symbols(layer)
        values.update(zip(s.z, [float(e.xreplace(values)) for e in d.z_index(layer)]))
        values.update(zip(s.a, [float(e.xreplace(values)) for e in d.a_index(layer)]))
    for layer in reversed(d.layer_numbers):
        s = d.symbols(layer)
        values.update(zip(s.delta, [float(sp.sympify(e).xreplace(values)) for e in d.delta_index(layer)]))
    for layer in d.layer_numbers:
        s = d.symbols(layer)
        gradients = d.parameter_gradients(layer)
        for key, symbols_ in ((f"W{layer}", list(sp.flatten(s.W))), (f"b{layer}", list(s.b or ()))):
            if symbols_:
                got = [float(sp.sympify(gradients[v]).xreplace(values)) for v in symbols_]
                np.testing.assert_allclose(got, np.ravel(expected[key]), rtol=1e-10, atol=1e-12, err_msg=key)


def test_the_l2_term_of_conv_weights_is_proved_too():
    from deltagen.derive import derive, spec_from_dict
    from deltagen.derive.proof import prove
    report = prove(derive(spec_from_dict({**CNN, "l2": 0.1})))
    l2 = [i for i in report.identities if i.statement.startswith("∂/∂W[1] (λ/2)")]
    assert report.ok and len(l2) == 1 and l2[0].count == 2 * 1 * 2 * 2       # every entry of the conv's W1


def test_derive_text_of_a_conv_net_uses_the_specs_notation_and_lists_only_real_parameters():
    from deltagen.derive import derive, spec_from_dict
    from deltagen.derive.documents.describe import describe
    spec = {**CNN, "notation": {"brackets": "paren", "weight_symbol": "theta"},
            "optimizer": {"kind": "momentum", "learning_rate": 0.1}}
    text = describe(derive(spec_from_dict(spec)))
    assert "z(1)_(c,i,j) = Σ_(c′,p,q) θ(1)_(c,c′,p,q) a(0)_(c′, i + p − 1, j + q − 1) + b(1)_c" in text
    assert "for each entry θ of θ(1), b(1), θ(3), θ(4), b(4) on its own" in text     # pool 2 has none
