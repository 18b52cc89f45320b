"""Every number a student computes for one gradient step, as a dependency graph.

A node is a ``Key`` (``nodes.py``). Each node is computed from its parents by one of the
evaluator's steps (``evaluation.steps.Steps``) — the same compiled expressions that
``evaluate`` runs — so a ``World`` (``world.py``) can put any claimed number in place of
a node and recompute only what follows from it. Under a ``Variant`` the steps are the
``MistakenSteps`` of that variant: the same evaluator with one step swapped.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..derivation.backprop import Derivation
from ..errors import SpecError
from ..evaluation.numbers import Array, Numbers
from ..evaluation.steps import Steps
from .nodes import GIVEN_KINDS, Key
from .variant import NO_VARIANT, MistakenSteps, Variant


class Graph:
    """The quantities of one spec's ``[example]`` and how each follows from the others."""

    def __init__(self, derivation: Derivation) -> None:
        network = derivation.network
        example = network.example
        if example is None:
            raise SpecError("example", "expected an [example] table in the spec (the claims need its numbers)",
                            network.source)
        d = self.derivation = derivation
        self.L = derivation.L                     # how many weighted layers (a count, not a layer)
        #: the spec's numbers of the input, the first and the last layer; every Key's layer is such a number
        self.input_number, self.first, self.last = d.input_number, d.first, d.last
        self.layer_numbers = d.layer_numbers
        self.m = example.X.shape[1]
        self.example = example
        self.has_bias = {l: d.layer(l).bias for l in d.layer_numbers}
        self.softmax_output = d.layer(d.last).activation.is_softmax
        self.sigmoid_layers = [l for l in d.layer_numbers if d.layer(l).activation.name == "sigmoid"]
        self.elementwise_layers = [l for l in d.layer_numbers if not d.layer(l).activation.is_softmax]
        self.square_layers = [l for l in d.layer_numbers if d.width(l) == d.width(l - 1)]
        self._ancestors: dict[tuple, set[Key]] = {}
        self._steps: dict[tuple, Steps] = {}

    # ---------------------------------------------------------------- structure
    def parents(self, key: Key, variant: Variant = NO_VARIANT) -> list[Key]:
        kind, l, i = key
        last = self.last
        if kind in GIVEN_KINDS:
            return []
        if kind in ("z", "z+"):
            after = "+" if kind == "z+" else ""
            prev = Key("x", None, i) if l == self.first else Key("a" + after, l - 1, i)
            params = [Key("W" + after, l, None)] + ([Key("b" + after, l, None)] if self.has_bias[l] else [])
            return params + [prev]
        if kind in ("a", "a+"):
            if l == self.input_number:
                return [Key("x", None, i)]
            return [Key("z" + kind[1:], l, i)]
        if kind in ("C", "C+"):
            return [Key("a" + kind[1:], last, i), Key("y", None, i)]
        if kind in ("cost", "cost+"):
            after = kind[4:]
            return [Key("C" + after, None, j) for j in range(self.m)] + \
                   [Key("W" + after, layer, None) for layer in self.layer_numbers]
        if kind == "dC/da":
            return [Key("a", last, i), Key("y", None, i)]
        if kind == "dcost/da":
            return [Key("dC/da", last, i)]
        if kind == "g'":
            return [Key("a", l, i), Key("z", l, i)]
        if kind == "WTdelta":
            weights = Key("W+", l + 1, None) if variant.sequential else Key("W", l + 1, None)
            return [weights, Key("delta", l + 1, i)]
        if kind == "delta":
            if l == last:
                if self.softmax_output:
                    return [Key("dC/da", last, i), Key("a", last, i), Key("z", last, i)]
                return [Key("dC/da", last, i), Key("g'", last, i)]
            return [Key("g'", l, i), Key("WTdelta", l, i)]
        if kind in ("dW", "db"):
            weights = [Key("W", l, None)] if kind == "dW" else []
            if i is not None:
                return [Key("delta", l, i)] + ([Key("a", l - 1, i)] if kind == "dW" else [])
            if variant.single_example is not None:
                return [Key(kind, l, variant.single_example)] + weights
            return [Key(kind, l, j) for j in range(self.m)] + weights
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
        width = self.derivation.width
        if kind in ("C", "C+", "cost", "cost+", "eta"):
            return ()
        if kind in ("W", "W+", "dW"):
            return (width(l), width(l - 1))
        if kind == "x":
            return (width(self.input_number),)
        if kind == "y":
            return (width(self.last),)
        if kind in ("dC/da", "dcost/da"):
            return (width(self.last),)
        return (width(l),)

    # ---------------------------------------------------------------- rules
    def steps(self, exact: bool, variant: Variant, example: int | None) -> Steps:
        """The evaluator's steps that compute a node of ``example`` under ``variant``."""
        cache_key = (exact, variant, variant.scoped(example))
        steps = self._steps.get(cache_key)
        if steps is None:
            plain = Steps.of(self.derivation, exact)
            only_data = replace(variant, data=()) == NO_VARIANT      # misread data: the steps are the plain ones
            steps = plain if only_data else MistakenSteps(plain, variant, cache_key[2])
            self._steps[cache_key] = steps
        return steps

    def given(self, key: Key, exact: bool, variant: Variant) -> Array:
        """Data and parameters: the spec's example, with any misread data of the variant."""
        kind, l, i = key
        numbers = Numbers(exact)
        if kind == "x":
            value = numbers.array(self.example.X[:, i])
        elif kind == "y":
            value = numbers.array(self.example.Y[:, i])
        elif kind == "W":
            value = numbers.array(self.example.W[self.derivation.position(l) - 1])
        elif kind == "b":
            value = numbers.array(self.example.b[self.derivation.position(l) - 1][:, 0])
        elif kind == "eta":
            if self.example.learning_rate is None:
                raise SpecError("example.learning_rate", "expected a learning rate in the spec's [example] "
                                                         "(claims after a step need it)",
                                self.derivation.network.source)
            value = numbers.array(np.array(self.example.learning_rate))
        else:
            raise KeyError(key)
        for (data_key, unit, read) in variant.data:
            if data_key.kind == kind and data_key.example == i:
                value = value.copy()
                value[unit] = numbers.scalar(read)
        return value

    def compute(self, key: Key, parents: list[Array], steps: Steps) -> Array:
        """The value of ``key`` from its parents' values (in the order of ``parents``), by ``steps``."""
        kind, l, i = key
        col = _column
        if kind in ("z", "z+"):
            b = parents[1].reshape(-1, 1) if self.has_bias[l] else None
            return steps.z(l, parents[0], b, col(parents[-1]))[:, 0]
        if kind in ("a", "a+"):
            return parents[0] if l == self.input_number else steps.a(l, col(parents[0]))[:, 0]
        if kind in ("C", "C+"):
            return self._number(steps.loss(col(parents[0]), col(parents[1]))[0], steps)
        if kind in ("cost", "cost+"):
            losses = [v[()] for v in parents[:self.m]]
            weights = dict(zip(self.layer_numbers, parents[self.m:]))
            return self._number(steps.cost(losses, weights), steps)
        if kind == "dC/da":
            return steps.loss_gradient(col(parents[0]), col(parents[1]))[:, 0]
        if kind == "dcost/da":
            return steps.cost_gradient(parents[0], self.m)
        if kind == "g'":
            return steps.activation_derivative(l, col(parents[0]), col(parents[1]))[:, 0]
        if kind == "WTdelta":
            return steps.back_sum(l, parents[0], col(parents[1]))[:, 0]
        if kind == "delta":
            if l == self.last and self.softmax_output:
                jacobian = steps.output_jacobian(col(parents[1]), col(parents[2]))[0]
                return steps.delta_through_jacobian(parents[0], jacobian)
            upstream, derivative = (parents[0], parents[1]) if l == self.last else (parents[1], parents[0])
            return steps.layer_delta(l, derivative, upstream)
        if kind in ("dW", "db") and i is not None:
            if kind == "db":
                return steps.example_grad_b(l, col(parents[0]))[0][:, 0]
            return steps.example_grad_W(l, col(parents[0]), col(parents[1]))[0]
        if kind == "dW":
            return steps.reduce_grad_W(np.stack(parents[:-1]), parents[-1])
        if kind == "db":
            return steps.reduce_grad_b(np.stack(parents))
        if kind in ("W+", "b+"):
            param, grad, eta = parents
            return steps.update(param, grad, eta[()])
        raise KeyError(key)

    @staticmethod
    def _number(value, steps: Steps) -> Array:
        return np.array(value, dtype=object if steps.exact else float)


def _column(vector: Array) -> Array:
    return np.asarray(vector).reshape(-1, 1)
