"""The generated C: strict compilation, and agreement with the generated NumPy module through ctypes.

The NumPy modules are themselves checked against mpmath central differences and
the lectures (tests/test_lectures.py, tests/test_numerics.py); here the C must
give the same forward, cost, gradients and SGD step, to 1e-12 relative in double
and 1e-5 in float, on the lecture examples and on random architectures that
cover every activation and loss. A sanitizer build runs the same calls.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from deltagen.codegen.refresh import specs
from deltagen.codegen.render import render, write_files
from deltagen.derive import derive, load_spec, spec_from_dict

from c_harness import CNet, compile_c
from conftest import import_file

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")

RANDOM_CASES = {
    "tanh_sigmoid_bce_l2": {"input": 3, "loss": "bce", "l2": 0.01, "layers": [
        {"units": 4, "activation": "tanh"}, {"units": 2, "activation": "sigmoid"}]},
    "relu_softmax_cce_sum": {"input": 4, "loss": "cce", "reduction": "sum", "layers": [
        {"units": 5, "activation": "relu"}, {"units": 3, "activation": "softmax"}]},
    "leaky_identity_half_sse_nobias": {"input": 2, "loss": "half_sse", "layers": [
        {"units": 3, "activation": "leaky_relu", "alpha": 0.1, "bias": False}, {"units": 2, "activation": "identity"}]},
    "sigmoid_identity_logistic": {"input": 3, "loss": "logistic", "layers": [
        {"units": 2, "activation": "sigmoid"}, {"units": 2, "activation": "identity"}]},
    "tanh_tanh_hinge": {"input": 2, "loss": "hinge", "layers": [
        {"units": 3, "activation": "tanh"}, {"units": 1, "activation": "tanh"}]},
    "custom_sigmoid_mse": {"input": 2, "loss": "mse", "layers": [
        {"units": 3, "activation": "2*z"}, {"units": 2, "activation": "sigmoid"}]},
    "softplus_identity_mse": {"input": 2, "loss": "mse", "layers": [
        {"units": 3, "activation": "log(1 + exp(z))"}, {"units": 1, "activation": "identity"}]},
    "single_layer_softmax_cce": {"input": 3, "loss": "cce", "layers": [{"units": 4, "activation": "softmax"}]},
    # more than 9 units: SymPy orders z_10 before z_2, which once broke the NumPy softmax
    "wide_softmax_cce": {"input": 3, "loss": "cce", "layers": [{"units": 12, "activation": "softmax"}]},
    "loops_sigmoid_softmax_half_sse": {"input": 3, "loss": "half_sse", "layers": [
        {"units": 20, "activation": "sigmoid"}, {"units": 5, "activation": "softmax"}]},
    "loops_relu_tanh_softmax_cce_l2": {"input": 8, "loss": "cce", "l2": 0.001, "layers": [
        {"units": 20, "activation": "relu"}, {"units": 10, "activation": "tanh"}, {"units": 3, "activation": "softmax"}]},
    "loops_sigmoid_sigmoid_bce_sum": {"input": 6, "loss": "bce", "reduction": "sum", "layers": [
        {"units": 12, "activation": "sigmoid"}, {"units": 4, "activation": "sigmoid"}]},
}


def random_data(network, m: int, seed: int):
    """Random weights, inputs, and targets valid for the loss."""
    rng = np.random.default_rng(seed)
    d = derive(network)   # only for the layer numbers and widths: nothing is derived here
    params = {}
    for layer in d.layer_numbers:
        kind = d.layer(layer)
        if kind.kind == "pool":          # no parameters
            continue
        rows = kind.channels if kind.kind == "conv" else d.width(layer)
        shape = kind.weight_shape if kind.kind == "conv" else (rows, d.width(layer - 1))
        params[f"W{layer}"] = rng.normal(0, 0.8, shape)
        if kind.bias:
            params[f"b{layer}"] = rng.normal(0, 0.5, (rows, 1))
    X = rng.normal(0, 1.0, (network.n_in, m))
    n_out = d.width(d.last)
    loss = network.loss.name
    if loss == "bce":
        Y = rng.uniform(0, 1, (n_out, m))
    elif loss == "cce":
        Y = rng.dirichlet(np.ones(n_out), size=m).T
    elif loss in ("logistic", "hinge"):
        Y = rng.choice([-1.0, 1.0], size=(n_out, m))
    else:
        Y = rng.normal(0, 1, (n_out, m))
    return params, X, Y


class Built:
    """A spec generated to both targets, the C compiled in double and float."""

    def __init__(self, network, directory):
        derivation = derive(network)
        files = {**render(derivation, "numpy"), **render(derivation, "c")}
        write_files(files, directory)
        name = network.name
        self.network = network
        self.numpy = import_file(directory / f"{name}.py")
        shapes = dict(self.numpy.PARAM_SHAPES)
        source = directory / f"{name}.c"
        self.c = CNet(compile_c([source], directory / f"lib{name}.so", name), name, shapes, n_in=network.n_in)
        self.c_float = CNet(compile_c([source], directory / f"lib{name}_float.so", name, real="float"),
                            name, shapes, real="float", n_in=network.n_in)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    cache = {}

    def get(key):
        if key not in cache:
            directory = tmp_path_factory.mktemp(key)
            if key in RANDOM_CASES:
                network = spec_from_dict({"name": key, **RANDOM_CASES[key]})
            else:
                network = load_spec(next(s for s in specs() if s.parent.name == key))
            cache[key] = Built(network, directory)
        return cache[key]
    return get


LECTURES = [s.parent.name for s in specs()]
ALL_CASES = LECTURES + list(RANDOM_CASES)


def close(actual, expected, rtol):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def cases_data(b: Built):
    """(params, X, Y) for the checks: the lecture's example where there is one, and random data."""
    out = []
    example = b.network.example
    if example is not None:
        out.append((example.params(b.network.notation), example.X, example.Y))
    for seed, m in ((1, 1), (2, 5)):
        out.append(random_data(b.network, m, seed))
    return out


@pytest.mark.parametrize("key", ALL_CASES)
@pytest.mark.parametrize("precision, rtol", [("double", 1e-12), ("float", 1e-5)])
def test_c_agrees_with_numpy(built, key, precision, rtol):
    b = built(key)
    c = b.c if precision == "double" else b.c_float
    for params, X, Y in cases_data(b):
        if precision == "float":   # the reference is the NumPy module on the same float32-rounded inputs
            params = {k: np.asarray(v, np.float32).astype(np.float64) for k, v in params.items()}
            X, Y = (np.asarray(a, np.float32).astype(np.float64) for a in (X, Y))
        X, Y = np.asarray(X, float), np.asarray(Y, float)
        for i in range(X.shape[1]):
            close(c.forward(params, X[:, i]), b.numpy.forward(params, X[:, i]), rtol)
        close(c.cost(params, X, Y), b.numpy.cost(params, X, Y), rtol)
        c_grads, np_grads = c.gradients(params, X, Y), b.numpy.gradients(params, X, Y)
        for key_ in np_grads:
            close(c_grads[key_], np_grads[key_], rtol)
        for m in sorted({1, X.shape[1]}):   # m = 1 takes the fused path, m > 1 the gradient buffer
            c_new = c.sgd_step(params, X[:, :m], Y[:, :m], 0.25)
            np_new = b.numpy.sgd_step(params, X[:, :m], Y[:, :m], 0.25)
            for key_ in np_new:
                close(c_new[key_], np_new[key_], rtol)


@pytest.mark.parametrize("key", ALL_CASES)
def test_every_generated_file_compiles_strictly(built, key, tmp_path):
    """Compiling as an object file, double and float, with -Werror (the library builds above link too)."""
    b = built(key)
    name = b.network.name
    source = next(p for p in tmp_path.parent.glob(f"{key}*/{name}.c"))
    compile_c([source], tmp_path / "double.o", name, flags=("-c",), shared=False)
    compile_c([source], tmp_path / "float.o", name, real="float", flags=("-c",), shared=False)


def test_empty_batch_is_harmless(built):
    b = built("lecture_xor")
    params, X, Y = random_data(b.network, 3, 4)
    assert b.c.cost(params, X[:, :0], Y[:, :0]) == 0.0
    assert all(np.all(g == 0) for g in b.c.gradients(params, X[:, :0], Y[:, :0]).values())
    unchanged = b.c.sgd_step(params, X[:, :0], Y[:, :0], 0.5)
    assert all(np.array_equal(unchanged[k], params[k]) for k in params)


def test_readme_c_example_compiles_and_runs(tmp_path):
    """The README's C usage example, wrapped in main(), builds strictly and computes the NumPy module's cost."""
    import re
    from conftest import ROOT
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```c\n(#include \"lecture_xor.h\".*?)```", readme, re.S).group(1)
    include, body = block.split("\n", 1)
    program = f"#include <stdio.h>\n{include}\nint main(void)\n{{\n{body}\n    printf(\"%.17g\\n\", c);\n    return 0;\n}}\n"
    (tmp_path / "example.c").write_text(program)
    spec = ROOT / "generated" / "lecture_xor" / "spec.toml"
    write_files(render(derive(load_spec(spec)), "c"), tmp_path)
    binary = compile_c([tmp_path / "example.c", tmp_path / "lecture_xor.c"], tmp_path / "example", "lecture_xor",
                       shared=False)
    printed = float(subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout)
    module = import_file(ROOT / "generated" / "lecture_xor" / "lecture_xor.py")
    example = load_spec(spec).example
    assert printed == pytest.approx(module.cost(example.params(load_spec(spec).notation), example.X, example.Y),
                                    rel=1e-12)


def test_command_line_generates_c(tmp_path):
    from conftest import ROOT
    spec = ROOT / "generated" / "lecture_xor" / "spec.toml"
    out = tmp_path / "build"
    run = subprocess.run([sys.executable, "-m", "deltagen.cli", "generate", str(spec), "--target", "c", "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["lecture_xor.c", "lecture_xor.h"]
    assert (out / "lecture_xor.c").read_bytes() == (ROOT / "generated" / "lecture_xor" / "lecture_xor.c").read_bytes()
    bad = subprocess.run([sys.executable, "-m", "deltagen.cli", "generate", str(spec), "--target", "fortran", "--out",
                          str(tmp_path / "nothing")], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "--target" in bad.stderr
    assert not (tmp_path / "nothing").exists()
