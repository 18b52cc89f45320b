"""The OpenBLAS reference of benchmarks/blas_step.py computes the generated C step (no timing here).

Needs cblas.h and libopenblas (Debian: apt-get install libopenblas-dev, which .ci/run installs); skipped without.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from deltagen.derive import derive, load_spec, spec_from_dict

sys.path.insert(0, str(ROOT / "benchmarks"))
from blas_step import batch_data, build, run_driver, step_flops  # noqa: E402
from run import two_layer  # noqa: E402

BATCHES = (1, 5, 32)


def have_openblas(tmp_path) -> bool:
    if shutil.which("gcc") is None:
        return False
    probe = tmp_path / "probe.c"
    probe.write_text("#include <cblas.h>\nint main(void) { double a = 1, b = 2, c = 0;\n"
                     "cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1);\n"
                     "return c != 2; }\n")
    built = subprocess.run(["gcc", str(probe), "-o", str(tmp_path / "probe"), "-lopenblas"], capture_output=True)
    return built.returncode == 0 and subprocess.run([str(tmp_path / "probe")]).returncode == 0


@pytest.mark.parametrize("precision, tolerance", [("double", 1e-10), ("float", 1e-4)])
@pytest.mark.parametrize("network", [
    load_spec(ROOT / "generated" / "lecture_vectorized_231" / "spec.toml"),
    spec_from_dict(two_layer("bench_64_32_10", 64, 32, 10)),
], ids=["lecture_2_3_1_half_sse_no_bias", "64_32_10_softmax_cce"])
def test_openblas_step_reaches_the_generated_step(network, precision, tolerance, tmp_path):
    if not have_openblas(tmp_path):
        pytest.skip("cblas.h / libopenblas missing (apt-get install libopenblas-dev)")
    derivation = derive(network)
    data = tmp_path / "data.bin"
    data.write_bytes(batch_data(derivation, max(BATCHES)))
    binary = build(derivation, precision, ["-O2"], max(BATCHES), tmp_path)
    checks = run_driver(binary, data, BATCHES, 0, 0.0, None)
    for m in BATCHES:
        worst, moved, _, _ = checks[m]
        assert worst <= tolerance, (m, worst)
        # they agree on the change itself, not only on the parameters it leaves nearly unchanged
        assert moved > 0 and worst <= 1e-3 * moved, (m, worst, moved)


def test_step_flops_count_the_matrix_products():
    # 784-128-10 at batch 32, by hand: forward 2·32·(128·784 + 10·128), Δ1 = W2ᵀ Δ2: 2·32·10·128,
    # ∂C/∂W: 2·32·(128·784 + 10·128)
    derivation = derive(spec_from_dict(two_layer("bench_784_128_10", 784, 128, 10)))
    assert step_flops(derivation, 32) == 2 * 32 * (2 * (128 * 784 + 10 * 128) + 10 * 128)
    assert np.isclose(step_flops(derivation, 1) * 32, step_flops(derivation, 32))
