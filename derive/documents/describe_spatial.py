"""``deltagen derive``'s lines for conv and pool layers: their index forms in general, in the spec's notation.

The forms are those ``derive.derivation.spatial`` builds and ``derive.proof.spatial`` proves; a conv
layer's (c, i, j) index runs over its output shape, 1-D layers drop j.
"""
from __future__ import annotations

import math

from ..derivation.backprop import Derivation
from ..model.layer_kinds import ConvLayer, PoolLayer
from .text import TextPrinter


def _axes(layer: ConvLayer | PoolLayer) -> tuple[str, str, str]:
    """(output index, kernel index, where the input is read) for 1-D or 2-D."""
    two = len(layer.in_shape) == 3
    stride = layer.stride
    padding = layer.padding if isinstance(layer, ConvLayer) else (0,) * len(stride)

    def read(i: str, p: str, s: int, pad: int) -> str:
        return f"{'' if s == 1 else f'{s}·'}{i} + {p}" + (f" − {pad}" if pad else "")

    if two:
        return ("c,i,j", "p,q", f"{read('i', 'p', stride[0], padding[0])}, {read('j', 'q', stride[1], padding[1])}")
    return "c,i", "p", read("i", "p", stride[0], padding[0])


def forward_lines(d: Derivation, p: TextPrinter, layer: int) -> list[str]:
    """z of a conv or pool layer, with its shapes, and a = g(z) (none for pool)."""
    sup, kind = p.sup, d.layer(layer)
    out, taps, read = _axes(kind)
    shape = "×".join(map(str, kind.out_shape))
    if isinstance(kind, ConvLayer):
        bias = f" + b{sup(layer)}_c" if kind.bias else ""
        lines = [f"  z{sup(layer)}_({out}) = Σ_(c′,{taps}) {p.weight_matrix_letter}{sup(layer)}_(c,c′,{taps}) a{sup(layer - 1)}_(c′, {read}){bias}"
                 f"  (conv: kernel {'×'.join(map(str, kind.kernel))}, stride {_pair(kind.stride)}, padding "
                 f"{_pair(kind.padding)}; a padded position reads 0; output {shape})"]
        activation = kind.activation
        name = {"sigmoid": "σ", "leaky_relu": "lrelu"}.get(activation.name, activation.name)
        if activation.name == "identity":
            return lines + [f"  a{sup(layer)} = z{sup(layer)}"]
        return lines + [f"  a{sup(layer)} = {name}(z{sup(layer)}),  {name}(z) = {p.doprint(activation.expr)}"]
    what = "max" if kind.mode == "max" else "mean"
    return [f"  a{sup(layer)}_({out}) = z{sup(layer)}_({out}) = {what} over ({taps}) of a{sup(layer - 1)}_(c, {read})"
            f"  ({kind.mode} pool: window {'×'.join(map(str, kind.size))}, stride {_pair(kind.stride)}; output "
            f"{shape})"]


def _pair(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "(" + ", ".join(map(str, values)) + ")"


def back_sum(d: Derivation, p: TextPrinter, layer: int) -> str:
    """What reaches unit u of layer number ``layer`` from the conv or pool layer above it."""
    above, delta, sup = layer + 1, p.delta_letter, p.sup
    kind = d.layer(above)
    out, taps, read = _axes(kind)
    if isinstance(kind, ConvLayer):
        return (f"Σ_(c,{taps}) {p.weight_matrix_letter}{sup(above)}_(c,c′,{taps}) {delta}{sup(above)}_({out}) over the ({out}) with "
                f"({read}) = u (the correlation of {delta}{sup(above)} with the flipped kernel)")
    if kind.mode == "max":
        return f"{delta}{sup(above)} of each window whose first maximum u is (0 elsewhere)"
    return f"Σ {delta}{sup(above)}/{math.prod(kind.size)} over the windows containing u"


def gradient_lines(d: Derivation, p: TextPrinter, layer: int) -> list[str]:
    """∂ℓ/∂W and ∂ℓ/∂b of a conv layer (none for pool)."""
    kind, delta, sup = d.layer(layer), p.delta_letter, p.sup
    if not isinstance(kind, ConvLayer):
        return []
    out, taps, read = _axes(kind)
    indices = out.split(",", 1)[1]
    line = (f"  ∂ℓ/∂{p.weight_matrix_letter}{sup(layer)}_(c,c′,{taps}) = Σ_({indices}) {delta}{sup(layer)}_({out}) "
            f"a{sup(layer - 1)}_(c′, {read})")
    if kind.bias:
        line += f",  ∂ℓ/∂b{sup(layer)}_c = Σ_({indices}) {delta}{sup(layer)}_({out})"
    return [line]
