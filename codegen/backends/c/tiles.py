"""A batch in tiles of NAME_TILE examples: the matrix products of a tile through register-blocked kernels.

A dense layer in loop form is *tiled*: for a whole tile, its z (W a + b), the sum Wᵀδ it sends down and
its ∂W (δ aᵀ summed over the examples) are three matrix products, each run by a kernel that keeps
rows × NAME_TILE partial results in local arrays and reads each weight once per tile, not once per
example. Every partial result is still one serial sum in the order the one-example code adds it (b,
then k = 0, 1, ...; 0, then j = 0, 1, ...; ∂W over the examples in batch order), so a tiled step gives
the same bits as the example-by-example step, at any optimisation level (no reassociation, and C99
forbids contracting a·b + c into an fma). Everything else (activations, output δ, g′, pool layers, the
δ a conv layer sends down, unrolled small layers) runs per example on the lane's trace, with the blocks printed from the
derivation as in the one-example functions. A conv layer runs its z and ∂W through the kernels one
lane at a time (``tile_conv.py``).

Each kernel's statement is printed from the derivation's product (W_jk a_k, W_jk δ_j, ∂ℓ/∂W_jk);
the layouts of a tile (``w->in``, ``w->out`` with one row of NAME_TILE lanes per unit, ``w->rows``
with one row per example) are structure.
"""
from __future__ import annotations

import sympy as sp

from . import parameters
from .kernels import COUNT, FIRST, LANE, ROWS, Kernel, Shape
from .loopnest import ArrayPrinter, CArray
from .names import activation_array
from .parts import Assign, Block, Call, IfDefined, Loop, Note, Pointer, Statement
from .tile_conv import ConvTiles, tileable
from .writer import CWriter


def tiled(w: CWriter, layer: int) -> bool:
    """Whether layer number ``layer`` runs its products through the kernels: a dense layer in loop form whose
    z term and ∂W entry are the products W_jk a_k and δ_j a_k the kernels compute."""
    if w.d.layer(layer).kind != "dense" or w.unrolled(layer):
        return False
    s = w.d.symbols(layer)
    below = w.d.activations_of(layer - 1)
    return sp.expand(w.d.grad_W_entry(layer, 0, 0) - s.delta[0] * below[0]) == 0


def tiled_layers(w: CWriter) -> list[int]:
    return [layer for layer in w.d.layer_numbers if tiled(w, layer)]


class TilePlan:
    """The kernels and the statements of ``NAME_tiles`` (one tile's forward, δ and gradient) for one net."""

    def __init__(self, w: CWriter, forward_blocks: list[Block], delta_blocks: list[tuple[int, Block]],
                 accumulate_blocks: list[Block]) -> None:
        """The one-example blocks (``forward_blocks``: z then a of each layer; the hidden δ blocks; the gradient
        terms of each layer with parameters) run per lane as they are: the same printed statements, so the
        same order of every sum (a sum's printed order follows its temporaries' names)."""
        self.w, self.d = w, w.d
        self.tile = f"{w.prefix}_TILE"
        self.kernels: dict[tuple, Kernel] = {}
        self.layers = tiled_layers(w)
        numbers = list(w.d.layer_numbers)
        self.z_blocks = dict(zip(numbers, forward_blocks[0::2]))
        self.activation_blocks = dict(zip(numbers, forward_blocks[1::2]))
        self.delta_blocks = dict(delta_blocks)
        self.accumulate_blocks = dict(zip([n for n in numbers if w.d.layer(n).kind != "pool"], accumulate_blocks))
        self.conv = {layer: ConvTiles(self, layer) for layer in numbers if tileable(self, layer)}

    @property
    def any(self) -> bool:
        """Whether the net has a layer whose products a tile runs through the kernels."""
        return bool(self.layers or self.conv)

    @property
    def numbers(self) -> list[int]:
        """The layers whose products run through the kernels, in order."""
        return sorted([*self.layers, *self.conv])

    def array_printer(self, arrays: dict[str, CArray]) -> ArrayPrinter:
        return ArrayPrinter(self.w.prefix, arrays)

    # ------------------------------------------------------------ buffers
    def buffer_sizes(self) -> dict[str, int]:
        """Units per lane of ``in`` (a tile's columns read), ``out`` (written) and ``rows`` (a tile's rows of a
        hidden layer, 0 when no tiled layer reads one)."""
        d, sizes = self.d, {"in": 1, "out": 1, "rows": 0, "cols": 0, "wsum": 0}
        for conv in self.conv.values():   # one lane's window reads, and its ∂W before it is added to grad
            sizes["cols"] = max(sizes["cols"], conv.entries * conv.positions)
            sizes["wsum"] = max(sizes["wsum"], conv.kind.channels * conv.entries)
        for layer in self.layers:
            n, n_prev = d.width(layer), d.width(layer - 1)
            sizes["in"] = max(sizes["in"], n_prev, n)        # a[l−1] forward; δ[l] down and into ∂W
            sizes["out"] = max(sizes["out"], n)               # z[l]
            if layer - 1 != d.input_number:
                sizes["out"] = max(sizes["out"], n_prev)      # W[l]ᵀ δ[l]
                sizes["rows"] = max(sizes["rows"], n_prev)    # a[l−1] for ∂W[l]
        return sizes

    # ------------------------------------------------------------ kernels
    def _kernel(self, purpose: str, product: sp.Expr, row: sp.Symbol, column: sp.Symbol, rows: int,
                columns: str, capacity: str, shape: Shape) -> str:
        """The name of the kernel whose row r adds ``product`` with ``row`` as x_r[q] and ``column`` as M[q][c]."""
        terms = tuple(self.w.printed(product, {row: f"u{r}", column: "mq[c]"}) for r in range(rows))
        key = (terms, rows, columns, capacity, shape)
        if key not in self.kernels:
            name = f"product{len(self.kernels)}"
            self.kernels[key] = Kernel(name, rows, columns, capacity, shape, terms, purpose)
        return self.kernels[key].name

    def row_groups(self, units: int, purpose: str, product: sp.Expr, row: sp.Symbol, column: sp.Symbol,
                    shape: Shape, operands, columns: str | None = None, index: str = "j",
                    width: str | None = None) -> list[Statement]:
        """Kernel calls over ``units`` rows, ROWS at a time, then one at a time: ``operands(index)`` is the call's
        (x, M, S) for the rows from ``index``; then the tile's example count and ``columns`` if not constants.
        ``width``: the columns of a full kernel (NAME_TILE unless given)."""
        width = width or self.tile
        statements: list[Statement] = []
        grouped = units - units % ROWS
        for rows, first, last in ((ROWS, 0, grouped), (1, grouped, units)):
            if last > first:
                name = self._kernel(purpose, product, row, column, rows, "cols" if columns else width, width, shape)
                extra = (((COUNT,) if shape.depth == COUNT else ()) + ((columns,) if columns else ())
                         + ((f"{FIRST} == 0",) if shape.fresh else ()))
                statements.append(Loop(index, last, (Call(name, (*operands(index), *extra)),),
                                       start=first, step=rows))
        return statements

    def gemm(self, transpose: str, rows: int, columns, depth, a: str, lda, b: str, ldb, c: str, ldc,
              start: str = "1") -> Call:
        """C = start·C + op(A) B through cblas (``-DNAME_USE_CBLAS``), row-major: the product the kernels compute,
        with BLAS's order of the sums (the numbers move by rounding only)."""
        return Call("gemm", ("CblasRowMajor", transpose, "CblasNoTrans", str(rows), str(columns), str(depth), "1", a,
                             str(lda), b, str(ldb), start, c, str(ldc)))

    def choice(self, gemm: Call, kernels: list[Statement]) -> IfDefined:
        return IfDefined(f"{self.w.prefix}_USE_CBLAS", (gemm,), tuple(kernels))

    # --------------------------------------------------------- lane parts
    def lanes(self, body: list[Statement], note: str | None = None, input_row: bool = False,
               target_row: bool = False) -> Loop:
        """``for each lane i``: t is its trace (a0 its input row, y its target row) and ``body`` runs on it."""
        name = self.w.prefix
        head: list[Statement] = [Pointer("t", f"&w->lane[{LANE}]", "trace")]
        if input_row:
            head.append(Pointer("a0", f"X + (long)({FIRST} + {LANE}) * {name}_N_IN", "real", constant=True))
        if target_row:
            head.append(Pointer("y", f"Y + (long)({FIRST} + {LANE}) * {name}_N_OUT", "real", constant=True))
        return Loop(LANE, COUNT, tuple(head + ([Note(note)] if note else []) + body))

    @staticmethod
    def statements(block: Block) -> list[Statement]:
        return [Note(block.comment), *block.statements]

    def _source(self, layer: int, unit: str) -> str:
        """Lane i's entry ``unit`` of a[layer] (the input row of X for the input)."""
        if layer == self.d.input_number:
            return f"X[(long)({FIRST} + {LANE}) * {self.w.prefix}_N_IN + {unit}]"
        return f"w->lane[{LANE}].{activation_array(self.d, layer)[3:]}[{unit}]"

    def _pack_columns(self, units: int, source) -> tuple[Loop, Loop]:
        """w->in[k][i] = lane i's entry k: one row of the tile's lanes per unit; 0 in the lanes past the last
        example (a last tile that is not full), whose results are never read."""
        slot = f"w->in[(long)k * {self.tile} + {LANE}]"
        copy = Assign(slot, source("k"))
        zero = Loop(LANE, self.tile, (Loop("k", units, (Assign(slot, "0"),), inline=True),), start=COUNT)
        return (Loop(LANE, COUNT, (Loop("k", units, (copy,), inline=True),)),
                IfDefined(f"{self.w.prefix}_USE_CBLAS", (), (zero,)))   # cblas multiplies the count lanes only

    def _unpack(self, units: int, array: str) -> Loop:
        """Lane i's ``array``[j] = w->out[j][i]."""
        copy = Assign(f"w->lane[{LANE}].{array}[j]", f"w->out[(long)j * {self.tile} + {LANE}]")
        return Loop(LANE, COUNT, (Loop("j", units, (copy,), inline=True),))

    def _start_out(self, units: int, value: str) -> Loop:
        """w->out[j][i] = the sum's first term, for every lane."""
        return Loop("j", units, (Loop(LANE, self.tile, (Assign(f"w->out[(long)j * {self.tile} + {LANE}]", value),),
                                      inline=True),))

    # -------------------------------------------------------------- steps
    def forward(self, layer: int) -> list[Block]:
        """z then a of layer number ``layer`` for every lane of the tile."""
        w, d = self.w, self.d
        if layer in self.conv:
            return self.conv[layer].forward()
        if layer not in self.layers:
            body = self.statements(self.z_blocks[layer]) + self.statements(self.activation_blocks[layer])
            reads_input = layer - 1 == d.input_number
            return [Block(f"layer {layer}, one example at a time", (self.lanes(body, input_row=reads_input),))]
        s, below = d.symbols(layer), d.activations_of(layer - 1)
        n, n_prev = d.width(layer), d.width(layer - 1)
        start = w.printed(s.b[0], {s.b[0]: f"p->b{layer}[j]"}) if s.b else "0"
        shape = Shape(str(n_prev), str(n_prev), "1", self.tile, self.tile)
        calls = self.row_groups(
            n, f"z = W a + b: rows of W[{layer}] times a[{layer - 1}] of the tile", s.W[0, 0] * below[0], s.W[0, 0],
            below[0], shape, lambda j: (f"&p->W{layer}[{j}][0]", "w->in", f"w->out + (long){j} * {self.tile}"))
        gemm = self.gemm("CblasNoTrans", n, COUNT, n_prev, f"&p->W{layer}[0][0]", n_prev, "w->in", self.tile,
                          "w->out", self.tile)
        products = [*self._pack_columns(n_prev, lambda k: self._source(layer - 1, k)),
                    self._start_out(n, start), self.choice(gemm, calls), self._unpack(n, f"z{layer}")]
        activation = self.lanes(self.statements(self.activation_blocks[layer]))
        return [Block(f"z[{layer}] = W[{layer}] a[{layer - 1}]" + (f" + b[{layer}]" if s.b else "")
                      + f" for the tile: a[{layer - 1}] as columns, the kernel over rows of W[{layer}]",
                      tuple(products)),
                Block(f"a[{layer}] = g(z[{layer}]), lane by lane", (activation,))]

    def output_delta(self) -> Block:
        body = [Call("output_delta", ("t", "y"))]
        return Block(f"δ[{self.d.last}] of every lane", (self.lanes(body, target_row=True),))

    def hidden_delta(self, layer: int) -> list[Block]:
        """δ of hidden layer number ``layer`` for every lane: W[l+1]ᵀ δ[l+1] by the kernel when layer l + 1 is tiled."""
        d = self.d
        above = layer + 1
        if above not in self.layers:
            return [Block(f"δ[{layer}], one example at a time", (self.lanes([Call(f"delta{layer}", ("p", "t"))]),))]
        s_above = d.symbols(above)
        n, n_above = d.width(layer), d.width(above)
        shape = Shape(str(n_above), "1", str(n), self.tile, self.tile)
        calls = self.row_groups(
            n, f"Wᵀδ: columns of W[{above}] times δ[{above}] of the tile", s_above.W[0, 0] * s_above.delta[0],
            s_above.W[0, 0], s_above.delta[0], shape,
            lambda k: (f"&p->W{above}[0][{k}]", "w->in", f"w->out + (long){k} * {self.tile}"), index="k")
        gemm = self.gemm("CblasTrans", n, COUNT, n_above, f"&p->W{above}[0][0]", n, "w->in", self.tile,
                          "w->out", self.tile)
        products = [*self._pack_columns(n_above, lambda k: f"w->lane[{LANE}].d{above}[{k}]"),
                    self._start_out(n, "0"), self.choice(gemm, calls), self._unpack(n, f"d{layer}")]
        derivative = self.lanes([self.delta_blocks[layer].statements[-1]])   # g′ ⊙ the sum, after the sum
        return [Block(f"W[{above}]ᵀ δ[{above}] for the tile: δ[{above}] as columns, the kernel over columns of "
                      f"W[{above}]", tuple(products)),
                Block(f"δ[{layer}] = g'(z[{layer}]) ⊙ W[{above}]ᵀ δ[{above}], lane by lane", (derivative,))]

    def gradient(self, layer: int) -> list[Block]:
        """grad += the tile's ∂ℓ/∂W[l] (kernel) and ∂ℓ/∂b[l] (lane by lane, in batch order)."""
        w, d = self.w, self.d
        if layer in self.conv:
            return self.conv[layer].gradient()
        if layer not in self.layers:
            block = self.accumulate_blocks[layer]
            return [Block(f"{block.comment}, one example at a time",
                          (self.lanes(list(block.statements), input_row=layer - 1 == d.input_number),))]
        s, below = d.symbols(layer), d.activations_of(layer - 1)
        n, n_prev = d.width(layer), d.width(layer - 1)
        if layer - 1 == d.input_number:   # the tile's input rows, as X holds them
            rows, step, packing = f"X + (long){FIRST} * {n_prev}", str(n_prev), []
        else:
            copy = Assign(f"w->rows[(long){LANE} * {n_prev} + k]", self._source(layer - 1, "k"))
            rows, step = "w->rows", str(n_prev)
            packing = [Loop(LANE, COUNT, (Loop("k", n_prev, (copy,), inline=True),))]
        product = d.grad_W_entry(layer, 0, 0)
        width = f"{w.prefix}_COLUMNS"
        whole = f"{n_prev} - {n_prev} % {width}"    # the columns in blocks of NAME_COLUMNS
        shape = Shape(COUNT, self.tile, "1", step, str(n_prev), fresh=True)
        purpose = f"∂W += δ aᵀ: δ of the tile's examples times their rows of a, rows of ∂W[{layer}]"

        def operands(first: str):
            return lambda j: (f"w->in + (long){j} * {self.tile}", f"{rows} + {first}", f"&grad->W{layer}[{j}][{first}]")
        blocks_of_columns = Loop("k", whole, tuple(self.row_groups(
            n, purpose, product, s.delta[0], below[0], shape, operands("k"), width=width)), step=width)
        last_columns = self.row_groups(n, purpose, product, s.delta[0], below[0], shape, operands(f"({whole})"),
                                        columns=f"{n_prev} % {width}", width=width)
        blocks = [Block(f"Σ_i ∂ℓ/∂W[{layer}] += δ[{layer}] a[{layer - 1}]ᵀ over the tile's examples in order: "
                        f"δ[{layer}] as columns, a[{layer - 1}] as rows, the kernel over rows of ∂W[{layer}] "
                        f"({width} columns at a time, then the rest)",
                        (*self._pack_columns(n, lambda k: f"w->lane[{LANE}].d{layer}[{k}]"), *packing,
                         self.choice(self.gemm("CblasNoTrans", n, n_prev, COUNT, "w->in", self.tile, rows, step,
                                                 f"&grad->W{layer}[0][0]", n_prev, start=f"{FIRST} == 0 ? 0 : 1"),
                                      [blocks_of_columns, *last_columns])))]
        bias = parameters.bias_accumulate_loop(w, layer)
        if bias is not None:
            blocks.append(Block(f"Σ_i ∂ℓ/∂b[{layer}] += δ[{layer}], lane by lane", (self.lanes([bias]),)))
        return blocks

    def blocks(self) -> list[Block]:
        """One tile's statements: forward, output δ, hidden δ from the top down, then every layer's gradient."""
        d = self.d
        steps: list[Block] = []
        for layer in d.layer_numbers:
            steps += self.forward(layer)
        steps.append(self.output_delta())
        for layer in reversed(d.layer_numbers[:-1]):
            steps += self.hidden_delta(layer)
        for layer in d.layer_numbers:
            if d.layer(layer).kind != "pool":
                steps += self.gradient(layer)
        return steps

    def zero_blocks(self) -> list[Block]:
        """grad->W[l] = 0 for each tiled layer: what the first tile would have started from, when no tile runs."""
        blocks = []
        for layer in self.layers:
            n, n_prev = self.d.width(layer), self.d.width(layer - 1)
            zero = Loop("k", n_prev, (Assign(f"grad->W{layer}[j][k]", "0"),), inline=True)
            blocks.append(Block(f"no tile ran: ∂W[{layer}] = 0", (Loop("j", n, (zero,)),)))
        return blocks
