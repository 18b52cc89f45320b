"""The symbolic derivation of backpropagation for one fixed network.

``Derivation`` holds, for every layer, the forward equations, the δ recurrence and
the weight and bias gradients, in index form (one SymPy expression per unit or
weight) and in matrix form (SymPy matrix expressions over a batch whose columns
are examples). δ^[L] is derived by the chain rule through the output Jacobian
and simplified; the matrix forms come from SymPy's matrix calculus.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from numbers import Integral
from typing import Sequence

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, OneMatrix

from ..model.activations import A as GENERIC_A, Z as GENERIC_Z, pull_sign, softmax_outputs
from ..model.network import Layer, Network
from . import spatial, symbols

#: number of examples in a batch, and the L2 coefficient λ, in the matrix forms
M = sp.Symbol("m", integer=True, positive=True)
LAMBDA = sp.Symbol("lambda", nonnegative=True)


@dataclass(frozen=True)
class LayerSymbols:
    """Index-form symbols of one layer: ``number`` as the spec writes it, ``position`` 1..L in its list."""

    position: int
    number: int
    z: tuple[sp.Symbol, ...]
    a: tuple[sp.Symbol, ...]
    delta: tuple[sp.Symbol, ...]
    W: symbols.WeightSymbols | sp.Matrix | sp.Array   # dense (n_l, n_{l−1}); conv (C_out, C_in, kH, kW); pool: (n, 0)
    b: tuple[sp.Symbol, ...] | None


@dataclass(frozen=True)
class MatrixForms:
    """Batch (matrix) forms of one layer; columns are examples."""

    W: sp.MatrixSymbol
    b: sp.MatrixSymbol | None
    Z: sp.MatrixSymbol
    A: sp.MatrixSymbol
    A_prev: sp.MatrixSymbol
    Delta: sp.MatrixSymbol
    G: sp.MatrixSymbol | None          # g'(Z) elementwise, for hidden layers
    z_expr: sp.MatrixExpr               # W A_prev + b 1ᵀ
    delta_expr: sp.MatrixExpr | None    # g'(Z) ⊙ (W_nextᵀ Δ_next), for hidden layers
    dW_expr: sp.MatrixExpr              # c Δ A_prevᵀ + λ W
    db_expr: sp.MatrixExpr | None       # c Δ 1


#: the δ^[L] of an activation this large (count_ops) is kept as the chain rule builds it
MAX_CANCEL_OPS = 120
#: ... and so is one with more than this many function nodes (each is one more generator for factor)
MAX_CANCEL_FUNCTIONS = 4


def _pick(values: list[sp.Expr], units: Sequence[int] | None) -> list[sp.Expr]:
    return values if units is None else [values[j] for j in units]


def _equal_forms(expr: sp.Expr) -> list[sp.Expr]:
    """The expression as built, cancelled, and factored with the lecture's sign order."""
    if sp.count_ops(expr) > MAX_CANCEL_OPS or len(expr.atoms(sp.Function)) > MAX_CANCEL_FUNCTIONS:
        return [expr]        # cancel and factor grow much faster than the expression: keep it as built
    cancelled = sp.cancel(expr)
    factored = sp.factor(cancelled)
    return [expr, cancelled, factored, pull_sign(factored)]


class Derivation:
    """Backpropagation for ``network``, derived symbolically. Build with ``derive(network)``."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.L = network.depth
        number = network.notation.layer_number
        #: the spec's numbers of the input, the first and the last (output) layer: every method that
        #: takes a layer takes its number as the spec's notation writes it (input_layer = 1: 2..L+1)
        self.input_number, self.first, self.last = number(0), number(1), number(self.L)
        self.x = tuple(symbols.scalar("x", None, k + 1) for k in range(network.n_in))
        self.y = tuple(symbols.scalar("y", None, k + 1) for k in range(network.sizes[-1]))

    def __repr__(self) -> str:
        net = self.network
        return (f"<Derivation of {net.name}: {'-'.join(map(str, net.sizes))}, loss {net.loss.name}, "
                f"{net.n_params} parameters, layers {self.first}..{self.last}>")

    # ----------------------------------------------------------------- layers
    @property
    def layer_numbers(self) -> range:
        """The spec's numbers of the weighted layers, first to last."""
        return range(self.first, self.last + 1)

    def layer_number(self, position: int) -> int:
        """The spec's number of the layer at 1-based ``position`` in the spec's list (0: the input)."""
        return self.network.notation.layer_number(position)

    def position(self, layer: int, *, input_ok: bool = False) -> int:
        """1-based position of layer number ``layer``; an IndexError naming the valid numbers otherwise."""
        lowest = self.input_number if input_ok else self.first
        if not isinstance(layer, Integral) or isinstance(layer, bool) or not lowest <= layer <= self.last:
            raise IndexError(f"layer {layer!r}: expected a layer number from {lowest} to {self.last} "
                             f"(notation.input_layer = {self.network.notation.input_layer})")
        return layer - self.input_number

    def layer(self, layer: int) -> Layer:
        """The spec's description of layer number ``layer`` (units, activation, bias)."""
        return self.network.layers[self.position(layer) - 1]

    def width(self, layer: int) -> int:
        """Units of layer number ``layer``; of the input, n_in."""
        return self.network.sizes[self.position(layer, input_ok=True)]

    # ----------------------------------------------------------------- symbols
    @cached_property
    def _layer_symbols(self) -> dict[int, LayerSymbols]:
        return {}

    def symbols(self, layer: int) -> LayerSymbols:
        """Symbols of layer number ``layer``. Built on first use, so big nets stay cheap."""
        if layer not in self._layer_symbols:
            position = self.position(layer)
            n, n_prev = self.width(layer), self.width(layer - 1)
            units = range(1, n + 1)
            kind = self.layer(layer)
            if kind.kind == "conv":      # W of shape (C_out, C_in, kH, kW), one bias per channel
                W, b = spatial.conv_weights(kind, layer), spatial.conv_biases(kind, layer)
            elif kind.kind == "pool":    # no parameters
                W, b = sp.zeros(n, 0), None
            else:
                W = symbols.WeightSymbols(layer, n, n_prev)   # made on first read (a looped layer reads W_11)
                b = tuple(symbols.scalar("b", layer, j) for j in units) if kind.bias else None
            self._layer_symbols[layer] = LayerSymbols(
                position, layer,
                z=tuple(symbols.scalar("z", layer, j) for j in units),
                a=tuple(symbols.scalar("a", layer, j) for j in units),
                delta=tuple(symbols.scalar("delta", layer, j) for j in units),
                W=W, b=b)
        return self._layer_symbols[layer]

    def activations_of(self, layer: int) -> tuple[sp.Symbol, ...]:
        """a^[layer]; for the input's number, the input x."""
        return self.x if self.position(layer, input_ok=True) == 0 else self.symbols(layer).a

    # ------------------------------------------------------------ forward pass
    def z_index(self, layer: int, units: Sequence[int] | None = None) -> list[sp.Expr]:
        """z_j = Σ_k W_jk a_k^[l−1] + b_j, one expression per unit (conv and pool: ``spatial``); of the 0-based
        ``units`` only, when given."""
        s = self.symbols(layer)
        prev = self.activations_of(layer - 1)
        kind = self.layer(layer)
        if kind.kind == "conv":
            if units is None:
                return spatial.conv_z(kind, s.W, s.b, prev)
            every = spatial.positions(kind.out_shape)
            return [spatial.conv_z_unit(kind, s.W, s.b, prev, every[u]) for u in units]
        if kind.kind == "pool":
            return _pick(spatial.pool_z(kind, prev), units)
        return [sp.Add(*[s.W[j, k] * prev[k] for k in range(len(prev))]) + (s.b[j] if s.b else 0)
                for j in (range(len(s.z)) if units is None else units)]

    def a_index(self, layer: int, z: tuple[sp.Expr, ...] | None = None) -> list[sp.Expr]:
        """a_j = g(z_j) (softmax: e^{z_j} / Σ_k e^{z_k}), in terms of ``z`` (default the z symbols)."""
        z = self.symbols(layer).z if z is None else z
        activation = self.layer(layer).activation
        if activation.is_softmax:
            return softmax_outputs(list(z))
        return [activation.expr.subs(GENERIC_Z, zj) for zj in z]

    # ------------------------------------------------------------- the loss
    @cached_property
    def loss(self) -> sp.Expr:
        """Per-example loss ℓ(a^[L], y)."""
        return self.network.loss.build(self.symbols(self.last).a, self.y)

    @cached_property
    def output_jacobian(self) -> sp.Matrix:
        """J_jk = ∂a_j^[L]/∂z_k^[L], written through a^[L] where the derivative allows it.

        Elementwise: diag(g'(z_k)) in its lecture form. Softmax: ``sympy.diff`` of
        e^{z_j}/S, then e^{z_i} → a_i S, which leaves a_j(δ_jk − a_k).
        """
        s = self.symbols(self.last)
        activation = self.network.layers[-1].activation
        n = len(s.z)
        if not activation.is_softmax:
            derivative = activation.lecture_derivative
            return sp.diag(*[derivative.subs({GENERIC_A: s.a[k], GENERIC_Z: s.z[k]}) for k in range(n)])
        outputs = softmax_outputs(list(s.z))
        total = sp.Symbol("S", positive=True)
        as_a = {sp.exp(s.z[i]): s.a[i] * total for i in range(n)}
        denominator = sp.Add(*[sp.exp(z) for z in s.z])
        return sp.Matrix(n, n, lambda j, k: sp.cancel(
            sp.diff(outputs[j], s.z[k]).subs(denominator, total).subs(as_a)))

    def _simplify_output_delta(self, expr: sp.Expr) -> sp.Expr:
        """Simplify δ_k; for losses whose targets sum to 1, eliminate one target at a time and keep the shortest."""
        candidates = _equal_forms(expr)
        if self.network.loss.targets_sum_to_one:
            for j, yj in enumerate(self.y):
                others = sp.Add(*[y for i, y in enumerate(self.y) if i != j])
                candidates += _equal_forms(expr.subs(yj, 1 - others))
        return min(candidates, key=sp.count_ops)  # first of the shortest: the chain-rule product when nothing cancels

    @cached_property
    def loss_gradient(self) -> list[sp.Expr]:
        """∂ℓ/∂a_j^[L], one expression per output unit."""
        return [sp.diff(self.loss, aj) for aj in self.symbols(self.last).a]

    @cached_property
    def output_delta(self) -> list[sp.Expr]:
        """δ_k^[L] = Σ_j ∂ℓ/∂a_j · ∂a_j/∂z_k, simplified (a − y for the canonical pairs)."""
        s = self.symbols(self.last)
        dl_da = self.loss_gradient
        J = self.output_jacobian
        return [self._simplify_output_delta(sp.Add(*[dl_da[j] * J[j, k] for j in range(len(s.a))]))
                for k in range(len(s.a))]

    # ------------------------------------------------------------- backward
    def hidden_derivative(self, layer: int) -> sp.Expr:
        """g_l'(z) of a hidden layer, generic in ``a``/``z`` (lecture form where it exists)."""
        return self.layer(layer).activation.lecture_derivative

    def delta_factors(self, layer: int, units: Sequence[int] | None = None) -> list[tuple[sp.Expr, sp.Expr]]:
        """For a hidden layer, (g'(z_j), Σ_k W_kj^[l+1] δ_k^[l+1]) per unit j (of the 0-based ``units`` when
        given): δ_j^[l] is their product."""
        s, nxt = self.symbols(layer), self.symbols(layer + 1)
        derivative = self.hidden_derivative(layer)
        above = self.layer(layer + 1)
        units = range(len(s.z)) if units is None else units
        if above.kind == "conv":      # the correlation with the flipped kernel
            back = spatial.conv_input_delta(above, nxt.W, nxt.delta)
        elif above.kind == "pool":    # to the first maximum, or shared by the mean
            back = spatial.pool_input_delta(above, s.a, nxt.delta)
        else:
            back = {j: sp.Add(*[nxt.W[k, j] * nxt.delta[k] for k in range(len(nxt.delta))]) for j in units}
        return [(derivative.subs({GENERIC_A: s.a[j], GENERIC_Z: s.z[j]}), back[j]) for j in units]

    def delta_index(self, layer: int, units: Sequence[int] | None = None) -> list[sp.Expr]:
        """δ_j^[l]: the output δ for the last layer, else g'(z_j) Σ_k W_kj^[l+1] δ_k^[l+1] (``units``: of those)."""
        if self.position(layer) == self.L:
            return _pick(list(self.output_delta), units)
        return [derivative * back_sum for derivative, back_sum in self.delta_factors(layer, units)]

    def grad_W_entry(self, layer: int, j: int, k: int) -> sp.Expr:
        """∂ℓ/∂W_jk^[l] = δ_j^[l] a_k^[l−1] (per example; 0-based j, k), one entry (cheap for big layers)."""
        return self.symbols(layer).delta[j] * self.activations_of(layer - 1)[k]

    def grad_W_index(self, layer: int) -> sp.Matrix:
        """∂ℓ/∂W_jk^[l] = δ_j^[l] a_k^[l−1] (per example)."""
        s = self.symbols(layer)
        return sp.Matrix(len(s.delta), s.W.shape[1], lambda j, k: self.grad_W_entry(layer, j, k))

    def parameter_gradients(self, layer: int) -> dict[sp.Symbol, sp.Expr]:
        """∂ℓ/∂θ of every parameter θ of layer number ``layer`` (per example), by symbol, for any kind."""
        s, kind = self.symbols(layer), self.layer(layer)
        if kind.kind == "conv":
            prev = self.activations_of(layer - 1)
            out = dict(zip(sp.flatten(s.W), sp.flatten(spatial.conv_weight_gradient(kind, prev, s.delta))))
            if s.b is not None:
                out.update(zip(s.b, spatial.conv_bias_gradient(kind, s.delta)))
            return out
        out = {s.W[j, k]: self.grad_W_entry(layer, j, k) for j in range(s.W.rows) for k in range(s.W.cols)}
        return {**out, **dict(zip(s.b or (), self.grad_b_index(layer) or ()))}

    def grad_b_index(self, layer: int) -> list[sp.Expr] | None:
        """∂ℓ/∂b_j^[l] = δ_j^[l] (per example); None for a layer without bias."""
        s = self.symbols(layer)
        return list(s.delta) if s.b else None

    # ---------------------------------------------------------- batch forms
    @property
    def reduction_factor(self) -> sp.Expr:
        """c in C = c Σ_i ℓ_i + (λ/2) Σ_l ‖W^[l]‖²: 1/m for mean, 1 for sum."""
        return 1 / M if self.network.reduction == "mean" else sp.Integer(1)

    @property
    def l2(self) -> sp.Expr:
        """λ, or 0 when the spec has no L2 term (the λ terms then vanish from every form)."""
        return LAMBDA if self.network.l2 else sp.Integer(0)

    @cached_property
    def _matrix_forms(self) -> dict[int, MatrixForms]:
        return {}

    def matrix(self, layer: int) -> MatrixForms:
        """Matrix forms of layer number ``layer``, derived with SymPy's matrix calculus (once per layer).

        With Δ^[l] = ∂(Σ_i ℓ_i)/∂Z^[l]:  Wᵀ Δ = ∂tr(Δᵀ Z)/∂A,  Δ Aᵀ = ∂tr(Δᵀ Z)/∂W,
        Δ 1 = ∂tr(Δᵀ Z)/∂b and λ W = ∂((λ/2) tr(WᵀW))/∂W.
        """
        if layer not in self._matrix_forms:
            self._matrix_forms[layer] = self._derive_matrix(layer)
        return self._matrix_forms[layer]

    def _derive_matrix(self, layer: int) -> MatrixForms:
        n, n_prev = self.width(layer), self.width(layer - 1)
        W = symbols.matrix("W", layer, n, n_prev)
        b = symbols.matrix("b", layer, n, 1) if self.layer(layer).bias else None
        Z, A_, D = (symbols.matrix(kind, layer, n, M) for kind in ("Z", "A", "Delta"))
        A_prev = symbols.matrix("A", layer - 1, n_prev, M)
        z_expr = W * A_prev + (b * OneMatrix(1, M) if b is not None else sp.ZeroMatrix(n, M))
        surrogate = sp.Trace(D.T * z_expr)   # Σ_ij Δ_ij Z_ij: its gradients are the chain-rule products
        c = self.reduction_factor
        dW = c * surrogate.diff(W) + (self.l2 / 2 * sp.Trace(W.T * W)).diff(W)
        db = c * surrogate.diff(b) if b is not None else None
        G = delta_expr = None
        if layer < self.last:
            nxt = self.matrix(layer + 1)
            G = symbols.matrix("G", layer, n, M)
            delta_expr = HadamardProduct(G, sp.Trace(nxt.Delta.T * nxt.z_expr).diff(A_))
        return MatrixForms(W, b, Z, A_, A_prev, D, G, z_expr, delta_expr, dW, db)

    def cost_matrix_expr(self, loss_row: sp.MatrixSymbol) -> sp.Expr:
        """C = c · tr(ℓ_row 1) + (λ/2) Σ_l tr(W^[l]ᵀ W^[l]), with ℓ_row the (1 × m) per-example losses (a pool layer
        has no weights: no term)."""
        weights = [self.matrix(layer).W for layer in self.layer_numbers if self.layer(layer).kind != "pool"]
        return self.reduction_factor * sp.Trace(loss_row * OneMatrix(M, 1)) + self.l2 / 2 * sp.Add(
            *[sp.Trace(W.T * W) for W in weights])

    def update_expr(self, param: sp.MatrixSymbol, grad: sp.MatrixSymbol, learning_rate: sp.Symbol) -> sp.MatrixExpr:
        """Gradient descent: θ ← θ − η ∂C/∂θ."""
        return param - learning_rate * grad
