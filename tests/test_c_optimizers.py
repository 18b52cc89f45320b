"""The generated C optimizer: NAME_state, NAME_state_init, NAME_update, NAME_workspace, NAME_train_step.

References: one step of each kind by hand from DESIGN.md's table (Python floats, nothing
generated), ``torch.optim`` where it is installed, and the generated NumPy module (itself
checked against torch.optim and the course tests in tests/test_optimizers.py) over several
steps with non-default hyperparameters and a learning rate the caller changes. Double
builds agree to 1e-13 relative (update) and 1e-12 (train_step: the gradient sums' order
differs); float builds to 1e-5. The stack use of train_step's whole call tree is read
from gcc's -fstack-usage; a sanitizer build runs the same calls.
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
from deltagen.derive.model.optimizers import RULES

from c_harness import CNet, compile_c
from conftest import import_file
from test_c_backend import random_data

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")

#: every hyperparameter away from its default, so a macro printed with the wrong number shows
SETTINGS = {
    "sgd": {"learning_rate": 0.07},
    "momentum": {"learning_rate": 0.03, "momentum": 0.8, "dampening": 0.3},
    "nesterov": {"learning_rate": 0.03, "momentum": 0.7},
    "adagrad": {"learning_rate": 0.2, "epsilon": 1e-6},
    "rmsprop": {"learning_rate": 0.01, "alpha": 0.9, "epsilon": 1e-6},
    "adam": {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
}
#: 3-20-4-2: W1 and W2 in loops, W3 unrolled (8 weights), so both forms of δ and of the update run
NET = {"input": 3, "loss": "bce", "l2": 0.01, "layers": [
    {"units": 20, "activation": "tanh"}, {"units": 4, "activation": "relu"}, {"units": 2, "activation": "sigmoid"}]}
KINDS = list(RULES)
SANITIZE = ("-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
STACK_LIMIT = 16384


class Built:
    """One spec generated to NumPy and C, the C compiled in double and float with the harness's wrappers."""

    def __init__(self, spec: dict, directory):
        network = spec_from_dict(spec)
        derivation = derive(network)
        write_files({**render(derivation, "numpy"), **render(derivation, "c")}, directory)
        self.network, self.name, self.directory = network, network.name, directory
        self.numpy = import_file(directory / f"{self.name}.py")
        self.shapes = dict(self.numpy.PARAM_SHAPES)
        buffers = tuple(b.name for b in network.optimizer.rule.buffers)
        source = directory / f"{self.name}.c"
        self.c = {real: CNet(compile_c([source], directory / f"lib_{real}.so", self.name, real=real),
                             self.name, self.shapes, real=real, state_buffers=buffers)
                  for real in ("double", "float")}


def spec_for(kind: str, settings: dict, name: str | None = None, net: dict = NET) -> dict:
    return {"name": name or f"opt_{kind}", **net, "optimizer": {"kind": kind, **settings}}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    cache = {}

    def get(kind: str, settings: dict | None = None) -> Built:
        settings = SETTINGS[kind] if settings is None else settings
        key = (kind, tuple(sorted(settings.items())))
        if key not in cache:
            cache[key] = Built(spec_for(kind, settings), tmp_path_factory.mktemp(f"opt_{kind}"))
        return cache[key]
    return get


def close(actual, expected, rtol):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def same_state(c_state: dict, np_state: dict, buffers, rtol) -> None:
    assert c_state["step"] == np_state["step"]
    assert math.isclose(c_state["learning_rate"], np_state["learning_rate"], rel_tol=rtol)
    for buffer in buffers:
        for key in np_state[buffer]:
            close(c_state[buffer][key], np_state[buffer][key], rtol)


def random_grads(shapes: dict, rng) -> dict:
    return {key: rng.normal(0, 1.0, shape) for key, shape in shapes.items()}


# ------------------------------------------------------------------ the state

@pytest.mark.parametrize("kind", KINDS)
def test_state_init_is_step_zero_zero_buffers_and_the_specs_learning_rate(built, kind):
    b = built(kind)
    for real, c in b.c.items():
        state = c.init_state()
        assert state["step"] == 0
        assert state["learning_rate"] == np.float32(SETTINGS[kind]["learning_rate"]) if real == "float" \
            else state["learning_rate"] == SETTINGS[kind]["learning_rate"]
        assert set(state) == {"step", "learning_rate", *(buf.name for buf in RULES[kind].buffers)}
        for buffer in c.state_buffers:
            assert all(not np.any(array) for array in state[buffer].values())


@pytest.mark.parametrize("extra, expected", [
    ({"example": {"W": [[[0.5]]], "b": [[[0.1]]], "X": [[1.0]], "Y": [[1.0]], "learning_rate": 0.25}}, 0.25),
    ({}, 0.001),                                              # torch.optim.SGD's default
    ({"optimizer": {"kind": "adam"}}, 0.001),                 # torch.optim.Adam's default
    ({"optimizer": {"kind": "adagrad"}}, 0.01),               # torch.optim.Adagrad's default
])
def test_the_state_learning_rate_without_a_table_comes_from_the_example(extra, expected, tmp_path):
    spec = {"name": "lr_source", "input": 1, "loss": "half_sse", "layers": [{"units": 1, "activation": "sigmoid"}],
            **extra}
    network = spec_from_dict(spec)
    write_files(render(derive(network), "c"), tmp_path)
    library = compile_c([tmp_path / "lr_source.c"], tmp_path / "lib.so", "lr_source")
    c = CNet(library, "lr_source", {"W1": (1, 1), "b1": (1, 1)},
             state_buffers=tuple(b.name for b in network.optimizer.rule.buffers))
    assert c.init_state()["learning_rate"] == expected


# ------------------------------------------------------------------ one step by hand

def by_hand(kind: str, theta: float, g: float, s: dict) -> float:
    """θ after the first step from zero state, from DESIGN.md's table with plain Python floats."""
    eta = s["learning_rate"]
    if kind == "sgd":
        return theta - eta * g
    if kind == "momentum":
        return theta - eta * (1 - s["dampening"]) * g                  # b = (1 − dampening) g
    if kind == "nesterov":
        return theta - eta * (g + s["momentum"] * g)                   # b = g
    if kind == "adagrad":
        return theta - eta * g / (abs(g) + s["epsilon"])               # G = g², √G = |g|
    if kind == "rmsprop":
        return theta - eta * g / (math.sqrt((1 - s["alpha"]) * g * g) + s["epsilon"])
    # adam at t = 1: m / (1 − β₁) = g and v / (1 − β₂) = g²
    return theta - eta * g / (abs(g) + s["epsilon"])


@pytest.mark.parametrize("kind", KINDS)
def test_first_update_agrees_with_the_rule_by_hand(built, kind):
    b = built(kind)
    rng = np.random.default_rng(5)
    params, grads = random_grads(b.shapes, rng), random_grads(b.shapes, rng)
    new, state = b.c["double"].update(params, grads, b.c["double"].init_state())
    assert state["step"] == 1
    for key in b.shapes:
        expected = np.vectorize(lambda t, g: by_hand(kind, t, g, SETTINGS[kind]))(params[key], grads[key])
        close(new[key], expected, 1e-13)


# ------------------------------------------------------------------ several steps against NumPy

@pytest.mark.parametrize("real, rtol", [("double", 1e-13), ("float", 1e-5)])
@pytest.mark.parametrize("kind", KINDS)
def test_update_agrees_with_the_numpy_module_over_several_steps(built, kind, real, rtol):
    b = built(kind)
    c, module = b.c[real], b.numpy
    rng = np.random.default_rng(17)
    params = random_grads(b.shapes, rng)
    c_params, c_state = params, c.init_state()
    np_params, np_state = params, module.init_state(params)
    for step in range(5):
        if step == 3:   # the caller's schedule: the state's learning rate is read at every update
            c_state["learning_rate"] = np_state["learning_rate"] = SETTINGS[kind]["learning_rate"] / 3
        grads = random_grads(b.shapes, rng)
        c_params, c_state = c.update(c_params, grads, c_state)
        np_params, np_state = module.update(np_params, grads, np_state)
        for key in b.shapes:
            close(c_params[key], np_params[key], rtol)
        same_state(c_state, np_state, c.state_buffers, rtol)
    assert c_state["step"] == 5


@pytest.mark.parametrize("real, rtol", [("double", 1e-12), ("float", 1e-5)])
@pytest.mark.parametrize("kind", KINDS)
def test_train_step_agrees_with_the_numpy_module(built, kind, real, rtol):
    b = built(kind)
    c, module = b.c[real], b.numpy
    params, X, Y = random_data(b.network, 6, 23)
    c_params, c_state = params, c.init_state()
    np_params, np_state = params, module.init_state(params)
    for m in (6, 1, 6, 3):   # a batch, one example, and the state carried across them
        c_params, c_state = c.train_step(c_params, c_state, X[:, :m], Y[:, :m])
        np_params, np_state = module.train_step(np_params, np_state, X[:, :m], Y[:, :m])
        for key in b.shapes:
            close(c_params[key], np_params[key], rtol)
        same_state(c_state, np_state, c.state_buffers, rtol)


def test_an_empty_batch_changes_nothing(built):
    c = built("adam").c["double"]
    params, X, Y = random_data(built("adam").network, 2, 3)
    state = c.init_state()
    new, new_state = c.train_step(params, state, X[:, :0], Y[:, :0])
    assert new_state["step"] == 0
    for key in params:
        np.testing.assert_array_equal(new[key], params[key])


# ------------------------------------------------------------------ torch.optim

def torch_step(kind: str, settings: dict, params: dict, grads_seq: list[dict]) -> dict:
    torch = pytest.importorskip("torch")
    tensors = {key: torch.tensor(value, dtype=torch.float64, requires_grad=True) for key, value in params.items()}
    lr = settings["learning_rate"]
    if kind in ("sgd", "momentum", "nesterov"):
        optimizer = torch.optim.SGD(tensors.values(), lr=lr, momentum=settings.get("momentum", 0.0),
                                    dampening=settings.get("dampening", 0.0), nesterov=kind == "nesterov")
    elif kind == "adagrad":
        optimizer = torch.optim.Adagrad(tensors.values(), lr=lr, eps=settings["epsilon"])
    elif kind == "rmsprop":
        optimizer = torch.optim.RMSprop(tensors.values(), lr=lr, alpha=settings["alpha"], eps=settings["epsilon"])
    else:
        optimizer = torch.optim.Adam(tensors.values(), lr=lr, betas=(settings["beta1"], settings["beta2"]),
                                     eps=settings["epsilon"])
    for grads in grads_seq:
        for key, tensor in tensors.items():
            tensor.grad = torch.tensor(grads[key], dtype=torch.float64)
        optimizer.step()
    return {key: tensor.detach().numpy() for key, tensor in tensors.items()}


@pytest.mark.parametrize("kind", KINDS)
def test_update_agrees_with_torch_optim(built, kind):
    # torch.optim.SGD copies g into the buffer at its first step: the same as ours only with dampening 0
    settings = {**SETTINGS[kind], "dampening": 0.0} if kind == "momentum" else SETTINGS[kind]
    c = built(kind, settings).c["double"]
    rng = np.random.default_rng(29)
    params = random_grads(c.shapes, rng)
    grads_seq = [random_grads(c.shapes, rng) for _ in range(4)]
    expected = torch_step(kind, settings, params, grads_seq)
    current, state = params, c.init_state()
    for grads in grads_seq:
        current, state = c.update(current, grads, state)
    for key in c.shapes:
        close(current[key], expected[key], 1e-12)


# ------------------------------------------------------------------ memory: stack, globals, allocation

def stack_usage(source, directory, name: str, optimization: str) -> tuple[dict, dict, dict]:
    """gcc's -fstack-usage report, and its -fcallgraph-info call graph after inlining.

    Returns (.su: function -> (bytes, qualifier)), (graph: function -> bytes of its frame, from
    the .ci nodes) and (graph: function -> the functions it calls); library functions have no frame.
    """
    obj = directory / f"{name}{optimization}.o"
    compile_c([source], obj, name, flags=(optimization, "-fstack-usage", "-fcallgraph-info=su", "-c"), shared=False)
    su = {}
    for line in obj.with_suffix(".su").read_text().splitlines():
        where, size, qualifier = line.split("\t")
        su[where.rsplit(":", 1)[1]] = (int(size), qualifier)
    frames, calls = {}, {}
    graph = obj.with_suffix(".ci").read_text()
    short = lambda title: title.rsplit(":", 1)[-1]   # static functions are titled file:name
    for title, label in re.findall(r'node: \{ title: "([^"]+)" label: "([^"]+)"', graph):
        size = re.search(r"\\n(\d+) bytes \((\w+)\)", label)
        if size:
            assert size.group(2) == "static", label   # a fixed frame: no VLA, no alloca
            frames[short(title)] = int(size.group(1))
    for source_fn, target in re.findall(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', graph):
        calls.setdefault(short(source_fn), set()).add(short(target))
    return su, frames, calls


def deepest(fn: str, frames: dict, calls: dict) -> int:
    """The most stack any chain of calls from fn uses: its frame plus its deepest callee's (no recursion here)."""
    return frames.get(fn, 0) + max((deepest(callee, frames, calls) for callee in calls.get(fn, ())), default=0)


LARGE = {"input": 64, "loss": "cce", "layers": [
    {"units": 128, "activation": "relu"}, {"units": 64, "activation": "tanh"}, {"units": 10, "activation": "softmax"}]}
WIDE = {"input": 2, "loss": "half_sse", "layers": [{"units": 3000, "activation": "sigmoid"},
                                                    {"units": 1, "activation": "identity"}]}


@pytest.mark.parametrize("net", [LARGE, WIDE], ids=["64-128-64-10", "2-3000-1"])
@pytest.mark.parametrize("optimization", ["-O0", "-O2"])
def test_train_step_and_update_stay_within_16_kib_of_stack(net, optimization, tmp_path):
    name = "stacknet"
    write_files(render(derive(spec_from_dict(spec_for("adam", SETTINGS["adam"], name, net))), "c"), tmp_path)
    su, frames, calls = stack_usage(tmp_path / f"{name}.c", tmp_path, name, optimization)   # double: larger
    for fn in ("train_step", "update"):
        size, qualifier = su[f"{name}_{fn}"]
        assert size <= STACK_LIMIT and qualifier == "static", (fn, size, qualifier)
        # and with everything it calls (libm aside): the deepest chain of frames
        assert deepest(f"{name}_{fn}", frames, calls) <= STACK_LIMIT, (fn, frames, calls)
    if net is WIDE:
        # the check sees big frames: gradients keeps one trace (3·(3000 + 1) doubles) on its stack, as documented
        assert deepest(f"{name}_gradients", frames, calls) > 3 * 3001 * 8


def test_no_allocation_and_no_writable_globals(built, tmp_path):
    b = built("adam")
    source = b.directory / f"{b.name}.c"
    assert not re.search(r"\b(malloc|calloc|realloc|free|alloca)\b", source.read_text())
    obj = compile_c([source], tmp_path / "opt.o", b.name, flags=("-c",), shared=False)
    symbols = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    writable = [line for line in symbols.splitlines() if line.split()[-2] in "BbDdCGgSs"]
    assert writable == []


# ------------------------------------------------------------------ sanitizers

DRIVER = """\
#include <stdio.h>
#include "{name}.h"

static int read_params({name}_params *p)
{{
{read_params}
    return 1;
}}

static void print_params(const {name}_params *p)
{{
{print_params}
}}

int main(void)
{{
    static {name}_real X[8 * {name}_N_IN], Y[8 * {name}_N_OUT];
    {name}_params p, grad;
    {name}_state s;
    {name}_workspace w;   /* on the stack: the caller places it */
    int m;
    if (!read_params(&p) || !read_params(&grad) || scanf("%d", &m) != 1 || m < 1 || m > 8) return 2;
    for (int i = 0; i < m * {name}_N_IN; ++i) if (scanf("%lf", &X[i]) != 1) return 2;
    for (int i = 0; i < m * {name}_N_OUT; ++i) if (scanf("%lf", &Y[i]) != 1) return 2;
    {name}_state_init(&s);
    for (int r = 0; r < 3; ++r) {name}_train_step(&p, &s, &w, m, X, Y);
    {name}_update(&p, &grad, &s);
    printf("%ld\\n", s.step);
    print_params(&p);
{print_buffers}
    return 0;
}}
"""


def _driver(name: str, shapes: dict, buffers) -> str:
    reads, prints = [], []
    for key, (rows, cols) in shapes.items():
        element = f"p->{key}[j]" if key.startswith("b") else f"p->{key}[j][k]"
        inner = "" if key.startswith("b") else f"for (int k = 0; k < {cols}; ++k) "
        reads.append(f"    for (int j = 0; j < {rows}; ++j) {inner}if (scanf(\"%lf\", &{element}) != 1) return 0;")
        prints.append(f"    for (int j = 0; j < {rows}; ++j) {inner}printf(\"%.17g\\n\", {element});")
    return DRIVER.format(name=name, read_params="\n".join(reads), print_params="\n".join(prints),
                         print_buffers="\n".join(f"    print_params(&s.{b});" for b in buffers))


@pytest.mark.skipif(subprocess.run(["gcc", "-fsanitize=address,undefined", "-x", "c", "-", "-o", "/dev/null"],
                                   input="int main(void){return 0;}", text=True, capture_output=True).returncode != 0,
                    reason="gcc has no sanitizer runtime")
@pytest.mark.parametrize("kind", KINDS)
def test_sanitizer_run_is_clean_and_agrees(built, kind, tmp_path):
    b = built(kind)
    buffers = b.c["double"].state_buffers
    (tmp_path / "driver.c").write_text(_driver(b.name, b.shapes, buffers))
    binary = compile_c([tmp_path / "driver.c", b.directory / f"{b.name}.c"], tmp_path / "driver", b.name,
                       flags=(*SANITIZE, f"-I{b.directory}"), shared=False)
    params, X, Y = random_data(b.network, 4, 31)
    grads = random_grads(b.shapes, np.random.default_rng(37))
    numbers = [v for d in (params, grads) for key in b.shapes for v in np.ravel(d[key])]
    text = "\n".join(repr(float(v)) for v in numbers) + f"\n{X.shape[1]}\n"
    text += "\n".join(repr(float(v)) for v in (*X.T.ravel(), *Y.T.ravel())) + "\n"
    run = subprocess.run([str(binary)], input=text, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "runtime error" not in run.stderr and "Sanitizer" not in run.stderr, run.stderr
    values = np.array([float(v) for v in run.stdout.split()])
    module = b.numpy
    current, state = params, module.init_state(params)
    for _ in range(3):
        current, state = module.train_step(current, state, X, Y)
    current, state = module.update(current, grads, state)

    def flat(d):
        return np.concatenate([np.ravel(d[key]) for key in b.shapes])
    expected = np.concatenate([[state["step"]], flat(current), *(flat(state[buffer]) for buffer in buffers)])
    assert values.shape == expected.shape
    close(values, expected, 1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_the_per_entry_function_computes_nothing_that_is_the_same_for_every_entry(built, kind):
    """adam's 1 − β₁ᵗ and 1 − β₂ᵗ are computed once per update, not a pow per entry (optimizer.step_terms); no
    rule's entry function reads t itself then, or calls pow."""
    source = (built(kind).directory / f"opt_{kind}.c").read_text()
    entry = source[source.index(f"static void opt_{kind}_update_entry("):]
    entry = entry[:entry.index("\n}\n")]
    update = source[source.index(f"void opt_{kind}_update(opt_{kind}_params *p"):]
    update = update[:update.index("\n}\n")]
    assert "_pow(" not in entry and "real t," not in entry and "real t)" not in entry
    once = re.findall(r"const opt_\w+_real (t_term\d+) = ", update)
    assert once == (["t_term0", "t_term1"] if kind == "adam" else [])
    assert all(update.count(f", {term}") >= 1 for term in once)
