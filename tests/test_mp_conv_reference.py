"""The conv/pool mpmath reference (tests/mp_conv_network.py) checked against its two independent sources.

1. PyTorch (float64): torch.nn.functional.conv1d/conv2d, max_pool1d/2d, avg_pool1d/2d and autograd on
   small nets (stride 1 and 2, padding 0 and 1, 1-D and 2-D, max and average pooling, dense after
   conv/pool, every loss): forward to 1e-12, every parameter gradient and ∂C/∂X to 1e-9.
   The data have no ties in any max-pool window (random floats), where central differences and
   the first-maximum rule agree (see mp_conv_network's docstring).
2. Published course numbers (tests/published_conv.py): CS231n's conv_forward_naive and
   max_pool_forward_naive, deeplearning.ai's conv_single_step, conv_forward, pool_forward,
   conv_backward and pool_backward, each to the precision it was printed with.

The reference, not deltagen, is under test here: nothing of deltagen is imported.
"""
from __future__ import annotations

from math import prod

import numpy as np
import pytest

from mp_conv_network import MpConvNet, layer_shapes, param_shapes
from published_conv import PublishedSet, cs231n_conv_forward, published_sets

# name → spec; every net is small, so the 50-digit central differences stay fast
NETS: dict[str, dict] = {
    "conv2d_s1_p0_relu_maxpool_dense_softmax_cce": {
        "input": [1, 6, 6], "loss": "cce", "reduction": "mean",
        "layers": [{"kind": "conv", "channels": 2, "kernel": 3, "activation": "relu"},
                   {"kind": "pool", "mode": "max", "size": 2},
                   {"units": 3, "activation": "softmax"}]},
    "conv2d_s2_p1_tanh_avgpool_s1_dense_sigmoid_bce_l2": {
        "input": [2, 5, 5], "loss": "bce", "reduction": "sum", "l2": 0.1,
        "layers": [{"kind": "conv", "channels": 3, "kernel": 3, "stride": 2, "padding": 1, "activation": "tanh"},
                   {"kind": "pool", "mode": "average", "size": 2, "stride": 1},
                   {"units": 2, "activation": "sigmoid"}]},
    "conv1d_s2_p1_sigmoid_maxpool_dense_half_sse": {
        "input": [2, 9], "loss": "half_sse", "reduction": "mean",
        "layers": [{"kind": "conv", "channels": 3, "kernel": 3, "stride": 2, "padding": 1, "activation": "sigmoid"},
                   {"kind": "pool", "mode": "max", "size": 2},
                   {"units": 2, "activation": "identity"}]},
    "conv1d_s1_p0_nobias_leaky_avgpool_s2_dense_mse": {
        "input": [1, 8], "loss": "mse", "reduction": "mean", "notation": {"input_layer": 1},
        "layers": [{"kind": "conv", "channels": 2, "kernel": 2, "activation": "leaky_relu", "bias": False},
                   {"kind": "pool", "mode": "average", "size": 3, "stride": 2},
                   {"units": 2, "activation": "tanh"}]},
    "conv2d_rect_kernel_stride_padding_two_convs_l2": {
        "input": [2, 4, 5], "loss": "half_sse", "reduction": "sum", "l2": 0.05,
        "layers": [{"kind": "conv", "channels": 2, "kernel": [2, 3], "stride": [1, 2], "padding": [1, 0],
                    "activation": "relu"},
                   {"kind": "conv", "channels": 2, "kernel": 2, "stride": 1, "padding": 1, "activation": "identity"},
                   {"units": 2, "activation": "identity"}]},
    "conv2d_s2_p0_maxpool_s1_then_conv_dense": {
        "input": [1, 7, 7], "loss": "half_sse", "reduction": "mean",
        "layers": [{"kind": "conv", "channels": 2, "kernel": 3, "stride": 2, "activation": "identity"},
                   {"kind": "pool", "mode": "max", "size": 2, "stride": 1},
                   {"kind": "conv", "channels": 1, "kernel": 2, "padding": 1, "activation": "sigmoid"},
                   {"units": 2, "activation": "identity"}]},
}
M = 2   # examples per batch


def _data(spec: dict, seed: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Random params, X (n_in, m) and Y (n_out, m) that fit the spec's loss."""
    rng = np.random.RandomState(seed)
    params = {key: rng.randn(*shape) * 0.6 for key, shape in param_shapes(spec).items()}
    shape = spec["input"]
    X = rng.randn(prod(shape) if isinstance(shape, list) else shape, M)
    n_out = prod(layer_shapes(spec)[-1])
    if spec["loss"] == "cce":
        Y = np.eye(n_out)[:, rng.randint(n_out, size=M)]
    elif spec["loss"] == "bce":
        Y = rng.uniform(size=(n_out, M))
    else:
        Y = rng.randn(n_out, M)
    return params, X, Y


def _torch_cost(torch, spec: dict, params: dict, X, Y):
    """A^[L] (n_out, m) and the cost, in torch float64, from the same spec."""
    F = torch.nn.functional
    first = spec.get("notation", {}).get("input_layer", 0)
    shape = spec["input"]
    a = X.T.reshape(X.shape[1], *shape)
    for index, layer in enumerate(spec["layers"], start=1):
        number, kind = first + index, layer.get("kind", "dense")
        if kind == "dense":
            a = a.reshape(a.shape[0], -1)
            z = a @ params[f"W{number}"].T
            if layer.get("bias", True):
                z = z + params[f"b{number}"].T
        elif kind == "conv":
            conv = F.conv1d if a.dim() == 3 else F.conv2d
            bias = params[f"b{number}"].reshape(-1) if layer.get("bias", True) else None
            z = conv(a, params[f"W{number}"], bias, stride=layer.get("stride", 1), padding=layer.get("padding", 0))
        else:
            pools = {(3, "max"): F.max_pool1d, (4, "max"): F.max_pool2d,
                     (3, "average"): F.avg_pool1d, (4, "average"): F.avg_pool2d}
            a = pools[a.dim(), layer["mode"]](a, layer["size"], layer.get("stride", layer["size"]))
            continue
        name = layer.get("activation", "identity")
        a = {"identity": lambda t: t, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
             "leaky_relu": lambda t: F.leaky_relu(t, layer.get("alpha", 0.01)),
             "softmax": lambda t: torch.softmax(t, dim=1)}[name](z)
    A = a.reshape(a.shape[0], -1).T
    per_example = {"half_sse": lambda: ((A - Y) ** 2).sum(0) / 2,
                   "mse": lambda: ((A - Y) ** 2).mean(0),
                   "bce": lambda: -(Y * torch.log(A) + (1 - Y) * torch.log(1 - A)).sum(0),
                   "cce": lambda: -(Y * torch.log(A)).sum(0)}[spec["loss"]]()
    cost = per_example.mean() if spec.get("reduction", "mean") == "mean" else per_example.sum()
    if spec.get("l2", 0.0):
        cost = cost + spec["l2"] / 2 * sum((value ** 2).sum() for key, value in params.items() if key.startswith("W"))
    return A, cost


@pytest.mark.parametrize("name", sorted(NETS))
def test_reference_matches_torch(name: str) -> None:
    """Forward (1e-12), every parameter gradient and ∂C/∂X (1e-9) equal torch's on the same net and data."""
    torch = pytest.importorskip("torch")
    spec = NETS[name]
    params, X, Y = _data(spec, seed=sorted(NETS).index(name) + 1)
    tparams = {key: torch.tensor(value, dtype=torch.float64, requires_grad=True) for key, value in params.items()}
    tX = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    A, cost = _torch_cost(torch, spec, tparams, tX, torch.tensor(Y, dtype=torch.float64))
    cost.backward()

    net = MpConvNet(spec)
    np.testing.assert_allclose(net.forward(params, X), A.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert float(net.cost(params, X, Y)) == pytest.approx(float(cost.detach()), rel=1e-12, abs=1e-12)
    grads = net.gradients(params, X, Y)
    assert set(grads) == set(params)
    for key, value in grads.items():
        np.testing.assert_allclose(value, tparams[key].grad.numpy(), rtol=1e-9, atol=1e-9, err_msg=key)
    np.testing.assert_allclose(net.input_gradient(params, X, Y), tX.grad.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", sorted(NETS))
def test_layer_shapes_match_torch(name: str) -> None:
    """layer_shapes gives the shape torch's layers produce, layer by layer (one example)."""
    torch = pytest.importorskip("torch")
    spec = NETS[name]
    params, X, _ = _data(spec, seed=7)
    first = spec.get("notation", {}).get("input_layer", 0)
    tparams = {key: torch.tensor(value) for key, value in params.items()}
    shapes = []
    for count in range(1, len(spec["layers"]) + 1):   # the output of the first `count` layers
        partial = {**spec, "layers": spec["layers"][:count], "loss": "half_sse"}
        keep = {key: value for key, value in tparams.items() if int(key[1:]) <= first + count}
        A, _ = _torch_cost(torch, partial, keep, torch.tensor(X[:, :1]), torch.zeros(1))
        shapes.append(A.shape[0])
    assert [prod(shape) for shape in layer_shapes(spec)] == shapes
    dims = len(spec["input"])
    assert all(len(shape) == dims for shape, layer in zip(layer_shapes(spec), spec["layers"])
               if layer.get("kind", "dense") != "dense")


def test_shapes_by_hand() -> None:
    """The DESIGN.md example net: [1, 6, 6] → conv 4×3×3 pad 1 → max pool 2 → dense 10; layers are numbered, pools too."""
    spec = {"input": [1, 6, 6], "loss": "cce",
            "layers": [{"kind": "conv", "channels": 4, "kernel": 3, "stride": 1, "padding": 1, "activation": "relu"},
                       {"kind": "pool", "mode": "max", "size": 2},
                       {"units": 10, "activation": "softmax"}]}
    assert layer_shapes(spec) == [(4, 6, 6), (4, 3, 3), (10,)]
    assert param_shapes(spec) == {"W1": (4, 1, 3, 3), "b1": (4, 1), "W3": (10, 36), "b3": (10, 1)}
    one_d = {"input": [2, 9], "loss": "mse",
             "layers": [{"kind": "conv", "channels": 3, "kernel": 3, "stride": 2, "padding": 1},
                        {"kind": "pool", "mode": "average", "size": 2}]}
    assert layer_shapes(one_d) == [(3, 5), (3, 2)]
    assert param_shapes(one_d) == {"W1": (3, 2, 3), "b1": (3, 1)}


def test_dense_only_net_equals_mp_network() -> None:
    """On a dense-only spec the reference is tests/mp_network.py's MpNet: cost and gradients agree to 1e-30."""
    from mp_network import MpNet
    spec = {"input": 3, "loss": "bce", "reduction": "mean", "l2": 0.2,
            "layers": [{"units": 2, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"}]}
    params, X, Y = _data(spec, seed=5)
    conv_net, dense_net = MpConvNet(spec), MpNet(spec)
    assert abs(conv_net.cost(params, X, Y) - dense_net.cost(params, X, Y)) < 1e-30
    ours, theirs = conv_net.gradients_mp(params, X, Y), dense_net.gradient_mp(params, X, Y)
    for key in params:
        assert max(abs(a - b) for a, b in zip(ours[key], [v for row in theirs[key] for v in row])) < 1e-25


def test_x_as_images_equals_x_as_columns() -> None:
    """X given as (C, H, W, m) is the same batch as (C·H·W, m) with each column flattened in C order."""
    spec = NETS["conv2d_s2_p1_tanh_avgpool_s1_dense_sigmoid_bce_l2"]
    params, X, _ = _data(spec, seed=3)
    net = MpConvNet(spec)
    images = np.stack([X[:, i].reshape(2, 5, 5) for i in range(M)], axis=-1)
    np.testing.assert_array_equal(net.forward(params, images), net.forward(params, X))


def _results(published: PublishedSet) -> dict:
    """Only the quantities the set's checks read: central differences are the slow part."""
    net = MpConvNet(published.spec)
    needed = {check.quantity for check in published.checks}
    results = {"data": published.data}
    if "forward" in needed:
        results["forward"] = net.forward(published.params, published.X)
    if "gradients" in needed:
        results["gradients"] = net.gradients(published.params, published.X, published.Y)
    if "input_gradient" in needed:
        results["input_gradient"] = net.input_gradient(published.params, published.X, published.Y)
    return results


@pytest.mark.parametrize("published", published_sets(), ids=lambda s: s.name)
def test_reference_reproduces_published_numbers(published: PublishedSet) -> None:
    """Every printed number, to half a unit of its last printed place (or 1e-13 relative for 17-digit scalars)."""
    results = _results(published)
    for check in published.checks:
        got = np.ravel(check.select(results))
        expected = check.expected()
        assert len(got) == len(expected), f"{published.name}: {check.label}: {len(got)} values, {len(expected)} printed"
        for index, (value, (printed, tolerance)) in enumerate(zip(got, expected)):
            assert abs(value - printed) <= tolerance, (
                f"{published.name} ({published.source}): {check.label}[{index}] = {value!r}, printed {printed}")


def test_published_numbers_tell_correlation_from_convolution() -> None:
    """CS231n's correct_out is not reproduced with the kernel flipped (a true convolution): the check has teeth."""
    published = cs231n_conv_forward()
    flipped = {**published.params, "W1": published.params["W1"][:, :, ::-1, ::-1].copy()}
    got = MpConvNet(published.spec).forward(flipped, published.X).T.ravel()
    printed = np.array([value for value, _ in published.checks[0].expected()])
    assert np.max(np.abs(got - printed)) > 1e-2
