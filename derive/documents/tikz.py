"""A TikZ drawing of the network: one column per layer, one circle per unit, the weights on the edges."""
from __future__ import annotations

from ..derivation.backprop import Derivation
from .printer import NotationPrinter

#: layers with more units than this are drawn in part: the first three, ⋮, the last two
MAX_TIKZ_UNITS = 6
#: the distances between two columns and between two units of a column (cm)
X_STEP, Y_STEP = 3.6, 2.0

_PICTURE_STYLES = (r"\begin{tikzpicture}[unit/.style={circle, draw, minimum size=11mm, inner sep=0pt},"
                   r" weight/.style={font=\scriptsize, fill=white, inner sep=1pt}, >=stealth]")


def _shown(count: int) -> list[int | None]:
    """0-based units drawn in a column of ``count``; None marks the elision (⋮)."""
    return list(range(count)) if count <= MAX_TIKZ_UNITS else [0, 1, 2, None, count - 2, count - 1]


def _column(d: Derivation, layer: int) -> int:
    """The drawing column of layer number ``layer``: 0 for the input, then one per layer."""
    return layer - d.input_number


def tikz_network(derivation: Derivation, words_: dict[str, str]) -> str:
    """A drawing of the network: one column per layer, one circle per unit, the weights on the edges.

    ``words_`` is the language's word table (the column captions).
    """
    printer = NotationPrinter(derivation)
    lines = [_PICTURE_STYLES]
    lines += _unit_nodes(derivation, printer, words_)
    lines += _weight_edges(derivation, printer)
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


def _unit_nodes(d: Derivation, printer: NotationPrinter, words_: dict[str, str]) -> list[str]:
    """A circle per unit named by its activation (x_k for the inputs), and a caption under each column."""
    layers = range(d.input_number, d.last + 1)   # the input and every weighted layer, by number
    tallest = max(len(_shown(d.width(layer))) for layer in layers)
    bottom = -((tallest - 1) / 2) * Y_STEP - 1.0   # one line of captions under the tallest column
    lines = []
    for layer in layers:
        column = _column(d, layer)
        units = _shown(d.width(layer))
        for row, unit in enumerate(units):
            y = ((len(units) - 1) / 2 - row) * Y_STEP
            node = f"n{column}x{'dots' if unit is None else unit}"
            if unit is None:
                lines.append(rf"\node ({node}) at ({column * X_STEP:.2f},{y:.2f}) {{$\vdots$}};")
                continue
            symbol = d.activations_of(layer)[unit]
            lines.append(rf"\node[unit] ({node}) at ({column * X_STEP:.2f},{y:.2f}) {{${printer.doprint(symbol)}$}};")
        kind = "input_layer" if layer == d.input_number else ("output_layer" if layer == d.last else "hidden_layer")
        caption = words_[kind].format(number=layer)
        lines.append(rf"\node[font=\small] at ({column * X_STEP:.2f},{bottom:.2f}) {{{caption}}};")
    return lines


def _weight_edges(d: Derivation, printer: NotationPrinter) -> list[str]:
    """An arrow per weight between drawn units, labelled with the weight when the network is small."""
    labelled = max(d.network.sizes) <= 4 and all(d.width(layer) * d.width(layer - 1) <= 9
                                                 for layer in d.layer_numbers)
    lines = []
    for layer in d.layer_numbers:
        weights = d.symbols(layer).W
        column = _column(d, layer)
        for j in _shown(d.width(layer)):
            for k in _shown(d.width(layer - 1)):
                if j is None or k is None:
                    continue
                edge = rf"\draw[->] (n{_column(d, layer - 1)}x{k}) -- (n{column}x{j})"
                if labelled:
                    # near the source, where the edges leaving one unit are still apart
                    edge += rf" node[weight, pos=0.27] {{${printer.doprint(weights[j, k])}$}}"
                lines.append(edge + ";")
    return lines
