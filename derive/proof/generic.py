"""The layer-local identities of dense layers proved once for every width, then instantiated for the spec's.

With the widths n_l symbols and j, k symbolic units (``derive.derivation.generic``), each identity is
checked as the lectures prove it (``indexed``: ∂/∂z_j of Σ_p δ_p z_p by the chain rule, Kronecker δs
summed out):

  δ^[l]_j = Σ_p δ^[l+1]_p ∂z^[l+1]_p/∂z^[l]_j,   ∂ℓ/∂W_jk = Σ_p δ_p ∂z_p/∂W_jk,   ∂ℓ/∂b_j = Σ_p δ_p ∂z_p/∂b_j,
  ∂/∂W_jk (λ/2) Σ_pq W_pq² = λ W_jk.

An identity proved so holds for every width and unit. The derivation's per-unit forms (what documents and
unrolled code print; looped code prints unit 1's) are then compared with the generic form written out for
the spec's widths: at every unit of a small layer, at the first, middle and last unit of a wide one.
Where either step does not succeed, the caller proves the identity unit by unit instead.
"""
from __future__ import annotations

import math

import sympy as sp

from ..derivation import dropout, generic, spatial
from ..derivation.backprop import LAMBDA, Derivation
from ..derivation.generic import J, K, P, Q, array, size
from ..model.activations import Z as GENERIC_Z
from .differentiate import opaque_derivative_activation
from .indexed import collapse, indexed_diff, is_zero_indexed
from .report import Identity, verdict
from .zero_test import is_zero

#: a form whose instances together have at most this many terms is compared at every unit
ALL_INSTANCES_TERMS = 1024
METHOD = "sympy.diff over symbolic widths, Kronecker δs summed out"


def _units(count: int, terms: int = 1) -> list[int]:
    """0-based units whose per-unit forms (``terms`` terms each) are compared with the instance: all, or the
    first, middle and last."""
    return list(range(count)) if count * terms <= ALL_INSTANCES_TERMS else sorted({0, count // 2, count - 1})


def _shown(units: list[int], count: int) -> str:
    return "every unit" if len(units) == count else "units " + ", ".join(str(u + 1) for u in units)


def _same(instance: sp.Expr, per_unit: sp.Expr) -> bool:
    return instance == per_unit or is_zero(instance - per_unit)


class _Activation:
    """g of a layer as an opaque function g(z) with an opaque derivative g'(z) while sums are built and
    differentiated; ``meaning`` then writes both as the activation's formula and ``sympy.diff`` of it."""

    def __init__(self, d: Derivation, layer: int) -> None:
        self.a, self.z = array("a", layer), array("z", layer)
        self.activation = d.layer(layer).activation
        self.g, self.dg = opaque_derivative_activation(f"g{layer}")

    def through(self, expr: sp.Expr) -> sp.Expr:
        """a^[l]_i → g(z^[l]_i) in ``expr``: what differentiating by z^[l] goes through."""
        return expr.xreplace({e: self.g(self.z[e.indices[0]]) for e in expr.atoms(sp.Indexed) if e.base == self.a})

    def meaning(self, expr: sp.Expr) -> sp.Expr:
        return expr.replace(self.g, lambda u: self.activation.expr.xreplace({GENERIC_Z: u})).replace(
            self.dg, lambda u: self.activation.derivative.xreplace({GENERIC_Z: u}))


def _sum_of_z(forms: generic.DenseForms) -> sp.Expr:
    """Σ_p δ_p z_p over the layer's units: its derivatives are the chain-rule sums of every identity."""
    return sp.Sum(forms.delta[P] * forms.z.xreplace({J: P}), (P, 1, forms.n))


def _instantiation(d: Derivation, layer: int) -> str:
    """The spec's widths of layer number ``layer`` and the layer below it, as the generic form names them."""
    return ", ".join(f"n{w} = {d.width(w)}" for w in (layer - 1, layer))


def hidden_delta(d: Derivation, layer: int) -> Identity | None:
    """δ^[l] of a layer below a dense layer for every width, or None where that is not proved."""
    if d.layer(layer).activation.is_softmax:
        return None
    above = generic.dense_forms(d, layer + 1)
    g = _Activation(d, layer)
    try:
        direct = collapse(indexed_diff(g.through(_sum_of_z(above)), g.z[J]), {J: (1, size(layer))})
    except ValueError:
        return None
    claimed = generic.hidden_delta(d, layer)
    if not is_zero_indexed(direct - g.through(claimed), g.meaning):
        return None
    n, read = d.width(layer), generic.reader(d)
    units = _units(n, d.width(layer + 1))
    per_unit = dropout.training_delta_index(d, layer, units)
    sizes = {size(layer + 1): d.width(layer + 1)}
    if not all(_same(generic.instance(claimed, {J: u + 1, **sizes}, read), e) for u, e in zip(units, per_unit)):
        return None
    return Identity(
        f"δ[{layer}]_j = Σ_p δ[{layer + 1}]_p ∂z[{layer + 1}]_p/∂z[{layer}]_j = {sp.sstr(claimed)} "
        f"for every width and unit j",
        f"{METHOD}; at {_instantiation(d, layer + 1)} the same as the per-unit forms at {_shown(units, n)}",
        verdict(True), count=n, widths="every width")


def parameter_gradients(d: Derivation, layer: int) -> list[Identity] | None:
    """∂ℓ/∂W, ∂ℓ/∂b and the L2 term of a dense layer for every width, or None where that is not proved."""
    forms = generic.dense_forms(d, layer)
    W, b = forms.W, forms.b
    ranges = {J: (1, forms.n), K: (1, forms.n_prev)}
    total = _sum_of_z(forms)
    try:
        direct_W = collapse(indexed_diff(total, W[J, K]), ranges)
        direct_b = collapse(indexed_diff(total, b[J]), ranges) if b is not None else None
    except ValueError:
        return None
    if not is_zero_indexed(direct_W - forms.grad_W):
        return None
    if b is not None and not is_zero_indexed(direct_b - forms.grad_b):
        return None
    if not _instances_agree(d, layer, forms):
        return None
    n, n_prev = d.width(layer), d.width(layer - 1)
    instances = f"at {_instantiation(d, layer)} the same as the per-unit forms at {_shown(_units(n, n_prev), n)}"
    read = "ã" if dropout.reads(d, layer) else "a"
    identities = [Identity(f"∂ℓ/∂W[{layer}]_jk = δ[{layer}]_j {read}[{layer - 1}]_k for every width and units j, k",
                           f"{METHOD} of Σ_p δ_p z_p; {instances}", verdict(True), count=n * n_prev,
                           widths="every width")]
    if b is not None:
        identities.append(Identity(f"∂ℓ/∂b[{layer}]_j = δ[{layer}]_j for every width and unit j",
                                   f"{METHOD} of Σ_p δ_p z_p; {instances}", verdict(True), count=n,
                                   widths="every width"))
    return identities + l2(d, layer, forms)


def _instances_agree(d: Derivation, layer: int, forms: generic.DenseForms) -> bool:
    """z_j, ∂ℓ/∂W_jk and ∂ℓ/∂b_j written out for the spec's widths equal the derivation's at the compared units."""
    read = generic.reader(d)
    units, below = _units(d.width(layer), d.width(layer - 1)), _units(d.width(layer - 1), d.width(layer))
    # z_j has n_(l−1) terms: past 4 × ALL_INSTANCES_TERMS of them, unit 1's alone is written out
    z_units = units if len(units) * d.width(layer - 1) <= 4 * ALL_INSTANCES_TERMS else units[:1]
    z = d.z_index(layer, z_units)
    kept = dropout.reads(d, layer)
    sizes = {forms.n_prev: d.width(layer - 1)}
    if not all(_same(generic.instance(forms.z, {J: u + 1, **sizes}, read), e.xreplace(kept))
               for u, e in zip(z_units, z)):
        return False
    grad_b = d.grad_b_index(layer)
    for u in units:
        if forms.grad_b is not None and not _same(generic.instance(forms.grad_b, {J: u + 1}, read), grad_b[u]):
            return False
        for k in below:
            if not _same(generic.instance(forms.grad_W, {J: u + 1, K: k + 1}, read),
                         dropout.training_grad_W_entry(d, layer, u, k)):
                return False
    return True


def conv_parameter_gradients(d: Derivation, layer: int) -> list[Identity] | None:
    """∂ℓ/∂W and ∂ℓ/∂b of a conv layer for every channel count, kernel and map size, or None where not proved."""
    forms = generic.conv_forms(d, layer)
    c, e, *taps = forms.weight_index
    ranges = {c: (0, forms.channels - 1), e: (0, forms.in_channels - 1),
              **{t: (0, k - 1) for t, k in zip(taps, forms.kernel)}}
    u, *spots = forms.out_index
    total = sp.Sum(forms.Delta[forms.out_index] * forms.z, (u, 0, forms.channels - 1),
                   *[(i, 0, n - 1) for i, n in zip(spots, forms.positions)])
    try:
        direct_W = collapse(indexed_diff(total, forms.W[forms.weight_index]), ranges)
        direct_b = collapse(indexed_diff(total, forms.b[c]), ranges) if forms.b is not None else None
    except ValueError:
        return None
    if not is_zero_indexed(direct_W - forms.grad_W):
        return None
    if direct_b is not None and not is_zero_indexed(direct_b - forms.grad_b):
        return None
    kind = d.layer(layer)
    weights = list(spatial.positions(kind.weight_shape))
    compared = [weights[w] for w in _units(len(weights), kind.units // kind.channels)]
    if not _conv_instances_agree(d, layer, forms, compared):
        return None
    shown = "every weight" if len(compared) == len(weights) else \
        "weights " + ", ".join(str(tuple(i + 1 for i in w)) for w in compared)
    sizes = f"C{layer - 1} = {kind.in_shape[0]}, C{layer} = {kind.channels}, kernel {kind.kernel}, " \
            f"output positions {kind.out_shape[1:]}"
    method = f"{METHOD} of Σ_(c,i) δ_(c,i) z_(c,i); at {sizes} the same as the per-unit forms at {shown}"
    identities = [Identity(f"conv[{layer}]: ∂ℓ/∂W_(c,c′,p) = Σ_i δ_(c,i) a_(c′, s·i + p − P) = {sp.sstr(forms.grad_W)} "
                           f"for every channel count, kernel and map size", method, verdict(True),
                           count=len(weights), widths="every width")]
    if forms.b is not None:
        identities.append(Identity(f"conv[{layer}]: ∂ℓ/∂b_c = Σ_i δ_(c,i) for every channel count and map size",
                                   method, verdict(True), count=kind.channels, widths="every width"))
    return identities


def _conv_instances_agree(d: Derivation, layer: int, forms: generic.ConvForms, weights: list[tuple[int, ...]]) -> bool:
    """z, ∂ℓ/∂W and ∂ℓ/∂b written out for the spec's sizes equal ``spatial``'s at the compared units and weights."""
    kind, s = d.layer(layer), d.symbols(layer)
    read = generic.conv_reader(d, layer)
    sizes = {forms.channels: kind.channels, forms.in_channels: kind.in_shape[0],
             **dict(zip(forms.kernel, kind.kernel)), **dict(zip(forms.positions, kind.out_shape[1:]))}
    every = list(spatial.positions(kind.out_shape))
    units = _units(len(every), math.prod(kind.kernel) * kind.in_shape[0])
    z = d.z_index(layer, units)
    if not all(_same(generic.instance(forms.z, {**sizes, **dict(zip(forms.out_index, every[u]))}, read), e)
               for u, e in zip(units, z)):
        return False
    below = d.activations_of(layer - 1)
    for weight in weights:
        claimed = spatial.conv_weight_gradient_entry(kind, below, s.delta, weight)
        if not _same(generic.instance(forms.grad_W, {**sizes, **dict(zip(forms.weight_index, weight))}, read), claimed):
            return False
    if forms.grad_b is None:
        return True
    per_unit = spatial.conv_bias_gradient(kind, s.delta)
    return all(_same(generic.instance(forms.grad_b, {**sizes, forms.weight_index[0]: c}, read), per_unit[c])
               for c in range(kind.channels))


def l2(d: Derivation, layer: int, forms: generic.DenseForms) -> list[Identity]:
    """∂/∂W_jk (λ/2) Σ_pq W_pq² = λ W_jk for every width (none without L2)."""
    if d.l2 == 0:
        return []
    W = forms.W
    penalty = LAMBDA / 2 * sp.Sum(sp.Sum(W[P, Q] ** 2, (Q, 1, forms.n_prev)), (P, 1, forms.n))
    direct = collapse(indexed_diff(penalty, W[J, K]), {J: (1, forms.n), K: (1, forms.n_prev)})
    ok = is_zero_indexed(direct - LAMBDA * W[J, K])
    return [Identity(f"∂/∂W[{layer}]_jk (λ/2)‖W[{layer}]‖² = λ W[{layer}]_jk for every width and units j, k",
                     METHOD, verdict(ok), count=d.width(layer) * d.width(layer - 1), widths="every width")]


__all__ = ["ALL_INSTANCES_TERMS", "conv_parameter_gradients", "hidden_delta", "l2", "parameter_gradients"]
