"""The catalogue of common mistakes, each a variant of the computation that can reproduce a wrong number.

A mistake is a ``Variant`` of the evaluator's steps (``variant.py``) plus a ``Cause`` that
names it. The checker recomputes a wrong claim under each variant, from the student's own
earlier numbers, and reports the variants that reproduce it; a misread data value is
found by solving for the value that would. Nothing here decides a verdict.
"""
from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import Callable, Iterator

from . import derivative_mistakes as dm
from .graph import Graph
from .mistake_cause import Cause
from .nodes import Key
from .optimizer_mistakes import optimizer_catalogue
from .spatial_mistakes import SPATIAL_CAUSE_IDS, catalogue as spatial_catalogue
from .variant import Variant


#: every id a Cause can have, in the order reports list them
CAUSE_IDS = ("sigmoid_sign", "sum_for_mean", "mean_for_sum", "loss_doubled", "loss_halved", "g_for_derivative",
             "derivative_sign", "transposed_forward", "transposed_backward", "learning_rate_sign", "sequential",
             "single_example", "misread", "digit_slip", "derivative_left_out", "derivative_at_a",
             "derivative_formula_sign")
#: the optimizer's mistakes (``optimizer_mistakes.py``); their words are in ``optimizer_words.py``
OPTIMIZER_CAUSE_IDS = ("adam_no_bias_correction", "epsilon_inside_root", "beta_swapped", "step_not_incremented")
#: conv and pool layers' mistakes: SPATIAL_CAUSE_IDS (``spatial_mistakes.py``), words in ``spatial_words.py``
_SPATIAL = SPATIAL_CAUSE_IDS


def catalogue(graph: Graph, per_example: bool = True) -> list[tuple[Variant, Cause]]:
    """Every single mistake that could apply to this network, as (variant, cause).

    Mistakes that can happen in one example's computation (a sign slip, g for g', the loss's ½)
    come both for every example and, with ``per_example`` and several examples, for one example
    at a time (what a batch number, such as ∂C/∂W, shows of a mistake made in one example).
    """
    out: list[tuple[Variant, Cause]] = []

    def layers_detail(layers) -> tuple[tuple[str, str], ...]:
        return (("layers", ", ".join(str(l) for l in sorted(layers))),)

    local: list[tuple[Variant, Cause]] = []     # mistakes one example's computation can make
    for l in graph.sigmoid_layers:
        local.append((Variant(sigmoid_sign=frozenset({l})), Cause("sigmoid_sign", layers_detail({l}))))
    if len(graph.sigmoid_layers) > 1:
        every = frozenset(graph.sigmoid_layers)
        local.append((Variant(sigmoid_sign=every), Cause("sigmoid_sign", layers_detail(every))))
    for l in graph.elementwise_layers:
        local.append((Variant(g_for_derivative=frozenset({l})), Cause("g_for_derivative", layers_detail({l}))))
    if len(graph.elementwise_layers) > 1:
        every = frozenset(graph.elementwise_layers)
        local.append((Variant(g_for_derivative=every), Cause("g_for_derivative", layers_detail(every))))
    local.append((Variant(derivative_sign=True), Cause("derivative_sign")))
    for l in graph.square_layers:
        local.append((Variant(transposed_forward=frozenset({l})), Cause("transposed_forward", layers_detail({l}))))
        if l > graph.first:       # W^[l]ᵀ δ^[l] flows back into a hidden layer
            local.append((Variant(transposed_backward=frozenset({l})),
                          Cause("transposed_backward", layers_detail({l}))))
    for fields, cause in spatial_catalogue(graph.derivation):     # conv and pool layers' backward pass
        local.append((Variant(**fields), cause))
    out += local
    if graph.m > 1:
        swapped = "sum_for_mean" if graph.derivation.network.reduction == "mean" else "mean_for_sum"
        out.append((Variant(reduction_swapped=True), Cause(swapped)))
    loss = [(Variant(loss_factor=Fraction(2)), Cause("loss_doubled")),
            (Variant(loss_factor=Fraction(1, 2)), Cause("loss_halved"))]
    out += loss
    if graph.optimizer is not None:       # the optimizer's own step (its learning-rate sign among them)
        out += optimizer_catalogue(graph.optimizer, graph.lines)
    elif graph.example.learning_rate is not None:
        out.append((Variant(learning_rate_sign=True), Cause("learning_rate_sign")))
    if (graph.optimizer is not None or graph.example.learning_rate is not None) and graph.L > 1:
        out.append((Variant(sequential=True), Cause("sequential")))
    derivative = _derivative_mistakes(graph)
    out += derivative
    local += loss + derivative
    if graph.m > 1:
        for i in range(graph.m):
            out.append((Variant(single_example=i), Cause("single_example", (("example", str(i + 1)),))))
        if per_example:
            for i in range(graph.m):
                for variant, cause in local:
                    out.append((replace(variant, example_scope=i),
                                Cause(cause.id, cause.details + (("scope", str(i + 1)),))))
    return out


def _derivative_mistakes(graph: Graph) -> list[tuple[Variant, Cause]]:
    """g' left out of δ, evaluated at a, or with a sign slip in its formula: in each layer where that changes
    something, and in all of them."""
    d = graph.derivation
    out = []
    for field, applies in (("derivative_left_out", dm.leaves_out), ("derivative_at_a", dm.at_a),
                           ("derivative_formula_sign", dm.slipped)):
        layers = [l for l in d.layer_numbers if (l == graph.last or not d.layer(l).activation.is_softmax)
                  and applies(d.layer(l).activation) not in (None, False)]
        for chosen in [{l} for l in layers] + ([set(layers)] if len(layers) > 1 else []):
            out.append((Variant(**{field: frozenset(chosen)}), Cause(field, dm.details(field, d, chosen))))
    return out


def combine(first: tuple[Variant, Cause], second: tuple[Variant, Cause]) -> tuple[Variant, tuple[Cause, ...]] | None:
    """Two mistakes made together, when they change different rules."""
    variant = first[0].combine(second[0])
    return None if variant is None else (variant, (first[1], second[1]))


# ---------------------------------------------------------------- misread data

def data_entries(graph: Graph, ancestors: set[Key]) -> Iterator[tuple[Key, int]]:
    """(data node, unit) of every input or target value the claim depends on."""
    for key in sorted((k for k in ancestors if k.kind in ("x", "y")), key=lambda k: (k.example, k.kind)):
        for unit in range(graph.shape(key)[0]):
            yield key, unit


def misread_cause(graph: Graph, key: Key, unit: int, read: Decimal) -> Cause:
    actual = graph.example.X[unit, key.example] if key.kind == "x" else graph.example.Y[unit, key.example]
    return Cause("misread", (("what", key.kind), ("example", str(key.example + 1)), ("unit", str(unit + 1)),
                             ("read", _plain(read)), ("actual", _plain(Decimal(repr(float(actual)))))))


def solve_misread(residual: Callable[[float], float], actual: float) -> list[float]:
    """Values v near which ``residual(v)`` is 0 (secant from the actual value), plus simple fallbacks.

    The caller rounds each candidate to the fewest decimals that still reproduce the claim.
    """
    candidates: list[float] = []
    v0, v1 = actual, actual + (0.1 if actual == 0 else 0.1 * abs(actual))
    try:
        r0, r1 = residual(v0), residual(v1)
        for _ in range(40):
            if r1 == r0:
                break
            v2 = v1 - r1 * (v1 - v0) / (r1 - r0)
            if not abs(v2) < 1e12:
                break
            v0, r0, v1 = v1, r1, v2
            r1 = residual(v1)
            if abs(r1) < 1e-13:
                candidates.append(v1)
                break
    except (ArithmeticError, ValueError, OverflowError):
        pass
    for simple in (1 - actual, -actual, 0.0, 1.0, -1.0):   # binary data read the other way round
        if simple != actual and simple not in candidates:
            candidates.append(simple)
    return candidates


#: a misread value is a short decimal (0.7 for 0.6), not whatever number fits
MISREAD_DECIMALS = 2


def nice_values(value: float) -> Iterator[Decimal]:
    """``value`` rounded to 0, 1, ... MISREAD_DECIMALS decimals: the shortest reading first."""
    seen = set()
    for places in range(0, MISREAD_DECIMALS + 1):
        rounded = Decimal(repr(round(value, places))).normalize()
        if rounded not in seen:
            seen.add(rounded)
            yield rounded


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text
