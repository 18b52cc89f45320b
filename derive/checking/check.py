"""Verdicts on claimed numbers and formulas: correct, wrong, follows-through or rounding, with likely causes.

For each claimed number (each entry of a claimed vector or matrix), with its tolerance t
(half a unit in its last written digit unless the answers file says otherwise):

- ``correct``: within t of the value the derivation gives for the spec's ``[example]``;
- ``follows-through``: not correct, but within t of what the correct method gives from the
  claimant's own earlier numbers (``world.World`` with the claims in place), some of which
  were themselves wrong;
- ``rounding``: not correct, but within t of what follows from earlier numbers that were only
  rounded (claimed and right, or an unclaimed intermediate rounded to a few decimals), or
  the right value cut off (truncated) instead of rounded;
- ``wrong``: none of these. Its likely causes are the mistakes of ``mistakes.py`` that
  reproduce it, or none ("no known cause").

An earlier number claimed to d digits could have been anything within its own tolerance,
so "within t" for a recomputed value also allows the spread that tolerance causes
(linearised: Σ |∂value/∂claim| · t_claim, measured by finite differences in float64).
Claims are listed in the order they are computed (a dependency order that keeps the
file's order where it can); the first claim with a wrong number is the first wrong step.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import mpmath
import numpy as np

from ..derivation.backprop import Derivation
from ..evaluation.numbers import GUARD_DIGITS
from .answers import Answers, Claim
from .compare import close, truncated, within
from .explain import Explainer, Number
from .formulas import FormulaResult, check_formula
from .graph import Graph
from .mistakes import Cause
from .nodes import GIVEN_KINDS, PASS, Key
from .spatial_claims import shown_position
from .world import ClaimedNumbers, World

VERDICTS = ("correct", "rounding", "follows-through", "wrong")


@dataclass
class EntryResult:
    """The verdict on one claimed number."""

    position: tuple[int, ...]          # where in the quantity (0-based; () for a number)
    written: str
    tolerance: Decimal
    verdict: str
    correct: Any                       # the right value (mpf)
    expected: Any = None               # what follows from the claimant's own numbers, when it differs
    note: str | None = None            # "truncated" or "rounded"
    rounded: tuple[Key, tuple, str] | None = None    # the intermediate that was rounded, and its rounded value
    causes: list[tuple[Cause, ...]] = field(default_factory=list)


@dataclass
class ClaimResult:
    claim: Claim
    key: Key | None
    verdict: str
    entries: list[EntryResult] = field(default_factory=list)
    formula: FormulaResult | None = None
    first_wrong: bool = False


@dataclass
class CheckResult:
    spec_name: str
    spec_source: str
    answers: Answers
    results: list[ClaimResult]

    @property
    def ok(self) -> bool:
        return all(r.verdict == "correct" for r in self.results)

    def counts(self) -> dict[str, int]:
        """How many numbers (formulas count as one each) got each verdict."""
        out = {v: 0 for v in VERDICTS + ("unproven",)}
        for r in self.results:
            if r.formula is not None:
                out[r.verdict] += 1
            for e in r.entries:
                out[e.verdict] += 1
        return {k: v for k, v in out.items() if v or k in VERDICTS}


# ---------------------------------------------------------------- keys and order

def claim_key(claim: Claim, derivation: Derivation) -> Key:
    """The graph node a numeric claim is about (a at the input's number is the data x)."""
    kind, layer, example = claim.kind, claim.layer, claim.example
    if kind in ("a", "a+") and layer == derivation.input_number:
        return Key("x", None, example)
    if kind in ("C", "C+", "cost", "cost+"):
        return Key(kind, None, example, claim.step)
    return Key(kind, layer, example, claim.step)


def index_of(claim: Claim, position: tuple) -> tuple:
    """Where the number at ``position`` of the quantity is in the claim's value."""
    return () if claim.unit is not None else position


def _positions(claim: Claim, shape: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(index into the claim's value, position in the quantity) for every claimed number."""
    if claim.unit is not None:
        return [((), claim.unit)]
    return [(index, index) for index in np.ndindex(shape)]


def dependency_order(claims: list[Claim], graph: Graph | None) -> list[Claim]:
    """Claims in an order a student can compute them: every claim after the claims it depends on,
    otherwise in file order."""
    numeric = [c for c in claims if not c.is_formula]
    keys = {c.position: claim_key(c, graph.derivation) for c in numeric}
    ancestors = {c.position: graph.ancestors(keys[c.position]) for c in numeric} if graph else {}
    first: dict[Key, int] = {}
    for c in sorted(numeric, key=lambda c: c.position):     # the claim whose numbers later steps use
        first.setdefault(keys[c.position], c.position)
    after: dict[int, set[int]] = {c.position: set() for c in claims}
    for c in numeric:
        for d in numeric:
            same = keys[d.position] == keys[c.position] and d.position < c.position
            used = keys[d.position] in ancestors[c.position] and first[keys[d.position]] == d.position
            if same or used:
                after[c.position].add(d.position)
    by_position = {c.position: c for c in claims}
    waiting = {p: len(deps) for p, deps in after.items()}
    dependents: dict[int, list[int]] = {p: [] for p in after}
    for p, deps in after.items():
        for d in deps:
            dependents[d].append(p)
    ready = [p for p, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        p = heapq.heappop(ready)
        order.append(by_position[p])
        for q in dependents[p]:
            waiting[q] -= 1
            if waiting[q] == 0:
                heapq.heappush(ready, q)
    return order


# ---------------------------------------------------------------- the check

def check(derivation: Derivation, answers: Answers, *, explain: bool = True) -> CheckResult:
    """Judge every claim of ``answers`` against ``derivation`` and its spec's ``[example]``.

    ``explain=False`` skips the search for likely causes (the costly part when many numbers are wrong)."""
    network = derivation.network
    numeric = [c for c in answers.claims if not c.is_formula]
    graph = Graph(derivation) if numeric else None
    order = dependency_order(list(answers.claims), graph)
    results: list[ClaimResult] = []
    digits = GUARD_DIGITS + max((_significant(w) for c in numeric for w in c.written.reshape(-1)), default=0)
    with mpmath.workdps(digits):
        judge = Judge(graph, numeric) if graph else None
        for claim in order:
            if claim.is_formula:
                formula = check_formula(claim, derivation, answers.source)
                results.append(ClaimResult(claim, None, formula.verdict, formula=formula))
            else:
                results.append(judge.judge(claim))
        if judge and explain:
            _explain(judge, results)
    for result in results:
        if result.verdict == "wrong":
            result.first_wrong = True
            break
    return CheckResult(network.name, network.source, answers, results)


def _explain(judge: "Judge", results: list[ClaimResult]) -> None:
    """The likely causes of every wrong number, found together (``explain.py``) and attached to its entry."""
    wrong = [(r, e) for r in results for e in r.entries if e.verdict == "wrong"]
    claimed_once = _claimed_once(results)
    right = [(r, e) for r in results for e in r.entries if e.verdict == "correct" and r.key in claimed_once]
    found = Explainer(judge.claimed, [_number(r, e) for r, e in wrong], [_number(r, e) for r, e in right]).causes()
    for (_, entry), causes in zip(wrong, found):
        entry.causes = causes


def _number(result: ClaimResult, entry: EntryResult) -> Number:
    """One judged number, as the explainer reads it."""
    reference = entry.expected if entry.expected is not None else entry.correct
    return Number(result.key, entry.position, result.claim.value[index_of(result.claim, entry.position)],
                  entry.tolerance, entry.written, reference)


def _significant(written: str) -> int:
    return len(written.replace("-", "").replace("+", "").replace(",", "").replace(".", "").split("e")[0]
               .split("E")[0].lstrip("0")) + 2


class Judge:
    """Keeps the worlds and the verdicts so far, and judges claims in dependency order."""

    def __init__(self, graph: Graph, numeric: list[Claim]) -> None:
        self.graph = graph
        self.truth = World(graph, exact=True)
        overrides: dict[Key, dict[tuple, Decimal]] = {}
        tolerances: dict[tuple[Key, tuple], Decimal] = {}
        for claim in sorted(numeric, key=lambda c: c.position):      # the first claim of a node is the one used
            key = claim_key(claim, graph.derivation)
            for index, position in _positions(claim, claim.value.shape):
                if position not in overrides.get(key, {}):
                    overrides.setdefault(key, {})[position] = claim.value[index]
                    tolerances[(key, position)] = claim.tolerance[index]
        self.claimed = ClaimedNumbers(graph, overrides, tolerances)
        self.verdicts: dict[tuple[Key, tuple], str] = {}

    # -- verdicts
    def judge(self, claim: Claim) -> ClaimResult:
        key = claim_key(claim, self.graph.derivation)
        truth = self.truth.value(key)
        own = self.claimed.own(key)
        student = World(self.graph, exact=True, overrides=own).value(key)
        bound, users = self.claimed.spread(key)
        entries = []
        trials: dict = {}     # the rounding search's shifted worlds, shared by the claim's entries
        for index, position in _positions(claim, claim.value.shape):
            claimed, tol = claim.value[index], claim.tolerance[index]
            correct = truth[position]
            entry = EntryResult(position, claim.written[index], tol, "wrong", correct)
            expected = student[position]
            if within(claimed, correct, tol, 0):
                entry.verdict = "correct"
            elif within(claimed, expected, tol, bound[position]) or truncated(claimed, expected, tol, bound[position]):
                entry.expected = expected
                entry.note = None if within(claimed, expected, tol, bound[position]) else "truncated"
                entry.verdict = self._consistent_verdict(users[position])
            else:
                entry.expected = expected
                rounded = self._rounded_intermediate(key, position, claimed, tol, bound[position], own, trials)
                if rounded is not None:
                    entry.rounded = rounded
                    entry.note = "rounded"
                    entry.verdict = self._consistent_verdict(users[position])
            if entry.expected is not None and (close(entry.expected, correct) or (
                    entry.verdict == "wrong" and within(entry.expected, correct, tol, 0))):
                entry.expected = None       # the claimant's numbers give the right value: nothing to add
            self.verdicts[(key, position)] = entry.verdict
            entries.append(entry)
        worst = max((e.verdict for e in entries), key=VERDICTS.index)
        return ClaimResult(claim, key, worst, entries)

    def _consistent_verdict(self, used: set) -> str:
        """follows-through if an earlier number it uses was a mistake, else rounding."""
        if any(self.verdicts.get(u) in ("wrong", "follows-through") for u in used):
            return "follows-through"
        return "rounding"

    def _rounded_intermediate(self, key: Key, position: tuple, claimed: Decimal, tol: Decimal, spread: float,
                              own: dict, trials: dict) -> tuple[Key, tuple, str] | None:
        """An unclaimed intermediate which, rounded to 2–6 decimals, gives the claimed number.

        ``trials`` is shared by the entries of one claim (same ``own``): the float world and, per candidate
        entry, the whole claimed array after a small shift of it (the slopes of every entry at once)."""
        graph = self.graph
        if "base" not in trials:
            trials["base"] = World(graph, exact=False, overrides=own)
        base = trials["base"]
        # a rounding shows in the steps just after it: after k ≥ 4 steps, only the last three steps' values
        candidates = sorted((k for k in graph.ancestors(key) if k.kind not in GIVEN_KINDS and k.kind != PASS
                             and k.step >= key.step - 2),
                            key=lambda k: (k.step, k.kind, -1 if k.layer is None else k.layer,
                                           -1 if k.example is None else k.example))
        # after an optimizer's steps every earlier intermediate is a candidate and each trial redoes passes: a
        # slope per entry (one trial) rules out most roundings first, with room for the curvature
        # so do a conv net's many units, most of which do not reach this entry at all
        screen = graph.optimizer is not None or key.step > 1 or graph.derivation.network.has_spatial_layers
        slopes: dict[tuple, float] = {}
        at_base = float(base.value(key)[position]) if screen else 0.0
        for places in range(2, 7):
            for k in candidates:
                value = base.value(k)
                if value is None:
                    continue
                for p in np.ndindex(np.shape(value)):
                    if p in own.get(k, {}):
                        continue
                    rounded = Decimal(repr(float(value[p]))).quantize(Decimal(1).scaleb(-places))
                    if abs(float(rounded) - float(value[p])) < 1e-15:
                        continue
                    if screen:
                        v = float(value[p])
                        if (k, p) not in slopes:
                            h = 1e-6 * max(1.0, abs(v))
                            if (k, p) not in trials:
                                trials[(k, p)] = np.asarray(base.shifted(k, p, Decimal(repr(v + h))).value(key), float)
                            slopes[(k, p)] = (float(trials[(k, p)][position]) - at_base) / h
                        change = slopes[(k, p)] * (float(rounded) - v)
                        if abs(float(claimed) - at_base - change) > 4 * (2 * float(tol) + spread) + 0.1 * abs(change):
                            continue
                    trial = {kk: dict(vv) for kk, vv in own.items()}
                    trial.setdefault(k, {})[p] = rounded
                    guess = base.shifted(k, p, rounded).value(key)[position]   # reuses what does not depend on k
                    if not abs(float(claimed) - guess) <= 2 * float(tol) + spread:
                        continue
                    exact = World(graph, exact=True, overrides=trial).value(key)[position]
                    if within(claimed, exact, tol, spread):
                        return k, shown_position(k, p, graph.derivation), format(rounded, "f")
        return None


def _claimed_once(results: list[ClaimResult]) -> set[Key]:
    seen: dict[Key, int] = {}
    for r in results:
        if r.key is not None:
            seen[r.key] = seen.get(r.key, 0) + 1
    return {k for k, n in seen.items() if n == 1}
