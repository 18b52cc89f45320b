"""The generated C's batch in tiles (codegen/backends/c/tiles.py): the same bits as one example at a time.

``NAME_gradients`` runs one example at a time (the loops every other C test checks against NumPy, mpmath
and torch); ``NAME_train_step`` and ``NAME_sgd_step`` with m > 1 run whole tiles through the kernels. Each
partial sum of a tile is the same serial sum in the same order, so the two must agree bit for bit, for
every batch size (full tiles, a short last tile, a last tile left to the one-example loop), for any
NAME_TILE, at -O2 and at -O3 -march=native, in double and float. The kernels' inner loops must be the
ones gcc vectorises (-fopt-info-vec), at -O2 and -O3.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from deltagen.codegen.render import render, write_files
from deltagen.derive import derive, spec_from_dict

from c_harness import STRICT, CNet, compile_c
from conftest import import_file
from test_blas_reference import have_openblas
from test_c_backend import random_data

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")

#: W1, W2 tiled (loops), W3 unrolled (8 weights) and run per example; L2; bce
MIXED = {"name": "tiles_mixed", "input": 3, "loss": "bce", "l2": 0.01, "layers": [
    {"units": 20, "activation": "tanh"}, {"units": 4, "activation": "relu"}, {"units": 2, "activation": "sigmoid"}]}
#: every layer tiled, one without a bias, widths that leave remainders (rows % 4, columns % NAME_TILE)
SOFTMAX = {"name": "tiles_softmax", "input": 37, "loss": "cce", "layers": [
    {"units": 33, "activation": "sigmoid", "bias": False}, {"units": 6, "activation": "softmax"}]}
#: a conv and a pool layer per example, the dense layers above them tiled
CONV = {"name": "tiles_conv", "input": [1, 6, 6], "loss": "cce", "layers": [
    {"kind": "conv", "channels": 2, "kernel": 3, "activation": "relu"}, {"kind": "pool", "mode": "max", "size": 2},
    {"units": 9, "activation": "tanh"}, {"units": 3, "activation": "softmax"}]}
#: conv layers in the kernels: padding and stride, two input channels, a conv reading a conv, no bias
STRIDED = {"name": "tiles_strided", "input": [2, 7, 6], "loss": "mse", "layers": [
    {"kind": "conv", "channels": 3, "kernel": [3, 2], "padding": [1, 0], "stride": [2, 1], "activation": "tanh"},
    {"kind": "conv", "channels": 2, "kernel": 2, "padding": 1, "activation": "relu", "bias": False},
    {"units": 2, "activation": "identity"}]}
NETS = {"mixed": MIXED, "softmax": SOFTMAX, "conv": CONV, "strided": STRIDED}
#: batch sizes around the default tiles (32 lanes; a last tile of fewer than 4 examples runs one at a time)
BATCHES = (1, 3, 4, 31, 32, 33, 35, 36, 70)


class Generated:
    """One spec generated to C (and NumPy, for the parameter shapes)."""

    def __init__(self, spec: dict, directory):
        self.network = spec_from_dict(spec)
        self.derivation = derive(self.network)
        write_files({**render(self.derivation, "numpy"), **render(self.derivation, "c")}, directory)
        self.name, self.directory = self.network.name, directory
        self.source = directory / f"{self.name}.c"
        self.shapes = dict(import_file(directory / f"{self.name}.py").PARAM_SHAPES)

    def library(self, label: str, real: str = "double", flags: tuple[str, ...] = (),
                libraries: tuple[str, ...] = ()) -> CNet:
        path = compile_c([self.source], self.directory / f"lib_{label}_{real}.so", self.name, real=real, flags=flags,
                         libraries=libraries)
        n_in = self.network.n_in
        return CNet(path, self.name, self.shapes, real=real, n_in=n_in, trace_reals=self._trace_reals())

    def _trace_reals(self) -> int:
        header = (self.directory / f"{self.name}.h").read_text()
        fields = re.search(r"typedef struct \w+_trace \{(.*?)\}", header, re.S).group(1)
        return sum(int(n) for n in re.findall(r"\[(\d+)\]", fields))


@pytest.fixture(scope="module", params=list(NETS))
def generated(request, tmp_path_factory):
    return Generated(NETS[request.param], tmp_path_factory.mktemp(request.param))


def tiled_layers(source: str) -> list[str]:
    match = re.search(r"Tiled layers: ([\d, ]+)\.", source)
    return match.group(1).split(", ") if match else []


def test_each_net_has_tiled_layers(generated):
    """The nets above exercise the kernels (a net with no tiled layer would pass the rest vacuously)."""
    source = generated.source.read_text()
    expected = {"tiles_mixed": ["1", "2"], "tiles_softmax": ["1", "2"], "tiles_conv": ["1", "3", "4"],
                "tiles_strided": ["1", "2", "3"]}
    assert tiled_layers(source) == expected[generated.name]


@pytest.mark.parametrize("real", ["double", "float"])
def test_train_step_in_tiles_equals_the_one_example_gradients_bit_for_bit(generated, real):
    net = generated.library("O2", real)
    params, X, Y = random_data(generated.network, max(BATCHES), seed=3)
    for m in BATCHES:
        Xm, Ym = X[:, :m], Y[:, :m]
        state = net.init_state()
        one_at_a_time = net.update(params, net.gradients(params, Xm, Ym), state)
        tiled = net.train_step(params, state, Xm, Ym)
        for key in generated.shapes:
            assert np.array_equal(tiled[0][key], one_at_a_time[0][key]), (m, key)


def test_sgd_step_in_tiles_equals_the_one_example_gradients(generated):
    net = generated.library("O2")
    params, X, Y = random_data(generated.network, 70, seed=5)
    rate = 0.05
    for m in (33, 70):
        grads = net.gradients(params, X[:, :m], Y[:, :m])
        stepped = net.sgd_step(params, X[:, :m], Y[:, :m], rate)
        for key in generated.shapes:   # W − η g of the same g: sgd_step scales the tiles' sums and updates in one pass
            expected = np.asarray(params[key]).reshape(generated.shapes[key]) - rate * grads[key]
            assert np.array_equal(stepped[key], expected), (m, key)


@pytest.mark.parametrize("flags", [("-O3", "-march=native"), ("-O2", *(f"-D{spec['name']}_TILE=5" for spec in NETS.values()),
                                                                   *(f"-D{spec['name']}_COLUMNS=3" for spec in NETS.values()))],
                         ids=["O3-native", "tile5-columns3"])
def test_optimisation_level_and_tile_size_change_no_bit(generated, flags):
    reference = generated.library("O2")
    other = generated.library(flags[0] + str(len(flags)), flags=flags)
    params, X, Y = random_data(generated.network, 70, seed=7)
    for m in (4, 36, 70):
        expected = reference.train_step(params, reference.init_state(), X[:, :m], Y[:, :m])[0]
        actual = other.train_step(params, other.init_state(), X[:, :m], Y[:, :m])[0]
        for key in generated.shapes:
            assert np.array_equal(actual[key], expected[key]), (flags, m, key)


@pytest.mark.parametrize("optimization", ["-O2", "-O3"])
def test_the_kernels_inner_loops_are_vectorised(tmp_path, optimization):
    """gcc -fopt-info-vec reports every kernel's loop over the tile's columns (c) as vectorised. (SOFTMAX: every
    width below the output is at least 32, so each kernel is one the default tiles call.)"""
    generated = Generated(SOFTMAX, tmp_path)
    text = generated.source.read_text()
    lines = text.splitlines()
    kernels = re.findall(rf"^static void {generated.name}_(product\d+)\(", text, re.M)
    assert kernels
    inner = [number for number, line in enumerate(lines, 1)
             if line.startswith("        for (int c = 0; c < ")]      # the c loop inside the q loop
    assert len(inner) == len(kernels)
    command = ["gcc", *STRICT, optimization, "-fopt-info-vec-optimized", "-c", str(generated.source), "-o",
               str(generated.directory / f"vec{optimization}.o")]
    report = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    vectorised = {int(n) for n in re.findall(rf"{re.escape(generated.source.name)}:(\d+):\d+: optimized: loop "
                                             r"vectorized", report)}
    full = [n for n in inner if "_TILE;" in lines[n - 1]]   # the partial-column kernels' c < cols may not be
    assert full and set(full) <= vectorised, (sorted(set(full) - vectorised), report[:2000])


@pytest.mark.parametrize("real", ["double", "float"])
def test_the_header_states_the_workspace_bytes_the_compiler_lays_out(generated, real):
    """NAME_WORKSPACE_BYTES is sizeof(NAME_workspace), and the header's comment gives the same number (what an
    embedded engineer reads to budget RAM), for both precisions."""
    header = (generated.directory / f"{generated.name}.h").read_text()
    stated = re.search(r"_WORKSPACE_BYTES: (\d+) bytes with double, (\d+) with float", header)
    expected = int(stated.group(1) if real == "double" else stated.group(2))
    program = generated.directory / f"sizes_{real}.c"
    program.write_text(f'#include <stdio.h>\n#include "{generated.name}.h"\n'
                       f'int main(void) {{ printf("%lu %lu\\n", (unsigned long){generated.name}_WORKSPACE_BYTES, '
                       f'(unsigned long)sizeof({generated.name}_workspace)); return 0; }}\n')
    binary = generated.directory / f"sizes_{real}"
    defines = [f"-D{generated.name}_REAL=float"] if real == "float" else []
    subprocess.run(["gcc", *STRICT, *defines, str(program), "-o", str(binary)], check=True)
    macro, size = map(int, subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout.split())
    assert macro == size == expected


@pytest.mark.parametrize("real, tolerance", [("double", 1e-13), ("float", 1e-5)])
def test_the_cblas_build_computes_the_same_step(generated, real, tolerance, tmp_path):
    """-DNAME_USE_CBLAS: the tiles' products through cblas_dgemm/sgemm (BLAS's own order of the sums), every
    batch size in one tile or several (tiles of 128 or fewer examples)."""
    if not have_openblas(tmp_path):
        pytest.skip("cblas.h / libopenblas missing (apt-get install libopenblas-dev)")
    net = generated.library("O2")
    blas = generated.library("cblas", real, flags=(f"-D{generated.name}_USE_CBLAS",), libraries=("-lopenblas",))
    params, X, Y = random_data(generated.network, 300, seed=11)
    for m in (1, 3, 33, 300):
        state = net.init_state()
        expected = net.update(params, net.gradients(params, X[:, :m], Y[:, :m]), state)[0]
        actual = blas.train_step(params, blas.init_state(), X[:, :m], Y[:, :m])[0]
        for key in generated.shapes:
            scale = np.abs(expected[key]).max()
            np.testing.assert_allclose(actual[key], expected[key], rtol=0, atol=tolerance * scale, err_msg=f"{m} {key}")


SANITIZE = ("-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")
SANITIZER_DRIVER = """\
#include <stdio.h>
#include "{name}.h"

static {name}_real X[70 * {name}_N_IN], Y[70 * {name}_N_OUT];

int main(void)
{{
    {name}_params p;
    {name}_state s;
    static {name}_workspace w;   /* static: the caller places it (tiles and all) */
    unsigned long long u = 12345;
    for (long i = 0; i < 70L * {name}_N_IN; ++i) {{ u = u * 6364136223846793005ULL + 1; X[i] = ({name}_real)((double)(u >> 11) / 9007199254740992.0 - 0.5); }}
    for (long i = 0; i < 70L * {name}_N_OUT; ++i) Y[i] = ({name}_real)(i % 3 == 0);
    {name}_init_params(&p, 3);
    {name}_state_init(&s);
    {name}_train_step(&p, &s, &w, 36, X, Y);    /* one full tile, then four examples in a short tile */
    {name}_train_step(&p, &s, &w, 70, X, Y);    /* two full tiles and a short one of six */
    {name}_sgd_step(&p, 35, X, Y, ({name}_real)0.05);
    printf("%.17g\\n", (double){name}_cost(&p, 70, X, Y));
    return 0;
}}
"""


@pytest.mark.skipif(subprocess.run(["gcc", "-fsanitize=address,undefined", "-x", "c", "-", "-o", "/dev/null"],
                                   input="int main(void){return 0;}", text=True, capture_output=True).returncode != 0,
                    reason="gcc has no sanitizer runtime")
def test_tiles_run_clean_under_the_sanitizers(generated):
    """Every tile path (full tiles, a short last tile, the rest one at a time, sgd_step's workspace on the stack)
    under -fsanitize=address,undefined: no report, and a finite cost."""
    driver = generated.directory / "sanitize.c"
    driver.write_text(SANITIZER_DRIVER.format(name=generated.name))
    binary = compile_c([driver, generated.source], generated.directory / "sanitize", generated.name, flags=SANITIZE,
                       shared=False)
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "runtime error" not in run.stderr and "Sanitizer" not in run.stderr, run.stderr
    assert np.isfinite(float(run.stdout))
