"""deltagen's derivation side: the model, the derivation, its proof, documents, evaluation and checking.

    model/        spec files → a validated ``Network`` (layers, activations, losses)
    derivation/   ``Derivation``: z, a, cost, δ, ∂C/∂θ and the update, symbolically; stable forms
    proof/        every derived identity checked against direct differentiation
    evaluation/   every number of a forward and backward pass, from the derivation's expressions
    documents/    LaTeX and Markdown: the derivation, worked solutions, words per language
    checking/     answers files, verdicts with follow-through, likely causes, reports

Nothing here imports ``codegen``: consumers depend on the ``Derivation``, never the reverse.
``deltagen.derive`` is this package and also callable: ``deltagen.derive("spec.toml")``
is ``derive("spec.toml")`` below.
"""
from __future__ import annotations

import os
import sys
import types
from typing import Mapping

from .derivation.backprop import Derivation
from .errors import SpecError
from .model.network import Example, Layer, Network, Notation
from .model.spec import load_spec, spec_from_dict

__version__ = "0.1.0"

#: what ``derive`` and ``load`` accept: a spec file's path, a spec as a dict, or a ``Network``
SpecLike = str | os.PathLike | Mapping | Network


def load(spec: SpecLike) -> Network:
    """The validated ``Network`` of ``spec`` (a path to a TOML file, a dict, or a ``Network``)."""
    if isinstance(spec, Network):
        return spec
    if isinstance(spec, Mapping):
        return spec_from_dict(spec)
    if isinstance(spec, (str, os.PathLike)):
        return load_spec(spec)
    raise TypeError(f"spec: expected a path, a dict or a Network, got {type(spec).__name__}")


def derive(spec: SpecLike) -> Derivation:
    """Backpropagation for ``spec``, derived symbolically (lazily: each part on first use)."""
    return Derivation(load(spec))


class _CallablePackage(types.ModuleType):
    """Lets ``deltagen.derive(spec)`` call ``derive`` while ``deltagen.derive.model`` stays a package path."""

    def __call__(self, spec: SpecLike) -> Derivation:
        return derive(spec)


sys.modules[__name__].__class__ = _CallablePackage

__all__ = ["Derivation", "Example", "Layer", "Network", "Notation", "SpecError", "SpecLike", "derive",
           "load", "load_spec", "spec_from_dict", "__version__"]
