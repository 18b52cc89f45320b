"""A hand-written OpenBLAS SGD step for the nets of ``blas_step.py``, as C source (issue 17, item 5).

The reference keeps a batch as rows (X is (m, n_in) row-major, the generated C's layout), so each
layer is a few CBLAS calls: Z = A Wᵀ + 1 bᵀ (gemm, beta 1 on rows preset to b), the backward
Δ_{l-1} = (Δ_l W_l) ⊙ σ'(Z_{l-1}) (gemm), the gradient ∂C/∂W = Δᵀ A / m (gemm) and ∂C/∂b = Δᵀ 1 / m
(gemv), then θ ← θ − η g (axpy) over the flat parameters. It works on the flat parameters in the
generated struct's declaration order (W1, b1, W2, b2, ...), so a memcpy moves them between the two.
A conv net ([C, H, W] → conv relu → max pool → dense softmax + cce) is im2col + gemm: each output
pixel of each example is one row of patches, so the whole batch is one gemm.
The type follows REF_FLOAT: cblas_s* and expf when 1, cblas_d* and exp otherwise.
"""
from __future__ import annotations

from deltagen.derive.derivation.backprop import Derivation

COMMON = r"""
#include <cblas.h>
#include <math.h>
#include <string.h>
#if REF_FLOAT
typedef float ref_real;
#define GEMM cblas_sgemm
#define GEMV cblas_sgemv
#define AXPY cblas_saxpy
#define EXP expf
#else
typedef double ref_real;
#define GEMM cblas_dgemm
#define GEMV cblas_dgemv
#define AXPY cblas_daxpy
#define EXP exp
#endif
static ref_real ref_grad[REF_N_PARAMS];

/* Z (m x n) = A (m x k) W^T + rows of b (b may be 0) */
static void ref_affine(int m, int n, int k, const ref_real *A, const ref_real *W, const ref_real *b, ref_real *Z)
{
    if (b) for (int i = 0; i < m; ++i) memcpy(Z + (long)i * n, b, sizeof(ref_real) * n);
    GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, A, k, W, k, b ? 1 : 0, Z, n);
}

/* gW (n x k) = D^T A / m and gb = D^T 1 / m (gb may be 0) */
static void ref_gradient(int m, int n, int k, const ref_real *D, const ref_real *A, ref_real *gW, ref_real *gb,
                         const ref_real *ones)
{
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m, (ref_real)1 / m, D, n, A, k, 0, gW, k);
    if (gb) GEMV(CblasRowMajor, CblasTrans, m, n, (ref_real)1 / m, D, n, ones, 1, 0, gb, 1);
}

/* rows of Z: softmax, then D = A - Y (softmax + cce) */
static void ref_softmax_delta(int m, int n, ref_real *Z, const ref_real *Y, ref_real *D)
{
    for (int i = 0; i < m; ++i) {
        ref_real *z = Z + (long)i * n, top = z[0], total = 0;
        for (int j = 1; j < n; ++j) if (z[j] > top) top = z[j];
        for (int j = 0; j < n; ++j) { z[j] = EXP(z[j] - top); total += z[j]; }
        for (int j = 0; j < n; ++j) { z[j] /= total; D[(long)i * n + j] = z[j] - Y[(long)i * n + j]; }
    }
}
"""

DENSE = r"""
#define REF_L {layers}
static const int ref_n[REF_L + 1] = {{{widths}}};
static const int ref_bias[REF_L + 1] = {{{biases}}};
static ref_real ref_A[REF_L + 1][REF_MAX_BATCH * {widest}], ref_D[REF_L + 1][REF_MAX_BATCH * {widest}];
static ref_real ref_ones[REF_MAX_BATCH];

/* One SGD step on the batch, theta = the flat parameters (W1, b1, W2, ...), in place. */
static void ref_sgd_step(ref_real *theta, int m, const ref_real *X, const ref_real *Y, ref_real eta)
{{
    ref_real *W[REF_L + 1], *b[REF_L + 1], *gW[REF_L + 1], *gb[REF_L + 1];
    long at = 0;
    for (int l = 1; l <= REF_L; ++l) {{
        W[l] = theta + at; gW[l] = ref_grad + at; at += (long)ref_n[l] * ref_n[l - 1];
        b[l] = ref_bias[l] ? theta + at : 0; gb[l] = ref_bias[l] ? ref_grad + at : 0; at += ref_bias[l] ? ref_n[l] : 0;
    }}
    for (int i = 0; i < m; ++i) ref_ones[i] = 1;
    const ref_real *A = X;
    for (int l = 1; l <= REF_L; ++l) {{
        ref_affine(m, ref_n[l], ref_n[l - 1], A, W[l], b[l], ref_A[l]);
        if (l < REF_L)   /* hidden layers: sigmoid */
            for (long i = 0; i < (long)m * ref_n[l]; ++i) ref_A[l][i] = 1 / (1 + EXP(-ref_A[l][i]));
        A = ref_A[l];
    }}
#if REF_SOFTMAX_CCE
    ref_softmax_delta(m, ref_n[REF_L], ref_A[REF_L], Y, ref_D[REF_L]);
#else   /* sigmoid output, half squared error */
    for (long i = 0; i < (long)m * ref_n[REF_L]; ++i) {{
        ref_real a = 1 / (1 + EXP(-ref_A[REF_L][i]));
        ref_D[REF_L][i] = (a - Y[i]) * a * (1 - a);
    }}
#endif
    for (int l = REF_L; l >= 1; --l) {{
        ref_gradient(m, ref_n[l], ref_n[l - 1], ref_D[l], l > 1 ? ref_A[l - 1] : X, gW[l], gb[l], ref_ones);
        if (l > 1) {{   /* D_{{l-1}} = (D_l W_l) * a (1 - a) */
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, ref_n[l - 1], ref_n[l], 1, ref_D[l], ref_n[l],
                 W[l], ref_n[l - 1], 0, ref_D[l - 1], ref_n[l - 1]);
            for (long i = 0; i < (long)m * ref_n[l - 1]; ++i) ref_D[l - 1][i] *= ref_A[l - 1][i] * (1 - ref_A[l - 1][i]);
        }}
    }}
    AXPY(REF_N_PARAMS, -eta, ref_grad, 1, theta, 1);
}}
"""

CONV = r"""
enum {{ CI = {ci}, H = {h}, WD = {w}, K = {k}, PAD = {pad}, CO = {co}, HO = {ho}, WO = {wo}, P = HO * WO,
       S = {s}, HP = HO / S, WP = WO / S, NH = CO * HP * WP, NO = {no}, CKK = CI * K * K }};
static ref_real ref_cols[REF_MAX_BATCH * P * CKK], ref_Zc[REF_MAX_BATCH * P * CO], ref_Dc[REF_MAX_BATCH * P * CO];
static ref_real ref_Hd[REF_MAX_BATCH * NH], ref_DH[REF_MAX_BATCH * NH], ref_Z3[REF_MAX_BATCH * NO],
    ref_D3[REF_MAX_BATCH * NO], ref_ones[REF_MAX_BATCH * P];
static long ref_arg[REF_MAX_BATCH * NH];   /* where each pooled value came from in ref_Zc */

/* One SGD step of conv (stride 1) relu -> max pool S -> dense softmax + cce; theta = W1, b1, W3, b3. */
static void ref_sgd_step(ref_real *theta, int m, const ref_real *X, const ref_real *Y, ref_real eta)
{{
    ref_real *Wc = theta, *bc = Wc + CO * CKK, *W3 = bc + CO, *b3 = W3 + NO * NH;
    ref_real *gWc = ref_grad, *gbc = gWc + CO * CKK, *gW3 = gbc + CO, *gb3 = gW3 + NO * NH;
    for (long i = 0; i < (long)m * P; ++i) ref_ones[i] = 1;
    /* im2col: row (example, output pixel), column (input channel, kernel row, kernel column) */
    for (int i = 0; i < m; ++i)
        for (int oy = 0; oy < HO; ++oy) for (int ox = 0; ox < WO; ++ox) {{
            ref_real *row = ref_cols + ((long)i * P + oy * WO + ox) * CKK;
            for (int c = 0; c < CI; ++c) for (int ky = 0; ky < K; ++ky) for (int kx = 0; kx < K; ++kx) {{
                int y = oy + ky - PAD, x = ox + kx - PAD;
                row[(c * K + ky) * K + kx] = (y < 0 || y >= H || x < 0 || x >= WD) ? 0
                    : X[(long)i * CI * H * WD + (c * H + y) * WD + x];
            }}
        }}
    ref_affine(m * P, CO, CKK, ref_cols, Wc, bc, ref_Zc);                 /* (example, pixel, channel) */
    for (long i = 0; i < (long)m * P * CO; ++i) ref_Zc[i] *= ref_Zc[i] > 0;   /* relu, without a branch */
    for (int i = 0; i < m; ++i)   /* max pool into (channel, row, column), the first maximum of each window */
        for (int c = 0; c < CO; ++c) for (int py = 0; py < HP; ++py) for (int px = 0; px < WP; ++px) {{
            long best = ((long)i * P + py * S * WO + px * S) * CO + c;
            for (int dy = 0; dy < S; ++dy) for (int dx = 0; dx < S; ++dx) {{
                long at = ((long)i * P + (py * S + dy) * WO + px * S + dx) * CO + c;
                best = ref_Zc[at] > ref_Zc[best] ? at : best;   /* a conditional move, not a branch */
            }}
            long out = (long)i * NH + (c * HP + py) * WP + px;
            ref_Hd[out] = ref_Zc[best]; ref_arg[out] = best;
        }}
    ref_affine(m, NO, NH, ref_Hd, W3, b3, ref_Z3);
    ref_softmax_delta(m, NO, ref_Z3, Y, ref_D3);
    ref_gradient(m, NO, NH, ref_D3, ref_Hd, gW3, gb3, ref_ones);
    GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, NH, NO, 1, ref_D3, NO, W3, NH, 0, ref_DH, NH);
    memset(ref_Dc, 0, sizeof(ref_real) * (size_t)m * P * CO);
    for (long i = 0; i < (long)m * NH; ++i)
        if (ref_Zc[ref_arg[i]] > 0) ref_Dc[ref_arg[i]] = ref_DH[i];      /* relu'(z) = [z > 0] */
    /* the conv gradient sums over every (example, pixel) row; the cost is a mean over the m examples */
    GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, CO, CKK, m * P, (ref_real)1 / m, ref_Dc, CO, ref_cols, CKK, 0,
         gWc, CKK);
    GEMV(CblasRowMajor, CblasTrans, m * P, CO, (ref_real)1 / m, ref_Dc, CO, ref_ones, 1, 0, gbc, 1);
    AXPY(REF_N_PARAMS, -eta, ref_grad, 1, theta, 1);
}}
"""


def reference_source(derivation: Derivation, max_batch: int, precision: str) -> str:
    """The C text of ``ref_sgd_step`` for this net (static buffers for batches up to ``max_batch``)."""
    network = derivation.network
    if network.reduction != "mean" or derivation.l2:
        raise ValueError("the OpenBLAS reference takes reduction = mean and no l2")
    layers = [derivation.layer(n) for n in derivation.layer_numbers]
    head = (f"#define REF_FLOAT {int(precision == 'float')}\n#define REF_MAX_BATCH {max_batch}\n"
            f"#define REF_N_PARAMS {network.n_params}\n")
    if network.has_spatial_layers:
        conv, pool, dense = layers
        assert [layer.kind for layer in layers] == ["conv", "pool", "dense"] and conv.activation.name == "relu"
        assert conv.stride == (1, 1) and pool.mode == "max" and pool.size == pool.stride
        assert dense.activation.is_softmax and network.loss.name == "cce"
        ci, h, w = conv.in_shape
        ho, wo = h + 2 * conv.padding[0] - conv.kernel[0] + 1, w + 2 * conv.padding[1] - conv.kernel[1] + 1
        assert conv.kernel[0] == conv.kernel[1] and conv.padding[0] == conv.padding[1] and pool.size[0] == pool.size[1]
        body = CONV.format(ci=ci, h=h, w=w, k=conv.kernel[0], pad=conv.padding[0], co=conv.channels, ho=ho, wo=wo,
                           s=pool.size[0], no=dense.units)
        return head + COMMON + body
    widths = [derivation.width(derivation.input_number)] + [derivation.width(n) for n in derivation.layer_numbers]
    for hidden in layers[:-1]:
        assert hidden.activation.name == "sigmoid", "the reference's hidden layers are sigmoid"
    output = layers[-1]
    softmax = output.activation.is_softmax and network.loss.name == "cce"
    assert softmax or (output.activation.name == "sigmoid" and network.loss.name == "half_sse")
    body = DENSE.format(layers=len(layers), widths=", ".join(map(str, widths)),
                        biases=", ".join(["0"] + [str(int(layer.bias)) for layer in layers]), widest=max(widths))
    return head + f"#define REF_SOFTMAX_CCE {int(softmax)}\n" + COMMON + body


DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "{name}.h"
{reference}
#define MAX_ROUNDS 64

static {name}_real X[REF_MAX_BATCH * {name}_N_IN], Y[REF_MAX_BATCH * {name}_N_OUT];
static {name}_params p0, g;
static ref_real r0[REF_N_PARAMS], r[REF_N_PARAMS];

static double now(void)
{{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}}

static int by_value(const void *a, const void *b)
{{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}}

/* seconds per step of `steps` steps from the initial parameters: the generated step (which = 0) or the reference */
static double seconds_per_step(int which, int m, long steps)
{{
    g = p0;
    memcpy(r, r0, sizeof r);
    double t0 = now();
    if (which == 0) for (long i = 0; i < steps; ++i) {name}_sgd_step(&g, m, X, Y, {rate});
    else for (long i = 0; i < steps; ++i) ref_sgd_step(r, m, X, Y, {rate});
    double t = (now() - t0) / steps;
    if (((const {name}_real *)&g)[0] == 12345 || r[0] == 12345) printf("!");   /* keep the results live */
    return t;
}}

/* argv: data file (doubles: X then Y of REF_MAX_BATCH examples), rounds (0: check only), seconds per timing,
 * then the batch sizes. Prints "check m worst moved" per batch, then "time m generated reference" (medians). */
int main(int argc, char **argv)
{{
    int rounds = atoi(argv[2]), nb = argc - 4;
    double budget = atof(argv[3]);
    FILE *data = fopen(argv[1], "rb");
    for (long i = 0; i < REF_MAX_BATCH * {name}_N_IN + REF_MAX_BATCH * {name}_N_OUT; ++i) {{
        double v;
        if (!data || fread(&v, sizeof v, 1, data) != 1) {{ fprintf(stderr, "short data file\n"); return 2; }}
        if (i < REF_MAX_BATCH * {name}_N_IN) X[i] = ({name}_real)v; else Y[i - REF_MAX_BATCH * {name}_N_IN] = ({name}_real)v;
    }}
    fclose(data);
    openblas_set_num_threads(1);
    if (sizeof p0 != sizeof r0 || sizeof({name}_real) != sizeof(ref_real)) {{ fprintf(stderr, "layouts differ\n"); return 2; }}
    {name}_init_params(&p0, 1);
    memcpy(r0, &p0, sizeof r0);
    for (int b = 0; b < nb; ++b) {{   /* before any timing: one step of each reaches the same parameters */
        int m = atoi(argv[4 + b]);
        g = p0;
        memcpy(r, r0, sizeof r);
        {name}_sgd_step(&g, m, X, Y, {rate});
        ref_sgd_step(r, m, X, Y, {rate});
        const {name}_real *flat = (const {name}_real *)&g;
        const {name}_real *start = (const {name}_real *)&p0;
        double worst = 0, scale = 0, moved = 0;
        for (int i = 0; i < REF_N_PARAMS; ++i) {{
            worst = fmax(worst, fabs((double)flat[i] - (double)r[i]));
            scale = fmax(scale, fabs((double)flat[i]));
            moved = fmax(moved, fabs((double)flat[i] - (double)start[i]));
        }}
        printf("check %d %.3e %.3e\n", m, worst / scale, moved / scale);   /* moved: the step did something */
        if (!(worst <= {tolerance} * scale)) {{ fprintf(stderr, "batch %d: the steps disagree (%.3e)\n", m, worst / scale); return 3; }}
    }}
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    for (int b = 0; b < nb && rounds > 0; ++b) {{
        int m = atoi(argv[4 + b]);
        long steps[2];
        double t[2][MAX_ROUNDS];
        for (int which = 0; which < 2; ++which) {{   /* steps per timing: about `budget` seconds */
            long n = 1;
            double once = seconds_per_step(which, m, n);
            while (once * n < budget / 4 && n < 100000000L) {{ n *= 4; once = seconds_per_step(which, m, n); }}
            steps[which] = (long)(budget / once) + 1;
        }}
        for (int k = 0; k < rounds; ++k)   /* interleaved: a slower moment of the machine hits both */
            for (int which = 0; which < 2; ++which) t[which][k] = seconds_per_step(which, m, steps[which]);
        qsort(t[0], rounds, sizeof(double), by_value);
        qsort(t[1], rounds, sizeof(double), by_value);
        printf("time %d %.6e %.6e\n", m, t[0][rounds / 2], t[1][rounds / 2]);
    }}
    return 0;
}}
"""

MACHINE = r"""
#define _POSIX_C_SOURCE 199309L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The single-thread peak (best GFLOP/s of a large dgemm and sgemm, 2 n^3 flops) and the memory
 * bandwidth (best GB/s of a memcpy of a 256 MiB array, counted as bytes read + bytes written). */
int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1536, rounds = argc > 2 ? atoi(argv[2]) : 5;
    openblas_set_num_threads(1);
    double *a = malloc(sizeof(double) * n * n * 3);
    float *f = malloc(sizeof(float) * n * n * 3);
    for (long i = 0; i < 3L * n * n; ++i) { a[i] = (double)(i % 7) / 7; f[i] = (float)(i % 5) / 5; }
    double best_d = 0, best_s = 0, best_bw = 0;
    for (int k = 0; k < rounds; ++k) {
        double t0 = now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, a + n * n, n, 0, a + 2L * n * n, n);
        double t1 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, f, n, f + n * n, n, 0, f + 2L * n * n, n);
        double t2 = now(), flops = 2.0 * n * n * n;
        if (flops / (t1 - t0) > best_d) best_d = flops / (t1 - t0);
        if (flops / (t2 - t1) > best_s) best_s = flops / (t2 - t1);
    }
    size_t bytes = 256UL << 20;
    char *src = malloc(bytes), *dst = malloc(bytes);
    memset(src, 1, bytes);
    memset(dst, 2, bytes);
    for (int k = 0; k < rounds; ++k) {
        double t0 = now();
        memcpy(dst, src, bytes);
        double t = now() - t0;
        if (2.0 * bytes / t > best_bw) best_bw = 2.0 * bytes / t;
        src[k] = dst[bytes - 1 - k];
    }
    printf("%.6e %.6e %.6e\n", best_d, best_s, best_bw);
    return 0;
}
"""


def driver_source(derivation: Derivation, max_batch: int, precision: str, rate: float) -> str:
    """One C program: the generated step and the OpenBLAS reference, the check, then interleaved timing."""
    name = derivation.network.name
    return DRIVER.format(name=name, reference=reference_source(derivation, max_batch, precision), rate=repr(rate),
                         tolerance="1e-4" if precision == "float" else "1e-10")
