"""Which one number a claim is about: ``unit = j`` of a vector or ``entry = [j, k]`` of a matrix (1-based)."""
from __future__ import annotations

from ..errors import SpecError
from .written import show


def claim_unit(entry: dict, where: str, kind: str, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The 0-based position a one-number claim names, or None for a claim of the whole quantity."""
    if "unit" in entry and "entry" in entry:
        raise SpecError(where, "expected unit (for a vector) or entry (for a matrix), not both")
    if "unit" in entry:
        if len(shape) != 1:
            raise SpecError(f"{where}.unit", f"expected unit only for a vector quantity; {kind} is "
                                             f"{'a matrix: use entry = [j, k]' if len(shape) == 2 else 'a number'}")
        j = entry["unit"]
        if isinstance(j, bool) or not isinstance(j, int) or not 1 <= j <= shape[0]:
            raise SpecError(f"{where}.unit", f"expected a unit from 1 to {shape[0]}, got {show(j)}")
        return (j - 1,)
    if "entry" in entry:
        value = entry["entry"]
        if len(shape) != 2:
            raise SpecError(f"{where}.entry", f"expected entry only for a matrix quantity; {kind} is not one")
        if (not isinstance(value, list) or len(value) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
                or not (1 <= value[0] <= shape[0] and 1 <= value[1] <= shape[1])):
            raise SpecError(f"{where}.entry", f"expected [row, column] with row 1..{shape[0]} and column "
                                              f"1..{shape[1]}, got {show(value)}")
        return (value[0] - 1, value[1] - 1)
    return None
