"""train updates its own copy of the params in place (issue 17, item 4): the same numbers, bit for bit.

The reference is the public step chained by hand: train(..., batch_size=1) must equal a loop of sgd_step (sgd)
or train_step (the other optimizers) over the columns, with exact equality (np.array_equal), since the in-place
step does the same operations on the same operands. sgd_step and train_step keep their inputs unmodified.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import import_file
from deltagen.codegen import render, write_files
from deltagen.derive import derive, spec_from_dict

KINDS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
RNG = np.random.default_rng(4)
X = RNG.standard_normal((6, 7))
Y = np.eye(3)[:, RNG.integers(0, 3, 7)]


def net(name: str, kind: str, **extra) -> dict:
    optimizer = {"kind": kind, "learning_rate": 0.05}
    if kind in ("momentum", "nesterov"):
        optimizer["momentum"] = 0.9
    hidden = extra.pop("hidden", {})
    return {"name": name, "input": 6, "loss": "cce", "optimizer": optimizer, **extra,
            "layers": [{"units": 5, "activation": "sigmoid", **hidden},
                       {"units": 3, "activation": "softmax"}]}


def generate(tmp_path_factory, spec: dict):
    out = tmp_path_factory.mktemp(spec["name"])
    write_files(render(derive(spec_from_dict(spec)), "numpy"), out)
    return import_file(out / f"{spec['name']}.py")


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    return {kind: generate(tmp_path_factory, net(f"inplace_{kind}", kind)) for kind in KINDS}


def start(module) -> dict:
    # nonzero biases too, so that a bias update done wrong shows
    return {key: value + 0.01 * np.arange(value.size).reshape(value.shape)
            for key, value in module.init_params(3).items()}


def chained(module, params: dict, epochs: int, masks_for=None) -> dict:
    """train(params, X, Y, None, epochs, batch_size=1) by hand, one public step per column."""
    kind = module.OPTIMIZER["kind"]
    state = module.init_state(params)
    for epoch in range(epochs):
        rate = module.learning_rate_at(epoch)
        state["learning_rate"] = rate
        for i in range(X.shape[1]):
            masks = masks_for() if masks_for else None
            if kind == "sgd":
                params = module.sgd_step(params, X[:, i:i + 1], Y[:, i:i + 1], rate, masks)
            else:
                params, state = module.train_step(params, state, X[:, i:i + 1], Y[:, i:i + 1], masks)
    return params


def assert_identical(ours: dict, reference: dict) -> None:
    assert set(ours) == set(reference)
    for key in reference:
        assert np.array_equal(ours[key], reference[key]), (key, np.max(np.abs(ours[key] - reference[key])))


@pytest.mark.parametrize("kind", KINDS)
def test_train_is_the_chain_of_public_steps_bit_for_bit(modules, kind):
    module = modules[kind]
    params = start(module)
    before = {key: value.copy() for key, value in params.items()}
    trained, costs = module.train(params, X, Y, None, 3, batch_size=1)
    assert_identical(trained, chained(module, params, 3))
    assert_identical(params, before)   # the caller's dict and arrays are untouched
    for key in params:
        assert not np.shares_memory(trained[key], params[key])
    assert len(costs) == 3 and costs[-1] < module.cost(params, X, Y)   # and it did train


@pytest.mark.parametrize("kind", KINDS)
def test_the_in_place_step_is_the_one_train_uses(modules, kind):
    """The rewrite applies to these nets (not the fallback to the public steps), so the test above checks it."""
    source = open(modules[kind].__file__).read()
    assert ("_sgd_step_in_place(current" if kind == "sgd" else "_update_in_place(current") in source


@pytest.mark.parametrize("kind", ("sgd", "adam"))
def test_with_l2_and_mini_batches_train_is_still_the_chain(tmp_path_factory, kind):
    module = generate(tmp_path_factory, net(f"inplace_l2_{kind}", kind, l2=0.01))
    if kind == "sgd":   # (1 − η λ)·W first, then the product term: in place, in that order
        assert "_sgd_step_in_place(current" in open(module.__file__).read()
    params = start(module)
    trained, _ = module.train(params, X, Y, None, 2, batch_size=1)
    assert_identical(trained, chained(module, params, 2))
    # batches of 3 (the last one of 1): the chain over slices
    trained, _ = module.train(params, X, Y, None, 1, batch_size=3)
    state, reference = module.init_state(params), params
    for s in (slice(0, 3), slice(3, 6), slice(6, 7)):
        if kind == "sgd":
            reference = module.sgd_step(reference, X[:, s], Y[:, s], 0.05)
        else:
            reference, state = module.train_step(reference, state, X[:, s], Y[:, s])
    assert_identical(trained, reference)


def test_with_dropout_train_uses_the_masks_the_generator_draws(tmp_path_factory):
    module = generate(tmp_path_factory, net("inplace_dropout", "sgd", hidden={"dropout": 0.3}))
    params = start(module)
    trained, _ = module.train(params, X, Y, None, 2, batch_size=1)
    generator = module.SplitMix64(0, skip=module.INIT_DRAWS)   # train's stream without a seed (its docstring)
    assert_identical(trained, chained(module, params, 2, lambda: module.draw_masks(generator, 1)))


def test_steps_leave_their_inputs_alone(modules):
    for kind, module in modules.items():
        params = start(module)
        copies = ({k: v.copy() for k, v in params.items()}, X.copy(), Y.copy())
        module.sgd_step(params, X, Y, 0.1)
        state = module.init_state(params)
        state_copy = {k: ({n: a.copy() for n, a in v.items()} if isinstance(v, dict) else v) for k, v in state.items()}
        new_params, new_state = module.train_step(params, state, X, Y)
        assert_identical(params, copies[0])
        assert np.array_equal(X, copies[1]) and np.array_equal(Y, copies[2])
        assert state["step"] == state_copy["step"] == 0 and new_state["step"] == 1
        for key in state:
            if isinstance(state[key], dict):
                assert_identical(state[key], state_copy[key])
                for name in state[key]:
                    assert not np.shares_memory(new_state[key][name], state[key][name])
        for key in params:
            assert not np.shares_memory(new_params[key], params[key])


def test_sgd_step_is_theta_minus_rate_times_an_independent_gradient(modules):
    """sgd_step against a plain NumPy backprop written here (sigmoid, softmax + mean cce): to rounding."""
    module = modules["sgd"]
    p = start(module)
    m = X.shape[1]
    a1 = 1 / (1 + np.exp(-(p["W1"] @ X + p["b1"])))
    z2 = p["W2"] @ a1 + p["b2"]
    a2 = np.exp(z2 - z2.max(axis=0)) / np.exp(z2 - z2.max(axis=0)).sum(axis=0)
    d2 = (a2 - Y) / m
    d1 = (p["W2"].T @ d2) * a1 * (1 - a1)
    grads = {"W1": d1 @ X.T, "b1": d1.sum(axis=1, keepdims=True), "W2": d2 @ a1.T, "b2": d2.sum(axis=1, keepdims=True)}
    new = module.sgd_step(p, X, Y, 0.1)
    for key in p:
        np.testing.assert_allclose(new[key], p[key] - 0.1 * grads[key], rtol=1e-12, atol=1e-15)
