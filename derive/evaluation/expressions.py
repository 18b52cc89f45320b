"""Each step of a forward and backward pass as SymPy: the symbols it reads and the expressions it computes.

Every step is one of the derivation's own index-form expressions (``z_index``, ``a_index``, ``loss``,
``output_delta``, ``delta_index``, ``delta_factors``, ``grad_W_index``, ``grad_b_index``, ``update_expr``).
``Steps`` compiles them; the formula checker compares claimed formulas with the same expressions.
"""
from __future__ import annotations

import functools

import sympy as sp

from ..derivation.backprop import Derivation
from ..derivation.symbols import WeightSymbols
from ..model.activations import A as GENERIC_A, Z as GENERIC_Z

#: (the symbols a step reads, the expressions it computes)
Step = tuple[list[sp.Symbol], list[sp.Expr]]

#: the scalar symbols of one gradient-descent update, θ ← θ − η g
THETA, GRADIENT, ETA = sp.symbols("theta gradient eta", real=True)


def weights(W: sp.Matrix | sp.Array) -> list[sp.Symbol]:
    """A layer's weight symbols in C order: a dense (n_l, n_{l−1}) matrix row by row, a conv layer's
    (C_out, C_in, kH, kW) array likewise, a pool layer's (n_l, 0) none."""
    return list(W) if isinstance(W, (sp.MatrixBase, WeightSymbols)) else list(_array_entries(W))


@functools.lru_cache(maxsize=256)
def _array_entries(W: sp.NDimArray) -> tuple[sp.Symbol, ...]:
    """An (immutable, hashable) conv weight array's entries in C order, once: sympy.flatten takes milliseconds."""
    return tuple(sp.flatten(W))


def z(d: Derivation, layer: int) -> Step:
    """z^[l] = W a^[l−1] + b (conv: the correlation with the kernel; pool: the max or mean of each window)."""
    s = d.symbols(layer)
    return list(d.activations_of(layer - 1)) + weights(s.W) + (list(s.b) if s.b else []), d.z_index(layer)


def a(d: Derivation, layer: int) -> Step:
    """a^[l] = g(z^[l])."""
    return list(d.symbols(layer).z), d.a_index(layer)


def loss(d: Derivation) -> Step:
    """ℓ(a^[L], y) of one example."""
    return list(d.symbols(d.last).a) + list(d.y), [d.loss]


def output_delta(d: Derivation) -> Step:
    """δ^[L], simplified."""
    s = d.symbols(d.last)
    return list(s.a) + list(s.z) + list(d.y), list(d.output_delta)


def hidden_delta(d: Derivation, layer: int) -> Step:
    """δ^[l] = g'(z^[l]) ⊙ W^[l+1]ᵀ δ^[l+1] (below a conv or pool layer: what ``spatial`` sends back)."""
    s, nxt = d.symbols(layer), d.symbols(layer + 1)
    return list(s.a) + list(s.z) + weights(nxt.W) + list(nxt.delta), d.delta_index(layer)


def loss_gradient(d: Derivation) -> Step:
    """∂ℓ/∂a^[L]."""
    return list(d.symbols(d.last).a) + list(d.y), list(d.loss_gradient)


def activation_derivative(d: Derivation, layer: int) -> Step:
    """g'(z^[l]) unit by unit, in the activation's lecture form (elementwise activations only)."""
    s = d.symbols(layer)
    derivative = d.hidden_derivative(layer)
    return list(s.a) + list(s.z), [derivative.subs({GENERIC_A: s.a[j], GENERIC_Z: s.z[j]})
                                   for j in range(len(s.z))]


def output_jacobian(d: Derivation) -> Step:
    """∂a_j^[L]/∂z_k^[L], row by row."""
    s = d.symbols(d.last)
    return list(s.a) + list(s.z), list(d.output_jacobian)


def back_sum(d: Derivation, layer: int) -> Step:
    """Σ_k W_kj^[l+1] δ_k^[l+1] per unit j: the second factor of δ^[l]'s recurrence. Below a max-pool layer
    it also reads a^[l] (which entry of each window is its first maximum)."""
    nxt = d.symbols(layer + 1)
    reads = list(d.symbols(layer).a) if d.layer(layer + 1).kind == "pool" else []
    return reads + weights(nxt.W) + list(nxt.delta), [back for _, back in d.delta_factors(layer)]


def grad_W(d: Derivation, layer: int) -> Step | None:
    """∂ℓ/∂W^[l] of one example, in C order of W (conv: ``parameter_gradients``); None for a pool layer."""
    s, kind = d.symbols(layer), d.layer(layer).kind
    reads = list(s.delta) + list(d.activations_of(layer - 1))
    if kind == "pool":
        return None
    if kind == "conv":
        gradients = d.parameter_gradients(layer)
        return reads, [gradients[w] for w in weights(s.W)]
    return reads, list(d.grad_W_index(layer))


def grad_b(d: Derivation, layer: int) -> Step | None:
    """∂ℓ/∂b^[l] of one example (conv: one per channel); None for a layer without bias."""
    s = d.symbols(layer)
    if d.layer(layer).kind == "conv":
        if s.b is None:
            return None
        gradients = d.parameter_gradients(layer)
        return list(s.delta), [gradients[b] for b in s.b]
    exprs = d.grad_b_index(layer)
    return None if exprs is None else (list(s.delta), exprs)


def update(d: Derivation) -> Step:
    """θ − η ∂C/∂θ for one parameter, from ``update_expr``."""
    return [THETA, GRADIENT, ETA], [d.update_expr(THETA, GRADIENT, ETA)]
