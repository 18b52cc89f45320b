"""Claims on conv and pool layers (issue 15): the shapes claims write, and how they map to the graph's.

The checker's graph keeps a layer's z, a, g', δ and Wᵀδ as one flat vector per example (the evaluator's
columns, C order), conv weights in their own shape (C_out, C_in, kH, kW) and conv biases as one number per
output channel. A claim writes a quantity of a conv or pool layer in that layer's shape: ``z[1]`` of a conv
layer with 2 channels of 3×3 is a 2×3×3 nested list (or a flat list of 18 numbers in C order), and
``entry = [c, i, j]`` (1-based, one index per axis) picks one number; ``dW[1]`` is (C_out, C_in, kH, kW)
with ``entry = [c, c′, p, q]``; ``db[1]`` has one number per channel (``unit = c``). The input ``a[0]``
of an image net is (C, H, W) likewise. Reports name an entry by these indices: ``z[1]_(1,2,3)``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..derivation.backprop import Derivation
from ..errors import SpecError
from .claim_unit import entry_index, one_of, unit_index
from .nodes import Key, split_state
from .written import _comma_hint, _decimal_or_fail, _entries, _written, written_numbers

#: the per-unit kinds: one number per unit of a layer, in the layer's shape when it is spatial
UNIT_KINDS = ("z", "a", "g'", "WTdelta", "delta", "z+", "a+")
#: the kinds of a layer's weights and of its biases (a state such as m(W) is reduced to W first)
WEIGHT_KINDS = ("W", "W+", "dW")
BIAS_KINDS = ("b", "b+", "db")


def layer_kind(derivation: Derivation, layer: int) -> str:
    """dense, conv or pool."""
    return derivation.layer(layer).kind


def spatial_shape(derivation: Derivation, layer: int) -> tuple[int, ...] | None:
    """(C, H, W) or (C, L) of the units of layer number ``layer`` (the input's for its number); None when flat."""
    if layer == derivation.input_number:
        shape = derivation.network.input_shape
        return tuple(shape) if len(shape) > 1 else None
    spec = derivation.layer(layer)
    return spec.out_shape if spec.kind != "dense" else None


def _base(kind: str) -> str:
    state = split_state(kind)
    return state[1] if state else kind


def node_shape(kind: str, layer: int | None, derivation: Derivation) -> tuple[int, ...] | None:
    """The graph's shape of a conv layer's parameter kinds (W: weight_shape, b: one per channel); None otherwise
    (the caller's dense shapes hold)."""
    if layer is None or layer == derivation.input_number:
        return None
    spec = derivation.layer(layer)
    if spec.kind != "conv":
        return None
    base = _base(kind)
    if base in WEIGHT_KINDS:
        return spec.weight_shape
    if base in BIAS_KINDS:
        return (spec.channels,)
    return None


def claim_shape(kind: str, layer: int | None, derivation: Derivation) -> tuple[int, ...] | None:
    """The shape a claim writes when it differs from the dense one: a spatial layer's units, a conv layer's
    parameters; None otherwise."""
    if layer is None:
        return None
    if kind in UNIT_KINDS:
        return spatial_shape(derivation, layer)
    return node_shape(kind, layer, derivation)


def key_shape(key: Key, derivation: Derivation) -> tuple[int, ...] | None:
    """The claim shape of a graph node whose values the graph keeps flat (a spatial layer's units, the data x)."""
    if key.kind == "x":
        return spatial_shape(derivation, derivation.input_number)
    if key.kind in UNIT_KINDS and key.layer is not None:
        return spatial_shape(derivation, key.layer)
    return None


def shown_position(key: Key, position: tuple, derivation: Derivation | None) -> tuple[int, ...]:
    """A graph position as claims write it: a flat unit of a spatial layer becomes (c, i, j)."""
    shape = key_shape(key, derivation) if derivation is not None else None
    if shape is None or len(position) != 1:
        return tuple(position)
    return tuple(int(i) for i in np.unravel_index(position[0], shape))


def refuse_parameterless(kind: str, layer: int, derivation: Derivation, field_name: str, text: str) -> None:
    """A pool layer has no weights or biases (and no optimizer state of them)."""
    if layer == derivation.input_number:
        return
    if layer_kind(derivation, layer) == "pool" and _base(kind) in WEIGHT_KINDS + BIAS_KINDS:
        raise SpecError(field_name, f"expected a layer with parameters for {text.strip()}, got layer {layer} "
                                    f"(a pool layer: it has no weights or biases)")


# ---------------------------------------------------------------- values and entries

def nested_numbers(value: Any, field_name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The claimed value as written strings of ``shape``: nested lists in that shape, or a flat list in C order."""
    size = math.prod(shape)
    want = f"{'×'.join(map(str, shape))} numbers (nested lists of that shape, or a flat list of {size} in C order)"
    out = np.empty(shape, dtype=object)
    if isinstance(value, list) and len(value) == size and not any(isinstance(v, list) for v in value) \
            and len(shape) > 1:
        for i, number in enumerate(value):
            _decimal_or_fail(number, f"{field_name}[{i}]")
            out[np.unravel_index(i, shape)] = _written(number)
        return out

    def fill(item: Any, depth: int, index: tuple[int, ...], where: str) -> None:
        if depth == len(shape):
            if isinstance(item, list):
                raise SpecError(where, "expected a number, got a list")
            _decimal_or_fail(item, where)
            out[index] = _written(item)
            return
        if not isinstance(item, list) or len(item) != shape[depth]:
            got = (f"{_entries(len(item))}{_comma_hint(item)}" if isinstance(item, list) else f"the number {_show(item)}")
            raise SpecError(where, f"expected a list of {_entries(shape[depth])} here ({want}), got {got}")
        for i, inner in enumerate(item):
            fill(inner, depth + 1, index + (i,), f"{where}[{i}]")

    fill(value, 0, (), field_name)
    return out


def _show(value: Any) -> str:
    from .written import show
    return show(value)


def spatial_entry(entry: dict, where: str, kind: str, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """``entry = [c, i, j]`` (1-based, one index per axis of ``shape``), or ``unit = c`` when the shape has one
    axis: the 0-based index in ``shape``; None when the claim is about the whole quantity."""
    one_of(entry, where, "an array")
    letters = ("c", "c′", "p", "q") if _base(kind) in WEIGHT_KINDS else ("c", "i", "j")
    axes = ", ".join(letters[:len(shape)])
    if "unit" in entry:
        if len(shape) != 1:
            raise SpecError(f"{where}.unit", f"expected entry = [{axes}] for {kind}, an array of shape "
                                             f"{'×'.join(map(str, shape))} (unit is for a vector)")
        return unit_index(entry["unit"], where, shape[0])
    if "entry" not in entry:
        return None
    if len(shape) == 1:
        raise SpecError(f"{where}.entry", f"expected unit = c for {kind} (one number per channel), not entry")
    index = entry_index(entry["entry"], shape)
    if index is None:
        ranges = ", ".join(f"1..{n}" for n in shape)
        raise SpecError(f"{where}.entry", f"expected [{axes}] with {ranges}, got {_show(entry['entry'])}")
    return index


def spatial_value(entry: dict, where: str, kind: str, shape: tuple[int, ...], graph_shape: tuple[int, ...]):
    """(unit, written numbers, the claim's shape) of a claim written in a conv or pool layer's ``shape``: the unit
    and numbers as the graph keeps them (a spatial layer's units flat in C order: the claim's shape is then kept
    for the report; a conv layer's parameters as they are: None)."""
    unit = spatial_entry(entry, where, kind, shape)
    written = (written_numbers(entry["value"], f"{where}.value", ()) if unit is not None
               else nested_numbers(entry["value"], f"{where}.value", shape))
    flat = shape != graph_shape
    if unit is not None:
        unit = (int(np.ravel_multi_index(unit, shape)),) if flat else unit
    elif flat:
        written = written.reshape(graph_shape)
    return unit, written, shape if flat else None


def refuse_spatial_formula(kind: str, layer: int | None, generic: bool, derivation: Derivation,
                           field_name: str) -> None:
    """Formula claims are checked over dense layers' vectors and matrices; a conv or pool layer's are numbers only."""
    network = derivation.network
    if not network.has_spatial_layers:
        return
    layers = list(derivation.layer_numbers) if generic else [layer] if layer is not None else []
    near = [l for l in layers if derivation.layer(l).kind != "dense"
            or (kind in ("delta", "WTdelta") and l < derivation.last and derivation.layer(l + 1).kind != "dense")]
    if near:
        raise SpecError(field_name, f"expected a value (a number claim) for {kind} at layer {near[0]}: formula "
                                    f"claims are checked for dense layers only, and this one is next to a conv "
                                    f"or pool layer")
