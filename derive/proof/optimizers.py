"""The optimizer's update rule: each claimed closed form checked against the rule's definition.

The definition is ``UpdateRule.assignments`` (derive/model/optimizers.py): t ← t + 1, then each
buffer, then θ, each right-hand side reading the values assigned before it. A claim is typed here
independently of it — the one-line update in terms of the state before the step, the forms of
torch.optim and of the Adam paper, and what k steps from zero state with a constant gradient g
give (k = 1 … 4: Adam's bias correction undoes the zero start, the EMA momentum buffer is
(1 − μᵏ) g, …) — and holds when claim − definition is exactly zero (``zero_test.is_zero``). A
wrong claim is shown wrong at once by a numeric counterexample (``refute``); it is never verified
by one. ``claim`` is the one check, so a wrong closed form fails in the same machinery.
"""
from __future__ import annotations

import sympy as sp

from ..model.optimizers import (ALPHA, BETA1, BETA2, DAMPENING, EPSILON, ETA, GRAD, MU, STEP, THETA, RULES,
                                Optimizer, UpdateRule)
from .refute import counterexample
from .report import Identity, verdict
from .zero_test import is_zero

#: constant-gradient runs from zero state are proved for k = 1 … STEPS
STEPS = 4
METHOD = "the rule's assignments composed, exact zero test"
RUN_METHOD = f"the rule applied k times from zero state, exact zero test; k = 1..{STEPS}"
OPTIMIZER_TOPIC = "optimizer"

# the buffer symbols of the rules (Adam's v and RMSProp's v are the same letter)
b = RULES["momentum"].buffers[0].symbol
G = RULES["adagrad"].buffers[0].symbol
v = RULES["rmsprop"].buffers[0].symbol
m = RULES["adam"].buffers[0].symbol


def holds(claimed: sp.Expr, actual: sp.Expr) -> bool:
    """Whether ``claimed`` equals ``actual`` identically: a counterexample refutes it at once, else exactly."""
    difference = _factored_roots(claimed - actual)
    if difference == 0:
        return True
    if counterexample(difference, {}):
        return False
    return is_zero(difference)


def _factored_roots(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the radicand of each square root factored, an equal expression in which SymPy's own
    rules apply: √(g² c) = |g| √c for real g, √(c / c) = 1 (the zero-state runs need these)."""
    return expr.replace(lambda e: isinstance(e, sp.Pow) and e.exp == sp.Rational(1, 2),
                        lambda e: sp.sqrt(sp.factor(e.base)))


def claim(statement: str, pairs: list[tuple[sp.Expr, sp.Expr]], method: str = METHOD) -> Identity:
    """One statement standing for ``len(pairs)`` scalar identities claimed == actual."""
    ok = all(holds(claimed, actual) for claimed, actual in pairs)
    return Identity(statement, method, verdict(ok), count=len(pairs), topic=OPTIMIZER_TOPIC, scope="update rule",
                    widths="scalar")


def one_step(rule: UpdateRule) -> dict[sp.Symbol, sp.Expr]:
    """t, each buffer and θ after one step, in terms of the values before it (the definition)."""
    return rule.closed_form()


def run(rule: UpdateRule, steps: int = STEPS, gradient: sp.Expr = GRAD) -> list[dict[sp.Symbol, sp.Expr]]:
    """The state after each of ``steps`` steps from zero state (t = 0, every buffer 0) with a constant
    ``gradient``; θ starts at THETA. Entry k − 1 holds the state after step k."""
    step = {target: expr.xreplace({GRAD: gradient}) for target, expr in one_step(rule).items()}
    state: dict[sp.Symbol, sp.Expr] = {STEP: sp.Integer(0), THETA: THETA,
                                       **{buffer.symbol: sp.Integer(0) for buffer in rule.buffers}}
    states = []
    for _ in range(steps):
        state = {target: expr.xreplace(state) for target, expr in step.items()}
        states.append(state)
    return states


def _increments(rule: UpdateRule) -> list[sp.Expr]:
    """θ_k − θ_{k−1} for k = 1 … STEPS from zero state with constant g."""
    thetas = [THETA] + [state[THETA] for state in run(rule)]
    return [thetas[k] - thetas[k - 1] for k in range(1, len(thetas))]


def _geometric(ratio: sp.Expr, k: int) -> sp.Expr:
    """1 + r + … + r^{k−1}."""
    return sp.Add(*[ratio ** j for j in range(k)])


def _ks() -> range:
    return range(1, STEPS + 1)


# ---------------------------------------------------------------- per kind

def _sgd(rule: UpdateRule) -> list[Identity]:
    states = run(rule)
    return [
        claim("sgd: θ_new = θ − η g", [(THETA - ETA * GRAD, one_step(rule)[THETA])]),
        claim("sgd: after k steps with constant g, θ_k = θ_0 − k η g",
              [(THETA - k * ETA * GRAD, states[k - 1][THETA]) for k in _ks()], RUN_METHOD),
    ]


def _momentum(rule: UpdateRule) -> list[Identity]:
    step = one_step(rule)
    states = run(rule)
    return [
        claim("momentum: θ_new = θ − η (μ b + (1 − dampening) g), b the buffer before the step",
              [(THETA - ETA * (MU * b + (1 - DAMPENING) * GRAD), step[THETA])]),
        claim("momentum: from zero state with constant g, b_k = (1 − dampening)(1 + μ + … + μ^(k−1)) g",
              [((1 - DAMPENING) * _geometric(MU, k) * GRAD, states[k - 1][b]) for k in _ks()], RUN_METHOD),
        claim("momentum with dampening = μ (EMA form): from zero state with constant g, b_k = (1 − μ^k) g",
              [((1 - MU ** k) * GRAD, states[k - 1][b].xreplace({DAMPENING: MU})) for k in _ks()], RUN_METHOD),
    ]


def _nesterov(rule: UpdateRule) -> list[Identity]:
    step = one_step(rule)
    b_new = MU * b + GRAD
    states = run(rule)
    return [
        claim("nesterov: θ_new = θ − η (g + μ b_new) with b_new = μ b + g",
              [(THETA - ETA * (GRAD + MU * b_new), step[THETA])]),
        claim("nesterov: θ_new = θ − η ((1 + μ) g + μ² b), b the buffer before the step",
              [(THETA - ETA * ((1 + MU) * GRAD + MU ** 2 * b), step[THETA])]),
        claim("nesterov: from zero state with constant g, b_k = (1 + μ + … + μ^(k−1)) g",
              [(_geometric(MU, k) * GRAD, states[k - 1][b]) for k in _ks()], RUN_METHOD),
        claim("nesterov: with constant g, step k is θ_k − θ_(k−1) = −η (1 + μ + … + μ^k) g (one power of μ "
              "ahead of momentum)",
              [(-ETA * _geometric(MU, k + 1) * GRAD, inc) for k, inc in zip(_ks(), _increments(rule))],
              RUN_METHOD),
    ]


def _adagrad(rule: UpdateRule) -> list[Identity]:
    step = one_step(rule)
    states = run(rule)
    return [
        claim("adagrad: θ_new = θ − η g / (√(G + g²) + ε), G the sum before the step",
              [(THETA - ETA * GRAD / (sp.sqrt(G + GRAD ** 2) + EPSILON), step[THETA])]),
        claim("adagrad: from zero state with constant g, G_k = k g²",
              [(k * GRAD ** 2, states[k - 1][G]) for k in _ks()], RUN_METHOD),
        claim("adagrad: with constant g, step k is θ_k − θ_(k−1) = −η g / (√k |g| + ε)",
              [(-ETA * GRAD / (sp.sqrt(k) * sp.Abs(GRAD) + EPSILON), inc)
               for k, inc in zip(_ks(), _increments(rule))], RUN_METHOD),
    ]


def _rmsprop(rule: UpdateRule) -> list[Identity]:
    step = one_step(rule)
    states = run(rule)
    return [
        claim("rmsprop: θ_new = θ − η g / (√(α v + (1 − α) g²) + ε), v the average before the step",
              [(THETA - ETA * GRAD / (sp.sqrt(ALPHA * v + (1 - ALPHA) * GRAD ** 2) + EPSILON), step[THETA])]),
        claim("rmsprop: from zero state with constant g, v_k = (1 − α^k) g² (no bias correction)",
              [((1 - ALPHA ** k) * GRAD ** 2, states[k - 1][v]) for k in _ks()], RUN_METHOD),
        claim("rmsprop: with constant g, step k is θ_k − θ_(k−1) = −η g / (√(1 − α^k) |g| + ε)",
              [(-ETA * GRAD / (sp.sqrt(1 - ALPHA ** k) * sp.Abs(GRAD) + EPSILON), inc)
               for k, inc in zip(_ks(), _increments(rule))], RUN_METHOD),
    ]


def adam_one_line(m_before: sp.Expr = m, v_before: sp.Expr = v, t_before: sp.Expr = STEP) -> sp.Expr:
    """θ_new in one line from the state before the step: the bias-corrected Adam step."""
    t = t_before + 1
    m_hat = (BETA1 * m_before + (1 - BETA1) * GRAD) / (1 - BETA1 ** t)
    v_hat = (BETA2 * v_before + (1 - BETA2) * GRAD ** 2) / (1 - BETA2 ** t)
    return THETA - ETA * m_hat / (sp.sqrt(v_hat) + EPSILON)


def _adam_after_step(rule: UpdateRule, forms: dict[str, sp.Expr]) -> list[tuple[sp.Expr, sp.Expr]]:
    """Each of ``forms`` (θ_new in terms of the updated t, m, v) against the rule's last assignment, with
    the updated m, v, t as free symbols: v ≥ 0 (a sum of squares) and 1 − βᵗ > 0 (0 ≤ β < 1, t ≥ 1),
    which √(v / c) = √v / √c needs."""
    (target, definition), = [a for a in rule.assignments if a[0] == THETA]
    v_new, t_new = sp.Symbol("v", nonnegative=True), sp.Symbol("t", integer=True, positive=True)
    c1, c2 = sp.Symbol("c1", positive=True), sp.Symbol("c2", positive=True)
    corrections = {BETA1 ** t_new: 1 - c1, BETA2 ** t_new: 1 - c2}
    renamed = {v: v_new, STEP: t_new}
    actual = definition.xreplace(renamed).xreplace(corrections)
    return [(form.xreplace(renamed).xreplace(corrections), actual) for form in forms.values()]


def _adam(rule: UpdateRule) -> list[Identity]:
    step = one_step(rule)
    states = run(rule)
    corrected_m = [(GRAD, states[k - 1][m] / (1 - BETA1 ** k)) for k in _ks()]
    corrected_v = [(GRAD ** 2, states[k - 1][v] / (1 - BETA2 ** k)) for k in _ks()]
    torch_form = THETA - (ETA / (1 - BETA1 ** STEP)) * m / (sp.sqrt(v) / sp.sqrt(1 - BETA2 ** STEP) + EPSILON)
    paper_eta = ETA * sp.sqrt(1 - BETA2 ** STEP) / (1 - BETA1 ** STEP)
    paper_form = THETA - paper_eta * m / (sp.sqrt(v) + EPSILON * sp.sqrt(1 - BETA2 ** STEP))
    return [
        claim("adam: θ_new = θ − η m̂ / (√v̂ + ε), m̂ = (β₁ m + (1 − β₁) g) / (1 − β₁^(t+1)), "
              "v̂ = (β₂ v + (1 − β₂) g²) / (1 − β₂^(t+1)), m, v, t the state before the step",
              [(adam_one_line(), step[THETA])]),
        claim("adam: torch.optim's form θ_new = θ − (η / (1 − β₁ᵗ)) m / (√v / √(1 − β₂ᵗ) + ε), m, v, t updated",
              _adam_after_step(rule, {"torch": torch_form}), METHOD + ", v ≥ 0 and 0 ≤ β₂ < 1"),
        claim("adam: the paper's form θ_new = θ − η_t m / (√v + ε √(1 − β₂ᵗ)), "
              "η_t = η √(1 − β₂ᵗ) / (1 − β₁ᵗ), m, v, t updated",
              _adam_after_step(rule, {"paper": paper_form}), METHOD + ", v ≥ 0 and 0 ≤ β₂ < 1"),
        claim("adam: from zero state with constant g, m_k = (1 − β₁^k) g",
              [((1 - BETA1 ** k) * GRAD, states[k - 1][m]) for k in _ks()], RUN_METHOD),
        claim("adam: from zero state with constant g, v_k = (1 − β₂^k) g²",
              [((1 - BETA2 ** k) * GRAD ** 2, states[k - 1][v]) for k in _ks()], RUN_METHOD),
        claim("adam: the bias correction undoes the zero start: m̂_k = m_k / (1 − β₁^k) = g and "
              "v̂_k = v_k / (1 − β₂^k) = g²", corrected_m + corrected_v, RUN_METHOD),
        claim("adam: with constant g, every step is θ_k − θ_(k−1) = −η g / (|g| + ε)",
              [(-ETA * GRAD / (sp.Abs(GRAD) + EPSILON), inc) for inc in _increments(rule)], RUN_METHOD),
    ]


CLAIMS = {"sgd": _sgd, "momentum": _momentum, "nesterov": _nesterov, "adagrad": _adagrad,
          "rmsprop": _rmsprop, "adam": _adam}


def optimizer_identities(kind: str) -> list[Identity]:
    """Every claimed closed form of the update rule ``kind``, each with its verdict."""
    return CLAIMS[kind](RULES[kind])


def prove_optimizer(optimizer: Optimizer) -> list[Identity]:
    """The identities of a spec's optimizer; none without an ``[optimizer]`` table (plain θ − η g)."""
    return optimizer_identities(optimizer.kind) if optimizer.given else []
