"""Conv and pool layers in index form (issue 15): z of every output unit, and what flows back through them.

Units are flat in C order (channel, then each spatial axis), as DESIGN.md flattens them. For a conv layer
with kernel k, stride s and zero padding P along each axis,

    z_{c,i} = Σ_{c′,p} W_{c,c′,p} a_{c′, s·i + p − P} + b_c          (a padded position reads 0),

and the two results the lectures write in correlation form:

    Σ_k ∂z_k/∂a_{c′,x} δ_k = Σ_{c,p : s | x + P − p} W_{c,c′,p} δ_{c,(x + P − p)/s}
        (for stride 1: the full correlation of δ with the flipped kernel),
    ∂ℓ/∂W_{c,c′,p} = Σ_i δ_{c,i} a_{c′, s·i + p − P},   ∂ℓ/∂b_c = Σ_i δ_{c,i}.

Pooling takes the max or the mean of each window (no padding); the max passes δ back to the first
maximum of its window in row-major order, the mean 1/|window| of it to every entry. Every index is
a tuple over the spatial axes, so the same code serves 1-D and 2-D. ``derive.proof.spatial`` checks the
correlation forms against ``sympy.diff`` of z. These functions take the layer's settings and its
symbols; ``Derivation`` calls them for its conv and pool layers.
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import sympy as sp

from ..model.layer_kinds import ConvLayer, PoolLayer, Shape
from . import symbols

Index = tuple[int, ...]


def flat(shape: Shape, index: Index) -> int:
    """The C-order position of ``index`` in an array of ``shape``."""
    out = 0
    for n, i in zip(shape, index):
        out = out * n + i
    return out


def positions(shape: Shape) -> list[Index]:
    """Every index of ``shape`` in C order."""
    return list(itertools.product(*(range(n) for n in shape)))


def conv_weights(layer: ConvLayer, number: int) -> sp.Array:
    """W^[l] of shape (C_out, C_in, kH, kW): W_{c,c′,p,q} is ``W{l}_{c}_{c′}_{p}_{q}`` (1-based)."""
    return sp.Array([symbols.scalar("W", number, *(i + 1 for i in index)) for index in positions(layer.weight_shape)],
                    layer.weight_shape)


def conv_biases(layer: ConvLayer, number: int) -> tuple[sp.Symbol, ...] | None:
    """b^[l]_c, one per output channel; None without bias."""
    return tuple(symbols.scalar("b", number, c + 1) for c in range(layer.channels)) if layer.bias else None


def _read(layer: ConvLayer, out: Index, tap: Index) -> Index | None:
    """The input position (without channel) that output position ``out`` reads at kernel offset ``tap``; None in
    the padding."""
    spot = tuple(s * i + p - pad for i, p, s, pad in zip(out, tap, layer.stride, layer.padding))
    return spot if all(0 <= x < n for x, n in zip(spot, layer.in_shape[1:])) else None


def conv_z(layer: ConvLayer, W: sp.Array, b: Sequence[sp.Expr] | None, a_in: Sequence[sp.Expr]) -> list[sp.Expr]:
    """z of every output unit, flat in C order, from the flat input ``a_in``."""
    return [conv_z_unit(layer, W, b, a_in, unit) for unit in positions(layer.out_shape)]


def conv_z_unit(layer: ConvLayer, W: sp.Array, b: Sequence[sp.Expr] | None, a_in: Sequence[sp.Expr],
                unit: Index) -> sp.Expr:
    """z of the output unit (c, i, j) ``unit``."""
    c, *spot = unit
    terms = [W[(c, c_in) + tap] * a_in[flat(layer.in_shape, (c_in,) + read)]
             for c_in in range(layer.in_shape[0]) for tap in positions(layer.kernel)
             if (read := _read(layer, tuple(spot), tap)) is not None]
    return sp.Add(*terms) + (b[c] if b is not None else 0)


def conv_input_delta(layer: ConvLayer, W: sp.Array, delta: Sequence[sp.Expr]) -> list[sp.Expr]:
    """Σ_k ∂z_k/∂a_u δ_k for every input unit u, in the correlation form (the flipped kernel, strided)."""
    out_sizes = layer.out_shape[1:]
    result = []
    for c_in, *spot in positions(layer.in_shape):
        terms = []
        for c in range(layer.channels):
            for tap in positions(layer.kernel):
                shifted = [x + pad - p for x, pad, p in zip(spot, layer.padding, tap)]     # s·i = x + P − p
                if all(v % s == 0 and 0 <= v // s < n for v, s, n in zip(shifted, layer.stride, out_sizes)):
                    i = tuple(v // s for v, s in zip(shifted, layer.stride))
                    terms.append(W[(c, c_in) + tap] * delta[flat(layer.out_shape, (c,) + i)])
        result.append(sp.Add(*terms))
    return result


def conv_weight_gradient(layer: ConvLayer, a_in: Sequence[sp.Expr], delta: Sequence[sp.Expr]) -> sp.Array:
    """∂ℓ/∂W_{c,c′,p} = Σ_i δ_{c,i} a_{c′, s·i + p − P}: the correlation of the input with δ."""
    entries = [conv_weight_gradient_entry(layer, a_in, delta, index) for index in positions(layer.weight_shape)]
    return sp.Array(entries, layer.weight_shape)


def conv_weight_gradient_entry(layer: ConvLayer, a_in: Sequence[sp.Expr], delta: Sequence[sp.Expr],
                               index: Index) -> sp.Expr:
    """∂ℓ/∂W_{c,c′,p} of the one weight (c, c′, p) ``index``."""
    c, c_in, *tap = index
    return sp.Add(*[delta[flat(layer.out_shape, (c,) + out)] * a_in[flat(layer.in_shape, (c_in,) + read)]
                    for out in positions(layer.out_shape[1:]) if (read := _read(layer, out, tuple(tap))) is not None])


def conv_bias_gradient(layer: ConvLayer, delta: Sequence[sp.Expr]) -> list[sp.Expr]:
    """∂ℓ/∂b_c = Σ_i δ_{c,i}."""
    return [sp.Add(*[delta[flat(layer.out_shape, (c,) + out)] for out in positions(layer.out_shape[1:])])
            for c in range(layer.channels)]


def pool_windows(layer: PoolLayer) -> list[list[int]]:
    """For every output unit, the flat input units of its window, in row-major order."""
    windows = []
    for c, *out in positions(layer.out_shape):
        windows.append([flat(layer.in_shape, (c,) + tuple(s * i + p for i, p, s in zip(out, tap, layer.stride)))
                        for tap in positions(layer.size)])
    return windows


def pool_z(layer: PoolLayer, a_in: Sequence[sp.Expr]) -> list[sp.Expr]:
    """The max or the mean of each window."""
    if layer.mode == "max":
        return [sp.Max(*[a_in[u] for u in window]) for window in pool_windows(layer)]
    return [sp.Add(*[a_in[u] for u in window]) / math.prod(layer.size) for window in pool_windows(layer)]


def first_maximum(window: Sequence[sp.Expr], position: int) -> sp.Expr:
    """1 where entry ``position`` is the window's first maximum (above every earlier one, at least every later
    one), else 0: where max pooling sends δ, as torch does at a tie."""
    mine = window[position]
    conditions = [mine > other for other in window[:position]] + [mine >= other for other in window[position + 1:]]
    return sp.Piecewise((1, sp.And(*conditions)), (0, True)) if conditions else sp.Integer(1)


def pool_input_delta(layer: PoolLayer, a_in: Sequence[sp.Expr], delta: Sequence[sp.Expr]) -> list[sp.Expr]:
    """Σ_k ∂z_k/∂a_u δ_k for every input unit u: the first maximum's δ, or δ/|window| for the mean."""
    terms: list[list[sp.Expr]] = [[] for _ in a_in]
    for k, window in enumerate(pool_windows(layer)):
        for position, u in enumerate(window):
            if layer.mode == "max":
                terms[u].append(first_maximum([a_in[v] for v in window], position) * delta[k])
            else:
                terms[u].append(delta[k] / len(window))
    return [sp.Add(*t) for t in terms]
