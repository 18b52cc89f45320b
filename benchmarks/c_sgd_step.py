"""Time the generated C SGD step against a plain hand-written C loop for the same net.

    python benchmarks/c_sgd_step.py [--steps N] [--rounds R] [--cflags "-O2"]

For each net (the 2-3-1 lecture net and a 64-32-10 sigmoid/softmax/cce net) one C
program is built with both implementations and the same flags; it runs per-example
SGD steps over the same data, alternating the two implementations for R rounds,
and prints the median time per step of each and their ratio (generated /
hand-written; below 1 means the generated code is faster). Before timing, the
program checks that both implementations reach the same parameters.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deltagen.codegen.backends.c import CConfig  # noqa: E402
from deltagen.codegen.render import render, write_files  # noqa: E402
from deltagen.derive import derive, load_spec, spec_from_dict  # noqa: E402

# A hand-written 2-layer net, as someone would write it from a textbook: fixed sizes,
# loops, 1/(1 + exp(-z)) sigmoid hidden layer, in-place per-example update.
HAND_WRITTEN = r"""
typedef struct { double W1[N1][N0]; double b1[N1]; double W2[N2][N1]; double b2[N2]; } hand_params;

static void hand_sgd_step(hand_params *p, const double *x, const double *y, double eta)
{
    double a1[N1], a2[N2], d2[N2], d1[N1];
    for (int j = 0; j < N1; ++j) {
        double z = HAS_BIAS ? p->b1[j] : 0.0;
        for (int k = 0; k < N0; ++k) z += p->W1[j][k] * x[k];
        a1[j] = 1.0 / (1.0 + exp(-z));
    }
    double z2[N2];
    for (int j = 0; j < N2; ++j) {
        double z = HAS_BIAS ? p->b2[j] : 0.0;
        for (int k = 0; k < N1; ++k) z += p->W2[j][k] * a1[k];
        z2[j] = z;
    }
#if SOFTMAX_CCE
    double top = z2[0], total = 0.0;
    for (int j = 1; j < N2; ++j) if (z2[j] > top) top = z2[j];
    for (int j = 0; j < N2; ++j) { a2[j] = exp(z2[j] - top); total += a2[j]; }
    for (int j = 0; j < N2; ++j) { a2[j] /= total; d2[j] = a2[j] - y[j]; }
#else   /* sigmoid output, half squared error */
    for (int j = 0; j < N2; ++j) {
        a2[j] = 1.0 / (1.0 + exp(-z2[j]));
        d2[j] = (a2[j] - y[j]) * a2[j] * (1.0 - a2[j]);
    }
#endif
    for (int j = 0; j < N1; ++j) {
        double s = 0.0;
        for (int k = 0; k < N2; ++k) s += p->W2[k][j] * d2[k];
        d1[j] = s * a1[j] * (1.0 - a1[j]);
    }
    for (int j = 0; j < N2; ++j) {
        for (int k = 0; k < N1; ++k) p->W2[j][k] -= eta * d2[j] * a1[k];
        if (HAS_BIAS) p->b2[j] -= eta * d2[j];
    }
    for (int j = 0; j < N1; ++j) {
        for (int k = 0; k < N0; ++k) p->W1[j][k] -= eta * d1[j] * x[k];
        if (HAS_BIAS) p->b1[j] -= eta * d1[j];
    }
}
"""

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "{name}.h"

#define N0 {n0}
#define N1 {n1}
#define N2 {n2}
#define HAS_BIAS {bias}
#define SOFTMAX_CCE {softmax}
#define EXAMPLES 64
{hand}

static double now(void)
{{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}}

static void copy_params(hand_params *h, const {name}_params *g)
{{
    memset(h, 0, sizeof *h);
    memcpy(h->W1, g->{W1}, sizeof h->W1);
    memcpy(h->W2, g->{W2}, sizeof h->W2);
#if HAS_BIAS
    memcpy(h->b1, g->{b1}, sizeof h->b1);
    memcpy(h->b2, g->{b2}, sizeof h->b2);
#endif
}}

int main(int argc, char **argv)
{{
    long steps = argc > 1 ? atol(argv[1]) : 100000;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    static double X[EXAMPLES * N0], Y[EXAMPLES * N2];
    unsigned long s = 12345;
    for (int i = 0; i < EXAMPLES * N0; ++i) {{ s = (1103515245UL * s + 12345UL) & 0x7fffffffUL; X[i] = (double)s / 0x7fffffff * 2 - 1; }}
    for (int i = 0; i < EXAMPLES; ++i)
        for (int k = 0; k < N2; ++k) Y[i * N2 + k] = SOFTMAX_CCE ? (k == i % N2) : 0.5 + 0.4 * ((i % 2) ? 1 : -1);
    {name}_params g, g0;
    hand_params h, h0;
    {name}_init_params(&g0, 1);
    copy_params(&h0, &g0);

    /* same computation: both reach the same parameters after EXAMPLES steps */
    g = g0; h = h0;
    for (int i = 0; i < EXAMPLES; ++i) {{
        {name}_sgd_step(&g, 1, X + i * N0, Y + i * N2, 0.1);
        hand_sgd_step(&h, X + i * N0, Y + i * N2, 0.1);
    }}
    hand_params check;
    copy_params(&check, &g);
    double worst = 0;
    for (int j = 0; j < N1; ++j) for (int k = 0; k < N0; ++k) worst = fmax(worst, fabs(check.W1[j][k] - h.W1[j][k]));
    for (int j = 0; j < N2; ++j) for (int k = 0; k < N1; ++k) worst = fmax(worst, fabs(check.W2[j][k] - h.W2[j][k]));
    if (worst > 1e-9) {{ fprintf(stderr, "implementations disagree: %g\n", worst); return 1; }}

    double best_g[64], best_h[64];
    for (int r = 0; r < rounds && r < 64; ++r) {{
        g = g0; h = h0;
        double t0 = now();
        for (long i = 0; i < steps; ++i) {{ int e = (int)(i % EXAMPLES); {name}_sgd_step(&g, 1, X + e * N0, Y + e * N2, 0.01); }}
        double t1 = now();
        for (long i = 0; i < steps; ++i) {{ int e = (int)(i % EXAMPLES); hand_sgd_step(&h, X + e * N0, Y + e * N2, 0.01); }}
        double t2 = now();
        best_g[r] = (t1 - t0) / steps; best_h[r] = (t2 - t1) / steps;
        if (g.{W1}[0][0] == 12345.0 || h.W1[0][0] == 12345.0) printf("!");   /* keep the results live */
    }}
    for (int r = 0; r < rounds; ++r) printf("%.6e %.6e\n", best_g[r], best_h[r]);
    return 0;
}}
"""

NETS = {
    "lecture 2-3-1": ("spec", ROOT / "generated" / "lecture_vectorized_231" / "spec.toml"),
    "64-32-10": ("dict", {"name": "bench_64_32_10", "input": 64, "loss": "cce", "layers": [
        {"units": 32, "activation": "sigmoid"}, {"units": 10, "activation": "softmax"}]}),
}


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def run(label: str, kind: str, source, steps: int, rounds: int, cflags: list[str],
        config: CConfig = CConfig()) -> tuple[float, float]:
    network = load_spec(source) if kind == "spec" else spec_from_dict(source)
    derivation = derive(network)
    name = network.name
    # the hand-written reference has two layers: the first and the output layer
    first, second = derivation.first, derivation.last
    n0, n1, n2 = (derivation.width(layer) for layer in (derivation.input_number, first, second))
    has_bias = derivation.layer(first).bias
    softmax = derivation.layer(second).activation.is_softmax
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_files(render(derivation, "c", config), out)
        driver = DRIVER.format(name=name, n0=n0, n1=n1, n2=n2, bias=int(has_bias),
                               softmax=int(softmax), hand=HAND_WRITTEN, W1=f"W{first}", W2=f"W{second}",
                               b1=f"b{first}", b2=f"b{second}")
        if not has_bias:   # the bias copies are compiled out, but must still name fields
            driver = driver.replace(f"g->b{first}", "g->W1").replace(f"g->b{second}", "g->W1")
        (out / "driver.c").write_text(driver.replace("#include <time.h>", "#include <stdlib.h>\n#include <time.h>"))
        binary = out / "bench"
        subprocess.run(["gcc", "-std=c99", *cflags, str(out / "driver.c"), str(out / f"{name}.c"), "-o",
                        str(binary), "-lm"], check=True)
        result = subprocess.run([str(binary), str(steps), str(rounds)], check=True, capture_output=True, text=True)
    pairs = [tuple(map(float, line.split())) for line in result.stdout.split("\n") if line.strip()]
    return median([p[0] for p in pairs]), median([p[1] for p in pairs])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=0, help="SGD steps per timed run (default: per net)")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds; the median is reported")
    parser.add_argument("--cflags", default="-O2", help="compiler flags for both implementations (default -O2)")
    parser.add_argument("--unroll-max-weights", type=int, default=CConfig().unroll_max_weights,
                        help="generate layers with at most this many weights unrolled (0: loops everywhere)")
    args = parser.parse_args(argv)
    print(f"per-example SGD step, generated C (unroll_max_weights={args.unroll_max_weights}) vs hand-written C, "
          f"gcc {args.cflags}, median of {args.rounds} rounds")
    print(f"{'net':<16}{'generated':>14}{'hand-written':>16}{'ratio':>8}")
    for label, (kind, source) in NETS.items():
        steps = args.steps or (2_000_000 if label.startswith("lecture") else 100_000)
        generated, hand = run(label, kind, source, steps, args.rounds, args.cflags.split(),
                              CConfig(unroll_max_weights=args.unroll_max_weights))
        print(f"{label:<16}{generated * 1e9:>11.1f} ns{hand * 1e9:>13.1f} ns{generated / hand:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
