"""Variants of the computation: the evaluator's steps with a common mistake made in one of them.

A ``Variant`` names the changes (σ(−z) in layer 1, a sum for a mean, ...); ``MistakenSteps``
is the evaluator's ``Steps`` with those steps swapped, so a mistaken number is computed by
the same compiled expressions as a right one. The catalogue of mistakes is ``mistakes.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import sympy as sp

from ..derivation.backprop import M
from ..evaluation.numbers import Array
from ..evaluation.steps import Steps
from . import spatial_mistakes
from .derivative_mistakes import slipped_step
from .nodes import Key, split_state


@dataclass(frozen=True)
class Variant:
    """A change to the rules of the computation; the default changes nothing. Layers are the spec's numbers."""

    sigmoid_sign: frozenset[int] = frozenset()        # layers computing 1/(1 + e^{z})
    g_for_derivative: frozenset[int] = frozenset()    # layers using g(z) where g'(z) belongs
    reduction_swapped: bool = False                   # sum where the spec says mean, or the reverse
    loss_factor: Fraction = Fraction(1)               # the loss scaled by 2 or ½
    derivative_sign: bool = False                     # ∂ℓ/∂a with the wrong sign (y − a)
    transposed_forward: frozenset[int] = frozenset()  # z = Wᵀ a (square W only)
    transposed_backward: frozenset[int] = frozenset()  # W δ instead of Wᵀ δ into this layer (square W only)
    learning_rate_sign: bool = False                  # W + η ∂C/∂W
    sequential: bool = False                          # δ^[l] computed with the already updated W^[l+1]
    single_example: int | None = None                 # the batch gradient taken from one example only
    data: tuple[tuple[Key, int, Decimal], ...] = ()   # misread data: (("x"|"y", None, i), unit, value read)
    example_scope: int | None = None                  # the per-example changes above, in this example only
    derivative_left_out: frozenset[int] = frozenset()  # δ^[l] without g'(z^[l]): ∂ℓ/∂a^[L], or W^[l+1]ᵀ δ^[l+1]
    derivative_at_a: frozenset[int] = frozenset()      # g' evaluated at a = g(z) instead of z
    derivative_formula_sign: frozenset[int] = frozenset()  # a sign slip inside g''s lecture form (1 + a²)
    # the optimizer's mistakes (``optimizer_mistakes.py``), made in every step
    no_bias_correction: bool = False                  # Adam's m, v where m̂, v̂ belong
    epsilon_inside_root: bool = False                 # √(v̂ + ε) for √v̂ + ε
    beta_swapped: frozenset[str] = frozenset()        # the buffers whose moving average has β and 1 − β swapped
    step_not_incremented: bool = False                # every step reads t = 1
    # conv and pool layers' backward pass (``spatial_mistakes.py``): the layers (above the δ they send down)
    kernel_not_flipped: frozenset[int] = frozenset()           # δ sent down as a correlation with W, not flipped W
    max_pool_to_every_position: frozenset[int] = frozenset()   # a max-pool window's δ to all its entries
    average_pool_not_divided: frozenset[int] = frozenset()     # an average-pool window's δ not divided by its size
    padding_forgotten_delta: frozenset[int] = frozenset()      # δ sent down as if P = 0
    padding_forgotten_gradient: frozenset[int] = frozenset()   # ∂W computed as if P = 0

    def combine(self, other: "Variant") -> "Variant | None":
        """Both changes at once, or None when they change the same rule (two mistakes in one layer's g')."""
        merged = {}
        for name in self.__dataclass_fields__:
            mine, theirs, default = getattr(self, name), getattr(other, name), getattr(NO_VARIANT, name)
            if mine != default and theirs != default:
                return None
            merged[name] = mine if mine != default else theirs
        seen: set[int] = set()
        for name in DERIVATIVE_FIELDS:
            if seen & merged[name]:
                return None
            seen |= merged[name]
        return Variant(**merged)

    @property
    def spatial_back(self) -> frozenset[int]:
        """The conv and pool layers whose δ sent down is mistaken."""
        return (self.kernel_not_flipped | self.max_pool_to_every_position | self.average_pool_not_divided
                | self.padding_forgotten_delta)

    def scoped(self, example: int | None) -> bool:
        """Whether the per-example changes apply to a node of ``example``."""
        return self.example_scope is None or example == self.example_scope

    def touches(self, key: Key) -> bool:
        """Whether this variant changes the rule that computes ``key`` (so a claimed value there was not made
        the way the variant supposes, and is recomputed)."""
        kind, l, i = key.kind, key.layer, key.example
        batch_grad = kind in ("dW", "db") and i is None
        here = self.scoped(i)
        state = split_state(kind)
        letter = state[0] if state else None
        step = kind in ("W+", "b+")
        if ((self.no_bias_correction and (step or letter in ("mhat", "vhat")))
                or (self.epsilon_inside_root and step) or letter in self.beta_swapped
                or (self.step_not_incremented and (step or letter in ("mhat", "vhat")))):
            return True
        return ((here and kind in ("a", "a+") and l in self.sigmoid_sign)
                or (here and kind == "g'" and l in self.g_for_derivative | self.derivative_at_a
                    | self.derivative_formula_sign)
                or (here and kind == "delta" and l in self.derivative_left_out)
                or (self.reduction_swapped and (kind in ("cost", "cost+", "dcost/da") or batch_grad))
                or (here and self.loss_factor != 1 and kind in ("C", "C+", "dC/da"))
                or (here and self.derivative_sign and kind == "dC/da")
                or (here and kind in ("z", "z+") and l in self.transposed_forward)
                or (here and kind == "WTdelta" and l + 1 in self.transposed_backward | self.spatial_back)
                or (here and kind == "dW" and i is not None and l in self.padding_forgotten_gradient)
                or (kind == "WTdelta" and self.sequential)
                or (self.learning_rate_sign and kind in ("W+", "b+"))
                or (self.single_example is not None and batch_grad)
                or any(kind == d.kind and i == d.example for d, _, _ in self.data))


NO_VARIANT = Variant()
#: the mistakes about one layer's g': at most one of them per layer
DERIVATIVE_FIELDS = ("g_for_derivative", "derivative_left_out", "derivative_at_a", "derivative_formula_sign")


class MistakenSteps(Steps):
    """The evaluator's steps with a variant's mistakes made: each mistake swaps the one step it is about.

    ``local``: whether the per-example mistakes apply (the node's example is in the variant's scope);
    the batch-level ones (the reduction, the step's sign, a single example's gradient) always do.
    Changes to the graph's shape (``sequential``, ``single_example``'s parents) and to the data are
    the graph's. The compiled functions are the plain steps' own.
    """

    def __init__(self, plain: Steps, variant: Variant, local: bool) -> None:
        super().__init__(plain.derivation, plain.exact, shared=plain)
        self.variant = variant
        self.local = local
        self._loss_factor = self.numbers.scalar(variant.loss_factor if local else 1)

    # -- per-example mistakes
    def z(self, layer: int, W: Array, b: Array | None, a_prev: Array) -> Array:
        if self.local and layer in self.variant.transposed_forward:
            W = W.T
        return super().z(layer, W, b, a_prev)

    def a(self, layer: int, z: Array) -> Array:
        if self.local and layer in self.variant.sigmoid_sign:
            z = -z
        return super().a(layer, z)

    def loss(self, a_out: Array, Y: Array) -> Array:
        return super().loss(a_out, Y) * self._loss_factor

    def loss_gradient(self, a_out: Array, Y: Array) -> Array:
        sign = -1 if (self.local and self.variant.derivative_sign) else 1
        return super().loss_gradient(a_out, Y) * (self._loss_factor * sign)

    def activation_derivative(self, layer: int, a: Array, z: Array) -> Array:
        if self.local and layer in self.variant.g_for_derivative:
            return a
        if self.local and layer in self.variant.derivative_at_a:
            return super().activation_derivative(layer, Steps.a(self, layer, a), a)    # g'(a): a → g(a), z → a
        if self.local and layer in self.variant.derivative_formula_sign:
            s = self.derivation.symbols(layer)
            values: dict = {}
            self._bind(s.a, a, values)
            self._bind(s.z, z, values)
            build = lambda: slipped_step(self.derivation, layer)
            return self._apply(("g' sign slip", layer), build, values, a.shape[1])
        return super().activation_derivative(layer, a, z)

    def layer_delta(self, layer: int, derivative: Array, upstream: Array) -> Array:
        if self.local and layer in self.variant.derivative_left_out:
            return upstream
        return super().layer_delta(layer, derivative, upstream)

    def output_jacobian(self, a_out: Array, z_out: Array) -> Array:
        if self.local and self.last in self.variant.derivative_left_out:     # softmax: δ^[L] = ∂ℓ/∂a^[L]
            n, m = a_out.shape
            one, zero = self.numbers.scalar(1), self.numbers.scalar(0)
            eye = np.array([[one if j == k else zero for k in range(n)] for j in range(n)],
                           dtype=object if self.exact else float)
            return np.stack([eye] * m)
        return super().output_jacobian(a_out, z_out)

    def back_sum(self, layer: int, W_next: Array | None, delta_next: Array, a: Array | None = None) -> Array:
        if self.local and layer + 1 in self.variant.transposed_backward:
            W_next = W_next.T
        if self.local and layer + 1 in self.variant.spatial_back:
            return self._spatial_back(layer, W_next, delta_next, a)
        return super().back_sum(layer, W_next, delta_next, a)

    def _spatial_back(self, layer: int, W_next: Array | None, delta_next: Array, a: Array | None) -> Array:
        """What a conv or pool layer sends down with its classic mistake made (``spatial_mistakes``)."""
        v, above = self.variant, layer + 1
        mistake = next(name for name, layers in (
            ("kernel_not_flipped", v.kernel_not_flipped), ("padding_forgotten_backward", v.padding_forgotten_delta),
            ("max_pool_to_every_position", v.max_pool_to_every_position),
            ("average_pool_not_divided", v.average_pool_not_divided)) if above in layers)
        d = self.derivation
        values: dict = {}
        if a is not None:
            self._bind(d.symbols(layer).a, a, values)
        if W_next is not None:
            self._bind_matrix(d.symbols(above).W, W_next, values)
        self._bind(d.symbols(above).delta, delta_next, values)
        build = lambda: spatial_mistakes.mistaken_back_sum(d, above, mistake)
        return self._apply((mistake, above), build, values, delta_next.shape[1])

    def example_grad_W(self, layer: int, delta: Array, a_prev: Array) -> Array | None:
        if not (self.local and layer in self.variant.padding_forgotten_gradient):
            return super().example_grad_W(layer, delta, a_prev)
        d = self.derivation
        values: dict = {}
        self._bind(d.symbols(layer).delta, delta, values)
        self._bind(d.activations_of(layer - 1), a_prev, values)
        build = lambda: spatial_mistakes.unpadded_weight_gradient(d, layer)
        rows = self._apply(("unpadded dW", layer), build, values, delta.shape[1])
        shape = d.layer(layer).weight_shape
        return np.stack([rows[:, i].reshape(shape) for i in range(delta.shape[1])])

    # -- batch-level mistakes
    def reduction(self, m: int):
        if not self.variant.reduction_swapped:
            return super().reduction(m)
        swapped = sp.Integer(1) if self.derivation.network.reduction == "mean" else 1 / M
        return self._factor(swapped, m)

    def reduce_grad_W(self, per_example: Array, W: Array) -> Array:
        if self.variant.single_example is not None:
            return per_example[0]     # the graph passes the one example's gradient
        return super().reduce_grad_W(per_example, W)

    def reduce_grad_b(self, per_example: Array | None) -> Array | None:
        if self.variant.single_example is not None and per_example is not None:
            return per_example[0]
        return super().reduce_grad_b(per_example)

    def update(self, param: Array | None, grad: Array | None, learning_rate) -> Array | None:
        if self.variant.learning_rate_sign and grad is not None:
            grad = -grad              # θ + η ∂C/∂θ
        return super().update(param, grad, learning_rate)
