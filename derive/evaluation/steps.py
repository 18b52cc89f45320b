"""The steps of a forward and backward pass, compiled from the derivation's expressions, one at a time.

``evaluate`` runs them in order over a batch; the answer checker's graph runs each one on
numbers of its own choosing (a student's earlier numbers), and its mistake variants are a
``Steps`` subclass with one step swapped. So every number of a pass comes from here.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

from ..derivation.backprop import M, Derivation
from . import expressions
from .expressions import Step
from .numbers import Array, Numbers


def _lambdify(symbols: Sequence[sp.Symbol], exprs: Sequence[sp.Expr], exact: bool) -> Callable:
    return sp.lambdify(list(symbols), list(exprs), modules="mpmath" if exact else "numpy", cse=True)


class Steps:
    """The derivation's per-layer steps compiled for one number system.

    Every method takes and returns columns-are-examples arrays: a layer's z, a, δ
    are (n_l, m); weights (n_l, n_{l−1}); biases (n_l, 1) or None. ``layer`` is
    the spec's layer number (``derivation.layer_numbers``).
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

    def __init__(self, derivation: Derivation, exact: bool, shared: "Steps | None" = None) -> None:
        """``shared``: steps whose compiled functions these reuse (a variant of them)."""
        self.derivation = derivation
        self.exact = exact
        self.numbers = Numbers(exact)
        self.last = derivation.last
        self._compiled: dict[tuple, tuple[Callable, list[sp.Symbol]]] = {} if shared is None else shared._compiled

    # -- compilation, lazily per step
    def _function(self, key: tuple, build: Callable[[], Step]):
        if key not in self._compiled:
            symbols, exprs = build()
            self._compiled[key] = (_lambdify(symbols, exprs, self.exact), symbols)
        return self._compiled[key]

    def _apply(self, key: tuple, build: Callable[[], Step], values: Mapping[sp.Symbol, Any], m: int) -> Array:
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
            columns.append([self.numbers.scalar(v) for v in function(*args)])
        out = np.empty((len(columns[0]) if columns else 0, m), dtype=object)
        for i, column in enumerate(columns):
            out[:, i] = column
        return out

    @staticmethod
    def _bind(symbols: Sequence[sp.Symbol], rows: Array, values: dict) -> None:
        """values[symbol_j] = row j of ``rows`` (one entry per example)."""
        for j, symbol in enumerate(symbols):
            values[symbol] = rows[j]

    @staticmethod
    def _bind_matrix(symbols: sp.Matrix | sp.Array, matrix: Array | None, values: dict) -> None:
        """Bind a layer's weight symbols (a dense matrix, a conv layer's 4-D array) entry by entry, C order;
        a pool layer has none (``matrix`` None)."""
        names = expressions.weights(symbols)
        if names:
            for symbol, value in zip(names, np.asarray(matrix).reshape(-1)):
                values[symbol] = value

    # -- forward
    def z(self, layer: int, W: Array, b: Array | None, a_prev: Array) -> Array:
        """z^[l] = W a^[l−1] + b, from ``z_index``."""
        d = self.derivation
        s = d.symbols(layer)
        values: dict = {}
        self._bind(d.activations_of(layer - 1), a_prev, values)
        self._bind_matrix(s.W, W, values)
        if s.b:
            self._bind(s.b, b[:, 0], values)
        z = self._apply(("z", layer), lambda: expressions.z(d, layer), values, a_prev.shape[1])
        if d.layer(layer).kind == "pool":     # a max or a mean: nothing cancels
            return z
        return self._snap_cancellation(("z", layer), lambda: expressions.z(d, layer), values, z, a_prev.shape[1])

    def _snap_cancellation(self, key: tuple, build: Callable[[], Step], values: dict, z: Array, m: int) -> Array:
        """Exact mode: an affine sum that cancels to within rounding of its terms is the 0 it is.

        Decimal inputs (0.5·1 − 0.3·2 + 0.1) cancel exactly, but 0.3 is not a binary number, so mpmath leaves
        a residue ~2⁻ᵖʳᵉᶜ of the terms, whose sign would decide a kink (relu′(0)) differently at each
        precision. The terms' size is the same sum over absolute values (z is linear in each input);
        a z below 2^(16 − prec) of it is set to 0, far below any digit shown or compared."""
        if not self.exact:
            return z
        magnitudes = {symbol: (abs(v) if not isinstance(v, np.ndarray) else np.array([abs(e) for e in v], dtype=object))
                      for symbol, v in values.items()}
        scale = self._apply(key, build, magnitudes, m)
        tiny = mpmath.ldexp(1, 16 - mpmath.mp.prec)
        out = z.copy()
        for index in np.ndindex(z.shape):
            if abs(z[index]) <= tiny * scale[index]:
                out[index] = mpmath.mpf(0)
        return out

    def a(self, layer: int, z: Array) -> Array:
        """a^[l] = g(z^[l]), from ``a_index``."""
        d = self.derivation
        if d.layer(layer).activation.is_softmax and not self.exact:
            z = z - z.max(axis=0, keepdims=True)   # softmax is shift-invariant; keeps e^z finite
        values: dict = {}
        self._bind(d.symbols(layer).z, z, values)
        return self._apply(("a", layer), lambda: expressions.a(d, layer), values, z.shape[1])

    def loss(self, a_out: Array, Y: Array) -> Array:
        """ℓ_i per example (shape (m,)), from ``loss``."""
        d = self.derivation
        values: dict = {}
        self._bind(d.symbols(self.last).a, a_out, values)
        self._bind(d.y, Y, values)
        return self._apply(("loss",), lambda: expressions.loss(d), values, Y.shape[1])[0]

    # -- backward
    def output_delta(self, a_out: Array, z_out: Array, Y: Array) -> Array:
        """δ^[L] per example, from ``output_delta``."""
        d = self.derivation
        s = d.symbols(self.last)
        values: dict = {}
        self._bind(s.a, a_out, values)
        self._bind(s.z, z_out, values)
        self._bind(d.y, Y, values)
        return self._apply(("delta", self.last), lambda: expressions.output_delta(d), values, Y.shape[1])

    def hidden_delta(self, layer: int, a: Array, z: Array, W_next: Array | None, delta_next: Array) -> Array:
        """δ^[l] = g'(z^[l]) ⊙ W^[l+1]ᵀ δ^[l+1], from ``delta_index`` (W_next None below a pool layer)."""
        d = self.derivation
        s, nxt = d.symbols(layer), d.symbols(layer + 1)
        values: dict = {}
        self._bind(s.a, a, values)
        self._bind(s.z, z, values)
        self._bind_matrix(nxt.W, W_next, values)
        self._bind(nxt.delta, delta_next, values)
        return self._apply(("delta", layer), lambda: expressions.hidden_delta(d, layer), values, a.shape[1])

    # -- the factors of the backward steps, for callers that take them one by one
    def loss_gradient(self, a_out: Array, Y: Array) -> Array:
        """∂ℓ/∂a^[L] per example, from ``Derivation.loss_gradient``."""
        d = self.derivation
        values: dict = {}
        self._bind(d.symbols(self.last).a, a_out, values)
        self._bind(d.y, Y, values)
        return self._apply(("dl/da",), lambda: expressions.loss_gradient(d), values, Y.shape[1])

    def activation_derivative(self, layer: int, a: Array, z: Array) -> Array:
        """g'(z^[l]) per unit (elementwise activations): the layer's lecture-form derivative."""
        s = self.derivation.symbols(layer)
        values: dict = {}
        self._bind(s.a, a, values)
        self._bind(s.z, z, values)
        build = lambda: expressions.activation_derivative(self.derivation, layer)
        return self._apply(("g'", layer), build, values, a.shape[1])

    def output_jacobian(self, a_out: Array, z_out: Array) -> Array:
        """∂a_j^[L]/∂z_k^[L] per example, shape (m, n_L, n_L), from ``Derivation.output_jacobian``."""
        d = self.derivation
        s = d.symbols(self.last)
        values: dict = {}
        self._bind(s.a, a_out, values)
        self._bind(s.z, z_out, values)
        rows = self._apply(("J",), lambda: expressions.output_jacobian(d), values, a_out.shape[1])
        n = len(s.z)
        return np.stack([rows[:, i].reshape(n, n) for i in range(a_out.shape[1])])

    def back_sum(self, layer: int, W_next: Array | None, delta_next: Array, a: Array | None = None) -> Array:
        """Σ_k W_kj^[l+1] δ_k^[l+1] per unit j, from ``delta_factors``: the sum in δ^[l]'s recurrence.

        Below a pool layer ``W_next`` is None, and a max pool needs ``a`` = a^[l] (its windows' maxima)."""
        nxt = self.derivation.symbols(layer + 1)
        values: dict = {}
        if a is not None:
            self._bind(self.derivation.symbols(layer).a, a, values)
        self._bind_matrix(nxt.W, W_next, values)
        self._bind(nxt.delta, delta_next, values)
        build = lambda: expressions.back_sum(self.derivation, layer)
        return self._apply(("back", layer), build, values, delta_next.shape[1])

    @staticmethod
    def delta_product(derivative: Array, upstream: Array) -> Array:
        """δ = g'(z) ⊙ what flows back into the layer (the back sum, or ∂ℓ/∂a at the output)."""
        return derivative * upstream

    def layer_delta(self, layer: int, derivative: Array, upstream: Array) -> Array:
        """δ^[l] of an elementwise layer from its two factors; a per-layer hook for the checker's mistake variants."""
        return self.delta_product(derivative, upstream)

    @staticmethod
    def delta_through_jacobian(upstream: Array, jacobian: Array) -> Array:
        """δ_k = Σ_j ∂ℓ/∂a_j ∂a_j/∂z_k of one example: the output δ of a softmax layer."""
        return jacobian.T.dot(upstream)

    def example_grad_W(self, layer: int, delta: Array, a_prev: Array) -> Array | None:
        """∂ℓ_i/∂W^[l] for every example i, shape (m, n_l, n_{l−1}) (conv: (m,) + W's shape), from
        ``grad_W_index`` (conv: ``parameter_gradients``); None for a pool layer."""
        d = self.derivation
        s = d.symbols(layer)
        if d.layer(layer).kind == "pool":
            return None
        prev = d.activations_of(layer - 1)
        values: dict = {}
        self._bind(s.delta, delta, values)
        self._bind(prev, a_prev, values)
        rows = self._apply(("dW", layer), lambda: expressions.grad_W(d, layer), values, delta.shape[1])
        shape = tuple(s.W.shape) if d.layer(layer).kind == "conv" else (len(s.delta), len(prev))
        return np.stack([rows[:, i].reshape(shape) for i in range(delta.shape[1])])

    def example_grad_b(self, layer: int, delta: Array) -> Array | None:
        """∂ℓ_i/∂b^[l] for every example, shape (m, n_l, 1); None without bias. From ``grad_b_index``."""
        d = self.derivation
        step = expressions.grad_b(d, layer)
        if step is None:
            return None
        values: dict = {}
        self._bind(d.symbols(layer).delta, delta, values)
        rows = self._apply(("db", layer), lambda: step, values, delta.shape[1])
        return np.stack([rows[:, i].reshape(-1, 1) for i in range(delta.shape[1])])

    # -- reductions over the batch, and the step
    def _factor(self, factor: sp.Expr, m: int):
        exact = factor.subs(M, m)       # 1/m or 1, a SymPy rational
        return mpmath.mpf(exact.p) / exact.q if self.exact else float(exact)

    def reduction(self, m: int):
        """c in C = c Σ ℓ_i + (λ/2) Σ‖W‖²: from ``reduction_factor`` at this m."""
        return self._factor(self.derivation.reduction_factor, m)

    def l2(self):
        """λ, from ``Derivation.l2`` with the spec's value."""
        if self.derivation.l2 == 0:
            return self.numbers.scalar(0)
        return self.numbers.scalar(self.derivation.network.l2)   # the spec's float, as the exact binary number

    def cost(self, losses: Sequence, W: Mapping[int, Array]):
        """C = c Σ_i ℓ_i + (λ/2) Σ_l ‖W^[l]‖², with ``W`` keyed by layer number."""
        total = self.numbers.sum(list(losses))
        penalty = self.numbers.sum([w * w for layer in sorted(W) if W[layer] is not None for w in W[layer].reshape(-1)])
        return self.reduction(len(losses)) * total + self.l2() / 2 * penalty

    def cost_gradient(self, loss_gradient: Array, m: int) -> Array:
        """∂C/∂a^[L] of one example: c ∂ℓ/∂a^[L]."""
        return loss_gradient * self.reduction(m)

    def reduce_grad_W(self, per_example: Array | None, W: Array | None) -> Array | None:
        """∂C/∂W = c Σ_i ∂ℓ_i/∂W + λ W; None for a pool layer."""
        if per_example is None:
            return None
        m = per_example.shape[0]
        return self.reduction(m) * self.numbers.sum_axis0(per_example) + self.l2() * W

    def reduce_grad_b(self, per_example: Array | None) -> Array | None:
        """∂C/∂b = c Σ_i ∂ℓ_i/∂b (biases are not regularised)."""
        if per_example is None:
            return None
        return self.reduction(per_example.shape[0]) * self.numbers.sum_axis0(per_example)

    def update(self, param: Array | None, grad: Array | None, learning_rate) -> Array | None:
        """θ − η ∂C/∂θ, from ``Derivation.update_expr``; None for a missing parameter (no bias)."""
        if param is None:
            return None
        function, _ = self._function(("update",), lambda: expressions.update(self.derivation))
        with np.errstate(over="ignore", invalid="ignore"):
            return function(param, grad, learning_rate)[0]
