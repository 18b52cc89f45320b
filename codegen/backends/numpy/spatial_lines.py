"""The lines of a generated NumPy module that belong to conv and pool layers (issue 15).

Every formula is a form of ``derive.derivation.tensor_forms`` printed by ``SpatialPrinter``. Layout
(DESIGN.md): the arrays of a conv or pool layer are (C, H, W, m) or (C, L, m), examples last; the
input X arrives as (n_in, m) and is read as INPUT_SHAPE + (m,); the dense layer after the last
spatial layer reads its A flattened in C order (a reshape, no copy); conv W{l} is (C_out, C_in, kH, kW)
and b{l} (C_out, 1). ``NumpyModule`` calls these methods for its spatial layers only.
"""
from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import sympy as sp

from deltagen.derive.derivation import symbols, tensor_forms
from deltagen.derive.derivation.backprop import LAMBDA, M
from deltagen.derive.derivation.stable import stabilize, stabilize_branched
from deltagen.derive.model.activations import A as GENERIC_A, Z as GENERIC_Z

from .parts import Assignment
from .printer import NumpyCodePrinter
from .spatial_printer import Base, SpatialPrinter

LEARNING_RATE = sp.Symbol("learning_rate", positive=True)


def _shape_code(shape: tuple[int, ...]) -> str:
    return ", ".join(str(n) for n in shape)


class SpatialLines:
    """Forward, δ, gradient and update lines of the conv and pool layers of one module."""

    def __init__(self, module: Any) -> None:   # the NumpyModule (not imported: module.py imports this one)
        self.module = module
        self.d = module.d
        self.numbers = [n for n in self.d.layer_numbers if self.d.layer(n).kind != "dense"]

    def is_spatial(self, number: int) -> bool:
        return number in self.numbers

    @cached_property
    def _forms(self) -> dict[int, tensor_forms.ConvForms | tensor_forms.PoolForms]:
        out = {}
        for number in self.numbers:
            layer = self.d.layer(number)
            out[number] = (tensor_forms.conv_forms if layer.kind == "conv" else tensor_forms.pool_forms)(layer, number)
        return out

    def forms(self, number: int) -> tensor_forms.ConvForms | tensor_forms.PoolForms:
        return self._forms[number]

    @cached_property
    def bases(self) -> dict[str, Base]:
        """How the code reads every array a spatial form names."""
        out: dict[str, Base] = {}
        for number in self.numbers:
            layer = self.d.layer(number)
            below = f"A{number - 1}"
            # the input arrives as (n_in, m): read as INPUT_SHAPE + (m,) (a reshape, no copy)
            out[below] = Base(f"{below}.reshape({_shape_code(layer.in_shape)}, -1)" if number == self.d.first
                              else below, "batch")
            for kind in ("Z", "A", "G", "Delta", "M"):
                out[f"{kind}{number}"] = Base(f"{kind}{number}", "batch")
            out[f"W{number}"] = Base(f"W{number}", None)
            out[f"b{number}"] = Base(f"b{number}", "unit")
        return out

    def printer(self, names: dict[sp.Basic, str] | None = None) -> SpatialPrinter:
        return SpatialPrinter(self.bases, {LAMBDA: "L2", **(names or {})})

    def flat_names(self) -> dict[sp.Basic, str]:
        """The dense layer after the last spatial layer reads its A flattened in C order: (n, m)."""
        if not self.numbers or self.numbers[-1] == self.d.last:
            return {}
        last = self.numbers[-1]
        n = self.d.width(last)
        return {symbols.matrix("A", last, n, M): f"A{last}.reshape({n}, -1)"}

    def describe(self, number: int) -> str:
        """The layer's kind and shapes for the module's docstring, e.g. "conv 3x3 stride 1 padding 0, (4, 6, 6)"."""
        layer = self.d.layer(number)
        size = lambda values: "x".join(str(v) for v in values)   # noqa: E731
        if layer.kind == "conv":
            text = f"conv {size(layer.kernel)} stride {size(layer.stride)} padding {size(layer.padding)}"
        elif layer.kind == "pool":
            text = f"{layer.mode} pool {size(layer.size)} stride {size(layer.stride)}"
        else:
            return "dense"
        return f"{text}, output {layer.out_shape}"

    # ---------------------------------------------------------- params
    def params(self, number: int, info: type) -> list:
        """W{l} (C_out, C_in, kH, kW) with torch's fans, b{l} (C_out, 1); a pool layer has none."""
        layer = self.d.layer(number)
        if layer.kind != "conv":
            return []
        taps = math.prod(layer.kernel)
        value = repr(self.d.network.init.as_float(fan_in=layer.in_shape[0] * taps, fan_out=layer.channels * taps))
        out = [info(f"W{number}", layer.weight_shape, False, value)]
        if layer.bias:
            out.append(info(f"b{number}", (layer.channels, 1), True, "0.0"))
        return out

    # ---------------------------------------------------------- forward
    def forward(self, number: int) -> list[Assignment]:
        """Z{l} (the correlation, or the window max or mean), then A{l} = g(Z{l}) elementwise."""
        forms = self.forms(number)
        lines = [Assignment(forms.Z.name, self.printer().print_array(forms.z, forms.out_index, "batch"))]
        activation = self.d.layer(number).activation
        return lines + self.module._elementwise(f"A{number}", stabilize_branched(activation.expr),
                                                {GENERIC_Z: forms.Z.name})

    def mask(self, number: int) -> list[Assignment]:
        """M{l} of a max-pool layer: 1 at the first maximum of each window (what its δ goes back to)."""
        forms = self.forms(number)
        if forms.layer.kind != "pool" or forms.M is None:
            return []
        return [Assignment(forms.M.name, self.printer().first_maximum(forms.z, forms.out_index))]

    # ---------------------------------------------------------- backward
    def _sent_down(self, number: int) -> tuple[sp.Expr, tuple[sp.Idx, ...], dict[sp.Basic, str]]:
        """Σ_k ∂z_k^[l+1]/∂a^[l] δ_k^[l+1] for layer number ``number``: the form, its free indices, extra names."""
        above = number + 1
        if self.is_spatial(above):
            forms = self.forms(above)
            form = forms.input_delta_flipped if forms.layer.kind == "conv" else forms.input_delta
            return form, forms.in_index, {}
        # a dense layer above: Wᵀ Δ (its matrix form), (n, m) read back as this layer's (C, H, W, m)
        nxt = self.d.matrix(above)
        A_here = symbols.matrix("A", number, self.d.width(number), M)
        product = self.module.printer.doprint(sp.Trace(nxt.Delta.T * nxt.z_expr).diff(A_here))
        placeholder = sp.Symbol(f"back{number}")
        shape = _shape_code(self.d.layer(number).out_shape)
        out_index = self.forms(number).out_index
        return placeholder, out_index, {placeholder: f"({product}).reshape({shape}, -1)"}

    def delta(self, number: int) -> list[Assignment]:
        """Δ{l} = g'(Z{l}) ⊙ (what layer l + 1 sends down); a pool layer's g' is 1."""
        form, index, names = self._sent_down(number)
        derivative = stabilize(self.d.hidden_derivative(number))
        lines = []
        if derivative != 1:
            G = sp.IndexedBase(f"G{number}", shape=self.d.layer(number).out_shape)
            printer = NumpyCodePrinter({GENERIC_A: f"A{number}", GENERIC_Z: f"Z{number}"})
            lines.append(Assignment(G.label.name, printer.doprint(derivative)))
            form = G[index] * form
        delta = self.printer(names).print_array(form, index, "batch")
        return lines + [Assignment(f"Delta{number}", delta)] + self.mask(number)

    def input_gradient(self) -> str:
        """∂C/∂X when the first layer is conv or pool: c Σ_k ∂z_k/∂x δ_k (shape INPUT_SHAPE + (m,))."""
        forms = self.forms(self.d.first)
        form = forms.input_delta_flipped if forms.layer.kind == "conv" else forms.input_delta
        return self.printer().print_array(self.d.reduction_factor * form, forms.in_index, "batch")

    def backward_key(self, number: int) -> tuple[str, str]:
        """("Delta{l}", ∂C/∂Z{l} = c Δ{l}) in Z{l}'s shape (C, H, W, m)."""
        forms = self.forms(number)
        return forms.Delta.name, self.printer().print_array(
            self.d.reduction_factor * forms.Delta[forms.out_index], forms.out_index, "batch")

    # ---------------------------------------------------------- parameters
    def _gradient_forms(self, number: int) -> list[tuple[sp.IndexedBase, tuple[sp.Idx, ...], str | None, sp.Expr]]:
        """(param, its indices, example-axis kind, ∂C/∂param = c Σ_examples ∂ℓ/∂param (+ λ W)) of a conv layer."""
        forms = self.forms(number)
        if forms.layer.kind != "conv":
            return []
        c = self.d.reduction_factor
        out = [(forms.W, forms.weight_index, None,
                c * forms.weight_gradient + self.d.l2 * forms.W[forms.weight_index])]
        if forms.b is not None:
            out.append((forms.b, forms.out_index[:1], "unit", c * forms.bias_gradient))
        return out

    def gradients(self, number: int) -> list[Assignment]:
        return [Assignment(f"d{param.name}", self.printer().print_array(gradient, index, examples))
                for param, index, examples, gradient in self._gradient_forms(number)]

    def updates(self, number: int) -> list[tuple[str, str]]:
        """(param, θ − η ∂C/∂θ) of a conv layer, for sgd_step."""
        printer = self.printer({LEARNING_RATE: "learning_rate"})
        return [(param.name, printer.print_array(self.d.update_expr(param[index], gradient, LEARNING_RATE),
                                                 index, examples))
                for param, index, examples, gradient in self._gradient_forms(number)]

    # ---------------------------------------------------------- cost
    def cost_expr(self) -> str:
        """C = c Σ_i ℓ_i + (λ/2) Σ ‖W‖² over the dense and conv weights (pool layers have none)."""
        loss_row = sp.MatrixSymbol("loss_row", 1, M)
        weights = []
        for number in self.d.layer_numbers:
            layer = self.d.layer(number)
            if layer.kind == "pool":
                continue
            shape = layer.weight_shape if layer.kind == "conv" else (layer.units, self.d.width(number - 1))
            weights.append(symbols.matrix("W", number, shape[0], math.prod(shape[1:])))   # ‖W‖² of its entries
        expr = self.d.reduction_factor * sp.Trace(loss_row * sp.OneMatrix(M, 1)) + self.d.l2 / 2 * sp.Add(
            *[sp.Trace(W.T * W) for W in weights])
        return self.module.printer.doprint(expr)
