"""The backward pass of one example: δ of the output layer, then δ[l] = g'(z[l]) ⊙ (W[l+1]ᵀ δ[l+1])."""
from __future__ import annotations

import sympy as sp

from deltagen.derive.derivation import dropout
from deltagen.derive.derivation.stable import stabilize_branched

from . import spatial_backward
from .names import STEP_SUM, loop_names, transposed_names
from .parts import OTHER, UNIT, Assign, Block, Loop, unit_loop
from .writer import CWriter, plain_formula


def _generic_output_unit(w: CWriter, expr: sp.Expr) -> sp.Expr:
    """Unit 0's symbols of the output layer written as a_k, z_k, y_k (for comments)."""
    s = w.d.symbols(w.d.last)
    unit = {s.a[0]: sp.Symbol("a_k", real=True), s.z[0]: sp.Symbol("z_k", real=True),
            w.d.y[0]: sp.Symbol("y_k", real=True)}     # real like the symbols they replace (see describe.py)
    return expr.xreplace(unit)


def output_delta_block(w: CWriter) -> Block:
    """δ of the output layer, ∂ℓ/∂z, from the derivation's output δ."""
    last = w.d.last
    exprs = [stabilize_branched(e) for e in w.d.output_delta]
    uniform = w.uniform(list(w.d.output_delta), last)
    shown = plain_formula(_generic_output_unit(w, uniform)) if uniform is not None \
        else "per unit, from the output Jacobian"
    return w.unit_block(f"δ[{last}] = ∂ℓ/∂z[{last}] = {shown}", last, f"t->d{last}", exprs)


def hidden_delta_block(w: CWriter, layer: int, training: bool = False) -> Block:
    """δ[l] = g'(z[l]) ⊙ (W[l+1]ᵀ δ[l+1]): unrolled when both layers are, else W[l+1]ᵀ δ[l+1] summed first.

    ``training`` on a dropout layer: δ[l] = g'(z[l]) ⊙ K ⊙ (W[l+1]ᵀ δ[l+1]), K = D / (1 − p) of the mask D.
    """
    above = layer + 1
    masked = training and bool(w.d.layer(layer).dropout)
    derivative = w.d.hidden_derivative(layer)
    comment = f"δ[{layer}] = g'(z[{layer}]) ⊙ (W[{above}]ᵀ δ[{above}]), g' = {plain_formula(derivative)}"
    deltas = None   # one expression per unit: built only for an unrolled block
    if masked:
        mask = dropout.mask_symbols(w.d, layer)[0]
        scale = dropout.scaled_mask(w.d, layer, mask)
        comment = (f"δ[{layer}] = g'(z[{layer}]) ⊙ K ⊙ (W[{above}]ᵀ δ[{above}]), g' = {plain_formula(derivative)}, "
                   f"K = {plain_formula(scale.xreplace({mask: sp.Symbol('D', nonnegative=True)}))} (dropout)")
        derivative = dropout.generic_delta_derivative(w.d, layer, mask)
        deltas = dropout.delta_index(w.d, layer)
    if w.unrolled(above) and w.unrolled(layer):
        deltas = w.d.delta_index(layer) if deltas is None else deltas
        pairs = [(f"t->d{layer}[{j}]", stabilize_branched(e)) for j, e in enumerate(deltas)]
        return Block(f"{comment} (unrolled)", tuple(w.assignments(pairs)))
    s_above = w.d.symbols(above)
    n, n_next = w.d.width(layer), w.d.width(above)
    term = w.printed(s_above.W[0, 0] * s_above.delta[0], transposed_names(w.d, layer))
    # W[l+1]ᵀ δ[l+1] is summed into δ[l]'s own array (no local array: the stack stays small for any
    # width), row by row of W so memory is read in order; then each entry is multiplied by g'
    back = f"t->d{layer}[{UNIT}]"
    zeroed = Loop(UNIT, n, (Assign(back, "0"),), inline=True)
    row_sum = Loop(UNIT, n, (Assign(back, term, "+="),), inline=True)
    return Block(f"{comment} (loops)", (zeroed, Loop(OTHER, n_next, (row_sum,)), derivative_loop(w, layer, derivative)))


def derivative_loop(w: CWriter, layer: int, derivative: sp.Expr) -> Loop:
    """δ[l] = g'(z[l]) ⊙ s with the sum s = W[l+1]ᵀ δ[l+1] already in δ[l]'s array (``t->d{l}``), in place
    (the tiles of a batch run this loop of the block as it is, after their own sum)."""
    back = f"t->d{layer}[{UNIT}]"
    names = {**loop_names(w.d, layer), STEP_SUM: back}
    body = w.assignments([(back, stabilize_branched(derivative) * STEP_SUM)], names)
    return unit_loop(w.d.width(layer), body)


def hidden_delta_blocks(w: CWriter) -> list[tuple[int, Block]]:
    """(layer number, its δ block) for each hidden layer, from the top down (the order they are computed)."""
    # below a dense layer, Wᵀδ (a conv or pool layer's units flat); below a conv or pool layer, its tensor_forms
    return [(layer, hidden_delta_block(w, layer) if w.d.layer(layer + 1).kind == "dense"
             else spatial_backward.delta_block(w, layer)) for layer in reversed(w.d.layer_numbers[:-1])]


def training_delta_blocks(w: CWriter) -> list[tuple[int, Block]]:
    """(layer number, its δ block with the dropout mask) for each dropout layer, from the top down."""
    return [(layer, hidden_delta_block(w, layer, training=True)) for layer in reversed(dropout.dropout_layers(w.d))]
