"""The forward pass of one example: z[l] = W[l] a[l−1] + b[l], then a[l] = g(z[l]), layer by layer."""
from __future__ import annotations

from deltagen.derive.derivation.stable import stabilize_branched

from .names import STEP_SUM, loop_names
from .parts import OTHER, Assign, Block, Local, Loop, unit_loop
from .writer import CWriter, plain_formula


def z_block(w: CWriter, layer: int) -> Block:
    """z of layer number ``layer``: per unit when unrolled, else a dot product over k inside the loop over j."""
    has_bias = w.d.layer(layer).bias
    comment = f"z[{layer}] = W[{layer}] a[{layer - 1}]" + (f" + b[{layer}]" if has_bias else "")
    comment = f"{comment} ({w.form(layer)})"
    if w.unrolled(layer):
        pairs = [(f"t->z{layer}[{j}]", e) for j, e in enumerate(w.d.z_index(layer))]
        return Block(comment, tuple(w.assignments(pairs)))
    s = w.d.symbols(layer)
    below = w.d.activations_of(layer - 1)
    names = loop_names(w.d, layer)
    start = w.printed(s.b[0], names) if s.b else "0"
    term = w.printed(s.W[0, 0] * below[0], names)   # the k-th term of z_j = Σ_k W_jk a_k + b_j
    dot_product = [Local(STEP_SUM.name, start),
                   Loop(OTHER, len(below), (Assign(STEP_SUM.name, term, "+="),), inline=True),
                   Assign(names[s.z[0]], STEP_SUM.name)]
    return Block(comment, (unit_loop(len(s.z), dot_product),))


def activation_comment(w: CWriter, layer: int) -> str:
    activation = w.d.layer(layer).activation
    if activation.is_softmax:
        return f"a[{layer}] = softmax(z[{layer}]), max-subtracted"
    return f"a[{layer}] = g(z[{layer}]), g(z) = {plain_formula(activation.expr)}"


def forward_blocks(w: CWriter) -> list[Block]:
    """z then a of every layer, input to output."""
    blocks = []
    for layer in w.d.layer_numbers:
        blocks.append(z_block(w, layer))
        exprs = [stabilize_branched(e) for e in w.d.a_index(layer)]
        blocks.append(w.unit_block(activation_comment(w, layer), layer, f"t->a{layer}", exprs))
    return blocks
