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

    def sup(layer: int) -> str:
        return f"{open_}{layer}{close}"

    lines = [f"{net.name}: layers {'-'.join(map(str, net.sizes))}, loss {net.loss.name} "
             f"({net.loss.formula}), reduction {net.reduction}, l2 {net.l2}", "", "Forward:"]
    lines.append(f"  a{sup(d.input_number)} = x")
    for layer in d.layer_numbers:
        b = f" + b{sup(layer)}" if d.layer(layer).bias else ""
        lines.append(f"  z{sup(layer)} = W{sup(layer)} a{sup(layer - 1)}{b}")
        lines.append(f"  a{sup(layer)} = {d.layer(layer).activation.name}(z{sup(layer)})")
    lines += ["", f"Loss per example: ℓ = {sp.sstr(d.loss)}", "", "Backward (index form):"]
    lines.append(f"  δ{sup(d.last)}_k = ∂ℓ/∂z{sup(d.last)}_k: {_join(d.output_delta)}")
    for layer in reversed(d.layer_numbers[:-1]):
        derivative = sp.sstr(d.hidden_derivative(layer))
        lines.append(f"  δ{sup(layer)}_j = g'(z{sup(layer)}_j) Σ_k W{sup(layer + 1)}_kj δ{sup(layer + 1)}_k,"
                     f"  g' = {derivative}")
    for layer in d.layer_numbers:
        lines.append(f"  ∂ℓ/∂W{sup(layer)}_jk = δ{sup(layer)}_j a{sup(layer - 1)}_k"
                     + (f",  ∂ℓ/∂b{sup(layer)}_j = δ{sup(layer)}_j" if d.layer(layer).bias else ""))
    lines += ["", "Batch (matrix form, columns are examples; G = g'(Z), ⊙ = *):"]
    for layer in reversed(d.layer_numbers):
        forms = d.matrix(layer)
        if forms.delta_expr is not None:
            lines.append(f"  {forms.Delta} = {sp.sstr(forms.delta_expr)}")
        lines.append(f"  ∂C/∂{forms.W} = {sp.sstr(forms.dW_expr)}")
        if forms.db_expr is not None:
            lines.append(f"  ∂C/∂{forms.b} = {sp.sstr(forms.db_expr)}")
    return "\n".join(lines)
