"""The nodes of the checker's graph: one quantity of one gradient step, such as a^[2] of example 1."""
from __future__ import annotations

from typing import NamedTuple

#: nodes given by the spec's [example] (data and parameters), not computed
GIVEN_KINDS = ("x", "y", "W", "b", "eta")


class Key(NamedTuple):
    """``Key("a", 2, 0)`` is a^[2] of the first example; ``Key("dW", 1, None)`` the batch gradient ∂C/∂W^[1].

    ``layer`` is the spec's layer number, as answers files and reports write it (one of
    ``Derivation.layer_numbers``, or the input's number for the activations the first layer reads; None
    for data, costs and η); ``example`` is 0-based, None for batch quantities. A ``+`` after a kind
    ("W+", "a+") is the value after one gradient step.
    """

    kind: str
    layer: int | None
    example: int | None
