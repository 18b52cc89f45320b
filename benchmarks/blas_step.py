"""The generated C SGD step against a hand-written OpenBLAS step of the same net (issue 17, item 5).

    python benchmarks/blas_step.py [--rounds 7] [--budget 0.05] [--cpu N] [--no-conv] [--out benchmarks/results/blas.md]

Nets: the lecture's 2-3-1 (sigmoid, half_sse, no bias), 64-32-10 and 784-128-10 (sigmoid hidden, softmax + cce)
at batch 1, 32 and 256, and the conv net [1,28,28] → conv 8×3×3 pad 1 relu → max pool 2 → dense 10 (softmax + cce)
at batch 32. For each net, precision (double; float: the generated C built with -DNAME_REAL=float against
cblas_sgemm) and flags (-O2; -O3 -march=native; the same with -DNAME_USE_CBLAS, the generated step's products
through cblas) one C program holds both steps (benchmarks/blas_reference.py):
before timing, one step of each from ``NAME_init_params(1)`` must reach the same parameters (1e-10 relative to
the largest in double, 1e-4 in float), then rounds alternate the two, each round the mean of about --budget
seconds of steps; the figures are the medians. The run is pinned to one core (taskset -c CPU, default the last
one) with OPENBLAS_NUM_THREADS=1. The same run measures the machine: the single-thread peak (a 1536³ cblas_dgemm
and sgemm, best of 5) and the memory bandwidth (a 256 MiB memcpy, bytes read + written, best of 5).

Per row: the time per step of each, generated / OpenBLAS (above 1: the generated step is slower), each step's
fraction of the peak (the flops of the step's matrix products / time / peak: forward Z, backward Δ below the
output, gradient ∂C/∂W) and, at batch 1, the generated step's fraction of the bandwidth floor (the bytes of the
parameters read once / bandwidth / time).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from blas_reference import MACHINE, driver_source  # noqa: E402
from deltagen.codegen.render import render, write_files  # noqa: E402
from deltagen.derive import derive, load_spec, spec_from_dict  # noqa: E402
from run import two_layer  # noqa: E402

LEARNING_RATE = 0.05
FLAGS = {"-O2": ["-O2"], "-O3 -march=native": ["-O3", "-march=native"],
         "-O3 -march=native -DNAME_USE_CBLAS": ["-O3", "-march=native", "-D{name}_USE_CBLAS"]}
BATCHES = (1, 32, 256)
CONV = {"name": "bench_cnn_mnist", "input": [1, 28, 28], "loss": "cce",
        "layers": [{"kind": "conv", "channels": 8, "kernel": 3, "padding": 1, "activation": "relu"},
                   {"kind": "pool", "mode": "max", "size": 2}, {"units": 10, "activation": "softmax"}]}
NETS = {   # label: (spec, batch sizes)
    "2-3-1 (lecture)": (ROOT / "generated" / "lecture_vectorized_231" / "spec.toml", BATCHES),
    "64-32-10": (two_layer("bench_64_32_10", 64, 32, 10), BATCHES),
    "784-128-10": (two_layer("bench_784_128_10", 784, 128, 10), BATCHES),
    "conv [1,28,28] 8×3×3 → pool 2 → 10": (CONV, (32,)),
}


def network_of(source):
    return load_spec(source) if isinstance(source, Path) else spec_from_dict(source)


def step_flops(derivation, m: int) -> float:
    """The multiply-adds ×2 of one step's matrix products: forward, Δ below the output, and ∂C/∂W."""
    flops = 0.0
    numbers = list(derivation.layer_numbers)
    for index, number in enumerate(numbers):
        layer = derivation.layer(number)
        if layer.kind == "pool":
            continue
        if layer.kind == "conv":   # every output pixel is a dot product over C_in·kH·kW
            c_in, kh, kw = layer.in_shape[0], *layer.kernel
            products = derivation.width(number) * c_in * kh * kw
        else:
            products = derivation.width(number) * derivation.width(numbers[index - 1] if index else
                                                                   derivation.input_number)
        flops += 2 * m * products * (3 if index else 2)   # the first layer has no Δ below it
    return flops


def batch_data(derivation, m: int) -> bytes:
    rng = np.random.default_rng(17)
    n_in, n_out = derivation.network.n_in, derivation.width(derivation.last)
    X = rng.normal(size=(m, n_in))
    if derivation.layer(derivation.last).activation.is_softmax:
        Y = np.eye(n_out)[rng.integers(0, n_out, m)]
    else:
        Y = rng.uniform(0.1, 0.9, size=(m, n_out))
    return X.tobytes() + Y.tobytes()


def pinned(command: list[str], cpu: int | None) -> list[str]:
    return (["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []) + command


def environment() -> dict:
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def build(derivation, precision: str, flags: list[str], max_batch: int, work: Path) -> Path:
    """Write the generated C and the driver into ``work`` and compile them into one program."""
    name = derivation.network.name
    write_files(render(derivation, "c"), work)
    (work / "driver.c").write_text(driver_source(derivation, max_batch, precision, LEARNING_RATE))
    binary = work / f"driver_{precision}"
    real = [f"-D{name}_REAL=float"] if precision == "float" else []
    flags = [flag.format(name=name) for flag in flags]
    subprocess.run(["gcc", "-std=c99", *flags, *real, "-o", str(binary), str(work / "driver.c"),
                    str(work / f"{name}.c"), "-lopenblas", "-lm"], check=True)
    return binary


def run_driver(binary: Path, data: Path, batches, rounds: int, budget: float, cpu: int | None) -> dict:
    """{m: (worst difference after one step, largest change of the step (both relative to the largest parameter),
    generated seconds per step, OpenBLAS seconds per step)}; rounds = 0 checks without timing."""
    result = subprocess.run(pinned([str(binary), str(data), str(rounds), str(budget), *map(str, batches)], cpu),
                            capture_output=True, text=True, env=environment())
    if result.returncode:
        raise SystemExit(f"{binary.name}: {result.stderr.strip() or 'failed'}")
    checks, times = {}, {}
    for line in result.stdout.split("\n"):
        words = line.split()
        if words and words[0] == "check":
            checks[int(words[1])] = (float(words[2]), float(words[3]))
        elif words and words[0] == "time":
            times[int(words[1])] = (float(words[2]), float(words[3]))
    return {m: (*checks[m], *times.get(m, (float("nan"), float("nan")))) for m in batches}


def measure_machine(cpu: int | None, work: Path) -> tuple[float, float, float]:
    """(double peak FLOP/s, float peak FLOP/s, bandwidth B/s) of one core."""
    (work / "machine.c").write_text(MACHINE)
    subprocess.run(["gcc", "-std=c99", "-O2", "-o", str(work / "machine"), str(work / "machine.c"), "-lopenblas"],
                   check=True)
    out = subprocess.run(pinned([str(work / "machine")], cpu), capture_output=True, text=True, check=True,
                         env=environment())
    peak_d, peak_s, bandwidth = map(float, out.stdout.split())
    return peak_d, peak_s, bandwidth


def microseconds(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs" if seconds < 1e-4 else f"{seconds * 1e6:.0f} µs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--budget", type=float, default=0.05, help="seconds of steps per timing (default 0.05)")
    parser.add_argument("--cpu", type=int, default=(os.cpu_count() or 1) - 1, help="core to pin to (default last)")
    parser.add_argument("--no-conv", action="store_true", help="leave out the conv net")
    parser.add_argument("--out", type=Path, default=None, help="also write the tables to this Markdown file")
    args = parser.parse_args(argv)
    nets = {k: v for k, v in NETS.items() if not (args.no_conv and k.startswith("conv"))}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        peak_double, peak_float, bandwidth = measure_machine(args.cpu, work)
        peak = {"double": peak_double, "float": peak_float}
        blas = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libopenblas0"], capture_output=True,
                              text=True).stdout.strip() or "?"
        lines = [f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, one core (taskset -c {args.cpu}), "
                 f"OpenBLAS {blas} (OPENBLAS_NUM_THREADS=1), gcc; peak {peak['double'] / 1e9:.1f} GFLOP/s double, "
                 f"{peak['float'] / 1e9:.1f} GFLOP/s float (1536³ gemm); bandwidth {bandwidth / 1e9:.1f} GB/s "
                 f"(256 MiB memcpy, read + write); median of {args.rounds} interleaved rounds.", ""]
        for flag_label, flags in FLAGS.items():
            lines += [f"#### gcc {flag_label}", "",
                      "| net | batch | precision | generated | OpenBLAS | generated / OpenBLAS | generated % of peak "
                      "| OpenBLAS % of peak | generated % of bandwidth floor |", "|---|---|---|---|---|---|---|---|---|"]
            for label, (source, batches) in nets.items():
                derivation = derive(network_of(source))
                data = work / "data.bin"
                data.write_bytes(batch_data(derivation, max(batches)))
                for precision in ("double", "float"):
                    net_work = work / f"{derivation.network.name}_{precision}"
                    net_work.mkdir(exist_ok=True)
                    binary = build(derivation, precision, flags, max(batches), net_work)
                    rows = run_driver(binary, data, batches, args.rounds, args.budget, args.cpu)
                    size = 4 if precision == "float" else 8
                    for m, (_, _, generated, reference) in rows.items():
                        flops = step_flops(derivation, m)
                        floor = (derivation.network.n_params * size / bandwidth / generated) if m == 1 else None
                        lines.append(
                            f"| {label} | {m} | {precision} | {microseconds(generated)} | {microseconds(reference)} "
                            f"| {generated / reference:.2f} | {100 * flops / generated / peak[precision]:.1f} % "
                            f"| {100 * flops / reference / peak[precision]:.1f} % "
                            f"| {'—' if floor is None else f'{100 * floor:.1f} %'} |")
                    print(f"{flag_label} {label} {precision}: done", file=sys.stderr)
            lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
