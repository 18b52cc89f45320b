"""Claims about an optimizer's steps: its state (``m(W[1])``, ``exp_avg_sq(b[L])``) and ``step = k``.

``answers.py`` reads every claim; these are the parts that only the optimizer's quantities need.
"""
from __future__ import annotations

import re
from typing import Callable

from ..derivation.backprop import Derivation
from ..errors import SpecError
from ..evaluation.optimizer import state_names
from .nodes import split_state, state_kind
from .written import show

#: the most steps a claim may name (``step = k``): enough for any published table, cheap to recompute
MAX_STEP = 100
#: an optimizer's state of one parameter: m(W[1]), exp_avg_sq(b[L])
STATE = re.compile(r"^\s*([A-Za-z_]+)\s*\(\s*([A-Za-z]+)\s*\[\s*([^\]]*?)\s*\]\s*\)\s*$")


def state_quantity(match: re.Match, text: str, derivation: Derivation, field_name: str,
                   layer_number: Callable[[str, Derivation], int | None]):
    """(kind, layer, layer as written, False) of an optimizer state such as ``m(W[1])``."""
    name, param, layer_text = match.groups()
    optimizer = derivation.network.optimizer
    names = state_names(optimizer)
    if not names:
        why = "the spec has no [optimizer] table" if not optimizer.given else f"{optimizer.kind} keeps none"
        raise SpecError(field_name, f"expected no optimizer state: {why}, got {text!r}")
    if name not in names:
        own = [n for n in names if names[n] == n]
        torch = [n for n in names if names[n] != n]
        raise SpecError(field_name, f"expected a state of {optimizer.kind} ({', '.join(own)}, or "
                                    f"{', '.join(torch)}), got {text!r}")
    param = "W" if param == "theta" else param          # lecture 002 writes θ for the weights
    if param not in ("W", "b"):
        raise SpecError(field_name, f"expected W[l] or b[l] inside {name}(...), got {text!r}")
    d = derivation
    layer = layer_number(layer_text, d)
    if layer is None or not d.first <= layer <= d.last:
        raise SpecError(field_name, f"expected a layer from {d.first} to {d.last} (or L, L-1, ...) in {text!r}")
    if param == "b" and not d.layer(layer).bias:
        raise SpecError(field_name, f"expected a layer with a bias for {name}(b[...]), got layer {layer_text} "
                                    f"(it has none)")
    return state_kind(names[name], param), layer, layer_text, False


def step_of(entry: dict, where: str, kind: str) -> int:
    """``step = k``: the quantity after k steps (1 unless given); only for quantities a step changes."""
    if "step" not in entry:
        return 1
    value = entry["step"]
    if not (kind.endswith("+") or split_state(kind) is not None):
        raise SpecError(f"{where}.step", f"expected no step for {kind} (only the quantities after the step, "
                                         f"W[l]+ b[l]+ z[l]+ a[l]+ C+ cost+, and optimizer states have one), "
                                         f"got {show(value)}")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_STEP:
        raise SpecError(f"{where}.step", f"expected a whole number of steps from 1 to {MAX_STEP}, got {show(value)}")
    return value
