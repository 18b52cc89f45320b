"""TikZ drawings for conv and pool layers: the kernel (or window) sliding over one input channel, and the net.

``tikz_window`` draws, from a layer's actual sizes, one input channel as a grid with its zero padding
shaded, the window at one output position (and at the next, one stride further, when there is one),
the output grid, and an arrow from each window to the output entry it gives. A 1-D layer is one row.
A grid longer than ``MAX_CELLS`` along an axis is drawn in part (its first cells, then an ellipsis), so
an MNIST-sized input stays a small drawing. ``tikz_blocks`` draws the network as a row of boxes.
"""
from __future__ import annotations

from dataclasses import dataclass

#: cells drawn along one axis (more: the first ones, then ⋯ or ⋮)
MAX_CELLS = 8
#: the side of one cell and the gap between the input and the output grid (cm)
CELL, GAP = 0.45, 1.6


@dataclass(frozen=True)
class Window:
    """What one drawing needs: sizes along (rows, columns); a 1-D layer has one row."""

    size: tuple[int, int]          # the unpadded input channel
    padding: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    out: tuple[int, int]

    @staticmethod
    def of(in_shape: tuple[int, ...], padding: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
           out_shape: tuple[int, ...]) -> Window:
        """From a layer's (C, H, W) or (C, L) shapes and its per-axis settings."""
        if len(in_shape) == 2:   # 1-D: one row
            return Window((1, in_shape[1]), (0, padding[0]), (1, kernel[0]), (1, stride[0]), (1, out_shape[1]))
        return Window(tuple(in_shape[1:]), tuple(padding), tuple(kernel), tuple(stride), tuple(out_shape[1:]))

    def positions(self) -> list[tuple[int, int]]:
        """The output positions drawn: (0, 0) and the next one along a row (else down a column), if any."""
        if self.out[1] > 1:
            return [(0, 0), (0, 1)]
        return [(0, 0), (1, 0)] if self.out[0] > 1 else [(0, 0)]


def _shown(length: int, least: int) -> int:
    return min(length, max(MAX_CELLS, least))


def _grid(x0: float, rows: int, cols: int, shown: tuple[int, int], shade=None) -> list[str]:
    """A grid of ``shown`` cells at x = ``x0`` (top edge at y = 0), ``shade(r, c)`` filling a cell, with ⋯/⋮ where
    the grid goes on."""
    lines = []
    for r in range(shown[0]):
        for c in range(shown[1]):
            fill = shade(r, c) if shade else None
            style = f"fill={fill}, draw=black!60" if fill else "draw=black!60"
            x, y = x0 + c * CELL, -r * CELL
            lines.append(rf"\draw[{style}] ({x:.2f},{y:.2f}) rectangle ({x + CELL:.2f},{y - CELL:.2f});")
    if cols > shown[1]:
        lines.append(rf"\node at ({x0 + (shown[1] + 0.6) * CELL:.2f},{-shown[0] * CELL / 2:.2f}) {{$\cdots$}};")
    if rows > shown[0]:
        lines.append(rf"\node at ({x0 + shown[1] * CELL / 2:.2f},{-(shown[0] + 0.5) * CELL:.2f}) {{$\vdots$}};")
    return lines


def tikz_window(window: Window, input_label: str, output_label: str) -> str:
    """The drawing of one conv or pool layer (see the module's docstring); labels are LaTeX math."""
    (h, w), (ph, pw), (kh, kw), (sh, sw) = window.size, window.padding, window.kernel, window.stride
    rows, cols = h + 2 * ph, w + 2 * pw
    moves = window.positions()
    reach = [r * sh + kh for r, _ in moves], [c * sw + kw for _, c in moves]
    shown = _shown(rows, max(reach[0])), _shown(cols, max(reach[1]))
    out_shown = _shown(window.out[0], 2), _shown(window.out[1], 2)
    colours = ["blue", "red"]
    first, second = {moves[0]: colours[0]}, dict(zip(moves[1:], colours[1:]))

    def padded(r: int, c: int) -> str | None:
        return "black!15" if r < ph or r >= ph + h or c < pw or c >= pw + w else None

    def produced(r: int, c: int) -> str | None:
        colour = {**first, **second}.get((r, c))
        return f"{colour}!25" if colour else None

    x_out = (shown[1] + 1) * CELL + GAP
    lines = [r"\begin{tikzpicture}[>=stealth]"]
    lines += _grid(0.0, rows, cols, shown, padded)
    lines += _grid(x_out, *window.out, out_shown, produced)
    for (r, c), colour in zip(moves, colours):
        top, left = -r * sh * CELL, c * sw * CELL
        dash = ", dashed" if len(moves) > 1 and colour == colours[0] else ""
        lines.append(rf"\draw[{colour}, very thick{dash}] ({left:.2f},{top:.2f}) rectangle "
                     rf"({left + kw * CELL:.2f},{top - kh * CELL:.2f});")
        target = (x_out + (c + 0.5) * CELL, -(r + 0.5) * CELL)
        lines.append(rf"\draw[->, {colour}] ({left + kw * CELL:.2f},{top - kh * CELL / 2:.2f}) "
                     rf"to[bend left=20] ({target[0]:.2f},{target[1]:.2f});")
    if len(moves) > 1:   # the stride, between the two windows' top-left corners
        (r, c) = moves[1]
        step = (c * sw * CELL, -r * sh * CELL)
        label = f"s = {sw if c else sh}"
        if c:
            lines.append(rf"\draw[<->] (0,0.25) -- ({step[0]:.2f},0.25) node[midway, above, font=\scriptsize] "
                         rf"{{${label}$}};")
        else:
            lines.append(rf"\draw[<->] (-0.25,0) -- (-0.25,{step[1]:.2f}) node[midway, left, font=\scriptsize] "
                         rf"{{${label}$}};")
    bottom = -(max(shown[0], out_shown[0]) + 1.2) * CELL
    lines.append(rf"\node[font=\small, anchor=north] at ({shown[1] * CELL / 2:.2f},{bottom:.2f}) {{${input_label}$}};")
    lines.append(rf"\node[font=\small, anchor=north] at ({x_out + out_shown[1] * CELL / 2:.2f},{bottom:.2f}) "
                 rf"{{${output_label}$}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)


#: the distance between two boxes of the network's drawing, at most (cm), and the widest drawing
BLOCK_STEP, BLOCKS_WIDTH = 3.0, 16.0


def tikz_blocks(boxes: list[tuple[str, str]]) -> str:
    """A row of boxes joined by arrows; each box is (first line, second line), LaTeX text."""
    step = min(BLOCK_STEP, BLOCKS_WIDTH / max(len(boxes), 1))
    lines = [r"\begin{tikzpicture}[>=stealth, box/.style={draw, rounded corners, align=center, "
             rf"font=\scriptsize, text width={step - 0.6:.2f}cm, inner sep=2pt}}]"]
    for k, (top, below) in enumerate(boxes):
        lines.append(rf"\node[box] (b{k}) at ({k * step:.2f},0) {{{top}\\{below}}};")
        if k:
            lines.append(rf"\draw[->] (b{k - 1}) -- (b{k});")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines)
