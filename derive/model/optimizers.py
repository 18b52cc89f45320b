"""Optimizer update rules (those of ``torch.optim``) and learning-rate schedules as SymPy expressions.

One entry per kind, like a loss. For one parameter entry θ with gradient g, a rule is
a sequence of assignments — the step t ← t + 1, then each state buffer, then θ — whose
right-hand sides read the values assigned before them, as DESIGN.md's optimizer table
reads. Generated code prints these expressions; documents and proofs read them here.
``Optimizer`` is what a spec's ``[optimizer]`` table chose (``optimizer_from_table``).
"""
from __future__ import annotations

import builtins
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import sympy as sp

from ..errors import SpecError, did_you_mean

THETA = sp.Symbol("theta", real=True)          # one entry of a parameter
GRAD = sp.Symbol("g", real=True)               # its gradient ∂C/∂θ
STEP = sp.Symbol("t", integer=True, nonnegative=True)
ETA = sp.Symbol("eta", positive=True)          # the learning rate η (of the current epoch)
MU = sp.Symbol("mu", nonnegative=True)
DAMPENING = sp.Symbol("dampening", nonnegative=True)
ALPHA = sp.Symbol("alpha", nonnegative=True)
BETA1 = sp.Symbol("beta1", nonnegative=True)
BETA2 = sp.Symbol("beta2", nonnegative=True)
EPSILON = sp.Symbol("epsilon", positive=True)
EPOCH = sp.Symbol("e", integer=True, nonnegative=True)
DECAY_RATE = sp.Symbol("r", nonnegative=True)
DECAY_INTERVAL = sp.Symbol("k", integer=True, positive=True)

#: the spec key of each hyperparameter and its symbol in the rules
HYPERPARAMETERS: dict[str, sp.Symbol] = {
    "learning_rate": ETA, "momentum": MU, "dampening": DAMPENING, "alpha": ALPHA,
    "beta1": BETA1, "beta2": BETA2, "epsilon": EPSILON,
}


@dataclass(frozen=True)
class Buffer:
    """One state buffer per parameter: ``name`` is torch.optim's state key, ``symbol`` its letter."""

    name: str
    symbol: sp.Symbol

    @property
    def local_name(self) -> str:
        """A Python variable name for it (``sum`` would shadow the builtin)."""
        return f"{self.name}_" if hasattr(builtins, self.name) else self.name


@dataclass(frozen=True)
class UpdateRule:
    """One optimizer kind: its state, the hyperparameters it reads and its sequential assignments."""

    kind: str
    formula: str                                    # the DESIGN table's row, for messages and headers
    buffers: tuple[Buffer, ...]
    hyperparameters: tuple[str, ...]                # spec keys it reads besides learning_rate
    assignments: tuple[tuple[sp.Symbol, sp.Expr], ...]

    def closed_form(self) -> dict[sp.Symbol, sp.Expr]:
        """The value after one step of t, each buffer and θ, in terms of the values before it."""
        new: dict[sp.Symbol, sp.Expr] = {}
        for target, expr in self.assignments:
            new[target] = expr.xreplace(new)
        return new


def _rule(kind: str, formula: str, buffers: tuple[Buffer, ...], hyperparameters: tuple[str, ...],
          *assignments: tuple[sp.Symbol, sp.Expr]) -> UpdateRule:
    # every kind counts its steps, as torch.optim does (Adam reads t; the others only keep it)
    return UpdateRule(kind, formula, buffers, hyperparameters, ((STEP, STEP + 1),) + assignments)


_b = Buffer("momentum_buffer", sp.Symbol("b", real=True))
_G = Buffer("sum", sp.Symbol("G", real=True))
_v = Buffer("square_avg", sp.Symbol("v", real=True))
_m = Buffer("exp_avg", sp.Symbol("m", real=True))
_s = Buffer("exp_avg_sq", sp.Symbol("v", real=True))
b, G, v, m, s = _b.symbol, _G.symbol, _v.symbol, _m.symbol, _s.symbol

RULES: dict[str, UpdateRule] = {rule.kind: rule for rule in [
    _rule("sgd", "θ ← θ − η g", (), (),
          (THETA, THETA - ETA * GRAD)),
    _rule("momentum", "b ← μ b + (1 − dampening) g; θ ← θ − η b", (_b,), ("momentum", "dampening"),
          (b, MU * b + (1 - DAMPENING) * GRAD),
          (THETA, THETA - ETA * b)),
    _rule("nesterov", "b ← μ b + g; θ ← θ − η (g + μ b)", (_b,), ("momentum",),
          (b, MU * b + GRAD),
          (THETA, THETA - ETA * (GRAD + MU * b))),
    _rule("adagrad", "G ← G + g²; θ ← θ − η g / (√G + ε)", (_G,), ("epsilon",),
          (G, G + GRAD ** 2),
          (THETA, THETA - ETA * GRAD / (sp.sqrt(G) + EPSILON))),
    _rule("rmsprop", "v ← α v + (1 − α) g²; θ ← θ − η g / (√v + ε)", (_v,), ("alpha", "epsilon"),
          (v, ALPHA * v + (1 - ALPHA) * GRAD ** 2),
          (THETA, THETA - ETA * GRAD / (sp.sqrt(v) + EPSILON))),
    _rule("adam", "t ← t + 1; m ← β₁ m + (1 − β₁) g; v ← β₂ v + (1 − β₂) g²; "
                  "θ ← θ − η (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)",
          (_m, _s), ("beta1", "beta2", "epsilon"),
          (m, BETA1 * m + (1 - BETA1) * GRAD),
          (s, BETA2 * s + (1 - BETA2) * GRAD ** 2),
          (THETA, THETA - ETA * (m / (1 - BETA1 ** STEP)) / (sp.sqrt(s / (1 - BETA2 ** STEP)) + EPSILON))),
]}


def split_corrections(expr: sp.Expr, values: Mapping[sp.Symbol, Any], step: sp.Symbol, of_t_only: set[sp.Symbol],
                      hat: Callable[[Any], sp.Symbol]) -> tuple[sp.Expr, list[tuple[sp.Symbol, sp.Expr]]]:
    """``expr`` with each bias correction on its own: every product of one buffer value (a key of ``values``)
    and factors that contain ``step`` and no symbol outside ``of_t_only`` (m / (1 − β₁ᵗ)) becomes
    ``hat(values[value])``. Returns the new expression and (hat, the product) for each, in the order found.
    Documents (``updates.step_form``) and the checker's evaluation (``evaluation.optimizer``) read Adam's
    m̂ and v̂ from the rule this way, each over its own symbols."""
    found: list[tuple[sp.Symbol, sp.Expr]] = []

    def visit(node: sp.Expr) -> sp.Expr:
        if not node.args:
            return node
        node = node.func(*[visit(arg) for arg in node.args])
        if not isinstance(node, sp.Mul):
            return node
        buffers = [f for f in node.args if f in values]
        of_t = [f for f in node.args if f.has(step) and f.free_symbols <= of_t_only]
        if len(buffers) != 1 or not of_t:
            return node
        symbol = hat(values[buffers[0]])
        found.append((symbol, sp.Mul(buffers[0], *of_t)))
        return sp.Mul(symbol, *[f for f in node.args if f is not buffers[0] and f not in of_t])

    return visit(expr), found

#: torch.optim's default learning rate of each kind (SGD, Adagrad, RMSprop, Adam)
DEFAULT_LEARNING_RATE = {"sgd": 1e-3, "momentum": 1e-3, "nesterov": 1e-3, "adagrad": 1e-2, "rmsprop": 1e-2,
                         "adam": 1e-3}
#: defaults of the other hyperparameters: torch.optim's, except momentum (torch's 0 is plain sgd)
DEFAULTS = {"momentum": 0.9, "dampening": 0.0, "alpha": 0.99, "beta1": 0.9, "beta2": 0.999}
DEFAULT_EPSILON = {"adagrad": 1e-10, "rmsprop": 1e-8, "adam": 1e-8}


@dataclass(frozen=True)
class Decay:
    """A per-epoch learning-rate schedule: η_e = η / (1 + r ⌊e / k⌋) (inverse_time) or η rᵉ (exponential)."""

    kind: str
    rate: float
    interval: int = 1

    def expr(self) -> sp.Expr:
        """η_e in terms of ETA, EPOCH, DECAY_RATE and DECAY_INTERVAL."""
        if self.kind == "inverse_time":
            return ETA / (1 + DECAY_RATE * sp.floor(EPOCH / DECAY_INTERVAL))
        return ETA * DECAY_RATE ** EPOCH

    @property
    def formula(self) -> str:
        if self.kind == "inverse_time":
            return f"η_e = η / (1 + {self.rate!r}·⌊e / {self.interval}⌋)"
        return f"η_e = η · {self.rate!r}^e"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "rate": self.rate}
        if self.kind == "inverse_time":
            out["interval"] = self.interval
        return out


@dataclass(frozen=True)
class Optimizer:
    """The optimizer a spec chose: a kind, its hyperparameters (defaults filled in) and a schedule."""

    kind: str = "sgd"
    learning_rate: float | None = None              # None: given at call time (no [optimizer] table)
    settings: tuple[tuple[str, float], ...] = ()    # the rule's hyperparameters, in its order
    decay: Decay | None = None
    given: bool = False                             # whether the spec has an [optimizer] table

    @property
    def rule(self) -> UpdateRule:
        return RULES[self.kind]

    def value(self, name: str) -> float:
        return dict(self.settings)[name]

    def schedule(self) -> sp.Expr:
        """η_e, the learning rate of epoch e (η itself without decay)."""
        return self.decay.expr() if self.decay else ETA

    def as_dict(self) -> dict[str, Any]:
        """kind, learning_rate, the rule's hyperparameters and decay, as plain Python values."""
        return {"kind": self.kind, "learning_rate": self.learning_rate, **dict(self.settings),
                "decay": self.decay.as_dict() if self.decay else None}


PLAIN_SGD = Optimizer()   # no [optimizer] table: θ ← θ − η g with η given at call time

OPTIMIZER_KEYS = ("kind", "learning_rate", "momentum", "dampening", "alpha", "beta1", "beta2", "epsilon", "decay")
DECAY_KINDS = ("inverse_time", "exponential")
KIND_SYNONYMS = {"sgdmomentum": "momentum", "heavyball": "momentum", "nag": "nesterov"}   # other libraries' names


# ---------------------------------------------------------------- the [optimizer] table

def optimizer_from_table(value: Any) -> Optimizer:
    """Validate a spec's ``[optimizer]`` table; every problem is a ``SpecError`` naming ``optimizer.KEY``."""
    _keys(value, "optimizer", OPTIMIZER_KEYS)
    if "kind" not in value:
        raise SpecError("optimizer.kind", f"expected a value (required; one of {', '.join(RULES)})")
    kind = value["kind"]
    if not isinstance(kind, str) or kind not in RULES:
        hint = did_you_mean(kind, RULES, KIND_SYNONYMS) if isinstance(kind, str) else ""
        raise SpecError("optimizer.kind", f"expected one of {', '.join(RULES)}, got {_show(kind)}{hint}")
    rule = RULES[kind]
    for key in ("momentum", "dampening", "alpha", "beta1", "beta2", "epsilon"):
        if key in value and key not in rule.hyperparameters:
            _not_applicable(key, value[key], kind)
    learning_rate = DEFAULT_LEARNING_RATE[kind]
    if "learning_rate" in value:
        learning_rate = _positive(value["learning_rate"], "optimizer.learning_rate")
    settings = []
    for key in rule.hyperparameters:
        field = f"optimizer.{key}"
        if key == "epsilon":
            number = _positive(value[key], field) if key in value else DEFAULT_EPSILON[kind]
        else:
            number = _unit(value[key], field) if key in value else DEFAULTS[key]
        settings.append((key, number))
    decay = _decay(value["decay"]) if "decay" in value else None
    return Optimizer(kind, learning_rate, tuple(settings), decay, given=True)


def _not_applicable(key: str, number: Any, kind: str) -> None:
    users = [k for k, rule in RULES.items() if key in rule.hyperparameters]
    if key == "dampening" and kind == "nesterov":
        if not isinstance(number, bool) and isinstance(number, numbers.Real) and number == 0:
            return   # torch.optim.SGD accepts nesterov with dampening 0, which changes nothing
        raise SpecError("optimizer.dampening", f"expected no dampening (or 0) for kind 'nesterov': "
                                               f"Nesterov momentum needs zero dampening, as in torch.optim.SGD, "
                                               f"got {_show(number)}")
    raise SpecError(f"optimizer.{key}", f"expected no {key}: it applies only to {', '.join(users)}, "
                                        f"got kind {kind!r}")


def _decay(value: Any) -> Decay:
    _keys(value, "optimizer.decay", ("kind", "rate", "interval"))
    for key in ("kind", "rate"):
        if key not in value:
            raise SpecError(f"optimizer.decay.{key}", f"expected a value (required in decay; kind is one of "
                                                      f"{', '.join(DECAY_KINDS)})")
    kind = value["kind"]
    if not isinstance(kind, str) or kind not in DECAY_KINDS:
        raise SpecError("optimizer.decay.kind", f"expected one of {', '.join(DECAY_KINDS)}, got {_show(kind)}")
    if kind == "exponential":
        if "interval" in value:
            raise SpecError("optimizer.decay.interval", "expected no interval: it applies only to inverse_time, "
                                                        "got kind 'exponential'")
        rate = _real(value["rate"], "optimizer.decay.rate", "in (0, 1]", lambda x: 0 < x <= 1)
        return Decay(kind, rate)
    rate = _real(value["rate"], "optimizer.decay.rate", ">= 0", lambda x: x >= 0)
    interval = value.get("interval", 1)
    if isinstance(interval, bool) or not isinstance(interval, numbers.Integral) or not 1 <= interval <= 10**9:
        raise SpecError("optimizer.decay.interval", f"expected a positive integer (epochs) at most 1000000000, "
                                                    f"got {_show(interval)}")
    return Decay(kind, rate, int(interval))


# ---------------------------------------------------------------- small checks

def _keys(value: Any, field: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, Mapping):
        raise SpecError(field, f"expected a table for {field}, got {_show(value)}")
    for key in value:
        if key not in allowed:
            shown = key if isinstance(key, str) and key.isidentifier() else repr(key)
            raise SpecError(f"{field}.{shown}", f"expected one of the keys {', '.join(allowed)}, "
                                                f"got unknown key {shown}")


def _real(value: Any, field: str, bound: str, ok) -> float:
    """A finite real (int or float, not bool) that satisfies ``ok``; ``bound`` says which in the message."""
    expected = f"expected a number {bound}, got {_show(value)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SpecError(field, expected)
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        raise SpecError(field, expected) from None
    if not math.isfinite(number) or not ok(number):
        raise SpecError(field, expected)
    return number


def _positive(value: Any, field: str) -> float:
    return _real(value, field, "> 0 (finite)", lambda x: x > 0)


def _unit(value: Any, field: str) -> float:
    # β, α, μ and dampening of 1 or more never forget (or grow without bound)
    return _real(value, field, "in [0, 1)", lambda x: 0 <= x < 1)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
