"""Every intermediate number of one forward and backward pass, from the derivation's expressions.

``evaluate(derivation, params, X, Y, learning_rate, digits=...)`` returns a ``Trace``:
z, a, per-example losses, the cost, per-example δ, the reduced gradients and the
parameters after one gradient step. Conv and pool layers (issue 15) too: their z, a, δ are kept flat
(n_l, m), units in C order (``Trace.shaped`` gives them in the layer's shape (C, H, W, m)), conv
weights and their gradients in W's shape (C_out, C_in, kH, kW), conv biases (C_out, 1); a pool layer
has no parameters (None wherever a parameter would be). Nothing here re-types a formula: each step is
the derivation's index-form SymPy expression (``z_index``, ``a_index``, ``loss``,
``output_delta``, ``delta_index``, ``grad_W_index``, ``grad_b_index``, ``update_expr``), compiled by
``sympy.lambdify`` — for NumPy (float64, vectorised over the examples) when
``digits == 0``, for mpmath at ``digits`` significant digits otherwise.

The steps themselves are ``Steps`` (``steps.py``), which the answer checker also runs one
at a time on numbers of its own choosing: one evaluator for solutions, checks and mistakes.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Mapping

import mpmath
import numpy as np

from ..derivation.backprop import Derivation
from ..errors import SpecError
from .numbers import Array, Numbers
from .steps import Steps


# ---------------------------------------------------------------- the trace

@dataclass
class Trace:
    """Every number of one forward/backward pass (and one gradient step) for a batch.

    Layer keys are the spec's layer numbers, ``derivation.layer_numbers`` (``a`` also has
    ``derivation.input_number`` = X): with ``input_layer = 1``, 2..L+1 and a[1] = X. Columns are examples.
    """

    X: Array                                   # (n_in, m), an image flattened in C order
    Y: Array                                   # (n_out, m)
    W: dict[int, Array | None]                 # the parameters used, (n_l, n_{l−1}); conv (C_out, C_in, kH, kW);
    #                                            pool None
    b: dict[int, Array | None]                 # (n_l, 1) (conv (C_out, 1)) or None
    z: dict[int, Array]                        # (n_l, m); conv and pool: units flat in C order
    a: dict[int, Array]                        # (n_l, m); a[input_number] = X
    loss: Array                                # (m,) per-example losses ℓ_i
    cost: Any                                  # C: reduction of ℓ plus the L2 term
    delta: dict[int, Array]                    # (n_l, m): δ_i = ∂ℓ_i/∂z^[l]
    dW: dict[int, Array | None]                # ∂C/∂W^[l] (reduction and L2 included), W's shape; pool None
    db: dict[int, Array | None]                # ∂C/∂b^[l], or None without bias
    W_next: dict[int, Array | None]            # W − η ∂C/∂W; None when there is no learning rate
    b_next: dict[int, Array | None]            # b − η ∂C/∂b; None without learning rate or bias
    learning_rate: Any = None
    digits: int = 0
    dW_example: dict[int, Array | None] = field(default_factory=dict)  # (m,) + W's shape: ∂ℓ_i/∂W
    db_example: dict[int, Array | None] = field(default_factory=dict)  # (m, n_l, 1): ∂ℓ_i/∂b
    shapes: dict[int, tuple[int, ...]] = field(default_factory=dict)   # each layer's array shape, input's too

    @property
    def m(self) -> int:
        return self.X.shape[1]

    def shaped(self, quantity: str, layer: int) -> Array:
        """``z``, ``a`` or ``delta`` of layer number ``layer`` in the layer's shape with examples last:
        (C, H, W, m) or (C, L, m) for an image or sequence layer, (n_l, m) for a dense one."""
        flat = getattr(self, quantity)[layer]
        return flat.reshape(self.shapes.get(layer, (flat.shape[0],)) + (flat.shape[1],))


def _example_or_fail(derivation: Derivation, what: str):
    example = derivation.network.example
    if example is None:
        raise SpecError("example", f"expected an [example] table in the spec (needed for {what}, "
                                   f"which was not given)", derivation.network.source)
    return example


def _params_arrays(derivation: Derivation, params: Mapping[str, Any], numbers: Numbers):
    """W[l], b[l] (l the spec's layer numbers) from a params dict named in that numbering; shapes checked."""
    network = derivation.network
    source = network.source
    names = _param_names(derivation)
    if not isinstance(params, Mapping):
        raise SpecError("params", f"expected a dict of {', '.join(names)}, got {type(params).__name__}", source)
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise SpecError(f"params.{unknown[0]}", f"expected one of {', '.join(names)}", source)
    W: dict[int, Array | None] = {}
    b: dict[int, Array | None] = {}
    for layer in derivation.layer_numbers:
        kind = derivation.layer(layer)
        W[layer] = b[layer] = None
        if kind.kind == "pool":      # no parameters
            continue
        shape = kind.weight_shape if kind.kind == "conv" else (derivation.width(layer), derivation.width(layer - 1))
        name = f"W{layer}"
        if name not in params:
            what = f"an array of shape {shape}" if kind.kind == "conv" else f"a {shape} matrix".replace(",", ", ", 0)
            raise SpecError(f"params.{name}", f"expected {what} (missing)", source)
        W[layer] = _shaped(numbers, params[name], shape, f"params.{name}", source)
        if kind.bias:
            n = kind.channels if kind.kind == "conv" else derivation.width(layer)
            name = f"b{layer}"
            if name not in params:
                raise SpecError(f"params.{name}", f"expected a ({n}, 1) column (missing)", source)
            raw = np.asarray(params[name], dtype=object)
            if raw.ndim == 1:
                raw = raw.reshape(-1, 1)
            b[layer] = _shaped(numbers, raw, (n, 1), f"params.{name}", source)
    return W, b


def _param_names(derivation: Derivation) -> list[str]:
    """W{l} of every layer with weights (not pool layers), b{l} of every layer with a bias."""
    names = []
    for layer in derivation.layer_numbers:
        kind = derivation.layer(layer)
        names += ([] if kind.kind == "pool" else [f"W{layer}"]) + ([f"b{layer}"] if kind.bias else [])
    return names


def _example_params(derivation: Derivation, example) -> dict[str, Array]:
    """The [example]'s parameters as a params dict (a pool layer's W is None there: no entry)."""
    out = {}
    for layer, w, bias in zip(derivation.layer_numbers, example.W, example.b):
        if w is not None:
            out[f"W{layer}"] = w
        if bias is not None:
            out[f"b{layer}"] = bias
    return out


def _inputs(numbers: Numbers, value: Any, derivation: Derivation, source: str) -> Array:
    """X as (n_in, m): an image or sequence input may also come as INPUT_SHAPE + (m,) or INPUT_SHAPE."""
    shape = tuple(derivation.network.input_shape)
    n_in = derivation.width(derivation.input_number)
    if len(shape) > 1:
        try:
            raw = numbers.array(value)
        except (TypeError, ValueError) as exc:
            raise SpecError("X", f"expected a ({n_in}, m) array of numbers ({exc})", source) from None
        if raw.shape == shape:
            value = raw.reshape(n_in, 1)
        elif raw.ndim == len(shape) + 1 and raw.shape[:-1] == shape:
            value = raw.reshape(n_in, raw.shape[-1])      # C order: row k is the flat index of (c, h, w)
    return _data(numbers, value, n_in, "X", source)


def _shaped(numbers: Numbers, value: Any, shape: tuple[int, ...], field_name: str, source: str) -> Array:
    try:
        array = numbers.array(value)
    except (TypeError, ValueError) as exc:
        raise SpecError(field_name, f"expected numbers of shape {shape} ({exc})", source) from None
    if array.shape != shape:
        raise SpecError(field_name, f"expected shape {shape}, got {array.shape}", source)
    return array


def _data(numbers: Numbers, value: Any, rows: int, field_name: str, source: str, m: int | None = None) -> Array:
    """X or Y as (rows, m); a single example may be 1-D."""
    try:
        array = numbers.array(value)
    except (TypeError, ValueError) as exc:
        raise SpecError(field_name, f"expected a ({rows}, m) array of numbers ({exc})", source) from None
    if array.ndim == 1 and array.shape[0] == rows:
        array = array.reshape(rows, 1)
    if array.ndim != 2 or array.shape[0] != rows or array.shape[1] < 1 or (m is not None and array.shape[1] != m):
        want = f"({rows}, {m})" if m is not None else f"({rows}, m)"
        raise SpecError(field_name, f"expected shape {want}, one column per example, got {array.shape}", source)
    return array


def evaluate(derivation: Derivation, params: Mapping[str, Any] | None = None, X: Any = None, Y: Any = None,
             learning_rate: Any = None, *, digits: int = 0) -> Trace:
    """Evaluate every intermediate quantity of ``derivation`` on a batch.

    ``None`` for ``params``, ``X``, ``Y`` or ``learning_rate`` takes it from the
    spec's ``[example]`` (a missing ``[example]`` is a ``SpecError`` on field
    ``example``). ``digits == 0``: float64 arrays; ``digits > 0``: object arrays
    of mpmath numbers computed at ``digits`` significant digits (floats given as
    input are taken as the exact binary numbers they are; strings as decimals).
    """
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits: expected an integer >= 0, got {digits!r}")
    network = derivation.network
    source = network.source
    if params is None or X is None or Y is None:
        example = _example_or_fail(derivation, "params, X and Y")
        params = _example_params(derivation, example) if params is None else params
        X = example.X if X is None else X
        Y = example.Y if Y is None else Y
        if learning_rate is None:
            learning_rate = example.learning_rate
    elif learning_rate is None and network.example is not None:
        learning_rate = network.example.learning_rate

    steps = Steps.of(derivation, exact=digits > 0)
    numbers = steps.numbers
    context = mpmath.workdps(digits) if digits > 0 else contextlib.nullcontext()
    with context:
        W, b = _params_arrays(derivation, params, numbers)
        X = _inputs(numbers, X, derivation, source)
        Y = _data(numbers, Y, derivation.width(derivation.last), "Y", source, X.shape[1])
        eta = None if learning_rate is None else numbers.scalar(learning_rate)
        return _run(steps, W, b, X, Y, eta, digits)


def _run(steps: Steps, W, b, X, Y, eta, digits: int) -> Trace:
    d = steps.derivation
    last = d.last
    a: dict[int, Array] = {d.input_number: X}
    z: dict[int, Array] = {}
    for layer in d.layer_numbers:
        z[layer] = steps.z(layer, W[layer], b[layer], a[layer - 1])
        a[layer] = steps.a(layer, z[layer])
    losses = steps.loss(a[last], Y)
    cost = steps.cost(losses, W)

    delta: dict[int, Array] = {last: steps.output_delta(a[last], z[last], Y)}
    for layer in reversed(d.layer_numbers[:-1]):
        delta[layer] = steps.hidden_delta(layer, a[layer], z[layer], W[layer + 1], delta[layer + 1])

    dW_example, db_example, dW, db, W_next, b_next = {}, {}, {}, {}, {}, {}
    for layer in d.layer_numbers:
        dW_example[layer] = steps.example_grad_W(layer, delta[layer], a[layer - 1])
        db_example[layer] = steps.example_grad_b(layer, delta[layer])
        dW[layer] = steps.reduce_grad_W(dW_example[layer], W[layer])
        db[layer] = steps.reduce_grad_b(db_example[layer])
        W_next[layer] = None if eta is None else steps.update(W[layer], dW[layer], eta)
        b_next[layer] = None if eta is None else steps.update(b[layer], db[layer], eta)
    shapes = {d.input_number: tuple(d.network.input_shape)}
    shapes.update({layer: tuple(getattr(d.layer(layer), "out_shape", (d.width(layer),))) for layer in d.layer_numbers})
    return Trace(X=X, Y=Y, W=W, b=b, z=z, a=a, loss=losses, cost=cost, delta=delta, dW=dW, db=db,
                 W_next=W_next, b_next=b_next, learning_rate=eta, digits=digits,
                 dW_example=dW_example, db_example=db_example, shapes=shapes)
