"""The generated NumPy module and the generated C of conv nets compute the same numbers (issue 15).

Each is checked against the independent mpmath reference elsewhere (tests/test_numpy_conv.py,
tests/test_c_conv.py); here they are held to each other, much tighter: forward, cost, every gradient and
the SGD step to 1e-13 of the largest entry, and the issue's CNN trained from the same spec in both — the same
initial weights bit for bit, then 30 Adam steps on mini-batches with the same numbers at every step.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import import_file
from deltagen.codegen.render import render, write_files
from deltagen.derive import derive, spec_from_dict
from test_c_conv import ISSUE_CNN, NETS, random_case

TIGHT = 1e-13


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    from test_c_conv import Built
    cache: dict = {}

    def get(key: str, spec: dict, extra: dict | None = None):
        if key not in cache:
            directory = tmp_path_factory.mktemp(key)
            b = Built(key, spec, directory, extra)
            write_files(render(derive(spec_from_dict(b.spec)), "numpy"), directory)
            cache[key] = (b, import_file(directory / f"{key}.py"))
        return cache[key]
    return get


def _same(c_value, numpy_value, what: str) -> None:
    c_value, numpy_value = np.asarray(c_value, float), np.asarray(numpy_value, float)
    scale = max(1.0, float(np.abs(numpy_value).max()))
    np.testing.assert_allclose(c_value.reshape(numpy_value.shape), numpy_value, rtol=0, atol=TIGHT * scale,
                               err_msg=what)


@pytest.mark.parametrize("key", sorted(NETS))
def test_numpy_and_c_agree_to_1e13(both, key):
    b, module = both(key, NETS[key])
    params, X, Y = random_case(b, 3, seed=sorted(NETS).index(key) + 40)
    _same(b.c.forward(params, X[:, 0]), module.forward(params, X[:, 0]), "forward")
    _same(b.c.cost(params, X, Y), module.cost(params, X, Y), "cost")
    c_grads, numpy_grads = b.c.gradients(params, X, Y), module.gradients(params, X, Y)
    for name in numpy_grads:
        _same(c_grads[name], numpy_grads[name], f"d{name}")
    c_step, numpy_step = b.c.sgd_step(params, X, Y, 0.3), module.sgd_step(params, X, Y, 0.3)
    for name in numpy_step:
        _same(c_step[name], numpy_step[name], f"{name} after a step")


def test_the_issues_cnn_trains_in_numpy_and_c_with_the_same_numbers(both):
    """[1, 8, 8] → conv 4×3×3 relu → max pool 2 → dense 10 softmax + cce, Adam, from init_params(5)."""
    b, module = both("issue_cnn_adam_both", ISSUE_CNN, {"optimizer": {"kind": "adam", "learning_rate": 0.01}})
    c_params, numpy_params = b.c.init_params(5), module.init_params(5)
    for name in numpy_params:          # the same generator, the same draws: identical doubles
        assert np.array_equal(c_params[name].reshape(numpy_params[name].shape), numpy_params[name]), name
    rng = np.random.default_rng(8)
    X = rng.uniform(0, 1, (64, 48))
    Y = np.eye(10)[:, rng.integers(0, 10, 48)]
    c_state, numpy_state = b.c.init_state(), module.init_state(numpy_params)
    costs = []
    for step in range(30):
        batch = slice(16 * (step % 3), 16 * (step % 3) + 16)
        c_params, c_state = b.c.train_step(c_params, c_state, X[:, batch], Y[:, batch])
        numpy_params, numpy_state = module.train_step(numpy_params, numpy_state, X[:, batch], Y[:, batch])
        for name in numpy_params:
            _same(c_params[name], numpy_params[name], f"{name} after step {step + 1}")
        costs.append(module.cost(numpy_params, X, Y))
        _same(b.c.cost(c_params, X, Y), costs[-1], f"cost after step {step + 1}")
    assert c_state["step"] == numpy_state["step"] == 30
    assert costs[-1] < 0.95 * module.cost(module.init_params(5), X, Y)     # it learns (random labels: slowly)
