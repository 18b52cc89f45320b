"""``deltagen generate SPEC --target c --python``: NAME_c.py has the NumPy module's API, backed by the compiled C.

Every function is compared with the generated NumPy module (an independent implementation: NumPy array
formulas against the C's loops) on random params and data, to 1e-13; init_params bit for bit."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, import_file
from deltagen import generate
from deltagen.derive import spec_from_dict

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler")

SPECS = {
    "lecture_adam_xor": ROOT / "generated" / "lecture_adam_xor" / "spec.toml",
    "lecture_momentum_231": ROOT / "generated" / "lecture_momentum_231" / "spec.toml",
    "lecture_softmax_tanh": ROOT / "generated" / "lecture_softmax_tanh" / "spec.toml",
    "lecture_conv_exercise": ROOT / "generated" / "lecture_conv_exercise" / "spec.toml",
    # wide enough to be looped and tiled in C, rmsprop with a decaying rate and L2
    "wide_rmsprop": spec_from_dict({
        "name": "wide_rmsprop", "input": 40, "loss": "cce", "l2": 0.01, "layers": [
            {"units": 24, "activation": "relu"}, {"units": 12, "activation": "tanh"},
            {"units": 5, "activation": "softmax"}],
        "optimizer": {"kind": "rmsprop", "learning_rate": 0.01,
                      "decay": {"kind": "exponential", "rate": 0.9}}}),
}


@pytest.fixture(scope="module", params=sorted(SPECS))
def pair(request, tmp_path_factory):
    """(the NumPy module, the C-backed module) of one spec, the library compiled into a fresh cache."""
    folder = tmp_path_factory.mktemp(request.param)
    generate(SPECS[request.param], "numpy", out=folder / "numpy")
    files = generate(SPECS[request.param], "c", out=folder / "c", python=True)
    assert sorted(files) == sorted(f"{request.param}{suffix}" for suffix in (".h", ".c", "_c.py"))
    patch = pytest.MonkeyPatch()
    patch.setenv("DELTAGEN_CACHE", str(folder / "cache"))
    try:
        wrapped = import_file(folder / "c" / f"{request.param}_c.py")
    finally:
        patch.undo()
    return import_file(folder / "numpy" / f"{request.param}.py"), wrapped


def _data(module, m: int, seed: int):
    rng = np.random.default_rng(seed)
    n_in, n_out = module.LAYER_SIZES[0], module.LAYER_SIZES[-1]
    X = rng.normal(size=(n_in, m))
    if module.LOSS in ("cce", "bce"):
        Y = np.eye(n_out)[:, rng.integers(0, n_out, size=m)] if n_out > 1 else rng.integers(0, 2, (1, m)) * 1.0
    else:
        Y = rng.normal(size=(n_out, m))
    return X, Y


def _close(a, b, tol=1e-13):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _close(a[key], b[key], tol)
        return
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_the_constants_are_the_numpy_modules(pair):
    numpy_module, c_module = pair
    for name in ("LAYER_SIZES", "INPUT_SHAPE", "ACTIVATIONS", "LOSS", "REDUCTION", "PARAM_SHAPES", "OPTIMIZER",
                 "INIT_DRAWS"):
        assert getattr(c_module, name) == getattr(numpy_module, name), name


def test_init_params_is_the_same_doubles(pair):
    numpy_module, c_module = pair
    for seed in (0, 1, 2**64 - 1):
        expected, got = numpy_module.init_params(seed), c_module.init_params(seed)
        for key in expected:
            assert np.array_equal(got[key], expected[key]), key


@pytest.mark.parametrize("m", [1, 3, 70])
def test_forward_cost_gradients_and_sgd_step_agree(pair, m):
    numpy_module, c_module = pair
    params = numpy_module.init_params(5)
    params = {key: value + 0.1 * np.random.default_rng(9).normal(size=value.shape) for key, value in params.items()}
    X, Y = _data(numpy_module, m, m)
    _close(c_module.forward(params, X), numpy_module.forward(params, X))
    _close(c_module.forward(params, X[:, 0]), numpy_module.forward(params, X[:, 0]))
    assert c_module.cost(params, X, Y) == pytest.approx(numpy_module.cost(params, X, Y), rel=1e-13)
    _close(c_module.gradients(params, X, Y), numpy_module.gradients(params, X, Y))
    _close(c_module.sgd_step(params, X, Y, 0.3), numpy_module.sgd_step(params, X, Y, 0.3))


def test_update_and_train_step_carry_the_same_state(pair):
    numpy_module, c_module = pair
    params = numpy_module.init_params(2)
    X, Y = _data(numpy_module, 6, 4)
    learning_rate = numpy_module.OPTIMIZER["learning_rate"] or 0.05
    state_n, state_c = numpy_module.init_state(params, learning_rate), c_module.init_state(params, learning_rate)
    p_n = p_c = params
    for _ in range(3):
        p_n, state_n = numpy_module.train_step(p_n, state_n, X, Y)
        p_c, state_c = c_module.train_step(p_c, state_c, X, Y)
        _close(p_c, p_n, 1e-12)
    assert state_c["step"] == state_n["step"] == 3
    grads = numpy_module.gradients(p_n, X, Y)
    (u_n, s_n), (u_c, s_c) = numpy_module.update(p_n, grads, state_n), c_module.update(p_n, grads, state_n)
    _close(u_c, u_n, 1e-12)
    for key in s_n:
        if key != "step":
            _close(s_c[key], s_n[key], 1e-12)


@pytest.mark.parametrize("seed, batch_size", [(None, None), (7, 4)])
def test_train_gives_the_numpy_modules_run(pair, seed, batch_size):
    numpy_module, c_module = pair
    params = numpy_module.init_params(1)
    X, Y = _data(numpy_module, 10, 3)
    learning_rate = None if numpy_module.OPTIMIZER["learning_rate"] else 0.05
    expected, expected_costs = numpy_module.train(params, X, Y, learning_rate, 4, batch_size=batch_size, seed=seed)
    got, costs = c_module.train(params, X, Y, learning_rate, 4, batch_size=batch_size, seed=seed)
    _close(got, expected, 1e-11)
    np.testing.assert_allclose(costs, expected_costs, rtol=1e-12)
    assert [c_module.learning_rate_at(e, 0.5) for e in range(3)] == [numpy_module.learning_rate_at(e, 0.5)
                                                                     for e in range(3)]


def test_bad_arguments_get_the_numpy_modules_messages(pair):
    numpy_module, c_module = pair
    params = numpy_module.init_params(0)
    for call in (lambda m: m.forward(params, np.zeros((999, 2))), lambda m: m.gradients({}, [0.0], [0.0]),
                 lambda m: m.train(params, np.zeros((numpy_module.LAYER_SIZES[0], 2)),
                                   np.zeros((numpy_module.LAYER_SIZES[-1], 2)), 0.1, 1, batch_size=0)):
        with pytest.raises((ValueError, KeyError)) as expected:
            call(numpy_module)
        with pytest.raises(type(expected.value)) as got:
            call(c_module)
        assert str(got.value) == str(expected.value)


# ------------------------------------------------------------------ the cache, the command line
def _import_in_a_process(module: Path, cache: Path, compiler: str) -> subprocess.CompletedProcess:
    code = f"import sys; sys.path.insert(0, {str(module.parent)!r}); import {module.stem}; print('ok')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "DELTAGEN_CACHE": str(cache), "CC": compiler})


def test_the_library_is_compiled_once_and_again_when_the_c_changes(tmp_path):
    generate(SPECS["lecture_adam_xor"], "c", out=tmp_path, python=True)
    module, cache = tmp_path / "lecture_adam_xor_c.py", tmp_path / "cache"
    compiler = tmp_path / "bin" / "mycc"       # the system compiler under a name that can be taken away
    compiler.parent.mkdir()
    compiler.write_text(f'#!/bin/sh\nexec {shutil.which("cc") or shutil.which("gcc")} "$@"\n')
    compiler.chmod(0o755)
    first = _import_in_a_process(module, cache, str(compiler))
    assert first.returncode == 0, first.stderr
    assert len(list(cache.glob("lecture_adam_xor-*.so"))) == 1
    compiler.unlink()     # the same CC, gone: the cached library is used as it is
    again = _import_in_a_process(module, cache, str(compiler))
    assert again.returncode == 0 and again.stdout.strip() == "ok", again.stderr
    # a changed C source needs a new library: now the missing compiler is reported
    source = tmp_path / "lecture_adam_xor.c"
    source.write_text(source.read_text() + "\n/* changed */\n")
    changed = _import_in_a_process(module, cache, str(compiler))
    assert changed.returncode != 0
    assert f"ImportError: lecture_adam_xor_c: cannot run the C compiler '{compiler}'" in changed.stderr


def test_a_failing_compiler_is_reported_on_one_line(tmp_path):
    generate(SPECS["lecture_adam_xor"], "c", out=tmp_path, python=True)
    done = _import_in_a_process(tmp_path / "lecture_adam_xor_c.py", tmp_path / "cache", "false")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("ImportError: lecture_adam_xor_c: false -std=c99")


def test_the_command_line_writes_three_files_the_same_each_time(tmp_path):
    spec = SPECS["lecture_softmax_tanh"]
    runs = []
    for out in ("a", "b"):
        done = subprocess.run([sys.executable, "-m", "deltagen.cli", "generate", str(spec), "--target", "c",
                               "--python", "--out", str(tmp_path / out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        runs.append({p.name: p.read_bytes() for p in (tmp_path / out).iterdir()})
    assert sorted(runs[0]) == ["lecture_softmax_tanh.c", "lecture_softmax_tanh.h", "lecture_softmax_tanh_c.py"]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("arguments, message", [
    (["--target", "numpy", "--python"], "deltagen: --python: expected --target c, got --target numpy"),
    (["--target", "c", "--python"], ": layers[0].dropout: expected no dropout with --python"),
])
def test_what_python_cannot_wrap_is_refused_in_one_line(tmp_path, arguments, message):
    spec = tmp_path / "drop.toml"
    spec.write_text('name = "drop"\ninput = 2\nloss = "bce"\nlayers = [\n'
                    '  { units = 3, activation = "tanh", dropout = 0.2 },\n  { units = 1, activation = "sigmoid" },\n]\n')
    done = subprocess.run([sys.executable, "-m", "deltagen.cli", "generate", str(spec), *arguments,
                           "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
    assert not (tmp_path / "out").exists()
