"""Worlds: the graph's values under a variant, with some nodes replaced by claimed numbers.

``World`` is the claimant's world (their numbers in place, later ones recomputed from them:
follow-through), the true one (no numbers in place), or either under a mistake ``Variant``.
``ClaimedNumbers`` holds the claimed numbers with their tolerances, and measures how far a
recomputed value may move when every number it uses moves within its tolerance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from ..evaluation.numbers import Array, Numbers
from .graph import Graph
from .nodes import GIVEN_KINDS, PASS, Key, split_state
from .variant import NO_VARIANT, Variant

#: {node: {entry index: number}}: the claimed entries of each node
Overrides = dict[Key, dict[tuple, Any]]


@dataclass
class World:
    """Values of the graph's nodes under a variant, with some nodes replaced by given numbers.

    ``overrides`` maps a key to {entry index: number}: the claimed entries of that node.
    Exact worlds compute with mpmath at the precision in force; others in float64.
    """

    graph: Graph
    exact: bool = True
    overrides: Overrides = field(default_factory=dict)
    variant: Variant = NO_VARIANT
    _memo: dict[Key, Array] = field(default_factory=dict, repr=False)
    _warmed: dict[int | None, int] = field(default_factory=dict, repr=False)   # passes computed, per scope

    def value(self, key: Key) -> Array:
        if key in self._memo:
            return self._memo[key]
        if key.step > 2:        # the passes of the steps before, in order: the recursion stays one step deep
            scope = key.example if key.kind in ("W+", "b+", PASS) or split_state(key.kind) else None
            done = self._warmed.get(scope, 2)
            if done < key.step:
                self._warmed[scope] = key.step
                for step in range(done, key.step):
                    self.value(Key(PASS, None, scope, step))
        if key.kind == "b+" and not self.graph.has_bias[key.layer]:
            value = None
        else:
            value = self.fresh(key)
        if key in self.overrides and value is not None:
            numbers = Numbers(self.exact)
            value = np.array(value, dtype=object if self.exact else float, copy=True)
            for index, number in self.overrides[key].items():
                value[index] = numbers.scalar(number)
        self._memo[key] = value
        return value

    def fresh(self, key: Key) -> Array:
        """The value of ``key`` computed from its parents, ignoring any number given for ``key`` itself."""
        graph = self.graph
        if key.kind in GIVEN_KINDS:
            return graph.given(key, self.exact, self.variant)
        parents = [self.value(p) for p in graph.parents(key, self.variant)]
        if key.kind == PASS:
            return self._pass(key, parents)
        return graph.compute(key, parents, graph.steps(self.exact, self.variant, key.example))

    def _pass(self, key: Key, parents: list) -> dict[tuple[str, int], Array]:
        """Every gradient at the parameters after step ``key.step − 1``: this graph's own pass (with this
        world's variant) with those parameters in place of the spec's; ∂ℓ_i/∂θ for a step on example i alone."""
        graph = self.graph
        params = [(k, v) for k, v in zip(graph.parents(key, self.variant), parents) if k.kind in ("W+", "b+")]
        overrides: Overrides = {}
        for param, value in params:
            overrides[Key(param.kind[0], param.layer, None)] = {index: value[index] for index in np.ndindex(value.shape)}
        inner = World(graph, self.exact, overrides, self.variant)
        out: dict[tuple[str, int], Array] = {}
        for param, _ in params:
            p, layer = param.kind[0], param.layer
            out[(p, layer)] = inner.value(Key("d" + p, layer, key.example))
        return out

    def shifted(self, key: Key, position: tuple, value) -> "World":
        """This world with one given number changed; values that do not depend on it are reused."""
        overrides = {k: dict(v) for k, v in self.overrides.items()}
        overrides.setdefault(key, {})[position] = value
        world = World(self.graph, self.exact, overrides, self.variant)
        ancestors = self.graph.ancestors
        world._memo = {k: v for k, v in self._memo.items()
                       if k != key and key not in ancestors(k, self.variant)}
        return world


class ClaimedNumbers:
    """The claimant's numbers, each with its tolerance, and the worlds and spreads built from them."""

    def __init__(self, graph: Graph, overrides: Overrides, tolerances: dict[tuple[Key, tuple], Decimal]) -> None:
        self.graph = graph
        self.overrides = overrides
        self.tolerances = tolerances
        self._spread_cache: dict[Key, tuple] = {}

    def own(self, key: Key) -> Overrides:
        """The claimed numbers a claim at ``key`` may use: those of its ancestors."""
        ancestors = self.graph.ancestors(key) | self.graph.ancestors(key, Variant(sequential=True))
        return {k: v for k, v in self.overrides.items() if k in ancestors and k != key}

    def spread(self, key: Key) -> tuple[np.ndarray, dict[tuple, set]]:
        """Per entry of ``key``: Σ |∂value/∂claim| t_claim over the claims it uses, and which claims those are."""
        if key in self._spread_cache:
            return self._spread_cache[key]
        own = self.own(key)
        world = World(self.graph, exact=False, overrides=own)
        base = world.value(key)
        bound = np.zeros(np.shape(base))
        users: dict[tuple, set] = {p: set() for p in np.ndindex(np.shape(base))}
        for k, entries in own.items():
            for position, value in entries.items():
                shifted = world.shifted(k, position, value + self.tolerances[(k, position)])
                moved = np.abs(np.asarray(shifted.value(key), float) - np.asarray(base, float))
                bound = bound + moved
                for p in np.ndindex(np.shape(base)):
                    if moved[p] > 0:
                        users[p].add((k, position))
        self._spread_cache[key] = (bound, users)
        return bound, users
