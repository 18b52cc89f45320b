"""A plain-text account of a derivation, for ``deltagen derive``: index and matrix forms."""
from __future__ import annotations

import sympy as sp

from ..derivation.backprop import Derivation


def _join(exprs, limit: int = 6) -> str:
    shown = [sp.sstr(e) for e in exprs[:limit]]
    return ", ".join(shown) + (f", ... ({len(exprs)} in all)" if len(exprs) > limit else "")


def describe(d: Derivation) -> str:
    """Forward equations, loss, δ^[L], the δ recurrence and the gradients, as text."""
    net = d.network
    open_, close = ("[", "]") if net.notation.brackets == "square" else ("(", ")")

    def sup(index: int) -> str:
        return f"{open_}{d.layer_number(index)}{close}"

    lines = [f"{net.name}: layers {'-'.join(map(str, net.sizes))}, loss {net.loss.name} "
             f"({net.loss.formula}), reduction {net.reduction}, l2 {net.l2}", "", "Forward:"]
    lines.append(f"  a{sup(0)} = x")
    for index, layer in enumerate(net.layers, start=1):
        b = f" + b{sup(index)}" if layer.bias else ""
        lines.append(f"  z{sup(index)} = W{sup(index)} a{sup(index - 1)}{b}")
        lines.append(f"  a{sup(index)} = {layer.activation.name}(z{sup(index)})")
    lines += ["", f"Loss per example: ℓ = {sp.sstr(d.loss)}", "", "Backward (index form):"]
    lines.append(f"  δ{sup(d.L)}_k = ∂ℓ/∂z{sup(d.L)}_k: {_join(d.output_delta)}")
    for index in range(d.L - 1, 0, -1):
        derivative = sp.sstr(d.hidden_derivative(index))
        lines.append(f"  δ{sup(index)}_j = g'(z{sup(index)}_j) Σ_k W{sup(index + 1)}_kj δ{sup(index + 1)}_k,"
                     f"  g' = {derivative}")
    for index in range(1, d.L + 1):
        lines.append(f"  ∂ℓ/∂W{sup(index)}_jk = δ{sup(index)}_j a{sup(index - 1)}_k"
                     + (f",  ∂ℓ/∂b{sup(index)}_j = δ{sup(index)}_j" if net.layers[index - 1].bias else ""))
    lines += ["", "Batch (matrix form, columns are examples; G = g'(Z), ⊙ = *):"]
    for index in range(d.L, 0, -1):
        forms = d.matrix(index)
        if forms.delta_expr is not None:
            lines.append(f"  {forms.Delta} = {sp.sstr(forms.delta_expr)}")
        lines.append(f"  ∂C/∂{forms.W} = {sp.sstr(forms.dW_expr)}")
        if forms.db_expr is not None:
            lines.append(f"  ∂C/∂{forms.b} = {sp.sstr(forms.db_expr)}")
    return "\n".join(lines)
