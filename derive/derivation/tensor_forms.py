"""Conv and pool layers as indexed formulas over whole arrays: what the backends print (issue 15).

``derive.derivation.spatial`` writes every unit's expression out and ``derive.proof.spatial`` proves those
against ``sympy.diff``. Code needs the same results once per layer, with loop indices: here they are
``sympy.Indexed`` reads of ``IndexedBase`` arrays under ``sympy.Sum``. The arrays carry no example axis
(one example; NumPy adds it last). The one convention every printer implements:

    a read at an index outside the array, or at an index that is not an integer, is 0

(zero padding, and the strided δ that only some input positions receive). ``expand`` applies the
convention and writes a form out unit by unit; the tests check that this equals ``spatial``'s proved
expressions, so what a backend prints is what was proved.

Names: A{l-1} (the layer's input, shape in_shape), Z{l} (out_shape), W{l}, b{l}, Delta{l} (∂ℓ/∂z, out_shape),
M{l} (max pooling: 1 at each window's first maximum, shape out_shape + size).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import sympy as sp

from ..model.layer_kinds import ConvLayer, PoolLayer
from . import spatial

#: spatial index letters: output positions, input positions, kernel (or window) offsets
_OUT, _IN, _TAP = ("i", "j"), ("x", "y"), ("p", "q")


def _idx(name: str, size: int) -> sp.Idx:
    return sp.Idx(name, size)


@dataclass(frozen=True)
class ConvForms:
    """The indexed formulas of one conv layer: z, the δ it sends down, ∂ℓ/∂W and ∂ℓ/∂b.

    ``z``: free indices ``out_index`` (c, i, j); ``input_delta`` (Σ_k ∂z_k/∂a δ_k): free ``in_index``
    (c′, x, y), the strided gather form; ``input_delta_flipped`` the same sum with the kernel flipped
    (p → k−1−p), the full correlation the lectures write for stride 1; ``weight_gradient``: free
    ``weight_index`` (c, c′, p, q); ``bias_gradient``: free (c,).
    """

    layer: ConvLayer
    number: int
    A: sp.IndexedBase
    Z: sp.IndexedBase
    W: sp.IndexedBase
    b: sp.IndexedBase | None
    Delta: sp.IndexedBase
    out_index: tuple[sp.Idx, ...]
    in_index: tuple[sp.Idx, ...]
    weight_index: tuple[sp.Idx, ...]
    z: sp.Expr
    input_delta: sp.Expr
    input_delta_flipped: sp.Expr
    weight_gradient: sp.Expr
    bias_gradient: sp.Expr | None


@dataclass(frozen=True)
class PoolForms:
    """The indexed formulas of one pool layer: z and the δ it sends down (through ``M`` for max pooling).

    ``mask``: M[c, i, j, p, q] = 1 where window (c, i, j)'s offset (p, q) holds its first maximum (row-major),
    written as ``spatial.first_maximum`` of the window's reads; None for average pooling.
    """

    layer: PoolLayer
    number: int
    A: sp.IndexedBase
    Z: sp.IndexedBase
    Delta: sp.IndexedBase
    M: sp.IndexedBase | None
    out_index: tuple[sp.Idx, ...]
    in_index: tuple[sp.Idx, ...]
    window_index: tuple[sp.Idx, ...]    # the offsets (p, q) inside a window
    taps: tuple[tuple[int, ...], ...]   # every offset, row-major
    z: sp.Expr
    input_delta: sp.Expr
    mask: Callable[[Sequence[int]], sp.Expr] | None   # the mask entry of window (c, i, j) at offset (p, q)


def _arrays(number: int, layer: ConvLayer | PoolLayer) -> tuple[sp.IndexedBase, sp.IndexedBase, sp.IndexedBase]:
    return (sp.IndexedBase(f"A{number - 1}", shape=layer.in_shape), sp.IndexedBase(f"Z{number}", shape=layer.out_shape),
            sp.IndexedBase(f"Delta{number}", shape=layer.out_shape))


def conv_forms(layer: ConvLayer, number: int) -> ConvForms:
    """The indexed formulas of conv layer number ``number``."""
    axes = len(layer.kernel)
    A, Z, Delta = _arrays(number, layer)
    W = sp.IndexedBase(f"W{number}", shape=layer.weight_shape)
    b = sp.IndexedBase(f"b{number}", shape=(layer.channels,)) if layer.bias else None
    c, c_in = _idx("c", layer.channels), _idx("c'", layer.in_shape[0])
    out = tuple(_idx(n, size) for n, size in zip(_OUT, layer.out_shape[1:]))
    inp = tuple(_idx(n, size) for n, size in zip(_IN, layer.in_shape[1:]))
    tap = tuple(_idx(n, size) for n, size in zip(_TAP, layer.kernel))
    s, P, k = layer.stride, layer.padding, layer.kernel
    read = tuple(s[a] * out[a] + tap[a] - P[a] for a in range(axes))              # s·i + p − P
    limits_in = [(c_in, 0, layer.in_shape[0] - 1)] + [(t, 0, k[a] - 1) for a, t in enumerate(tap)]
    z = sp.Sum(W[(c, c_in) + tap] * A[(c_in,) + read], *limits_in) + (b[c] if b is not None else 0)
    back = tuple((inp[a] + P[a] - tap[a]) / s[a] for a in range(axes))             # i with s·i + p − P = x
    limits_out = [(c, 0, layer.channels - 1)] + [(t, 0, k[a] - 1) for a, t in enumerate(tap)]
    input_delta = sp.Sum(W[(c, c_in) + tap] * Delta[(c,) + back], *limits_out)
    flipped_tap = tuple(k[a] - 1 - tap[a] for a in range(axes))
    back_flipped = tuple((inp[a] + P[a] - k[a] + 1 + tap[a]) / s[a] for a in range(axes))
    input_delta_flipped = sp.Sum(W[(c, c_in) + flipped_tap] * Delta[(c,) + back_flipped], *limits_out)
    limits_positions = [(i, 0, n - 1) for i, n in zip(out, layer.out_shape[1:])]
    weight_gradient = sp.Sum(Delta[(c,) + out] * A[(c_in,) + read], *limits_positions)
    bias_gradient = sp.Sum(Delta[(c,) + out], *limits_positions) if b is not None else None
    return ConvForms(layer, number, A, Z, W, b, Delta, (c,) + out, (c_in,) + inp, (c, c_in) + tap,
                     z, input_delta, input_delta_flipped, weight_gradient, bias_gradient)


def pool_forms(layer: PoolLayer, number: int) -> PoolForms:
    """The indexed formulas of pool layer number ``number``."""
    axes = len(layer.size)
    A, Z, Delta = _arrays(number, layer)
    c = _idx("c", layer.in_shape[0])
    out = tuple(_idx(n, size) for n, size in zip(_OUT, layer.out_shape[1:]))
    inp = tuple(_idx(n, size) for n, size in zip(_IN, layer.in_shape[1:]))
    tap = tuple(_idx(n, size) for n, size in zip(_TAP, layer.size))
    s = layer.stride
    taps = tuple(spatial.positions(layer.size))
    reads = [A[(c,) + tuple(s[a] * out[a] + offset[a] for a in range(axes))] for offset in taps]
    back = tuple((inp[a] - tap[a]) / s[a] for a in range(axes))                   # i with s·i + p = x
    limits = [(t, 0, n - 1) for t, n in zip(tap, layer.size)]
    if layer.mode == "max":
        M = sp.IndexedBase(f"M{number}", shape=layer.out_shape + layer.size)
        z = sp.Max(*reads)
        input_delta = sp.Sum(M[(c,) + back + tap] * Delta[(c,) + back], *limits)

        def mask(window: Sequence[int]) -> sp.Expr:
            """M[c, i, j, p, q] of one window (c, i, j) and offset (p, q): the first maximum's indicator."""
            *spot, = window
            values = {c: spot[0], **{o: v for o, v in zip(out, spot[1:axes + 1])}}
            entries = [r.xreplace(values) for r in reads]
            position = taps.index(tuple(spot[axes + 1:]))
            return spatial.first_maximum(entries, position)
    else:
        M, mask = None, None
        size = math.prod(layer.size)
        z = sp.Add(*reads) / size
        input_delta = sp.Sum(Delta[(c,) + back], *limits) / size
    return PoolForms(layer, number, A, Z, Delta, M, (c,) + out, (c,) + inp, tap, taps, z, input_delta, mask)


# ------------------------------------------------------------------ writing a form out unit by unit
Reader = Callable[[str, tuple[int, ...]], sp.Expr]


def _read_indexed(indexed: sp.Indexed, reader: Reader) -> sp.Expr:
    """``reader``'s entry of ``indexed`` at its (now numeric) index; 0 outside the array or off the integers."""
    index = tuple(sp.nsimplify(i) for i in indexed.indices)
    shape = indexed.base.shape
    if any(not i.is_integer for i in index) or any(not 0 <= int(i) < int(n) for i, n in zip(index, shape)):
        return sp.Integer(0)
    entry = sp.sympify(reader(str(indexed.base.label), tuple(int(i) for i in index)))
    return _read_all(entry, reader) if entry.has(sp.Indexed) else entry   # M's entry reads A


def _read_all(expr: sp.Expr, reader: Reader) -> sp.Expr:
    return expr.replace(lambda e: isinstance(e, sp.Indexed), lambda e: _read_indexed(e, reader))


def expand(expr: sp.Expr, values: dict[sp.Idx, int], reader: Reader) -> sp.Expr:
    """``expr`` at the free index values ``values``, its sums written out, every read replaced by ``reader``'s
    entry (``reader(name, index)``: e.g. ("W2", (0, 1, 0, 0)) → the symbol W2_1_2_1_1) or 0 by the convention."""
    expr = expr.xreplace({i: sp.Integer(v) for i, v in values.items()})
    expr = expr.doit() if expr.has(sp.Sum) else expr
    return _read_all(expr, reader)


__all__ = ["ConvForms", "PoolForms", "conv_forms", "pool_forms", "expand"]
