"""Statements over every parameter: gradient accumulation, scaling into ∂C/∂θ, and the SGD update.

Each is a formula per weight W[j][k] and per bias b[j] of a layer; ``per_parameter``
prints it entry by entry (unrolled) or once with loop-indexed names (loops).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

from deltagen.derive.derivation.backprop import LAMBDA, M

from .names import ACCUMULATED, LEARNING_RATE, M_REAL, PARAM, loop_names, lvalue_symbol
from .parts import OTHER, UNIT, Assign, Block, CParam, Loop, unit_loop
from .writer import CWriter, plain_formula


@dataclass(frozen=True)
class Entry:
    """One weight (k set) or bias (k None) of a layer; in loop form unit 0's, with ``slot`` "[j][k]" or "[j]"."""

    symbol: sp.Symbol    # the parameter's own symbol
    j: int
    k: int | None
    slot: str            # its C subscript


#: the formula of one parameter entry
Formula = Callable[[Entry], sp.Expr]


def per_parameter(w: CWriter, index: int, weight: Formula, bias: Formula, op: str, comment: str,
                  target: str = "grad->") -> Block:
    """``target W[j][k] op weight(entry)`` and ``target b[j] op bias(entry)`` for layer ``index``."""
    s, num = w.d.symbols(index), w.number(index)
    n, n_prev = s.W.shape
    comment = f"{comment} ({w.form(index)})"
    if w.unrolled(index):
        pairs = [(f"{target}W{num}[{j}][{k}]", weight(Entry(s.W[j, k], j, k, f"[{j}][{k}]")))
                 for j in range(n) for k in range(n_prev)]
        if s.b:
            pairs += [(f"{target}b{num}[{j}]", bias(Entry(s.b[j], j, None, f"[{j}]"))) for j in range(n)]
        return Block(comment, tuple(w.assignments(pairs, op=op)))
    names = loop_names(w.d, index)   # unit 0's symbols print as j, k
    weight_slot, bias_slot = f"[{UNIT}][{OTHER}]", f"[{UNIT}]"
    row = Assign(f"{target}W{num}{weight_slot}", w.printed(weight(Entry(s.W[0, 0], 0, 0, weight_slot)), names), op)
    body = [Loop(OTHER, n_prev, (row,), inline=True)]
    if s.b:
        body.append(Assign(f"{target}b{num}{bias_slot}", w.printed(bias(Entry(s.b[0], 0, None, bias_slot)), names), op))
    return Block(comment, (unit_loop(n, body),))


def accumulate_blocks(w: CWriter) -> list[Block]:
    """grad += this example's ∂ℓ/∂W = δ aᵀ and ∂ℓ/∂b = δ."""
    blocks = []
    for index in range(1, w.L + 1):
        num, prev = w.number(index), w.number(index - 1)
        grad_b = w.d.grad_b_index(index)
        comment = f"Σ_i ∂ℓ/∂W[{num}] += δ[{num}] a[{prev}]ᵀ" + (f", Σ_i ∂ℓ/∂b[{num}] += δ[{num}]" if grad_b else "")
        blocks.append(per_parameter(
            w, index, lambda e, index=index: w.d.grad_W_entry(index, e.j, e.k), lambda e, g=grad_b: g[e.j],
            "+=", comment))
    return blocks


def batch_gradient(w: CWriter, weight: bool) -> sp.Expr:
    """∂C/∂θ from the accumulated Σ_i ∂ℓ_i/∂θ: c Σ_i + λ θ (weights only), with the spec's λ."""
    expr = w.d.reduction_factor * ACCUMULATED + (w.d.l2 * PARAM if weight else 0)
    return expr.subs({M: M_REAL, LAMBDA: sp.Float(w.net.l2)})


def scale_blocks(w: CWriter) -> list[Block]:
    """grad ← ∂C/∂θ from the accumulated sums, in place."""
    blocks = []
    weight_grad, bias_grad = batch_gradient(w, True), batch_gradient(w, False)
    for index in range(1, w.L + 1):
        num = w.number(index)
        comment = f"∂C/∂W[{num}] = {plain_formula(w.d.reduction_factor)} Σ_i ∂ℓ/∂W[{num}]" \
            + (f" + λ W[{num}]" if w.net.l2 else "")
        blocks.append(per_parameter(
            w, index,
            lambda e, num=num: weight_grad.subs({ACCUMULATED: lvalue_symbol(f"grad->W{num}{e.slot}"), PARAM: e.symbol}),
            lambda e, num=num: bias_grad.subs(ACCUMULATED, lvalue_symbol(f"grad->b{num}{e.slot}")),
            "=", comment))
    return blocks


def _update(w: CWriter, gradient: sp.Expr, parameter: sp.Symbol) -> sp.Expr:
    """θ − η ∂C/∂θ for ``parameter``, from the derivation's update rule."""
    return w.d.update_expr(PARAM, gradient, LEARNING_RATE).subs(PARAM, parameter)


def update_blocks(w: CWriter) -> list[Block]:
    """θ ← θ − η ∂C/∂θ from a gradient buffer ``grad``."""
    blocks = []
    for index in range(1, w.L + 1):
        num = w.number(index)
        blocks.append(per_parameter(
            w, index,
            lambda e, num=num: _update(w, lvalue_symbol(f"grad.W{num}{e.slot}"), e.symbol),
            lambda e, num=num: _update(w, lvalue_symbol(f"grad.b{num}{e.slot}"), e.symbol),
            "=", f"W[{num}] ← W[{num}] − η ∂C/∂W[{num}]", target="p->"))
    return blocks


@dataclass(frozen=True)
class FusedStep:
    """The update of one layer in the one-example SGD step, after δ of the layer below (if any) is computed."""

    delta_below: int | None   # the number of the layer whose δ is computed first
    block: Block


def fused_steps(w: CWriter) -> list[FusedStep]:
    """One example, from the output down: layer l's update, after δ of the layer below is computed.

    δ[l−1] needs W[l] before its update, so it comes first; no gradient buffer is needed.
    """
    steps = []
    weight_grad = batch_gradient(w, True).subs(M_REAL, 1)
    bias_grad = batch_gradient(w, False).subs(M_REAL, 1)
    for index in range(w.L, 0, -1):
        num = w.number(index)
        grad_b = w.d.grad_b_index(index)
        block = per_parameter(
            w, index,
            lambda e, index=index: _update(
                w, weight_grad.subs({ACCUMULATED: w.d.grad_W_entry(index, e.j, e.k), PARAM: e.symbol}), e.symbol),
            lambda e, g=grad_b: _update(w, bias_grad.subs(ACCUMULATED, g[e.j]), e.symbol),
            "=", f"W[{num}] ← W[{num}] − η ∂ℓ/∂W[{num}], one example", target="p->")
        steps.append(FusedStep(w.number(index - 1) if index > 1 else None, block))
    return steps


def params(w: CWriter) -> list[CParam]:
    """The parameter arrays in declaration order, weights with their Glorot-uniform bound."""
    out = []
    sizes = w.net.sizes
    for index, layer in enumerate(w.net.layers, start=1):
        n, n_prev = sizes[index], sizes[index - 1]
        limit = sp.sqrt(sp.Rational(6, n + n_prev))
        out.append(CParam(f"W{w.number(index)}", n, n_prev, False, w.printed(sp.Float(float(limit)))))
        if layer.bias:
            out.append(CParam(f"b{w.number(index)}", n, 0, True, "0"))
    return out
