"""A plain-text account of a derivation, for ``deltagen derive``: index and matrix forms.

Every formula is printed by ``text.TextPrinter`` in the spec's notation (w[2]_11, δ[2]_1, ⊙, ᵀ);
the lines around them are the lectures' general forms, spelled with the same letters.
"""
from __future__ import annotations

import sympy as sp

from ..derivation import dropout, symbols
from ..derivation.backprop import Derivation
from ..model.activations import A as GENERIC_A, Z as GENERIC_Z
from . import describe_spatial as spatial_text
from .text import ONES, TextPrinter, text_printer
from .updates import schedule_line, settings, step_form, text_lines

#: the lectures' names of the built-in activations (a custom one is g)
_ACTIVATION_NAMES = {"sigmoid": "σ", "tanh": "tanh", "relu": "relu", "leaky_relu": "lrelu", "softmax": "softmax"}


def _join(p: TextPrinter, exprs: list[sp.Expr], limit: int = 6) -> str:
    shown = [p.doprint(e) for e in exprs[:limit]]
    return ", ".join(shown) + (f", ... ({len(exprs)} in all)" if len(exprs) > limit else "")


def _forward(d: Derivation, p: TextPrinter, layer: int) -> list[str]:
    """z[l] = W[l] a[l−1] + b[l] and a[l] = g(z[l]), with g written out where its name does not say it all."""
    sup = p.sup
    weights = p.doprint(d.matrix(layer).W)
    bias = f" + b{sup(layer)}" if d.layer(layer).bias else ""
    lines = [f"  z{sup(layer)} = {weights} a{sup(layer - 1)}{bias}"]
    activation = d.layer(layer).activation
    if activation.name == "identity":
        return lines + [f"  a{sup(layer)} = z{sup(layer)}"]
    name = _ACTIVATION_NAMES.get(activation.name, "g")
    line = f"  a{sup(layer)} = {name}(z{sup(layer)})"
    if not activation.is_softmax and p.doprint(activation.expr) != f"{name}(z)":
        line += f",  {name}(z) = {p.doprint(activation.expr)}"
    return lines + [line]


def _hidden_delta(d: Derivation, p: TextPrinter, layer: int) -> str:
    """δ[l]_j = g'(z[l]_j) Σ_k w[l+1]_kj δ[l+1]_k, with g'(z[l]_j) in its lecture form (1 − (a[l]_j)²)."""
    above, delta = layer + 1, p.delta_letter
    # real, as GENERIC_A/Z are: renaming nested functions to a symbol of other assumptions re-asks them
    # at every level (exponential in the nesting depth)
    unit = {GENERIC_A: sp.Symbol(f"a{p.sup(layer)}_j", real=True),
            GENERIC_Z: sp.Symbol(f"z{p.sup(layer)}_j", real=True)}
    derivative = p.doprint(d.hidden_derivative(layer).xreplace(unit))
    back_sum = f"Σ_k {p.weight_entry(above, 'k', 'j')} {delta}{p.sup(above)}_k"
    if d.layer(above).kind != "dense":
        back_sum = spatial_text.back_sum(d, p, layer)
        derivative = derivative.replace(f"{p.sup(layer)}_j", f"{p.sup(layer)}_u")
        return f"  {delta}{p.sup(layer)}_u = g'(z{p.sup(layer)}_u) · ({back_sum}),  g'(z{p.sup(layer)}_u) = {derivative}"
    return (f"  {delta}{p.sup(layer)}_j = g'(z{p.sup(layer)}_j) {back_sum},  "
            f"g'(z{p.sup(layer)}_j) = {derivative}")


def _batch(d: Derivation, p: TextPrinter, layer: int) -> list[str]:
    """Δ[l] (hidden layers), ∂C/∂W[l] and ∂C/∂b[l] over a batch, as the derivation's matrix calculus gives them."""
    forms = d.matrix(layer)
    lines = []
    if forms.delta_expr is not None:
        lines.append(f"  {p.doprint(forms.Delta)} = {p.doprint(forms.delta_expr)}")
    dW, dW_expr = symbols.matrix("dW", layer, *forms.W.shape), forms.dW_expr
    if p.transposed:   # the displayed ∂C/∂W is the transpose of the code's
        dW, dW_expr = dW.T, sp.Transpose(dW_expr).doit()
    lines.append(f"  {p.doprint(dW)} = {p.doprint(dW_expr)}")
    if forms.db_expr is not None:
        db = symbols.matrix("db", layer, *forms.b.shape)
        lines.append(f"  {p.doprint(db)} = {p.doprint(forms.db_expr)}")
    return lines


def _number(value: float) -> str:
    """A spec number as a person writes it: 0 for 0.0, 1e-8 for 1e-08 (the float's shortest decimal)."""
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa.removesuffix('.0')}e{int(exponent)}"
    return text.removesuffix(".0")


def _optimizer(d: Derivation, p: TextPrinter) -> list[str]:
    """The [optimizer] table's rule as one step (θ_t = θ_(t−1) − η g_t …), its decay and its numbers."""
    optimizer = d.network.optimizer
    form = step_form(optimizer)
    params = ", ".join(f"{letter}{p.sup(layer)}" for layer in d.layer_numbers if d.layer(layer).kind != "pool"
                       for letter in (p.weight_matrix_letter, "b") if letter != "b" or d.layer(layer).bias)
    zeros = " = ".join(form.text[s] for s in form.state)
    lines = [f"Update (optimizer {optimizer.kind}, torch.optim's rule), for each entry θ of {params} on its own; "
             f"g_t = ∂{p.cost}/∂θ at θ_(t−1), t = 1, 2, ...{f', {zeros} = 0' if zeros else ''}:"]
    lines += [f"  {line}" for line in text_lines(d.network.notation, form, form.lines)]
    schedule = schedule_line(optimizer, form)
    if schedule is not None:
        (line,) = text_lines(d.network.notation, form, [schedule])
        lines.append(f"  {line}  ({optimizer.decay.kind} decay; η_e is η in epoch e = 0, 1, ...)")
    lines.append("  " + ", ".join(f"{form.text[s]} = {_number(number)} ({key})" for key, s, number in settings(optimizer, form)))
    return lines


def describe(d: Derivation) -> str:
    """Forward equations, loss, δ^[L], the δ recurrence and the gradients, as text in the spec's notation."""
    net, p = d.network, text_printer(d)
    sup, delta = p.sup, p.delta_letter
    lines = [f"{net.name}: layers {'-'.join(map(str, net.sizes))}, loss {net.loss.name} "
             f"({net.loss.formula}), reduction {net.reduction}, l2 {net.l2}", "", "Forward:"]
    lines.append(f"  a{sup(d.input_number)} = x")
    for layer in d.layer_numbers:
        lines += _forward(d, p, layer) if d.layer(layer).kind == "dense" else spatial_text.forward_lines(d, p, layer)
    lines += ["", f"Loss per example: ℓ = {p.doprint(d.loss)}", "", "Backward (index form):"]
    lines.append(f"  {delta}{sup(d.last)}_k = ∂ℓ/∂z{sup(d.last)}_k: {_join(p, d.output_delta)}")
    for layer in reversed(d.layer_numbers[:-1]):
        lines.append(_hidden_delta(d, p, layer))
    for layer in d.layer_numbers:
        if d.layer(layer).kind != "dense":
            lines += spatial_text.gradient_lines(d, p, layer)
            continue
        weight = p.weight_entry(layer, "j", "k")
        lines.append(f"  ∂ℓ/∂{weight} = {delta}{sup(layer)}_j a{sup(layer - 1)}_k"
                     + (f",  ∂ℓ/∂b{sup(layer)}_j = {delta}{sup(layer)}_j" if d.layer(layer).bias else ""))
    lines += ["", f"Batch (matrix form, columns are examples; G{sup('l')} = g'(Z{sup('l')}) elementwise, "
                  f"⊙ the elementwise product, {ONES} a column of m ones, {net.notation.cost_symbol} the cost):"]
    for layer in reversed(d.layer_numbers):
        if d.layer(layer).kind != "dense" or d.layer(layer + 1 if layer < d.last else layer).kind != "dense":
            lines.append(f"  (layer {layer}: conv and pool layers and the layers below them have their index form "
                         f"above; their batch form comes with their code)")
            continue
        lines += _batch(d, p, layer)
    if net.has_dropout:
        lines += [""] + _dropout(d, p)
    if net.optimizer.given:   # without an [optimizer] table the update is the caller's (η given at call time)
        lines += [""] + _optimizer(d, p)
    return "\n".join(lines)


def _dropout(d: Derivation, p: TextPrinter) -> list[str]:
    """Each dropout layer's kept activations and masked δ (unit 1; the others alike), and where ã is read."""
    sup, delta = p.sup, p.delta_letter
    lines = ["Dropout in training (inverted; D the unit's 0/1 mask, 1 with probability 1 − p; none at inference):"]
    for layer in dropout.dropout_layers(d):
        lines.append(f"  layer {layer}, p = {d.layer(layer).dropout!r}:  ã{sup(layer)}_1 = "
                     f"{p.doprint(dropout.kept_index(d, layer)[0])},  {delta}{sup(layer)}_1 = "
                     f"{p.doprint(dropout.delta_index(d, layer)[0])}")
        weights = p.doprint(d.matrix(layer + 1).W)
        lines.append(f"    layer {layer + 1} reads ã{sup(layer)}:  z{sup(layer + 1)} = {weights} ã{sup(layer)}"
                     f"{' + b' + sup(layer + 1) if d.layer(layer + 1).bias else ''},  "
                     f"∂ℓ/∂{p.weight_entry(layer + 1, 'j', 'k')} = {delta}{sup(layer + 1)}_j ã{sup(layer)}_k")
    return lines
