"""The generated NumPy module of nets with conv and pool layers (issue 15, item 4).

Expected numbers come from sources that do not import deltagen: the mpmath reference
tests/mp_conv_network.py (forward, cost, and central differences at 50 digits for every parameter,
for ∂C/∂X and, moving one z at a time, for every Δ^[l] = ∂C/∂Z^[l]); torch float64 autograd
(optional: importorskip); the published CS231n / deeplearning.ai numbers (tests/published_conv.py);
and hand-made inputs for the max-pool tie (δ goes to the first maximum, row-major).
"""
from __future__ import annotations

import dataclasses
from math import prod

import mpmath
import numpy as np
import pytest

from conftest import import_file
from deltagen.codegen import render, write_files
from deltagen.codegen.backends.numpy import NumpyConfig
from deltagen.derive import derive, spec_from_dict
from mp_conv_network import MpConvNet, layer_shapes, param_shapes
from mp_network import loss as mp_loss
from published_conv import cs231n_conv_forward, cs231n_max_pool_forward, dlai_conv_backward, dlai_pool_backward

CONV = "conv"
NETS: dict[str, dict] = {
    "c2d_s1_p0_relu_max_dense_softmax": {
        "input": [1, 6, 6], "loss": "cce", "reduction": "mean",
        "layers": [{"kind": CONV, "channels": 2, "kernel": 3, "activation": "relu"},
                   {"kind": "pool", "mode": "max", "size": 2},
                   {"units": 3, "activation": "softmax"}]},
    "c2d_s2_p1_tanh_avg_s1_dense_sigmoid_l2": {
        "input": [2, 5, 5], "loss": "bce", "reduction": "sum", "l2": 0.1,
        "layers": [{"kind": CONV, "channels": 3, "kernel": 3, "stride": 2, "padding": 1, "activation": "tanh"},
                   {"kind": "pool", "mode": "average", "size": 2, "stride": 1},
                   {"units": 2, "activation": "sigmoid"}]},
    "c1d_s2_p1_sigmoid_max_dense": {
        "input": [2, 9], "loss": "half_sse", "reduction": "mean",
        "layers": [{"kind": CONV, "channels": 3, "kernel": 3, "stride": 2, "padding": 1, "activation": "sigmoid"},
                   {"kind": "pool", "mode": "max", "size": 2},
                   {"units": 2, "activation": "identity"}]},
    # padding 2 > kernel − 1: the δ's view crops instead of padding (and the edge z are b alone: a bias keeps
    # them off leaky ReLU's kink, where central differences take the mean of the two slopes)
    "c1d_p2_avg_s2_dense_nobias_tanh": {
        "input": [1, 8], "loss": "mse", "reduction": "mean", "notation": {"input_layer": 1},
        "layers": [{"kind": CONV, "channels": 2, "kernel": 2, "padding": 2, "activation": "leaky_relu"},
                   {"kind": "pool", "mode": "average", "size": 3, "stride": 2},
                   {"units": 2, "activation": "tanh", "bias": False}]},
    "c2d_rect_conv_conv_dense_l2": {
        "input": [2, 4, 5], "loss": "half_sse", "reduction": "sum", "l2": 0.05,
        "layers": [{"kind": CONV, "channels": 2, "kernel": [2, 3], "stride": [1, 2], "padding": [1, 0],
                    "activation": "relu"},
                   {"kind": CONV, "channels": 2, "kernel": 2, "stride": 1, "padding": 1, "activation": "identity"},
                   {"units": 2, "activation": "identity"}]},
    "c2d_conv_conv_maxpool_s1_dense_dense": {
        "input": [1, 7, 7], "loss": "half_sse", "reduction": "mean",
        "layers": [{"kind": CONV, "channels": 2, "kernel": 3, "stride": 2, "activation": "tanh"},
                   {"kind": CONV, "channels": 2, "kernel": 2, "padding": 1, "activation": "sigmoid"},
                   {"kind": "pool", "mode": "max", "size": 2, "stride": 1},
                   {"units": 3, "activation": "relu"},
                   {"units": 2, "activation": "identity"}]},
    # 5 × 5 maps under 2 × 2 windows that do not overlap: the last row and column get no δ (the fold pads)
    "c2d_odd_map_max_avg": {
        "input": [1, 6, 6], "loss": "half_sse", "reduction": "mean",
        "layers": [{"kind": CONV, "channels": 2, "kernel": 2, "activation": "tanh"},
                   {"kind": "pool", "mode": "max", "size": 2},
                   {"units": 2, "activation": "identity"}]},
    "c2d_odd_map_avg": {
        "input": [1, 7, 7], "loss": "half_sse", "reduction": "sum",
        "layers": [{"kind": CONV, "channels": 1, "kernel": 3, "activation": "sigmoid"},
                   {"kind": "pool", "mode": "average", "size": 2},
                   {"units": 2, "activation": "identity"}]},
    "pool_first_max_dense": {
        "input": [2, 4, 4], "loss": "half_sse", "reduction": "sum",
        "layers": [{"kind": "pool", "mode": "max", "size": 2},
                   {"units": 2, "activation": "tanh"}]},
}
M = 2   # examples per batch
ISSUE_CNN = {"name": "issue_cnn", "input": [1, 8, 8], "loss": "cce",
             "layers": [{"kind": CONV, "channels": 4, "kernel": 3, "activation": "relu"},
                        {"kind": "pool", "mode": "max", "size": 2},
                        {"units": 10, "activation": "softmax"}]}


def _generate(spec: dict, folder, name: str, config=None):
    spec = {"name": name, **{k: v for k, v in spec.items() if k != "name"}}
    write_files(render(derive(spec_from_dict(spec)), "numpy", config), folder)
    return import_file(folder / f"{name}.py", f"np_conv_{name}_{id(folder)}")


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    return {name: _generate(spec, tmp_path_factory.mktemp(name), name) for name, spec in NETS.items()}


def _data(spec: dict, seed: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Random params, X (n_in, m) and Y that fit the loss; random floats: no ties in a max-pool window."""
    rng = np.random.RandomState(seed)
    params = {key: rng.randn(*shape) * 0.6 for key, shape in param_shapes(spec).items()}
    X = rng.randn(prod(spec["input"]), M)
    n_out = prod(layer_shapes(spec)[-1])
    Y = {"cce": lambda: np.eye(n_out)[:, rng.randint(n_out, size=M)],
         "bce": lambda: rng.uniform(size=(n_out, M))}.get(spec["loss"], lambda: rng.randn(n_out, M))()
    return params, X, Y


def _mp_deltas(spec: dict, params: dict, X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
    """∂C/∂Z^[l] by central differences: move z^[l] of one example and run the reference net on from there."""
    net = MpConvNet(spec)
    with mpmath.workdps(net.digits):
        p = net._params(params)
        xs, ys = net._columns(X, net.n_in), net._columns(Y, net.n_out)
        h, scale = net.step, mpmath.mpf(1) / len(xs) if net.mean else 1
        out = {}
        for index, layer in enumerate(net.layers):
            linear = dataclasses.replace(layer, g=None if layer.kind == "pool" else (lambda z: z))
            g = layer.g or (lambda z: z)
            columns = []
            for x, y in zip(xs, ys):
                z = net._layer(linear, p, _upto(net, p, index, x))
                column = []
                for j in range(len(z)):
                    shifted = []
                    for sign in (1, -1):
                        moved = list(z)
                        moved[j] += sign * h
                        a = net._from(p, index + 1, g(moved))
                        shifted.append(mp_loss(net.loss, a, y) if net.loss != "linear" else mpmath.fdot(a, y))
                    column.append(float(scale * (shifted[0] - shifted[1]) / (2 * h)))
                columns.append(column)
            out[f"Delta{layer.number}"] = np.array(columns).T.reshape(layer.shape_out + (len(xs),))
        return out


def _upto(net: MpConvNet, p: dict, index: int, x: list) -> list:
    a = x
    for layer in net.layers[:index]:
        a = net._layer(layer, p, a)
    return a


def _close(got, expected, rel: float = 1e-12, what: str = "") -> None:
    expected = np.asarray(expected, dtype=float)
    assert np.shape(got) == expected.shape, what
    np.testing.assert_allclose(got, expected, rtol=rel, atol=rel * max(1.0, np.abs(expected).max()), err_msg=what)


@pytest.mark.parametrize("name", sorted(NETS))
def test_module_equals_mpmath_reference(modules, name):
    """forward, cost, every gradient, every Δ^[l] and dX against mpmath (50-digit central differences)."""
    module, spec = modules[name], NETS[name]
    params, X, Y = _data(spec, seed=sorted(NETS).index(name) + 3)
    net = MpConvNet(spec)
    _close(module.forward(params, X), net.forward(params, X), what="forward")
    assert module.cost(params, X, Y) == pytest.approx(float(net.cost(params, X, Y)), rel=1e-12)
    grads, expected = module.gradients(params, X, Y), net.gradients(params, X, Y)
    assert set(grads) == set(expected) == set(params)
    for key in expected:
        _close(grads[key], expected[key], what=key)
    back = module.backward(params, X, Y)
    _close(back["dX"], net.input_gradient(params, X, Y), what="dX")
    deltas = _mp_deltas(spec, params, X, Y)
    assert set(back) == set(deltas) | {"dX"}
    for key, value in deltas.items():   # conv/pool Δ in Z's shape (C, H, W, m) or (C, L, m); dense (n, m)
        _close(back[key], value if value.ndim > 2 else value.reshape(-1, M), what=key)


@pytest.mark.parametrize("name", sorted(NETS))
def test_module_equals_torch(modules, name):
    """The same quantities against torch float64 autograd (Δ^[l] through retain_grad)."""
    torch = pytest.importorskip("torch")
    module, spec = modules[name], NETS[name]
    params, X, Y = _data(spec, seed=sorted(NETS).index(name) + 11)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    tX = torch.tensor(X, requires_grad=True)
    A, cost, zs = _torch_net(torch, spec, tp, tX, torch.tensor(Y))
    cost.backward()
    _close(module.forward(params, X), A.detach().numpy(), what="forward")
    assert module.cost(params, X, Y) == pytest.approx(float(cost.detach()), rel=1e-12)
    grads = module.gradients(params, X, Y)
    for key in params:
        _close(grads[key], tp[key].grad.numpy(), what=key)
    back = module.backward(params, X, Y)
    _close(back["dX"], tX.grad.numpy(), what="dX")
    for key, z in zs.items():
        _close(back[key], np.moveaxis(z.grad.numpy(), 0, -1) if z.dim() > 2 else z.grad.numpy().T, what=key)


def _torch_net(torch, spec: dict, params: dict, X, Y):
    """A^[L] (n_out, m), the cost and {Delta{l}: z^[l] (examples first, grad retained)} in torch float64."""
    F = torch.nn.functional
    first = spec.get("notation", {}).get("input_layer", 0)
    a, zs = X.T.reshape(X.shape[1], *spec["input"]), {}
    for index, layer in enumerate(spec["layers"], start=1):
        number, kind = first + index, layer.get("kind", "dense")
        bias = params.get(f"b{number}")
        if kind == "dense":
            z = a.reshape(a.shape[0], -1) @ params[f"W{number}"].T + (bias.T if bias is not None else 0)
        elif kind == CONV:
            conv = F.conv1d if a.dim() == 3 else F.conv2d
            z = conv(a, params[f"W{number}"], None if bias is None else bias.reshape(-1),
                     stride=layer.get("stride", 1), padding=layer.get("padding", 0))
        else:
            pool = {"max": (F.max_pool1d, F.max_pool2d), "average": (F.avg_pool1d, F.avg_pool2d)}[layer["mode"]]
            z = pool[a.dim() - 3](a, layer["size"], layer.get("stride", layer["size"]))
        z.retain_grad()
        zs[f"Delta{number}"] = z
        name = layer.get("activation", "identity")
        a = {"identity": lambda t: t, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
             "leaky_relu": lambda t: F.leaky_relu(t, 0.01), "softmax": lambda t: torch.softmax(t, dim=1)}[name](z)
    A = a.T
    per = {"half_sse": lambda: ((A - Y) ** 2).sum(0) / 2, "mse": lambda: ((A - Y) ** 2).mean(0),
           "bce": lambda: -(Y * torch.log(A) + (1 - Y) * torch.log(1 - A)).sum(0),
           "cce": lambda: -(Y * torch.log(A)).sum(0)}[spec["loss"]]()
    cost = per.mean() if spec.get("reduction", "mean") == "mean" else per.sum()
    if spec.get("l2"):
        cost = cost + spec["l2"] / 2 * sum((v ** 2).sum() for k, v in params.items() if k.startswith("W"))
    return A, cost, zs


# ------------------------------------------------------------------ published numbers
def _with_identity_output(spec: dict, n: int) -> dict:
    """The source's one conv/pool layer, then a dense identity layer (W = I, b = 0): the output is its z."""
    return {**spec, "layers": spec["layers"] + [{"units": n, "activation": "identity"}]}


def _published(published, tmp_path, n_out: int):
    spec = _with_identity_output(published.spec, n_out)
    number = len(published.spec["layers"]) + 1
    params = {**published.params, f"W{number}": np.eye(n_out), f"b{number}": np.zeros((n_out, 1))}
    return _generate(spec, tmp_path, published.name), params


def _check_published(published, results) -> None:
    for check in published.checks:
        got = np.ravel(check.select(results))
        expected = check.expected()
        assert len(got) == len(expected), check.label
        for value, (printed, tolerance) in zip(got, expected):
            assert abs(value - printed) <= tolerance, f"{published.name}: {check.label}: {value!r}, printed {printed}"


@pytest.mark.parametrize("make", [cs231n_conv_forward, cs231n_max_pool_forward], ids=lambda f: f.__name__)
def test_published_forward(tmp_path, make):
    """CS231n's conv_forward_naive (stride 2, pad 1) and max_pool_forward_naive outputs."""
    published = make()
    n_out = prod(layer_shapes(published.spec)[-1])
    module, params = _published(published, tmp_path, n_out)
    _check_published(published, {"forward": module.forward(params, published.X), "data": published.data})


def test_published_conv_backward(tmp_path):
    """deeplearning.ai's conv_backward (pad 2, stride 2): the means of dA, dW and db for C = ½ Σ Z²."""
    published = dlai_conv_backward()
    module, params = _published(published, tmp_path, published.Y.shape[0])
    grads = module.gradients(params, published.X, published.Y)
    dX = module.backward(params, published.X, published.Y)["dX"]
    _check_published(published, {"gradients": grads, "input_gradient": dX, "data": published.data})


@pytest.mark.parametrize("mode", ["max", "average"])
def test_published_pool_backward(tmp_path, mode):
    """deeplearning.ai's pool_backward(dA): with half_sse and Y = A − dA (A from the mpmath reference), δ = dA."""
    published = dlai_pool_backward(mode)
    dA = published.Y   # the reference's linear loss takes dA as Y
    published = dataclasses.replace(published, spec={**published.spec, "loss": "half_sse"})
    module, params = _published(published, tmp_path, dA.shape[0])
    Y = MpConvNet(published.spec).forward({}, published.X) - dA
    dX = module.backward(params, published.X, Y)["dX"]
    _check_published(published, {"input_gradient": dX, "data": published.data})


# ------------------------------------------------------------------ max-pool ties
@pytest.mark.parametrize("window, first", [([3.0, 3.0, 1.0, 3.0], 0), ([0.0, 2.0, 2.0, 2.0], 1),
                                           ([-1.0, -2.0, 5.0, 5.0], 2)])
def test_max_pool_tie_goes_to_first_maximum(tmp_path, window, first):
    """One 2×2 window with a tie: dX is δ at the first maximum in row-major order and 0 elsewhere (by hand:
    z = max, ℓ = ½ (z − y)², y = 0, so δ = z and dX = z at the first maximum)."""
    spec = {"input": [1, 2, 2], "loss": "half_sse", "reduction": "sum",
            "layers": [{"kind": "pool", "mode": "max", "size": 2}, {"units": 1, "activation": "identity"}]}
    module = _generate(spec, tmp_path, "tie")
    params = {"W2": np.ones((1, 1)), "b2": np.zeros((1, 1))}
    dX = module.backward(params, np.array(window), np.zeros(1))["dX"]
    expected = np.zeros(4)
    expected[first] = max(window)
    np.testing.assert_array_equal(dX, expected)


# ------------------------------------------------------------------ training, dtypes, shapes, speed
TRAIN = {"input": [1, 5, 5], "loss": "cce", "reduction": "mean",
         "layers": [{"kind": CONV, "channels": 2, "kernel": 2, "padding": 1, "activation": "relu"},
                    {"kind": "pool", "mode": "max", "size": 2},
                    {"units": 4, "activation": "tanh", "dropout": 0.25},
                    {"units": 2, "activation": "softmax"}]}


def _bright_left(rng, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is whether the left half is brighter than the right."""
    X = rng.normal(size=(m, 1, 5, 5))
    label = rng.integers(0, 2, size=m)
    X[:, 0, :, :2] += np.where(label, 1.0, -1.0)[:, None, None]
    return X.reshape(m, -1).T, np.eye(2)[:, label]


@pytest.mark.parametrize("optimizer", [{"kind": "sgd", "learning_rate": 0.5},
                                       {"kind": "adam", "learning_rate": 0.05}], ids=lambda o: o["kind"])
def test_train_decreases_cost(tmp_path, optimizer):
    """train() (with dropout on the dense layer after the pool layer, and a shuffle) lowers the cost."""
    module = _generate({**TRAIN, "optimizer": optimizer}, tmp_path, f"train_{optimizer['kind']}")
    X, Y = _bright_left(np.random.default_rng(5), 40)
    params = module.init_params(1)
    before = module.cost(params, X, Y)
    trained, costs = module.train(params, X, Y, None, epochs=30, batch_size=10, seed=3)
    assert costs[-1] < 0.6 * before
    assert set(trained) == set(params) and all(trained[k].shape == params[k].shape for k in params)
    state = module.init_state(params)
    assert set(state["exp_avg"] if "exp_avg" in state else {"W1"}) >= {"W1"}
    stepped, _ = module.train_step(params, state, X, Y)
    assert module.cost(stepped, X, Y) < before


def test_init_params_draws_conv_weights_in_c_order(tmp_path):
    """Conv weights have torch's fans (fan_in = C_in·kH·kW); INIT_DRAWS counts every weight; biases are 0."""
    module = _generate({**ISSUE_CNN, "init": "glorot_uniform"}, tmp_path, "init_cnn")
    params = module.init_params(7)
    assert params["W1"].shape == (4, 1, 3, 3) and params["b1"].shape == (4, 1)
    assert module.INIT_DRAWS == 4 * 9 + 10 * 36
    generator = module.SplitMix64(7)      # the README's generator (tests/test_random.py checks it)
    for key, fan_in, fan_out in (("W1", 1 * 9, 4 * 9), ("W3", 36, 10)):
        bound = np.sqrt(6.0 / (fan_in + fan_out))           # Glorot: √(6 / (fan_in + fan_out))
        draws = [bound * (2.0 * generator.uniform() - 1.0) for _ in range(params[key].size)]
        np.testing.assert_array_equal(params[key].ravel(), draws)   # C order of (C_out, C_in, kH, kW)
    assert not params["b1"].any()


def test_float32_module(tmp_path):
    """dtype float32: the forward pass is float32 and the numbers are the float64 module's to float precision.

    (relu's g' is printed as numpy.where(z > 0, 1, 0), an integer array, as for dense layers: the δ's below
    a relu layer come out float64 in both; the values still agree.)"""
    spec = NETS["c2d_s1_p0_relu_max_dense_softmax"]
    single = _generate(spec, tmp_path, "single_precision", NumpyConfig(dtype="numpy.float32"))
    double = _generate(spec, tmp_path, "double_precision")
    params, X, Y = _data(spec, seed=2)
    assert single.forward(params, X).dtype == np.float32
    assert single.init_params(0)["W1"].dtype == np.float32
    np.testing.assert_allclose(single.forward(params, X), double.forward(params, X), rtol=1e-5)
    grads, expected = single.gradients(params, X, Y), double.gradients(params, X, Y)
    for key in grads:
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-4, atol=1e-5)


def test_one_example_and_image_layouts(modules):
    """X as (n_in, m), as INPUT_SHAPE + (m,), or one example: the same numbers; dX in the shape X was given."""
    module, spec = modules["c2d_s1_p0_relu_max_dense_softmax"], NETS["c2d_s1_p0_relu_max_dense_softmax"]
    params, X, Y = _data(spec, seed=4)
    images = X.T.reshape(M, *spec["input"]).transpose(1, 2, 3, 0)
    np.testing.assert_array_equal(module.forward(params, images), module.forward(params, X))
    back = module.backward(params, images, Y)
    assert back["dX"].shape == images.shape and back["Delta1"].shape == (2, 4, 4, M)
    one = module.backward(params, images[..., 0], Y[:, 0])
    assert one["dX"].shape == (1, 6, 6) and one["Delta1"].shape == (2, 4, 4) and one["Delta3"].shape == (3,)
    np.testing.assert_allclose(one["dX"], back["dX"][..., 0] * M, rtol=1e-13)   # mean over one example vs M


def test_issue_cnn_steps_as_torch_does(tmp_path):
    """The issue's CNN: one sgd_step at m = 64 lowers the cost and is torch's step (float64); its speed against
    torch is benchmarks/conv_step.py's, not a test's."""
    module = _generate(ISSUE_CNN, tmp_path, "issue_cnn")
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(64, 64)), np.eye(10)[:, rng.integers(0, 10, 64)]
    params = module.init_params(0)
    new = module.sgd_step(params, X, Y, 0.1)
    assert module.cost(new, X, Y) < module.cost(params, X, Y)
    torch = pytest.importorskip("torch", reason="torch is not installed")
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    tX, tY = torch.tensor(X.T.reshape(64, 1, 8, 8)), torch.tensor(Y.T)
    z = torch.nn.functional.conv2d(tX, tp["W1"], tp["b1"].reshape(-1))
    a = torch.nn.functional.max_pool2d(torch.relu(z), 2).reshape(64, -1)
    cost = torch.nn.functional.cross_entropy(a @ tp["W3"].T + tp["b3"].T, tY)
    grads = torch.autograd.grad(cost, list(tp.values()))
    for (key, value), grad in zip(tp.items(), grads):   # the same step in torch (float64)
        np.testing.assert_allclose(new[key], (value - 0.1 * grad).detach().numpy(), rtol=1e-10, atol=1e-13)
