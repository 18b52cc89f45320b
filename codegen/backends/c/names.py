"""The C lvalue of every symbol of a derivation, and the placeholder symbols the C statements use.

Arrays follow the generated file's layout: the parameters are ``p->W{l}[j][k]``,
``p->b{l}[j]``, one example's trace is ``t->z{l}[j]``, ``t->a{l}[j]``,
``t->d{l}[j]`` (δ), the input is ``a0[k]`` and the target ``y[k]``.
"""
from __future__ import annotations

from typing import Callable

import sympy as sp

from deltagen.derive.derivation import dropout
from deltagen.derive.derivation.backprop import Derivation
from deltagen.derive.model.activations import A as GENERIC_A, Z as GENERIC_Z

from .parts import OTHER, UNIT

LEARNING_RATE = sp.Symbol("learning_rate", positive=True)
STEP_SUM = sp.Symbol("s", real=True)          # a dot product's running sum in a loop
ACCUMULATED = sp.Symbol("acc", real=True)     # Σ_i over examples of a per-example gradient
PARAM = sp.Symbol("theta", real=True)
M_REAL = sp.Symbol("m_real", positive=True)   # m converted to NAME_real, so 1/m is not integer division
LOSS_SUM = sp.Symbol("loss_sum", real=True)


def lvalue_symbol(lvalue: str) -> sp.Symbol:
    """A symbol that prints as the C lvalue it is named after (e.g. ``grad->W1[j][k]``).

    Its name also fixes SymPy's order of the terms it appears in, so the output is stable.
    """
    return sp.Symbol(lvalue)


def activation_array(derivation: Derivation, layer: int) -> str:
    """The array of a[layer] for one example: the input ``a0`` (whatever its number), or the trace's ``t->a{l}``."""
    return "a0" if layer == derivation.input_number else f"t->a{layer}"


def concrete_names(derivation: Derivation, unrolled: Callable[[int], bool]) -> dict[sp.Basic, str]:
    """C lvalues of every index-form symbol of the derivation (unit by unit, constant indices); a layer's
    weights only when ``unrolled(layer)``: a layer in loops prints W_11 with loop names (``loop_names``),
    and naming every entry would make every weight's symbol."""
    d = derivation
    names: dict[sp.Basic, str] = {x: f"a0[{k}]" for k, x in enumerate(d.x)}
    names.update({y: f"y[{k}]" for k, y in enumerate(d.y)})
    for layer in d.layer_numbers:
        s = d.symbols(layer)
        dense = d.layer(layer).kind == "dense"
        for j in range(len(s.z)):
            names[s.z[j]] = f"t->z{layer}[{j}]"
            names[s.a[j]] = f"t->a{layer}[{j}]"
            names[s.delta[j]] = f"t->d{layer}[{j}]"
            if not dense:   # a conv layer's parameters are printed from tensor_forms (spatial.py)
                continue
            if s.b:
                names[s.b[j]] = f"p->b{layer}[{j}]"
            if unrolled(layer):
                names.update({s.W[j, k]: f"p->W{layer}[{j}][{k}]" for k in range(s.W.shape[1])})
        if d.layer(layer).dropout:     # one example's 0/1 dropout mask, in training
            names.update({D: f"t->D{layer}[{j}]" for j, D in enumerate(dropout.mask_symbols(d, layer))})
    return names


def loop_names(derivation: Derivation, layer: int) -> dict[sp.Basic, str]:
    """Unit 0 of layer number ``layer`` (and unit 0 of the layer below) as lvalues indexed by the loop variables."""
    d = derivation
    s = d.symbols(layer)
    below = d.activations_of(layer - 1)
    j, k = UNIT, OTHER
    names = {s.z[0]: f"t->z{layer}[{j}]", s.a[0]: f"t->a{layer}[{j}]", s.delta[0]: f"t->d{layer}[{j}]",
             below[0]: f"{activation_array(d, layer - 1)}[{k}]",
             GENERIC_Z: f"t->z{layer}[{j}]", GENERIC_A: f"t->a{layer}[{j}]", STEP_SUM: STEP_SUM.name}
    if d.layer(layer).kind != "dense":   # a conv or pool layer's units, flat (its δ from a dense layer above)
        return names
    names[s.W[0, 0]] = f"p->W{layer}[{j}][{k}]"
    if s.b:
        names[s.b[0]] = f"p->b{layer}[{j}]"
    if d.layer(layer).dropout:
        names[dropout.mask_symbols(d, layer)[0]] = f"t->D{layer}[{j}]"
    if layer == d.last:
        names[d.y[0]] = f"y[{j}]"
    return names


def transposed_names(derivation: Derivation, layer: int) -> dict[sp.Basic, str]:
    """Unit 0 of layer number ``layer`` + 1 as the lvalues of W[l+1]ᵀ δ[l+1]'s loop: row k of W, column j."""
    above = layer + 1
    s = derivation.symbols(above)
    return {s.W[0, 0]: f"p->W{above}[{OTHER}][{UNIT}]", s.delta[0]: f"t->d{above}[{OTHER}]"}


def kept_reads(derivation: Derivation, layer: int, loop: bool) -> dict[sp.Basic, str]:
    """In training, a[l−1] as layer number ``layer`` reads it when layer l − 1 has dropout: the kept
    activations ã = a K of the trace's ``t->h{l−1}`` (``derive.derivation.dropout.reads``); else {}."""
    d = derivation
    kept = dropout.reads(d, layer)
    if not kept:
        return {}
    below = layer - 1
    a = d.symbols(below).a
    if loop:
        return {a[0]: f"t->h{below}[{OTHER}]"}
    return {ak: f"t->h{below}[{k}]" for k, ak in enumerate(a)}
