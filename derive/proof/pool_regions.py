"""Max pooling in the end-to-end proof: every region where each window has one largest entry, at once.

z_k = max(window_k) is differentiable where one entry of the window is strictly largest; on such a
region, z_k is that entry and its derivative is 1 for it and 0 for the others. The end-to-end proof
writes each max-pool output as z_k = Σ_t e_(k,t) a_(window_k[t]), with e_(k,t) a free symbol (a
constant of the network, like x), and each coefficient of δ_k in the δ of the layer below, c_(k,u),
as Σ_t e_(k,t) c_(k,u)|t, where c_(k,u)|t is the claim on the region "entry t of window k is the
largest": each comparison of that entry with another of the window is decided (it holds on the whole
region), nothing else is touched; a comparison of two other entries left open fails the proof. An
identity that holds for every e holds in particular for e_(k,·) the indicator of the largest entry of
each window: in every region where each window has one largest entry (overlapping windows included:
every consistent choice is one such e). At a tie the derivative does not exist and the first maximum
is the convention (torch's).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import spatial
from ..derivation.backprop import Derivation
from .zero_test import is_zero

#: what the end-to-end identities of a net with max pooling hold on
WORDING = " (max pool: in every region where each window has one largest entry)"


def is_max_pool(d: Derivation, layer: int) -> bool:
    kind = d.layer(layer)
    return kind.kind == "pool" and kind.mode == "max"


def indicators(layer: int, window: int, size: int) -> tuple[sp.Symbol, ...]:
    """e_(k,t): the free symbols that stand for 'entry t of window k is the largest' (1-based names)."""
    return tuple(sp.Symbol(f"top{layer}_{window + 1}_{t + 1}", real=True) for t in range(size))


def max_pool_z(d: Derivation, layer: int) -> tuple[list[sp.Expr], bool]:
    """z_k = Σ_t e_(k,t) a_(window_k[t]) in the symbols of the layer below; and whether the derivation's z_k is
    max(window_k) (else the proof fails: it proves the gradient of the max)."""
    prev = d.activations_of(layer - 1)
    z = d.z_index(layer)
    out, ok = [], True
    for k, window in enumerate(spatial.pool_windows(d.layer(layer))):
        entries = [prev[u] for u in window]
        ok &= isinstance(z[k], sp.Max) and set(z[k].args) == set(entries)   # max(window_k), in any order
        out.append(sp.Add(*[e * a for e, a in zip(indicators(layer, k, len(window)), entries)]))
    return out, ok


def _decide(expr: sp.Expr, entries: list[sp.Expr], top: int) -> sp.Expr:
    """``expr`` in the region where ``entries[top]`` is strictly the largest: each comparison of that entry with
    another entry decided, nothing else touched."""
    largest, others = entries[top], set(entries) - {entries[top]}
    decided = {}
    for relation in expr.atoms(sp.core.relational.Relational):
        sides = {relation.lhs, relation.rhs}
        if largest in sides and len(sides & others) == 1:
            other = (sides - {largest}).pop()
            decided[relation] = relation.xreplace({largest: sp.Integer(1), other: sp.Integer(0)})
    return expr.xreplace(decided)


def _compares(expr: sp.Expr, entries: set[sp.Expr]) -> bool:
    """Whether a comparison between entries of the window is left in ``expr``: the claim then depends on the
    order of entries that are not the largest, which no region decides (a fast failure; what is left is
    otherwise compared as it is, so this is not what makes the proof sound)."""
    return any(len(r.free_symbols & entries) > 1 for r in expr.atoms(sp.core.relational.Relational))


def region_deltas(d: Derivation, layer: int, deltas: list[sp.Expr]) -> tuple[list[sp.Expr], bool]:
    """The δ of layer number ``layer`` (below a max pool), each coefficient of the pool's δ_k replaced by
    Σ_t e_(k,t) (its value in the region where entry t of window k is largest); and whether every coefficient
    is decided by the region and each δ is linear in the pool's δ (else the proof fails)."""
    pool = layer + 1
    windows = spatial.pool_windows(d.layer(pool))
    prev = d.activations_of(layer)
    above = d.symbols(pool).delta
    out, ok = [], True
    for delta_u in deltas:
        coefficients = [sp.diff(delta_u, dk) for dk in above]
        ok &= not any(c.free_symbols & set(above) for c in coefficients)
        ok &= is_zero(sp.expand(delta_u - sp.Add(*[c * dk for c, dk in zip(coefficients, above)])))
        terms = []
        for k, (c, dk) in enumerate(zip(coefficients, above)):
            if c == 0:
                continue
            entries = [prev[u] for u in windows[k]]
            tops = indicators(pool, k, len(entries))
            for t, e in enumerate(tops):
                in_region = _decide(c, entries, t)
                ok &= not _compares(in_region, set(entries))
                terms.append(e * in_region * dk)
        out.append(sp.Add(*terms))
    return out, ok
