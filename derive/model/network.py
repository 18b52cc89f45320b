"""The validated architecture a spec describes; built by ``model.spec``, consumed by ``Derivation``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import SpecError
from .activations import Activation
from .initialization import DEFAULT_INIT, Initialization
from .losses import Loss
from .optimizers import PLAIN_SGD, Optimizer


@dataclass(frozen=True)
class Layer:
    units: int
    activation: Activation
    bias: bool = True
    dropout: float = 0.0     # drop probability p of inverted dropout in training (hidden layers only)
    kind: ClassVar[str] = "dense"    # the conv and pool kinds are in layer_kinds.py


def count_params(n_in: int, layers: tuple) -> int:
    """Weights and biases after an input of ``n_in`` units: a dense layer's n_l·n_{l−1} (+ n_l), a conv or pool
    layer's own count."""
    sizes = (n_in,) + tuple(layer.units for layer in layers)
    return sum(sizes[i] * sizes[i - 1] + (sizes[i] if layer.bias else 0) if layer.kind == "dense" else layer.n_params
               for i, layer in enumerate(layers, start=1))


@dataclass(frozen=True)
class Notation:
    """How documents and checks name things; never changes the math."""

    input_layer: int = 0            # 0: first weights are W1; 1: first weights are W2
    brackets: str = "square"        # square: a^{[l]}; paren: a^{(l)}
    weight_symbol: str = "W"        # W: matrix W, entries w_jk | w: w for both | theta: θ for both
    delta_symbol: str = "delta"     # delta: δ (batch Δ) | epsilon: ε (batch ℰ)
    cost_symbol: str = "C"          # the name of the total cost: C | J | R | E
    weight_convention: str = "Wa"   # Wa: z = W a + b, W is n_l × n_{l−1}, w_jk links unit k of
    #                                 layer l−1 to unit j of layer l | WTa: z = Wᵀ a + b, W is
    #                                 n_{l−1} × n_l, w_ij links unit i of layer l−1 to unit j (lecture 003)

    def layer_number(self, index: int) -> int:
        """Displayed number of the layer with internal index ``index`` (1 = first weighted layer)."""
        return index + self.input_layer


@dataclass(frozen=True, eq=False)
class Example:
    """Numbers for worked solutions and checks. Arrays follow the code conventions of DESIGN.md."""

    W: tuple[np.ndarray, ...]
    b: tuple[np.ndarray | None, ...]   # None for a layer without bias
    X: np.ndarray                      # (n_in, m), one example per column
    Y: np.ndarray                      # (n_out, m)
    learning_rate: float | None        # None when the spec gives none

    def params(self, notation: Notation) -> dict[str, np.ndarray]:
        """The example's weights as a generated module's ``params`` dict."""
        out: dict[str, np.ndarray] = {}
        for index, (w, b) in enumerate(zip(self.W, self.b), start=1):
            number = notation.layer_number(index)
            if w is None:        # a pool layer: no parameters
                continue
            out[f"W{number}"] = w.copy()
            if b is not None:
                out[f"b{number}"] = b.copy()
        return out


@dataclass(frozen=True, eq=False, repr=False)
class Network:
    name: str
    n_in: int
    layers: tuple[Layer, ...]
    loss: Loss
    reduction: str = "mean"        # mean | sum
    l2: float = 0.0
    notation: Notation = Notation()
    example: Example | None = None
    source: str = "<dict>"         # the spec file, for messages and generated headers
    optimizer: Optimizer = PLAIN_SGD   # [optimizer]; without it θ ← θ − η g, η given at call time
    init: Initialization = DEFAULT_INIT   # init and init_scale: how init_params draws the weights
    input_shape: tuple[int, ...] = ()     # (n_in,), or the image or sequence shape (C, H, W) / (C, L)

    def __repr__(self) -> str:
        activations = ", ".join(layer.activation.name for layer in self.layers)
        layers = self.notation.layer_number(1), self.notation.layer_number(self.depth)
        return (f"<Network {self.name}: {'-'.join(map(str, self.sizes))} ({activations}), loss {self.loss.name} "
                f"({self.reduction}), {self.n_params} parameters, layers {layers[0]}..{layers[1]}, "
                f"from {self.source}>")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_in,) + tuple(layer.units for layer in self.layers)

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def n_params(self) -> int:
        return count_params(self.n_in, self.layers)

    @property
    def has_spatial_layers(self) -> bool:
        """Whether a conv or pool layer is among the layers."""
        return any(layer.kind != "dense" for layer in self.layers)

    def require_dense(self, what: str) -> None:
        """A SpecError naming the first conv or pool layer when ``what`` does not handle them yet (issue 15)."""
        for i, layer in enumerate(self.layers):
            if layer.kind != "dense":
                raise SpecError(f"layers[{i}].kind", f"expected dense: {layer.kind} layers are derived and proved "
                                                     f"(deltagen derive) but {what} does not handle them yet "
                                                     f"(README, Layer kinds)", self.source)

    @property
    def has_dropout(self) -> bool:
        return any(layer.dropout for layer in self.layers)

    def param_names(self) -> list[str]:
        """``W1, b1, W2, ...`` in the spec's numbering, biases only where the layer has one (none for pool layers)."""
        return list(self.param_shapes())

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The generated module's ``PARAM_SHAPES``: W (n_l, n_(l−1)) or a conv kernel (C_out, C_in, kH, kW), and b
        (n_l, 1) or (C_out, 1), in the spec's numbering."""
        shapes: dict[str, tuple[int, ...]] = {}
        sizes = self.sizes
        for index, layer in enumerate(self.layers, start=1):
            number = self.notation.layer_number(index)
            if layer.kind == "pool":
                continue
            conv = layer.kind == "conv"
            shapes[f"W{number}"] = tuple(layer.weight_shape) if conv else (sizes[index], sizes[index - 1])
            if layer.bias:
                shapes[f"b{number}"] = (layer.channels if conv else sizes[index], 1)
        return shapes
