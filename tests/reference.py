"""An independent 50-digit reference for dense networks, written with mpmath only.

Nothing here imports deltagen (derive, codegen, generated): the tests use it as the
source of expected numbers. A network is a list of layers ``(W_name, b_name, activation)``
(``b_name`` None for a layer without bias); ``params`` maps names to plain nested lists,
W as rows (units × inputs) and b as a column [[b1], [b2], ...] or flat [b1, b2, ...].
X and Y are lists of rows with one column per example, as in the specs.
"""
from __future__ import annotations

import mpmath
from mpmath import mp

DIGITS = 50
mp.dps = DIGITS
FD_STEP = mpmath.mpf("1e-15")  # central difference: truncation error ~ h² f''' ~ 1e-30

ACTIVATIONS = {
    "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)),
    "tanh": mpmath.tanh,
    "identity": lambda z: z,
    "relu": lambda z: z if z > 0 else mpmath.mpf(0),
}


def mpf(value) -> mpmath.mpf:
    """A float as the exact binary number NumPy sees (0.1 stays the double nearest 0.1); a str as the decimal it
    writes (a spec's "0.1", which is what deltagen's exact evaluation computes with)."""
    if isinstance(value, mpmath.mpf):
        return value
    return mpmath.mpf(value) if isinstance(value, str) else mpmath.mpf(float(value))


def _flat(vector) -> list:
    return [v[0] if isinstance(v, (list, tuple)) else v for v in vector]


def forward(layers, params, x) -> list:
    """Output activations for one example ``x`` (a list of n_in numbers)."""
    a = [mpf(v) for v in x]
    for w_name, b_name, activation in layers:
        W = params[w_name]
        b = _flat(params[b_name]) if b_name else [0] * len(W)
        g = ACTIVATIONS[activation]
        a = [g(mpmath.fsum(mpf(w) * ak for w, ak in zip(row, a)) + mpf(bj)) for row, bj in zip(W, b)]
    return a


def loss(name: str, a: list, y: list) -> mpmath.mpf:
    """half_sse = ½ Σ (a − y)²;  bce = −Σ [y log a + (1 − y) log(1 − a)]."""
    y = [mpf(v) for v in y]
    if name == "half_sse":
        return mpmath.fsum((ak - yk) ** 2 for ak, yk in zip(a, y)) / 2
    if name == "bce":
        return -mpmath.fsum(yk * mpmath.log(ak) + (1 - yk) * mpmath.log(1 - ak) for ak, yk in zip(a, y))
    raise ValueError(f"unknown loss {name!r}")


def columns(rows) -> list:
    """The examples (columns) of a list of rows."""
    return [list(col) for col in zip(*rows)]


def cost(layers, params, X, Y, loss_name: str, reduction: str = "mean") -> mpmath.mpf:
    """Sum or mean over the columns of X, Y of the per-example loss."""
    xs, ys = columns(X), columns(Y)
    total = mpmath.fsum(loss(loss_name, forward(layers, params, x), y) for x, y in zip(xs, ys))
    return total / len(xs) if reduction == "mean" else total


@mp.workdps(DIGITS)  # whatever precision another test module left mp at
def fd_gradient(f, params, h=FD_STEP) -> dict:
    """Central differences (f(θ + h) − f(θ − h)) / 2h of ``f(params)`` for every entry of every param.

    Returns a dict of nested lists with the shapes of ``params``.
    """
    base = {name: [[mpf(v) for v in (row if isinstance(row, (list, tuple)) else [row])] for row in value]
            for name, value in params.items()}
    grad = {}
    for name, value in base.items():
        grad[name] = [[None] * len(row) for row in value]
        for i, row in enumerate(value):
            for j, v in enumerate(row):
                shifted = []
                for sign in (1, -1):
                    trial = {k: [list(r) for r in m] for k, m in base.items()}
                    trial[name][i][j] = v + sign * h
                    shifted.append(f(trial))
                grad[name][i][j] = (shifted[0] - shifted[1]) / (2 * h)
    return grad
