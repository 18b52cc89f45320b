"""Every number a student computes for one gradient step, as a dependency graph.

A node is ``Key(kind, layer, example)``: ``("a", 2, 0)`` is a^[2] of the first example,
``("dW", 1, None)`` the batch gradient ∂cost/∂W^[1]. Each node is computed from its
parents by one of the derivation's compiled steps (``derive.evaluate.Steps``), so a
``World`` can put any claimed number in place of a node and recompute only what
follows from it: the student's own world, in which later numbers are judged against
the student's earlier ones (follow-through). A ``Variant`` changes one rule of the
computation the way a common mistake does (σ(−z), a sum for a mean, ...); the catalogue
of those mistakes is in ``derive.mistakes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, NamedTuple

import mpmath
import numpy as np

from ..derivation.backprop import Derivation
from ..errors import SpecError
from ..evaluation.evaluate import Steps

Array = np.ndarray


class Key(NamedTuple):
    kind: str
    layer: int | None
    example: int | None


@dataclass(frozen=True)
class Variant:
    """A change to the rules of the computation; the default changes nothing."""

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

    def combine(self, other: "Variant") -> "Variant | None":
        """Both changes at once, or None when they change the same rule."""
        merged = {}
        for name in self.__dataclass_fields__:
            mine, theirs, default = getattr(self, name), getattr(other, name), getattr(NO_VARIANT, name)
            if mine != default and theirs != default:
                return None
            merged[name] = mine if mine != default else theirs
        return Variant(**merged)


    def scoped(self, example: int | None) -> bool:
        """Whether the per-example changes apply to a node of ``example``."""
        return self.example_scope is None or example == self.example_scope

    def touches(self, key: Key) -> bool:
        """Whether this variant changes the rule that computes ``key`` (so a claimed value there was not made
        the way the variant supposes, and is recomputed)."""
        kind, l, i = key
        batch_grad = kind in ("dW", "db") and i is None
        here = self.scoped(i)
        return ((here and kind in ("a", "a+") and l in self.sigmoid_sign)
                or (here and kind == "g'" and l in self.g_for_derivative)
                or (self.reduction_swapped and (kind in ("cost", "cost+", "dcost/da") or batch_grad))
                or (here and self.loss_factor != 1 and kind in ("C", "C+", "dC/da"))
                or (here and self.derivative_sign and kind == "dC/da")
                or (here and kind in ("z", "z+") and l in self.transposed_forward)
                or (here and kind == "WTdelta" and l + 1 in self.transposed_backward)
                or (kind == "WTdelta" and self.sequential)
                or (self.learning_rate_sign and kind in ("W+", "b+"))
                or (self.single_example is not None and batch_grad)
                or any(kind == d.kind and i == d.example for d, _, _ in self.data))


NO_VARIANT = Variant()


class Graph:
    """The quantities of one spec's ``[example]`` and how each follows from the others."""

    def __init__(self, derivation: Derivation) -> None:
        network = derivation.network
        example = network.example
        if example is None:
            raise SpecError("example", "expected an [example] table in the spec (the claims need its numbers)",
                            network.source)
        self.derivation = derivation
        self.L = derivation.L
        self.sizes = network.sizes
        self.m = example.X.shape[1]
        self.example = example
        self.has_bias = {l: network.layers[l - 1].bias for l in range(1, self.L + 1)}
        self.softmax_output = network.layers[-1].activation.is_softmax
        self.sigmoid_layers = [l for l in range(1, self.L + 1) if network.layers[l - 1].activation.name == "sigmoid"]
        self.elementwise_layers = [l for l in range(1, self.L + 1) if not network.layers[l - 1].activation.is_softmax]
        self.square_layers = [l for l in range(1, self.L + 1) if self.sizes[l] == self.sizes[l - 1]]
        self._ancestors: dict[tuple, set[Key]] = {}

    # ---------------------------------------------------------------- structure
    def parents(self, key: Key, variant: Variant = NO_VARIANT) -> list[Key]:
        kind, l, i = key
        L = self.L
        if kind in ("x", "y", "W", "b", "eta"):
            return []
        if kind in ("z", "z+"):
            after = "+" if kind == "z+" else ""
            prev = Key("x", None, i) if l == 1 else Key("a" + after, l - 1, i)
            params = [Key("W" + after, l, None)] + ([Key("b" + after, l, None)] if self.has_bias[l] else [])
            return params + [prev]
        if kind in ("a", "a+"):
            if l == 0:
                return [Key("x", None, i)]
            return [Key("z" + kind[1:], l, i)]
        if kind in ("C", "C+"):
            return [Key("a" + kind[1:], L, i), Key("y", None, i)]
        if kind in ("cost", "cost+"):
            after = kind[4:]
            return [Key("C" + after, None, j) for j in range(self.m)] + \
                   [Key("W" + after, l2, None) for l2 in range(1, L + 1)]
        if kind == "dC/da":
            return [Key("a", L, i), Key("y", None, i)]
        if kind == "dcost/da":
            return [Key("dC/da", L, i)]
        if kind == "g'":
            return [Key("a", l, i), Key("z", l, i)]
        if kind == "WTdelta":
            weights = Key("W+", l + 1, None) if variant.sequential else Key("W", l + 1, None)
            return [weights, Key("delta", l + 1, i)]
        if kind == "delta":
            if l == L:
                if self.softmax_output:
                    return [Key("dC/da", L, i), Key("a", L, i), Key("z", L, i)]
                return [Key("dC/da", L, i), Key("g'", L, i)]
            return [Key("g'", l, i), Key("WTdelta", l, i)]
        if kind in ("dW", "db"):
            if i is not None:
                return [Key("delta", l, i)] + ([Key("a", l - 1, i)] if kind == "dW" else [])
            if variant.single_example is not None:
                return [Key(kind, l, variant.single_example)]
            return [Key(kind, l, j) for j in range(self.m)] + ([Key("W", l, None)] if kind == "dW" else [])
        if kind in ("W+", "b+"):
            grad = "dW" if kind == "W+" else "db"
            return [Key(kind[0], l, None), Key(grad, l, i), Key("eta", None, None)]
        raise KeyError(key)

    def ancestors(self, key: Key, variant: Variant = NO_VARIANT) -> set[Key]:
        """Every node ``key`` is computed from, directly or not (cached; do not modify the set)."""
        cache_key = (key, variant.sequential, variant.single_example)   # the only changes to the structure
        cached = self._ancestors.get(cache_key)
        if cached is not None:
            return cached
        seen: set[Key] = set()
        stack = [key]
        while stack:
            for parent in self.parents(stack.pop(), variant):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        self._ancestors[cache_key] = seen
        return seen

    def shape(self, key: Key) -> tuple[int, ...]:
        kind, l, _ = key
        if kind in ("C", "C+", "cost", "cost+", "eta"):
            return ()
        if kind in ("W", "W+", "dW"):
            return (self.sizes[l], self.sizes[l - 1])
        if kind == "x":
            return (self.sizes[0],)
        if kind == "y":
            return (self.sizes[-1],)
        if kind in ("dC/da", "dcost/da"):
            return (self.sizes[-1],)
        return (self.sizes[l],)

    # ---------------------------------------------------------------- rules
    def given(self, key: Key, exact: bool, variant: Variant) -> Array:
        """Data and parameters: the spec's example, with any misread data of the variant."""
        kind, l, i = key
        convert = _to_exact if exact else _to_float
        if kind == "x":
            value = convert(self.example.X[:, i])
        elif kind == "y":
            value = convert(self.example.Y[:, i])
        elif kind == "W":
            value = convert(self.example.W[l - 1])
        elif kind == "b":
            value = convert(self.example.b[l - 1][:, 0])
        elif kind == "eta":
            if self.example.learning_rate is None:
                raise SpecError("example.learning_rate", "expected a learning rate in the spec's [example] "
                                                         "(claims after a step need it)",
                                self.derivation.network.source)
            value = convert(np.array(self.example.learning_rate))
        else:
            raise KeyError(key)
        for (data_key, unit, read) in variant.data:
            if data_key.kind == kind and data_key.example == i:
                value = value.copy()
                value[unit] = _number(read, exact)
        return value

    def compute(self, key: Key, parents: list[Array], exact: bool, variant: Variant) -> Array:
        """The value of ``key`` from its parents' values (in the order of ``parents``)."""
        kind, l, i = key
        steps = Steps.of(self.derivation, exact)
        col = _column
        here = variant.scoped(i)
        if kind in ("z", "z+"):
            W = parents[0]
            if here and l in variant.transposed_forward:
                W = W.T
            b = parents[1].reshape(-1, 1) if self.has_bias[l] else None
            return steps.z(l, W, b, col(parents[-1]))[:, 0]
        if kind in ("a", "a+"):
            if l == 0:
                return parents[0]
            z = parents[0]
            if here and l in variant.sigmoid_sign:
                z = -z
            return steps.a(l, col(z))[:, 0]
        if kind in ("C", "C+"):
            loss = steps.loss(col(parents[0]), col(parents[1]))[0]
            factor = _number(variant.loss_factor if here else 1, exact)
            return np.array(loss * factor, dtype=object if exact else float)
        if kind in ("cost", "cost+"):
            losses = parents[:self.m]
            weights = {index: w for index, w in enumerate(parents[self.m:], start=1)}
            factor = self._reduction(variant, exact)
            total = _sum([v[()] for v in losses], exact)
            penalty = _sum([w * w for W in weights.values() for w in W.reshape(-1)], exact)
            return np.array(factor * total + steps.l2() / 2 * penalty, dtype=object if exact else float)
        if kind == "dC/da":
            grad = steps.loss_gradient(col(parents[0]), col(parents[1]))[:, 0]
            sign = -1 if (here and variant.derivative_sign) else 1
            return grad * (_number(variant.loss_factor if here else 1, exact) * sign)
        if kind == "dcost/da":
            return parents[0] * self._reduction(variant, exact)
        if kind == "g'":
            if here and l in variant.g_for_derivative:
                return parents[0]
            return steps.activation_derivative(l, col(parents[0]), col(parents[1]))[:, 0]
        if kind == "WTdelta":
            W = parents[0]
            if here and l + 1 in variant.transposed_backward:
                W = W.T
            return steps.back_sum(l, W, col(parents[1]))[:, 0]
        if kind == "delta":
            if l == self.L and self.softmax_output:
                J = steps.output_jacobian(col(parents[1]), col(parents[2]))[0]
                return J.T.dot(parents[0])     # δ_k = Σ_j ∂ℓ/∂a_j ∂a_j/∂z_k
            return parents[0] * parents[1]
        if kind in ("dW", "db"):
            if i is not None:
                if kind == "db":
                    return parents[0]
                return steps.example_grad_W(l, col(parents[0]), col(parents[1]))[0]
            if variant.single_example is not None:
                return parents[0]
            per_example = np.stack(parents[:self.m])
            total = steps._sum_axis0(per_example)
            value = self._reduction(variant, exact) * total
            if kind == "dW":
                value = value + steps.l2() * parents[-1]
            return value
        if kind in ("W+", "b+"):
            param, grad, eta = parents
            sign = 1 if variant.learning_rate_sign else -1
            return param + sign * eta[()] * grad
        raise KeyError(key)

    def _reduction(self, variant: Variant, exact: bool):
        mean = self.derivation.network.reduction == "mean"
        if variant.reduction_swapped:
            mean = not mean
        one = mpmath.mpf(1) if exact else 1.0
        return one / self.m if mean else one


@dataclass
class World:
    """Values of the graph's nodes under a variant, with some nodes replaced by given numbers.

    ``overrides`` maps a key to {entry index: number}: the claimed entries of that node.
    Exact worlds compute with mpmath at the precision in force; others in float64.
    """

    graph: Graph
    exact: bool = True
    overrides: dict[Key, dict[tuple, Any]] = field(default_factory=dict)
    variant: Variant = NO_VARIANT
    _memo: dict[Key, Array] = field(default_factory=dict, repr=False)

    def value(self, key: Key) -> Array:
        if key in self._memo:
            return self._memo[key]
        graph = self.graph
        if key.kind in ("x", "y", "W", "b", "eta"):
            value = graph.given(key, self.exact, self.variant)
        elif key.kind == "b+" and not graph.has_bias[key.layer]:
            value = None
        else:
            parents = [self.value(p) for p in graph.parents(key, self.variant)]
            value = graph.compute(key, parents, self.exact, self.variant)
        if key in self.overrides and value is not None:
            value = np.array(value, dtype=object if self.exact else float, copy=True)
            for index, number in self.overrides[key].items():
                value[index] = _number(number, self.exact)
        self._memo[key] = value
        return value

    def fresh(self, key: Key) -> Array:
        """The value of ``key`` computed from its parents, ignoring any number given for ``key`` itself."""
        if key.kind in ("x", "y", "W", "b", "eta"):
            return self.graph.given(key, self.exact, self.variant)
        parents = [self.value(p) for p in self.graph.parents(key, self.variant)]
        return self.graph.compute(key, parents, self.exact, self.variant)

    def shifted(self, key: Key, position: tuple, value) -> "World":
        """This world with one given number changed; values that do not depend on it are reused."""
        overrides = {k: dict(v) for k, v in self.overrides.items()}
        overrides.setdefault(key, {})[position] = value
        world = World(self.graph, self.exact, overrides, self.variant)
        ancestors = self.graph.ancestors
        world._memo = {k: v for k, v in self._memo.items()
                       if k != key and key not in ancestors(k, self.variant)}
        return world



# ---------------------------------------------------------------- numbers

def _column(vector: Array) -> Array:
    return np.asarray(vector).reshape(-1, 1)


def _number(value: Any, exact: bool):
    if exact:
        if isinstance(value, mpmath.mpf):
            return value
        if isinstance(value, Fraction):
            return mpmath.mpf(value.numerator) / value.denominator
        if isinstance(value, (Decimal, str, int)):
            return mpmath.mpf(str(value))
        return mpmath.mpf(float(value))
    if isinstance(value, Fraction):
        return value.numerator / value.denominator
    return float(value)


def _to_exact(array: Array) -> Array:
    out = np.empty(np.shape(array), dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = mpmath.mpf(float(np.asarray(array)[index]))
    return out


def _to_float(array: Array) -> Array:
    return np.array(array, dtype=float)


def _sum(values: Iterable, exact: bool):
    values = list(values)
    if exact:
        return mpmath.fsum(values) if values else mpmath.mpf(0)
    return float(sum(values)) if values else 0.0
