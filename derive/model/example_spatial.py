"""The ``[example]`` of a net with an image or sequence input, or with conv and pool layers (issue 15).

    W  one entry per layer WITH weights, in order (pool layers have none, as b lists only layers with a
       bias): a conv layer's kernel as nested lists of shape (C_out, C_in, kH, kW) (1-D: (C_out, C_in, k)),
       a dense layer's (n_l, n_{l−1}) matrix, where n_{l−1} counts the layer below flattened in C order
    b  one entry per layer with a bias: a conv layer's C_out numbers, [b1, b2, ...] or [[b1], [b2], ...]
    X  (n_in, m): one column per example, flattened in C order; or INPUT_SHAPE + (m,) (examples last); or
       INPUT_SHAPE: one example ([[[...], ...]] for a [1, H, W] input)
    Y  (n_out, m), as for dense nets

The three forms of X never collide: they differ in depth, except (C, L) and (n_in, m), which coincide only
for L = m = 1, where they mean the same numbers. Every mistake is one ``SpecError`` naming the field.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..errors import SpecError
from .fields import show
from .network import Example, Notation

#: the spec reader's number and matrix checks (spec._number, spec._matrix), passed in to avoid a cycle
Number = Callable[..., float]
Matrix = Callable[..., np.ndarray]


def nested_shape(value: Any, field: str) -> tuple[int, ...]:
    """The shape of rectangular nested lists (a number: ()); a SpecError naming the first ragged list."""
    if not isinstance(value, (list, tuple)):
        return ()
    if not value:
        return (0,)
    shapes = [nested_shape(v, f"{field}[{i}]") for i, v in enumerate(value)]
    for i, shape in enumerate(shapes[1:], start=1):
        if shape != shapes[0]:
            raise SpecError(field, f"expected nested lists of equal shape, got {field}[0] of shape {shapes[0]} "
                                   f"and {field}[{i}] of shape {shape}")
    return (len(value),) + shapes[0]


def _numbers(value: Any, field: str, number: Number) -> np.ndarray:
    """Rectangular nested lists of numbers as a float64 array; each bad number named by its full index."""
    shape = nested_shape(value, field)
    out = np.empty(shape, dtype=np.float64)
    for index in np.ndindex(shape):
        entry = value
        for i in index:
            entry = entry[i]
        out[index] = number(entry, field + "".join(f"[{i}]" for i in index))
    return out


def array(value: Any, field: str, shape: tuple[int, ...], note: str, number: Number) -> np.ndarray:
    """Nested lists of exactly ``shape``, as a float64 array."""
    got = nested_shape(value, field)
    if got != shape:
        raise SpecError(field, f"expected an array of shape {shape} as nested lists ({note}), got "
                               f"{'a number' if got == () else f'shape {got}'}")
    return _numbers(value, field, number)


def inputs(value: Any, n_in: int, input_shape: tuple[int, ...], number: Number) -> np.ndarray:
    """example.X as (n_in, m), from any of its three forms."""
    field = "example.X"
    shape = nested_shape(value, field)
    if len(shape) == 2 and shape[0] == n_in and shape[1] >= 1:
        return _numbers(value, field, number)
    if shape == input_shape:
        return _numbers(value, field, number).reshape(n_in, 1)
    if len(shape) == len(input_shape) + 1 and shape[:-1] == input_shape and shape[-1] >= 1:
        return _numbers(value, field, number).reshape(n_in, shape[-1])
    shown = "a number" if shape == () else f"shape {shape}"
    raise SpecError(field, f"expected shape ({n_in}, m) (one column per example, flattened in C order), "
                           f"{input_shape + ('m',)} (examples last) or {input_shape} (one example), got {shown}"
                    .replace("'m'", "m"))


def spatial_example(value: Any, n_in: int, input_shape: tuple[int, ...], layers: tuple, notation: Notation,
                    number: Number, matrix: Matrix) -> Example:
    """The [example] table (already checked to be a table with W, X and Y) of a net with a shaped input.

    ``Example.W`` and ``Example.b`` stay one entry per layer (None for a pool layer's W, and for a missing
    bias), as for dense nets; conv weights keep their 4-D (or 3-D) shape, conv biases are (C_out, 1)."""
    sizes = (n_in,) + tuple(layer.units for layer in layers)

    def name(kind: str, i: int) -> str:
        return f"{kind}{notation.layer_number(i + 1)}"

    def label(kind: str, i: int) -> str:
        number_ = notation.layer_number(i + 1)
        return f"{kind}{number_}, layer {number_} with input_layer = {notation.input_layer}"

    weighted = [i for i, layer in enumerate(layers) if layer.kind != "pool"]
    w_list = value["W"]
    if not isinstance(w_list, (list, tuple)) or len(w_list) != len(weighted):
        got = f"{len(w_list)}" if isinstance(w_list, (list, tuple)) else show(w_list)
        pools = " (pool layers have none)" if len(weighted) < len(layers) else ""
        raise SpecError("example.W", f"expected a list of {len(weighted)} weight arrays, one per layer with weights "
                                     f"({', '.join(name('W', i) for i in weighted)}){pools}, got {got}")
    W: list[np.ndarray | None] = [None] * len(layers)
    for j, (i, entry) in enumerate(zip(weighted, w_list)):
        layer, field = layers[i], f"example.W[{j}]"
        if layer.kind == "conv":
            axes = "C_out, C_in, kH, kW" if len(layer.weight_shape) == 4 else "C_out, C_in, k"
            W[i] = array(entry, field, layer.weight_shape, f"{label('W', i)}: {axes}", number)
        else:
            W[i] = matrix(entry, field, sizes[i + 1], sizes[i], label("W", i))

    biased = [i for i, layer in enumerate(layers) if layer.bias]
    b_list = value.get("b", [])
    if not isinstance(b_list, (list, tuple)):
        raise SpecError("example.b", f"expected a list of bias vectors, got {show(b_list)}")
    if len(b_list) != len(biased):
        expected = (f"{len(biased)} bias vectors, one per layer with a bias ({', '.join(name('b', i) for i in biased)})"
                    if biased else "no b (no layer has a bias)")
        raise SpecError("example.b", f"expected {expected}, got {len(b_list)}")
    b: list[np.ndarray | None] = [None] * len(layers)
    for j, (i, entry) in enumerate(zip(biased, b_list)):
        field = f"example.b[{j}]"
        rows = layers[i].channels if layers[i].kind == "conv" else sizes[i + 1]
        what = f"one per channel of {name('W', i)}" if layers[i].kind == "conv" else label("b", i)
        if isinstance(entry, (list, tuple)) and entry and not any(isinstance(v, (list, tuple)) for v in entry):
            if len(entry) != rows:
                raise SpecError(field, f"expected {rows} numbers as [v1, v2, ...] or [[v1], [v2], ...] "
                                       f"({what}), got {len(entry)}")
            entry = [[number(v, f"{field}[{r}]")] for r, v in enumerate(entry)]
        b[i] = matrix(entry, field, rows, 1, what)

    X = inputs(value["X"], n_in, input_shape, number)
    Y = matrix(value["Y"], "example.Y", sizes[-1], X.shape[1],
               "one row per output, one column per example, the same m as example.X")
    learning_rate = None
    if "learning_rate" in value:
        learning_rate = number(value["learning_rate"], "example.learning_rate", lo=0.0, lo_open=True)
    return Example(W=tuple(W), b=tuple(b), X=X, Y=Y, learning_rate=learning_rate)
