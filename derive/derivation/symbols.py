"""Symbols that carry their meaning: what each derivation symbol stands for, as a record.

The derivation makes every symbol it uses here, so a printer asks ``meaning_of(symbol)`` —
kind, layer number, unit indices — instead of parsing the symbol's name. The names stay
what they were (``W2_1_3``, ``Delta2``): generated code and documents do not change.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

#: scalar kinds (index form, one symbol per unit or weight) and matrix kinds (batch form)
SCALAR_KINDS = ("x", "y", "W", "b", "z", "a", "delta", "D")   # D: a unit's dropout mask
MATRIX_KINDS = ("W", "b", "Z", "A", "Delta", "G", "dW", "db")   # and "ones", made by ones()


@dataclass(frozen=True)
class Meaning:
    """What a symbol stands for: ``kind`` of quantity, the spec's ``layer`` number, 1-based ``units``.

    ``units`` is (j,) for a unit's z, a, δ or b, (j, k) for the weight W_jk, (k,) for x_k and y_k
    (whose ``layer`` is None); empty for a matrix symbol, whose ``matrix`` is True.
    """

    kind: str
    layer: int | None
    units: tuple[int, ...] = ()
    matrix: bool = False


_MEANINGS: dict[sp.Basic, Meaning] = {}


def scalar(kind: str, layer: int | None, *units: int) -> sp.Symbol:
    """The real symbol of one entry (``scalar("W", 2, 1, 3)`` is W^[2]_13, named ``W2_1_3``)."""
    if kind not in SCALAR_KINDS:
        raise ValueError(f"kind: expected one of {', '.join(SCALAR_KINDS)}, got {kind!r}")
    name = f"{kind}_{units[0]}" if layer is None else f"{kind}{layer}_" + "_".join(map(str, units))
    symbol = sp.Symbol(name, real=True)
    _MEANINGS.setdefault(symbol, Meaning(kind, layer, tuple(units)))
    return symbol


def matrix(kind: str, layer: int, rows: sp.Expr | int, cols: sp.Expr | int) -> sp.MatrixSymbol:
    """The batch matrix of a layer (``matrix("Delta", 2, n, m)`` is Δ^[2], named ``Delta2``)."""
    if kind not in MATRIX_KINDS:
        raise ValueError(f"kind: expected one of {', '.join(MATRIX_KINDS)}, got {kind!r}")
    symbol = sp.MatrixSymbol(f"{kind}{layer}", rows, cols)
    _MEANINGS.setdefault(symbol, Meaning(kind, layer, (), matrix=True))
    return symbol


def ones(rows: sp.Expr | int, cols: sp.Expr | int) -> sp.MatrixSymbol:
    """The all-ones matrix 𝟏 of an elementwise batch form (1 − A is 𝟏 − A), as a symbol with a meaning."""
    symbol = sp.MatrixSymbol("__ones__", rows, cols)
    _MEANINGS.setdefault(symbol, Meaning("ones", None, (), matrix=True))
    return symbol


def meaning_of(symbol: sp.Basic) -> Meaning | None:
    """What ``symbol`` stands for, or None for a symbol the derivation did not make."""
    return _MEANINGS.get(symbol)


class WeightSymbols:
    """W^[l] of a dense layer: its (n_l, n_{l−1}) scalar symbols, each made the first time it is read.

    A layer printed in loops reads W_11 alone, and making a symbol costs about 15 µs, so a 1000 × 1000 layer
    would spend 15 s on symbols nothing reads. Indexing (``W[j, k]``, 0-based, or a flat C-order index), the
    shape, and iteration row by row behave as ``sympy.Matrix``'s; ``as_matrix()`` is the Matrix itself.
    """

    def __init__(self, layer: int, rows: int, cols: int) -> None:
        self.layer, self.rows, self.cols = layer, rows, cols
        self._made: dict[tuple[int, int], sp.Symbol] = {}

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows, self.cols

    def __len__(self) -> int:
        return self.rows * self.cols

    def __getitem__(self, key: int | tuple[int, int]) -> sp.Symbol:
        j, k = key if isinstance(key, tuple) else divmod(key, self.cols)   # a flat index in C order
        if not (0 <= j < self.rows and 0 <= k < self.cols):
            raise IndexError(f"W{self.layer}[{key}]: the shape is {self.shape}")
        entry = self._made.get((j, k))
        if entry is None:
            entry = self._made[j, k] = scalar("W", self.layer, j + 1, k + 1)
        return entry

    def __iter__(self):
        return (self[j, k] for j in range(self.rows) for k in range(self.cols))

    def as_matrix(self) -> sp.Matrix:
        return sp.Matrix(self.rows, self.cols, list(self))

    @property
    def made(self) -> int:
        """How many entries have been read so far (each one's symbol made)."""
        return len(self._made)
