"""The layer-local proof: any size, linear in the number of parameters, by induction from the output.

  1. each activation derivative's lecture form equals ``sympy.diff`` of the activation;
  2. δ_k^[L] equals ∂ℓ/∂z_k^[L], differentiating the loss through the output activation;
  3. for l < L, δ_j^[l] equals Σ_k δ_k^[l+1] ∂z_k^[l+1]/∂z_j^[l] (chain rule through z^[l+1]);
  4. ∂ℓ/∂W_jk^[l] = Σ_p δ_p^[l] ∂z_p^[l]/∂W_jk^[l] equals δ_j a_k^[l−1], and likewise for b;
  5. the L2 term differentiates to λW.
The derivatives in 2–5 are taken by ``sympy.diff``; an identity holds when the difference is
exactly zero. Identities that are one formula under a renaming of symbols are decided once.
Steps 3–5 of dense layers are proved once for every width (``generic``), and unit by unit only where
that does not succeed (or with ``generic=False``).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import dropout
from ..derivation.backprop import LAMBDA, Derivation
from ..model.activations import A as GENERIC_A
from . import generic as every_width
from .differentiate import grouped_gradient, linear_coefficients, targets_constraint
from .report import Identity, ProofReport, verdict
from .spatial import conv_identities, pool_identities
from .zero_test import is_rational_zero, is_zero, simplifies_to_zero


class _Verdicts:
    """Decides identities up to a renaming of symbols to canonical names, once per shape."""

    def __init__(self) -> None:
        self.verdicts: dict[sp.Expr, bool] = {}

    def zero(self, expr: sp.Expr) -> bool:
        symbols = sorted(expr.free_symbols, key=lambda s: s.name)
        canonical = expr.xreplace({s: sp.Symbol(f"_v{i}", **s.assumptions0) for i, s in enumerate(symbols)})
        if canonical not in self.verdicts:
            self.verdicts[canonical] = is_zero(canonical)
        return self.verdicts[canonical]

    def same(self, direct: list[sp.Expr], derived: sp.Expr) -> bool:
        """Σ direct == derived: at once when the one direct term is the very same expression, else exactly."""
        if len(direct) == 1 and direct[0] == derived:
            return True
        return self.zero(sp.Add(*direct) - derived)


#: said of a per-unit identity whose every-width proof did not succeed
PER_UNIT = "; not proved for every width, so unit by unit"


def layer_local(d: Derivation, report: ProofReport, generic: bool = True) -> bool:
    """Steps 1-5 into ``report``; returns whether step 2 (δ^[L]) held as a rational-function identity.

    ``generic``: prove steps 3-5 of dense layers for every width first (``proof.generic``)."""
    verdicts = _Verdicts()
    report.identities.extend(_activation_derivatives(d))
    identity, rational = _output_delta(d)
    report.identities.append(identity)
    for layer in reversed(d.layer_numbers[:-1]):
        above = d.layer(layer + 1)
        if above.kind == "pool" and above.mode == "max":
            continue     # max(window) has a derivative only region by region: pool_identities below proves it
        tried = generic and above.kind == "dense"
        proved = every_width.hidden_delta(d, layer) if tried else None
        report.identities.append(proved or _hidden_delta(d, layer, verdicts, PER_UNIT if tried else ""))
    for layer in d.layer_numbers:
        kind = d.layer(layer)
        if kind.kind == "conv":
            proved = every_width.conv_parameter_gradients(d, layer) if generic else None
            report.identities.extend(conv_identities(kind, layer, parameters=proved is None,
                                                     note=PER_UNIT if generic else "")
                                     + (proved or []) + _l2_identities(d, layer, verdicts))
        elif kind.kind == "pool":
            report.identities.extend(pool_identities(kind, layer))
        else:
            proved = every_width.parameter_gradients(d, layer) if generic else None
            report.identities.extend(proved or _parameter_gradients(d, layer, verdicts, PER_UNIT if generic else ""))
    return rational


def _activation_derivatives(d: Derivation) -> list[Identity]:
    """Step 1, once per activation (softmax's derivative is proved through the loss, in step 2)."""
    identities = []
    seen = set()
    for layer in d.layer_numbers:
        if d.layer(layer).kind == "pool":
            continue        # no activation: a pool layer's output is its z
        act = d.layer(layer).activation
        if act.is_softmax or act.name in seen:
            continue
        seen.add(act.name)
        ok = is_zero(act.lecture_derivative.subs(GENERIC_A, act.expr) - act.derivative)
        identities.append(Identity(
            f"{act.name}: g'(z) = {sp.sstr(act.lecture_derivative)} with a = g(z)",
            "sympy.diff of g", verdict(ok), widths="scalar"))
    return identities


def _output_delta(d: Derivation) -> tuple[Identity, bool]:
    """Step 2: δ^[L] against direct differentiation of ℓ(g(z^[L])); and whether it held as a
    rational-function identity (``is_rational_zero``), which ``prove`` needs to go end to end."""
    s = d.symbols(d.last)
    a_of_z = dict(zip(s.a, d.a_index(d.last)))
    loss_of_z = d.loss.xreplace(a_of_z)
    constraint = targets_constraint(d, d.y)
    all_ok = rational = True
    for k, zk in enumerate(s.z):
        difference = (sp.diff(loss_of_z, zk) - d.output_delta[k].xreplace(a_of_z)).xreplace(constraint)
        decided = is_rational_zero(difference)
        rational &= decided
        all_ok &= decided or simplifies_to_zero(difference)
    identity = Identity(
        f"δ[{d.last}] = ∂ℓ/∂z[{d.last}]: " + ", ".join(sp.sstr(e) for e in d.output_delta[:4])
        + (" ..." if len(d.output_delta) > 4 else ""),
        "sympy.diff of the loss through the output activation" + (", targets summing to 1" if constraint else ""),
        verdict(all_ok), count=len(s.z))
    return identity, rational


def _hidden_delta(d: Derivation, layer: int, verdicts: _Verdicts, note: str = "") -> Identity:
    """Step 3: δ^[l] by the chain rule through z^[l+1], for the hidden layer number ``layer`` (< d.last)."""
    s, nxt = d.symbols(layer), d.symbols(layer + 1)
    a_of_z = dict(zip(s.a, d.a_index(layer)))
    kept = dropout.reads(d, layer + 1)        # with dropout, z^[l+1] reads ã = a K (the masks fixed)
    z_next = [z.xreplace(kept) for z in d.z_index(layer + 1)]
    terms = [term.xreplace(a_of_z) * nxt.delta[k]
             for k in range(len(nxt.z)) for term in sp.Add.make_args(z_next[k])]
    gradient = grouped_gradient(terms, set(s.z))
    derived = dropout.training_delta_index(d, layer)
    ok = True
    for j, zj in enumerate(s.z):
        direct = gradient.get(zj, [])
        expected = derived[j].xreplace(a_of_z)
        # compare coefficient by coefficient of δ^[l+1]_k: each is one small identity
        coefficients = linear_coefficients(expected, nxt.delta)
        for dk in nxt.delta:
            direct_k = sp.Add(*[t for t in direct if dk in t.free_symbols])
            ok &= verdicts.zero(direct_k - coefficients.get(dk, 0) * dk)
    return Identity(
        f"δ[{layer}]_j = Σ_k δ[{layer + 1}]_k ∂z[{layer + 1}]_k/∂z[{layer}]_j = "
        f"{sp.sstr(derived[0])}" + (" ..." if len(derived) > 1 else ""),
        "chain rule, sympy.diff term by term" + note, verdict(ok), count=len(s.z))


def _parameter_gradients(d: Derivation, layer: int, verdicts: _Verdicts, note: str = "") -> list[Identity]:
    """Steps 4 and 5 for layer number ``layer``: W and b through z^[l], and the L2 term."""
    s = d.symbols(layer)
    kept = dropout.reads(d, layer)
    z = [e.xreplace(kept) for e in d.z_index(layer)]
    terms = [term * s.delta[j] for j in range(len(z)) for term in sp.Add.make_args(z[j])]
    gradient = grouped_gradient(terms, set(s.W) | set(s.b or ()))
    ok = all(verdicts.same(gradient.get(s.W[j, k], []), dropout.training_grad_W_entry(d, layer, j, k))
             for j in range(s.W.rows) for k in range(s.W.cols))
    read = f"ã[{layer - 1}]_k (dropout: a K)" if kept else f"a[{layer - 1}]_k"
    identities = [Identity(
        f"∂ℓ/∂W[{layer}]_jk = δ[{layer}]_j {read}",
        "sympy.diff of Σ_p δ_p z_p" + note, verdict(ok), count=s.W.rows * s.W.cols)]
    if s.b:
        grad_b = d.grad_b_index(layer)
        ok = all(verdicts.zero(sp.Add(*gradient.get(bj, [])) - grad_b[j]) for j, bj in enumerate(s.b))
        identities.append(Identity(
            f"∂ℓ/∂b[{layer}]_j = δ[{layer}]_j", "sympy.diff of Σ_p δ_p z_p" + note, verdict(ok), count=len(s.b)))
    return identities + _l2_identities(d, layer, verdicts)


def _l2_identities(d: Derivation, layer: int, verdicts: _Verdicts) -> list[Identity]:
    """Step 5: the L2 term differentiates to λW (dense or conv weights; none without L2 or weights)."""
    weights = list(sp.flatten(d.symbols(layer).W))
    if d.l2 == 0 or not weights:
        return []
    penalty = grouped_gradient([LAMBDA / 2 * w ** 2 for w in weights], set(weights))
    ok = all(verdicts.zero(sp.Add(*penalty[w]) - LAMBDA * w) for w in weights)
    return [Identity(f"∂/∂W[{layer}] (λ/2)‖W[{layer}]‖² = λ W[{layer}]", "sympy.diff", verdict(ok),
                     count=len(weights))]
