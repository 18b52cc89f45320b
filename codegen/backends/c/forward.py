"""The forward pass of one example: z[l] = W[l] a[l−1] + b[l], then a[l] = g(z[l]), layer by layer."""
from __future__ import annotations

from deltagen.derive.derivation.stable import stabilize_branched

from .names import STEP_SUM, loop_names
from .parts import OTHER, Assign, Block, Local, Loop, unit_loop
from .writer import CWriter, plain_formula


def z_block(w: CWriter, index: int) -> Block:
    """z of layer ``index``: per unit when unrolled, else a dot product over k inside the loop over j."""
    num, prev_num = w.number(index), w.number(index - 1)
    has_bias = w.net.layers[index - 1].bias
    comment = f"z[{num}] = W[{num}] a[{prev_num}]" + (f" + b[{num}]" if has_bias else "")
    comment = f"{comment} ({w.form(index)})"
    if w.unrolled(index):
        pairs = [(f"t->z{num}[{j}]", e) for j, e in enumerate(w.d.z_index(index))]
        return Block(comment, tuple(w.assignments(pairs)))
    s = w.d.symbols(index)
    below = w.d.activations_of(index - 1)
    names = loop_names(w.d, index)
    start = w.printed(s.b[0], names) if s.b else "0"
    term = w.printed(s.W[0, 0] * below[0], names)   # the k-th term of z_j = Σ_k W_jk a_k + b_j
    dot_product = [Local(STEP_SUM.name, start),
                   Loop(OTHER, len(below), (Assign(STEP_SUM.name, term, "+="),), inline=True),
                   Assign(names[s.z[0]], STEP_SUM.name)]
    return Block(comment, (unit_loop(len(s.z), dot_product),))


def activation_comment(w: CWriter, index: int) -> str:
    activation = w.net.layers[index - 1].activation
    num = w.number(index)
    if activation.is_softmax:
        return f"a[{num}] = softmax(z[{num}]), max-subtracted"
    return f"a[{num}] = g(z[{num}]), g(z) = {plain_formula(activation.expr)}"


def forward_blocks(w: CWriter) -> list[Block]:
    """z then a of every layer, input to output."""
    blocks = []
    for index in range(1, w.L + 1):
        blocks.append(z_block(w, index))
        exprs = [stabilize_branched(e) for e in w.d.a_index(index)]
        blocks.append(w.unit_block(activation_comment(w, index), index, f"t->a{w.number(index)}", exprs))
    return blocks
