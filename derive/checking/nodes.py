"""The nodes of the checker's graph: one quantity of one gradient step, such as a^[2] of example 1."""
from __future__ import annotations

from typing import NamedTuple

#: nodes given by the spec's [example] (data and parameters), not computed
GIVEN_KINDS = ("x", "y", "W", "b", "eta")
#: the kinds after ``step`` steps: the parameters and the forward pass at them
AFTER_KINDS = ("W+", "b+", "z+", "a+", "C+", "cost+")
#: every gradient of a whole pass at the parameters after ``step - 1`` steps (step ≥ 2): a dict, not a number
PASS = "pass"


class Key(NamedTuple):
    """``Key("a", 2, 0)`` is a^[2] of the first example; ``Key("dW", 1, None)`` the batch gradient ∂C/∂W^[1].

    ``layer`` is the spec's layer number, as answers files and reports write it (one of
    ``Derivation.layer_numbers``, or the input's number for the activations the first layer reads; None
    for data, costs and η); ``example`` is 0-based, None for batch quantities. A ``+`` after a kind
    ("W+", "a+") is the value after ``step`` steps (one unless a claim says ``step``); an optimizer's
    state after ``step`` steps is ``Key("m(W)", 1, None, 2)`` (``state_kind``). ``step`` means nothing
    for the other kinds, and stays 1.
    """

    kind: str
    layer: int | None
    example: int | None
    step: int = 1


def state_kind(letter: str, param: str) -> str:
    """The kind of a state node: ``m(W)`` is the buffer m of a weight matrix, ``vhat(b)`` v̂ of a bias."""
    return f"{letter}({param})"


def split_state(kind: str) -> tuple[str, str] | None:
    """(letter, "W" or "b") of a state kind, None for any other kind."""
    if kind.endswith("(W)") or kind.endswith("(b)"):
        return kind[:-3], kind[-2]
    return None
