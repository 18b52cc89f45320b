"""The references the generated code is timed against: plain hand-written C and NumPy for a 2-layer net.

Both are written as a person would from a textbook: fixed sizes, loops in C,
vectorised NumPy, 1/(1 + e^{−z}) sigmoid hidden layer, and either a sigmoid
output with half squared error or a max-subtracted softmax with cross-entropy;
mean over the batch. ``HAS_BIAS`` and ``SOFTMAX_CCE`` select the variant.
"""
from __future__ import annotations

import numpy as np

HAND_C = r"""
typedef struct { double W1[N1][N0]; double b1[N1]; double W2[N2][N1]; double b2[N2]; } hand_params;

/* forward and backward pass of one example: a1, and the deltas d1, d2 */
static void hand_example(const hand_params *p, const double *x, const double *y,
                         double *a1, double *d1, double *d2)
{
    double z2[N2], a2[N2];
    for (int j = 0; j < N1; ++j) {
        double z = HAS_BIAS ? p->b1[j] : 0.0;
        for (int k = 0; k < N0; ++k) z += p->W1[j][k] * x[k];
        a1[j] = 1.0 / (1.0 + exp(-z));
    }
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
#else
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
}

/* one example, updated in place */
static void hand_sgd_step(hand_params *p, const double *x, const double *y, double eta)
{
    double a1[N1], d1[N1], d2[N2];
    hand_example(p, x, y, a1, d1, d2);
    for (int j = 0; j < N2; ++j) {
        for (int k = 0; k < N1; ++k) p->W2[j][k] -= eta * d2[j] * a1[k];
        if (HAS_BIAS) p->b2[j] -= eta * d2[j];
    }
    for (int j = 0; j < N1; ++j) {
        for (int k = 0; k < N0; ++k) p->W1[j][k] -= eta * d1[j] * x[k];
        if (HAS_BIAS) p->b1[j] -= eta * d1[j];
    }
}

/* a batch of m examples: mean gradient into a buffer, then one update */
static void hand_sgd_batch(hand_params *p, int m, const double *X, const double *Y, double eta)
{
    static hand_params g;   /* benchmark-only scratch */
    memset(&g, 0, sizeof g);
    for (int i = 0; i < m; ++i) {
        double a1[N1], d1[N1], d2[N2];
        const double *x = X + i * N0;
        hand_example(p, x, Y + i * N2, a1, d1, d2);
        for (int j = 0; j < N2; ++j) {
            for (int k = 0; k < N1; ++k) g.W2[j][k] += d2[j] * a1[k];
            g.b2[j] += d2[j];
        }
        for (int j = 0; j < N1; ++j) {
            for (int k = 0; k < N0; ++k) g.W1[j][k] += d1[j] * x[k];
            g.b1[j] += d1[j];
        }
    }
    const double step = eta / m;
    for (int j = 0; j < N2; ++j) {
        for (int k = 0; k < N1; ++k) p->W2[j][k] -= step * g.W2[j][k];
        if (HAS_BIAS) p->b2[j] -= step * g.b2[j];
    }
    for (int j = 0; j < N1; ++j) {
        for (int k = 0; k < N0; ++k) p->W1[j][k] -= step * g.W1[j][k];
        if (HAS_BIAS) p->b1[j] -= step * g.b1[j];
    }
}
"""


def hand_numpy_sgd_step(params: dict, X: np.ndarray, Y: np.ndarray, learning_rate: float,
                        names: tuple[str, str, str, str], softmax_cce: bool) -> dict:
    """One mean-gradient step of a 2-layer net, as plain vectorised NumPy (biases optional)."""
    w1, b1, w2, b2 = names
    W1, W2 = params[w1], params[w2]
    m = X.shape[1]
    Z1 = W1 @ X
    if b1 in params:
        Z1 = Z1 + params[b1]
    A1 = 1.0 / (1.0 + np.exp(-Z1))
    Z2 = W2 @ A1
    if b2 in params:
        Z2 = Z2 + params[b2]
    if softmax_cce:
        E = np.exp(Z2 - Z2.max(axis=0, keepdims=True))
        A2 = E / E.sum(axis=0, keepdims=True)
        D2 = A2 - Y
    else:
        A2 = 1.0 / (1.0 + np.exp(-Z2))
        D2 = (A2 - Y) * A2 * (1.0 - A2)
    D1 = (W2.T @ D2) * A1 * (1.0 - A1)
    step = learning_rate / m
    out = {w1: W1 - step * (D1 @ X.T), w2: W2 - step * (D2 @ A1.T)}
    if b1 in params:
        out[b1] = params[b1] - step * D1.sum(axis=1, keepdims=True)
        out[b2] = params[b2] - step * D2.sum(axis=1, keepdims=True)
    return out
