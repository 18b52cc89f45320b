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
from .nodes import GIVEN_KINDS, Key
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

    def value(self, key: Key) -> Array:
        if key in self._memo:
            return self._memo[key]
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
        return graph.compute(key, parents, graph.steps(self.exact, self.variant, key.example))

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
