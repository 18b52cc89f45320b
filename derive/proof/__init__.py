"""The proof: every identity of a ``Derivation`` checked against direct differentiation.

``prove`` runs the layer-local proof (``local``: any size, by induction from the output) and, for
small nets, the end-to-end proof (``end_to_end``: the whole composed loss differentiated). Both
decide each identity exactly (``zero_test``, over ``rational_functions``); ``refute`` only ever
finds a wrong gradient faster, and ``differentiate`` holds the memoised differentiation they share.
The verdicts are collected in a ``ProofReport`` (``report``); with an ``[optimizer]``, ``optimizers``
adds each closed form of its update rule checked against the rule's definition.
"""
from __future__ import annotations

import time

import sympy as sp

from ..derivation.backprop import Derivation
from .end_to_end import end_to_end as _prove_end_to_end
from .local import layer_local
from .optimizers import prove_optimizer
from .report import Identity, ProofReport

#: largest net (in parameters) proved end to end by default
END_TO_END_MAX_PARAMS = 60
#: ... and, for a net with conv or pool layers, most hidden units (the composed loss grows with the maps:
#: 45 units take about 3 s, 80 about 8 s)
END_TO_END_MAX_UNITS = 64


def prove(d: Derivation, end_to_end: bool | None = None, generic: bool = True) -> ProofReport:
    """Check every derived gradient exactly.

    ``end_to_end`` defaults to nets of at most 60 parameters whose output layer passes two
    structural tests: its activation and the loss are not piecewise (relu, leaky_relu, hinge
    there branch the whole composed derivative, which SymPy cannot decide quickly), and its
    δ identity (step 2) holds as an identity of rational functions in the symbols and the
    subterms exp(…), g(…), … (``is_rational_zero``). An output that needs more, such as
    |z|² = z² for z/(1 + |z|), would leave each end-to-end identity to ``simplify`` on the
    whole composed expression, which takes minutes. A net with conv or pool layers must also have at
    most 64 hidden units (``END_TO_END_MAX_UNITS``); its end-to-end proof adds δ^[l] = ∂ℓ/∂z^[l] for
    every hidden layer and holds through max pooling region by region (``pool_regions``). The
    layer-local proof covers every net.

    ``generic`` (the default): the δ recurrence, ∂ℓ/∂W, ∂ℓ/∂b and the L2 term of dense layers are proved once
    for symbolic widths and units (``generic``) and compared with the per-unit forms; ``False`` proves them
    unit by unit, as before.
    """
    start = time.perf_counter()
    report = ProofReport(d.network.name, d.network.n_params)
    output_rational = layer_local(d, report, generic)
    if end_to_end is None:
        end_to_end = (d.network.n_params <= END_TO_END_MAX_PARAMS and output_rational and not _piecewise_output(d)
                      and (not d.network.has_spatial_layers or hidden_units(d) <= END_TO_END_MAX_UNITS))
    if end_to_end:
        _prove_end_to_end(d, report)
    if d.network.optimizer.given:   # the update rule's closed forms; nothing without [optimizer]
        report.optimizer = d.network.optimizer.kind
        report.identities.extend(prove_optimizer(d.network.optimizer))
    report.seconds = time.perf_counter() - start
    return report


def hidden_units(d: Derivation) -> int:
    """Units of all layers but the output (conv and pool: channels × positions)."""
    return sum(layer.units for layer in d.network.layers[:-1])


def _piecewise_output(d: Derivation) -> bool:
    output = d.network.layers[-1].activation
    return (output.expr is not None and output.expr.has(sp.Piecewise)) or d.loss.has(sp.Piecewise)


__all__ = ["END_TO_END_MAX_PARAMS", "END_TO_END_MAX_UNITS", "Identity", "ProofReport", "prove"]
