"""Statements over every parameter: gradient accumulation, scaling into ∂C/∂θ, and the SGD update.

Each is a formula per weight W[j][k] and per bias b[j] of a layer; ``per_parameter``
prints it entry by entry (unrolled) or once with loop-indexed names (loops).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

from deltagen.derive.derivation.backprop import LAMBDA, M

from . import spatial, spatial_backward
from .names import ACCUMULATED, LEARNING_RATE, M_REAL, PARAM, kept_reads, loop_names, lvalue_symbol
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


def per_parameter(w: CWriter, layer: int, weight: Formula, bias: Formula, op: str, comment: str,
                  target: str = "grad->", training: bool = False) -> Block:
    """``target W[j][k] op weight(entry)`` and ``target b[j] op bias(entry)`` for layer number ``layer``.

    ``training``: the activations below a dropout layer are read as the kept ã (``kept_reads``).
    A conv layer: every entry of W[c][c′][p][q] and b[c] in loops (its Entry's symbol is the entry's lvalue).
    """
    if w.d.layer(layer).kind == "conv":
        return spatial_backward.elementwise_block(
            w, layer, lambda slot, theta: weight(Entry(theta, 0, 0, slot)),
            lambda slot, theta: bias(Entry(theta, 0, None, slot)), op, comment, target, spatial.conv_params(w, layer))
    s = w.d.symbols(layer)
    n, n_prev = s.W.shape
    comment = f"{comment} ({w.form(layer)})"
    if w.unrolled(layer):
        pairs = [(f"{target}W{layer}[{j}][{k}]", weight(Entry(s.W[j, k], j, k, f"[{j}][{k}]")))
                 for j in range(n) for k in range(n_prev)]
        if s.b:
            pairs += [(f"{target}b{layer}[{j}]", bias(Entry(s.b[j], j, None, f"[{j}]"))) for j in range(n)]
        return Block(comment, tuple(w.assignments(pairs, kept_reads(w.d, layer, False) if training else None, op=op)))
    # unit 0's symbols print as j, k
    names = {**loop_names(w.d, layer), **(kept_reads(w.d, layer, True) if training else {})}
    weight_slot, bias_slot = f"[{UNIT}][{OTHER}]", f"[{UNIT}]"
    row = Assign(f"{target}W{layer}{weight_slot}", w.printed(weight(Entry(s.W[0, 0], 0, 0, weight_slot)), names), op)
    body = [Loop(OTHER, n_prev, (row,), inline=True)]
    if s.b:
        bias_value = w.printed(bias(Entry(s.b[0], 0, None, bias_slot)), names)
        body.append(Assign(f"{target}b{layer}{bias_slot}", bias_value, op))
    return Block(comment, (unit_loop(n, body),))


def accumulate_blocks(w: CWriter, training: bool = False) -> list[Block]:
    """grad += this example's ∂ℓ/∂W = δ aᵀ and ∂ℓ/∂b = δ (``training``: δ ãᵀ above a dropout layer)."""
    return [accumulate_block(w, layer, training) for layer in _with_parameters(w)]


def accumulate_block(w: CWriter, layer: int, training: bool = False) -> Block:
    """grad += one example's ∂ℓ/∂W[l] and ∂ℓ/∂b[l] (a conv layer sums over positions)."""
    if w.d.layer(layer).kind == "conv":
        return spatial_backward.accumulate_block(w, layer)
    grad_b = w.d.grad_b_index(layer)
    read = "ã" if training and kept_reads(w.d, layer, False) else "a"
    comment = f"Σ_i ∂ℓ/∂W[{layer}] += δ[{layer}] {read}[{layer - 1}]ᵀ" \
        + (f", Σ_i ∂ℓ/∂b[{layer}] += δ[{layer}]" if grad_b else "")
    return per_parameter(w, layer, lambda e: w.d.grad_W_entry(layer, e.j, e.k), lambda e: grad_b[e.j],
                         "+=", comment, training=training)


def bias_accumulate_loop(w: CWriter, layer: int) -> Loop | None:
    """grad->b[l] += one example's ∂ℓ/∂b[l] = δ[l], in loops (a tile's weights go through a kernel); None if no bias."""
    grad_b = w.d.grad_b_index(layer)
    if not grad_b:
        return None
    target = f"grad->b{layer}[{UNIT}]"
    return unit_loop(len(grad_b), [Assign(target, w.printed(grad_b[0], loop_names(w.d, layer)), "+=")])


def batch_gradient(w: CWriter, weight: bool) -> sp.Expr:
    """∂C/∂θ from the accumulated Σ_i ∂ℓ_i/∂θ: c Σ_i + λ θ (weights only), with the spec's λ."""
    expr = w.d.reduction_factor * ACCUMULATED + (w.d.l2 * PARAM if weight else 0)
    return expr.subs({M: M_REAL, LAMBDA: sp.Float(w.net.l2)})


def scale_blocks(w: CWriter) -> list[Block]:
    """grad ← ∂C/∂θ from the accumulated sums, in place."""
    blocks = []
    weight_grad, bias_grad = batch_gradient(w, True), batch_gradient(w, False)
    for layer in _with_parameters(w):
        factor = w.d.reduction_factor
        scale = "" if factor == 1 else f"({plain_formula(factor)}) "    # a sum over the batch has no factor
        comment = f"∂C/∂W[{layer}] = {scale}Σ_i ∂ℓ/∂W[{layer}]" \
            + (f" + λ W[{layer}]" if w.net.l2 else "")
        blocks.append(per_parameter(
            w, layer,
            lambda e, layer=layer: weight_grad.subs(
                {ACCUMULATED: lvalue_symbol(f"grad->W{layer}{e.slot}"), PARAM: e.symbol}),
            lambda e, layer=layer: bias_grad.subs(ACCUMULATED, lvalue_symbol(f"grad->b{layer}{e.slot}")),
            "=", comment))
    return blocks


def _with_parameters(w: CWriter) -> list[int]:
    """The numbers of the layers that have parameters (every layer but a pool layer)."""
    return [layer for layer in w.d.layer_numbers if w.d.layer(layer).kind != "pool"]


def _update(w: CWriter, gradient: sp.Expr, parameter: sp.Symbol) -> sp.Expr:
    """θ − η ∂C/∂θ for ``parameter``, from the derivation's update rule."""
    return w.d.update_expr(PARAM, gradient, LEARNING_RATE).subs(PARAM, parameter)


def update_blocks(w: CWriter) -> list[Block]:
    """θ ← θ − η ∂C/∂θ from a gradient buffer ``grad``."""
    blocks = []
    for layer in _with_parameters(w):
        blocks.append(per_parameter(
            w, layer,
            lambda e, layer=layer: _update(w, lvalue_symbol(f"grad->W{layer}{e.slot}"), e.symbol),
            lambda e, layer=layer: _update(w, lvalue_symbol(f"grad->b{layer}{e.slot}"), e.symbol),
            "=", f"W[{layer}] ← W[{layer}] − η ∂C/∂W[{layer}]", target="p->"))
    return blocks


def scaled_update_blocks(w: CWriter) -> list[Block]:
    """θ ← θ − η ∂C/∂θ with ∂C/∂θ = c Σ_i ∂ℓ_i/∂θ (+ λθ) from the sums in ``grad``: the scale and the update in
    one statement per entry (the same operations as scale_blocks then update_blocks, one pass fewer)."""
    blocks = []
    weight_grad, bias_grad = batch_gradient(w, True), batch_gradient(w, False)

    def computed_first(layer: int, gradient: sp.Expr) -> sp.Symbol:
        # ∂C/∂θ printed in parentheses, so the update multiplies the finished gradient as update_blocks does
        # (SymPy would otherwise merge η·(Σ/m) into Σ·η/m, another order of the operations)
        names = None if w.unrolled(layer) else loop_names(w.d, layer)
        return lvalue_symbol(f"({w.printed(gradient, names)})")

    for layer in _with_parameters(w):
        blocks.append(per_parameter(
            w, layer,
            lambda e, layer=layer: _update(w, computed_first(layer, weight_grad.subs(
                {ACCUMULATED: lvalue_symbol(f"grad->W{layer}{e.slot}"), PARAM: e.symbol})), e.symbol),
            lambda e, layer=layer: _update(w, computed_first(layer, bias_grad.subs(
                ACCUMULATED, lvalue_symbol(f"grad->b{layer}{e.slot}"))), e.symbol),
            "=", f"W[{layer}] ← W[{layer}] − η ∂C/∂W[{layer}], ∂C/∂W[{layer}] from the sum over the batch",
            target="p->"))
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
    for layer in reversed(w.d.layer_numbers):
        kind = w.d.layer(layer).kind
        below = layer - 1 if layer > w.d.first else None
        if kind == "pool":   # nothing to update; δ below is still needed by the layers below
            steps.append(FusedStep(below, Block(f"layer {layer}: a pool layer has no parameters", ())))
            continue
        if kind == "conv":
            steps.append(FusedStep(below, spatial_backward.fused_block(
                w, layer, lambda g, theta: _update(w, weight_grad.subs({ACCUMULATED: g, PARAM: theta}), theta),
                lambda g, theta: _update(w, bias_grad.subs(ACCUMULATED, g), theta))))
            continue
        grad_b = w.d.grad_b_index(layer)
        block = per_parameter(
            w, layer,
            lambda e, layer=layer: _update(
                w, weight_grad.subs({ACCUMULATED: w.d.grad_W_entry(layer, e.j, e.k), PARAM: e.symbol}), e.symbol),
            lambda e, g=grad_b: _update(w, bias_grad.subs(ACCUMULATED, g[e.j]), e.symbol),
            "=", f"W[{layer}] ← W[{layer}] − η ∂ℓ/∂W[{layer}], one example", target="p->")
        steps.append(FusedStep(layer - 1 if layer > w.d.first else None, block))
    return steps


def params(w: CWriter) -> list[CParam]:
    """The parameter arrays in declaration order, weights with the r or σ of the spec's init.

    r or σ prints as a plain double literal (not NAME_LIT): init_params computes each weight in
    double, as the NumPy module does, and casts it to NAME_real once (README, "Random numbers").
    """
    out = []
    init = w.net.init
    for layer in w.d.layer_numbers:
        kind = w.d.layer(layer).kind
        if kind != "dense":   # conv: W[C_out][C_in][kH][kW], b[C_out]; pool: nothing
            out += spatial.conv_params(w, layer) if kind == "conv" else []
            continue
        n, n_prev = w.d.width(layer), w.d.width(layer - 1)
        out.append(CParam(f"W{layer}", n, n_prev, False, repr(init.as_float(fan_in=n_prev, fan_out=n))))
        if w.d.layer(layer).bias:
            out.append(CParam(f"b{layer}", n, 0, True, "0"))
    return out


def init_context(w: CWriter) -> dict:
    """What init_params needs: the scheme, and which of the generator's static functions the source defines.

    A static function nobody calls fails the strict build (-Wunused-function), so each is emitted only
    when used; code that draws more (permutations, dropout masks) turns its flag on here.
    """
    init = w.net.init
    weights = sum(w.weights(layer) for layer in w.d.layer_numbers)
    return {
        "init_name": init.name, "init_distribution": init.distribution, "init_formula_ascii": init.ascii_formula,
        "init_draws": init.draws * weights,
        "random_uniform": init.distribution != "zeros" or w.net.has_dropout,
        "random_normal": init.distribution == "normal",
    }
