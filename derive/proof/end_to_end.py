"""The end-to-end proof (small nets): the whole network's loss, differentiated, is backprop's gradient.

The loss of the composed network, for one symbolic example, is differentiated with respect to
every parameter (``ForwardDiff``: the rules ``sympy.diff`` applies, each repeated subterm once) and
compared with backprop's gradient exactly; a wrong gradient is first looked for numerically, so
that it fails at once. Then the batch cost (mean or sum, plus L2) is shown to differentiate to the
reduction of the per-example gradients.
"""
from __future__ import annotations

import sympy as sp

from ..derivation import dropout
from ..derivation.backprop import Derivation
from .differentiate import ForwardDiff, opaque_activation, targets_constraint
from .rational_functions import RationalFunctions
from .refute import counterexample
from .report import Identity, ProofReport, verdict
from .zero_test import Atoms, is_zero, shared_sums, simplifies_to_zero


def end_to_end(d: Derivation, report: ProofReport) -> None:
    """Differentiate the whole network's loss for one symbolic example; compare with backprop.

    Then the batch assembly: with each example's loss ℓ_i an arbitrary function of
    the parameters, ∂/∂θ [c Σ_i ℓ_i + (λ/2) Σ‖W‖²] = c Σ_i ∂ℓ_i/∂θ + λθ.
    """
    params = _parameters(d)
    values, functions = _composed_network(d)
    # for targets summing to 1, y_n = 1 − Σ_{k<n} y_k in the loss and in δ^[L], the only places y occurs
    constraint = targets_constraint(d, d.y)
    loss = d.loss.xreplace(constraint).xreplace(values)   # y is in the formulas, not in the values
    backprop = _backprop_gradients(d, values, constraint)
    report.identities.append(_network_identity(loss, backprop, params, functions, d.network.has_dropout))
    report.identities.append(_batch_identity(d, params))
    report.end_to_end = True


def _parameters(d: Derivation) -> list[sp.Symbol]:
    """Every weight and bias, layer by layer."""
    params: list[sp.Symbol] = []
    for layer in d.layer_numbers:
        s = d.symbols(layer)
        params += list(s.W) + list(s.b or ())
    return params


def _composed_network(d: Derivation) -> tuple[dict[sp.Symbol, sp.Expr], dict[type, sp.Expr]]:
    """Each z and a as an expression in the input and the parameters; and each hidden activation, kept
    opaque as g_l (``opaque_activation``), with its expression in z."""
    values: dict[sp.Symbol, sp.Expr] = {}
    functions: dict[type, sp.Expr] = {}
    for layer in d.layer_numbers:
        s = d.symbols(layer)
        kept = dropout.reads(d, layer)   # below a dropout layer: ã = a K, the masks D kept as symbols
        z = [e.xreplace(kept).xreplace(values) for e in d.z_index(layer)]
        values.update(zip(s.z, z))
        if layer < d.last:
            activation = d.layer(layer).activation
            g = opaque_activation(f"g{layer}", activation)
            functions[g] = activation.expr
            values.update(zip(s.a, [g(zj) for zj in z]))
        else:
            values.update(zip(s.a, d.a_index(layer, tuple(z))))
    return values, functions


def _backprop_gradients(d: Derivation, values: dict[sp.Symbol, sp.Expr],
                        constraint: dict[sp.Symbol, sp.Expr]) -> dict[sp.Symbol, sp.Expr]:
    """Backprop's gradient of every parameter, each δ replaced by its expression in the composed network."""
    values = dict(values)
    backprop: dict[sp.Symbol, sp.Expr] = {}
    for layer in reversed(d.layer_numbers):
        s = d.symbols(layer)
        deltas = dropout.training_delta_index(d, layer)
        values.update(zip(s.delta, [e.xreplace(constraint).xreplace(values) for e in deltas]))
        for j in range(s.W.rows):
            for k in range(s.W.cols):
                backprop[s.W[j, k]] = dropout.training_grad_W_entry(d, layer, j, k).xreplace(values)
        for j, bj in enumerate(s.b or ()):
            backprop[bj] = values[s.delta[j]]
    return backprop


def _network_identity(loss: sp.Expr, backprop: dict[sp.Symbol, sp.Expr], params: list[sp.Symbol],
                      functions: dict[type, sp.Expr], masks: bool = False) -> Identity:
    """∂ℓ/∂θ of the composed loss equals backprop's gradient, for every parameter θ."""
    atoms = Atoms()   # the subterms (g_l(z), exp(z), …) recur in every parameter's identity
    diff = ForwardDiff()
    direct = [atoms(diff(loss, p)) for p in params]
    derived = [atoms(backprop[p]) for p in params]
    abstracted = [a - b for a, b in zip(direct, derived)]
    # first with the sums both sides share (g_l'(z) = 1 − a², …) taken as leaves, so that long products
    # of them down a deep net are never multiplied out; then, for any identity left, exactly
    shared = shared_sums(abstracted, direct, derived)
    first = RationalFunctions(abstracted, shared)
    exact: list[RationalFunctions] = [] if shared else [first]

    def holds(i: int) -> bool:
        if abstracted[i] == 0 or first.zero(abstracted[i]):
            return True
        # a wrong gradient is shown wrong at once by a counterexample (a few hundredths of a second)
        difference = diff(loss, params[i]) - backprop[params[i]]
        if counterexample(difference, functions):
            return False
        if not exact:
            exact.append(RationalFunctions(abstracted))
        # exactly, every sum multiplied out; failing that (a relation such as |u|² = u² is needed), simplify
        # on the whole expression (slow)
        return exact[0].zero(abstracted[i]) or simplifies_to_zero(difference)

    ok = all(holds(i) for i in range(len(params)))
    fixed = " with the dropout masks fixed (as symbols)" if masks else ""
    return Identity(
        f"∂ℓ/∂θ = backprop's gradient for all {len(params)} parameters, through the whole network{fixed}",
        "chain rule through the composed loss, sympy.diff of each function", verdict(ok), count=len(params))


def _batch_identity(d: Derivation, params: list[sp.Symbol]) -> Identity:
    """∂C/∂θ is the reduction (mean or sum) of the per-example gradients, plus λθ for weights."""
    m = 3  # any batch size: the identity is linear in the examples
    c = d.reduction_factor.subs(sp.Symbol("m", integer=True, positive=True), m)
    losses = [sp.Function(f"ell_{i + 1}")(*params) for i in range(m)]
    weights = [w for layer in d.layer_numbers for w in d.symbols(layer).W]
    cost = c * sp.Add(*losses) + d.l2 / 2 * sp.Add(*[w ** 2 for w in weights])
    ok = all(is_zero(sp.diff(cost, p) - c * sp.Add(*[sp.diff(l, p) for l in losses])
                     - (d.l2 * p if p in weights else 0)) for p in params)
    reduction = "(1/m) Σ_i" if d.network.reduction == "mean" else "Σ_i"
    return Identity(
        f"∂C/∂θ = {reduction} ∂ℓ_i/∂θ" + (" + λθ for weights" if d.l2 != 0 else ""),
        "sympy.diff of the batch cost", verdict(ok), count=len(params))
