"""Answers copied from a classmate: a submission whose numbers match another variant's key.

Cheap by design: the submission's claimed numbers (as the checker read them, with their
tolerances) are compared with the true values of every other variant for the same quantities.
A submission is flagged when at least ``SHARE`` of its claimed numbers (and at least ``LEAST``
of them) are right for one other variant, and more of them are right there than for its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import mpmath
import numpy as np

from ..checking.answers import Answers, Claim
from ..checking.check import claim_key
from ..checking.compare import within
from ..checking.graph import Graph
from ..checking.world import World
from ..derivation.backprop import Derivation

SHARE = 0.8
LEAST = 3
#: working digits for the keys' values (the checker's guard digits are more than any 4-decimal answer needs)
DIGITS = 30


@dataclass(frozen=True)
class CopyMatch:
    """A submission's numbers right for ``variant``: ``matched`` of its ``numbers`` claimed numbers."""

    variant: str
    matched: int
    numbers: int
    own: int       # how many are right for its own variant


class Keys:
    """The true values of each variant's quantities, computed once per variant (per process)."""

    def __init__(self, derivation_of: Callable[[str], Derivation]) -> None:
        self._derivation_of = derivation_of
        self._worlds: dict[str, World] = {}

    def world(self, variant: str) -> World:
        if variant not in self._worlds:
            self._worlds[variant] = World(Graph(self._derivation_of(variant)), exact=True)
        return self._worlds[variant]


def _positions(claim: Claim) -> list[tuple[tuple, tuple]]:
    """(index into the claim's value, position in the quantity) of every claimed number."""
    if claim.unit is not None:
        return [((), claim.unit)]
    return [(index, index) for index in np.ndindex(claim.value.shape)]


def _matches(answers: Answers, world: World) -> tuple[int, int]:
    """(claimed numbers within their tolerance of this world's values, claimed numbers)."""
    derivation = world.graph.derivation
    matched = total = 0
    for claim in answers.claims:
        if claim.is_formula:
            continue
        truth = world.value(claim_key(claim, derivation))
        for index, position in _positions(claim):
            total += 1
            if truth is not None and within(claim.value[index], truth[position], claim.tolerance[index], 0):
                matched += 1
    return matched, total


def copied_from(answers: Answers, own: str, variants: list[str], keys: Keys) -> CopyMatch | None:
    """The other variant whose key the numbers match (the best one), or None."""
    if len(variants) < 2:
        return None
    with mpmath.workdps(DIGITS):
        own_matched, total = _matches(answers, keys.world(own))
        if total < LEAST:
            return None
        best: CopyMatch | None = None
        for variant in variants:
            if variant == own:
                continue
            matched, _ = _matches(answers, keys.world(variant))
            if matched >= SHARE * total and matched > own_matched and (best is None or matched > best.matched):
                best = CopyMatch(variant, matched, total, own_matched)
    return best
