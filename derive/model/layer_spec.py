"""The spec's ``input`` and ``layers``: dense layers, and the conv and pool kinds of DESIGN.md "Layer kinds".

``input`` is n_in, or the shape [C, L] / [C, H, W] of an image or sequence, which the network flattens
in C order. Each layer table is dense unless ``kind`` says otherwise; a conv or pool layer needs a
shape to act on (the input's, or a conv or pool layer's before it), and a dense layer reads whatever
comes before it flattened. Every failure is one ``SpecError`` naming the field.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

from ..errors import SpecError, did_you_mean
from .activations import Activation, make_activation
from .fields import integer, show, table
from .layer_kinds import ConvLayer, PoolLayer, Shape, output_length
from .network import Layer

MAX_UNITS = 100_000
MAX_LAYERS = 64
KINDS = ("dense", "conv", "pool")
LAYER_KEYS = ("kind", "units", "activation", "bias", "alpha", "dropout")
CONV_KEYS = ("kind", "channels", "kernel", "stride", "padding", "activation", "bias", "alpha", "dropout")
POOL_KEYS = ("kind", "mode", "size", "stride")
POOL_MODES = ("max", "average")


def input_shape(value: Any) -> tuple[int, Shape | None]:
    """(n_in, the shape or None): ``input = 2`` is 2 inputs, ``[1, 6, 6]`` a 1-channel 6×6 image."""
    if isinstance(value, list):
        if len(value) not in (2, 3) or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
                                           for v in value):
            raise SpecError("input", f"expected a shape [C, L] or [C, H, W] of positive integers, got {show(value)}")
        shape = tuple(int(v) for v in value)
        if math.prod(shape) > MAX_UNITS:
            raise SpecError("input", f"expected at most {MAX_UNITS} inputs in all, got {show(value)} "
                                     f"= {math.prod(shape)}")
        return math.prod(shape), shape
    return integer(value, "input", 1, MAX_UNITS), None


def parse_layers(value: Any, shape: Shape | None) -> tuple[Layer | ConvLayer | PoolLayer, ...]:
    """Every layer table in order, each conv or pool layer given the shape it receives."""
    if not isinstance(value, (list, tuple)) or not value or len(value) > MAX_LAYERS:
        got = f"{len(value)} layers" if isinstance(value, (list, tuple)) else show(value)
        raise SpecError("layers", f"expected a list of 1 to {MAX_LAYERS} layer tables, got {got}")
    layers: list[Layer | ConvLayer | PoolLayer] = []
    for i, entry in enumerate(value):
        field, last = f"layers[{i}]", i == len(value) - 1
        table(entry, field, CONV_KEYS + POOL_KEYS + LAYER_KEYS)     # a table first; keys per kind below
        kind = entry.get("kind", "dense")
        if not isinstance(kind, str) or kind not in KINDS:
            raise SpecError(f"{field}.kind", f"expected one of {', '.join(KINDS)}, got {show(kind)}"
                                             f"{did_you_mean(kind, KINDS, quote=True) if isinstance(kind, str) else ''}")
        if kind == "dense":
            layer = _dense(entry, field, last, len(value))
        elif shape is None:
            after = "a dense layer" if layers else "input = n (a number of inputs, not a shape)"
            raise SpecError(f"{field}.kind", f"expected a {kind} layer only after an image or sequence input "
                                             f"(input = [C, H, W] or [C, L]) or a conv or pool layer, got it after "
                                             f"{after}")
        elif kind == "conv":
            layer = _conv(entry, field, shape)
        else:
            layer = _pool(entry, field, shape)
        if last and kind != "dense":    # the loss reads a vector of outputs: a conv map is flattened by a dense layer
            raise SpecError(f"{field}.kind", f"expected a dense output layer (the last layer), got a {kind} layer; "
                                             f"add a dense layer after it")
        shape = None if kind == "dense" else layer.out_shape
        layers.append(layer)
    return tuple(layers)


def parse_activation(entry: Any, field: str) -> Activation:
    """The layer's activation (with ``alpha`` for leaky_relu); a custom one must be real and differentiable."""
    if "activation" not in entry:
        raise SpecError(f"{field}.activation", "expected a value (required)")
    name = entry["activation"]
    if not isinstance(name, str):
        raise SpecError(f"{field}.activation", f"expected a string, got {show(name)}")
    alpha = _real(entry["alpha"], f"{field}.alpha") if "alpha" in entry else None
    try:
        activation = make_activation(name, alpha if name == "leaky_relu" else None)
    except ValueError as exc:
        message = str(exc)
        raise SpecError(f"{field}.activation", message if message.startswith("expected") else
                        f"expected a valid activation ({message})") from None
    except Exception as exc:  # SymPy failing on an odd expression is still the user's input
        raise SpecError(f"{field}.activation", f"expected a valid activation, got {name!r} "
                                               f"({type(exc).__name__})") from None
    if activation.is_custom:
        _real_and_differentiable(activation, f"{field}.activation")
    if alpha is not None and name != "leaky_relu":
        raise SpecError(f"{field}.alpha", f"expected no alpha: it applies only to leaky_relu, got activation {name!r}")
    return activation


def _dense(entry: Any, field: str, last: bool, count: int) -> Layer:
    table(entry, field, LAYER_KEYS)
    if "units" not in entry:
        raise SpecError(f"{field}.units", "expected a value (required)")
    units = integer(entry["units"], f"{field}.units", 1, MAX_UNITS)
    activation = parse_activation(entry, field)
    bias = _bool(entry.get("bias", True), f"{field}.bias")
    if activation.is_softmax and not last:
        raise SpecError(f"{field}.activation", f"expected softmax only on the last layer "
                                               f"(layers[{count - 1}]), got it on a hidden layer")
    if activation.is_softmax and units < 2:
        raise SpecError(f"{field}.units", f"expected at least 2 units for softmax, got {units}")
    dropout = _dropout(entry.get("dropout", 0.0), f"{field}.dropout", last)
    return Layer(units=units, activation=activation, bias=bias, dropout=dropout)


def _conv(entry: Any, field: str, shape: Shape) -> ConvLayer:
    table(entry, field, CONV_KEYS)
    if "channels" not in entry or "kernel" not in entry:
        missing = "channels" if "channels" not in entry else "kernel"
        raise SpecError(f"{field}.{missing}", "expected a value (required)")
    channels = integer(entry["channels"], f"{field}.channels", 1, MAX_UNITS)
    dims = len(shape) - 1
    kernel = _sizes(entry["kernel"], f"{field}.kernel", dims, 1)
    stride = _sizes(entry.get("stride", 1), f"{field}.stride", dims, 1)
    padding = _sizes(entry.get("padding", 0), f"{field}.padding", dims, 0)
    activation = parse_activation(entry, field)
    if activation.is_softmax:
        raise SpecError(f"{field}.activation", "expected an elementwise activation (softmax is for a dense output "
                                               "layer), got 'softmax'")
    _fits(shape, kernel, stride, padding, f"{field}.kernel")
    if entry.get("dropout", 0.0) != 0.0:     # the dropout derivation is a dense layer's so far
        raise SpecError(f"{field}.dropout", f"expected no dropout on a conv layer yet (dense layers take it), "
                                            f"got {show(entry['dropout'])}")
    layer = ConvLayer(channels=channels, kernel=kernel, stride=stride, padding=padding, activation=activation,
                      in_shape=shape, bias=_bool(entry.get("bias", True), f"{field}.bias"))
    if layer.units > MAX_UNITS:
        raise SpecError(f"{field}.channels", f"expected at most {MAX_UNITS} outputs, got {layer.out_shape} "
                                             f"= {layer.units}")
    return layer


def _pool(entry: Any, field: str, shape: Shape) -> PoolLayer:
    table(entry, field, POOL_KEYS)
    mode = entry.get("mode", "max")
    if not isinstance(mode, str) or mode not in POOL_MODES:
        hint = did_you_mean(mode, POOL_MODES, {"avg": "average", "mean": "average"}, quote=True) \
            if isinstance(mode, str) else ""
        raise SpecError(f"{field}.mode", f"expected 'max' or 'average', got {show(mode)}{hint}")
    if "size" not in entry:
        raise SpecError(f"{field}.size", "expected a value (required)")
    dims = len(shape) - 1
    size = _sizes(entry["size"], f"{field}.size", dims, 1)
    stride = _sizes(entry["stride"], f"{field}.stride", dims, 1) if "stride" in entry else size
    _fits(shape, size, stride, (0,) * dims, f"{field}.size")
    return PoolLayer(mode=mode, size=size, stride=stride, in_shape=shape)


def _sizes(value: Any, field: str, dims: int, lo: int) -> tuple[int, ...]:
    """An integer for every spatial axis, or a list of ``dims`` integers ([h, w] in 2-D)."""
    what = "a positive integer" if lo == 1 else "a non-negative integer"
    if isinstance(value, list):
        if len(value) != dims:
            raise SpecError(field, f"expected {what} or a list of {dims} (one per spatial axis of the input), "
                                   f"got {show(value)}")
        return tuple(integer(v, f"{field}[{i}]", lo, MAX_UNITS) for i, v in enumerate(value))
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not lo <= value <= MAX_UNITS:
        raise SpecError(field, f"expected {what} or a list of {dims}, got {show(value)}")
    return (int(value),) * dims


def _fits(shape: Shape, window: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...],
          field: str) -> None:
    """The window must fit the (padded) input along every axis: at least one output position."""
    for axis, (n, k, s, p) in enumerate(zip(shape[1:], window, stride, padding)):
        if output_length(n, k, s, p) < 1:
            raise SpecError(field, f"expected a window that fits the input along axis {axis + 1} (length {n}"
                                   f"{f' + 2·{p} padding' if p else ''}), got {k}")


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(field, f"expected true or false, got {show(value)}")
    return value


def _real(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise SpecError(field, f"expected a finite number, got {show(value)}")
    return float(value)


def _dropout(value: Any, field: str, last: bool) -> float:
    """A drop probability p in [0, 1); only 0 on the output layer (dropout acts between layers)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise SpecError(field, f"expected a drop probability p with 0 <= p < 1, got {show(value)}")
    if last and value:
        raise SpecError(field, f"expected 0 on the output layer (dropout applies to hidden layers), got {show(value)}")
    return float(value)


def _real_and_differentiable(activation: Activation, field: str) -> None:
    """A custom g(z) must be real, finite and differentiable at every real z, as SymPy can show.

    Generated code evaluates it on all of ℝ: log(z), 1/z or (-1)**z would give NaN or complex
    numbers there, and sqrt(Abs(z)) has no derivative at 0.
    """
    if activation.expr.is_real is not True:
        raise SpecError(field, f"expected an expression real and finite at every real z, got {activation.name!r} "
                               f"(SymPy cannot show that; log(z), sqrt(z) and 1/z are not, at z <= 0)")
    if activation.derivative.is_real is not True:
        raise SpecError(field, f"expected an expression differentiable at every real z, got {activation.name!r} "
                               f"with derivative {activation.derivative}")
