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
from ..model.activations import A as GENERIC_A, Z as GENERIC_Z
from . import pool_regions
from .differentiate import ForwardDiff, opaque_activation, opaque_derivative_activation, targets_constraint
from .rational_functions import RationalFunctions
from .refute import counterexample
from .report import Identity, ProofReport, verdict
from .zero_test import Atoms, is_zero, shared_sums, simplifies_to_zero


def end_to_end(d: Derivation, report: ProofReport) -> None:
    """Differentiate the whole network's loss for one symbolic example; compare with backprop.

    Then the batch assembly: with each example's loss ℓ_i an arbitrary function of
    the parameters, ∂/∂θ [c Σ_i ℓ_i + (λ/2) Σ‖W‖²] = c Σ_i ∂ℓ_i/∂θ + λθ. For a net with conv or
    pool layers, also δ^[l] = ∂ℓ/∂z^[l] for every hidden layer (a conv layer's bias gradient sums δ
    over positions and a pool layer has none, so the parameters alone do not pin each δ down).
    """
    params = _parameters(d)
    opaque: dict[int, type] = {}
    pools = {layer: pool_regions.max_pool_z(d, layer)
             for layer in d.layer_numbers if pool_regions.is_max_pool(d, layer)}
    forms = {layer: pools[layer][0] if layer in pools else d.z_index(layer) for layer in d.layer_numbers}
    values, functions = _composed_network(d, forms, opaque=opaque)
    # for targets summing to 1, y_n = 1 − Σ_{k<n} y_k in the loss and in δ^[L], the only places y occurs
    constraint = targets_constraint(d, d.y)
    loss = d.loss.xreplace(constraint).xreplace(values)   # y is in the formulas, not in the values
    backprop, with_deltas, determined = _backprop_gradients(d, values, constraint, opaque)
    determined &= all(ok for _, ok in pools.values())
    regions = pool_regions.WORDING if pools else ""
    atoms = Atoms()   # one naming of the subterms for every identity below: they share most of them
    report.identities.append(_network_identity(loss, backprop, params, functions, d.network.has_dropout,
                                               regions, determined, atoms))
    if d.network.has_spatial_layers:
        for layer in d.layer_numbers[:-1]:
            report.identities.append(_delta_identity(d, layer, forms, with_deltas, constraint, opaque, functions,
                                                     regions, determined, atoms))
    report.identities.append(_batch_identity(d, params))
    report.end_to_end = True


def _delta_identity(d: Derivation, layer: int, forms: dict[int, list[sp.Expr]], values: dict[sp.Symbol, sp.Expr],
                    constraint: dict[sp.Symbol, sp.Expr], opaque: dict[int, type], functions: dict[type, sp.Expr],
                    regions: str, determined: bool, atoms: Atoms) -> Identity:
    """δ^[l]_j = ∂ℓ/∂z^[l]_j: the loss composed on the free z^[l] is differentiated, then z^[l] composed from
    below, and compared with backprop's δ^[l] in the composed network."""
    s = d.symbols(layer)
    upper, _ = _composed_network(d, forms, start=layer, opaque=opaque)
    loss = d.loss.xreplace(constraint).xreplace(upper)
    diff = ForwardDiff()
    below = {zj: values[zj] for zj in s.z}
    direct = [diff(loss, zj).xreplace(below) for zj in s.z]
    ok = determined and _all_equal(direct, [values[dj] for dj in s.delta], functions, atoms)
    return Identity(f"{d.layer(layer).kind}[{layer}]: δ[{layer}]_j = ∂ℓ/∂z[{layer}]_j for all {len(s.z)} units, "
                    f"through the layers above{regions}",
                    "chain rule through the composed loss, sympy.diff of each function",
                    verdict(ok), count=len(s.z), scope="end-to-end")


def _parameters(d: Derivation) -> list[sp.Symbol]:
    """Every weight and bias, layer by layer."""
    params: list[sp.Symbol] = []
    for layer in d.layer_numbers:
        s = d.symbols(layer)
        params += list(sp.flatten(s.W)) + list(s.b or ())   # conv W is an array (C_out, C_in, kH, kW)
    return params


def _composed_network(d: Derivation, forms: dict[int, list[sp.Expr]] | None = None, start: int | None = None,
                      opaque: dict[int, type] | None = None) -> tuple[dict[sp.Symbol, sp.Expr], dict[type, sp.Expr]]:
    """Each z and a as an expression in the input and the parameters; and each hidden activation, kept
    opaque as g_l (``opaque_activation``), with its expression in z. ``forms``: each layer's z in the
    symbols of the layer below (default ``z_index``; a max pool's is its region form, ``pool_regions``).
    From layer number ``start`` on, if given: its z stay free symbols, the layers above are composed on
    them. A pool layer's a is its z. ``opaque`` keeps each layer's g_l for later calls."""
    values: dict[sp.Symbol, sp.Expr] = {}
    functions: dict[type, sp.Expr] = {}
    opaque = {} if opaque is None else opaque
    for layer in d.layer_numbers[d.layer_numbers.index(d.first if start is None else start):]:
        s = d.symbols(layer)
        kept = dropout.reads(d, layer)   # below a dropout layer: ã = a K, the masks D kept as symbols
        form = d.z_index(layer) if forms is None else forms[layer]
        z = list(s.z) if layer == start else [e.xreplace(kept).xreplace(values) for e in form]
        if layer != start:
            values.update(zip(s.z, z))
        if d.layer(layer).kind == "pool":
            values.update(zip(s.a, z))
        elif layer < d.last:
            activation = d.layer(layer).activation
            if layer not in opaque:
                opaque[layer] = _opaque_activation(d, layer)
            g = opaque[layer]
            functions[g] = activation.expr
            if hasattr(g, "derivative"):
                functions[g.derivative] = activation.derivative
            values.update(zip(s.a, [g(zj) for zj in z]))
        else:
            values.update(zip(s.a, d.a_index(layer, tuple(z))))
    return values, functions


def _opaque_activation(d: Derivation, layer: int) -> type[sp.Function]:
    """The opaque g_l of a hidden layer; with a piecewise g′ in a conv net, g′ opaque too (``g.derivative``)."""
    activation = d.layer(layer).activation
    if d.network.has_spatial_layers and activation.lecture_derivative.has(sp.Piecewise):
        g, derivative = opaque_derivative_activation(f"g{layer}")
        g.derivative = derivative
        return g
    return opaque_activation(f"g{layer}", activation)


def _opaque_derivatives(d: Derivation, layer: int, opaque: dict[int, type]) -> dict[sp.Expr, sp.Expr]:
    """g′(z_j) in the claim's δ^[l] → the opaque g′(z_j), where g′ is opaque: only the lecture form that
    identity 1 proved equal to sympy.diff of g (a claim with another g′ keeps it, and is compared as it is)."""
    g = opaque.get(layer)
    if g is None or not hasattr(g, "derivative"):
        return {}
    s, lecture = d.symbols(layer), d.layer(layer).activation.lecture_derivative
    return {lecture.subs({GENERIC_A: a, GENERIC_Z: z}): g.derivative(z) for a, z in zip(s.a, s.z)}


def _backprop_gradients(d: Derivation, values: dict[sp.Symbol, sp.Expr], constraint: dict[sp.Symbol, sp.Expr],
                        opaque: dict[int, type]) -> tuple[dict[sp.Symbol, sp.Expr], dict[sp.Symbol, sp.Expr], bool]:
    """Backprop's gradient of every parameter, each δ replaced by its expression in the composed network; the
    values with every δ; and whether the δ below each max pool is decided region by region (``pool_regions``)."""
    values = dict(values)
    backprop: dict[sp.Symbol, sp.Expr] = {}
    determined = True
    for layer in reversed(d.layer_numbers):
        s = d.symbols(layer)
        deltas = dropout.training_delta_index(d, layer)
        if layer < d.last and pool_regions.is_max_pool(d, layer + 1):
            deltas, decided = pool_regions.region_deltas(d, layer, deltas)
            determined &= decided
        derivatives = _opaque_derivatives(d, layer, opaque)
        deltas = [e.xreplace(derivatives) for e in deltas] if derivatives else deltas
        values.update(zip(s.delta, [e.xreplace(constraint).xreplace(values) for e in deltas]))
        if d.layer(layer).kind != "dense":   # conv: the correlation forms; pool: no parameters
            kept = dropout.reads(d, layer)
            backprop.update({p: g.xreplace(kept).xreplace(values) for p, g in d.parameter_gradients(layer).items()})
            continue
        for j in range(s.W.rows):
            for k in range(s.W.cols):
                backprop[s.W[j, k]] = dropout.training_grad_W_entry(d, layer, j, k).xreplace(values)
        for j, bj in enumerate(s.b or ()):
            backprop[bj] = values[s.delta[j]]
    return backprop, values, determined


def _all_equal(direct: list[sp.Expr], derived: list[sp.Expr], functions: dict[type, sp.Expr],
               atoms: Atoms | None = None) -> bool:
    """direct[i] == derived[i] for every i, exactly (a wrong one refuted numerically first)."""
    atoms = atoms or Atoms()   # the subterms (g_l(z), exp(z), …) recur in every identity
    left = [atoms(e) for e in direct]
    right = [atoms(e) for e in derived]
    abstracted = [a - b for a, b in zip(left, right)]
    # first with the sums both sides share (g_l'(z) = 1 − a², …) taken as leaves, so that long products
    # of them down a deep net are never multiplied out; then, for any identity left, exactly
    shared = shared_sums(abstracted, left, right)
    first = RationalFunctions(abstracted, shared)
    exact: list[RationalFunctions] = [] if shared else [first]

    def holds(i: int) -> bool:
        if abstracted[i] == 0 or first.zero(abstracted[i]):
            return True
        # a wrong gradient is shown wrong at once by a counterexample (a few hundredths of a second)
        difference = direct[i] - derived[i]
        if counterexample(difference, functions):
            return False
        if not exact:
            exact.append(RationalFunctions(abstracted))
        # exactly, every sum multiplied out; failing that (a relation such as |u|² = u² is needed), simplify
        # on the whole expression (slow)
        return exact[0].zero(abstracted[i]) or simplifies_to_zero(difference)

    return all(holds(i) for i in range(len(direct)))


def _network_identity(loss: sp.Expr, backprop: dict[sp.Symbol, sp.Expr], params: list[sp.Symbol],
                      functions: dict[type, sp.Expr], masks: bool = False, regions: str = "",
                      determined: bool = True, atoms: Atoms | None = None) -> Identity:
    """∂ℓ/∂θ of the composed loss equals backprop's gradient, for every parameter θ."""
    diff = ForwardDiff()
    ok = determined and _all_equal([diff(loss, p) for p in params], [backprop[p] for p in params], functions,
                                   atoms)
    fixed = " with the dropout masks fixed (as symbols)" if masks else ""
    return Identity(
        f"∂ℓ/∂θ = backprop's gradient for all {len(params)} parameters, "
        f"through the whole network{fixed}{regions}",
        "chain rule through the composed loss, sympy.diff of each function", verdict(ok), count=len(params),
        scope="end-to-end")


def _batch_identity(d: Derivation, params: list[sp.Symbol]) -> Identity:
    """∂C/∂θ is the reduction (mean or sum) of the per-example gradients, plus λθ for weights."""
    m = 3  # any batch size: the identity is linear in the examples
    c = d.reduction_factor.subs(sp.Symbol("m", integer=True, positive=True), m)
    losses = [sp.Function(f"ell_{i + 1}")(*params) for i in range(m)]
    weights = [w for layer in d.layer_numbers for w in sp.flatten(d.symbols(layer).W)]
    cost = c * sp.Add(*losses) + d.l2 / 2 * sp.Add(*[w ** 2 for w in weights])
    ok = all(is_zero(sp.diff(cost, p) - c * sp.Add(*[sp.diff(l, p) for l in losses])
                     - (d.l2 * p if p in weights else 0)) for p in params)
    reduction = "(1/m) Σ_i" if d.network.reduction == "mean" else "Σ_i"
    return Identity(
        f"∂C/∂θ = {reduction} ∂ℓ_i/∂θ" + (" + λθ for weights" if d.l2 != 0 else ""),
        "sympy.diff of the batch cost", verdict(ok), count=len(params), scope="end-to-end")
