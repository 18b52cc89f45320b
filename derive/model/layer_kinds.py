"""Convolution and pooling layers (DESIGN.md "Layer kinds"): their settings and the shapes they map.

A layer's input and output are arrays of shape (C, L) or (C, H, W); the network flattens them in C
order, so every layer still has ``units`` = the size of its output, as a dense layer has, and a dense
layer after a conv or pool layer reads the flattened array. ``conv`` is ``torch.nn.Conv1d/Conv2d``
with groups = 1 and dilation = 1 (a cross-correlation with zero padding); ``pool`` is
``torch.nn.MaxPool1d/2d`` or ``AvgPool1d/2d`` without padding. Along each spatial axis the output
length is ⌊(n + 2·padding − kernel) / stride⌋ + 1, as torch computes it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .activations import Activation, make_activation

Shape = tuple[int, ...]     # (C, L) or (C, H, W)


def output_length(length: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Positions of a window of ``kernel`` moved by ``stride`` over ``length`` + 2·``padding`` entries."""
    return (length + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class ConvLayer:
    """``channels`` output channels, each a kernel over every input channel, plus one bias per channel."""

    channels: int
    kernel: tuple[int, ...]          # (k,) or (kH, kW)
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    activation: Activation
    in_shape: Shape                  # (C_in, L) or (C_in, H, W)
    bias: bool = True
    dropout: float = 0.0
    kind: ClassVar[str] = "conv"

    @property
    def out_shape(self) -> Shape:
        return (self.channels,) + tuple(output_length(n, k, s, p) for n, k, s, p in
                                        zip(self.in_shape[1:], self.kernel, self.stride, self.padding))

    @property
    def units(self) -> int:
        return math.prod(self.out_shape)

    @property
    def weight_shape(self) -> Shape:
        """(C_out, C_in, kH, kW), or (C_out, C_in, k) in 1-D."""
        return (self.channels, self.in_shape[0]) + self.kernel

    @property
    def n_params(self) -> int:
        return math.prod(self.weight_shape) + (self.channels if self.bias else 0)


@dataclass(frozen=True)
class PoolLayer:
    """The max or the average of each window, channel by channel; no parameters, no activation."""

    mode: str                        # max | average
    size: tuple[int, ...]
    stride: tuple[int, ...]
    in_shape: Shape
    kind: ClassVar[str] = "pool"
    bias: ClassVar[bool] = False
    dropout: ClassVar[float] = 0.0
    n_params: ClassVar[int] = 0

    @property
    def activation(self) -> Activation:
        """The identity: a pool layer's output is its z."""
        return make_activation("identity")

    @property
    def out_shape(self) -> Shape:
        return (self.in_shape[0],) + tuple(output_length(n, k, s) for n, k, s in
                                           zip(self.in_shape[1:], self.size, self.stride))

    @property
    def units(self) -> int:
        return math.prod(self.out_shape)


SpatialLayer = ConvLayer | PoolLayer
