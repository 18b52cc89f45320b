"""The template context of a generated C99 header and source, from a ``Derivation``.

Every formula (z, activation, its derivative, output δ, loss, the gradient terms,
the reduction and the update) is a SymPy expression of the derivation, made
stable by ``derive.derivation.stable.stabilize_branched`` and printed by
``CCodePrinter`` into the parts of ``parts.py``; the templates hold the file
layout, the signatures and the loops (``templates/statements.c.jinja``).

Each layer is printed in one of two forms, chosen by size and named in a comment:
*unrolled* (small layers: every unit and weight its own statement, common
subexpressions shared through ``sympy.cse``) or *loops* (a per-unit formula
printed once inside ``for`` loops over fixed sizes); see ``writer.py``.
"""
from __future__ import annotations

from itertools import chain

from deltagen.derive.derivation.backprop import Derivation

from . import parameters
from .backward import hidden_delta_blocks, output_delta_block, training_delta_blocks
from .config import CConfig
from .dropout import dropout_context, training_forward_blocks
from .cost import cost_expr, loss_statements, weight_square_sum, weight_square_summand
from .forward import forward_blocks
from .optimizer import optimizer_context
from . import spatial
from .tiles import TilePlan
from .parts import OTHER, UNIT, Block
from .printer import used_math_functions
from .writer import CWriter


#: a dense weight's entry in the ‖W‖² loop
UNIT_SLOT = f"[{UNIT}][{OTHER}]"


class CModule:
    """The parts of one generated C header and source, for the templates."""

    def __init__(self, derivation: Derivation, config: CConfig = CConfig()) -> None:
        self.writer = CWriter(derivation, config)
        self.net = derivation.network

    def _description(self) -> dict:
        """The network as the header's comments and macros describe it."""
        w, net, d = self.writer, self.net, self.writer.d
        layers, trace_fields, trace_reals = [], [], 0
        for number in d.layer_numbers:
            layer = d.layer(number)
            spatial_layer = layer.kind != "dense"
            layers.append({"number": number, "units": layer.units, "activation": layer.activation.name,
                           "bias": layer.bias, "form": w.form(number),
                           "geometry": spatial.geometry(layer) if spatial_layer else None,
                           "pool": layer.kind == "pool"})
            if spatial_layer:   # flat z, a, δ (and a max pool's mask M)
                fields, reals = spatial.trace_fields(w, number)
            else:
                fields = f"z{number}[{layer.units}], a{number}[{layer.units}], d{number}[{layer.units}]"
                reals = (5 if layer.dropout else 3) * layer.units
            if layer.dropout:   # training: the mask and the kept activations ã
                fields += f", D{number}[{layer.units}], h{number}[{layer.units}]"
            trace_fields.append(fields)
            trace_reals += reals
        return {
            "name": net.name, "guard": f"{net.name.upper()}_H", "upper": net.name.upper(),
            "sizes": list(net.sizes), "n_in": net.sizes[0], "n_out": net.sizes[-1], "n_params": net.n_params,
            "layers": layers, "input_number": d.input_number, "output_number": d.last,
            "loss": net.loss.name, "loss_formula": net.loss.formula,
            "targets_sum_to_one": net.loss.targets_sum_to_one, "reduction": net.reduction,
            "l2": repr(float(net.l2)), "has_l2": bool(net.l2),
            "trace_fields": trace_fields,
            # the reals of one NAME_trace: what forward, cost and gradients keep on the stack (the header says so)
            "trace_reals": trace_reals,
            "input_shape": list(net.input_shape) if net.has_spatial_layers else None,
        }

    def context(self) -> dict:
        """Everything the templates read; the blocks are built in file order, which numbers the temporaries."""
        w = self.writer
        forward = forward_blocks(w)
        delta_out = output_delta_block(w)
        hidden = hidden_delta_blocks(w)
        accumulate = parameters.accumulate_blocks(w)
        scale = parameters.scale_blocks(w)
        update = parameters.update_blocks(w)
        scaled_update = parameters.scaled_update_blocks(w)
        fused = parameters.fused_steps(w)
        loss = loss_statements(w)
        cost = cost_expr(w)
        params = parameters.params(w)
        weights = {p.name: p for p in params if not p.is_bias}   # one per layer with parameters
        optimizer = optimizer_context(self.net, w.prefix)
        training = self.net.has_dropout
        forward_training = training_forward_blocks(w) if training else []
        delta_training = training_delta_blocks(w) if training else []
        accumulate_training = parameters.accumulate_blocks(w, training=True) if training else []
        blocks: list[Block] = [*forward, delta_out, *(b for _, b in hidden), *accumulate, *scale, *update,
                               *scaled_update,
                               *(step.block for step in fused), Block("loss", tuple(loss)),
                               Block("update", tuple(optimizer["update_entry_statements"])),
                               Block("update, once per step", tuple(optimizer["step_terms"])),
                               *forward_training, *(b for _, b in delta_training), *accumulate_training]
        tiles = TilePlan(w, forward, hidden, accumulate)
        tile_blocks = tiles.blocks() if tiles.any else []
        blocks += tile_blocks
        printed = "\n".join(chain.from_iterable(block.texts() for block in blocks)) + cost
        description = self._description()
        return {
            **description,
            **optimizer,
            "params": params,
            **parameters.init_context(w),
            "weight_square_sums": [(weight_square_sum(layer).name, weights[f"W{layer}"],
                                    weight_square_summand(w, layer, weights[f"W{layer}"].slot or UNIT_SLOT)
                                    if w.net.l2 else None)   # no ‖W‖² without L2
                                   for layer in w.d.layer_numbers if f"W{layer}" in weights],
            "math_functions": used_math_functions(printed, w.prefix),
            "forward_blocks": forward,
            "output_delta_block": delta_out,
            "hidden_delta_functions": hidden,
            "accumulate_blocks": accumulate,
            "scale_blocks": scale,
            "update_blocks": update,
            "scaled_update_blocks": scaled_update,
            "fused_steps": fused,
            "loss_statements": loss,
            "loss_uses_y": _reads_target(Block("loss", tuple(loss))),
            "delta_uses_y": _reads_target(delta_out),
            "cost_expr": cost,
            **dropout_context(w),
            "training_forward_blocks": forward_training,
            "training_delta_functions": delta_training,
            "training_accumulate_blocks": accumulate_training,
            **self._tile_context(tiles, tile_blocks, description["trace_reals"]),
        }

    def _tile_context(self, tiles: TilePlan, blocks: list[Block], trace_reals: int) -> dict:
        """The kernels, NAME_tiles' statements and the buffers of NAME_tile (none when no layer is tiled)."""
        sizes = tiles.buffer_sizes()
        grad_reals = self.net.n_params
        per_lane = trace_reals + sizes["in"] + sizes["out"] + sizes["rows"]
        lanes = tile_lanes(per_lane)
        shared = sizes["cols"] + sizes["wsum"]     # a conv layer's buffers serve one lane at a time
        workspace = {real: (grad_reals + trace_reals
                            + (lanes[real] * per_lane + shared if tiles.any else 0)) * BYTES[real] for real in BYTES}
        return {"tiled": tiles.any, "tiled_numbers": tiles.numbers, "kernels": list(tiles.kernels.values()),
                "tile_blocks": blocks, "tile_zero_blocks": tiles.zero_blocks(),
                "tiled_weights": [f"W{layer}" for layer in tiles.layers], "tile_sizes": sizes, "tile_lanes": lanes, "workspace_bytes": workspace}


#: the examples of a tile, per NAME_real (the fastest measured on AVX-512 with gcc -O3, benchmarks/blas_step.py)
TILE_LANES = {"double": 32, "float": 32, "cblas": 128, "columns_double": 32, "columns_float": 64}
BYTES = {"double": 8, "float": 4}
#: a tile's buffers stay within this (sgd_step keeps them on its stack): a conv net's traces are large
TILE_BUDGET_BYTES = 1 << 20


def tile_lanes(reals_per_lane: int) -> dict[str, int]:
    """TILE_LANES, fewer lanes (a multiple of 4, at least 4) when that many lanes of double exceed the budget."""
    fitting = max(4, TILE_BUDGET_BYTES // (8 * reals_per_lane) // 4 * 4)
    return {kind: lanes if kind.startswith("columns") else min(lanes, fitting) for kind, lanes in TILE_LANES.items()}


def _reads_target(block: Block) -> bool:
    """Whether the block reads the example's target ``y`` (else the template marks ``y`` unused)."""
    return any("y[" in text for text in block.texts())
