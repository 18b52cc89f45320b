"""Generated C at |z| = 1000 against mpmath, and under AddressSanitizer + UndefinedBehaviorSanitizer.

The |z| = 1000 reference is the same independent mpmath one as for NumPy
(tests/test_numerics.py): textbook definitions at 50 digits, gradients by
central differences. Double builds must match to 1e-12 relative. Float builds
must match to 1e-5 relative, or, where the result is small beside the inputs, to
4·2⁻²³·max|z| absolute: a loss like z_k − log Σ e^{z_j} at z = (1000, 999) is a
difference of numbers near 1000, and float32 resolves 1000 only to 6e-5.
"""
from __future__ import annotations

import shutil
import subprocess

import mpmath as mp
import numpy as np
import pytest

from deltagen.codegen.render import render, write_files
from deltagen.derive import derive, spec_from_dict

from c_harness import CNet, compile_c
from conftest import import_file
from test_c_backend import ALL_CASES, RANDOM_CASES, random_data
from test_numerics import PAIRS, reference_cost_of_z, targets_for

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")

mp.mp.dps = 50


@pytest.fixture(autouse=True)
def fifty_digits():
    """The references' central differences (h = 1e-20) need 50 digits whatever another test module set."""
    with mp.workdps(50):
        yield


@pytest.fixture(scope="module")
def extreme_libraries(tmp_path_factory):
    """Per pair, the C library in double and float: z = W x + b with x = 1, so b sets z."""
    out = {}
    for activation, loss in PAIRS:
        name = f"extreme_{activation}_{loss}"
        directory = tmp_path_factory.mktemp(name)
        spec = {"name": name, "input": 1, "layers": [{"units": 2, "activation": activation}], "loss": loss}
        write_files(render(derive(spec_from_dict(spec)), "c"), directory)
        shapes = {"W1": (2, 1), "b1": (2, 1)}
        for real in ("double", "float"):
            library = compile_c([directory / f"{name}.c"], directory / f"lib_{real}.so", name, real=real)
            out[activation, loss, real] = CNet(library, name, shapes, real=real)
    return out


@pytest.mark.parametrize("real, tolerance", [("double", 1e-12), ("float", 1e-5)])
@pytest.mark.parametrize("activation, loss", PAIRS)
@pytest.mark.parametrize("z", [[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, 999.0], [-1000.0, -998.0], [30.0, -35.0]])
def test_extreme_inputs_in_c(extreme_libraries, activation, loss, z, real, tolerance):
    net = extreme_libraries[activation, loss, real]
    floor = 4 * 2.0 ** -23 * max(abs(v) for v in z) if real == "float" else 0.0
    for y in targets_for(loss):
        params = {"W1": np.zeros((2, 1)), "b1": np.array(z).reshape(2, 1)}
        X, Y = np.ones((1, 1)), np.array(y).reshape(2, 1)
        cost = net.cost(params, X, Y)
        grads = net.gradients(params, X, Y)
        zs, ys = [mp.mpf(v) for v in z], [mp.mpf(v) for v in y]
        expected = reference_cost_of_z(activation, loss, zs, ys)
        if not mp.isfinite(expected):
            continue
        assert np.isfinite(cost)
        assert abs(cost - float(expected)) <= max(floor, tolerance * max(1.0, abs(float(expected)))), (cost, expected)
        for k in range(2):
            if activation in ("relu", "leaky_relu") and abs(z[k]) < 1e-9 or loss == "hinge" and abs(1 - y[k] * z[k]) < 1e-9:
                continue   # at a kink the derivative is a convention, not a limit
            h = mp.mpf("1e-20")
            shifted_up, shifted_down = list(zs), list(zs)
            shifted_up[k] += h
            shifted_down[k] -= h
            slope = (reference_cost_of_z(activation, loss, shifted_up, ys)
                     - reference_cost_of_z(activation, loss, shifted_down, ys)) / (2 * h)
            got = grads["b1"][k, 0]
            assert np.isfinite(got)
            assert abs(got - float(slope)) <= max(floor, tolerance * max(1.0, abs(float(slope)))), (k, got, slope)


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
    {name}_params p, grad, stepped;
    int m;
    static {name}_real X[{max_m} * {name}_N_IN], Y[{max_m} * {name}_N_OUT], out[{name}_N_OUT];
    if (!read_params(&p) || scanf("%d", &m) != 1 || m < 1 || m > {max_m}) return 2;
    for (int i = 0; i < m * {name}_N_IN; ++i) if (scanf("%lf", &X[i]) != 1) return 2;
    for (int i = 0; i < m * {name}_N_OUT; ++i) if (scanf("%lf", &Y[i]) != 1) return 2;
    for (int i = 0; i < m; ++i) {{
        {name}_forward(&p, X + i * {name}_N_IN, out);
        for (int k = 0; k < {name}_N_OUT; ++k) printf("%.17g\\n", out[k]);
    }}
    printf("%.17g\\n", {name}_cost(&p, m, X, Y));
    {name}_gradients(&p, m, X, Y, &grad);
    print_params(&grad);
    stepped = p;
    {name}_sgd_step(&stepped, m, X, Y, 0.25);
    print_params(&stepped);
    stepped = p;
    {name}_sgd_step(&stepped, 1, X, Y, 0.25);
    print_params(&stepped);
    {name}_init_params(&stepped, 3);
    print_params(&stepped);
    return 0;
}}
"""


def _driver(name: str, shapes: dict, max_m: int) -> str:
    reads, prints = [], []
    for key, shape in shapes.items():
        shape = shape[:1] if key.startswith("b") else shape     # b{l}[n]; W{l}[n][n_prev] or a conv W's 4 axes
        element = f"p->{key}" + "".join(f"[j{axis}]" for axis in range(len(shape)))
        loops = "".join(f"for (int j{axis} = 0; j{axis} < {n}; ++j{axis}) " for axis, n in enumerate(shape))
        reads.append(f"    {loops}if (scanf(\"%lf\", &{element}) != 1) return 0;")
        prints.append(f"    {loops}printf(\"%.17g\\n\", {element});")
    return DRIVER.format(name=name, read_params="\n".join(reads), print_params="\n".join(prints), max_m=max_m)


@pytest.mark.skipif(subprocess.run(["gcc", "-fsanitize=address,undefined", "-x", "c", "-", "-o", "/dev/null"],
                                   input="int main(void){return 0;}", text=True, capture_output=True).returncode != 0,
                    reason="gcc has no sanitizer runtime")
@pytest.mark.parametrize("key", ALL_CASES)
def test_sanitizer_run_is_clean_and_agrees(key, tmp_path):
    """Every entry point under -fsanitize=address,undefined: no report, and the NumPy module's values."""
    from test_c_backend import specs, load_spec
    if key in RANDOM_CASES:
        network = spec_from_dict({"name": key, **RANDOM_CASES[key]})
    else:
        network = load_spec(next(s for s in specs() if s.parent.name == key))
    derivation = derive(network)
    write_files({**render(derivation, "c"), **render(derivation, "numpy")}, tmp_path)
    module = import_file(tmp_path / f"{network.name}.py")
    shapes = dict(module.PARAM_SHAPES)
    (tmp_path / "driver.c").write_text(_driver(network.name, shapes, 8))
    binary = compile_c([tmp_path / "driver.c", tmp_path / f"{network.name}.c"], tmp_path / "driver", network.name,
                       flags=("-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                              "-fno-omit-frame-pointer"), shared=False)
    params, X, Y = random_data(network, 4, 11)
    numbers = [v for key_ in shapes for v in np.asarray(params[key_]).ravel()]
    text = "\n".join(repr(float(v)) for v in numbers) + f"\n{X.shape[1]}\n"
    text += "\n".join(repr(float(v)) for v in X.T.ravel()) + "\n" + "\n".join(repr(float(v)) for v in Y.T.ravel()) + "\n"
    run = subprocess.run([str(binary)], input=text, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "runtime error" not in run.stderr and "Sanitizer" not in run.stderr, run.stderr
    values = np.array([float(v) for v in run.stdout.split()])

    def flat(d):
        return np.concatenate([np.asarray(d[k], float).ravel() for k in shapes])
    expected = [np.asarray(module.forward(params, X), float).T.ravel(), [module.cost(params, X, Y)],
                flat(module.gradients(params, X, Y)), flat(module.sgd_step(params, X, Y, 0.25)),
                flat(module.sgd_step(params, X[:, :1], Y[:, :1], 0.25))]
    expected = np.concatenate([np.ravel(e) for e in expected])
    assert values.size == expected.size + sum(np.prod(s) for s in shapes.values())
    np.testing.assert_allclose(values[:expected.size], expected, rtol=1e-12, atol=1e-12)
