"""Prepare the strings of a generated NumPy module from a ``Derivation``.

Every formula line is printed from a SymPy expression of the derivation (made
stable by ``derive.derivation.stable``); the template ``templates/module.py.jinja``
only arranges them into functions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

from deltagen.derive.model.activations import A as GENERIC_A, Z as GENERIC_Z
from deltagen.derive.derivation import dropout
from deltagen.derive.derivation.backprop import LAMBDA, M, Derivation
from deltagen.derive.derivation.stable import stabilize, stabilize_branched

from .config import NumpyConfig
from .inplace import NotInPlace, matmul_into, update_in_place
from .parts import Assignment
from .printer import NumpyCodePrinter
from .spatial_lines import SpatialLines
from .training import optimizer_context
from .vectorize import UnitGroups, Vectorizer

LEARNING_RATE = sp.Symbol("learning_rate", positive=True)


@dataclass(frozen=True)
class ParamInfo:
    name: str
    shape: tuple[int, ...]   # dense (n, n_prev); conv W (C_out, C_in, kH, kW), b (C_out, 1)
    is_bias: bool
    init_value: str   # weights: r of U[−r, r] or σ of N(0, σ²) (the spec's init), printed; "0.0" for biases


def _loss_needs_z(expr: sp.Expr) -> bool:
    """Losses with logs or exponentials of the output are evaluated from z, where they can be stabilised."""
    return expr.has(sp.log, sp.exp)


class NumpyModule:
    """The pieces of one generated module, as plain strings and lists for the template."""

    def __init__(self, derivation: Derivation, config: NumpyConfig = NumpyConfig()) -> None:
        self.d = derivation
        self.net = derivation.network
        self.config = config
        self.spatial = SpatialLines(self)     # conv and pool layers: spatial_lines prints them
        self.printer = NumpyCodePrinter({LAMBDA: "L2", **self.spatial.flat_names()})

    # ----------------------------------------------------------- helpers
    def params(self) -> list[ParamInfo]:
        out = []
        init = self.net.init
        for layer in self.d.layer_numbers:
            if self.spatial.is_spatial(layer):
                out += self.spatial.params(layer, ParamInfo)
                continue
            n, n_prev = self.d.width(layer), self.d.width(layer - 1)
            value = repr(init.as_float(fan_in=n_prev, fan_out=n))   # the same double the C prints
            out.append(ParamInfo(f"W{layer}", (n, n_prev), False, value))
            if self.d.layer(layer).bias:
                out.append(ParamInfo(f"b{layer}", (n, 1), True, "0.0"))
        return out

    def _output_units(self) -> UnitGroups:
        last = self.d.last
        s = self.d.symbols(last)
        return UnitGroups([(s.a, f"A{last}"), (s.z, f"Z{last}"), (self.d.y, "Y")], len(s.a))

    # ----------------------------------------------------------- forward
    def _elementwise(self, target: str, expr: sp.Expr, names: dict[sp.Basic, str]) -> list[Assignment]:
        """``target = expr`` over whole arrays, shared subexpressions first (the branched sigmoid's e^{−|z|})."""
        temps, (reduced,) = sp.cse([expr], symbols=sp.numbered_symbols(f"{target}_t"), order="none")
        printer = NumpyCodePrinter(names)
        lines = []
        for symbol, value in temps:
            lines.append(Assignment(symbol.name, printer.doprint(value)))
            printer.names[symbol] = symbol.name
        return lines + [Assignment(target, printer.doprint(reduced))]

    def _reads(self, layer: int) -> tuple[sp.MatrixExpr, sp.MatrixExpr]:
        """(z_expr, dW_expr) of layer number ``layer``: reading Ã (the kept activations) above a dropout layer."""
        below = layer - 1
        if below != self.d.input_number and self.d.layer(below).dropout:
            forms = dropout.matrix(self.d, below)
            return forms.next_z_expr, forms.next_dW_expr
        forms = self.d.matrix(layer)
        return forms.z_expr, forms.dW_expr

    def _dropout_lines(self, layer: int) -> list[Assignment]:
        """K = D / (1 − p) from the caller's masks (1: no dropout without masks, as at inference), then Ã = A ⊙ K."""
        forms = dropout.matrix(self.d, layer)
        masks = NumpyCodePrinter({forms.D: f'masks["{forms.D.name}"]'}).doprint(forms.K_expr)
        return [Assignment(forms.K.name, f"1.0 if masks is None else {masks}"),
                Assignment(forms.kept.name, self.printer.doprint(forms.kept_expr))]

    def forward_lines(self) -> list[Assignment]:
        """Z then A of every layer, input to output (and Ã of each dropout layer)."""
        lines = []
        for layer in self.d.layer_numbers:
            if self.spatial.is_spatial(layer):
                lines += self.spatial.forward(layer)
                continue
            forms = self.d.matrix(layer)
            lines.append(Assignment(forms.Z.name, self.printer.doprint(self._reads(layer)[0])))
            activation = self.d.layer(layer).activation
            if activation.is_softmax:
                vectorizer = Vectorizer(self._output_units(), prefix=f"softmax{layer}_")
                outputs = [stabilize_branched(e) for e in self.d.a_index(layer)]
                body = vectorizer.normalized(forms.A.name, outputs) or vectorizer.vector(forms.A.name, outputs)
                # the reductions (max, then Σ e^{z−max}) are computed before the outputs that use them
                lines += vectorizer.reduction_lines() + body
            else:
                lines += self._elementwise(forms.A.name, stabilize_branched(activation.expr), {GENERIC_Z: forms.Z.name})
            if self.d.layer(layer).dropout:
                lines += self._dropout_lines(layer)
        return lines

    # -------------------------------------------------------------- loss
    def loss_lines(self) -> list[Assignment]:
        """Lines computing ``loss_row``, the (1, m) per-example losses."""
        loss = self.d.loss
        if _loss_needs_z(loss):
            s = self.d.symbols(self.d.last)
            loss = loss.xreplace(dict(zip(s.a, self.d.a_index(self.d.last))))
        vectorizer = Vectorizer(self._output_units(), prefix="loss_sum")
        body = vectorizer.row("loss_row", stabilize(loss))
        return vectorizer.reduction_lines() + body

    def cost_expr(self) -> str:
        if self.spatial.numbers:
            return self.spatial.cost_expr()
        loss_row = sp.MatrixSymbol("loss_row", 1, M)
        return self.printer.doprint(self.d.cost_matrix_expr(loss_row))

    # ---------------------------------------------------------- backward
    def delta_lines(self) -> list[Assignment]:
        """Lines computing Δ of every layer, output first (the δ recurrence)."""
        vectorizer = Vectorizer(self._output_units(), prefix="delta_sum")
        out_forms = self.d.matrix(self.d.last)
        body = vectorizer.vector(out_forms.Delta.name, [stabilize(e) for e in self.d.output_delta])
        lines = vectorizer.reduction_lines() + body
        for layer in reversed(self.d.layer_numbers[:-1]):
            if self.spatial.is_spatial(layer):
                lines += self.spatial.delta(layer)
                continue
            forms = self.d.matrix(layer)
            derivative = self.d.hidden_derivative(layer)
            printer = NumpyCodePrinter({GENERIC_A: forms.A.name, GENERIC_Z: forms.Z.name})
            lines.append(Assignment(forms.G.name, printer.doprint(stabilize(derivative))))
            delta = dropout.matrix(self.d, layer).delta_expr if self.d.layer(layer).dropout else forms.delta_expr
            lines.append(Assignment(forms.Delta.name, self.printer.doprint(delta)))
        return lines

    def gradient_lines(self) -> list[Assignment]:
        """Lines computing dW and db of every layer from the Δs."""
        lines = []
        for layer in reversed(self.d.layer_numbers):
            if self.spatial.is_spatial(layer):
                lines += self.spatial.gradients(layer)
                continue
            forms = self.d.matrix(layer)
            lines.append(Assignment(f"d{forms.W.name}", self.printer.doprint(self._reads(layer)[1])))
            if forms.db_expr is not None:
                lines.append(Assignment(f"d{forms.b.name}", self.printer.doprint(forms.db_expr)))
        return lines

    def backward_lines(self) -> list[tuple[str, str]]:
        """(key, value) of backward()'s dict: ∂C/∂Z^[l] of every layer, output first, then ∂C/∂X.

        The Δ the δ lines compute is ∂(Σ_i ℓ_i)/∂Z (column i is example i's δ); C = c Σ_i ℓ_i + (λ/2) Σ ‖W‖²
        and the L2 term does not depend on Z or X, so ∂C/∂Z = c Δ, and ∂C/∂X = c ∂tr(Δᵀ Z)/∂X = c Wᵀ Δ
        of the first layer (the same matrix calculus as the δ recurrence).
        """
        c = self.d.reduction_factor
        out = [self.spatial.backward_key(layer) if self.spatial.is_spatial(layer) else
               (f"Delta{layer}", self.printer.doprint(c * self.d.matrix(layer).Delta))
               for layer in reversed(self.d.layer_numbers)]
        if self.spatial.is_spatial(self.d.first):
            return out + [("dX", self.spatial.input_gradient())]
        first = self.d.matrix(self.d.first)
        input_gradient = c * sp.Trace(first.Delta.T * first.z_expr).diff(first.A_prev)
        return out + [("dX", self.printer.doprint(input_gradient))]

    def update_lines(self) -> list[tuple[str, str]]:
        """(param name, its updated value θ − η ∂C/∂θ with the gradient's matrix form substituted) for sgd_step.

        Substituting (and expanding) lets NumPy scale Δ before the product and
        skip the gradient array: one pass over each weight matrix fewer.
        """
        out = []
        printer = NumpyCodePrinter(dict(self.printer.names))
        for layer in self.d.layer_numbers:
            if self.spatial.is_spatial(layer):
                out += self.spatial.updates(layer)
                continue
            forms = self.d.matrix(layer)
            for param, gradient in ((forms.W, self._reads(layer)[1]), (forms.b, forms.db_expr)):
                if gradient is not None:
                    out.append((param.name, printer.doprint(self.d.update_expr(param, gradient, LEARNING_RATE).expand())))
        return out

    def in_place_update_lines(self) -> list[str] | None:
        """sgd_step's updates as in-place lines on train's own params (None: a form they do not handle)."""
        names = {p.name for p in self.params()}
        try:
            return [line for name, value in self.update_lines()
                    for line in update_in_place(name, value, names, f'work["{name}"]')]
        except NotInPlace:
            return None

    def in_place_gradient_lines(self) -> list[str]:
        """gradients()'s lines with each dθ = l @ r written into out["θ"]."""
        names = {p.name for p in self.params()}
        return [matmul_into(s.target, s.value, f'out["{s.target[1:]}"]') if s.target[1:] in names and s.op == "=" else
                f"{s.target} {s.op} {s.value}" for s in self.gradient_lines()]

    # ---------------------------------------------------------- context
    def context(self) -> dict:
        net = self.net
        layers = []
        for number in self.d.layer_numbers:
            layer = self.d.layer(number)
            layers.append({
                "number": number, "units": layer.units, "activation": layer.activation.name,
                "bias": layer.bias, "kind": self.spatial.describe(number) if self.spatial.numbers else None,
            })
        return {
            "name": net.name,
            "sizes": list(net.sizes),
            "input_shape": list(net.input_shape or (net.n_in,)),
            "activations": [layer.activation.name for layer in net.layers],
            "layers": layers,
            "input_number": self.d.input_number,
            "output_number": self.d.last,
            "loss": net.loss.name,
            "loss_formula": net.loss.formula,
            "targets_sum_to_one": net.loss.targets_sum_to_one,
            "reduction": net.reduction,
            "l2": repr(float(net.l2)),
            "params": self.params(),
            "forward_lines": self.forward_lines(),
            "loss_lines": self.loss_lines(),
            "cost_expr": self.cost_expr(),
            "delta_lines": self.delta_lines(),
            "gradient_lines": self.gradient_lines(),
            "backward_lines": self.backward_lines(),
            "backward_columns": {"mean": "example i's δ[l] = ∂ℓ_i/∂z[l] divided by m (C is the mean of the losses)",
                                 "sum": "example i's δ[l] = ∂ℓ_i/∂z[l] (C is the sum of the losses)"}[net.reduction],
            "update_lines": self.update_lines(),
            "in_place_update_lines": self.in_place_update_lines(),
            "in_place_gradient_lines": self.in_place_gradient_lines(),
            "dropout": [{"key": f"D{layer}", "p": repr(self.d.layer(layer).dropout), "units": self.d.width(layer)}
                        for layer in dropout.dropout_layers(self.d)],
            "dtype": self.config.dtype,
            "init_name": net.init.name,
            "init_distribution": net.init.distribution,
            "init_formula": net.init.formula,
            "init_draws": net.init.draws * sum(math.prod(p.shape) for p in self.params() if not p.is_bias),
            "spatial": bool(self.spatial.numbers),
            **optimizer_context(net.optimizer),
        }
