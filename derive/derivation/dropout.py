"""Inverted dropout on a hidden layer: what changes in the forward pass and in the δ recurrence.

In training, layer l with drop probability p passes ã^[l] = a^[l] ⊙ K^[l] to layer l + 1, where
K^[l] = D^[l] / (1 − p) and D^[l]_j ∈ {0, 1} is the mask (kept with probability 1 − p). The mask is
fixed within a step, so the network is an ordinary function of its parameters, and the chain rule
through ã gives

    ∂ℓ/∂W^[l+1]_jk = δ^[l+1]_j ã^[l]_k,    δ^[l]_j = g'(z^[l]_j) · K^[l]_j · Σ_k W^[l+1]_kj δ^[l+1]_k.

At inference there is no dropout: K^[l] = 1 and ã^[l] = a^[l]. The proof (``proof.local`` and
``proof.end_to_end``) checks these forms against direct differentiation with the masks as symbols;
the code generators print them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp
from sympy.matrices.expressions import HadamardProduct

from . import symbols
from .backprop import M, Derivation, MatrixForms


def drop_probability(d: Derivation, layer: int) -> sp.Rational:
    """p of layer number ``layer`` as the decimal the spec wrote (0.3 is 3/10, not its nearest double)."""
    return sp.Rational(repr(d.layer(layer).dropout))


def dropout_layers(d: Derivation) -> list[int]:
    """The numbers of the layers with dropout (p > 0), first to last."""
    return [layer for layer in d.layer_numbers if d.layer(layer).dropout]


def mask_symbols(d: Derivation, layer: int) -> tuple[sp.Symbol, ...]:
    """D^[l]_j, the 0/1 mask of one example, one symbol per unit."""
    return tuple(symbols.scalar("D", layer, j) for j in range(1, d.width(layer) + 1))


def scaled_mask(d: Derivation, layer: int, mask: sp.Expr) -> sp.Expr:
    """K = D / (1 − p): the factor a kept unit's activation is multiplied by (0 for a dropped one)."""
    return mask / (1 - drop_probability(d, layer))


def kept_index(d: Derivation, layer: int) -> list[sp.Expr]:
    """ã_j = a_j K_j, what layer l + 1 reads in training."""
    a = d.symbols(layer).a
    return [aj * scaled_mask(d, layer, Dj) for aj, Dj in zip(a, mask_symbols(d, layer))]


def delta_factors(d: Derivation, layer: int, units: Sequence[int] | None = None) -> list[tuple[sp.Expr, sp.Expr]]:
    """Per unit j of a dropout layer (of the 0-based ``units`` when given), (g'(z_j) K_j, Σ_k W_kj^[l+1] δ_k^[l+1]):
    δ_j^[l] is their product."""
    masks = mask_symbols(d, layer)
    units = range(d.width(layer)) if units is None else units
    return [(derivative * scaled_mask(d, layer, masks[j]), back_sum)
            for j, (derivative, back_sum) in zip(units, d.delta_factors(layer, units))]


def delta_index(d: Derivation, layer: int, units: Sequence[int] | None = None) -> list[sp.Expr]:
    """δ_j^[l] of a dropout layer with its masks fixed."""
    return [scale * back_sum for scale, back_sum in delta_factors(d, layer, units)]


def reads(d: Derivation, layer: int) -> dict[sp.Symbol, sp.Expr]:
    """a^[l−1]_k → ã^[l−1]_k when the layer below layer number ``layer`` has dropout, else {}: z^[l] reads ã."""
    below = layer - 1
    if below == d.input_number or not d.layer(below).dropout:
        return {}
    return dict(zip(d.symbols(below).a, kept_index(d, below)))


def training_delta_index(d: Derivation, layer: int, units: Sequence[int] | None = None) -> list[sp.Expr]:
    """δ^[l] in training (of the 0-based ``units`` when given): with the masks of a dropout layer, else the
    derivation's."""
    return delta_index(d, layer, units) if d.layer(layer).dropout else d.delta_index(layer, units)


def training_grad_W_entry(d: Derivation, layer: int, j: int, k: int) -> sp.Expr:
    """∂ℓ/∂W_jk^[l] in training: δ_j ã_k when the layer below has dropout, else δ_j a_k."""
    return d.grad_W_entry(layer, j, k).xreplace(reads(d, layer))


def generic_delta_derivative(d: Derivation, layer: int, mask: sp.Expr) -> sp.Expr:
    """g'(z) K for one unit, in the generic a/z of ``Derivation.hidden_derivative`` (for per-unit printing)."""
    return d.hidden_derivative(layer) * scaled_mask(d, layer, mask)


@dataclass(frozen=True)
class DropoutForms:
    """Batch forms of dropout on layer l; columns are examples."""

    D: sp.MatrixSymbol             # the 0/1 masks, (n_l, m)
    K: sp.MatrixSymbol             # the scaled masks D / (1 − p)
    kept: sp.MatrixSymbol          # Ã^[l], what layer l + 1 reads
    K_expr: sp.MatrixExpr          # D / (1 − p)
    kept_expr: sp.MatrixExpr       # A ⊙ K
    delta_expr: sp.MatrixExpr      # G ⊙ K ⊙ (W^[l+1]ᵀ Δ^[l+1])
    next_z_expr: sp.MatrixExpr     # W^[l+1] Ã + b 1ᵀ
    next_dW_expr: sp.MatrixExpr    # c Δ^[l+1] Ãᵀ + λ W^[l+1]


def matrix(d: Derivation, layer: int) -> DropoutForms:
    """The batch forms of dropout on hidden layer number ``layer``: the derivation's forms with Ã for A."""
    forms: MatrixForms = d.matrix(layer)
    above = d.matrix(layer + 1)
    n = d.width(layer)
    D = sp.MatrixSymbol(f"D{layer}", n, M)
    K = sp.MatrixSymbol(f"K{layer}", n, M)
    kept = sp.MatrixSymbol(f"A{layer}_kept", n, M)
    # the derivation's δ is G ⊙ (Wᵀ Δ); through Ã = A ⊙ K the chain rule multiplies it by K
    G = forms.G
    back = next(arg for arg in forms.delta_expr.args if arg != G)
    return DropoutForms(
        D=D, K=K, kept=kept,
        K_expr=scaled_mask(d, layer, D),
        kept_expr=HadamardProduct(forms.A, K),
        delta_expr=HadamardProduct(G, K, back),
        next_z_expr=above.z_expr.xreplace({above.A_prev: kept}),
        next_dW_expr=above.dW_expr.xreplace({above.A_prev: kept}))


__all__ = ["DropoutForms", "delta_factors", "delta_index", "drop_probability",
           "dropout_layers", "generic_delta_derivative", "kept_index", "mask_symbols", "matrix",
           "reads", "scaled_mask", "training_delta_index", "training_grad_W_entry"]
