"""The backward pass of one example: δ of the output layer, then δ[l] = g'(z[l]) ⊙ (W[l+1]ᵀ δ[l+1])."""
from __future__ import annotations

import sympy as sp

from deltagen.derive.derivation.stable import stabilize_branched

from .names import BACK_SUM, STEP_SUM, loop_names, transposed_names
from .parts import OTHER, UNIT, Assign, Block, Loop, ZeroedArray, unit_loop
from .writer import CWriter, plain_formula


def _generic_output_unit(w: CWriter, expr: sp.Expr) -> sp.Expr:
    """Unit 0's symbols of the output layer written as a_k, z_k, y_k (for comments)."""
    s = w.d.symbols(w.L)
    return expr.xreplace({s.a[0]: sp.Symbol("a_k"), s.z[0]: sp.Symbol("z_k"), w.d.y[0]: sp.Symbol("y_k")})


def output_delta_block(w: CWriter) -> Block:
    """δ of the output layer, ∂ℓ/∂z, from the derivation's output δ."""
    num = w.number(w.L)
    exprs = [stabilize_branched(e) for e in w.d.output_delta]
    uniform = w.uniform(list(w.d.output_delta), w.L)
    shown = plain_formula(_generic_output_unit(w, uniform)) if uniform is not None \
        else "per unit, from the output Jacobian"
    return w.unit_block(f"δ[{num}] = ∂ℓ/∂z[{num}] = {shown}", w.L, f"t->d{num}", exprs)


def hidden_delta_block(w: CWriter, index: int) -> Block:
    """δ[l] = g'(z[l]) ⊙ (W[l+1]ᵀ δ[l+1]): unrolled when both layers are, else W[l+1]ᵀ δ[l+1] summed first."""
    num, next_num = w.number(index), w.number(index + 1)
    derivative = w.d.hidden_derivative(index)
    comment = f"δ[{num}] = g'(z[{num}]) ⊙ (W[{next_num}]ᵀ δ[{next_num}]), g' = {plain_formula(derivative)}"
    if w.unrolled(index + 1) and w.unrolled(index):
        pairs = [(f"t->d{num}[{j}]", stabilize_branched(e)) for j, e in enumerate(w.d.delta_index(index))]
        return Block(f"{comment} (unrolled)", tuple(w.assignments(pairs)))
    above = w.d.symbols(index + 1)
    n, n_next = w.net.sizes[index], w.net.sizes[index + 1]
    term = w.printed(above.W[0, 0] * above.delta[0], transposed_names(w.d, index))
    # W[l+1]ᵀ δ[l+1] row by row of W, so memory is read in order
    row_sum = Loop(UNIT, n, (Assign(f"{BACK_SUM}[{UNIT}]", term, "+="),), inline=True)
    names = {**loop_names(w.d, index), STEP_SUM: f"{BACK_SUM}[{UNIT}]"}
    body = w.assignments([(f"t->d{num}[{UNIT}]", stabilize_branched(derivative) * STEP_SUM)], names)
    return Block(f"{comment} (loops)", (ZeroedArray(BACK_SUM, n), Loop(OTHER, n_next, (row_sum,)), unit_loop(n, body)))


def hidden_delta_blocks(w: CWriter) -> list[tuple[int, Block]]:
    """(layer number, its δ block) for each hidden layer, from the top down (the order they are computed)."""
    return [(w.number(index), hidden_delta_block(w, index)) for index in range(w.L - 1, 0, -1)]
