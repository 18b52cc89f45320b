"""Every intermediate number of one forward and backward pass, from the derivation's expressions.

``evaluate(derivation, params, X, Y, learning_rate, digits=...)`` returns a ``Trace``:
z, a, per-example losses, the cost, per-example δ, the reduced gradients and the
parameters after one gradient step. Nothing here re-types a formula: each step is
the derivation's index-form SymPy expression (``z_index``, ``a_index``, ``loss``,
``output_delta``, ``delta_index``, ``grad_W_index``, ``grad_b_index``), compiled by
``sympy.lambdify`` — for NumPy (float64, vectorised over the examples) when
``digits == 0``, for mpmath at ``digits`` significant digits otherwise.

``Steps`` exposes the same compiled steps one at a time, so a caller (the answer
checker) can recompute what follows from numbers of its own choosing.
"""
from __future__ import annotations

import contextlib
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

from ..model.activations import A as GENERIC_A, Z as GENERIC_Z
from ..derivation.backprop import M, Derivation
from ..errors import SpecError

Array = np.ndarray


# ---------------------------------------------------------------- number systems

class _Numbers:
    """How numbers are made and combined: float64 arrays, or object arrays of mpmath mpf."""

    def __init__(self, digits: int) -> None:
        self.digits = digits
        self.exact = digits > 0

    def scalar(self, value: Any):
        """One number: a float64, or an mpf (a float stays the exact binary number it is; a str is read as decimal)."""
        if self.exact:
            if isinstance(value, mpmath.mpf):
                return value
            if isinstance(value, (str, int)):
                return mpmath.mpf(value)
            if isinstance(value, sp.Basic):
                return mpmath.mpf(sp.N(value, self.digits + 10))
            return mpmath.mpf(float(value))
        return float(value)

    def array(self, value: Any) -> Array:
        """An array of numbers (float64, or object array of mpf)."""
        if self.exact:
            raw = np.asarray(value, dtype=object)
            out = np.empty(raw.shape, dtype=object)
            for index in np.ndindex(raw.shape):
                out[index] = self.scalar(raw[index])
            return out
        return np.asarray(value, dtype=np.float64)


# ---------------------------------------------------------------- compiled steps

def _lambdify(symbols: Sequence[sp.Symbol], exprs: Sequence[sp.Expr], exact: bool) -> Callable:
    return sp.lambdify(list(symbols), list(exprs), modules="mpmath" if exact else "numpy", cse=True)


class Steps:
    """The derivation's per-layer steps compiled for one number system.

    Every method takes and returns columns-are-examples arrays: a layer's z, a, δ
    are (n_l, m); weights (n_l, n_{l−1}); biases (n_l, 1) or None. ``index`` is
    the internal layer index 1..L.
    """

    _cache: "weakref.WeakKeyDictionary[Derivation, dict[bool, Steps]]" = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, derivation: Derivation, exact: bool = False) -> "Steps":
        """The compiled steps for ``derivation`` (compiled once, then reused).

        ``exact``: mpmath functions, which compute at the precision in force when called
        (``mpmath.workdps``); otherwise NumPy float64 functions.
        """
        per_derivation = cls._cache.setdefault(derivation, {})
        if exact not in per_derivation:
            per_derivation[exact] = cls(derivation, exact)
        return per_derivation[exact]

    def __init__(self, derivation: Derivation, exact: bool) -> None:
        self.derivation = derivation
        self.exact = exact
        self.L = derivation.L
        self.sizes = derivation.network.sizes
        self._compiled: dict[tuple, tuple[Callable, list[sp.Symbol]]] = {}

    def scalar(self, value: Any):
        """A number in this number system (mpf, or float)."""
        if self.exact:
            return value if isinstance(value, mpmath.mpf) else mpmath.mpf(
                value if isinstance(value, (int, str)) else float(value))
        return float(value)

    # -- compilation, lazily per step
    def _function(self, key: tuple, build: Callable[[], tuple[list[sp.Symbol], list[sp.Expr]]]):
        if key not in self._compiled:
            symbols, exprs = build()
            self._compiled[key] = (_lambdify(symbols, exprs, self.exact), symbols)
        return self._compiled[key]

    def _apply(self, key: tuple, build, values: Mapping[sp.Symbol, Any], m: int) -> Array:
        """Evaluate the step's expressions for every example; returns (n_exprs, m)."""
        function, symbols = self._function(key, build)
        if not self.exact:
            if m == 1:   # one example (the answer checker's case): plain numbers are much faster
                args = [v[0] if isinstance(v, np.ndarray) else v for v in (values[s] for s in symbols)]
                with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                    rows = function(*args)
                return np.array([float(r) for r in rows], dtype=np.float64).reshape(-1, 1)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                rows = function(*[values[s] for s in symbols])
            return np.vstack([np.broadcast_to(np.asarray(r, dtype=np.float64), (m,)) for r in rows])
        columns = []
        for i in range(m):
            args = [values[s][i] if isinstance(values[s], np.ndarray) else values[s] for s in symbols]
            columns.append([self.scalar(v) for v in function(*args)])
        out = np.empty((len(columns[0]) if columns else 0, m), dtype=object)
        for i, column in enumerate(columns):
            out[:, i] = column
        return out

    def _bind(self, symbols: Sequence[sp.Symbol], rows: Array, values: dict) -> None:
        """values[symbol_j] = row j of ``rows`` (one entry per example)."""
        for j, symbol in enumerate(symbols):
            values[symbol] = rows[j]

    def _bind_matrix(self, symbols: sp.Matrix, matrix: Array, values: dict) -> None:
        for j in range(symbols.rows):
            for k in range(symbols.cols):
                values[symbols[j, k]] = matrix[j, k]

    # -- forward
    def z(self, index: int, W: Array, b: Array | None, a_prev: Array) -> Array:
        """z^[l] = W a^[l−1] + b, from ``z_index``."""
        d = self.derivation
        s = d.symbols(index)

        def build():
            symbols = list(d.activations_of(index - 1)) + list(s.W) + (list(s.b) if s.b else [])
            return symbols, d.z_index(index)
        values: dict = {}
        self._bind(d.activations_of(index - 1), a_prev, values)
        self._bind_matrix(s.W, W, values)
        if s.b:
            self._bind(s.b, b[:, 0], values)
        return self._apply(("z", index), build, values, a_prev.shape[1])

    def a(self, index: int, z: Array) -> Array:
        """a^[l] = g(z^[l]), from ``a_index``."""
        d = self.derivation
        s = d.symbols(index)
        if d.network.layers[index - 1].activation.is_softmax and not self.exact:
            z = z - z.max(axis=0, keepdims=True)   # softmax is shift-invariant; keeps e^z finite
        values: dict = {}
        self._bind(s.z, z, values)
        return self._apply(("a", index), lambda: (list(s.z), d.a_index(index)), values, z.shape[1])

    def loss(self, a_out: Array, Y: Array) -> Array:
        """ℓ_i per example (shape (m,)), from ``loss``."""
        d = self.derivation
        s = d.symbols(self.L)
        values: dict = {}
        self._bind(s.a, a_out, values)
        self._bind(d.y, Y, values)
        return self._apply(("loss",), lambda: (list(s.a) + list(d.y), [d.loss]), values, Y.shape[1])[0]

    # -- backward
    def output_delta(self, a_out: Array, z_out: Array, Y: Array) -> Array:
        """δ^[L] per example, from ``output_delta``."""
        d = self.derivation
        s = d.symbols(self.L)
        values: dict = {}
        self._bind(s.a, a_out, values)
        self._bind(s.z, z_out, values)
        self._bind(d.y, Y, values)
        return self._apply(("delta", self.L), lambda: (list(s.a) + list(s.z) + list(d.y), d.output_delta),
                           values, Y.shape[1])

    def hidden_delta(self, index: int, a: Array, z: Array, W_next: Array, delta_next: Array) -> Array:
        """δ^[l] = g'(z^[l]) ⊙ W^[l+1]ᵀ δ^[l+1], from ``delta_index``."""
        d = self.derivation
        s, nxt = d.symbols(index), d.symbols(index + 1)
        values: dict = {}
        self._bind(s.a, a, values)
        self._bind(s.z, z, values)
        self._bind_matrix(nxt.W, W_next, values)
        self._bind(nxt.delta, delta_next, values)
        build = lambda: (list(s.a) + list(s.z) + list(nxt.W) + list(nxt.delta), d.delta_index(index))
        return self._apply(("delta", index), build, values, a.shape[1])

    # -- the factors of the backward steps, for callers that recompute them one by one
    def loss_gradient(self, a_out: Array, Y: Array) -> Array:
        """∂ℓ/∂a^[L] per example: ``sympy.diff`` of the derivation's ``loss``."""
        d = self.derivation
        s = d.symbols(self.L)
        values: dict = {}
        self._bind(s.a, a_out, values)
        self._bind(d.y, Y, values)
        build = lambda: (list(s.a) + list(d.y), [sp.diff(d.loss, aj) for aj in s.a])
        return self._apply(("dl/da",), build, values, Y.shape[1])

    def activation_derivative(self, index: int, a: Array, z: Array) -> Array:
        """g'(z^[l]) per unit (elementwise activations): the layer's lecture-form derivative."""
        d = self.derivation
        s = d.symbols(index)
        derivative = d.network.layers[index - 1].activation.lecture_derivative
        values: dict = {}
        self._bind(s.a, a, values)
        self._bind(s.z, z, values)
        build = lambda: (list(s.a) + list(s.z),
                         [derivative.subs({GENERIC_A: s.a[j], GENERIC_Z: s.z[j]}) for j in range(len(s.z))])
        return self._apply(("g'", index), build, values, a.shape[1])

    def output_jacobian(self, a_out: Array, z_out: Array) -> Array:
        """∂a_j^[L]/∂z_k^[L] per example, shape (m, n_L, n_L), from ``Derivation.output_jacobian``."""
        d = self.derivation
        s = d.symbols(self.L)
        J = d.output_jacobian
        values: dict = {}
        self._bind(s.a, a_out, values)
        self._bind(s.z, z_out, values)
        rows = self._apply(("J",), lambda: (list(s.a) + list(s.z), list(J)), values, a_out.shape[1])
        n = J.rows
        return np.stack([rows[:, i].reshape(n, n) for i in range(a_out.shape[1])])

    def back_sum(self, index: int, W_next: Array, delta_next: Array) -> Array:
        """Σ_k W_kj^[l+1] δ_k^[l+1] = ∂(Σ_k δ_k z_k^[l+1])/∂a_j^[l]: the sum in δ^[l]'s recurrence."""
        d = self.derivation
        s, nxt = d.symbols(index), d.symbols(index + 1)
        values: dict = {}
        self._bind_matrix(nxt.W, W_next, values)
        self._bind(nxt.delta, delta_next, values)

        def build():
            weighted = sp.Add(*[nxt.delta[k] * zk for k, zk in enumerate(d.z_index(index + 1))])
            return list(nxt.W) + list(nxt.delta), [sp.diff(weighted, aj) for aj in s.a]
        return self._apply(("back", index), build, values, delta_next.shape[1])

    def example_grad_W(self, index: int, delta: Array, a_prev: Array) -> Array:
        """∂ℓ_i/∂W^[l] for every example i, shape (m, n_l, n_{l−1}), from ``grad_W_index``."""
        d = self.derivation
        s = d.symbols(index)
        prev = d.activations_of(index - 1)
        values: dict = {}
        self._bind(s.delta, delta, values)
        self._bind(prev, a_prev, values)
        build = lambda: (list(s.delta) + list(prev), list(d.grad_W_index(index)))
        rows = self._apply(("dW", index), build, values, delta.shape[1])
        n, n_prev = len(s.delta), len(prev)
        return np.stack([rows[:, i].reshape(n, n_prev) for i in range(delta.shape[1])])

    def example_grad_b(self, index: int, delta: Array) -> Array | None:
        """∂ℓ_i/∂b^[l] for every example, shape (m, n_l, 1); None without bias. From ``grad_b_index``."""
        d = self.derivation
        exprs = d.grad_b_index(index)
        if exprs is None:
            return None
        s = d.symbols(index)
        values: dict = {}
        self._bind(s.delta, delta, values)
        rows = self._apply(("db", index), lambda: (list(s.delta), exprs), values, delta.shape[1])
        return np.stack([rows[:, i].reshape(-1, 1) for i in range(delta.shape[1])])

    # -- reductions
    def reduction(self, m: int):
        """c in C = c Σ ℓ_i + (λ/2) Σ‖W‖²: from ``reduction_factor`` at this m."""
        factor = self.derivation.reduction_factor.subs(M, m)       # 1/m or 1, exact
        return mpmath.mpf(factor.p) / factor.q if self.exact else float(factor)

    def l2(self):
        """λ, from ``Derivation.l2`` with the spec's value."""
        if self.derivation.l2 == 0:
            return self.scalar(0)
        return self.scalar(self.derivation.network.l2)   # the spec's float, as the exact binary number

    def cost(self, losses: Array, W: Mapping[int, Array]):
        """C = c Σ_i ℓ_i + (λ/2) Σ_l ‖W^[l]‖²."""
        total = self._sum(list(losses))
        penalty = self._sum([w * w for index in sorted(W) for w in W[index].reshape(-1)])
        return self.reduction(len(losses)) * total + self.l2() / 2 * penalty

    def reduce_grad_W(self, per_example: Array, W: Array) -> Array:
        """∂C/∂W = c Σ_i ∂ℓ_i/∂W + λ W."""
        m = per_example.shape[0]
        return self.reduction(m) * self._sum_axis0(per_example) + self.l2() * W

    def reduce_grad_b(self, per_example: Array | None) -> Array | None:
        """∂C/∂b = c Σ_i ∂ℓ_i/∂b (biases are not regularised)."""
        if per_example is None:
            return None
        return self.reduction(per_example.shape[0]) * self._sum_axis0(per_example)

    def _sum(self, values: list):
        if self.exact:
            return mpmath.fsum(values) if values else mpmath.mpf(0)
        return float(np.sum(values)) if values else 0.0

    def _sum_axis0(self, stack: Array) -> Array:
        if not self.exact:
            return stack.sum(axis=0)
        out = np.empty(stack.shape[1:], dtype=object)
        for index in np.ndindex(out.shape):
            out[index] = mpmath.fsum(stack[(slice(None),) + index])
        return out


# ---------------------------------------------------------------- the trace

@dataclass
class Trace:
    """Every number of one forward/backward pass (and one gradient step) for a batch.

    Layer keys are internal indices 1..L (``a`` also has 0 = X); the spec's own
    numbering is ``derivation.layer_number(l)``. Columns are examples.
    """

    X: Array                                   # (n_in, m)
    Y: Array                                   # (n_out, m)
    W: dict[int, Array]                        # the parameters used, (n_l, n_{l−1})
    b: dict[int, Array | None]                 # (n_l, 1) or None
    z: dict[int, Array]                        # (n_l, m)
    a: dict[int, Array]                        # (n_l, m); a[0] = X
    loss: Array                                # (m,) per-example losses ℓ_i
    cost: Any                                  # C: reduction of ℓ plus the L2 term
    delta: dict[int, Array]                    # (n_l, m): δ_i = ∂ℓ_i/∂z^[l]
    dW: dict[int, Array]                       # ∂C/∂W^[l] (reduction and L2 included)
    db: dict[int, Array | None]                # ∂C/∂b^[l], or None without bias
    W_next: dict[int, Array | None]            # W − η ∂C/∂W; None when there is no learning rate
    b_next: dict[int, Array | None]            # b − η ∂C/∂b; None without learning rate or bias
    learning_rate: Any = None
    digits: int = 0
    dW_example: dict[int, Array] = field(default_factory=dict)        # (m, n_l, n_{l−1}): ∂ℓ_i/∂W
    db_example: dict[int, Array | None] = field(default_factory=dict)  # (m, n_l, 1): ∂ℓ_i/∂b

    @property
    def m(self) -> int:
        return self.X.shape[1]


def _example_or_fail(derivation: Derivation, what: str):
    example = derivation.network.example
    if example is None:
        raise SpecError("example", f"expected an [example] table in the spec (needed for {what}, "
                                   f"which was not given)", derivation.network.source)
    return example


def _params_arrays(derivation: Derivation, params: Mapping[str, Any], numbers: _Numbers):
    """W[l], b[l] (internal indices) from a params dict keyed in the spec's numbering; shapes checked."""
    network = derivation.network
    source = network.source
    if not isinstance(params, Mapping):
        raise SpecError("params", f"expected a dict of {', '.join(network.param_names())}, got {type(params).__name__}",
                        source)
    unknown = sorted(set(params) - set(network.param_names()))
    if unknown:
        raise SpecError(f"params.{unknown[0]}", f"expected one of {', '.join(network.param_names())}", source)
    W: dict[int, Array] = {}
    b: dict[int, Array | None] = {}
    for index in range(1, derivation.L + 1):
        number = derivation.layer_number(index)
        n, n_prev = network.sizes[index], network.sizes[index - 1]
        name = f"W{number}"
        if name not in params:
            raise SpecError(f"params.{name}", f"expected a ({n}, {n_prev}) matrix (missing)", source)
        W[index] = _shaped(numbers, params[name], (n, n_prev), f"params.{name}", source)
        b[index] = None
        if network.layers[index - 1].bias:
            name = f"b{number}"
            if name not in params:
                raise SpecError(f"params.{name}", f"expected a ({n}, 1) column (missing)", source)
            raw = np.asarray(params[name], dtype=object)
            if raw.ndim == 1:
                raw = raw.reshape(-1, 1)
            b[index] = _shaped(numbers, raw, (n, 1), f"params.{name}", source)
    return W, b


def _shaped(numbers: _Numbers, value: Any, shape: tuple[int, int], field_name: str, source: str) -> Array:
    try:
        array = numbers.array(value)
    except (TypeError, ValueError) as exc:
        raise SpecError(field_name, f"expected numbers of shape {shape} ({exc})", source) from None
    if array.shape != shape:
        raise SpecError(field_name, f"expected shape {shape}, got {array.shape}", source)
    return array


def _data(numbers: _Numbers, value: Any, rows: int, field_name: str, source: str, m: int | None = None) -> Array:
    """X or Y as (rows, m); a single example may be 1-D."""
    try:
        array = numbers.array(value)
    except (TypeError, ValueError) as exc:
        raise SpecError(field_name, f"expected a ({rows}, m) array of numbers ({exc})", source) from None
    if array.ndim == 1 and array.shape[0] == rows:
        array = array.reshape(rows, 1)
    if array.ndim != 2 or array.shape[0] != rows or array.shape[1] < 1 or (m is not None and array.shape[1] != m):
        want = f"({rows}, {m})" if m is not None else f"({rows}, m)"
        raise SpecError(field_name, f"expected shape {want}, one column per example, got {array.shape}", source)
    return array


def evaluate(derivation: Derivation, params: Mapping[str, Any] | None = None, X: Any = None, Y: Any = None,
             learning_rate: Any = None, *, digits: int = 0) -> Trace:
    """Evaluate every intermediate quantity of ``derivation`` on a batch.

    ``None`` for ``params``, ``X``, ``Y`` or ``learning_rate`` takes it from the
    spec's ``[example]`` (a missing ``[example]`` is a ``SpecError`` on field
    ``example``). ``digits == 0``: float64 arrays; ``digits > 0``: object arrays
    of mpmath numbers computed at ``digits`` significant digits (floats given as
    input are taken as the exact binary numbers they are; strings as decimals).
    """
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits: expected an integer >= 0, got {digits!r}")
    network = derivation.network
    source = network.source
    if params is None or X is None or Y is None:
        example = _example_or_fail(derivation, "params, X and Y")
        params = example.params(network.notation) if params is None else params
        X = example.X if X is None else X
        Y = example.Y if Y is None else Y
        if learning_rate is None:
            learning_rate = example.learning_rate
    elif learning_rate is None and network.example is not None:
        learning_rate = network.example.learning_rate

    steps = Steps.of(derivation, exact=digits > 0)
    numbers = _Numbers(digits)
    context = mpmath.workdps(digits) if digits > 0 else contextlib.nullcontext()
    with context:
        W, b = _params_arrays(derivation, params, numbers)
        X = _data(numbers, X, network.sizes[0], "X", source)
        Y = _data(numbers, Y, network.sizes[-1], "Y", source, X.shape[1])
        eta = None if learning_rate is None else numbers.scalar(learning_rate)
        return _run(steps, W, b, X, Y, eta, digits)


def _run(steps: Steps, W, b, X, Y, eta, digits: int) -> Trace:
    L = steps.L
    a: dict[int, Array] = {0: X}
    z: dict[int, Array] = {}
    for index in range(1, L + 1):
        z[index] = steps.z(index, W[index], b[index], a[index - 1])
        a[index] = steps.a(index, z[index])
    losses = steps.loss(a[L], Y)
    cost = steps.cost(losses, W)

    delta: dict[int, Array] = {L: steps.output_delta(a[L], z[L], Y)}
    for index in range(L - 1, 0, -1):
        delta[index] = steps.hidden_delta(index, a[index], z[index], W[index + 1], delta[index + 1])

    dW_example, db_example, dW, db, W_next, b_next = {}, {}, {}, {}, {}, {}
    for index in range(1, L + 1):
        dW_example[index] = steps.example_grad_W(index, delta[index], a[index - 1])
        db_example[index] = steps.example_grad_b(index, delta[index])
        dW[index] = steps.reduce_grad_W(dW_example[index], W[index])
        db[index] = steps.reduce_grad_b(db_example[index])
        # θ ← θ − η ∂C/∂θ (Derivation.update_expr)
        W_next[index] = None if eta is None else W[index] - eta * dW[index]
        b_next[index] = None if eta is None or b[index] is None else b[index] - eta * db[index]
    return Trace(X=X, Y=Y, W=W, b=b, z=z, a=a, loss=losses, cost=cost, delta=delta, dW=dW, db=db,
                 W_next=W_next, b_next=b_next, learning_rate=eta, digits=digits,
                 dW_example=dW_example, db_example=db_example)
