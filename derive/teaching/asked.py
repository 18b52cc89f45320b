"""The quantities an exercise asks: ``[exercise] ask`` checked against the network, or the default list.

Each is in the answers files' syntax and is judged by the checker's own reader
(``checking.answers.parse_answers``), so a quantity the exercise asks is one the checker accepts; its
errors are one ``SpecError`` naming ``exercise.ask[i]`` (and the key: ``exercise.ask[3].entry``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checking.answers import kind_of, parse_answers, parse_quantity, shape_of
from ..checking.spatial_claims import claim_shape
from ..derivation.backprop import Derivation
from ..errors import SpecError, did_you_mean
from ..model.fields import show
from ..model.exercise_spec import Exercise

ASK_KEYS = ("quantity", "example", "unit", "entry")


@dataclass(frozen=True)
class Asked:
    """One asked quantity, in the checker's claim syntax; ``example`` 1-based (None: a batch quantity)."""

    quantity: str
    kind: str
    layer: int | None
    example: int | None = None
    unit: int | None = None
    entry: tuple[int, ...] | None = None


def default_ask(derivation: Derivation) -> tuple[Asked, ...]:
    """z and a of every layer for example 1 (a of a pool layer only: its z is a), the cost, δ of every layer
    (output first), dW and db of every layer with parameters (output first), the updated W and b."""
    d = derivation
    out: list[Asked] = []
    pooled = [layer for layer in d.layer_numbers if d.layer(layer).kind == "pool"]
    for layer in d.layer_numbers:
        if layer not in pooled:
            out.append(Asked(f"z[{layer}]", "z", layer, 1))
        out.append(Asked(f"a[{layer}]", "a", layer, 1))
    out.append(Asked("cost", "cost", None))
    out += [Asked(f"delta[{layer}]", "delta", layer, 1) for layer in reversed(d.layer_numbers)]
    weighted = [layer for layer in d.layer_numbers if layer not in pooled]
    for layer in reversed(weighted):
        out.append(Asked(f"dW[{layer}]", "dW", layer))
        if d.layer(layer).bias:
            out.append(Asked(f"db[{layer}]", "db", layer))
    for layer in weighted:
        out.append(Asked(f"W[{layer}]+", "W+", layer))
        if d.layer(layer).bias:
            out.append(Asked(f"b[{layer}]+", "b+", layer))
    return tuple(out)


def asked(exercise: Exercise, derivation: Derivation) -> tuple[Asked, ...]:
    """The asked quantities checked against ``derivation`` (a variant's, with its [example]): the default
    list when ``ask`` is absent. Each is read as the checker reads a claim, so the template loads."""
    if exercise.ask is None:
        return default_ask(derivation)
    out = []
    for i, item in enumerate(exercise.ask):
        one = _asked(item, f"exercise.ask[{i}]", derivation)
        if one in out:
            raise SpecError(f"exercise.ask[{i}]", f"expected each quantity once, got {one.quantity!r} again")
        out.append(one)
    return tuple(out)


def _asked(item: Any, field: str, d: Derivation) -> Asked:
    if isinstance(item, str):
        item = {"quantity": item}
    if not isinstance(item, dict):
        raise SpecError(field, f"expected a quantity such as \"z[1]\" or a table such as {{ quantity = \"a[2]\", "
                               f"example = 1, unit = 1 }}, got {show(item)}")
    for key in item:
        if key not in ASK_KEYS:
            raise SpecError(f"{field}.{key}", f"expected one of the keys {', '.join(ASK_KEYS)}, got unknown key "
                                              f"{key}{did_you_mean(key, ASK_KEYS)}")
    if "quantity" not in item:
        raise SpecError(f"{field}.quantity", "expected a value (the quantity, as in answers files: \"z[1]\")")
    for key in ("example", "unit"):
        if key in item and (isinstance(item[key], bool) or not isinstance(item[key], int)):
            raise SpecError(f"{field}.{key}", f"expected a whole number from 1, got {show(item[key])}")
    entry = item.get("entry")
    if "entry" in item and (not isinstance(entry, list)
                            or any(isinstance(v, bool) or not isinstance(v, int) for v in entry)):
        raise SpecError(f"{field}.entry", f"expected a list of whole numbers such as [1, 2], got {show(entry)}")
    kind, layer, _, _ = parse_quantity(item["quantity"], d, field if len(item) == 1 else f"{field}.quantity")
    example = item.get("example")
    if example is None and kind_of(kind).per_example == "required":
        example = 1                          # per-example quantities are asked for example 1 unless told
    claim = {"quantity": item["quantity"], "value": _zeros(_written_shape(kind, layer, d, item))}
    claim.update({key: item[key] for key in ("unit", "entry") if key in item})
    if example is not None:
        claim["example"] = example
    try:          # the checker's reader decides what a claim may say; its field names become ours
        parse_answers(_claim_toml(claim), d, "<exercise>")
    except SpecError as error:
        inner = error.field.removeprefix("claim[0]") if error.field.startswith("claim[0]") else ""
        raise SpecError(field + ("" if len(item) == 1 and inner == ".quantity" else inner),
                        error.expected) from None
    return Asked(str(item["quantity"]), kind, layer, example, item.get("unit"),
                 tuple(entry) if isinstance(entry, list) else None)


def _written_shape(kind: str, layer: int | None, d: Derivation, item: dict) -> tuple[int, ...]:
    """The shape of the value a claim of ``kind`` writes (one number when ``unit`` or ``entry`` picks one)."""
    if "unit" in item or "entry" in item:
        return ()
    return claim_shape(kind, layer, d) or shape_of(kind, layer, d)


def written_shape(one: Asked, d: Derivation) -> tuple[int, ...]:
    """The shape of the value an answer to ``one`` writes: () for one number."""
    if one.unit is not None or one.entry is not None:
        return ()
    return claim_shape(one.kind, one.layer, d) or shape_of(one.kind, one.layer, d)


def _zeros(shape: tuple[int, ...]) -> Any:
    return 0 if not shape else [_zeros(shape[1:]) for _ in range(shape[0])]


def _claim_toml(claim: dict) -> str:
    lines = ["[[claim]]"] + [f"{key} = {toml_value(value)}" for key, value in claim.items()]
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """A TOML value: a string (quoted, escaped), a boolean, a list of values, or a number as Python writes it."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)
