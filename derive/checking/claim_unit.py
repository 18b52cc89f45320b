"""Which one number a claim is about: ``unit = j`` of a vector or ``entry = [j, k]`` of a matrix (1-based).

``one_of``, ``unit_index`` and ``entry_index`` are the checks every quantity's claim shares; ``claim_unit`` applies
them to the dense quantities, ``spatial_claims.spatial_entry`` to a conv or pool layer's arrays, each with its
own words for what a misplaced key should have been.
"""
from __future__ import annotations

from typing import Any

from ..errors import SpecError
from .written import show


def one_of(entry: dict, where: str, array: str) -> None:
    """A SpecError when the claim gives both ``unit`` and ``entry``."""
    if "unit" in entry and "entry" in entry:
        raise SpecError(where, f"expected unit (for a vector) or entry (for {array}), not both")


def unit_index(value: Any, where: str, count: int) -> tuple[int]:
    """The 0-based position of ``unit = j`` among ``count`` units, or a SpecError naming ``where.unit``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= count:
        raise SpecError(f"{where}.unit", f"expected a unit from 1 to {count}, got {show(value)}")
    return (value - 1,)


def entry_index(value: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The 0-based index of ``entry = [...]`` (1-based, one integer per axis of ``shape``), or None when it is not one."""
    if (not isinstance(value, list) or len(value) != len(shape)
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
            or not all(1 <= v <= n for v, n in zip(value, shape))):
        return None
    return tuple(v - 1 for v in value)


def claim_unit(entry: dict, where: str, kind: str, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The 0-based position a one-number claim names, or None for a claim of the whole quantity."""
    one_of(entry, where, "a matrix")
    if "unit" in entry:
        if len(shape) != 1:
            raise SpecError(f"{where}.unit", f"expected unit only for a vector quantity; {kind} is "
                                             f"{'a matrix: use entry = [j, k]' if len(shape) == 2 else 'a number'}")
        return unit_index(entry["unit"], where, shape[0])
    if "entry" in entry:
        if len(shape) != 2:
            raise SpecError(f"{where}.entry", f"expected entry only for a matrix quantity; {kind} is not one")
        index = entry_index(entry["entry"], shape)
        if index is None:
            raise SpecError(f"{where}.entry", f"expected [row, column] with row 1..{shape[0]} and column "
                                              f"1..{shape[1]}, got {show(entry['entry'])}")
        return index
    return None
