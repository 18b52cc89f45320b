"""The forward pass of one example: z[l] = W[l] a[l−1] + b[l], then a[l] = g(z[l]), layer by layer."""
from __future__ import annotations

from deltagen.derive.derivation.stable import stabilize_branched

from . import spatial
from .names import STEP_SUM, kept_reads, loop_names
from .parts import OTHER, UNIT, Assign, Block, Local, Loop, Statement, unit_loop
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
    loops = []
    n = w.d.width(layer)
    grouped = n - n % UNITS_AT_ONCE
    for units, first, last in ((UNITS_AT_ONCE, 0, grouped), (1, grouped, n)):
        if last > first:
            loops.append(Loop(UNIT, last, tuple(_dot_products(w, layer, units, training)), start=first, step=units))
    return Block(comment, tuple(loops))


#: units whose dot products run side by side: independent sums, so the adds of one do not wait on another's
UNITS_AT_ONCE = 8


def _dot_products(w: CWriter, layer: int, units: int, training: bool) -> list[Statement]:
    """z_(j+r) = b_(j+r) + Σ_k W_(j+r)k a_k for r < units, each sum in the order k = 0, 1, ... (one chain per unit)."""
    s = w.d.symbols(layer)
    below = w.d.activations_of(layer - 1)
    starts, terms, stores = [], [], []
    for r in range(units):
        unit = UNIT if r == 0 else f"{UNIT} + {r}"
        names = {**loop_names(w.d, layer), **(kept_reads(w.d, layer, loop=True) if training else {}),
                 s.W[0, 0]: f"p->W{layer}[{unit}][{OTHER}]", s.z[0]: f"t->z{layer}[{unit}]"}
        if s.b:
            names[s.b[0]] = f"p->b{layer}[{unit}]"
        total = f"{STEP_SUM.name}{r}" if units > 1 else STEP_SUM.name
        starts.append(Local(total, w.printed(s.b[0], names) if s.b else "0"))
        terms.append(Assign(total, w.printed(s.W[0, 0] * below[0], names), "+="))  # the k-th term of z_j
        stores.append(Assign(names[s.z[0]], total))
    return [*starts, Loop(OTHER, len(below), tuple(terms), inline=units == 1), *stores]


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
    if not w.unrolled(layer) and not w.d.layer(layer).activation.is_softmax:
        # an elementwise g in loops: a_j = g(z_j) is one formula, printed from unit 0's (not built per unit)
        unit = stabilize_branched(w.d.a_index(layer, z=(w.d.symbols(layer).z[0],))[0])
        body = w.assignments([(f"t->a{layer}[{UNIT}]", unit)], loop_names(w.d, layer))
        return Block(f"{activation_comment(w, layer)} ({w.form(layer)})", (unit_loop(w.d.width(layer), body),))
    exprs = [stabilize_branched(e) for e in w.d.a_index(layer)]
    return w.unit_block(activation_comment(w, layer), layer, f"t->a{layer}", exprs)


def forward_blocks(w: CWriter) -> list[Block]:
    """z then a of every layer, input to output."""
    blocks = []
    for layer in w.d.layer_numbers:
        blocks += [z_block(w, layer), activation_block(w, layer)]
    return blocks
