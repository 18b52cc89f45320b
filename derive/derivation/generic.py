"""A dense layer's formulas for a symbolic unit of a layer of symbolic width, as the lectures write them.

z_j = Σ_{k=1}^{n_(l−1)} W_jk ã_k + b_j,   δ_j = g'(z_j) K_j Σ_{p=1}^{n_(l+1)} W^[l+1]_pj δ^[l+1]_p,
∂ℓ/∂W_jk = δ_j ã_k,   ∂ℓ/∂b_j = δ_j

with ã = a (or a K below a dropout layer, K = D/(1 − p)), as ``sympy.Indexed`` reads of ``IndexedBase``
arrays indexed from 1 and sums to a size symbol ``n{l}``. They are built from the same pieces as the
derivation's per-unit forms (``hidden_derivative``, ``dropout.scaled_mask``), and ``instance`` writes one out
for a unit of the spec's sizes: ``proof.generic`` proves these once for every width and checks that the
per-unit forms are their instances.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import sympy as sp

from ..model.activations import A as GENERIC_A, Z as GENERIC_Z
from . import dropout, spatial
from .backprop import Derivation


def size(layer: int) -> sp.Symbol:
    """n_l, the width of layer number ``layer`` (of the input for its number)."""
    return sp.Symbol(f"n{layer}", integer=True, positive=True)


def array(name: str, layer: int) -> sp.IndexedBase:
    return sp.IndexedBase(f"{name}{layer}", real=True)


#: a unit of the layer (j), a unit below it (k), the summed unit of the layer above (p), the summed unit below (q)
J, K, P, Q = (sp.Symbol(name, integer=True, positive=True) for name in ("j", "k", "p", "q"))


@dataclass(frozen=True)
class DenseForms:
    """The generic formulas of dense layer number ``layer``: free indices j (a unit) and k (a unit below).

    ``reads`` is ã_k, what z reads from the layer below; ``z`` is z_j; ``grad_W`` is ∂ℓ/∂W_jk; ``grad_b`` ∂ℓ/∂b_j
    (None without bias). The width of the layer is ``n``, of the layer below ``n_prev``.
    """

    layer: int
    n: sp.Symbol
    n_prev: sp.Symbol
    W: sp.IndexedBase
    b: sp.IndexedBase | None
    delta: sp.IndexedBase
    reads: sp.Expr
    z: sp.Expr
    grad_W: sp.Expr
    grad_b: sp.Expr | None


def _read_below(d: Derivation, layer: int, unit: sp.Expr) -> sp.Expr:
    """ã^[l−1]_unit: a, or a K of a dropout layer; the input x below the first layer."""
    below = layer - 1
    if below == d.input_number:
        return sp.IndexedBase("x", real=True)[unit]
    a = array("a", below)[unit]
    if not d.layer(below).dropout:
        return a
    return a * dropout.scaled_mask(d, below, array("D", below)[unit])


def dense_forms(d: Derivation, layer: int) -> DenseForms:
    """The generic formulas of dense layer number ``layer``."""
    W, delta = array("W", layer), array("delta", layer)
    b = array("b", layer) if d.layer(layer).bias else None
    n, n_prev = size(layer), size(layer - 1)
    z = sp.Sum(W[J, Q] * _read_below(d, layer, Q), (Q, 1, n_prev)) + (b[J] if b is not None else 0)
    reads = _read_below(d, layer, K)
    return DenseForms(layer, n, n_prev, W, b, delta, reads, z, delta[J] * reads, delta[J] if b is not None else None)


def hidden_delta(d: Derivation, layer: int) -> sp.Expr:
    """δ^[l]_j of a layer with a dense layer above: g'(z_j) (K_j with dropout) Σ_p W^[l+1]_pj δ^[l+1]_p."""
    above = layer + 1
    if d.layer(layer).dropout:
        derivative = dropout.generic_delta_derivative(d, layer, array("D", layer)[J])
    else:
        derivative = d.hidden_derivative(layer)
    unit = derivative.xreplace({GENERIC_A: array("a", layer)[J], GENERIC_Z: array("z", layer)[J]})
    return unit * sp.Sum(array("W", above)[P, J] * array("delta", above)[P], (P, 1, size(above)))


@dataclass(frozen=True)
class ConvForms:
    """The generic formulas of conv layer number ``layer``, everything 0-based like ``spatial``'s forms.

    Widths: ``channels`` C_l, ``in_channels`` C_(l−1), ``kernel`` k_a and output ``positions`` O_a per spatial
    axis a; stride and padding stay the layer's numbers. Free indices: ``weight_index`` (c, e, t_a) of
    W_(c,e,t) and c of b_c. ``z`` is z_(u,i) = Σ_v Σ_r W_(u,v,r) A_(v, s·i + r − P) + b_u (free u and i_a: the
    summed indices of ``grad_W`` = Σ_i Δ_(c,i) A_(e, s·i + t − P) and ``grad_b`` = Σ_i Δ_(c,i)). A read of A in the
    padding is 0 (``conv_reader``).
    """

    layer: int
    channels: sp.Symbol
    in_channels: sp.Symbol
    kernel: tuple[sp.Symbol, ...]
    positions: tuple[sp.Symbol, ...]
    weight_index: tuple[sp.Symbol, ...]
    out_index: tuple[sp.Symbol, ...]
    W: sp.IndexedBase
    b: sp.IndexedBase | None
    Delta: sp.IndexedBase
    z: sp.Expr
    grad_W: sp.Expr
    grad_b: sp.Expr | None


def _integers(*names: str) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(name, integer=True, nonnegative=True) for name in names)


def conv_forms(d: Derivation, layer: int) -> ConvForms:
    """The generic formulas of conv layer number ``layer``."""
    kind = d.layer(layer)
    axes = range(len(kind.kernel))
    channels, in_channels = (sp.Symbol(f"C{n}", integer=True, positive=True) for n in (layer, layer - 1))
    kernel = tuple(sp.Symbol(f"k{layer}_{a}", integer=True, positive=True) for a in axes)
    out = tuple(sp.Symbol(f"O{layer}_{a}", integer=True, positive=True) for a in axes)
    c, e, u, v = _integers("c", "e", "u", "v")
    taps, summed_taps, spots = (_integers(*(f"{x}{a}" for a in axes)) for x in ("t", "r", "i"))
    W, Delta = sp.IndexedBase(f"W{layer}", real=True), sp.IndexedBase(f"Delta{layer}", real=True)
    A = sp.IndexedBase(f"A{layer - 1}", real=True)
    b = sp.IndexedBase(f"b{layer}", real=True) if kind.bias else None

    def read(channel: sp.Symbol, tap: tuple[sp.Symbol, ...]) -> sp.Indexed:      # A_(channel, s·i + tap − P)
        return A[(channel,) + tuple(kind.stride[a] * spots[a] + tap[a] - kind.padding[a] for a in axes)]

    over_positions = [(spots[a], 0, out[a] - 1) for a in axes]
    z = sp.Sum(W[(u, v) + summed_taps] * read(v, summed_taps), (v, 0, in_channels - 1),
               *[(summed_taps[a], 0, kernel[a] - 1) for a in axes]) + (b[u] if b is not None else 0)
    grad_W = sp.Sum(Delta[(c,) + spots] * read(e, taps), *over_positions)
    grad_b = sp.Sum(Delta[(c,) + spots], *over_positions) if b is not None else None
    return ConvForms(layer, channels, in_channels, kernel, out, (c, e) + taps, (u,) + spots, W, b, Delta,
                     z, grad_W, grad_b)


def conv_reader(d: Derivation, layer: int) -> Reader:
    """The per-unit symbols of a conv layer's generic reads (0-based); A in the padding reads 0."""
    kind, s = d.layer(layer), d.symbols(layer)
    below = d.activations_of(layer - 1)

    def read(name: str, index: tuple[int, ...]) -> sp.Expr:
        if name.startswith("A"):
            inside = all(0 <= x < n for x, n in zip(index, kind.in_shape))
            return below[spatial.flat(kind.in_shape, index)] if inside else sp.Integer(0)
        if name.startswith("Delta"):
            return s.delta[spatial.flat(kind.out_shape, index)]
        return s.W[index] if name.startswith("W") else s.b[index[0]]
    return read


#: the per-unit symbol of a generic read: (array name, 1-based indices) → symbol
Reader = Callable[[str, tuple[int, ...]], sp.Expr]


def reader(d: Derivation) -> Reader:
    """The derivation's own symbol for a generic read: ``("W3", (2, 1))`` is W3_2_1, ``("x", (4,))`` x_4."""
    def read(name: str, index: tuple[int, ...]) -> sp.Expr:
        if name == "x":
            return d.x[index[0] - 1]
        kind, layer = name.rstrip("0123456789"), int(name[len(name.rstrip("0123456789")):])
        if kind == "D":
            return dropout.mask_symbols(d, layer)[index[0] - 1]
        s = d.symbols(layer)
        if kind == "W":
            return s.W[index[0] - 1, index[1] - 1]
        return {"a": s.a, "z": s.z, "delta": s.delta, "b": s.b}[kind][index[0] - 1]
    return read


def instance(expr: sp.Expr, values: dict[sp.Symbol, int], read: Reader) -> sp.Expr:
    """``expr`` at the given index and size values, its sums written out and each read ``read``'s symbol."""
    return _written_out(expr.xreplace({s: sp.Integer(v) for s, v in values.items()}), {}, read)


def _written_out(expr: sp.Expr, bound: dict[sp.Symbol, sp.Integer], read: Reader) -> sp.Expr:
    """Every Sum (of numeric limits) as the Add of its terms, each read at the summed indices' ``bound`` values
    replaced by its symbol: the reads are found once per summand, not once per term."""
    if isinstance(expr, sp.Sum):
        (index, low, high), *more = expr.limits
        inner = sp.Sum(expr.function, *more) if more else expr.function
        return sp.Add(*[_written_out(inner, {**bound, index: sp.Integer(i)}, read)
                        for i in range(int(low), int(high) + 1)])
    if expr.has(sp.Sum):
        return expr.func(*[_written_out(a, bound, read) for a in expr.args])
    return expr.xreplace({e: read(str(e.base.label), tuple(int(i.xreplace(bound)) for i in e.indices))
                          for e in _reads(expr)})


@lru_cache(maxsize=256)
def _reads(expr: sp.Expr) -> frozenset:
    return frozenset(expr.atoms(sp.Indexed))


__all__ = ["ConvForms", "DenseForms", "conv_forms", "conv_reader", "J", "K", "P", "Q", "dense_forms", "hidden_delta", "instance", "reader", "size"]
