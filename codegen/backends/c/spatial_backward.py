"""The backward pass through conv and pool layers, printed from ``derive.derivation.tensor_forms``.

- δ of a layer below a conv layer: g'(z) ⊙ (the strided gather form Σ_{c,p,q} W[c,c′,p,q] δ[c, (x+P−p)/s, ...],
  for stride 1 the full correlation of δ with the flipped kernel): a term whose position is off the stride
  or outside δ is 0 (``loopnest``'s guards);
- δ of a layer below a pool layer: the mean's δ/|window| to every entry, or the max's δ to the first maximum of
  each window: M (tensor_forms.PoolForms.mask, strictly above every earlier entry and at least every later one)
  is computed first, then Σ_{p,q} M[c, i, j, p, q] δ[c, i, j] with i, j the windows that hold the entry;
- ∂ℓ/∂W[c,c′,p,q] = Σ_{i,j} δ[c,i,j] a[c′, s·i+p−P, s·j+q−P] and ∂ℓ/∂b[c] = Σ_{i,j} δ[c,i,j], added per example
  (or, in the one-example SGD step, taken into the update directly).
"""
from __future__ import annotations

from typing import Callable

import sympy as sp

from deltagen.derive.derivation.stable import stabilize_branched
from deltagen.derive.derivation.tensor_forms import conv_forms, pool_forms
from deltagen.derive.model.activations import A as GENERIC_A, Z as GENERIC_Z

from .loopnest import c_index, form_statements, free_loops, in_c
from .names import STEP_SUM, lvalue_symbol
from .parts import Assign, Block, CParam, IntLocal, Local, Loop, Note, Statement, Unused
from .spatial import geometry, printer, show
from .writer import CWriter, plain_formula

#: the update of one entry θ from its per-example gradient g (the one-example SGD step): (g, θ) -> new θ
Update = Callable[[sp.Expr, sp.Expr], sp.Expr]


def delta_block(w: CWriter, layer: int) -> Block:
    """δ of layer number ``layer`` (conv or pool) from the conv or pool layer above it."""
    above = w.d.layer(layer + 1)
    shape = w.d.layer(layer).out_shape
    Z, A, Delta = (sp.IndexedBase(f"{name}{layer}", shape=shape) for name in ("Z", "A", "Delta"))
    derivative = w.d.hidden_derivative(layer)
    statements: list[Statement] = []
    if above.kind == "conv":
        f = conv_forms(above, layer + 1)
        (read,) = [r for r in f.input_delta.atoms(sp.Indexed) if r.base == f.Delta]
        back = (f"Σ_{{c, {', '.join(map(show, f.weight_index[2:]))}}} W[{layer + 1}][{', '.join(map(show, f.weight_index))}] "
                f"δ[{layer + 1}][{', '.join(map(show, read.indices))}] over the integer positions inside δ[{layer + 1}]")
    else:
        f = pool_forms(above, layer + 1)
        statements.append(Unused("p"))   # a pool layer has no weights
        if above.mode == "max":
            back = f"Σ over the windows (c, i, j) that hold the entry of M[{layer + 1}] δ[{layer + 1}][c, i, j]"
            statements += mask_statements(w, layer + 1)
            statements.append(Note(f"δ[{layer}]"))
        else:
            back = f"Σ over the windows that hold the entry of δ[{layer + 1}] / {sp.Mul(*above.size)}"
    free = f.in_index
    comment = (f"δ[{layer}] = g'(z[{layer}]) ⊙ ({back}), g' = {plain_formula(derivative)}; "
               f"layer {layer + 1}: {geometry(above)} ({w.form(layer)})")
    g = stabilize_branched(derivative).xreplace({GENERIC_Z: Z[free], GENERIC_A: A[free]})
    if above.kind == "pool" and _one_window_each(above):
        body = _one_window_statements(w, Delta[free], g * f.input_delta, free, above.stride)
    else:
        body = form_statements(printer(w), Delta[free], g * f.input_delta, free)
    statements.append(free_loops(free, body))
    return Block(comment, tuple(statements))


def _one_window_each(pool) -> bool:
    """Windows that tile the input (stride = size, the size dividing each axis): every entry is in one window."""
    return tuple(pool.stride) == tuple(pool.size) and all(n % k == 0 for n, k in zip(pool.in_shape[1:], pool.size))


def _one_window_statements(w: CWriter, target: sp.Indexed, expr: sp.Expr, free, stride) -> list[Statement]:
    """``target = expr`` where expr's Sum over the window offsets (p, q) has one term for each entry: the
    one at window r = x / s, offset p = x − s·r (the form's Sum with p := x − s·r, so its reads land on r).

    The loop over the offsets with a divisibility guard per term is gone; the term is the Sum's single
    nonzero one, so the number is the loop's (0 + term = term)."""
    (total,) = expr.atoms(sp.Sum)
    offsets = [var for var, _, _ in total.limits]
    windows = [sp.Symbol(f"r{axis}", integer=True, nonnegative=True) for axis in range(len(offsets))]
    spatial = free[1:]
    term = total.function.xreplace({p: x - s * r for p, x, s, r in zip(offsets, spatial, stride, windows)})
    print_ = printer(w)
    locals_: list[Statement] = [IntLocal(r.name, f"{c_index(x)} / {s}") for r, x, s in zip(windows, spatial, stride)]
    return [*locals_, Local(STEP_SUM.name, print_.doprint(in_c(term))),
            Assign(print_.doprint(in_c(target)), print_.doprint(in_c(expr.xreplace({total: STEP_SUM}))))]



def mask_statements(w: CWriter, layer: int) -> list[Statement]:
    """M[layer] of every window (c, i, j) and offset, from ``PoolForms.mask``: 1 at the first maximum, else 0."""
    kind = w.d.layer(layer)
    f = pool_forms(kind, layer)
    out = f.out_index
    body: list[Statement] = []
    print_ = printer(w)
    for tap in f.taps:
        body += form_statements(print_, f.M[out + tap], f.mask(out + tap), out)
    note = (f"M[{layer}][{', '.join(map(show, out))}, offset] = 1 where the window's entry at that offset is its "
            f"first maximum in row-major order (above every earlier entry, at least every later one), else 0")
    return [Note(note), free_loops(out, body)]


def accumulate_block(w: CWriter, layer: int) -> Block:
    """grad += this example's ∂ℓ/∂W and ∂ℓ/∂b of conv layer number ``layer``."""
    f = conv_forms(w.d.layer(layer), layer)
    print_ = printer(w)
    gradW = sp.IndexedBase(f"gradW{layer}", shape=f.W.shape)
    (read,) = [r for r in f.weight_gradient.atoms(sp.Indexed) if r.base == f.A]
    statements: list[Statement] = [free_loops(f.weight_index, form_statements(
        print_, gradW[f.weight_index], f.weight_gradient, f.weight_index, "+="))]
    comment = (f"Σ_i ∂ℓ/∂W[{layer}][{', '.join(map(show, f.weight_index))}] += Σ_{{{', '.join(map(show, f.out_index[1:]))}}} "
               f"δ[{layer}][{', '.join(map(show, f.out_index))}] a[{layer - 1}][{', '.join(map(show, read.indices))}]")
    if f.b is not None:
        gradb = sp.IndexedBase(f"gradb{layer}", shape=f.b.shape)
        c = f.out_index[:1]
        statements.append(free_loops(c, form_statements(print_, gradb[c], f.bias_gradient, c, "+=")))
        comment += f", Σ_i ∂ℓ/∂b[{layer}][c] += Σ_{{{', '.join(map(show, f.out_index[1:]))}}} δ[{layer}][c, ...]"
    return Block(f"{comment} ({w.form(layer)})", tuple(statements))


def fused_block(w: CWriter, layer: int, weight: Update, bias: Update) -> Block:
    """W and b of conv layer number ``layer`` updated from one example's ∂ℓ/∂W, ∂ℓ/∂b (the m = 1 SGD step)."""
    f = conv_forms(w.d.layer(layer), layer)
    print_ = printer(w)
    W = f.W[f.weight_index]
    statements: list[Statement] = [free_loops(f.weight_index, form_statements(
        print_, W, weight(f.weight_gradient, W), f.weight_index))]
    if f.b is not None:
        c = f.out_index[:1]
        statements.append(free_loops(c, form_statements(print_, f.b[c], bias(f.bias_gradient, f.b[c]), c)))
    return Block(f"W[{layer}] ← W[{layer}] − η ∂ℓ/∂W[{layer}], one example ({w.form(layer)})", tuple(statements))


def entry_loops(q: CParam, statement: Statement) -> Loop:
    """``statement`` in one loop per axis of conv weight ``q``, the innermost on one line."""
    loops = q.loops
    body = Loop(loops[-1][0], loops[-1][1], (statement,), inline=True)
    for index, count in reversed(loops[:-1]):
        body = Loop(index, count, (body,))
    return body


def elementwise_block(w: CWriter, layer: int, weight: Callable[[str, sp.Symbol], sp.Expr],
                      bias: Callable[[str, sp.Symbol], sp.Expr], op: str, comment: str, target: str,
                      params: list[CParam]) -> Block:
    """``target W[...] op weight(slot, θ)`` over every entry of a conv layer's W, and likewise b[c]."""
    statements: list[Statement] = []
    for q in params:
        slot = q.slot if q.shape else "[c]"
        value = (bias if q.is_bias else weight)(slot, lvalue_symbol(f"p->{q.name}{slot}"))
        assign = Assign(f"{target}{q.name}{slot}", w.printed(value), op)
        statements.append(Loop("c", q.rows, (assign,), inline=True) if q.is_bias else entry_loops(q, assign))
    return Block(f"{comment} ({w.form(layer)})", tuple(statements))
