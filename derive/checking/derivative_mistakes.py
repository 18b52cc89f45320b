"""The mistakes students make with an activation's derivative, as SymPy, for numbers and formulas alike.

- ``derivative_left_out``: δ^[l] without g'(z^[l]) — at the output δ^[L] = ∂ℓ/∂a^[L] (lecture
  002's first summary), in a hidden layer δ^[l] = W^[l+1]ᵀ δ^[l+1];
- ``derivative_at_a``: g' evaluated at a = g(z) instead of z (σ(a)(1 − σ(a)), 1 − tanh²(a));
- ``derivative_formula_sign``: a sign slip inside g''s lecture form (1 + a² for 1 − a², a(1 + a)
  for a(1 − a));
- ``g_for_derivative``: g(z) = a where g'(z) belongs.

The number checker compiles the mistaken g' (``variant.MistakenSteps``); the formula checker
compares a wrong δ or g' formula with the mistaken expressions (``formula_causes``). Both take
the words' details from here, so a cause reads the same for a number and a formula.
"""
from __future__ import annotations

import re
from functools import lru_cache

import sympy as sp

from ..derivation.backprop import Derivation
from ..model.activations import A as GENERIC_A, Z as GENERIC_Z, Activation
from .counterexample import decide

#: a cause's details, as ``mistakes.Cause`` keeps them
Details = tuple[tuple[str, str], ...]

#: how the lecture writes g' evaluated at a, for the built-in activations it names
_AT_A_TEXT = {"sigmoid": "σ(a)(1 − σ(a))", "tanh": "1 − tanh²(a)"}


def _flip(expr: sp.Expr) -> sp.Expr:
    """Every subtracted term that involves a added instead: a(1 − a) → a(1 + a), 1 − a² → 1 + a²."""
    if not expr.args:
        return expr
    args = [_flip(arg) for arg in expr.args]
    if expr.is_Add:
        return sp.Add(*[-t if t.could_extract_minus_sign() and GENERIC_A in t.free_symbols else t for t in args])
    return expr.func(*args)


@lru_cache(maxsize=None)
def slipped(activation: Activation) -> sp.Expr | None:
    """g''s lecture form with a sign slip inside, generic in a/z; None when it has no minus sign to slip."""
    if activation.is_softmax:
        return None
    derivative = activation.lecture_derivative
    flipped = _flip(derivative)
    return None if flipped == derivative else flipped


@lru_cache(maxsize=None)
def at_a(activation: Activation) -> sp.Expr | None:
    """g' evaluated at a = g(z) (generic in a); None when that is g' itself (a linear layer)."""
    if activation.is_softmax:
        return None
    derivative = activation.lecture_derivative
    moved = derivative.subs({GENERIC_A: activation.expr.subs(GENERIC_Z, GENERIC_A), GENERIC_Z: GENERIC_A},
                            simultaneous=True)
    return None if _same_for_every_z(moved, derivative, activation.expr) else moved


def _same_for_every_z(moved: sp.Expr, derivative: sp.Expr, g: sp.Expr) -> bool:
    """Whether g'(a) = g'(z) at a = g(z), tried at a few z (a linear layer; relu, where g' is a step at 0)."""
    if moved == derivative:
        return True
    for z in (sp.Rational(-13, 10), sp.Rational(2, 5), sp.Rational(11, 5)):
        a = g.subs(GENERIC_Z, z)
        here = sp.N(moved.subs(GENERIC_A, a) - derivative.subs({GENERIC_A: a, GENERIC_Z: z}), 20)
        if not here.is_number or abs(here) > 1e-15:
            return False
    return True


def leaves_out(activation: Activation) -> bool:
    """Whether leaving g' out changes δ (not for a linear layer, g' = 1)."""
    return activation.is_softmax or activation.lecture_derivative != 1


def text(expr: sp.Expr) -> str:
    """A short derivative as the lecture writes it: a(1 − a), 1 − a²."""
    shown = sp.sstr(expr, order="none")
    shown = re.sub(r"\*\*(\d)", lambda m: "⁰¹²³⁴⁵⁶⁷⁸⁹"[int(m.group(1))], shown)
    shown = shown.replace(")*(", ")(").replace("*(", "(").replace("*", "·")
    return shown.replace(" - ", " − ").replace("-", "−")


def _forms(activations: list[Activation], form) -> str:
    seen: list[str] = []
    for activation in activations:
        shown = form(activation)
        if shown not in seen:
            seen.append(shown)
    return ", ".join(seen)


def details(cause_id: str, derivation: Derivation, layers) -> Details:
    """The details the sentence of ``cause_id`` in ``layers`` (spec numbers) needs."""
    layers = sorted(layers)
    out: Details = (("layers", ", ".join(str(l) for l in layers)),)
    activations = [derivation.layer(l).activation for l in layers]
    if cause_id == "derivative_at_a":
        out += (("written", _forms(activations, lambda g: _AT_A_TEXT.get(g.name, "g'(a)"))),)
    elif cause_id == "derivative_formula_sign":
        out += (("written", _forms(activations, lambda g: text(slipped(g)))),
                ("right", _forms(activations, lambda g: text(g.lecture_derivative))))
    return out


def slipped_step(derivation: Derivation, layer: int) -> tuple[list[sp.Symbol], list[sp.Expr]]:
    """Like ``expressions.activation_derivative``: the slipped g' of each unit, for ``Steps`` to compile."""
    s = derivation.symbols(layer)
    derivative = slipped(derivation.layer(layer).activation)
    return list(s.a) + list(s.z), [derivative.subs({GENERIC_A: s.a[j], GENERIC_Z: s.z[j]})
                                   for j in range(len(s.z))]


# ---------------------------------------------------------------- formula claims

def _mistaken_derivatives(derivation: Derivation, layer: int) -> list[tuple[str, list[sp.Expr]]]:
    """(cause id, g' of each unit with that mistake), in the layer's symbols."""
    s = derivation.symbols(layer)
    activation = derivation.layer(layer).activation
    units = range(len(s.z))
    out = [("g_for_derivative", [s.a[j] for j in units])]
    for cause_id, generic in (("derivative_at_a", at_a(activation)), ("derivative_formula_sign", slipped(activation))):
        if generic is not None:
            out.append((cause_id, [generic.subs({GENERIC_A: s.a[j], GENERIC_Z: s.z[j]}) for j in units]))
    return out


def mistaken_formulas(kind: str, derivation: Derivation, layer: int) -> list[tuple[str, list[sp.Expr]]]:
    """(cause id, the claimed quantity made with that mistake, unit by unit) for a δ or g' formula."""
    d = derivation
    activation = d.layer(layer).activation
    if kind == "g'":
        return [] if activation.is_softmax else _mistaken_derivatives(d, layer)
    if kind != "delta":
        return []
    upstream = list(d.loss_gradient) if layer == d.last else [back for _, back in d.delta_factors(layer)]
    out = [("derivative_left_out", upstream)] if leaves_out(activation) else []
    if not activation.is_softmax:
        out += [(cause_id, [g * u for g, u in zip(derivatives, upstream)])
                for cause_id, derivatives in _mistaken_derivatives(d, layer)]
    return out


def formula_causes(kind: str, derivation: Derivation, layer: int, claimed: list[sp.Expr],
                   independent) -> list[tuple[str, Details]]:
    """(cause id, details) of the derivative mistakes whose δ or g' equals the claimed formula in every unit.

    ``claimed``: the claim's entries with every a written as g(z); ``independent`` does the same
    to an expression of the derivation (``formulas._independent``).
    """
    found = []
    for cause_id, mistaken in mistaken_formulas(kind, derivation, layer):
        if len(mistaken) != len(claimed):
            continue
        if all(decide(c, independent(derivation, m))[0] == "equal" for c, m in zip(claimed, mistaken)):
            found.append((cause_id, details(cause_id, derivation, [layer])))
    return found
