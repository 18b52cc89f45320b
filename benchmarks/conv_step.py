"""Time one SGD step of a small CNN in generated C and generated NumPy against PyTorch eager (issue 15).

    python benchmarks/conv_step.py [--batch 64] [--rounds 7] [--out benchmarks/results/conv.md]

Nets: the issue's CNN, [1, 8, 8] → conv 4×3×3 relu → max pool 2 → dense 10 softmax + cce, and an
MNIST-sized one, [1, 28, 28] → conv 8×3×3 (padding 1) relu → max pool 2 → dense 10 softmax + cce.
For each, the same initial parameters (``init_params(1)``, the same draws in NumPy and C) and the same
batch go through one ``sgd_step`` of each implementation; before timing, the three must agree on the new
parameters (to 1e-12, relative to the largest). Every figure is the median of ``--rounds`` rounds, each
round the mean of many steps, all in one run on one thread (OMP_NUM_THREADS=1, torch.set_num_threads(1)).
The ratios are generated / PyTorch: below 1 means the generated code is faster.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deltagen.codegen.render import render, write_files  # noqa: E402
from deltagen.derive import derive, spec_from_dict  # noqa: E402

LEARNING_RATE = 0.05
NETS = {
    "[1,8,8] conv 4×3×3 → max pool 2 → dense 10": {
        "name": "bench_cnn_small", "input": [1, 8, 8], "loss": "cce",
        "layers": [{"kind": "conv", "channels": 4, "kernel": 3, "activation": "relu"},
                   {"kind": "pool", "mode": "max", "size": 2}, {"units": 10, "activation": "softmax"}]},
    "[1,28,28] conv 8×3×3 pad 1 → max pool 2 → dense 10": {
        "name": "bench_cnn_mnist", "input": [1, 28, 28], "loss": "cce",
        "layers": [{"kind": "conv", "channels": 8, "kernel": 3, "padding": 1, "activation": "relu"},
                   {"kind": "pool", "mode": "max", "size": 2}, {"units": 10, "activation": "softmax"}]},
}

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "{name}.h"

static double now(void)
{{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}}

int main(int argc, char **argv)
{{
    int m = atoi(argv[2]), rounds = atoi(argv[3]);
    long steps = atol(argv[4]);
    static double X[{max_batch} * {name}_N_IN], Y[{max_batch} * {name}_N_OUT];
    static {name}_params p0, p;
    FILE *data = fopen(argv[1], "rb");
    if (!data || fread(X, sizeof X[0], (size_t)m * {name}_N_IN, data) != (size_t)m * {name}_N_IN
        || fread(Y, sizeof Y[0], (size_t)m * {name}_N_OUT, data) != (size_t)m * {name}_N_OUT) return 1;
    fclose(data);
    {name}_init_params(&p0, 1);
    p = p0;
    {name}_sgd_step(&p, m, X, Y, {rate});
    fwrite(&p, sizeof p, 1, stdout);                       /* the parameters after one step, for the check */
    for (int r = 0; r < rounds; ++r) {{
        double t0 = now();
        p = p0;
        for (long i = 0; i < steps; ++i) {name}_sgd_step(&p, m, X, Y, {rate});
        double seconds = (now() - t0) / steps;
        fwrite(&seconds, sizeof seconds, 1, stdout);
    }}
    return 0;
}}
"""


def _timed(step, rounds: int, budget: float = 0.2) -> float:
    """Median over ``rounds`` of the mean time of ``step()``, each round about ``budget`` seconds."""
    start = time.perf_counter()
    step()
    once = max(time.perf_counter() - start, 1e-6)
    repeats = max(1, int(budget / once))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        times.append((time.perf_counter() - start) / repeats)
    return statistics.median(times)


def _batch(module, m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(int(np.prod(module.INPUT_SHAPE)), m))
    Y = np.eye(module.LAYER_SIZES[-1])[:, rng.integers(0, module.LAYER_SIZES[-1], m)]
    return X, Y


def _flat(params: dict, keys) -> np.ndarray:
    return np.concatenate([np.asarray(params[k], dtype=float).ravel() for k in keys])


def _c_times(spec: dict, files: dict, X, Y, m: int, rounds: int, work: Path) -> tuple[np.ndarray, float]:
    name = spec["name"]
    write_files(files, work)
    (work / "driver.c").write_text(DRIVER.format(name=name, max_batch=m,
                                                 rate=repr(LEARNING_RATE)))
    (work / "data.bin").write_bytes(np.ascontiguousarray(X.T).tobytes() + np.ascontiguousarray(Y.T).tobytes())
    binary = work / "driver"
    subprocess.run(["gcc", "-O2", "-std=c99", "-o", str(binary), str(work / "driver.c"), str(work / f"{name}.c"),
                    "-lm"], check=True)
    probe = subprocess.run([str(binary), str(work / "data.bin"), str(m), "1", "1"], capture_output=True, check=True)
    n_params = (len(probe.stdout) - 8) // 8
    first = time.perf_counter()
    subprocess.run([str(binary), str(work / "data.bin"), str(m), "1", "20"], capture_output=True, check=True)
    steps = max(20, int(0.2 / max((time.perf_counter() - first) / 20, 1e-7)))
    run = subprocess.run([str(binary), str(work / "data.bin"), str(m), str(rounds), str(steps)], capture_output=True,
                         check=True)
    values = np.frombuffer(run.stdout, dtype=np.float64)
    return values[:n_params], float(np.median(values[n_params:]))


def _torch_step(params: dict, X, Y, spec: dict):
    """One SGD step of the same CNN in PyTorch eager (float64): forward, autograd, update in place."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    conv, dense = spec["layers"][0], spec["layers"][2]
    shape = tuple(spec["input"])
    x = torch.tensor(X.T.reshape((-1,) + shape).copy())
    target = torch.tensor(Y.T.argmax(axis=1))
    t = {k: torch.tensor(v.reshape(v.shape if not k.startswith("b") else (-1,)).copy(), requires_grad=True)
         for k, v in params.items()}

    def step():
        z = F.conv2d(x, t["W1"], t["b1"], padding=conv.get("padding", 0))
        h = F.max_pool2d(torch.relu(z), spec["layers"][1]["size"]).flatten(1)
        loss = F.cross_entropy(F.linear(h, t["W3"], t["b3"]), target)
        for value in t.values():
            value.grad = None
        loss.backward()
        with torch.no_grad():
            for value in t.values():
                value -= LEARNING_RATE * value.grad
    assert dense["activation"] == "softmax" and spec["loss"] == "cce"
    return t, step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="also write the table to this Markdown file")
    args = parser.parse_args()
    import importlib.util

    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, one thread, Python {platform.python_version()}, "
             f"NumPy {np.__version__}, gcc -O2; batch of {args.batch}; median of {args.rounds} rounds.", "",
             "| net | generated C | generated NumPy | PyTorch eager | C / PyTorch | NumPy / PyTorch |",
             "|---|---|---|---|---|---|"]
    for label, spec in NETS.items():
        derivation = derive(spec_from_dict(spec))
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            write_files(render(derivation, "numpy"), work)
            loaded = importlib.util.spec_from_file_location(spec["name"], work / f"{spec['name']}.py")
            module = importlib.util.module_from_spec(loaded)
            loaded.loader.exec_module(module)
            params = module.init_params(1)
            X, Y = _batch(module, args.batch)
            keys = list(module.PARAM_SHAPES)
            numpy_after = _flat(module.sgd_step(params, X, Y, LEARNING_RATE), keys)
            c_after, c_time = _c_times(spec, render(derivation, "c"), X, Y, args.batch, args.rounds, work)
        scale = np.max(np.abs(numpy_after))
        if np.max(np.abs(c_after - numpy_after)) > 1e-12 * scale:
            raise SystemExit(f"{label}: C and NumPy disagree after one step")
        numpy_time = _timed(lambda: module.sgd_step(params, X, Y, LEARNING_RATE), args.rounds)
        try:
            tensors, torch_step = _torch_step(params, X, Y, spec)
        except ImportError:
            lines.append(f"| {label} | {c_time * 1e6:.1f} µs | {numpy_time * 1e6:.1f} µs | — | — | — |")
            continue
        torch_step()
        torch_after = np.concatenate([tensors[k].detach().numpy().ravel() for k in keys])
        if np.max(np.abs(torch_after - numpy_after)) > 1e-12 * scale:
            raise SystemExit(f"{label}: PyTorch and NumPy disagree after one step")
        torch_time = _timed(torch_step, args.rounds)
        lines.append(f"| {label} | {c_time * 1e6:.1f} µs | {numpy_time * 1e6:.1f} µs | {torch_time * 1e6:.1f} µs "
                     f"| {c_time / torch_time:.2f} | {numpy_time / torch_time:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
