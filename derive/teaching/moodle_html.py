"""The HTML of one Cloze question (``moodle.py``): the network, the given numbers, the asked quantities.

Math is written between ``\\(`` and ``\\)``, the delimiters Moodle's MathJax filter reads. A table cell
of a matrix is written ``&amp;`` (HTML for ``&``): MathJax reads the text the browser shows. Nothing here
writes ``{digits:`` outside a blank, so Moodle's Cloze parser finds only the blanks ``moodle.py`` puts in.
"""
from __future__ import annotations

from html import escape
from typing import Any, Callable, Sequence

import numpy as np

from ..documents.notation import Names
from ..documents.numerals import format_input
from ..model.network import Network
from .moodle_words import count


def math(tex: str) -> str:
    return rf"\({tex}\)"


def matrix_tex(array: np.ndarray, lang: str) -> str:
    """A 2-D array of spec numbers as a bmatrix, each number exactly as written (0{,}5 in pt)."""
    rows = [" &amp; ".join(format_input(v, lang) for v in row) for row in np.atleast_2d(array)]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def _planes(array: np.ndarray, label: Callable[[tuple], str]) -> list[tuple[str, np.ndarray]]:
    """An array of 3 or more axes as its 2-D planes over the last two axes, each with a label."""
    if array.ndim <= 2:
        return [("", array)]
    return [(label(index), array[index]) for index in np.ndindex(array.shape[:-2])]


# ---------------------------------------------------------------- the network

def _shape_text(shape: Any) -> str:
    return " × ".join(str(v) for v in shape) if isinstance(shape, list) else str(shape)


def network_items(raw: dict, network: Network, w: dict[str, Any]) -> list[str]:
    """One line per part of the network, from the spec as written (its own names of things)."""
    items = [w["input"].format(shape=escape(_shape_text(raw.get("input"))))]
    first = network.notation.input_layer
    for index, layer in enumerate(raw.get("layers", []), start=1):
        kind = layer.get("kind", "dense")
        bias = "" if layer.get("bias", True) else w["no_bias"]
        activation = escape(str(layer.get("activation", "identity")))
        if kind == "conv":
            items.append(w["conv"].format(layer=first + index, channels=count(layer.get("channels"), w["channels"]),
                                          kernel=layer.get("kernel"), stride=layer.get("stride", 1),
                                          padding=layer.get("padding", 0), activation=activation, bias=bias))
        elif kind == "pool":
            items.append(w["pool"].format(layer=first + index, mode=w.get(layer.get("mode"), layer.get("mode")),
                                          size=layer.get("size"), stride=layer.get("stride", layer.get("size"))))
        else:
            items.append(w["dense"].format(layer=first + index, units=count(layer.get("units"), w["units"]),
                                           activation=activation, bias=bias))
    l2 = w["l2"].format(l2=raw["l2"]) if raw.get("l2") else ""
    m = network.example.X.shape[1] if network.example is not None else 1
    items.append(w["loss"].format(loss=escape(str(raw.get("loss"))), reduction=w[raw.get("reduction", "mean")],
                                  m=count(m, w["examples"]), l2=l2))
    optimizer = raw.get("optimizer")
    if isinstance(optimizer, dict):
        settings = ", ".join(f"{escape(str(k))} = {escape(str(v))}" for k, v in optimizer.items() if k != "kind")
        items.append(w["optimizer"].format(optimizer=escape(str(optimizer.get("kind", "sgd")))) +
                     (f" ({settings})" if settings else ""))
    return items


def given_numbers(network: Network, names: Names, lang: str, w: dict[str, Any]) -> list[str]:
    """The [example]'s numbers, one line each: W and b of every layer with them, X, Y and η."""
    example = network.example
    lines = []
    for index, (W, b) in enumerate(zip(example.W, example.b), start=1):
        number = network.notation.layer_number(index)
        if W is not None:
            weights = np.asarray(W, dtype=float)
            if weights.ndim == 2 and names.transposed:
                weights = weights.T       # the notation's W is the code's Wᵀ
            symbol = names.matrix(names.weight_matrix_letter, number)
            for label, plane in _planes(weights, lambda i: w["kernel_of"].format(c=i[0] + 1, k=i[1] + 1)):
                lines.append(f"{label + ': ' if label else ''}{math(f'{symbol} = {matrix_tex(plane, lang)}')}")
        if b is not None:
            column = np.asarray(b, dtype=float).reshape(-1, 1)
            lines.append(math(f"{names.matrix('b', number)} = {matrix_tex(column, lang)}"))
    shape = tuple(network.input_shape)
    X = np.asarray(example.X, dtype=float)
    if len(shape) > 1:       # an image or sequence: each example in its own shape, channel by channel
        for i in range(X.shape[1]):
            image = X[:, i].reshape(shape if len(shape) == 3 else (shape[0], 1, shape[1]))
            for c in range(image.shape[0]):
                lines.append(f"{w['example_image'].format(i=i + 1)}, {w['channel'].format(c=c + 1)}: "
                             f"{math('X = ' + matrix_tex(image[c], lang))}")
    else:
        lines.append(math(f"X = {matrix_tex(X, lang)}"))
    lines.append(math(f"Y = {matrix_tex(np.asarray(example.Y, dtype=float), lang)}"))
    if example.learning_rate is not None and not network.optimizer.given:
        lines.append(math(rf"\eta = {format_input(example.learning_rate, lang)}"))
    return lines


# ---------------------------------------------------------------- the asked quantities

_STATE_TEX = {"mhat": r"\hat{m}", "vhat": r"\hat{v}", "exp_avg": "m", "exp_avg_sq": "v", "square_avg": "v",
              "sum": "G", "momentum_buffer": "b"}


def quantity_tex(kind: str, layer: int | None, names: Names, per_example: bool) -> str:
    """The quantity of a claim as math: z^{[2]}, ∂C/∂W^{[1]}, (W^{[3]})ᵀ δ^{[3]}, m(W^{[1]}) ..."""
    base = kind.rstrip("+")
    sup = (lambda number: names.matrix("", number)) if layer is not None else None
    weight = names.weight_matrix_letter
    loss = r"\ell" if per_example else names.cost
    if "(" in kind:                            # an optimizer state, such as m(W) or vhat(b)
        letter, param = kind[:-3], kind[-2]
        symbol = weight if param == "W" else "b"
        return rf"{_STATE_TEX.get(letter, letter)}\left({symbol}{sup(layer)}\right)"
    simple = {"z": "z", "a": "a", "delta": names.delta_letter}
    if base in simple:
        return simple[base] + sup(layer)
    if base == "g'":
        return rf"g'\left(z{sup(layer)}\right)"
    if base == "WTdelta":
        above = names.matrix("", layer + 1, transpose=True)
        return rf"\left({weight}{above}\right) {names.delta_letter}{sup(layer + 1)}"
    if base in ("C", "cost"):
        return r"\ell" if base == "C" else names.cost
    if base in ("dC/da", "dcost/da"):
        top = r"\ell" if base == "dC/da" else names.cost
        return names.partial(top, "a" + sup(layer))
    if base in ("dW", "db"):
        return names.partial(loss, (weight if base == "dW" else "b") + sup(layer))
    if base in ("W", "b"):
        return (weight if base == "W" else "b") + sup(layer)
    return escape(kind)


def blanks_html(blanks: Sequence[str], shape: tuple[int, ...], w: dict[str, Any]) -> str:
    """The blanks of one claim in its shape: a row for a vector, a table per 2-D plane of a bigger array."""
    if len(shape) <= 1:
        return " ".join(blanks)
    cells = np.array(list(blanks), dtype=object).reshape(shape)
    parts = []
    def label(index: tuple) -> str:      # (c) of a (C, H, W) map, (c, c′) of a (C_out, C_in, kH, kW) kernel
        if len(index) == 2:
            return w["kernel_of"].format(c=index[0] + 1, k=index[1] + 1)
        return w["channel"].format(c=", ".join(str(v + 1) for v in index))

    for label_text, plane in _planes(cells, label):
        rows = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in plane)
        parts.append((f"<p>{label_text}</p>" if label_text else "") + f"<table>{rows}</table>")
    return "".join(parts)
