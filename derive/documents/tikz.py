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
    sizes = d.network.sizes
    tallest = max(len(_shown(count)) for count in sizes)
    bottom = -((tallest - 1) / 2) * Y_STEP - 1.0   # one line of captions under the tallest column
    lines = []
    for layer, count in enumerate(sizes):
        units = _shown(count)
        for row, unit in enumerate(units):
            y = ((len(units) - 1) / 2 - row) * Y_STEP
            node = f"n{layer}x{'dots' if unit is None else unit}"
            if unit is None:
                lines.append(rf"\node ({node}) at ({layer * X_STEP:.2f},{y:.2f}) {{$\vdots$}};")
                continue
            symbol = d.x[unit] if layer == 0 else d.symbols(layer).a[unit]
            lines.append(rf"\node[unit] ({node}) at ({layer * X_STEP:.2f},{y:.2f}) {{${printer.doprint(symbol)}$}};")
        kind = "input_layer" if layer == 0 else ("output_layer" if layer == len(sizes) - 1 else "hidden_layer")
        caption = words_[kind].format(number=d.layer_number(layer))
        lines.append(rf"\node[font=\small] at ({layer * X_STEP:.2f},{bottom:.2f}) {{{caption}}};")
    return lines


def _weight_edges(d: Derivation, printer: NotationPrinter) -> list[str]:
    """An arrow per weight between drawn units, labelled with the weight when the network is small."""
    sizes = d.network.sizes
    labelled = max(sizes) <= 4 and all(sizes[i] * sizes[i - 1] <= 9 for i in range(1, len(sizes)))
    lines = []
    for layer in range(1, len(sizes)):
        weights = d.symbols(layer).W
        for j in _shown(sizes[layer]):
            for k in _shown(sizes[layer - 1]):
                if j is None or k is None:
                    continue
                edge = rf"\draw[->] (n{layer - 1}x{k}) -- (n{layer}x{j})"
                if labelled:
                    # near the source, where the edges leaving one unit are still apart
                    edge += rf" node[weight, pos=0.27] {{${printer.doprint(weights[j, k])}$}}"
                lines.append(edge + ";")
    return lines
