"""An independent high-precision reference for nets with conv, pool and dense layers, in mpmath only.

Nothing here imports deltagen. Convolution and pooling are written as loops over the textbook
definitions (DESIGN.md "Layer kinds"):

- conv (cross-correlation, zero padding P, stride s, as torch.nn.Conv2d/Conv1d, groups = dilation = 1):
  z[c, i, j] = b[c] + Σ_{c', p, q} W[c, c', p, q] · a[c', s_h·i + p − P_h, s_w·j + q − P_w],
  where an index outside the input reads 0; output size ⌊(H + 2P − k) / s⌋ + 1;
- pool (no padding): max or mean of a[c, s_h·i + p, s_w·j + q] over the window;
- dense: z = W a + b, with a the previous layer's output flattened in C order (C, H, W).

A 1-D layer ([C, L] input) is the 2-D layer with height 1 (kernel (1, k), stride (1, s), padding
(0, p)), which is the same sum. Gradients (every parameter, and ∂C/∂X) are central differences
(C(θ + h) − C(θ − h)) / 2h at 50 digits with h = 1e-20.

Max pooling and ties: where two entries of one window are equal and largest, the max has no
two-sided derivative; a central difference there gives the mean of the one-sided slopes, not the
"first maximum in row-major order" rule of DESIGN.md. The same holds for relu at z = 0 exactly.
The tests therefore use data with no ties in any window (random floats, or strictly monotone
``linspace`` inputs); a window of relu zeros is harmless, since its gradient is 0 either way.

A spec is the plain dict a spec file parses to: ``input`` (int, [C, L] or [C, H, W]), ``layers``
(dense ``{units, activation, bias}``, ``{kind="conv", channels, kernel, stride=1, padding=0,
activation, bias=true}``, ``{kind="pool", mode="max"|"average", size, stride=size}``), ``loss``
(half_sse | mse | bce | cce, and ``linear`` for the tests: ℓ = Σ_k y_k a_k, whose gradient with
respect to a is y, so a published upstream gradient dA becomes Y), ``reduction``, ``l2``,
``notation.input_layer``. Params ``{"W1": (C_out, C_in, kH, kW) | (C_out, C_in, k) | (n, n_prev),
"b1": (C_out, 1) | (n, 1), ...}``; every layer has a number, a pool layer has no params.
``X`` is (n_in, m) with each column an example flattened in C order (or (C, H, W, m)); ``Y`` (n_out, m).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Callable, Mapping

import mpmath
import numpy as np

from mp_network import activation, loss, mpf

DIGITS = 50
STEP = "1e-20"

Shape = tuple[int, ...]


def _dims(value, count: int, field: str) -> tuple[int, ...]:
    """An int or a list of ``count`` ints (kernel, stride, padding) as a tuple."""
    if isinstance(value, int):
        return (value,) * count
    values = tuple(int(v) for v in value)
    if len(values) != count:
        raise ValueError(f"{field}: expected an int or {count} ints, got {value!r}")
    return values


@dataclass
class _Layer:
    kind: str                     # dense | conv | pool
    number: int
    shape_in: tuple[int, int, int] | tuple[int]
    shape_out: Shape              # as layer_shapes reports it
    w_name: str | None = None
    b_name: str | None = None
    g: Callable | None = None     # activation on a list of z
    mode: str = ""                # pool: max | average
    taps: list | None = None      # conv: per output position [(weight offset, input index)]; pool: [input indices]
    per_channel: int = 0          # conv: weights per output channel (C_in·kH·kW)


def _conv_taps(c_in: int, h: int, w: int, kernel, stride, padding) -> tuple[list, int, int]:
    """For every output position (i, j), the (weight offset c'·kH·kW + p·kW + q, input index) pairs
    whose input lies inside the unpadded map: outside, the padded input is 0 and the term vanishes."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    h_out, w_out = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"conv: kernel {kernel} larger than the padded input {(h, w)}")
    taps = []
    for i in range(h_out):
        for j in range(w_out):
            pairs = []
            for cp in range(c_in):
                for p in range(kh):
                    for q in range(kw):
                        r, s = sh * i + p - ph, sw * j + q - pw
                        if 0 <= r < h and 0 <= s < w:
                            pairs.append(((cp * kh + p) * kw + q, (cp * h + r) * w + s))
            taps.append(pairs)
    return taps, h_out, w_out


def _pool_windows(c: int, h: int, w: int, size, stride) -> tuple[list, int, int]:
    """For every output (channel, i, j) in C order, the input indices of its window in row-major order."""
    (kh, kw), (sh, sw) = size, stride
    h_out, w_out = (h - kh) // sh + 1, (w - kw) // sw + 1
    if h_out < 1 or w_out < 1:
        raise ValueError(f"pool: window {size} larger than the input {(h, w)}")
    return [[(ch * h + sh * i + p) * w + sw * j + q for p in range(kh) for q in range(kw)]
            for ch in range(c) for i in range(h_out) for j in range(w_out)], h_out, w_out


def _build(spec: Mapping) -> list[_Layer]:
    """The layers with their geometry, numbered from ``notation.input_layer`` + 1."""
    first = spec.get("notation", {}).get("input_layer", 0)
    shape = spec["input"]
    shape = (int(shape),) if isinstance(shape, int) else tuple(int(v) for v in shape)
    layers = []
    for index, layer in enumerate(spec["layers"], start=1):
        number, kind = first + index, layer.get("kind", "dense")
        if kind == "dense":
            n_prev = prod(shape)
            units = int(layer["units"])
            layers.append(_Layer("dense", number, (n_prev,), (units,), f"W{number}",
                                 f"b{number}" if layer.get("bias", True) else None, activation(layer)))
            shape = (units,)
            continue
        if len(shape) not in (2, 3):
            raise ValueError(f"layer {number}: {kind} needs a [C, L] or [C, H, W] input, got {shape}")
        one_d = len(shape) == 2
        c, h, w = (shape[0], 1, shape[1]) if one_d else shape
        dims = 1 if one_d else 2

        def plane(field: str, default):   # a 1-D value v is the 2-D (1, v) (padding (0, v))
            values = _dims(layer.get(field, default), dims, field)
            return ((0 if field == "padding" else 1),) + values if one_d else values

        if kind == "conv":
            if layer.get("activation") == "softmax":
                raise ValueError(f"layer {number}: conv activation cannot be softmax")
            kernel, stride, padding = plane("kernel", None), plane("stride", 1), plane("padding", 0)
            taps, h_out, w_out = _conv_taps(c, h, w, kernel, stride, padding)
            c_out = int(layer["channels"])
            g = activation({**layer, "activation": layer.get("activation", "identity")})
            out = (c_out, w_out) if one_d else (c_out, h_out, w_out)
            layers.append(_Layer("conv", number, (c, h, w), out, f"W{number}",
                                 f"b{number}" if layer.get("bias", True) else None, g,
                                 taps=taps, per_channel=c * kernel[0] * kernel[1]))
        elif kind == "pool":
            if layer.get("mode", "max") not in ("max", "average"):
                raise ValueError(f"layer {number}: pool mode must be max or average")
            size = plane("size", None)
            stride = plane("stride", layer["size"])
            windows, h_out, w_out = _pool_windows(c, h, w, size, stride)
            out = (c, w_out) if one_d else (c, h_out, w_out)
            layers.append(_Layer("pool", number, (c, h, w), out, mode=layer.get("mode", "max"), taps=windows))
        else:
            raise ValueError(f"layer {number}: unknown kind {kind!r}")
        shape = layers[-1].shape_out
    return layers


def layer_shapes(spec: Mapping) -> list[Shape]:
    """Each layer's output shape: (n,) dense, (C, L) 1-D, (C, H, W) 2-D."""
    return [layer.shape_out for layer in _build(spec)]


def param_shapes(spec: Mapping) -> dict[str, Shape]:
    """The shape of every parameter: conv W (C_out, C_in, kH, kW) or (C_out, C_in, k), dense W (n, n_prev), b (·, 1)."""
    shapes, spec_layers = {}, spec["layers"]
    for layer, raw in zip(_build(spec), spec_layers):
        if layer.kind == "dense":
            shapes[layer.w_name] = (layer.shape_out[0], layer.shape_in[0])
        elif layer.kind == "conv":
            c_in, one_d = layer.shape_in[0], len(layer.shape_out) == 2
            kernel = _dims(raw["kernel"], 1 if one_d else 2, "kernel")
            shapes[layer.w_name] = (layer.shape_out[0], c_in, *kernel)
        else:
            continue
        if layer.b_name:
            shapes[layer.b_name] = (layer.shape_out[0], 1)
    return shapes


def _linear_or(name: str, a: list, y: list) -> mpmath.mpf:
    """ℓ(a, y) for the spec's loss; ``linear`` is Σ y·a (its gradient with respect to a is y)."""
    return mpmath.fdot(y, a) if name == "linear" else loss(name, a, y)


class MpConvNet:
    """Forward pass, cost, parameter gradients and ∂C/∂X of a conv/pool/dense spec, in mpmath."""

    def __init__(self, spec: Mapping, digits: int = DIGITS, step: str = STEP):
        self.spec = spec
        self.layers = _build(spec)
        self.digits = digits
        self.step = mpmath.mpf(step)
        self.loss = spec["loss"]
        self.mean = spec.get("reduction", "mean") == "mean"
        self.l2 = mpf(spec.get("l2", 0.0))
        self.n_in = prod(self.layers[0].shape_in)
        self.n_out = prod(self.layers[-1].shape_out)

    # --- one layer, one example -------------------------------------------------------------
    @staticmethod
    def _layer(layer: _Layer, p: dict, a: list) -> list:
        if layer.kind == "pool":
            if layer.mode == "max":
                return [max(a[k] for k in window) for window in layer.taps]
            return [mpmath.fsum(a[k] for k in window) / len(window) for window in layer.taps]
        W = p[layer.w_name]
        b = p[layer.b_name] if layer.b_name else None
        if layer.kind == "dense":
            n_prev = layer.shape_in[0]
            z = [mpmath.fdot(W[j * n_prev:(j + 1) * n_prev], a) + (b[j] if b else 0) for j in range(len(W) // n_prev)]
        else:
            z = []
            for c in range(layer.shape_out[0]):
                base = c * layer.per_channel
                for pairs in layer.taps:
                    z.append(mpmath.fdot([W[base + k] for k, _ in pairs], [a[i] for _, i in pairs]) + (b[c] if b else 0))
        return layer.g(z)

    def _from(self, p: dict, start: int, a: list) -> list:
        for layer in self.layers[start:]:
            a = self._layer(layer, p, a)
        return a

    # --- inputs -------------------------------------------------------------------------------
    @staticmethod
    def _params(params: Mapping) -> dict[str, list]:
        """Every parameter as a flat list of mpf in C order (the generated code's numbers, exactly)."""
        return {key: [mpf(v) for v in np.asarray(value, dtype=float).ravel()] for key, value in params.items()}

    @staticmethod
    def _columns(A, rows: int) -> list[list]:
        A = np.asarray(A, dtype=float).reshape(rows, -1)
        return [[mpf(v) for v in A[:, i]] for i in range(A.shape[1])]

    def _check(self, params: Mapping) -> None:
        for key, shape in param_shapes(self.spec).items():
            if key not in params or tuple(np.shape(params[key])) != shape:
                raise ValueError(f"params: {key}: expected shape {shape}, got "
                                 f"{None if key not in params else np.shape(params[key])}")

    def _squares(self, p: dict) -> mpmath.mpf:
        return mpmath.fsum(v * v for layer in self.layers if layer.w_name for v in p[layer.w_name])

    def _total(self, losses: list, squares) -> mpmath.mpf:
        total = mpmath.fsum(losses)
        if self.mean:
            total /= len(losses)
        return total + self.l2 / 2 * squares if self.l2 else total

    # --- public API ---------------------------------------------------------------------------
    def forward_mp(self, params: Mapping, X) -> list[list]:
        """a^[L] of every example, as mpmath numbers (one list per column of X)."""
        with mpmath.workdps(self.digits):
            p = self._params(params)
            self._check(params)
            return [self._from(p, 0, x) for x in self._columns(X, self.n_in)]

    def forward(self, params: Mapping, X) -> np.ndarray:
        """A^[L], shape (n_out, m)."""
        return np.array([[float(v) for v in column] for column in self.forward_mp(params, X)]).T.reshape(self.n_out, -1)

    def cost(self, params: Mapping, X, Y) -> mpmath.mpf:
        """Mean or sum of the per-example losses, plus (λ/2) Σ ‖W‖² over conv and dense weights."""
        with mpmath.workdps(self.digits):
            p = self._params(params)
            self._check(params)
            xs, ys = self._columns(X, self.n_in), self._columns(Y, self.n_out)
            return self._total([_linear_or(self.loss, self._from(p, 0, x), y) for x, y in zip(xs, ys)], self._squares(p))

    def gradients_mp(self, params: Mapping, X, Y) -> dict[str, list]:
        """∂C/∂θ for every parameter entry (flat, C order) by central differences.

        Moving a parameter of layer l changes nothing below l, so each shifted cost runs the
        forward pass from layer l on the stored inputs a^[l-1]: the same cost, with less work.
        """
        with mpmath.workdps(self.digits):
            p = self._params(params)
            self._check(params)
            xs, ys = self._columns(X, self.n_in), self._columns(Y, self.n_out)
            inputs = []   # inputs[l][example] = a^[l-1]
            current = xs
            for layer in self.layers:
                inputs.append(current)
                current = [self._layer(layer, p, a) for a in current]
            squares, h = self._squares(p), self.step
            grads: dict[str, list] = {}
            for index, layer in enumerate(self.layers):
                for name in (layer.w_name, layer.b_name):
                    if not name:
                        continue
                    values, out = p[name], []
                    for k, value in enumerate(values):
                        shifted = []
                        for sign in (1, -1):
                            values[k] = value + sign * h
                            change = values[k] ** 2 - value ** 2 if name == layer.w_name else 0
                            shifted.append(self._total([_linear_or(self.loss, self._from(p, index, a), y)
                                                        for a, y in zip(inputs[index], ys)], squares + change))
                        values[k] = value
                        out.append((shifted[0] - shifted[1]) / (2 * h))
                    grads[name] = out
            return grads

    def gradients(self, params: Mapping, X, Y) -> dict[str, np.ndarray]:
        """``gradients_mp`` as float arrays with the params' shapes."""
        return {key: np.array([float(v) for v in values]).reshape(np.shape(params[key]))
                for key, values in self.gradients_mp(params, X, Y).items()}

    gradient = gradients   # the name mp_network.MpNet uses

    def input_gradient_mp(self, params: Mapping, X, Y) -> list[list]:
        """∂C/∂X by central differences, one list per example (only that example's loss moves)."""
        with mpmath.workdps(self.digits):
            p = self._params(params)
            self._check(params)
            xs, ys = self._columns(X, self.n_in), self._columns(Y, self.n_out)
            h, scale = self.step, (len(xs) if self.mean else 1)
            result = []
            for x, y in zip(xs, ys):
                column = []
                for k, value in enumerate(x):
                    x[k] = value + h
                    up = _linear_or(self.loss, self._from(p, 0, x), y)
                    x[k] = value - h
                    down = _linear_or(self.loss, self._from(p, 0, x), y)
                    x[k] = value
                    column.append((up - down) / (2 * h) / scale)
                result.append(column)
            return result

    def input_gradient(self, params: Mapping, X, Y) -> np.ndarray:
        """∂C/∂X with the shape of X given as (n_in, m)."""
        return np.array([[float(v) for v in column] for column in self.input_gradient_mp(params, X, Y)]).T
