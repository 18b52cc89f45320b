"""The forward pass of conv and pool layers, printed from ``derive.derivation.tensor_forms``.

One example's z, a and δ of a conv or pool layer are flat arrays of the trace in C order (channel, then
each spatial axis), as DESIGN.md flattens them, so a dense layer above reads them like any layer's;
a max-pool layer also keeps M, the 0/1 mask of each window's first maximum (tensor_forms' ``M{l}``),
which its backward pass fills. The parameters keep their axes: ``W1[C_out][C_in][kH][kW]``, ``b1[C_out]``.
The loops come from the forms' indices and the guards from their index expressions (``loopnest``).
"""
from __future__ import annotations

import math

import sympy as sp

from deltagen.derive.derivation.tensor_forms import conv_forms, pool_forms
from deltagen.derive.model.layer_kinds import ConvLayer, PoolLayer

from .loopnest import INDEX_NAMES, ArrayPrinter, CArray, form_statements, free_loops
from .names import activation_array
from .parts import Block, CParam
from .writer import CWriter


def arrays(w: CWriter) -> dict[str, CArray]:
    """The C lvalue of every tensor_forms array name of the net (and of the gradient targets ``gradW{l}``)."""
    d = w.d
    out = {f"A{d.input_number}": CArray(activation_array(d, d.input_number))}
    for n in d.layer_numbers:
        out.update({f"A{n}": CArray(f"t->a{n}"), f"Z{n}": CArray(f"t->z{n}"), f"Delta{n}": CArray(f"t->d{n}"),
                    f"M{n}": CArray(f"t->M{n}"), f"W{n}": CArray(f"p->W{n}", True), f"b{n}": CArray(f"p->b{n}", True),
                    f"gradW{n}": CArray(f"grad->W{n}", True), f"gradb{n}": CArray(f"grad->b{n}", True)})
    return out


def printer(w: CWriter) -> ArrayPrinter:
    return ArrayPrinter(w.prefix, arrays(w))


def show(expr: sp.Expr) -> str:
    """An index expression for a comment, with the lectures' c′ (a comment never holds a terminator)."""
    return str(expr).replace("c'", "c′").replace("*", "·")


def geometry(layer: ConvLayer | PoolLayer) -> str:
    """The layer's settings and shapes, as the header and the block comments state them."""
    times = "×".join
    if layer.kind == "conv":
        settings = (f"conv, {layer.channels} channels, kernel {times(map(str, layer.kernel))}, "
                    f"stride {times(map(str, layer.stride))}, padding {times(map(str, layer.padding))}")
    else:
        settings = f"{layer.mode} pool, window {times(map(str, layer.size))}, stride {times(map(str, layer.stride))}"
    return f"{settings}: {layer.in_shape} -> {layer.out_shape}"


def z_block(w: CWriter, layer: int) -> Block:
    """z of conv or pool layer number ``layer``: one loop nest over the output positions."""
    kind = w.d.layer(layer)
    if kind.kind == "conv":
        f = conv_forms(kind, layer)
        (read,) = [r for r in f.z.atoms(sp.Indexed) if r.base == f.A]
        spots = ", ".join(show(i) for i in read.indices)
        bias = f" + b[{layer}][c]" if f.b is not None else ""
        shown = (f"z[{layer}][{', '.join(map(show, f.out_index))}] = Σ_{{{', '.join(map(show, f.weight_index[1:]))}}} "
                 f"W[{layer}][{', '.join(map(show, f.weight_index))}] a[{layer - 1}][{spots}]{bias}")
        padded = "; a read in the padding is 0" if any(kind.padding) else ""
        comment = f"{shown} ({geometry(kind)}{padded}; {w.form(layer)})"
    else:
        f = pool_forms(kind, layer)
        shown = "the max" if kind.mode == "max" else "the mean"
        comment = f"z[{layer}] = {shown} of each window of a[{layer - 1}] ({geometry(kind)}; {w.form(layer)})"
    statements = form_statements(printer(w), f.Z[f.out_index], f.z, f.out_index)
    return Block(comment, (free_loops(f.out_index, statements),))


def trace_fields(w: CWriter, layer: int) -> tuple[str, int]:
    """The trace arrays of a conv or pool layer (z, a, δ flat; a max pool's mask M) and their reals."""
    kind = w.d.layer(layer)
    fields = f"z{layer}[{kind.units}], a{layer}[{kind.units}], d{layer}[{kind.units}]"
    reals = 3 * kind.units
    if kind.kind == "pool" and kind.mode == "max":
        mask = kind.units * math.prod(kind.size)
        fields, reals = f"{fields}, M{layer}[{mask}]", reals + mask
    return fields, reals


def conv_params(w: CWriter, layer: int) -> list[CParam]:
    """W (C_out, C_in, kH, kW) and b (C_out) of a conv layer; fan_in = C_in·kH·kW, fan_out = C_out·kH·kW."""
    kind = w.d.layer(layer)
    taps = math.prod(kind.kernel)
    indices = ("c", "ci") + tuple(INDEX_NAMES[t] for t in ("p", "q")[:len(kind.kernel)])
    r = w.net.init.as_float(fan_in=kind.in_shape[0] * taps, fan_out=kind.channels * taps)
    out = [CParam(f"W{layer}", kind.channels, math.prod(kind.weight_shape[1:]), False, repr(r),
                  kind.weight_shape, indices)]
    if kind.bias:
        out.append(CParam(f"b{layer}", kind.channels, 0, True, "0"))
    return out
