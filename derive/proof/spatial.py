"""The proof of a conv or pool layer's correlation forms (``derive.derivation.spatial``) by ``sympy.diff``.

With the layer's input a and the δ of its outputs as free symbols, Σ_k δ_k z_k is differentiated by
every input unit, weight and bias, and each derivative is compared exactly with the claimed form. Max
pooling's z = max(window) is differentiable where one entry is strictly largest; there ∂z/∂a_u is 1 for
that entry and 0 for the others, which the claim (δ to the first maximum) must give in every such region
(at a tie the derivative does not exist and the first maximum is the convention, torch's). All windows
of a layer have the same size, so one canonical window stands for every one of them.
"""
from __future__ import annotations

import math

import sympy as sp

from ..derivation import spatial
from ..model.layer_kinds import ConvLayer, PoolLayer
from .differentiate import grouped_gradient
from .report import Identity, verdict
from .zero_test import is_zero


def _inputs(count: int) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(f"a_{u}", real=True) for u in range(count))


def _deltas(count: int) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(f"delta_{k}", real=True) for k in range(count))


def conv_identities(layer: ConvLayer, number: int, parameters: bool = True, note: str = "") -> list[Identity]:
    """The input δ, ∂ℓ/∂W and ∂ℓ/∂b of a conv layer against sympy.diff of Σ_k δ_k z_k (``parameters=False``: the
    input δ alone, the others proved for every size; ``note`` ends the others' method)."""
    a, delta = _inputs(math.prod(layer.in_shape)), _deltas(layer.units)
    W, b = spatial.conv_weights(layer, number), spatial.conv_biases(layer, number)
    z = spatial.conv_z(layer, W, b, a)
    terms = [term * delta[k] for k, zk in enumerate(z) for term in sp.Add.make_args(zk)]
    weights = list(sp.flatten(W))
    direct = grouped_gradient(terms, set(a) | (set(weights) | set(b or ()) if parameters else set()))
    claimed_input = spatial.conv_input_delta(layer, W, delta)
    identities = [
        Identity(f"conv[{number}]: Σ_k ∂z_k/∂a_u δ_k = the correlation of δ with the flipped kernel "
                 f"(stride {layer.stride})", "sympy.diff of Σ_k δ_k z_k",
                 verdict(all(is_zero(sp.Add(*direct.get(u, [])) - claimed) for u, claimed in zip(a, claimed_input))),
                 count=len(a))]
    if not parameters:
        return identities
    claimed_W = list(sp.flatten(spatial.conv_weight_gradient(layer, a, delta)))
    identities.append(
        Identity(f"conv[{number}]: ∂ℓ/∂W_(c,c′,p) = Σ_i δ_(c,i) a_(c′, s·i + p − P)", "sympy.diff of Σ_k δ_k z_k" + note,
                 verdict(all(is_zero(sp.Add(*direct.get(w, [])) - claimed) for w, claimed in zip(weights, claimed_W))),
                 count=len(weights)))
    if b is not None:
        claimed_b = spatial.conv_bias_gradient(layer, delta)
        identities.append(Identity(
            f"conv[{number}]: ∂ℓ/∂b_c = Σ_i δ_(c,i)", "sympy.diff of Σ_k δ_k z_k" + note,
            verdict(all(is_zero(sp.Add(*direct.get(bc, [])) - claimed) for bc, claimed in zip(b, claimed_b))),
            count=len(b)))
    return identities


def pool_identities(layer: PoolLayer, number: int) -> list[Identity]:
    """The input δ of a pool layer: exactly for the mean; region by region for the max."""
    if layer.mode == "average":
        a, delta = _inputs(math.prod(layer.in_shape)), _deltas(layer.units)
        claimed = spatial.pool_input_delta(layer, a, delta)
        z = spatial.pool_z(layer, a)
        direct = grouped_gradient([zk * delta[k] for k, zk in enumerate(z)], set(a))
        ok = all(is_zero(sp.Add(*direct.get(u, [])) - c) for u, c in zip(a, claimed))
        return [Identity(f"pool[{number}] (average): Σ_k ∂z_k/∂a_u δ_k = Σ δ_k/|window|", "sympy.diff of the mean",
                         verdict(ok), count=len(a))]
    # every window is the same identity under a renaming of its entries (a canonical window stands for all),
    # and ∂ max/∂a_u in the region where entry `top` is strictly largest is that of the entry itself
    size = math.prod(layer.size)
    entries = _inputs(size)
    ok = True
    for top in range(size):
        values = {entries[i]: (2 if i == top else sp.Rational(i + 1, size + 1)) for i in range(size)}
        for position in range(size):
            direct = sp.diff(entries[top], entries[position])
            ok &= spatial.first_maximum(entries, position).subs(values) == direct
    return [Identity(f"pool[{number}] (max): ∂z/∂a_u = 1 for the window's largest entry, 0 for the others, in every "
                     f"region where one entry is largest; δ goes to the first maximum", "sympy.diff of the largest entry",
                     verdict(ok), count=layer.units * size)]
