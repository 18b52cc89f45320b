"""Read and validate an answers file: the numbers and formulas a student (or a lecture) claims.

```toml
title = "Lecture 000, worked example"      # optional
[[claim]]
quantity = "a[2]"          # see QUANTITIES; layer numbers in the spec's notation
example = 1                # 1-based; for per-example quantities
value = ["0,5", -0.1398]   # as printed: its digits set the tolerance
[[claim]]
quantity = "delta[L]"
expression = "a[L] - y"    # a formula claim, checked symbolically
```

Numbers keep the digits they were written with (TOML floats are read as decimals, and
strings may use a decimal comma), because the default tolerance of a number is half a
unit in its last written digit. Every problem is one ``SpecError`` naming the answers
file and the field (``claim[3].value[1]``).
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from ..derivation.backprop import Derivation
from ..errors import SpecError, did_you_mean, read_capped, toml_error
from .blank import is_blank, variant_of
from .claim_unit import claim_unit as _unit
from .nodes import split_state
from .spatial_claims import claim_shape, node_shape, refuse_parameterless, refuse_spatial_formula, spatial_value
from .state_claims import STATE, state_quantity, step_of
from .written import decimal_of, half_unit, parse_decimal, show, written_numbers

TOP_KEYS = ("title", "note", "claim", "variant")   # variant: an exercise's (blank.py)
CLAIM_KEYS = ("quantity", "example", "value", "tolerance", "unit", "entry", "expression", "property", "note", "step")
PROPERTIES = ("affine in x",)
#: in a formula claim, delta[l] and WTdelta[l] stand for every hidden layer (their recurrence needs layer l+1);
#: other quantities with [l] stand for every layer
GENERIC_HIDDEN = ("delta", "WTdelta")


@dataclass(frozen=True)
class Kind:
    """One kind of quantity a claim can name."""

    name: str                 # as written before [layer]: "a", "dW", "W+" is ("W", after=True)
    per_example: str          # "required", "optional" or "never"
    layers: str               # "none", "all" (first..last), "input" (input..last), "hidden" (first..last-1), "output"
    shape: str                # "vector", "matrix", "scalar"
    help: str


#: every quantity; "+" after a name means "after one gradient step"
KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("z", "required", "all", "vector", "z^[l] = W a^[l-1] + b"),
    Kind("a", "required", "input", "vector", "a^[l] = g(z^[l]); a at the input layer is x"),
    Kind("C", "required", "none", "scalar", "the example's own cost (loss) ℓ_i"),
    Kind("cost", "never", "none", "scalar", "the total cost: mean or sum of ℓ_i, plus the L2 term"),
    Kind("dC/da", "required", "output", "vector", "∂ℓ_i/∂a^[L] (the example's own cost)"),
    Kind("dcost/da", "required", "output", "vector", "∂cost/∂a^[L] of one example (with the 1/m of a mean)"),
    Kind("g'", "required", "all", "vector", "g'(z^[l]), the activation's derivative, unit by unit"),
    Kind("WTdelta", "required", "hidden", "vector", "(W^[l+1])ᵀ δ^[l+1], the sum in δ^[l]'s recurrence"),
    Kind("delta", "required", "all", "vector", "δ^[l] = ∂ℓ_i/∂z^[l]"),
    Kind("dW", "optional", "all", "matrix", "∂cost/∂W^[l]; with example: ∂ℓ_i/∂W^[l]"),
    Kind("db", "optional", "all", "vector", "∂cost/∂b^[l]; with example: ∂ℓ_i/∂b^[l]"),
    Kind("W+", "optional", "all", "matrix", "W^[l] − η ∂cost/∂W^[l]; with example: a step on that example alone"),
    Kind("b+", "optional", "all", "vector", "b^[l] − η ∂cost/∂b^[l]; with example: a step on that example alone"),
    Kind("z+", "required", "all", "vector", "z^[l] after the step"),
    Kind("a+", "required", "input", "vector", "a^[l] after the step"),
    Kind("C+", "required", "none", "scalar", "ℓ_i after the step"),
    Kind("cost+", "never", "none", "scalar", "the total cost after the step"),
]}

_ALIASES = {"gprime": "g'", "dl/da": "dC/da", "dJ/da": "dC/da", "Wdelta": "WTdelta", "theta+": "W+"}
#: name, "+" before the layer (W+[2]), layer, "+" after it (W[2]+): both spellings mean the same quantity
_QUANTITY = re.compile(r"^\s*([A-Za-z][A-Za-z/']*?)\s*(\+?)\s*(?:\[\s*([^\]]*?)\s*\])?\s*(\+?)\s*$")


@dataclass(frozen=True)
class Claim:
    """One claim, validated against the spec. ``layer`` is the spec's layer number (the input's for a = x)."""

    position: int                          # 0-based place in the file
    field: str                             # "claim[3]", for messages
    quantity: str                          # as written
    kind: str                              # a key of KINDS ("W+", "a", ...)
    layer: int | None                      # the spec's layer number; None for "C", "cost"
    layer_text: str | None                 # as written ("2", "L", "l")
    example: int | None                    # 0-based
    unit: tuple[int, ...] | None           # 0-based entry for a one-number claim of a vector/matrix
    value: np.ndarray | None               # object array of Decimal, the full claimed shape
    written: np.ndarray | None             # the numbers as written (str), same shape
    tolerance: np.ndarray | None           # object array of Decimal, same shape
    expression: str | None = None
    prop: str | None = None                # a formula property such as "affine in x"
    note: str | None = None
    generic_layer: bool = False            # formula claims on "delta[l]": every hidden layer
    step: int = 1                          # after this many steps (quantities after the step, optimizer states)
    shape: tuple[int, ...] | None = None   # a spatial layer's shape, as written; value etc. are flat (C order)

    @property
    def is_formula(self) -> bool:
        return self.expression is not None or self.prop is not None


@dataclass(frozen=True)
class Answers:
    source: str
    title: str | None
    note: str | None
    claims: tuple[Claim, ...] = field(default_factory=tuple)
    variant: str | None = None                                  # an exercise variant's number, "001"
    unanswered: tuple[Claim, ...] = field(default_factory=tuple)  # value = "": asked, not answered (no value)


# ---------------------------------------------------------------- reading

def load_answers(path: str | os.PathLike, derivation: Derivation) -> Answers:
    """Read and validate an answers file against ``derivation``; problems are one-line ``SpecError``s."""
    source = str(os.fspath(path))
    try:
        with open(source, "rb") as handle:
            raw = read_capped(handle, source, "an answers file")
    except FileNotFoundError:
        raise SpecError("", "expected an existing answers file, got no such file", source) from None
    except IsADirectoryError:
        raise SpecError("", "expected an answers file, got a directory", source) from None
    except OSError as exc:
        raise SpecError("", f"expected a readable answers file ({exc.strerror or exc})", source) from None
    try:
        text = raw.decode("utf-8-sig")   # a byte-order mark (Windows editors) is not TOML
    except UnicodeDecodeError as exc:
        raise SpecError("", f"expected a UTF-8 text file ({exc.reason} at byte {exc.start})", source) from None
    return parse_answers(text, derivation, source)


def parse_answers(text: str, derivation: Derivation, source: str = "<answers>") -> Answers:
    """Validate answers given as TOML text."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)   # keep the written digits
    except tomllib.TOMLDecodeError as exc:   # with its line, and a hint for an unquoted decimal comma
        raise toml_error(str(exc), text, source) from None
    except Exception as exc:  # e.g. RecursionError on absurd nesting
        raise SpecError("", f"expected valid TOML ({type(exc).__name__})", source) from None
    _spec_has_what_claims_need(data, derivation, source)   # a problem of the spec is reported first, against it
    try:
        return _answers(data, derivation, source)
    except SpecError as exc:   # errors without a file are this file's; the spec's keep their own
        raise (exc.with_source(source) if exc.source == "<dict>" else exc) from None


def _spec_has_what_claims_need(data: dict, derivation: Derivation, source: str) -> None:
    """A claimed number needs the spec's ``[example]``: without one, the spec is at fault, not the answers.

    Formula claims are checked symbolically, for every input, so they need no ``[example]``.
    """
    claims = data.get("claim")
    if derivation.network.example is not None or not isinstance(claims, list):
        return
    for i, entry in enumerate(claims):
        if isinstance(entry, dict) and "value" in entry:
            raise SpecError("example", f"expected an [example] table (needed to check answers: claim[{i}] of "
                                       f"{source} claims a number; formula claims alone need none)",
                            derivation.network.source)


def _answers(data: dict, derivation: Derivation, source: str) -> Answers:
    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(str(key), f"expected one of the keys {', '.join(TOP_KEYS)}, got unknown key {key}"
                                      f"{did_you_mean(key, TOP_KEYS)}")
    title = _text(data.get("title"), "title")
    note = _text(data.get("note"), "note")
    claims = data.get("claim")
    if isinstance(claims, dict):
        raise SpecError("claim", "expected [[claim]] tables (double brackets), got a single [claim] table")
    if not isinstance(claims, list) or not claims:
        raise SpecError("claim", "expected at least one [[claim]] table")
    variant = variant_of(data.get("variant"))
    read = [_claim(entry, i, derivation, source) for i, entry in enumerate(claims)]
    return Answers(source, title, note, tuple(c for c in read if c.is_formula or c.value is not None), variant,
                   tuple(c for c in read if not c.is_formula and c.value is None))


def _text(value: Any, field_name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise SpecError(field_name, f"expected a string, got {show(value)}")


def quantity_help() -> str:
    return ", ".join(f"{name}[l]" if KINDS[name].layers != "none" else name for name in KINDS)


def kind_of(name: str) -> Kind:
    """The Kind of a quantity: one of KINDS, or an optimizer state such as ``m(W)`` (``nodes.state_kind``)."""
    state = split_state(name)
    if state is None:
        return KINDS[name]
    shape = "matrix" if state[1] == "W" else "vector"
    return Kind(name, "optional", "all", shape, f"the optimizer's {state[0]} of {state[1]}^[l] after the step")


def parse_quantity(text: str, derivation: Derivation, field_name: str, formula: bool = False):
    """(kind, layer number or None, layer as written, generic) of a quantity such as ``a[2]``, ``W[L]+``,
    or an optimizer state ``m(W[1])`` (kind ``m(W)``)."""
    state = STATE.match(text) if isinstance(text, str) else None
    if state:
        if formula:
            raise SpecError(field_name, f"expected a value for an optimizer state (formula claims are about one "
                                        f"example's pass), got a formula for {text!r}")
        found = state_quantity(state, text, derivation, field_name, _layer_number)
        refuse_parameterless(found[0], found[1], derivation, field_name, text)
        return found
    match = _QUANTITY.match(text) if isinstance(text, str) else None
    expected = f"expected a quantity such as a[2], delta[L], dW[1], W[2]+ or cost (one of {quantity_help()})"
    if not match:
        raise SpecError(field_name, f"{expected}, got {show(text)}")
    name, plus_before, layer_text, plus_after = match.groups()
    if plus_before and plus_after:
        raise SpecError(field_name, f"{expected}, got {text!r} (one + is enough)")
    plus = plus_before or plus_after
    name = _ALIASES.get(name, name) + plus
    name = _ALIASES.get(name, name)
    if name not in KINDS:
        raise SpecError(field_name, f"{expected}, got unknown quantity {text!r}{did_you_mean(name, KINDS)}")
    kind = KINDS[name]
    if kind.layers == "none":
        if layer_text is not None:
            raise SpecError(field_name, f"expected {name} without a layer, got {text!r}")
        return name, None, None, False
    if layer_text is None:
        raise SpecError(field_name, f"expected a layer for {name}, as in {name.rstrip('+')}[2]"
                                    f"{'+' if plus else ''}, got {text!r}")
    d = derivation
    generic = False
    if formula and layer_text == "l":
        generic, layer = True, None
    else:
        layer = _layer_number(layer_text, d)
        if layer is None:
            raise SpecError(field_name, f"expected a layer number from {d.input_number} to {d.last} "
                                        f"(or L, L-1, ...), got {layer_text!r}")
    lowest = {"all": d.first, "input": d.input_number, "hidden": d.first, "output": d.last}[kind.layers]
    highest = d.last - 1 if kind.layers == "hidden" else d.last
    if generic:
        if kind.layers not in ("all", "hidden") or (name in GENERIC_HIDDEN and d.L < 2):
            raise SpecError(field_name, f"expected a numbered layer for {name} (l stands for every layer "
                                        f"{'with a layer after it' if name in GENERIC_HIDDEN else ''})")
        return name, None, layer_text, True
    if not lowest <= layer <= highest:
        numbers = f"{lowest}" if lowest == highest else f"{lowest} to {highest}"
        raise SpecError(field_name, f"expected layer {numbers} for {name} (layers are numbered from "
                                    f"{d.input_number} = the input, as in the spec's notation), got {layer_text!r}")
    refuse_parameterless(name, layer, d, field_name, text)
    if name in ("db", "b+") and not d.layer(layer).bias:
        raise SpecError(field_name, f"expected a layer with a bias for {name}, got layer {layer_text} (it has none)")
    return name, layer, layer_text, False


def _layer_number(text: str, derivation: Derivation) -> int | None:
    """The layer number written in the spec's notation, or as ``L``, ``L-1``, ... (L: the last layer)."""
    text = text.replace(" ", "").replace("−", "-")
    match = re.fullmatch(r"L(?:-(\d+))?", text)
    if match:
        return derivation.last - int(match.group(1) or 0)
    if re.fullmatch(r"\d+", text):
        return int(text)
    return None


def shape_of(kind: str, layer: int | None, derivation: Derivation) -> tuple[int, ...]:
    """The shape of a quantity's value in the checker's graph: () for scalars, (n,) for vectors (a spatial
    layer's units too, flat), (n, k) for matrices; a conv layer's weights and biases in their own shapes."""
    spec = kind_of(kind)
    if spec.shape == "scalar":
        return ()
    own = node_shape(kind, layer, derivation)
    if own is not None:
        return own
    if spec.shape == "vector":
        return (derivation.width(layer),)
    return (derivation.width(layer), derivation.width(layer - 1))


def _claim(entry: Any, position: int, derivation: Derivation, source: str = "the answers file") -> Claim:
    where = f"claim[{position}]"
    if not isinstance(entry, dict):
        raise SpecError(where, f"expected a table, got {show(entry)}")
    for key in entry:
        if key not in CLAIM_KEYS:
            raise SpecError(f"{where}.{key}", f"expected one of the keys {', '.join(CLAIM_KEYS)}, got unknown key "
                                              f"{key}{did_you_mean(key, CLAIM_KEYS)}")
    if "quantity" not in entry:
        raise SpecError(f"{where}.quantity", f"expected a value (required; one of {quantity_help()})")
    given = [key for key in ("value", "expression", "property") if key in entry]
    if len(given) != 1:
        raise SpecError(where, "expected exactly one of value (a number), expression (a formula) or property, "
                               f"got {', '.join(given) if given else 'none'}")
    note = _text(entry.get("note"), f"{where}.note")
    formula = "value" not in entry
    kind, layer, layer_text, generic = parse_quantity(entry["quantity"], derivation, f"{where}.quantity", formula)
    if formula:
        refuse_spatial_formula(kind, layer, generic, derivation, f"{where}.quantity")
        return _formula_claim(entry, position, where, kind, layer, layer_text, generic, note)

    example = _example(entry, where, kind, derivation)
    after_step = kind.endswith("+")
    step = step_of(entry, where, kind)
    plain = not derivation.network.optimizer.given      # an [optimizer] brings its own learning rate
    if after_step and plain and (derivation.network.example is None
                                 or derivation.network.example.learning_rate is None):
        raise SpecError("example.learning_rate", f"expected a learning rate (needed to check {where} of "
                                                 f"{source}: {kind} is a quantity after one gradient step)",
                        derivation.network.source)
    shape = shape_of(kind, layer, derivation)
    written_shape = claim_shape(kind, layer, derivation)    # a conv or pool layer's own shape
    if is_blank(entry["value"]):    # asked, not answered: no number, so no tolerance either
        unit = _unit(entry, where, kind, shape) if written_shape is None else None
        return Claim(position, where, entry["quantity"], kind, layer, layer_text, example, unit, None, None, None,
                     note=note, step=step)
    if written_shape is None:
        unit = _unit(entry, where, kind, shape)
        written = written_numbers(entry["value"], f"{where}.value", () if unit is not None else shape)
    else:
        unit, written, written_shape = spatial_value(entry, where, kind, written_shape, shape)
    value = np.empty(written.shape, dtype=object)
    for index in np.ndindex(written.shape):
        value[index] = decimal_of(written[index])
    if "tolerance" in entry:
        tol = parse_decimal(entry["tolerance"])
        if tol is None or not tol > 0:
            raise SpecError(f"{where}.tolerance", f"expected a positive number, got {show(entry['tolerance'])}")
        tolerance = np.full(written.shape, tol, dtype=object)
    else:
        tolerance = np.empty(written.shape, dtype=object)
        for index in np.ndindex(written.shape):
            tolerance[index] = half_unit(value[index])
    return Claim(position, where, entry["quantity"], kind, layer, layer_text, example, unit, value, written,
                 tolerance, note=note, step=step, shape=written_shape)


def _formula_claim(entry, position, where, kind, layer, layer_text, generic, note) -> Claim:
    for key in ("example", "unit", "entry", "tolerance", "step"):
        if key in entry:
            raise SpecError(f"{where}.{key}", f"expected no {key} in a formula claim (it holds for every example)")
    expression = entry.get("expression")
    prop = entry.get("property")
    if expression is not None and (not isinstance(expression, str) or not expression.strip()):
        raise SpecError(f"{where}.expression", f"expected a formula as a string, such as \"a[L] - y\", "
                                               f"got {show(expression)}")
    if prop is not None and prop not in PROPERTIES:
        raise SpecError(f"{where}.property", f"expected one of {', '.join(repr(p) for p in PROPERTIES)}, "
                                             f"got {show(prop)}")
    if prop is not None and kind not in ("a", "z"):
        raise SpecError(f"{where}.quantity", f"expected a[l] or z[l] for property {prop!r}, got {kind}")
    return Claim(position, where, entry["quantity"], kind, layer, layer_text, None, None, None, None, None,
                 expression=expression, prop=prop, note=note, generic_layer=generic)


def _example(entry: dict, where: str, kind: str, derivation: Derivation) -> int | None:
    per_example = kind_of(kind).per_example
    if "example" not in entry:
        if per_example == "required":
            raise SpecError(f"{where}.example", f"expected the example (1-based column of example.X) for {kind}")
        return None
    if per_example == "never":
        raise SpecError(f"{where}.example", f"expected no example for {kind} (it is a batch quantity)")
    value = entry["example"]
    network_example = derivation.network.example
    if network_example is None:
        raise SpecError("example", "expected an [example] table in the spec (the claimed numbers need its data)",
                        derivation.network.source)
    m = network_example.X.shape[1]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= m:
        raise SpecError(f"{where}.example", f"expected an example number from 1 to {m}, got {show(value)}")
    return value - 1

