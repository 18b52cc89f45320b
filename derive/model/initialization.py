"""Weight initialisation schemes as SymPy expressions of a layer's fan-in and fan-out.

One entry per scheme, like a loss or an optimizer. A scheme draws each weight from
U[−r, r] (``distribution = "uniform"``, ``expr`` is the bound r) or N(0, σ²)
(``"normal"``, ``expr`` is the standard deviation σ), or sets it to 0 (``"zeros"``).
Glorot and He are those of ``torch.nn.init`` (``xavier_uniform_``, ``xavier_normal_``,
``kaiming_uniform_`` / ``kaiming_normal_`` with a = 0, nonlinearity "relu", mode
"fan_in"); Keras's ``glorot_normal`` / ``he_normal`` truncate the normal at 2σ, these
do not. ``uniform`` and ``normal`` are lecture 004's U[−ε, ε] and N(0, ε²), ε =
``init_scale``. Biases always start at 0. Generated code prints ``Initialization.value``
for each weight matrix; the random generator that draws from these is the README's.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..errors import SpecError, did_you_mean

FAN_IN = sp.Symbol("n_in", integer=True, positive=True)     # inputs of one unit: n_{l−1} for a dense layer
FAN_OUT = sp.Symbol("n_out", integer=True, positive=True)   # units the layer feeds: n_l for a dense layer
SCALE = sp.Symbol("epsilon", positive=True)                 # init_scale, lecture 004's ε

#: init_scale when the spec gives none (lecture 004's small ε)
DEFAULT_SCALE = 0.01


@dataclass(frozen=True)
class Scheme:
    """One initialisation scheme: what it draws from, and r or σ as an expression of FAN_IN, FAN_OUT, SCALE."""

    name: str
    distribution: str     # uniform | normal | zeros
    expr: sp.Expr         # the bound r of U[−r, r], the σ of N(0, σ²), or 0
    formula: str          # for messages, headers and the README
    ascii: str            # the same for C comments, r naming the bound or the σ

    @property
    def reads_scale(self) -> bool:
        return self.expr.has(SCALE)

    @property
    def draws(self) -> int:
        """Generator draws per weight: one for a uniform, two for a normal (Box–Muller), none for zeros."""
        return {"uniform": 1, "normal": 2, "zeros": 0}[self.distribution]


SCHEMES: dict[str, Scheme] = {scheme.name: scheme for scheme in [
    Scheme("glorot_uniform", "uniform", sp.sqrt(6 / (FAN_IN + FAN_OUT)), "U[−r, r], r = √(6 / (fan_in + fan_out))",
           "U[-r, r], r = sqrt(6 / (fan_in + fan_out))"),
    Scheme("glorot_normal", "normal", sp.sqrt(2 / (FAN_IN + FAN_OUT)), "N(0, σ²), σ = √(2 / (fan_in + fan_out))",
           "N(0, r^2), r = sqrt(2 / (fan_in + fan_out))"),
    Scheme("he_uniform", "uniform", sp.sqrt(6 / FAN_IN), "U[−r, r], r = √(6 / fan_in)",
           "U[-r, r], r = sqrt(6 / fan_in)"),
    Scheme("he_normal", "normal", sp.sqrt(2 / FAN_IN), "N(0, σ²), σ = √(2 / fan_in)",
           "N(0, r^2), r = sqrt(2 / fan_in)"),
    Scheme("uniform", "uniform", SCALE, "U[−ε, ε]; ε = init_scale", "U[-r, r], r = init_scale"),
    Scheme("normal", "normal", SCALE, "N(0, ε²); ε = init_scale", "N(0, r^2), r = init_scale"),
    Scheme("zeros", "zeros", sp.Integer(0), "every weight 0 (the symmetry lecture 004 warns of)", "every weight 0"),
]}

#: other libraries' names for the same schemes, for a did-you-mean hint
SYNONYMS = {"xavieruniform": "glorot_uniform", "xaviernormal": "glorot_normal", "kaiminguniform": "he_uniform",
            "kaimingnormal": "he_normal", "zero": "zeros", "randomuniform": "uniform", "randomnormal": "normal",
            "gaussian": "normal"}   # lowercase, without separators (errors.did_you_mean)


@dataclass(frozen=True)
class Initialization:
    """The scheme a spec chose, with its ε (``scale``, None for the schemes that do not read one)."""

    scheme: Scheme
    scale: float | None = None

    @property
    def name(self) -> str:
        return self.scheme.name

    @property
    def distribution(self) -> str:
        return self.scheme.distribution

    @property
    def draws(self) -> int:
        return self.scheme.draws

    def value(self, fan_in: int, fan_out: int) -> sp.Expr:
        """r (uniform) or σ (normal) for one weight matrix, exact where the scheme is (√(6/5) stays √(6/5))."""
        values: dict[sp.Basic, sp.Expr] = {FAN_IN: sp.Integer(fan_in), FAN_OUT: sp.Integer(fan_out)}
        if self.scale is not None:
            values[SCALE] = sp.Float(self.scale)   # the spec's double, exactly (53 bits)
        return self.scheme.expr.xreplace(values)

    def as_float(self, fan_in: int, fan_out: int) -> float:
        """``value`` rounded once to the nearest double: the constant NumPy and C both print."""
        return float(sp.N(self.value(fan_in, fan_out), 30))   # 30 digits, then one rounding to 53 bits

    @property
    def formula(self) -> str:
        if self.scheme.reads_scale:
            return self.scheme.formula.replace("init_scale", repr(self.scale))
        return self.scheme.formula

    @property
    def ascii_formula(self) -> str:
        if self.scheme.reads_scale:
            return self.scheme.ascii.replace("init_scale", repr(self.scale))
        return self.scheme.ascii


DEFAULT_INIT = Initialization(SCHEMES["glorot_uniform"])


def initialization_from_spec(data: Any) -> Initialization:
    """The spec's ``init`` and ``init_scale`` (both optional); every problem is a one-line ``SpecError``."""
    name = data.get("init", "glorot_uniform")
    if not isinstance(name, str) or name not in SCHEMES:
        hint = did_you_mean(name, SCHEMES, SYNONYMS, quote=True) if isinstance(name, str) else ""
        raise SpecError("init", f"expected one of {', '.join(SCHEMES)}, got {_show(name)}{hint}")
    scheme = SCHEMES[name]
    if not scheme.reads_scale:
        if "init_scale" in data:
            why = "" if name == "zeros" else f" ({name} takes its scale from fan_in and fan_out)"
            raise SpecError("init_scale", f"expected no init_scale: it applies only to init 'uniform' (U[−ε, ε]) "
                                          f"and 'normal' (N(0, ε²)), got init {name!r}{why}")
        return Initialization(scheme)
    scale = data.get("init_scale", DEFAULT_SCALE)
    expected = f"expected a finite number > 0 (the ε of {scheme.formula.split(';')[0]}), got {_show(scale)}"
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise SpecError("init_scale", expected)
    try:
        number = float(scale)
    except (OverflowError, ValueError, TypeError):
        raise SpecError("init_scale", expected) from None
    if not math.isfinite(number) or number <= 0:
        raise SpecError("init_scale", expected)
    return Initialization(scheme, number)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
