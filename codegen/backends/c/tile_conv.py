"""A conv layer in a tile: its z and ∂W as the kernels' matrix products, one example (lane) at a time.

Per example, the window reads of a[l−1] are laid out once (``w->cols``, "im2col": one row per kernel
entry (c′, p, q), one column per output position (i, j); 0 where a read falls in the padding, the tensor
forms' convention). Then z[l] = W[l] · cols is a product of C_out rows of the flattened kernel with the
positions as columns, and ∂W[l] += δ[l] · colsᵀ one of C_out rows with the kernel entries as columns
(the positions as depth). Each sum keeps the loop nest's order (z: (c′, p, q) in C order, then + b;
∂W: the positions in C order, then added to grad), and a padding read adds an exact 0, so the numbers
are the loop nest's, bit for bit. The conv δ sent down, the activations and pool layers stay the
one-example loop nests.
"""
from __future__ import annotations

import math
from typing import Any

import sympy as sp

from deltagen.derive.derivation.tensor_forms import conv_forms

from .kernels import Shape
from .loopnest import CArray, free_loops, in_c
from .parts import Assign, Block, Loop, Statement
from .spatial import arrays

#: the tiles.TilePlan a conv layer belongs to (its lanes, kernels and printed one-example blocks)
Plan = Any


def _product(summand: sp.Expr, first: sp.IndexedBase, second: sp.IndexedBase) -> tuple[sp.Indexed, sp.Indexed]:
    """The two reads of a Sum's summand (first's, second's): the product a kernel computes, else ValueError."""
    reads = {r.base: r for r in summand.atoms(sp.Indexed)}
    if set(reads) != {first, second} or sp.expand(summand - reads[first] * reads[second]) != 0:
        raise ValueError(f"not a product of two reads: {summand}")
    return reads[first], reads[second]


def tileable(plan: Plan, layer: int) -> bool:
    """Whether conv layer number ``layer``'s z and ∂W forms are the products the kernels compute."""
    kind = plan.d.layer(layer)
    if kind.kind != "conv":
        return False
    f = conv_forms(kind, layer)
    try:
        (total,) = f.z.atoms(sp.Sum)
        _product(total.function, f.W, f.A)
        _product(f.weight_gradient.function, f.Delta, f.A)
    except ValueError:
        return False
    return True


class ConvTiles:
    """The statements of one conv layer in a tile."""

    def __init__(self, plan: Plan, layer: int) -> None:
        self.plan, self.layer = plan, layer
        self.kind = plan.d.layer(layer)
        self.f = conv_forms(self.kind, layer)
        self.entries = math.prod(self.kind.weight_shape[1:])        # K = C_in · kH · kW
        self.positions = math.prod(self.kind.out_shape[1:])         # P = the output positions
        self.printer = plan.array_printer({**arrays(plan.w), "Cols": CArray("w->cols")})

    def _layout(self, transposed: bool) -> Loop:
        """w->cols[(c′, p, q)][(i, j)] (or [(i, j)][(c′, p, q)]) = the window read, 0 in the padding."""
        f = self.f
        (total,) = f.z.atoms(sp.Sum)
        read, _ = _product(total.function, f.A, f.W)
        kernel, spatial = f.weight_index[1:], f.out_index[1:]
        order = (*spatial, *kernel) if transposed else (*kernel, *spatial)
        shape = tuple(int(i.upper) + 1 for i in order)
        target = sp.IndexedBase("Cols", shape=shape)[order]
        guards = [f"{e} >= 0 && {e} < {n}" for e, n, pad in zip(
            (self.printer.doprint(in_c(e)) for e in read.indices[1:]), self.kind.in_shape[1:], self.kind.padding) if pad]
        value = self.printer.doprint(in_c(read))
        if guards:
            value = f"({' && '.join(guards)}) ? {value} : 0"
        return free_loops(order, [Assign(self.printer.doprint(in_c(target)), value)])

    def forward(self) -> list[Block]:
        """z = b + W · cols of each lane, then its activation."""
        plan, layer, f = self.plan, self.layer, self.f
        flat = f"&p->W{layer}" + "[0]" * len(self.kind.weight_shape)   # the kernels, one row of K per channel
        (total,) = f.z.atoms(sp.Sum)
        statements: list[Statement] = [
            self._layout(transposed=False),
            Loop("j", self.kind.units, (Assign(f"t->z{layer}[j]", "0"),), inline=True),
            plan.choice(plan.gemm("CblasNoTrans", self.kind.channels, self.positions, self.entries, flat,
                                  self.entries, "w->cols", self.positions, f"t->z{layer}", self.positions),
                        self._products(f"z = W a + b: rows of the kernels W[{layer}] times the window reads of "
                                       f"a[{layer - 1}]", total.function, self.entries, self.positions,
                                       lambda c: (f"{flat} + (long){c} * {self.entries}", "w->cols",
                                                  f"t->z{layer} + (long){c} * {self.positions}"), row=f.W, column=f.A))]
        if f.b is not None:   # z = Σ + b, printed from the form with its Sum already in z
            z = f.Z[f.out_index]
            value = self.printer.doprint(in_c(f.z.xreplace({total: z})))
            statements.append(free_loops(f.out_index, [Assign(self.printer.doprint(in_c(z)), value)]))
        lanes = plan.lanes([*statements, *plan.statements(plan.activation_blocks[layer])],
                           input_row=layer - 1 == plan.d.input_number)
        return [Block(f"layer {layer} (conv), lane by lane: a[{layer - 1}]'s windows laid out as columns, z[{layer}] "
                      f"by the kernel over the rows of W[{layer}], then a[{layer}]", (lanes,))]

    def gradient(self) -> list[Block]:
        """grad += each lane's ∂ℓ/∂W = δ · colsᵀ (summed per example, then added, as the loop nest does) and ∂ℓ/∂b."""
        plan, layer, f = self.plan, self.layer, self.f
        flat = f"(&grad->W{layer}" + "[0]" * len(self.kind.weight_shape) + ")"
        size = self.kind.channels * self.entries
        statements: list[Statement] = [
            self._layout(transposed=True),
            Loop("j", size, (Assign("w->wsum[j]", "0"),), inline=True),
            plan.choice(plan.gemm("CblasNoTrans", self.kind.channels, self.entries, self.positions, f"t->d{layer}",
                                  self.positions, "w->cols", self.entries, "w->wsum", self.entries),
                        self._products(f"∂W += δ aᵀ: rows of δ[{layer}] times the window reads of a[{layer - 1}]",
                                       f.weight_gradient.function, self.positions, self.entries,
                                       lambda c: (f"t->d{layer} + (long){c} * {self.positions}", "w->cols",
                                                  f"w->wsum + (long){c} * {self.entries}"), row=f.Delta, column=f.A)),
            Loop("j", size, (Assign(f"{flat}[j]", "w->wsum[j]", "+="),), inline=True),
            *plan.accumulate_blocks[layer].statements[1:]]      # ∂ℓ/∂b: the block's loops after ∂W's
        lanes = plan.lanes(statements, input_row=layer - 1 == plan.d.input_number)
        return [Block(f"Σ_i ∂ℓ/∂W[{layer}] += δ[{layer}] · (a[{layer - 1}]'s windows)ᵀ and ∂ℓ/∂b[{layer}], lane by "
                      f"lane, each example's sum added to grad", (lanes,))]

    def _products(self, purpose: str, summand: sp.Expr, depth: int, columns: int, operands,
                  row: sp.IndexedBase, column: sp.IndexedBase) -> list[Statement]:
        """Kernel calls over the C_out rows, ``columns`` in blocks of NAME_COLUMNS then the rest, ``depth`` deep."""
        plan = self.plan
        width = f"{plan.w.prefix}_COLUMNS"
        shape = Shape(str(depth), str(depth), "1", str(columns), str(columns))
        u, v = sp.Symbol("kernel_row"), sp.Symbol("kernel_column")
        first, second = _product(summand, row, column)
        product = summand.xreplace({first: u, second: v})
        whole = f"{columns} - {columns} % {width}"

        def at(start: str):   # the columns from start: M's and S's, not x's (a row's own entries)
            def shifted(c: str) -> tuple[str, str, str]:
                x, m, out = operands(c)
                return x, f"{m} + {start}", f"{out} + {start}"
            return shifted
        blocks = Loop("k", whole, tuple(plan.row_groups(self.kind.channels, purpose, product, u, v, shape, at("k"),
                                                        index="c", width=width)), step=width)
        rest = plan.row_groups(self.kind.channels, purpose, product, u, v, shape, at(f"({whole})"),
                               columns=f"{columns} % {width}", index="c", width=width)
        return [blocks, *rest]
