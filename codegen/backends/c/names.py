"""The C lvalue of every symbol of a derivation, and the placeholder symbols the C statements use.

Arrays follow the generated file's layout: the parameters are ``p->W{l}[j][k]``,
``p->b{l}[j]``, one example's trace is ``t->z{l}[j]``, ``t->a{l}[j]``,
``t->d{l}[j]`` (δ), the input is ``a0[k]`` and the target ``y[k]``.
"""
from __future__ import annotations

import sympy as sp

from deltagen.derive.derivation.backprop import Derivation
from deltagen.derive.model.activations import A as GENERIC_A, Z as GENERIC_Z

from .parts import OTHER, UNIT

LEARNING_RATE = sp.Symbol("learning_rate", positive=True)
STEP_SUM = sp.Symbol("s", real=True)          # a dot product's running sum in a loop
ACCUMULATED = sp.Symbol("acc", real=True)     # Σ_i over examples of a per-example gradient
PARAM = sp.Symbol("theta", real=True)
M_REAL = sp.Symbol("m_real", positive=True)   # m converted to NAME_real, so 1/m is not integer division
LOSS_SUM = sp.Symbol("loss_sum", real=True)
#: W[l+1]ᵀ δ[l+1], summed row by row into a local array before δ[l] is computed
BACK_SUM = "back"


def lvalue_symbol(lvalue: str) -> sp.Symbol:
    """A symbol that prints as the C lvalue it is named after (e.g. ``grad->W1[j][k]``).

    Its name also fixes SymPy's order of the terms it appears in, so the output is stable.
    """
    return sp.Symbol(lvalue)


def activation_array(derivation: Derivation, index: int) -> str:
    """The array of a[index] for one example: the input ``a0``, or the trace's ``t->a{l}``."""
    return "a0" if index == 0 else f"t->a{derivation.layer_number(index)}"


def concrete_names(derivation: Derivation) -> dict[sp.Basic, str]:
    """C lvalues of every index-form symbol of the derivation (unit by unit, constant indices)."""
    d = derivation
    names: dict[sp.Basic, str] = {x: f"a0[{k}]" for k, x in enumerate(d.x)}
    names.update({y: f"y[{k}]" for k, y in enumerate(d.y)})
    for index in range(1, d.L + 1):
        s, num = d.symbols(index), d.layer_number(index)
        for j in range(len(s.z)):
            names[s.z[j]] = f"t->z{num}[{j}]"
            names[s.a[j]] = f"t->a{num}[{j}]"
            names[s.delta[j]] = f"t->d{num}[{j}]"
            if s.b:
                names[s.b[j]] = f"p->b{num}[{j}]"
            for k in range(s.W.shape[1]):
                names[s.W[j, k]] = f"p->W{num}[{j}][{k}]"
    return names


def loop_names(derivation: Derivation, index: int) -> dict[sp.Basic, str]:
    """Unit 0 of layer ``index`` (and unit 0 of the layer below) as lvalues indexed by the loop variables."""
    d = derivation
    s, num = d.symbols(index), d.layer_number(index)
    below = d.activations_of(index - 1)
    j, k = UNIT, OTHER
    names = {s.z[0]: f"t->z{num}[{j}]", s.a[0]: f"t->a{num}[{j}]", s.delta[0]: f"t->d{num}[{j}]",
             s.W[0, 0]: f"p->W{num}[{j}][{k}]", below[0]: f"{activation_array(d, index - 1)}[{k}]",
             GENERIC_Z: f"t->z{num}[{j}]", GENERIC_A: f"t->a{num}[{j}]", STEP_SUM: STEP_SUM.name}
    if s.b:
        names[s.b[0]] = f"p->b{num}[{j}]"
    if index == d.L:
        names[d.y[0]] = f"y[{j}]"
    return names


def transposed_names(derivation: Derivation, index: int) -> dict[sp.Basic, str]:
    """Unit 0 of layer ``index`` + 1 as the lvalues of W[l+1]ᵀ δ[l+1]'s loop: row k of W, column j."""
    above, num = derivation.symbols(index + 1), derivation.layer_number(index + 1)
    return {above.W[0, 0]: f"p->W{num}[{OTHER}][{UNIT}]", above.delta[0]: f"t->d{num}[{OTHER}]"}
