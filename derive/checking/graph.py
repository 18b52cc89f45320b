"""Every number a student computes for one gradient step, as a dependency graph.

A node is a ``Key`` (``nodes.py``). Each node is computed from its parents by one of the
evaluator's steps (``evaluation.steps.Steps``) — the same compiled expressions that
``evaluate`` runs — so a ``World`` (``world.py``) can put any claimed number in place of
a node and recompute only what follows from it. Under a ``Variant`` the steps are the
``MistakenSteps`` of that variant: the same evaluator with one step swapped.

With an ``[optimizer]`` table the step is the optimizer's (``evaluation.optimizer``): each buffer,
each bias correction and θ after step k is a node (``Key("m(W)", 1, None, k)``), read from the
same nodes after step k − 1, and the gradient of step k ≥ 2 is a whole pass at the parameters
after step k − 1 (a ``PASS`` node, which ``World`` computes).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import sympy as sp

from ..derivation.backprop import Derivation
from ..errors import SpecError
from ..model.optimizers import GRAD, THETA
from ..evaluation.numbers import Array, Numbers
from ..evaluation.optimizer import OptimizerStep, rule_lines
from ..evaluation.steps import Steps
from .nodes import GIVEN_KINDS, PASS, Key, split_state, state_kind
from .spatial_claims import node_shape
from .optimizer_mistakes import mistaken_lines
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
        #: layers with weights (a pool layer has none)
        self.weighted = [l for l in d.layer_numbers if d.layer(l).kind != "pool"]
        self.softmax_output = d.layer(d.last).activation.is_softmax
        self.sigmoid_layers = [l for l in d.layer_numbers if d.layer(l).activation.name == "sigmoid"]
        self.elementwise_layers = [l for l in d.layer_numbers if not d.layer(l).activation.is_softmax
                                   and d.layer(l).kind != "pool"]      # a pool layer's g' is 1, nothing to slip
        self.square_layers = [l for l in d.layer_numbers if d.width(l) == d.width(l - 1) and d.layer(l).kind == "dense"]
        self._ancestors: dict[tuple, set[Key]] = {}
        self._steps: dict[tuple, Steps] = {}
        #: the spec's optimizer; None without an [optimizer] table (the plain step with [example]'s η)
        self.optimizer = network.optimizer if network.optimizer.given else None
        self.lines = rule_lines(self.optimizer) if self.optimizer else ()
        self._optimizer_steps: dict[tuple, OptimizerStep] = {}
        self._line_inputs: dict[Key, list[tuple[sp.Symbol, Key | None]]] = {}

    # ---------------------------------------------------------------- structure
    def parents(self, key: Key, variant: Variant = NO_VARIANT) -> list[Key]:
        kind, l, i, k = key
        last = self.last
        if kind in GIVEN_KINDS:
            return []
        if kind in ("z", "z+"):
            after = "+" if kind == "z+" else ""
            prev = Key("x", None, i) if l == self.first else Key("a" + after, l - 1, i, k)
            if l not in self.weighted:
                return [prev]
            params = [Key("W" + after, l, None, k)] + ([Key("b" + after, l, None, k)] if self.has_bias[l] else [])
            return params + [prev]
        if kind in ("a", "a+"):
            if l == self.input_number:
                return [Key("x", None, i)]
            return [Key("z" + kind[1:], l, i, k)]
        if kind in ("C", "C+"):
            return [Key("a" + kind[1:], last, i, k), Key("y", None, i)]
        if kind in ("cost", "cost+"):
            after = kind[4:]
            return [Key("C" + after, None, j, k) for j in range(self.m)] + \
                   [Key("W" + after, layer, None, k) for layer in self.weighted]
        if kind == PASS:
            examples = range(self.m) if i is None else [i]
            params = [Key(p + "+", layer, i, k - 1) for layer in self.weighted
                      for p in ("W", "b") if p == "W" or self.has_bias[layer]]
            return params + [Key(d, None, j) for j in examples for d in ("x", "y")]
        if split_state(kind) is not None or (kind in ("W+", "b+") and self.optimizer):
            return [parent for _, parent in self.line_inputs(key) if parent is not None]
        if kind == "dC/da":
            return [Key("a", last, i), Key("y", None, i)]
        if kind == "dcost/da":
            return [Key("dC/da", last, i)]
        if kind == "g'":
            return [Key("a", l, i), Key("z", l, i)]
        if kind == "WTdelta":
            above = self.derivation.layer(l + 1)
            if above.kind == "pool":       # max pooling reads which entry of each window is its first maximum
                return [Key("a", l, i), Key("delta", l + 1, i)]
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
            return [self._before(kind[0], l, i, k), self._gradient(kind[0], l, i, k), Key("eta", None, None)]
        raise KeyError(key)

    # -- the step: the plain one, or the optimizer's lines
    def _before(self, param: str, layer: int, example: int | None, step: int) -> Key:
        """θ before step ``step``: the spec's, or the value after the step before."""
        return Key(param, layer, None) if step == 1 else Key(param + "+", layer, example, step - 1)

    def _gradient(self, param: str, layer: int, example: int | None, step: int) -> Key:
        """The gradient step ``step`` uses: the spec's ∂C/∂θ (or ∂ℓ_i/∂θ), or a whole pass after the step before."""
        return Key("d" + param, layer, example) if step == 1 else Key(PASS, None, example, step)

    def line_inputs(self, key: Key) -> list[tuple[sp.Symbol, Key | None]]:
        """(symbol, node) of every array the optimizer line computing ``key`` reads; None: the zero state.

        A buffer assigned before this line in the rule is this step's value, any other the step before's."""
        if key not in self._line_inputs:
            self._line_inputs[key] = self._inputs_of_line(key)
        return self._line_inputs[key]

    def _inputs_of_line(self, key: Key) -> list[tuple[sp.Symbol, Key | None]]:
        kind, layer, example, step = key
        letter, param = split_state(kind) or ("theta", kind[0])
        position = next(n for n, line in enumerate(self.lines) if line.name == letter)
        by_symbol = {line.symbol: (n, line.name) for n, line in enumerate(self.lines)}
        out: list[tuple[sp.Symbol, Key | None]] = []
        for symbol in sorted(self.lines[position].expr.free_symbols, key=lambda s: s.name):
            if symbol == GRAD:
                out.append((symbol, self._gradient(param, layer, example, step)))
            elif symbol == THETA:
                out.append((symbol, self._before(param, layer, example, step)))
            elif symbol in by_symbol and by_symbol[symbol][1] != "t":
                n, name = by_symbol[symbol]
                at = step if n < position else step - 1
                out.append((symbol, Key(state_kind(name, param), layer, example, at) if at > 0 else None))
        return out

    def optimizer_step(self, exact: bool, variant: Variant) -> OptimizerStep:
        """The optimizer's lines compiled for ``exact``, with the variant's optimizer mistakes made."""
        found = self._optimizer_steps.get((exact, variant))
        if found is None:
            lines = mistaken_lines(self.optimizer, self.lines, variant)
            found = self._optimizer_steps.get((exact, lines))     # variants that differ elsewhere share them
            if found is None:
                found = self._optimizer_steps[(exact, lines)] = OptimizerStep(self.optimizer, exact, lines)
            self._optimizer_steps[(exact, variant)] = found
        return found

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
        kind, l = key.kind, key.layer
        width = self.derivation.width
        state = split_state(kind)
        if state is not None:
            kind = state[1]
        if kind in ("C", "C+", "cost", "cost+", "eta", PASS):
            return ()
        own = node_shape(kind, l, self.derivation)      # a conv layer's weights and biases
        if own is not None:
            return own
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
        kind, l, i = key.kind, key.layer, key.example
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
        kind, l, i = key.kind, key.layer, key.example
        col = _column
        if kind in ("z", "z+"):
            if l not in self.weighted:
                return steps.z(l, None, None, col(parents[-1]))[:, 0]
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
            if l + 1 not in self.weighted:     # below a pool layer: a^[l] (for max pooling), no weights
                return steps.back_sum(l, None, col(parents[1]), col(parents[0]))[:, 0]
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
        if split_state(kind) is not None or (kind in ("W+", "b+") and self.optimizer):
            return self._optimizer_line(key, parents, steps)
        if kind in ("W+", "b+"):
            param, grad, eta = parents
            return steps.update(param, _gradient_of(grad, kind[0], l), eta[()])
        raise KeyError(key)

    def _optimizer_line(self, key: Key, parents: list, steps: Steps) -> Array:
        """One line of the optimizer's step (a buffer, a bias correction or θ), entry by entry."""
        letter, param = split_state(key.kind) or ("theta", key.kind[0])
        rule = self.optimizer_step(steps.exact, getattr(steps, "variant", NO_VARIANT))
        values: dict = {}
        given = iter(parents)
        zero = steps.numbers.scalar(0)
        for symbol, parent in self.line_inputs(key):
            values[symbol] = None if parent is None else _gradient_of(next(given), param, key.layer)
        shape = next(np.shape(v) for v in values.values() if v is not None)
        for symbol, value in values.items():
            if value is None:
                values[symbol] = np.full(shape, zero, dtype=object if steps.exact else float)
        return rule.apply(letter, values, key.step)

    @staticmethod
    def _number(value, steps: Steps) -> Array:
        return np.array(value, dtype=object if steps.exact else float)


def _gradient_of(value, param: str, layer: int) -> Array:
    """A gradient node's value, or this parameter's gradient out of a whole pass (a dict)."""
    return value[(param, layer)] if isinstance(value, dict) else value


def _column(vector: Array) -> Array:
    return np.asarray(vector).reshape(-1, 1)
