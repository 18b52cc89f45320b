"""Proof that the derived gradients are the derivatives of the cost.

Layer-local (any size, linear in the number of parameters), by induction from the output:
  1. each activation derivative's lecture form equals ``sympy.diff`` of the activation;
  2. δ_k^[L] equals ∂ℓ/∂z_k^[L], differentiating the loss through the output activation;
  3. for l < L, δ_j^[l] equals Σ_k δ_k^[l+1] ∂z_k^[l+1]/∂z_j^[l] (chain rule through z^[l+1]);
  4. ∂ℓ/∂W_jk^[l] = Σ_p δ_p^[l] ∂z_p^[l]/∂W_jk^[l] equals δ_j a_k^[l−1], and likewise for b;
  5. the L2 term differentiates to λW.
The derivatives in 2–5 are taken by ``sympy.diff``; an identity holds when the difference is
exactly zero. Identities that are one formula under a renaming of symbols are decided once.

End-to-end (small nets): the loss of the whole composed network, differentiated with
respect to every parameter, equals backprop's gradient; and the batch cost (mean or sum,
plus L2) differentiates to the reduction of the per-example gradients.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import sympy as sp

from .activations import A as GENERIC_A, Z as GENERIC_Z
from .backprop import LAMBDA, Derivation

#: largest net (in parameters) proved end to end by default
END_TO_END_MAX_PARAMS = 60


@dataclass(frozen=True)
class Identity:
    """One checked statement and its verdict (``verified`` or ``failed``)."""

    statement: str
    method: str
    verdict: str
    count: int = 1          # how many scalar identities this line stands for

    @property
    def ok(self) -> bool:
        return self.verdict == "verified"


@dataclass
class ProofReport:
    network_name: str
    n_params: int
    identities: list[Identity] = field(default_factory=list)
    end_to_end: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.identities)

    @property
    def failed(self) -> list[Identity]:
        return [i for i in self.identities if not i.ok]

    def summary(self) -> str:
        kinds = "layer-local" + (" and end-to-end" if self.end_to_end else "")
        if self.ok:
            return f"proof: all {self.n_params} gradients verified ({kinds}, {self.seconds:.2f} s)"
        return f"proof: FAILED: {len(self.failed)} of {len(self.identities)} identities do not hold ({kinds})"

    def __str__(self) -> str:
        lines = [f"[{i.verdict}] {i.statement}  ({i.method}{'' if i.count == 1 else f'; {i.count} instances'})"
                 for i in self.identities]
        return "\n".join(lines + [self.summary()])


def is_zero(expr: sp.Expr) -> bool:
    """Exact symbolic zero test: cheap canonical forms first, ``simplify`` last."""
    if expr == 0:
        return True
    if expr.has(sp.Piecewise):
        expr = sp.piecewise_fold(expr)
        return sp.simplify(expr) == 0
    if sp.cancel(expr) == 0:
        return True
    return sp.simplify(expr) == 0


class _DiffCache:
    """∂term/∂v by ``sympy.diff``, once per shape of (term, v) up to a renaming of symbols.

    Backprop's terms repeat one shape per weight (W_jk a_k δ_j), so a big layer
    costs one differentiation and a renaming per weight instead of one ``diff`` each.
    """

    def __init__(self) -> None:
        self.derivatives: dict[tuple[sp.Expr, sp.Symbol], sp.Expr] = {}
        self._names: dict[tuple, sp.Symbol] = {}

    def _canonical(self, i: int, s: sp.Symbol) -> sp.Symbol:
        key = (i, tuple(sorted(s.assumptions0.items())))
        if key not in self._names:
            self._names[key] = sp.Symbol(f"_d{i}", **s.assumptions0)
        return self._names[key]

    def diff(self, term: sp.Expr, v: sp.Symbol) -> sp.Expr:
        symbols = sorted(term.free_symbols, key=lambda s: s.name)
        canonical = {s: self._canonical(i, s) for i, s in enumerate(symbols)}
        key = (term.xreplace(canonical), canonical[v])
        if key not in self.derivatives:
            self.derivatives[key] = sp.diff(*key)
        return self.derivatives[key].xreplace({c: s for s, c in canonical.items()})


def _grouped_gradient(terms: list[sp.Expr], variables: set[sp.Symbol],
                      cache: _DiffCache | None = None) -> dict[sp.Symbol, list[sp.Expr]]:
    """∂(Σ terms)/∂v for every v, term by term: each term is differentiated only by the variables it contains."""
    cache = cache or _DiffCache()
    out: dict[sp.Symbol, list[sp.Expr]] = {}
    for term in terms:
        for v in term.free_symbols & variables:
            out.setdefault(v, []).append(cache.diff(term, v))
    return out


def _linear_coefficients(expr: sp.Expr, variables: tuple[sp.Symbol, ...]) -> dict[sp.Symbol, sp.Expr]:
    """Coefficients of an expression linear in ``variables``, written prefactor · Σ_k c_k v_k."""
    wanted = set(variables)
    prefactor, linear = sp.Integer(1), expr
    if isinstance(expr, sp.Mul):
        inside = [f for f in expr.args if f.free_symbols & wanted]
        if len(inside) == 1:
            prefactor = sp.Mul(*[f for f in expr.args if not f.free_symbols & wanted])
            linear = inside[0]
    out: dict[sp.Symbol, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(linear) if not isinstance(linear, sp.Add) else linear):
        present = term.free_symbols & wanted
        if len(present) != 1:
            return {v: sp.expand(expr).coeff(v) for v in variables}
        v = present.pop()
        out[v] = out.get(v, 0) + prefactor * sp.diff(term, v)
    return out


class _Cache:
    """Decides identities up to a renaming of symbols to canonical names, once per shape."""

    def __init__(self) -> None:
        self.verdicts: dict[sp.Expr, bool] = {}

    def zero(self, expr: sp.Expr) -> bool:
        symbols = sorted(expr.free_symbols, key=lambda s: s.name)
        canonical = expr.xreplace({s: sp.Symbol(f"_v{i}", **s.assumptions0) for i, s in enumerate(symbols)})
        if canonical not in self.verdicts:
            self.verdicts[canonical] = is_zero(canonical)
        return self.verdicts[canonical]


def _same(direct: list[sp.Expr], derived: sp.Expr, cache: _Cache) -> bool:
    """Σ direct == derived: at once when the one direct term is the very same expression, else exactly."""
    if len(direct) == 1 and direct[0] == derived:
        return True
    return cache.zero(sp.Add(*direct) - derived)


def _targets_constraint(d: Derivation, y: tuple[sp.Symbol, ...]) -> dict:
    """For losses on probability targets, eliminate the last target: y_n = 1 − Σ_{k<n} y_k."""
    if not d.network.loss.targets_sum_to_one:
        return {}
    return {y[-1]: 1 - sp.Add(*y[:-1])}


def _layer_local(d: Derivation, report: ProofReport) -> None:
    cache = _Cache()
    net = d.network
    L = d.L
    seen = set()
    for index, layer in enumerate(net.layers, start=1):
        act = layer.activation
        if act.is_softmax or act.name in seen:
            continue
        seen.add(act.name)
        ok = is_zero(act.lecture_derivative.subs(GENERIC_A, act.expr) - act.derivative)
        report.identities.append(Identity(
            f"{act.name}: g'(z) = {sp.sstr(act.lecture_derivative)} with a = g(z)",
            "sympy.diff of g", "verified" if ok else "failed"))

    # 2. δ^[L] against direct differentiation of ℓ(g(z^[L]))
    s = d.symbols(L)
    a_of_z = dict(zip(s.a, d.a_index(L)))
    loss_of_z = d.loss.xreplace(a_of_z)
    constraint = _targets_constraint(d, d.y)
    all_ok = True
    for k, zk in enumerate(s.z):
        difference = sp.diff(loss_of_z, zk) - d.output_delta[k].xreplace(a_of_z)
        all_ok &= is_zero(difference.subs(constraint))
    num = s.number
    report.identities.append(Identity(
        f"δ[{num}] = ∂ℓ/∂z[{num}]: " + ", ".join(sp.sstr(e) for e in d.output_delta[:4])
        + (" ..." if len(d.output_delta) > 4 else ""),
        "sympy.diff of the loss through the output activation" + (", targets summing to 1" if constraint else ""),
        "verified" if all_ok else "failed", count=len(s.z)))

    # 3. hidden δ by the chain rule through z^[l+1]
    for index in range(L - 1, 0, -1):
        s, nxt = d.symbols(index), d.symbols(index + 1)
        a_of_z = dict(zip(s.a, d.a_index(index)))
        z_next = d.z_index(index + 1)
        terms = [term.xreplace(a_of_z) * nxt.delta[k]
                 for k in range(len(nxt.z)) for term in sp.Add.make_args(z_next[k])]
        gradient = _grouped_gradient(terms, set(s.z))
        derived = d.delta_index(index)
        ok = True
        for j, zj in enumerate(s.z):
            direct = gradient.get(zj, [])
            expected = derived[j].xreplace(a_of_z)
            # compare coefficient by coefficient of δ^[l+1]_k: each is one small identity
            coefficients = _linear_coefficients(expected, nxt.delta)
            for k, dk in enumerate(nxt.delta):
                direct_k = sp.Add(*[t for t in direct if dk in t.free_symbols])
                ok &= cache.zero(direct_k - coefficients.get(dk, 0) * dk)
        report.identities.append(Identity(
            f"δ[{s.number}]_j = Σ_k δ[{nxt.number}]_k ∂z[{nxt.number}]_k/∂z[{s.number}]_j = "
            f"{sp.sstr(derived[0])}" + (" ..." if len(derived) > 1 else ""),
            "chain rule, sympy.diff term by term", "verified" if ok else "failed", count=len(s.z)))

    # 4. weights and biases through z^[l]
    for index in range(1, L + 1):
        s = d.symbols(index)
        z = d.z_index(index)
        terms = [term * s.delta[j] for j in range(len(z)) for term in sp.Add.make_args(z[j])]
        params = set(s.W) | set(s.b or ())
        gradient = _grouped_gradient(terms, params)
        ok = all(_same(gradient.get(s.W[j, k], []), d.grad_W_entry(index, j, k), cache)
                 for j in range(s.W.rows) for k in range(s.W.cols))
        report.identities.append(Identity(
            f"∂ℓ/∂W[{s.number}]_jk = δ[{s.number}]_j a[{s.number - 1}]_k",
            "sympy.diff of Σ_p δ_p z_p", "verified" if ok else "failed", count=s.W.rows * s.W.cols))
        if s.b:
            grad_b = d.grad_b_index(index)
            ok = all(cache.zero(sp.Add(*gradient.get(bj, [])) - grad_b[j]) for j, bj in enumerate(s.b))
            report.identities.append(Identity(
                f"∂ℓ/∂b[{s.number}]_j = δ[{s.number}]_j", "sympy.diff of Σ_p δ_p z_p",
                "verified" if ok else "failed", count=len(s.b)))
        if d.l2 != 0:
            penalty = [LAMBDA / 2 * w ** 2 for w in s.W]
            gradient = _grouped_gradient(penalty, set(s.W))
            ok = all(cache.zero(sp.Add(*gradient[w]) - LAMBDA * w) for w in s.W)
            report.identities.append(Identity(
                f"∂/∂W[{s.number}] (λ/2)‖W[{s.number}]‖² = λ W[{s.number}]", "sympy.diff",
                "verified" if ok else "failed", count=s.W.rows * s.W.cols))


def _opaque_activation(name: str, activation) -> type[sp.Function]:
    """A hidden activation as an opaque function g whose derivative is its proved lecture form.

    Identity 1 proved g' = lecture form; keeping g opaque spares SymPy from nesting
    exponentials layer in layer, so the end-to-end check stays fast for deeper nets.
    """
    lecture = activation.lecture_derivative

    def fdiff(self, argindex=1):
        return lecture.subs({GENERIC_A: self, GENERIC_Z: self.args[0]})

    return type(name, (sp.Function,), {"fdiff": fdiff, "is_real": True})


def _end_to_end(d: Derivation, report: ProofReport) -> None:
    """Differentiate the whole network's loss for one symbolic example; compare with backprop.

    Then the batch assembly: with each example's loss ℓ_i an arbitrary function of
    the parameters, ∂/∂θ [c Σ_i ℓ_i + (λ/2) Σ‖W‖²] = c Σ_i ∂ℓ_i/∂θ + λθ.
    """
    net = d.network
    params: list[sp.Symbol] = []
    for index in range(1, d.L + 1):
        s = d.symbols(index)
        params += list(s.W) + list(s.b or ())
    values: dict[sp.Symbol, sp.Expr] = {}
    for index in range(1, d.L + 1):
        s = d.symbols(index)
        z = [e.xreplace(values) for e in d.z_index(index)]
        values.update(zip(s.z, z))
        if index < d.L:
            g = _opaque_activation(f"g{s.number}", d.network.layers[index - 1].activation)
            values.update(zip(s.a, [g(zj) for zj in z]))
        else:
            values.update(zip(s.a, d.a_index(index, tuple(z))))
    loss = d.loss.xreplace(values)
    backprop: dict[sp.Symbol, sp.Expr] = {}
    for index in range(d.L, 0, -1):
        s = d.symbols(index)
        values.update(zip(s.delta, [e.xreplace(values) for e in d.delta_index(index)]))
        grad_W = d.grad_W_index(index)
        for j in range(s.W.rows):
            for k in range(s.W.cols):
                backprop[s.W[j, k]] = grad_W[j, k].xreplace(values)
        for j, bj in enumerate(s.b or ()):
            backprop[bj] = values[s.delta[j]]
    constraint = _targets_constraint(d, d.y)
    ok = all(is_zero((sp.diff(loss, p) - backprop[p]).subs(constraint)) for p in params)
    report.identities.append(Identity(
        f"∂ℓ/∂θ = backprop's gradient for all {len(params)} parameters, through the whole network",
        "sympy.diff of the composed loss", "verified" if ok else "failed", count=len(params)))

    m = 3  # any batch size: the identity is linear in the examples
    c = d.reduction_factor.subs(sp.Symbol("m", integer=True, positive=True), m)
    losses = [sp.Function(f"ell_{i + 1}")(*params) for i in range(m)]
    weights = [w for index in range(1, d.L + 1) for w in d.symbols(index).W]
    cost = c * sp.Add(*losses) + d.l2 / 2 * sp.Add(*[w ** 2 for w in weights])
    ok = all(is_zero(sp.diff(cost, p) - c * sp.Add(*[sp.diff(l, p) for l in losses])
                     - (d.l2 * p if p in weights else 0)) for p in params)
    reduction = "(1/m) Σ_i" if net.reduction == "mean" else "Σ_i"
    report.identities.append(Identity(
        f"∂C/∂θ = {reduction} ∂ℓ_i/∂θ" + (" + λθ for weights" if d.l2 != 0 else ""),
        "sympy.diff of the batch cost", "verified" if ok else "failed", count=len(params)))
    report.end_to_end = True


def prove(d: Derivation, end_to_end: bool | None = None) -> ProofReport:
    """Check every derived gradient exactly.

    ``end_to_end`` defaults to nets of at most 60 parameters whose output activation and
    loss are not piecewise (relu, leaky_relu, hinge there branch the whole composed
    derivative, which SymPy cannot decide quickly); the layer-local proof covers every net.
    """
    start = time.perf_counter()
    report = ProofReport(d.network.name, d.network.n_params)
    _layer_local(d, report)
    output = d.network.layers[-1].activation
    piecewise = (output.expr is not None and output.expr.has(sp.Piecewise)) or d.loss.has(sp.Piecewise)
    if end_to_end is None:
        end_to_end = d.network.n_params <= END_TO_END_MAX_PARAMS and not piecewise
    if end_to_end:
        _end_to_end(d, report)
    report.seconds = time.perf_counter() - start
    return report
