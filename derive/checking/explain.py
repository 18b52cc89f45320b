"""The likely causes of wrong numbers: the mistakes of ``mistakes.py`` that reproduce them.

``check.py`` passes the claimed numbers and the judged ones, and attaches the causes this returns.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np

from .compare import digit_slip, truncated, within
from .mistakes import Cause, catalogue, combine, data_entries, misread_cause, nice_values, solve_misread
from .nodes import Key
from .variant import NO_VARIANT, Variant
from .world import ClaimedNumbers, World


@dataclass(frozen=True)
class Number:
    """One judged number: the node and entry it is about, as claimed, and what it should have been."""

    key: Key
    position: tuple
    claimed: Decimal
    tolerance: Decimal
    written: str = ""
    reference: Any = None      # what the claimant's own numbers give, or else the right value


class Explainer:
    """Finds the likely causes of the wrong numbers, all together.

    Every hypothesis — one mistake of the catalogue, a misread data value, or two of these
    at once — is tried on every wrong number, in two worlds: the claimant's own (their
    numbers in place, except where the mistake changes how a number is made) and the whole
    computation redone with the mistake. Hypotheses are then chosen greedily, the one that
    reproduces the most unexplained numbers first, so one misread target that explains ten
    numbers wins over a different coincidence for each; each number is given the smallest
    part of the chosen hypothesis that still reproduces it.

    Every per-example mistake is also tried in one example only (``mistakes.catalogue``), which
    right numbers claimed for other examples cannot rule out. For a number of one example that
    depends on no other example, "in that example only" says nothing more, so it is not said:
    a doubled δ reads "a factor 2" whether or not right numbers of other examples are claimed.
    """

    def __init__(self, claimed: ClaimedNumbers, wrong: list[Number], right: list[Number]) -> None:
        self.claimed = claimed
        self.graph = claimed.graph
        self.wrong = wrong
        self.right = right
        self._contradicted: dict[tuple[Variant, bool], bool] = {}
        self._worlds: dict[tuple, World] = {}
        self._spreads: dict[tuple, float] = {}
        self._alone: dict[Key, bool] = {}

    def _world(self, variant: Variant, own: bool, exact: bool) -> World:
        key = (variant, own, exact)
        if key not in self._worlds:
            overrides = {k: v for k, v in self.claimed.overrides.items() if not variant.touches(k)} if own else {}
            self._worlds[key] = World(self.graph, exact=exact, overrides=overrides, variant=variant)
        return self._worlds[key]

    def contradicted(self, variant: Variant, own: bool) -> bool:
        """Whether ``variant`` would have made one of the claimant's right numbers wrong (in that world).

        A quantity claimed twice with different numbers is left out: the two claims are two
        computations, so a mistake in one says nothing about the other."""
        cache_key = (variant, own)
        if cache_key not in self._contradicted:
            self._contradicted[cache_key] = any(
                self._holds(NO_VARIANT, own, number) and not self._holds(variant, own, number)
                for number in range(len(self.right)))
        return self._contradicted[cache_key]

    def _holds(self, variant: Variant, own: bool, number: int) -> bool:
        """Whether right number ``number`` comes out within its tolerance in this world."""
        right = self.right[number]
        try:
            value = float(self._world(variant, own, False).fresh(right.key)[right.position])
        except (ArithmeticError, ValueError, OverflowError):
            return False
        spread = self.claimed.spread(right.key)[0][right.position]
        return abs(float(right.claimed) - value) <= float(right.tolerance) + spread + 1e-9 * max(1.0, abs(value))

    def _on_its_own(self, key: Key) -> bool:
        """Whether ``key`` belongs to one example and is computed from no other example's nodes."""
        if key not in self._alone:
            self._alone[key] = key.example is not None and all(
                k.example in (None, key.example) for k in self.graph.ancestors(key))
        return self._alone[key]

    def reproduces(self, variant: Variant, number: int) -> bool:
        """Whether ``variant`` reproduces wrong number ``number`` in a world it does not contradict."""
        wrong = self.wrong[number]
        key, position = wrong.key, wrong.position
        claimed, tol = wrong.claimed, wrong.tolerance
        base_spread = self.claimed.spread(key)[0][position]
        for own in (True, False):
            try:
                guess = float(self._world(variant, own, False).fresh(key)[position])
            except (ArithmeticError, ValueError, OverflowError):
                continue
            if not np.isfinite(guess):
                continue
            plain = float(wrong.reference)
            scale = max(1.0, abs(guess) / abs(plain)) if plain else 1.0
            spread = base_spread * scale if own else 0.0
            if abs(float(claimed) - guess) > 10 * (2 * float(tol) + spread) + 1e-12 * abs(guess):
                continue
            if self.contradicted(variant, own):     # after the cheap test: it computes every right number
                continue
            if own:
                spread = self._spread(variant, key, position)
            exact = self._world(variant, own, True).fresh(key)[position]
            if within(claimed, exact, tol, spread) or truncated(claimed, exact, tol, spread):
                return True
        return False

    def _spread(self, variant: Variant, key: Key, position: tuple) -> float:
        """Σ |∂value/∂claim| t_claim in the claimant's world under ``variant``."""
        cache_key = (variant, key, position)
        if cache_key in self._spreads:
            return self._spreads[cache_key]
        world = self._world(variant, True, False)
        ancestors = self.graph.ancestors(key, variant)
        base = float(world.fresh(key)[position])
        total = 0.0
        for k, entries in world.overrides.items():
            if k not in ancestors:
                continue
            for p, value in entries.items():
                moved = world.shifted(k, p, value + self.claimed.tolerances[(k, p)]).fresh(key)[position]
                total += abs(float(moved) - base)
        self._spreads[cache_key] = total
        return total

    def _affects(self, variant: Variant) -> bool:
        for wrong in self.wrong:
            for own in (True, False):
                try:
                    changed = float(self._world(variant, own, False).fresh(wrong.key)[wrong.position])
                    plain = float(self._world(NO_VARIANT, own, False).fresh(wrong.key)[wrong.position])
                except (ArithmeticError, ValueError, OverflowError):
                    continue
                if changed != plain:
                    return True
        return False

    def _misread_hypotheses(self) -> list[tuple[Variant, tuple[Cause, ...]]]:
        """Misread data values that reproduce one of the first wrong numbers depending on them."""
        graph = self.graph
        found: dict[Variant, tuple[Cause, ...]] = {}
        anchors: dict[tuple[Key, int], list[int]] = {}
        for number, wrong in enumerate(self.wrong):
            for data in data_entries(graph, graph.ancestors(wrong.key)):
                if len(anchors.setdefault(data, [])) < 3:
                    anchors[data].append(number)
        for (data_key, unit), numbers in anchors.items():
            actual = float(graph.given(data_key, False, NO_VARIANT)[unit])
            places = max(1, _decimals(actual))
            for number in numbers:
                wrong = self.wrong[number]
                claimed = float(wrong.claimed)
                for own in (True, False):
                    def residual(v: float, own=own) -> float:
                        variant = Variant(data=((data_key, unit, Decimal(repr(v))),))
                        return float(self._world(variant, own, False).fresh(wrong.key)[wrong.position]) - claimed
                    for candidate in solve_misread(residual, actual):
                        for read in nice_values(candidate):
                            if (-read.as_tuple().exponent > places or float(read) == actual
                                    or abs(float(read) - actual) > max(1.0, abs(actual))):
                                continue    # a misreading is a short number near the real one
                            variant = Variant(data=((data_key, unit, read),))
                            if variant not in found and self.reproduces(variant, number):
                                found[variant] = (misread_cause(graph, data_key, unit, read),)
        return list(found.items())

    def causes(self) -> list[list[tuple[Cause, ...]]]:
        """For each wrong number, in order: its likely causes, each one mistake or two made together
        (empty: no known cause)."""
        if not self.wrong:
            return []
        hypotheses = self._hypotheses()
        chosen = self._choose(hypotheses)
        found = []
        for n, wrong in enumerate(self.wrong):
            causes: list[tuple[Cause, ...]] = []
            for i in chosen.get(n, []):
                smallest = self._smallest(hypotheses[i], n)
                if smallest not in causes:
                    causes.append(smallest)
            if self._on_its_own(wrong.key):     # "in example i only" says nothing about i's number
                causes = list(dict.fromkeys(tuple(_unscoped(c) for c in combo) for combo in causes))
            causes = [c for c in causes if not any(_narrower(other, c) for other in causes if other != c)]
            if not causes:
                slip = digit_slip(wrong.written, wrong.reference)
                causes = [(slip,)] if slip else []
            found.append(causes)
        return found

    def _hypotheses(self) -> list[tuple[Variant, tuple[Cause, ...]]]:
        """Every single mistake that changes a wrong number, every misreading that reproduces one, and the pairs."""
        mistakes = catalogue(self.graph)
        throughout = {v for v, _ in mistakes if v.example_scope is None and self._affects(v)}
        examples = {k.example for wrong in self.wrong for k in self.graph.ancestors(wrong.key) | {wrong.key}}
        # a mistake in one example changes a wrong number only if made throughout it would, and the number
        # depends on that example
        singles = [(v, (c,)) for v, c in mistakes if v in throughout or (
            v.example_scope in examples and replace(v, example_scope=None) in throughout and self._affects(v))]
        if any(wrong.key.step > LONG_CHAIN for wrong in self.wrong):
            return singles     # every hypothesis redoes every step: after many, single mistakes only
        misreads = self._misread_hypotheses()
        hypotheses = singles + misreads
        whole = [h for h in singles if h[0].example_scope is None]   # pairs: of mistakes made throughout
        for a in range(len(whole)):
            for b in range(a + 1, len(whole)):
                pair = combine((whole[a][0], whole[a][1][0]), (whole[b][0], whole[b][1][0]))
                if pair:
                    hypotheses.append(pair)
        for misread, causes in misreads:
            for variant, single in whole:
                merged = variant.combine(misread)
                if merged is not None:
                    hypotheses.append((merged, single + causes))
        return hypotheses

    def _choose(self, hypotheses: list[tuple[Variant, tuple[Cause, ...]]]) -> dict[int, list[int]]:
        """Greedily, the hypotheses that reproduce the most unexplained numbers: {number: hypotheses chosen}.

        A pair with a derivative mistake (there are many) is tried only on the numbers no single
        mistake reproduces."""
        numbers = range(len(self.wrong))
        explains = {i: {n for n in numbers if self.reproduces(h[0], n)} for i, h in enumerate(hypotheses)
                    if len(h[1]) == 1 or not any(c.id in WHERE_NEEDED for c in h[1])}
        left = set(numbers).difference(*(explains[i] for i in explains if len(hypotheses[i][1]) == 1))
        for i, h in enumerate(hypotheses):
            if i not in explains:
                explains[i] = {n for n in sorted(left) if self.reproduces(h[0], n)}
        unexplained = set(range(len(self.wrong)))
        chosen: dict[int, list[int]] = {}
        while unexplained:
            best = max(range(len(hypotheses)), default=None,
                       key=lambda i: (len(explains[i] & unexplained), -len(hypotheses[i][1]), -i))
            if best is None or not explains[best] & unexplained:
                break
            covered = explains[best] & unexplained
            # every hypothesis as good as the best on the same numbers is reported beside it
            ties = [i for i in range(len(hypotheses)) if explains[i] & unexplained == covered
                    and len(hypotheses[i][1]) == len(hypotheses[best][1])]
            for n in covered:
                chosen[n] = ties
            unexplained -= covered
        return chosen

    def _smallest(self, hypothesis: tuple[Variant, tuple[Cause, ...]], number: int) -> tuple[Cause, ...]:
        """The part of a two-mistake hypothesis that alone reproduces the number, if one does."""
        variant, causes = hypothesis
        if len(causes) == 1:
            return causes
        for part in self._parts(variant):
            if part[0] != variant and self.reproduces(part[0], number):
                return part[1]
        return causes

    def _parts(self, variant: Variant) -> list[tuple[Variant, tuple[Cause, ...]]]:
        parts = []
        for single, cause in catalogue(self.graph, per_example=False):
            if variant.combine(single) is None and single.combine(variant) is None and _contains(variant, single):
                parts.append((single, (cause,)))
        if variant.data:
            data_key, unit, read = variant.data[0]
            parts.append((Variant(data=variant.data), (misread_cause(self.graph, data_key, unit, read),)))
        return parts


#: after more steps than this (``step = k``), misread data and pairs of mistakes are not tried
LONG_CHAIN = 3
#: mistakes tried in pairs only where no single mistake fits: g' left out of δ, evaluated at a, its formula slipped
WHERE_NEEDED = frozenset({"derivative_left_out", "derivative_at_a", "derivative_formula_sign"})


def _unscoped(cause: Cause) -> Cause:
    return Cause(cause.id, tuple(item for item in cause.details if item[0] != "scope"))


def _narrower(first: tuple[Cause, ...], second: tuple[Cause, ...]) -> bool:
    """Whether ``first`` says less than ``second`` and explains the same: the same mistake in fewer
    layers, or made throughout rather than in one example only."""
    if len(first) != 1 or len(second) != 1 or first[0].id != second[0].id or first == second:
        return False
    a, b = dict(first[0].details), dict(second[0].details)
    if "layers" not in a or "layers" not in b:
        return False
    fewer_layers = set(a.get("layers", "").split(", ")) <= set(b.get("layers", "").split(", "))
    return fewer_layers and ("scope" not in a or a.get("scope") == b.get("scope"))


def _contains(variant: Variant, part: Variant) -> bool:
    """Every change ``part`` makes, ``variant`` makes too."""
    for name in part.__dataclass_fields__:
        mine, default = getattr(part, name), getattr(NO_VARIANT, name)
        if mine != default and getattr(variant, name) != mine:
            return False
    return True


def _decimals(value: float) -> int:
    text = repr(float(value))
    if "e" in text:
        return 6
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0
