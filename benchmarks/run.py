"""How fast the generated code and the toolkit are, against the alternatives: ``python benchmarks/run.py``.

Generated-code speed (each figure a ratio against a reference timed in the same run):
  * C: the generated SGD step vs a plain hand-written C loop for the same net, both
    compiled with the same flags into one program, per example and for a batch of 32;
  * NumPy: the generated module's ``sgd_step`` vs hand-written NumPy, and vs PyTorch
    eager on the CPU when PyTorch is installed (skipped with a note otherwise);
  * the generated C called from Python through ctypes, per call, vs the same step in C.
Toolkit speed: derive + prove, and generate (NumPy and C), against the parameter
count, from the lecture nets to ~100k parameters, with the fitted growth exponent.

Writes ``results.md`` and ``performance.png`` (matplotlib: the ``bench`` extra) into
``--out`` (default benchmarks/results). ``--quick`` runs smaller nets and fewer repeats.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from deltagen import prove
from deltagen.codegen.render import render, write_files  # noqa: E402
from deltagen.derive import derive, load_spec, spec_from_dict  # noqa: E402
from hand_written import HAND_C, hand_numpy_sgd_step  # noqa: E402

CFLAGS = ["-O2"]
BATCH = 32

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "{name}.h"

#define N0 {n0}
#define N1 {n1}
#define N2 {n2}
#define HAS_BIAS {bias}
#define SOFTMAX_CCE {softmax}
#define EXAMPLES 64
#define BATCH {batch}
{hand}

static double now(void)
{{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}}

static void to_hand(hand_params *h, const {name}_params *g)
{{
    memset(h, 0, sizeof *h);
    memcpy(h->W1, g->{W1}, sizeof h->W1);
    memcpy(h->W2, g->{W2}, sizeof h->W2);
#if HAS_BIAS
    memcpy(h->b1, g->{b1}, sizeof h->b1);
    memcpy(h->b2, g->{b2}, sizeof h->b2);
#endif
}}

static double disagreement(const {name}_params *g, const hand_params *h)
{{
    static hand_params c;
    double worst = 0;
    to_hand(&c, g);
    for (int j = 0; j < N1; ++j) for (int k = 0; k < N0; ++k) worst = fmax(worst, fabs(c.W1[j][k] - h->W1[j][k]));
    for (int j = 0; j < N2; ++j) for (int k = 0; k < N1; ++k) worst = fmax(worst, fabs(c.W2[j][k] - h->W2[j][k]));
    return worst;
}}

static double median(double *v, int n)
{{
    for (int i = 1; i < n; ++i) for (int j = i; j > 0 && v[j] < v[j - 1]; --j) {{ double t = v[j]; v[j] = v[j - 1]; v[j - 1] = t; }}
    return v[n / 2];
}}

int main(int argc, char **argv)
{{
    long steps = atol(argv[1]), batches = atol(argv[2]);
    int rounds = atoi(argv[3]);
    static double X[EXAMPLES * N0], Y[EXAMPLES * N2];
    static {name}_params g, g0;
    static hand_params h, h0;
    unsigned long s = 12345;
    for (int i = 0; i < EXAMPLES * N0; ++i) {{ s = (1103515245UL * s + 12345UL) & 0x7fffffffUL; X[i] = (double)s / 0x7fffffff * 2 - 1; }}
    for (int i = 0; i < EXAMPLES; ++i)
        for (int k = 0; k < N2; ++k) Y[i * N2 + k] = SOFTMAX_CCE ? (k == i % N2) : 0.5 + 0.4 * ((i % 2) ? 1 : -1);
    {name}_init_params(&g0, 1);
    to_hand(&h0, &g0);

    /* the same computation: both reach the same parameters */
    g = g0; h = h0;
    for (int i = 0; i < EXAMPLES; ++i) {{ {name}_sgd_step(&g, 1, X + i * N0, Y + i * N2, 0.1); hand_sgd_step(&h, X + i * N0, Y + i * N2, 0.1); }}
    if (disagreement(&g, &h) > 1e-9) {{ fprintf(stderr, "per-example steps disagree\n"); return 1; }}
    g = g0; h = h0;
    for (int i = 0; i + BATCH <= EXAMPLES; i += BATCH) {{ {name}_sgd_step(&g, BATCH, X + i * N0, Y + i * N2, 0.1); hand_sgd_batch(&h, BATCH, X + i * N0, Y + i * N2, 0.1); }}
    if (disagreement(&g, &h) > 1e-9) {{ fprintf(stderr, "batch steps disagree\n"); return 1; }}

    double t[4][64];
    for (int r = 0; r < rounds && r < 64; ++r) {{
        double t0;
        g = g0; t0 = now();
        for (long i = 0; i < steps; ++i) {{ int e = (int)(i % EXAMPLES); {name}_sgd_step(&g, 1, X + e * N0, Y + e * N2, 0.01); }}
        t[0][r] = (now() - t0) / steps;
        h = h0; t0 = now();
        for (long i = 0; i < steps; ++i) {{ int e = (int)(i % EXAMPLES); hand_sgd_step(&h, X + e * N0, Y + e * N2, 0.01); }}
        t[1][r] = (now() - t0) / steps;
        g = g0; t0 = now();
        for (long i = 0; i < batches; ++i) {{ int e = (int)(i % 2) * BATCH; {name}_sgd_step(&g, BATCH, X + e * N0, Y + e * N2, 0.01); }}
        t[2][r] = (now() - t0) / batches;
        h = h0; t0 = now();
        for (long i = 0; i < batches; ++i) {{ int e = (int)(i % 2) * BATCH; hand_sgd_batch(&h, BATCH, X + e * N0, Y + e * N2, 0.01); }}
        t[3][r] = (now() - t0) / batches;
        if (g.{W1}[0][0] == 12345.0 || h.W1[0][0] == 12345.0) printf("!");   /* keep the results live */
    }}
    printf("%.6e %.6e %.6e %.6e\n", median(t[0], rounds), median(t[1], rounds), median(t[2], rounds), median(t[3], rounds));
    return 0;
}}
"""


def _network(kind: str, source):
    return load_spec(source) if kind == "spec" else spec_from_dict(source)


def two_layer(name: str, n0: int, n1: int, n2: int) -> dict:
    return {"name": name, "input": n0, "loss": "cce", "layers": [
        {"units": n1, "activation": "sigmoid"}, {"units": n2, "activation": "softmax"}]}


CODE_NETS = {
    "2-3-1 (lecture)": ("spec", ROOT / "generated" / "lecture_vectorized_231" / "spec.toml"),
    "64-32-10": ("dict", two_layer("bench_64_32_10", 64, 32, 10)),
    "784-128-10": ("dict", two_layer("bench_784_128_10", 784, 128, 10)),
}


def median_time(function, repeats: int, rounds: int) -> float:
    """Median over rounds of the mean time of ``repeats`` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        times.append((time.perf_counter() - start) / repeats)
    return sorted(times)[len(times) // 2]


class Built:
    """One net generated to NumPy and C in a temporary directory, the C compiled as a program and a library."""

    def __init__(self, network, directory: Path):
        self.network = network
        self.derivation = derivation = derive(network)
        write_files({**render(derivation, "numpy"), **render(derivation, "c")}, directory)
        self.dir = directory
        self.name = network.name
        # the hand-written references have two layers: the first and the output layer
        self.first, self.second = derivation.first, derivation.last
        self.names = (f"W{self.first}", f"b{self.first}", f"W{self.second}", f"b{self.second}")
        sys.path.insert(0, str(directory))
        import importlib
        self.module = importlib.import_module(self.name)
        sys.path.pop(0)

    def c_times(self, steps: int, batches: int, rounds: int) -> tuple[float, float, float, float]:
        d = self.derivation
        n0, n1, n2 = (d.width(layer) for layer in (d.input_number, self.first, self.second))
        has_bias = d.layer(self.first).bias
        w1, b1, w2, b2 = self.names
        driver = DRIVER.format(name=self.name, n0=n0, n1=n1, n2=n2, bias=int(has_bias),
                               softmax=int(d.layer(self.second).activation.is_softmax), batch=BATCH, hand=HAND_C,
                               W1=w1, W2=w2, b1=b1 if has_bias else w1, b2=b2 if has_bias else w1)
        (self.dir / "driver.c").write_text(driver)
        binary = self.dir / "bench"
        subprocess.run(["gcc", "-std=c99", *CFLAGS, str(self.dir / "driver.c"), str(self.dir / f"{self.name}.c"),
                        "-o", str(binary), "-lm"], check=True)
        out = subprocess.run([str(binary), str(steps), str(batches), str(rounds)], check=True,
                             capture_output=True, text=True).stdout.split()
        return tuple(float(v) for v in out[-4:])

    def ctypes_times(self, repeats: int, rounds: int) -> tuple[float, float]:
        """Per call from Python through ctypes, arguments prepared once: the generated C sgd_step (m = 1),
        and a call that does no work (cost with m = 0, an empty batch), which is the bare call overhead."""
        library = self.dir / f"lib{self.name}.so"
        subprocess.run(["gcc", "-std=c99", *CFLAGS, "-shared", "-fPIC", str(self.dir / f"{self.name}.c"), "-o",
                        str(library), "-lm"], check=True)
        lib = ctypes.CDLL(str(library))
        params = (ctypes.c_double * self.network.n_params)()   # the struct is N_PARAMS reals in order
        lib_init = getattr(lib, f"{self.name}_init_params")
        lib_init.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        lib_init(ctypes.addressof(params), 1)
        step = getattr(lib, f"{self.name}_sgd_step")
        step.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_double]
        cost = getattr(lib, f"{self.name}_cost")
        cost.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        cost.restype = ctypes.c_double
        rng = np.random.default_rng(0)
        d = self.derivation
        x = rng.normal(size=d.width(d.input_number))
        y = np.zeros(d.width(d.last))
        y[0] = 1.0
        px, py, pp = x.ctypes.data, y.ctypes.data, ctypes.addressof(params)
        return (median_time(lambda: step(pp, 1, px, py, 0.01), repeats, rounds),
                median_time(lambda: cost(pp, 0, px, py), repeats, rounds))

    def numpy_times(self, batch: int, repeats: int, rounds: int) -> tuple[float, float, float | None]:
        rng = np.random.default_rng(0)
        d = self.derivation
        n_in, n_out = d.width(d.input_number), d.width(d.last)
        X = rng.normal(size=(n_in, batch))
        Y = np.eye(n_out)[:, rng.integers(0, n_out, batch)] if n_out > 1 else rng.uniform(0, 1, (1, batch))
        params = self.module.init_params(0)
        softmax = d.layer(d.last).activation.is_softmax
        generated = median_time(lambda: self.module.sgd_step(params, X, Y, 0.01), repeats, rounds)
        hand = median_time(lambda: hand_numpy_sgd_step(params, X, Y, 0.01, self.names, softmax), repeats, rounds)
        return generated, hand, torch_time(params, X, Y, self.names, softmax, repeats, rounds)


def torch_time(params, X, Y, names, softmax: bool, repeats: int, rounds: int) -> float | None:
    """PyTorch eager on the CPU: autograd backward and an in-place update, or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    x, y = torch.tensor(X), torch.tensor(Y)
    w1, b1, w2, b2 = names

    def step():
        z1 = tensors[w1] @ x + (tensors[b1] if b1 in tensors else 0)
        z2 = tensors[w2] @ torch.sigmoid(z1) + (tensors[b2] if b2 in tensors else 0)
        if softmax:
            loss = -(y * torch.log_softmax(z2, dim=0)).sum() / x.shape[1]
        else:
            loss = 0.5 * ((torch.sigmoid(z2) - y) ** 2).sum() / x.shape[1]
        loss.backward()
        with torch.no_grad():
            for t in tensors.values():
                t -= 0.01 * t.grad
                t.grad = None
    return median_time(step, repeats, rounds)


# ------------------------------------------------------------------ toolkit speed

def toolkit_nets(quick: bool) -> list:
    nets = [load_spec(p) for p in sorted((ROOT / "generated").glob("*/spec.toml"))]
    widths = [(16, 8, 4), (64, 32, 10), (128, 64, 10), (256, 64, 10)]
    if not quick:
        widths += [(400, 100, 10), (784, 128, 10)]
    nets += [spec_from_dict(two_layer(f"toolkit_{a}_{b}_{c}", a, b, c)) for a, b, c in widths]
    return nets


def toolkit_times(network) -> tuple[float, float]:
    start = time.perf_counter()
    derivation = derive(network)
    report = prove(derivation)
    proved = time.perf_counter() - start
    if not report.ok:
        raise RuntimeError(f"proof failed for {network.name}")
    start = time.perf_counter()
    render(derivation, "numpy")
    render(derivation, "c")
    return proved, time.perf_counter() - start


def growth_exponent(params: list[int], seconds: list[float], at_least: int = 1000) -> float:
    """Slope of log(time) against log(parameters), fitted on the nets with at least ``at_least`` parameters."""
    points = [(p, s) for p, s in zip(params, seconds) if p >= at_least]
    x, y = np.log([p for p, _ in points]), np.log([s for _, s in points])
    return float(np.polyfit(x, y, 1)[0])


# ------------------------------------------------------------------ targets

CODE_RATIO_TARGET = 1.1        # generated / hand-written time, C and NumPy (batch ≥ 32)
TOOLKIT_SECONDS_TARGET = 30.0  # derive + prove + generate of the ~100k-parameter net
GROWTH_TARGET = 1.0            # no faster than linear in the parameter count


def target_rows(code_rows, numpy_rows, counts, totals, exponent) -> list[tuple[str, str, bool]]:
    """(target, measured figure, met?) for every target of the benchmark issue."""
    rows = []
    for label, per_example, batch in code_rows:
        worst = max(per_example, batch)
        rows.append((f"C {label} ≤ {CODE_RATIO_TARGET}× hand-written C", f"{worst:.2f}×",
                     worst <= CODE_RATIO_TARGET))
    for label, batch, ratio in numpy_rows:
        if batch >= BATCH:
            rows.append((f"NumPy {label}, batch {batch} ≤ {CODE_RATIO_TARGET}× hand-written NumPy", f"{ratio:.2f}×",
                         ratio <= CODE_RATIO_TARGET))
    biggest = max(range(len(counts)), key=counts.__getitem__)
    rows.append((f"{counts[biggest]} parameters: derive + prove + generate < {TOOLKIT_SECONDS_TARGET:.0f} s",
                 f"{totals[biggest]:.1f} s", totals[biggest] < TOOLKIT_SECONDS_TARGET))
    rows.append((f"growth exponent ≤ {GROWTH_TARGET}", f"{exponent:.2f}", exponent <= GROWTH_TARGET))
    return rows


# ------------------------------------------------------------------ report

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller nets and fewer repeats (about a minute)")
    parser.add_argument("--out", default=str(HERE / "results"), help="folder for results.md and performance.png")
    parser.add_argument("--rounds", type=int, default=0, help="timing rounds; the median is reported")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 7)
    code_nets = {k: v for k, v in CODE_NETS.items() if not (args.quick and k.startswith("784"))}
    lines = []

    def emit(text: str = "") -> None:
        print(text)
        lines.append(text)

    threads = os.environ.get("OMP_NUM_THREADS", "default")
    emit(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
         f"({len(os.sched_getaffinity(0))} available to this run, OMP_NUM_THREADS={threads}), Python "
         f"{platform.python_version()}, NumPy {np.__version__}, gcc {CFLAGS[0]}; median of {rounds} rounds.")
    emit()
    emit("### Generated C vs hand-written C (same flags, one program)")
    emit()
    emit("| net | step | generated | hand-written | ratio |")
    emit("|---|---|---|---|---|")
    code_rows, native = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        built = {}
        for label, (kind, source) in code_nets.items():
            network = _network(kind, source)
            directory = Path(tmp) / network.name
            built[label] = Built(network, directory)
            work = network.n_params
            steps = max(2000, int(4e7 / (work * 20 + 200)) // (4 if args.quick else 1))
            batches = max(100, steps // BATCH)
            g1, h1, g32, h32 = built[label].c_times(steps, batches, rounds)
            emit(f"| {label} | per example | {g1 * 1e9:.0f} ns | {h1 * 1e9:.0f} ns | {g1 / h1:.2f} |")
            emit(f"| {label} | batch of {BATCH} | {g32 * 1e6:.2f} µs | {h32 * 1e6:.2f} µs | {g32 / h32:.2f} |")
            code_rows.append((label, g1 / h1, g32 / h32))
            native[label] = g1
        emit()
        emit("### Generated C called from Python (ctypes), per-example step")
        emit()
        emit("| net | step called through ctypes | same step in C | ratio | a call that does no work |")
        emit("|---|---|---|---|---|")
        for label, b in built.items():
            call, empty = b.ctypes_times(max(200, int(2e5 / (b.network.n_params + 100))), rounds)
            emit(f"| {label} | {call * 1e6:.2f} µs | {native[label] * 1e6:.3f} µs | {call / native[label]:.2f} "
                 f"| {empty * 1e6:.2f} µs |")
        emit()
        emit("### Generated NumPy vs hand-written NumPy (and PyTorch eager, CPU)")
        emit()
        emit("| net | batch | generated | hand-written | ratio | PyTorch | generated / PyTorch |")
        emit("|---|---|---|---|---|---|---|")
        numpy_rows, torch_missing = [], False
        for label, b in built.items():
            for batch in (1, BATCH, 256):
                work = b.network.n_params * batch
                repeats = max(20, int(3e6 / (work + 3e4)) // (4 if args.quick else 1))
                generated, hand, torch = b.numpy_times(batch, repeats, rounds)
                torch_missing |= torch is None
                torch_text = "—" if torch is None else f"{torch * 1e6:.1f} µs"
                torch_ratio = "—" if torch is None else f"{generated / torch:.2f}"
                emit(f"| {label} | {batch} | {generated * 1e6:.1f} µs | {hand * 1e6:.1f} µs | {generated / hand:.2f} "
                     f"| {torch_text} | {torch_ratio} |")
                numpy_rows.append((label, batch, generated / hand))
        if torch_missing:
            emit()
            emit("PyTorch is not installed: its column is skipped (`pip install torch==2.13.0` adds it).")
    emit()
    emit("### Toolkit: derive + prove, and generate (NumPy + C)")
    emit()
    emit("| net | parameters | derive + prove | generate | total |")
    emit("|---|---|---|---|---|")
    counts, totals, proves, generates = [], [], [], []
    for network in toolkit_nets(args.quick):
        proved, generated = toolkit_times(network)
        counts.append(network.n_params)
        proves.append(proved)
        generates.append(generated)
        totals.append(proved + generated)
        emit(f"| {network.name} | {network.n_params} | {proved:.2f} s | {generated:.2f} s | {proved + generated:.2f} s |")
    exponent = growth_exponent(counts, totals)
    emit()
    emit(f"Growth: total time ∝ parameters^{exponent:.2f} (least squares on the nets with ≥ 1000 parameters).")
    emit()
    emit("### Targets")
    emit()
    emit("| target | measured | |")
    emit("|---|---|---|")
    for target, figure, met in target_rows(code_rows, numpy_rows, counts, totals, exponent):
        emit(f"| {target} | {figure} | {'met' if met else '**missed**'} |")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    plot(out / "performance.png", counts, proves, generates, totals, exponent, code_rows, numpy_rows)
    print(f"\nwrote {out / 'results.md'} and {out / 'performance.png'}")
    return 0


def plot(path: Path, counts, proves, generates, totals, exponent, code_rows, numpy_rows) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot")
        return
    order = sorted(range(len(counts)), key=counts.__getitem__)   # lines join the nets by size
    counts, proves, generates, totals = ([values[i] for i in order] for values in (counts, proves, generates, totals))
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.loglog(counts, totals, "o-", label="total")
    left.loglog(counts, proves, "s--", label="derive + prove")
    left.loglog(counts, generates, "^--", label="generate (NumPy + C)")
    reference = np.array([min(counts), max(counts)], dtype=float)
    left.loglog(reference, totals[-1] * reference / reference[-1], ":", color="gray", label="linear")
    left.set_xlabel("parameters")
    left.set_ylabel("seconds")
    left.set_title(f"toolkit time (fitted exponent {exponent:.2f})")
    left.legend()
    labels = [f"C {label}\nper example" for label, _, _ in code_rows] + [f"C {label}\nbatch 32" for label, _, _ in code_rows]
    values = [r for _, r, _ in code_rows] + [r for _, _, r in code_rows]
    labels += [f"NumPy {label}\nbatch {batch}" for label, batch, _ in numpy_rows if batch >= 32]
    values += [r for _, batch, r in numpy_rows if batch >= 32]
    right.barh(range(len(values)), values, color=["C0" if v <= 1.1 else "C3" for v in values])
    right.axvline(1.0, color="black", linewidth=0.8)
    right.axvline(1.1, color="gray", linestyle=":", linewidth=0.8)
    right.set_yticks(range(len(values)), labels, fontsize=7)
    right.set_xlabel("generated / hand-written time (target ≤ 1.1)")
    right.set_title("generated code speed")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
