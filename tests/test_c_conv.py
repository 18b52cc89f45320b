"""The generated C of nets with conv and pool layers (issue 15), against the independent mpmath reference.

tests/mp_conv_network.py (which imports nothing of deltagen) gives the forward pass, the cost and every
parameter gradient by 50-digit central differences; the generated C must agree to 1e-12 relative in double
and 1e-4 in float (on the same float-rounded inputs). The data have no ties in a max-pool window (random
floats), where central differences and the first-maximum rule agree. Also: strict builds in double and
float, a sanitizer run of every entry point, init_params drawing the README's SplitMix64 stream in C order
with torch's conv fans, every optimizer's update on conv weights against the README's table, the stack of
train_step and update, and the issue's CNN learning with train_step.
"""
from __future__ import annotations

import math
import re
import shutil
import subprocess

import numpy as np
import pytest

from deltagen.codegen.render import render, write_files
from deltagen.derive import derive, spec_from_dict

from c_harness import CNet, compile_c
from mp_conv_network import MpConvNet, layer_shapes, param_shapes

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")

SANITIZE = ("-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
HAS_SANITIZER = shutil.which("gcc") is not None and subprocess.run(
    ["gcc", "-fsanitize=address,undefined", "-x", "c", "-", "-o", "/dev/null"],
    input="int main(void){return 0;}", text=True, capture_output=True).returncode == 0

#: the issue's CNN
ISSUE_CNN = {"input": [1, 8, 8], "loss": "cce", "layers": [
    {"kind": "conv", "channels": 4, "kernel": 3, "activation": "relu"},
    {"kind": "pool", "mode": "max", "size": 2},
    {"units": 10, "activation": "softmax"}]}

NETS: dict[str, dict] = {
    "issue_cnn": ISSUE_CNN,
    "conv2d_s2_p1_tanh_avgpool_s1_sigmoid_bce_sum_l2": {
        "input": [2, 5, 5], "loss": "bce", "reduction": "sum", "l2": 0.1, "layers": [
            {"kind": "conv", "channels": 3, "kernel": 3, "stride": 2, "padding": 1, "activation": "tanh"},
            {"kind": "pool", "mode": "average", "size": 2, "stride": 1},
            {"units": 2, "activation": "sigmoid"}]},
    "conv1d_s2_p1_sigmoid_maxpool_half_sse": {
        "input": [2, 9], "loss": "half_sse", "layers": [
            {"kind": "conv", "channels": 3, "kernel": 3, "stride": 2, "padding": 1, "activation": "sigmoid"},
            {"kind": "pool", "mode": "max", "size": 2},
            {"units": 2, "activation": "identity"}]},
    "conv1d_s1_p0_nobias_leaky_avgpool_s2_mse_input_layer_1": {
        "input": [1, 8], "loss": "mse", "notation": {"input_layer": 1}, "layers": [
            {"kind": "conv", "channels": 2, "kernel": 2, "activation": "leaky_relu", "bias": False},
            {"kind": "pool", "mode": "average", "size": 3, "stride": 2},
            {"units": 2, "activation": "tanh"}]},
    "conv_dense_rect_kernel_stride_padding_l2": {
        "input": [2, 4, 5], "loss": "half_sse", "reduction": "sum", "l2": 0.05, "layers": [
            {"kind": "conv", "channels": 2, "kernel": [2, 3], "stride": [1, 2], "padding": [1, 0],
             "activation": "relu"},
            {"units": 3, "activation": "tanh"},
            {"units": 2, "activation": "identity"}]},
    "conv_conv_maxpool_s1_dense": {
        "input": [1, 7, 7], "loss": "cce", "layers": [
            {"kind": "conv", "channels": 2, "kernel": 3, "stride": 2, "activation": "sigmoid"},
            {"kind": "conv", "channels": 3, "kernel": 2, "padding": 1, "activation": "relu"},
            {"kind": "pool", "mode": "max", "size": 2, "stride": 1},
            {"units": 3, "activation": "softmax"}]},
    "pool_first_then_conv_s2_p1_dense": {
        "input": [2, 6, 6], "loss": "half_sse", "layers": [
            {"kind": "pool", "mode": "max", "size": 2, "stride": 1},
            {"kind": "conv", "channels": 2, "kernel": 3, "stride": 2, "padding": 1, "activation": "tanh"},
            {"units": 2, "activation": "identity"}]},
}


def trace_reals(spec: dict) -> int:
    """z, a and δ of every layer, plus the first-maximum mask of a max-pool layer (one real per window entry)."""
    total = 0
    for layer, shape in zip(spec["layers"], layer_shapes(spec)):
        total += (5 if layer.get("dropout") else 3) * math.prod(shape)   # dropout: its mask D and kept h
        if layer.get("kind") == "pool" and layer.get("mode", "max") == "max":
            size = layer["size"]
            total += math.prod(shape) * (size ** (len(shape) - 1) if isinstance(size, int) else math.prod(size))
    return total


class Built:
    """One spec rendered to C and compiled in double and float."""

    def __init__(self, key: str, spec: dict, directory, extra: dict | None = None):
        self.spec = {"name": key, **spec, **(extra or {})}
        self.network = spec_from_dict(self.spec)
        write_files(render(derive(self.network), "c"), directory)
        self.directory, self.name = directory, key
        self.source = directory / f"{key}.c"
        self.shapes = param_shapes(self.spec)
        self.header = (directory / f"{key}.h").read_text(encoding="utf-8")
        buffers = tuple(re.findall(rf"^    {key}_params (\w+);$", self.header, re.M))
        first = self.spec.get("notation", {}).get("input_layer", 0)
        dropout = tuple(f"D{first + i}" for i, layer in enumerate(self.spec["layers"], 1) if layer.get("dropout"))
        common = dict(n_in=self.network.n_in, trace_reals=trace_reals(self.spec), state_buffers=buffers,
                      dropout_layers=dropout)
        self.c = CNet(compile_c([self.source], directory / f"lib{key}.so", key), key, self.shapes, **common)
        self.c_float = CNet(compile_c([self.source], directory / f"lib{key}_f.so", key, real="float"), key,
                            self.shapes, real="float", **common)
        self.mp = MpConvNet(self.spec)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    cache: dict[str, Built] = {}

    def get(key: str, spec: dict | None = None, extra: dict | None = None) -> Built:
        if key not in cache:
            cache[key] = Built(key, spec or NETS[key], tmp_path_factory.mktemp(key), extra)
        return cache[key]
    return get


def random_case(b: Built, m: int, seed: int):
    rng = np.random.default_rng(seed)
    params = {k: rng.normal(0, 0.5, shape) for k, shape in b.shapes.items()}
    X = rng.normal(0, 1.0, (b.network.n_in, m))
    n_out = b.network.sizes[-1]
    if b.spec["loss"] == "cce":
        Y = rng.dirichlet(np.ones(n_out), size=m).T
    elif b.spec["loss"] == "bce":
        Y = rng.uniform(0, 1, (n_out, m))
    else:
        Y = rng.normal(0, 1, (n_out, m))
    return params, X, Y


def close(actual, expected, rtol):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("key", list(NETS))
@pytest.mark.parametrize("precision, rtol", [("double", 1e-12), ("float", 1e-4)])
def test_forward_cost_gradients_match_mpmath(built, key, precision, rtol):
    b = built(key)
    c = b.c if precision == "double" else b.c_float
    params, X, Y = random_case(b, 3, 7)
    if precision == "float":   # the reference sees the float-rounded numbers the C sees
        params = {k: np.asarray(v, np.float32).astype(float) for k, v in params.items()}
        X, Y = (np.asarray(a, np.float32).astype(float) for a in (X, Y))
    expected_out = b.mp.forward(params, X)
    for i in range(X.shape[1]):
        close(c.forward(params, X[:, i]), expected_out[:, i], rtol)
    close(c.cost(params, X, Y), float(b.mp.cost(params, X, Y)), rtol)
    grads, expected = c.gradients(params, X, Y), b.mp.gradients(params, X, Y)
    assert set(grads) == set(expected)
    for name in expected:
        close(grads[name], expected[name], rtol)
    for m in (1, 3):   # m = 1 is the fused step (each layer updated once δ below it is known)
        new = c.sgd_step(params, X[:, :m], Y[:, :m], 0.25)
        step = b.mp.gradients(params, X[:, :m], Y[:, :m])
        for name in expected:
            close(new[name], params[name] - 0.25 * step[name], rtol)


@pytest.mark.parametrize("key", list(NETS))
def test_strict_object_builds(built, key, tmp_path):
    b = built(key)
    compile_c([b.source], tmp_path / "d.o", key, flags=("-c",), shared=False)
    compile_c([b.source], tmp_path / "f.o", key, real="float", flags=("-c",), shared=False)


def test_max_pool_sends_delta_to_the_first_maximum_of_a_tie(built):
    """Equal entries in a window (exact ties): δ goes to the first in row-major order, as torch does."""
    spec = {"input": [1, 2, 4], "loss": "half_sse", "layers": [
        {"kind": "pool", "mode": "max", "size": 2},
        {"units": 1, "activation": "identity", "bias": False}]}
    b = built("tie_pool", spec)
    params = {"W2": np.array([[2.0, 3.0]])}
    X = np.array([[5.0, 5.0, 1.0, 7.0], [5.0, 5.0, 7.0, 7.0]]).reshape(8, 1)
    # z2 = (5, 7); the window of 5s sends its δ to its entry (0, 0), the 7s to (0, 3): by hand, ℓ = (10 + 21 − 0)²/2
    grads = b.c.gradients(params, X, np.zeros((1, 1)))
    assert grads["W2"].tolist() == [[31.0 * 5, 31.0 * 7]]
    assert b.c.cost(params, X, np.zeros((1, 1))) == 31.0 ** 2 / 2


def _splitmix64(seed: int):
    """The README's generator ("Random numbers"): uniforms (draw >> 11) / 2^53."""
    state, mask = seed & (2 ** 64 - 1), 2 ** 64 - 1
    while True:
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        yield ((z ^ (z >> 31)) >> 11) / 2.0 ** 53


def test_init_params_draws_conv_weights_in_c_order_with_torch_fans(built):
    b = built("conv_conv_maxpool_s1_dense")
    params = b.c.init_params(5)
    draws = _splitmix64(5)
    fans = {"W1": (1 * 9, 2 * 9), "W2": (2 * 4, 3 * 4), "W4": (3 * 3 * 3, 3)}   # (C_in·k², C_out·k²); dense (n_in, n)
    for name in ("W1", "W2", "W4"):   # layer by layer, each in C order; the pool layer 3 draws nothing
        r = math.sqrt(6 / sum(fans[name]))   # glorot_uniform
        expected = np.array([r * (2 * next(draws) - 1) for _ in range(params[name].size)]).reshape(params[name].shape)
        assert np.array_equal(params[name], expected), name
    for name in ("b1", "b2", "b4"):
        assert not params[name].any()


OPTIMIZERS = {"sgd": {}, "momentum": {"momentum": 0.8, "dampening": 0.1}, "nesterov": {"momentum": 0.7},
              "adagrad": {"epsilon": 1e-6}, "rmsprop": {"alpha": 0.9}, "adam": {"beta1": 0.8, "beta2": 0.95}}


def _rule(kind: str, settings: dict, lr: float, theta, g, state: dict, t: int):
    """One step of the README's table (torch.optim's rules), in NumPy."""
    s = {**{"momentum": 0.9, "dampening": 0.0, "epsilon": {"adagrad": 1e-10}.get(kind, 1e-8), "alpha": 0.99,
            "beta1": 0.9, "beta2": 0.999}, **settings}
    if kind == "sgd":
        return theta - lr * g
    if kind == "momentum":
        state["momentum_buffer"] = s["momentum"] * state["momentum_buffer"] + (1 - s["dampening"]) * g
        return theta - lr * state["momentum_buffer"]
    if kind == "nesterov":
        state["momentum_buffer"] = s["momentum"] * state["momentum_buffer"] + g
        return theta - lr * (g + s["momentum"] * state["momentum_buffer"])
    if kind == "adagrad":
        state["sum"] = state["sum"] + g * g
        return theta - lr * g / (np.sqrt(state["sum"]) + s["epsilon"])
    if kind == "rmsprop":
        state["square_avg"] = s["alpha"] * state["square_avg"] + (1 - s["alpha"]) * g * g
        return theta - lr * g / (np.sqrt(state["square_avg"]) + s["epsilon"])
    state["exp_avg"] = s["beta1"] * state["exp_avg"] + (1 - s["beta1"]) * g
    state["exp_avg_sq"] = s["beta2"] * state["exp_avg_sq"] + (1 - s["beta2"]) * g * g
    m_hat, v_hat = state["exp_avg"] / (1 - s["beta1"] ** t), state["exp_avg_sq"] / (1 - s["beta2"] ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + s["epsilon"])


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_every_optimizer_updates_conv_weights_by_its_rule(built, kind):
    extra = {"optimizer": {"kind": kind, "learning_rate": 0.05, **OPTIMIZERS[kind]}}
    b = built(f"opt_{kind}", NETS["conv1d_s2_p1_sigmoid_maxpool_half_sse"], extra)
    params, X, Y = random_case(b, 2, 3)
    state = b.c.init_state()
    assert state["step"] == 0 and state["learning_rate"] == 0.05
    expected_params = {k: v.copy() for k, v in params.items()}
    expected_state = {k: {buffer: np.zeros(shape) for buffer in b.c.state_buffers} for k, shape in b.shapes.items()}
    rng = np.random.default_rng(1)
    for t in (1, 2, 3):
        grads = {k: rng.normal(0, 1, shape) for k, shape in b.shapes.items()}
        params, state = b.c.update(params, grads, state)
        for k in b.shapes:
            expected_params[k] = _rule(kind, OPTIMIZERS[kind], 0.05, expected_params[k], grads[k], expected_state[k], t)
            close(params[k], expected_params[k], 1e-13)
            for buffer in b.c.state_buffers:
                close(state[buffer][k], expected_state[k][buffer], 1e-13)
    assert state["step"] == 3
    # train_step = gradients of the batch, then update
    start = b.c.init_state()
    trained, after = b.c.train_step(params, start, X, Y)
    by_hand, _ = b.c.update(params, b.c.gradients(params, X, Y), b.c.init_state())
    for k in b.shapes:
        np.testing.assert_array_equal(trained[k], by_hand[k])


def test_dense_dropout_after_conv_trains_and_gradients_match(built):
    spec = {**NETS["conv_dense_rect_kernel_stride_padding_l2"], "layers": [
        {"kind": "conv", "channels": 2, "kernel": 3, "padding": 1, "activation": "relu"},
        {"units": 4, "activation": "tanh", "dropout": 0.5}, {"units": 2, "activation": "identity"}]}
    b = built("conv_dropout", spec)
    params, X, Y = random_case(b, 3, 4)
    grads, expected = b.c.gradients(params, X, Y), b.mp.gradients(params, X, Y)   # no dropout outside training
    for k in expected:
        close(grads[k], expected[k], 1e-12)
    state = {"step": 0, "learning_rate": 0.1, "rng": b.c.rng_state(0)}
    new, _ = b.c.train_step(params, state, X, Y)
    assert all(np.isfinite(v).all() for v in new.values()) and any((new[k] != params[k]).any() for k in params)


def test_issue_cnn_learns_with_train_step(built):
    b = built("issue_cnn_adam", ISSUE_CNN, {"optimizer": {"kind": "adam", "learning_rate": 0.02}})
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (64, 20))
    Y = np.eye(10)[:, rng.integers(0, 10, 20)]
    params, state = b.c.init_params(0), b.c.init_state()
    before = b.c.cost(params, X, Y)
    for _ in range(40):
        params, state = b.c.train_step(params, state, X, Y)
    after = b.c.cost(params, X, Y)
    assert state["step"] == 40
    assert after < 0.5 * before, (before, after)
    close(after, float(b.mp.cost(params, X, Y)), 1e-12)


DRIVER = r"""
#include <stdio.h>
#include <string.h>
#include "{name}.h"
#define MAX_M 4
static {name}_workspace work;   /* static: the caller places it */
static void show(const {name}_params *q)
{{
    {name}_real flat[{name}_N_PARAMS];
    memcpy(flat, q, sizeof flat);
    for (int k = 0; k < {name}_N_PARAMS; ++k) printf("%.17g\n", (double)flat[k]);
}}
int main(void)
{{
    {name}_real X[MAX_M * {name}_N_IN], Y[MAX_M * {name}_N_OUT], out[{name}_N_OUT];
    {name}_params p, grad;
    {name}_state s;
    int m;
    if (sizeof(p) != sizeof(flat_size_check)) return 3;
    if (scanf("%d", &m) != 1 || m > MAX_M) return 2;
    for (int k = 0; k < m * {name}_N_IN; ++k) if (scanf("%lf", &X[k]) != 1) return 2;
    for (int k = 0; k < m * {name}_N_OUT; ++k) if (scanf("%lf", &Y[k]) != 1) return 2;
    {name}_init_params(&p, 3);
    for (int i = 0; i < m; ++i) {{
        {name}_forward(&p, X + i * {name}_N_IN, out);
        for (int k = 0; k < {name}_N_OUT; ++k) printf("%.17g\n", out[k]);
    }}
    printf("%.17g\n", {name}_cost(&p, m, X, Y));
    {name}_gradients(&p, m, X, Y, &grad);
    show(&grad);
    {name}_sgd_step(&p, 1, X, Y, 0.25);
    {name}_sgd_step(&p, m, X, Y, 0.25);
    show(&p);
    {name}_state_init(&s);
    {name}_train_step(&p, &s, &work, m, X, Y);
    {name}_update(&p, &grad, &s);
    show(&p);
    return 0;
}}
"""


@pytest.mark.skipif(not HAS_SANITIZER, reason="gcc has no sanitizer runtime")
@pytest.mark.parametrize("key", ["issue_cnn", "conv2d_s2_p1_tanh_avgpool_s1_sigmoid_bce_sum_l2",
                                 "conv1d_s2_p1_sigmoid_maxpool_half_sse", "conv_conv_maxpool_s1_dense",
                                 "pool_first_then_conv_s2_p1_dense"])
def test_sanitizer_run_is_clean_and_agrees(built, key, tmp_path):
    b = built(key)
    n_params = sum(math.prod(s) for s in b.shapes.values())
    driver = DRIVER.format(name=key).replace("sizeof(flat_size_check)", f"{n_params} * sizeof({key}_real)")
    (tmp_path / "driver.c").write_text(driver)
    (tmp_path / f"{key}.h").write_text(b.header, encoding="utf-8")
    binary = compile_c([tmp_path / "driver.c", b.source], tmp_path / "driver", key, flags=SANITIZE, shared=False)
    _, X, Y = random_case(b, 3, 9)
    text = "3\n" + "\n".join(repr(float(v)) for v in np.concatenate([X.T.ravel(), Y.T.ravel()])) + "\n"
    run = subprocess.run([str(binary)], input=text, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "runtime error" not in run.stderr and "Sanitizer" not in run.stderr, run.stderr
    values = np.array([float(v) for v in run.stdout.split()])
    params = b.c.init_params(3)
    flat = lambda d: np.concatenate([np.asarray(d[k]).ravel() for k in b.shapes])   # noqa: E731
    outputs = np.concatenate([b.c.forward(params, X[:, i]) for i in range(3)])
    stepped = b.c.sgd_step(b.c.sgd_step(params, X[:, :1], Y[:, :1], 0.25), X, Y, 0.25)
    expected = np.concatenate([outputs, [b.c.cost(params, X, Y)], flat(b.c.gradients(params, X, Y)), flat(stepped)])
    assert values.size == expected.size + n_params
    np.testing.assert_allclose(values[:expected.size], expected, rtol=1e-13, atol=1e-15)


def test_train_step_and_update_stack_is_small_for_a_large_cnn(tmp_path):
    """An MNIST-sized CNN (a 43 k-real trace): train_step, update and everything they call stay under 16 KiB."""
    spec = {"name": "big_cnn", "input": [1, 28, 28], "loss": "cce", "layers": [
        {"kind": "conv", "channels": 8, "kernel": 3, "padding": 1, "activation": "relu"},
        {"kind": "pool", "mode": "max", "size": 2},
        {"kind": "conv", "channels": 8, "kernel": 3, "activation": "relu"},
        {"units": 10, "activation": "softmax"}]}
    write_files(render(derive(spec_from_dict(spec)), "c"), tmp_path)
    compile_c([tmp_path / "big_cnn.c"], tmp_path / "big.o", "big_cnn", flags=("-c", "-fstack-usage"), shared=False)
    usage = {}
    for line in (tmp_path / "big.su").read_text().splitlines():
        where, size, _ = line.split("\t")
        usage[where.rsplit(":", 1)[-1]] = int(size)
    holders = {"big_cnn_forward", "big_cnn_cost", "big_cnn_gradients", "big_cnn_sgd_step"}   # a trace on the stack
    assert usage["big_cnn_gradients"] > 16 * 1024   # the header's "Stack: one big_cnn_trace" is real
    assert sum(size for fn, size in usage.items() if fn not in holders) <= 16 * 1024, usage
