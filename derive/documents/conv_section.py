"""The derivation document's parts for conv and pool layers (issue 15), called by ``assembly`` layer by layer.

Every formula is a ``tensor_forms`` form printed by ``SpatialPrinter`` (``spatial_latex``): the forward
pass in index form with the padding convention, what each layer sends down (the strided form, and for
stride 1 the full correlation with the flipped kernel; the first maximum's indicator of max pooling; the
share of average pooling; a dense layer's vector reshaped), δ = g′(z) ⊙ that, and the kernel and bias
gradients for one example and for a batch. Each conv or pool layer gets a TikZ drawing of its window.
"""
from __future__ import annotations

import math

import sympy as sp

from ..model.layer_kinds import ConvLayer, PoolLayer
from .document import LatexDocument
from .numerals import format_input
from .spatial_latex import SpatialLatex
from .derivation_spatial_words import spatial_words
from .tikz_conv import Window, tikz_blocks, tikz_window


def _times(values: tuple[int, ...]) -> str:
    return "$" + r" \times ".join(map(str, values)) + "$"


def _setting(values: tuple[int, ...]) -> str:
    """A stride or padding: one number when every axis has it, else the tuple."""
    return f"${values[0]}$" if len(set(values)) == 1 else "$(" + ", ".join(map(str, values)) + ")$"


def _words(eq: SpatialLatex) -> dict[str, str]:
    return spatial_words(eq.lang)


def _position(layer: ConvLayer | PoolLayer) -> str:
    return "$(i, j)$" if len(layer.in_shape) == 3 else "$i$"


# ------------------------------------------------------------------ the network

def network(doc: LatexDocument, eq: SpatialLatex, w: dict[str, str]) -> None:
    """The layers with their shapes, the loss and cost, how arrays are indexed, and the network's drawing."""
    d, n, net, sw = eq.d, eq.n, eq.net, _words(eq)
    doc.section(w["network"])
    items = []
    for layer in d.layer_numbers:
        kind = d.layer(layer)
        bias = w["with_bias"] if kind.bias else w["without_bias"]
        if isinstance(kind, ConvLayer):
            items.append(sw["conv_item"].format(number=layer, channels=kind.channels, kernel=_times(kind.kernel),
                                                stride=_setting(kind.stride), padding=_setting(kind.padding),
                                                activation=doc.code(kind.activation.name), bias=bias,
                                                shape=_times(kind.out_shape)))
        elif isinstance(kind, PoolLayer):
            items.append(sw["pool_item"].format(number=layer, mode=sw["mode_" + kind.mode], size=_times(kind.size),
                                                stride=_setting(kind.stride), shape=_times(kind.out_shape)))
        else:
            items.append(sw["dense_item"].format(number=layer, units=kind.units, bias=bias,
                                                 activation=doc.code(kind.activation.name)))
    l2 = w["l2_term"].format(l2=f"${sp.latex(d.l2)} = {format_input(net.l2, eq.lang)}$") if net.l2 else w["no_l2"]
    doc.paragraph(sw["summary"].format(shape=_times(net.input_shape), units=net.n_in, layers="; ".join(items),
                                       loss=doc.code(net.loss.name), reduction=w["reduction_" + net.reduction], l2=l2))
    doc.paragraph(w["notation_layers"].format(a0=f"${n.scalar('a', d.input_number)} = x$", first=d.input_number,
                                              L=d.last))
    doc.paragraph(sw["arrays"].format(W=f"${n.matrix(n.weight_matrix_letter, 'l')}$", b=f"${n.matrix('b', 'l')}$"))
    dense = [layer for layer in d.layer_numbers if not eq.is_spatial(layer)]
    key = "dense_transposed" if n.transposed else "dense_standard"
    z = eq.forward_matrix(dense[0])[0].replace("&", "")
    doc.paragraph(sw[key].format(z=f"${z}$", W=f"${n.matrix(n.weight_matrix_letter, dense[0])}$",
                                 entry=f"${n.weight_entry(dense[0], 'j', 'k')}$"))
    boxes = [(w["input_layer"].format(number=d.input_number), _times(net.input_shape))]
    for layer in d.layer_numbers:
        kind = d.layer(layer)
        shape = kind.out_shape if eq.is_spatial(layer) else (kind.units,)
        if isinstance(kind, PoolLayer):
            boxes.append((f"{layer}: pool ({sw['mode_' + kind.mode]})", _times(shape)))
        else:
            boxes.append((f"{layer}: {kind.kind}, {doc.code(kind.activation.name)}", _times(shape)))
    doc.figure(tikz_blocks(boxes), sw["blocks_caption"])


# ------------------------------------------------------------------ forward

def forward(doc: LatexDocument, eq: SpatialLatex, layer: int) -> None:
    """A conv or pool layer's z and a for one example, and the drawing of its window."""
    d, n, sw = eq.d, eq.n, _words(eq)
    kind = d.layer(layer)
    if isinstance(kind, ConvLayer):
        padded = sw["padding_2d" if len(kind.in_shape) == 3 else "padding_1d"] if any(kind.padding) else sw["no_padding"]
        doc.paragraph(sw["conv_forward"].format(kernel=_times(kind.kernel), stride=_setting(kind.stride),
                                                padding=padded.format(padding=_setting(kind.padding)),
                                                position=_position(kind)))
        padding, window_size = kind.padding, kind.kernel
    else:
        doc.paragraph(sw["pool_" + kind.mode].format(size=_times(kind.size), stride=_setting(kind.stride)))
        padding, window_size = (0,) * len(kind.size), kind.size
    doc.equations(eq.spatial_forward(layer))
    if layer == min(lay for lay in d.layer_numbers if eq.is_spatial(lay)):
        doc.paragraph(sw["batch_note"])
    window = Window.of(kind.in_shape, padding, window_size, kind.stride, kind.out_shape)
    source = "x" if layer - 1 == d.input_number else n.scalar("a", layer - 1)
    channel = "c" if kind.kind == "pool" else "c'"     # a pool window stays in its channel
    picture = tikz_window(window, f"{source}_{{{channel}}}", n.scalar("z", layer, "c"))
    moves = window.positions()
    one = len(kind.in_shape) == 2

    def where(move: tuple[int, int]) -> str:
        return f"${move[1]}$" if one else f"$({move[0]}, {move[1]})$"

    prefix = "conv" if kind.kind == "conv" else "pool"
    if len(moves) > 1:
        axis = 1 if moves[1][1] else 0
        caption = sw[f"{prefix}_figure"].format(number=layer, first=where(moves[0]), second=where(moves[1]),
                                               stride=f"${window.stride[axis]}$")
    else:
        caption = sw[f"{prefix}_figure_one"].format(number=layer, first=where(moves[0]))
    doc.figure(picture, caption)


def flatten(doc: LatexDocument, eq: SpatialLatex, layer: int) -> None:
    """How dense layer ``layer`` reads the conv or pool layer below it: flattened in C order."""
    sw = _words(eq)
    below = eq.d.layer(layer - 1)
    A = eq.tex(eq.d.matrix(layer).A_prev)
    doc.paragraph(sw["flatten"].format(number=layer, previous=layer - 1, shape=_times(below.out_shape),
                                       flat=f"${eq.flatten(layer)}$", A=f"${A}$"))


# ------------------------------------------------------------------ backward

def _sent_down(doc: LatexDocument, eq: SpatialLatex, layer: int) -> tuple:
    """The paragraphs and equations of what layer ``layer + 1`` sends down to layer ``layer``; its index."""
    d, n, sw = eq.d, eq.n, _words(eq)
    above = layer + 1
    kind = d.layer(above)
    delta = f"${n.matrix(n.delta_letter, above)}$"
    index, strided, flipped = eq.sent_down(above)
    if kind.kind == "dense":
        doc.paragraph(sw["sent_by_dense"].format(above=above, layer=layer, shape=_times(d.layer(layer).out_shape)))
        doc.equations(strided)
    elif kind.kind == "conv":
        doc.paragraph(sw["sent_by_conv"].format(above=above, delta=delta))
        doc.equations(strided)
        if flipped:
            k = kind.kernel
            W = sp.IndexedBase(f"W{above}")
            f = eq.forms(above)
            turned = f.weight_index[:2] + tuple(size - 1 - t for size, t in zip(k, f.weight_index[2:]))
            doc.paragraph(sw["flipped"].format(delta=delta, flipped=f"${eq.tex(W[turned])}$"))
            doc.equations(flipped)
        else:
            doc.paragraph(sw["no_flipped"].format(stride=_setting(kind.stride)))
    elif kind.mode == "max":
        M = f"${n.matrix('M', above)}$"
        doc.paragraph(sw["sent_by_max"].format(above=above, delta=delta, M=M))
        doc.equations(strided)
        offset, mask = eq.mask_example(above)
        doc.paragraph(sw["mask"].format(M=M, offset=offset))
        doc.equations(mask)
    else:
        doc.paragraph(sw["sent_by_average"].format(above=above, delta=delta, count=math.prod(kind.size)))
        doc.equations(strided)
    return index


def recurrence(doc: LatexDocument, eq: SpatialLatex, w: dict[str, str], layer: int) -> None:
    """δ of conv or pool layer ``layer``: what the layer above sends down, times g′(z) entry by entry."""
    sw = _words(eq)
    doc.subsection(w["layer"].format(number=layer))
    index = _sent_down(doc, eq, layer)
    key = "pool_delta" if eq.d.layer(layer).kind == "pool" else "hadamard"
    doc.paragraph(sw[key].format(layer=layer))
    doc.equations([eq.spatial_delta(layer, index)])


def input_gradient(doc: LatexDocument, eq: SpatialLatex) -> None:
    """What the first layer (conv or pool) sends down: ∂ℓ/∂x."""
    sw = _words(eq)
    doc.subsection(sw["input_gradient"])
    doc.paragraph(sw["input_gradient_intro"].format(first=eq.d.first))
    _sent_down(doc, eq, eq.d.input_number)


# ------------------------------------------------------------------ gradients

def gradients(doc: LatexDocument, eq: SpatialLatex, w: dict[str, str], layer: int) -> None:
    """∂ℓ/∂W and ∂ℓ/∂b of a conv layer, one example then a batch; a pool layer has none."""
    sw, n = _words(eq), eq.n
    doc.subsection(w["layer"].format(number=layer))
    if eq.d.layer(layer).kind == "pool":
        doc.paragraph(sw["pool_no_parameters"].format(number=layer))
        return
    doc.paragraph(sw["conv_gradients"].format(delta=f"${n.matrix(n.delta_letter, layer)}$"))
    doc.equations(eq.conv_gradients(layer))
    doc.paragraph(sw["conv_gradients_batch"].format(c=f"${eq.tex(eq.d.reduction_factor)}$",
                                                    l2=sw["l2_included"] if eq.net.l2 else ""))
    doc.equations(eq.conv_batch_gradients(layer))
