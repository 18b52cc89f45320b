"""The classic mistakes of conv and pool layers' backward pass, as SymPy variants of the indexed forms.

Each mistaken step is the derivation's own indexed form (``derivation.tensor_forms``) with the mistake
made in it, written out unit by unit over the derivation's symbols (``tensor_forms.expand``), so the
checker compiles it like any other step:

- ``kernel_not_flipped``: δ sent down through conv layer l as the full correlation of δ^[l] with W
  itself, where the flipped kernel W_{c,c′,k−1−p,k−1−q} belongs (the correlation form with its flip
  undone; the same as the gather form with W flipped);
- ``max_pool_to_every_position``: the δ of a max-pool window given to every entry of the window
  (the first-maximum mask M replaced by 1);
- ``padding_forgotten_backward``: δ sent down, or ∂W, computed as if P = 0: the gather
  Σ W_{c,c′,p} δ_{c,(x+P−p)/s} read at x − P (so Σ W_{c,c′,p} δ_{c,(x−p)/s}), and
  ∂W_{c,c′,p} = Σ_i δ_{c,i} a_{c′,s·i+p} without the −P;
- ``average_pool_not_divided``: the δ of an average-pool window given whole to every entry (×|window|).

``catalogue`` lists those that can change a number of the graph; ``variant.MistakenSteps`` swaps them in.
"""
from __future__ import annotations

import math
import sympy as sp

from ..derivation import spatial, tensor_forms
from ..derivation.backprop import Derivation
from .mistake_cause import Cause

#: the ids of these causes, in the order reports list them; their words are in ``spatial_words.py``
SPATIAL_CAUSE_IDS = ("kernel_not_flipped", "max_pool_to_every_position", "padding_forgotten_backward",
                     "average_pool_not_divided")

#: (the symbols a step reads, the expressions it computes), as ``evaluation.expressions.Step``
Step = tuple[list[sp.Symbol], list[sp.Expr]]


def _reader(d: Derivation, number: int):
    """Reads the indexed forms' arrays of layer ``number`` as the derivation's scalar symbols."""
    layer = d.layer(number)
    s = d.symbols(number)
    prev = d.activations_of(number - 1)
    arrays = {f"A{number - 1}": lambda i: prev[spatial.flat(layer.in_shape, i)],
              f"Delta{number}": lambda i: s.delta[spatial.flat(layer.out_shape, i)],
              f"W{number}": lambda i: s.W[i], f"b{number}": lambda i: s.b[i[0]]}
    return lambda name, index: arrays[name](index)


def _written_out(d: Derivation, number: int, form: sp.Expr, free: tuple, shape: tuple) -> list[sp.Expr]:
    """``form`` at every value of its free indices (``shape``, C order), over the derivation's symbols."""
    reader = _reader(d, number)
    return [tensor_forms.expand(form, dict(zip(free, spot)), reader) for spot in spatial.positions(shape)]


def _inputs(exprs: list[sp.Expr], d: Derivation, number: int) -> list[sp.Symbol]:
    """The symbols a step reads: layer ``number``'s W and δ, and its input's a (the order does not matter)."""
    s = d.symbols(number)
    candidates = list(sp.flatten(s.W)) + list(s.delta) + list(d.activations_of(number - 1))
    used = set().union(*(e.free_symbols for e in exprs)) if exprs else set()
    return [c for c in candidates if c in used]


def _mistaken_back(d: Derivation, number: int, mistake: str) -> tuple[sp.Expr, tuple]:
    """Layer ``number``'s indexed form of Σ_k ∂z_k/∂a δ_k with ``mistake`` made; its free indices."""
    layer = d.layer(number)
    if layer.kind == "conv":
        forms = tensor_forms.conv_forms(layer, number)
        if mistake == "kernel_not_flipped":
            k = layer.kernel
            taps = forms.weight_index[2:]
            flipped = {t: k[a] - 1 - t for a, t in enumerate(taps)}
            # W_{c,c′,k−1−p} → W_{c,c′,p}: the correlation form's flip undone, δ's reads untouched
            form = forms.input_delta_flipped.replace(
                lambda e: isinstance(e, sp.Indexed) and e.base == forms.W,
                lambda e: forms.W[e.indices[:2] + tuple(sp.expand(i.xreplace(flipped)) for i in e.indices[2:])])
        elif mistake == "padding_forgotten_backward":
            # the gather read at x − P: Σ W_{c,c′,p} δ_{c,(x−p)/s}
            form = forms.input_delta.xreplace({x: x - pad for x, pad in zip(forms.in_index[1:], layer.padding)})
        else:
            raise KeyError(mistake)
        return form, forms.in_index
    forms = tensor_forms.pool_forms(layer, number)
    if mistake == "max_pool_to_every_position":
        form = forms.input_delta.replace(lambda e: isinstance(e, sp.Indexed) and e.base == forms.M, lambda e: 1)
    elif mistake == "average_pool_not_divided":
        form = forms.input_delta * math.prod(layer.size)
    else:
        raise KeyError(mistake)
    return form, forms.in_index


def mistaken_back_sum(d: Derivation, number: int, mistake: str) -> Step:
    """What flows back into the units below layer ``number`` (its input), with ``mistake`` made, unit by unit."""
    form, free = _mistaken_back(d, number, mistake)
    exprs = _written_out(d, number, form, free, d.layer(number).in_shape)
    return _inputs(exprs, d, number), exprs


def unpadded_weight_gradient(d: Derivation, number: int) -> Step:
    """∂ℓ/∂W of conv layer ``number`` computed as if P = 0: Σ_i δ_{c,i} a_{c′,s·i+p} (C order of W)."""
    layer = d.layer(number)
    forms = tensor_forms.conv_forms(layer, number)
    taps = forms.weight_index[2:]
    form = forms.weight_gradient.xreplace({t: t + pad for t, pad in zip(taps, layer.padding)})
    exprs = _written_out(d, number, form, forms.weight_index, layer.weight_shape)
    return _inputs(exprs, d, number), exprs


# ---------------------------------------------------------------- the catalogue

def catalogue(d: Derivation) -> list[tuple[dict[str, frozenset[int]], Cause]]:
    """Every classic conv/pool mistake that can change a number of this network: (the ``Variant`` fields it
    sets, its cause). A mistake in what flows down needs a layer below to receive it (not the input)."""
    out: list[tuple[dict[str, frozenset[int]], Cause]] = []
    for number in d.layer_numbers:
        layer = d.layer(number)
        one = frozenset({number})
        layers = (("layers", str(number)),)
        has_below = number > d.first
        if layer.kind == "conv":
            if has_below and any(k > 1 for k in layer.kernel):
                out.append(({"kernel_not_flipped": one}, Cause("kernel_not_flipped", layers)))
            if any(layer.padding):
                if has_below:
                    out.append(({"padding_forgotten_delta": one},
                                Cause("padding_forgotten_backward", layers + (("what", "delta"),))))
                out.append(({"padding_forgotten_gradient": one},
                            Cause("padding_forgotten_backward", layers + (("what", "gradient"),))))
        elif layer.kind == "pool" and has_below:
            if layer.mode == "max":
                out.append(({"max_pool_to_every_position": one}, Cause("max_pool_to_every_position", layers)))
            elif math.prod(layer.size) > 1:
                out.append(({"average_pool_not_divided": one},
                            Cause("average_pool_not_divided", layers + (("size", str(math.prod(layer.size))),))))
    return out
