"""The forward pass of one example: z[l] = W[l] a[l−1] + b[l], then a[l] = g(z[l]), layer by layer."""
from __future__ import annotations

from deltagen.derive.derivation.stable import stabilize_branched

from . import spatial
from .names import STEP_SUM, kept_reads, loop_names
from .parts import OTHER, UNIT, Assign, Block, Local, Loop, unit_loop
from .writer import CWriter, plain_formula


def z_block(w: CWriter, layer: int, training: bool = False) -> Block:
    """z of layer number ``layer``: per unit when unrolled, else a dot product over k inside the loop over j.

    ``training``: above a dropout layer, z reads the kept activations ã (``kept_reads``).
    A conv or pool layer (never above a dropout layer) prints its tensor_forms (``spatial.z_block``).
    """
    if w.d.layer(layer).kind != "dense":
        return spatial.z_block(w, layer)
    has_bias = w.d.layer(layer).bias
    kept = training and bool(kept_reads(w.d, layer, loop=False))
    read = f"ã[{layer - 1}] (kept: dropout)" if kept else f"a[{layer - 1}]"
    comment = f"z[{layer}] = W[{layer}] {read}" + (f" + b[{layer}]" if has_bias else "")
    comment = f"{comment} ({w.form(layer)})"
    if w.unrolled(layer):
        pairs = [(f"t->z{layer}[{j}]", e) for j, e in enumerate(w.d.z_index(layer))]
        return Block(comment, tuple(w.assignments(pairs, kept_reads(w.d, layer, loop=False) if training else None)))
    s = w.d.symbols(layer)
    below = w.d.activations_of(layer - 1)
    names = {**loop_names(w.d, layer), **(kept_reads(w.d, layer, loop=True) if training else {})}
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


def activation_block(w: CWriter, layer: int) -> Block:
    """a = g(z) of layer number ``layer`` (a conv or pool layer's g is stabilised once, not per unit)."""
    if w.d.layer(layer).kind != "dense":
        generic = stabilize_branched(w.d.layer(layer).activation.expr)
        body = w.assignments([(f"t->a{layer}[{UNIT}]", generic)], loop_names(w.d, layer))
        return Block(f"{activation_comment(w, layer)} ({w.form(layer)})", (unit_loop(w.d.width(layer), body),))
    exprs = [stabilize_branched(e) for e in w.d.a_index(layer)]
    return w.unit_block(activation_comment(w, layer), layer, f"t->a{layer}", exprs)


def forward_blocks(w: CWriter) -> list[Block]:
    """z then a of every layer, input to output."""
    blocks = []
    for layer in w.d.layer_numbers:
        blocks += [z_block(w, layer), activation_block(w, layer)]
    return blocks
