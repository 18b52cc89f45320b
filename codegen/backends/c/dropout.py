"""The training forward pass of a network with dropout: each dropout layer draws its mask and keeps ã.

Per example, after a[l] = g(z[l]) of a dropout layer: D[l]_j = 1 when the generator's next uniform
u satisfies u >= p, else 0 (the README's order: units in order, layers in order, example by example,
as the NumPy module's ``draw_masks``), then ã[l]_j = a[l]_j D[l]_j / (1 − p), printed from
``derive.derivation.dropout.kept_index``. The layer above reads ã (``names.kept_reads``); the δ of
the dropout layer carries K = D / (1 − p) (``backward.hidden_delta_block``).
"""
from __future__ import annotations

import sympy as sp

from deltagen.derive.derivation import dropout

from .forward import activation_block, z_block
from .names import loop_names
from .parts import UNIT, Assign, Block, unit_loop
from .writer import CWriter, plain_formula

#: the training functions' pointer to the generator state (the NAME_rng's state)
RNG = "rng"


def drop_macro(w: CWriter, layer: int) -> str:
    return f"{w.prefix}_DROP{layer}"


def mask_block(w: CWriter, layer: int) -> Block:
    """D[l] drawn, then ã[l] = a[l] D[l] / (1 − p), unit by unit (the draws in unit order)."""
    d = w.d
    kept = dropout.kept_index(d, layer)
    masks = dropout.mask_symbols(d, layer)
    draw = f"{w.prefix}_uniform({RNG}) >= {drop_macro(w, layer)} ? 1 : 0"
    unit = {masks[0]: sp.Symbol("D", nonnegative=True), d.symbols(layer).a[0]: sp.Symbol("a", real=True)}
    shown = plain_formula(kept[0].xreplace(unit))
    comment = f"dropout: D[{layer}] = (u >= p), ã[{layer}] = {shown}"
    if w.unrolled(layer):
        statements = [Assign(f"t->D{layer}[{j}]", draw) for j in range(len(masks))]
        statements += w.assignments([(f"t->h{layer}[{j}]", e) for j, e in enumerate(kept)])
        return Block(f"{comment} ({w.form(layer)})", tuple(statements))
    body = [Assign(f"t->D{layer}[{UNIT}]", draw)]
    body += w.assignments([(f"t->h{layer}[{UNIT}]", kept[0])], loop_names(d, layer))
    return Block(f"{comment} ({w.form(layer)})", (unit_loop(len(masks), body),))


def training_forward_blocks(w: CWriter) -> list[Block]:
    """z, a (and the mask and ã of a dropout layer) of every layer, each z reading ã below a dropout layer."""
    blocks = []
    for layer in w.d.layer_numbers:
        blocks += [z_block(w, layer, training=True), activation_block(w, layer)]
        if w.d.layer(layer).dropout:
            blocks.append(mask_block(w, layer))
    return blocks


def dropout_context(w: CWriter) -> dict:
    """Template values of the training pass; empty lists for a network without dropout."""
    layers = dropout.dropout_layers(w.d)
    return {
        "dropout_layers": [{"number": layer, "macro": drop_macro(w, layer), "p": repr(w.d.layer(layer).dropout),
                            "units": w.d.width(layer)} for layer in layers],
        "dropout_numbers": layers,
    }
