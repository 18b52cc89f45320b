"""The numbers of one exercise variant, drawn from its SplitMix64 stream, and the variant's spec text.

What is drawn, in this order (README "Teaching with deltagen"), each number on a grid
lo, lo + step, ... ≤ hi with one draw (``random.SplitMix64.on_grid``):

1. the weights of each layer with weights, in order: a dense layer's W row by row (a row is one unit's
   weights), a conv layer's kernel channel by channel (C_in·kH·kW numbers in C order); a row of zeros is
   drawn again, until it is not (it would cut the unit off);
2. the biases of each layer with a bias, in order, on the same grid;
3. the inputs, example by example (each example's n_in numbers in C order): on the step grid in
   ``inputs`` for a vector input, whole numbers (a grid of 1 from lo) for an image or sequence input;
4. the targets, example by example: softmax + cce: one-hot, the class = draw mod n_out; targets that
   are 0/1 in the spec (or bce without an [example]): one draw mod 2 each; ±1 likewise (logistic, hinge);
   otherwise the step grid in [0, 1] (sigmoid or softmax output) or [−1, 1].

The number of examples m and the learning rate are the spec's [example]'s (else 1 and 0.1).
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import SpecError
from ..model.network import Network
from ..model.exercise_spec import Exercise
from .random import SplitMix64

#: the default ranges of the inputs: a vector input on the grid, an image's pixels as small whole numbers
DENSE_INPUTS = (Decimal(-1), Decimal(1))
IMAGE_INPUTS = (Decimal(0), Decimal(2))
DEFAULT_LEARNING_RATE = Decimal("0.1")


@dataclass(frozen=True)
class Drawn:
    """A variant's [example] as nested lists of Decimal, in the spec's [example] layout (W and b per layer)."""

    W: list[Any]             # one entry per layer with weights (dense: rows; conv: (C_out, C_in, kH[, kW]))
    W_names: list[str]       # W1, W2, ... in the spec's notation, for comments
    b: list[Any]             # one entry per layer with a bias (dense: a column [[v], ...]; conv: [v, ...])
    X: list[Any]             # (n_in, m) rows, or the image itself when m = 1 and the input is an image
    Y: list[Any]             # (n_out, m) rows
    learning_rate: Decimal
    places: int              # decimals of the step: the fewest shown for grid numbers
    image: bool              # X holds whole numbers of an image or sequence (shown with their own decimals)


def _reshape(flat: list, shape: tuple[int, ...]) -> Any:
    if len(shape) == 1:
        return list(flat)
    size = len(flat) // shape[0]
    return [_reshape(flat[i * size:(i + 1) * size], shape[1:]) for i in range(shape[0])]


def _row(rng: SplitMix64, count: int, lo: Decimal, hi: Decimal, step: Decimal) -> list[Decimal]:
    """``count`` numbers on the grid, drawn again while all are zero."""
    while True:
        row = [rng.on_grid(lo, hi, step) for _ in range(count)]
        if any(v != 0 for v in row):
            return row


def draw(network: Network, exercise: Exercise, rng: SplitMix64) -> Drawn:
    """One variant's numbers (the order is the module's docstring's)."""
    lo, hi = exercise.weights
    step = exercise.step
    W, names, b = [], [], []
    for index, layer in enumerate(network.layers, start=1):
        if layer.kind == "pool":
            continue
        number = network.notation.layer_number(index)
        names.append(f"W{number}")
        if layer.kind == "conv":
            shape = layer.weight_shape
            per_channel = math.prod(shape[1:])
            flat = [v for _ in range(shape[0]) for v in _row(rng, per_channel, lo, hi, step)]
            W.append(_reshape(flat, shape))
        else:
            n_prev = network.sizes[index - 1]
            W.append([_row(rng, n_prev, lo, hi, step) for _ in range(layer.units)])
    for index, layer in enumerate(network.layers, start=1):
        if not layer.bias:
            continue
        if layer.kind == "conv":
            b.append([rng.on_grid(lo, hi, step) for _ in range(layer.channels)])
        else:
            b.append([[rng.on_grid(lo, hi, step)] for _ in range(layer.units)])
    m = network.example.X.shape[1] if network.example is not None else 1
    image = len(network.input_shape) > 1
    in_lo, in_hi = exercise.inputs or (IMAGE_INPUTS if image else DENSE_INPUTS)
    in_step = Decimal(1) if image else step
    columns = [[rng.on_grid(in_lo, in_hi, in_step) for _ in range(network.n_in)] for _ in range(m)]
    if image and m == 1:
        X = _reshape(columns[0], network.input_shape)
    else:
        X = [[columns[i][k] for i in range(m)] for k in range(network.n_in)]
    Y = _targets(network, exercise, rng, m)
    rate = network.example.learning_rate if network.example is not None else None
    learning_rate = Decimal(repr(rate)) if rate is not None else DEFAULT_LEARNING_RATE
    return Drawn(W, names, b, X, Y, learning_rate, _decimals(step), image)


def _targets(network: Network, exercise: Exercise, rng: SplitMix64, m: int) -> list[list[Any]]:
    n_out = network.sizes[-1]
    loss = network.loss
    if loss.targets_sum_to_one:                         # one-hot columns (a single softmax unit's y is 1)
        classes = [rng.below(n_out) if n_out > 1 else 0 for _ in range(m)]
        return [[1 if classes[i] == k else 0 for i in range(m)] for k in range(n_out)]
    pair = _pair(network)
    if pair is not None:
        columns = [[pair[rng.below(2)] for _ in range(n_out)] for _ in range(m)]
    else:
        unit_range = network.layers[-1].activation.name in ("sigmoid", "softmax")
        lo, hi = (Decimal(0), Decimal(1)) if unit_range else (Decimal(-1), Decimal(1))
        columns = [[rng.on_grid(lo, hi, exercise.step) for _ in range(n_out)] for _ in range(m)]
    return [[columns[i][k] for i in range(m)] for k in range(n_out)]


def _pair(network: Network) -> tuple[int, int] | None:
    """The two values targets take when the spec's are 0/1 or ±1 (bce, logistic, hinge without one: theirs)."""
    if network.example is not None:
        seen = {float(v) for v in network.example.Y.ravel()}
        for pair in ((0, 1), (-1, 1)):
            if seen <= set(pair):
                return pair
        return None
    return {"bce": (0, 1), "logistic": (-1, 1), "hinge": (-1, 1)}.get(network.loss.name)


# ---------------------------------------------------------------- TOML text

def _decimals(value: Decimal) -> int:
    return max(0, -value.normalize().as_tuple().exponent)


def _places(value: Any, least: int) -> int:
    """The decimals that show every number of ``value`` exactly, at least ``least``."""
    if isinstance(value, list):
        return max([least] + [_places(v, least) for v in value])
    return max(least, _decimals(value)) if isinstance(value, Decimal) else least


def _number(value: Any, places: int) -> str:
    if isinstance(value, int):
        return str(value)
    if value == 0:
        value = abs(value)
    if value == value.to_integral_value() and places == 0:
        return str(int(value))
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


def _nested(value: Any, places: int) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_nested(v, places) for v in value) + "]"
    return _number(value, places)


def example_toml(drawn: Drawn) -> str:
    """The [example] table of a variant, one layer per line."""
    p = _places([drawn.W, drawn.b], drawn.places)
    lines = ["[example]", "W = ["]
    lines += [f"  {_nested(w, p)},   # {name}" for w, name in zip(drawn.W, drawn.W_names)]
    lines.append("]")
    if drawn.b:
        lines.append("b = [")
        lines += [f"  {_nested(b, p)}," for b in drawn.b]
        lines.append("]")
    p = _places(drawn.X, 0 if drawn.image else drawn.places)
    lines.append("X = [")
    for row in drawn.X:        # a vector input: one row per input; an image: one line per row of pixels
        if drawn.image and isinstance(row, list) and row and isinstance(row[0], list):
            lines += ["  ["] + [f"    {_nested(r, p)}," for r in row] + ["  ],"]
        else:
            lines.append(f"  {_nested(row, p)},")
    lines.append("]")
    lines.append(f"Y = {_nested(drawn.Y, _places(drawn.Y, drawn.places))}")
    lines.append(f"learning_rate = {drawn.learning_rate}")
    return "\n".join(lines) + "\n"


#: a table header line ([name], [a.b], [[name]]): a bare or quoted key, not a continued array such as [1, 2]
_HEADER = re.compile(r"""^\s*\[\[?\s*([A-Za-z_"'][A-Za-z0-9_.\-"' ]*?)\s*\]\]?\s*(?:#.*)?$""")


def variant_spec_text(original: str, drawn: Drawn, header: str) -> str:
    """The spec's text (its [exercise] too: ``decimals`` is read from it) with its [example] replaced by the
    variant's, which goes last."""
    kept, section = [], None
    for line in original.splitlines():
        match = _HEADER.match(line)
        if match:
            section = match.group(1).strip().strip("\"'")
        if section == "example":
            continue
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    text = f"# {header}\n" + "\n".join(kept) + "\n\n" + example_toml(drawn)
    _same_spec(original, text)
    return text


def _same_spec(original: str, text: str) -> None:
    """The variant's spec says what the original says, but for [example]."""
    before, after = tomllib.loads(original), tomllib.loads(text)
    for data in (before, after):
        data.pop("example", None)
    if before != after or "example" not in tomllib.loads(text):
        raise SpecError("example", "expected [example] written as a table of its own (an [example] header "
                                   "line), so a variant can replace it")
