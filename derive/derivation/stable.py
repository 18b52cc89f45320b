"""Rewrites of derived expressions into forms that evaluate without overflow.

Each rewrite is an identity: 1/(1 + e^u) = e^{−log(1 + e^u)}, log(1 + e^u) =
logaddexp(0, u), log Σ e^{u_j} = LogSumExp(u), log e^v = v. Printers evaluate
``logaddexp`` and ``LogSumExp`` in their max-subtracted forms, so sigmoid,
softmax and the log-losses stay finite at |z| = 1000.
"""
from __future__ import annotations

import sympy as sp
from sympy.codegen.numpy_nodes import logaddexp


class LogSumExp(sp.Function):
    """log Σ_k e^{x_k}; printed as max-subtracted code."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_rewrite_as_log(self, *args, **kwargs) -> sp.Expr:
        return sp.log(sp.Add(*[sp.exp(x) for x in args]))


def _exp_argument(expr: sp.Expr) -> sp.Expr | None:
    """u if expr is e^u, else None."""
    if isinstance(expr, sp.exp):
        return expr.args[0]
    if isinstance(expr, sp.Pow) and expr.base is sp.E:
        return expr.exp
    return None


def _stable_log(arg: sp.Expr) -> sp.Expr | None:
    """A stable form of log(arg) for arg = 1 + e^u, Σ_j e^{u_j} or e^v, else None."""
    if isinstance(arg, sp.Add):
        terms = list(arg.args)
        exponents = [_exp_argument(t) for t in terms]
        if len(terms) == 2 and sp.S.One in terms:
            u = _exp_argument(terms[1 - terms.index(sp.S.One)])
            if u is not None:
                return logaddexp(0, u)
        if all(e is not None for e in exponents):
            return LogSumExp(*exponents) if len(exponents) > 2 else logaddexp(*exponents)
    return _exp_argument(arg)


def _stable_log_of(arg: sp.Expr) -> sp.Expr | None:
    """log(arg) as a sum of stable logs of the factors of arg's numerator and denominator."""
    direct = _stable_log(arg)
    if direct is not None:
        return direct
    if isinstance(arg, sp.Pow) and arg.exp.is_integer:
        stable = _stable_log(arg.base)
        if stable is not None:
            return arg.exp * stable
    numerator, denominator = arg.as_numer_denom()
    parts = []
    for factor, sign in ((numerator, 1), (denominator, -1)):
        for f in sp.Mul.make_args(factor):
            if f.is_number:
                parts.append(sign * sp.log(f))
                continue
            base, power = (f, 1) if isinstance(f, sp.exp) else f.as_base_exp()
            stable = _stable_log(base)
            if stable is None:
                return None
            parts.append(sign * power * stable)
    return sp.Add(*parts)


def _rewrite_logs(expr: sp.Expr) -> sp.Expr:
    def visit(e: sp.Expr) -> sp.Expr:
        if not e.args:
            return e
        e = e.func(*[visit(a) for a in e.args])
        if isinstance(e, sp.log):
            # the argument as written keeps the logistic's own sign (accurate in its tail); else as one fraction
            arg = e.args[0]
            for form in (_stable_log_of(arg), _stable_log_of(sp.together(arg))):
                if form is not None:
                    return form
            inverse = _stable_log_of(sp.together(1 / arg))   # log x = −log(1/x)
            return e if inverse is None else -inverse
        return e
    return visit(expr)


def _rewrite_logistic(expr: sp.Expr) -> sp.Expr:
    """1/(1 + e^u) → e^{−logaddexp(0, u)} and 1/Σ e^{u_j} → e^{−LogSumExp(u)}."""
    def visit(e: sp.Expr) -> sp.Expr:
        if not e.args:
            return e
        e = e.func(*[visit(a) for a in e.args])
        if isinstance(e, sp.Pow) and e.exp.is_negative and e.exp.is_integer:
            stable = _stable_log(e.base)
            if stable is not None and not isinstance(e.base, sp.exp):
                return sp.exp(e.exp * stable)
        return e
    return visit(expr)


def _merge_exponentials(expr: sp.Expr) -> sp.Expr:
    def merge(e: sp.Mul) -> sp.Expr:
        exps = [f for f in e.args if isinstance(f, sp.exp)]
        rest = [f for f in e.args if not isinstance(f, sp.exp)]
        return sp.Mul(*rest, sp.exp(sp.Add(*[f.args[0] for f in exps])))
    return expr.replace(lambda e: isinstance(e, sp.Mul) and sum(isinstance(f, sp.exp) for f in e.args) > 1, merge)


def _cancels(u: sp.Expr, v: sp.Expr) -> bool:
    """True when u + v loses terms of u and v: e^u e^v may be inf·0 while e^{u+v} is finite."""
    return len(sp.Add.make_args(u + v)) < len(sp.Add.make_args(u)) + len(sp.Add.make_args(v))


def _distribute_exponentials(expr: sp.Expr) -> sp.Expr:
    """(Σ_i t_i) e^v → Σ_i t_i e^v when some t_i holds an e^u that cancels against e^v.

    (1 − e^a) e^{−a−s} evaluates e^a, inf for a > 709, times 0; e^{−a−s} − e^{−s} is finite.
    """
    def distribute(e: sp.Mul) -> sp.Expr:
        exps = [f for f in e.args if isinstance(f, sp.exp)]
        if len(exps) != 1:
            return e
        v = exps[0].args[0]
        for factor in e.args:
            if isinstance(factor, sp.Add) and any(
                    isinstance(f, sp.exp) and _cancels(f.args[0], v)
                    for t in factor.args for f in sp.Mul.make_args(t)):
                rest = [f for f in e.args if f is not factor and f is not exps[0]]
                terms = [_merge_exponentials(t * exps[0]) for t in factor.args]
                return sp.Mul(*rest, sp.Add(*terms))
        return e
    return expr.replace(lambda e: isinstance(e, sp.Mul) and any(isinstance(f, sp.exp) for f in e.args), distribute)


def stabilize(expr: sp.Expr) -> sp.Expr:
    """An expression equal to ``expr`` whose evaluation does not overflow for large |z|."""
    expr = _merge_exponentials(expr)   # e^u e^v → e^{u+v}, so 1 + e^u e^v is seen as 1 + e^w
    expr = _rewrite_logs(expr)
    expr = _rewrite_logistic(expr)
    return _distribute_exponentials(sp.powsimp(expr, combine="exp"))


def unstable_form(expr: sp.Expr) -> sp.Expr:
    """Undo ``stabilize`` (for proving a stable form equal to the derived one)."""
    return expr.replace(lambda e: isinstance(e, logaddexp), lambda e: sp.log(sp.exp(e.args[0]) + sp.exp(e.args[1]))) \
               .replace(lambda e: isinstance(e, LogSumExp), lambda e: e.rewrite(sp.log))


# ---------------------------------------------------------------------------
# Branched forms, for languages without logaddexp (C): one exp per sigmoid.
# ---------------------------------------------------------------------------

def logistic_branched(u: sp.Expr) -> sp.Expr:
    """1/(1 + e^u) with t = e^{−|u|}: 1/(1 + t) when u ≤ 0, t/(1 + t) otherwise (never overflows).

    Written (u ≤ 0 ? 1 : t)/(1 + t): the branch only selects the numerator, one division serves both.
    """
    t = sp.exp(-sp.Abs(u))
    return sp.Piecewise((1, u <= 0), (t, True)) / (1 + t)


def _shift(args: tuple[sp.Expr, ...]) -> sp.Expr:
    """The max of the exponents: Σ_j e^{u_j} = e^M Σ_j e^{u_j − M}, every term ≤ 1."""
    # unevaluated: Max's pairwise simplification of n symbolic arguments costs seconds at n = 10
    return sp.Max(*args, evaluate=False)


def _logaddexp_expanded(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """log(e^a + e^b) = max(a, b) + log1p(e^{−|a − b|})."""
    from sympy.codegen.cfunctions import log1p
    return sp.Max(a, b) + log1p(sp.exp(-sp.Abs(a - b)))


def _lse_expanded(args: tuple[sp.Expr, ...]) -> sp.Expr:
    shift = _shift(args)
    return shift + sp.log(sp.Add(*[sp.exp(u - shift) for u in args]))


def _exp_branched(arg: sp.Expr, visit) -> sp.Expr | None:
    """e^{r − c·logaddexp(0, u)} → e^r (1/(1 + e^u))^c, branched; e^{r − LSE(u)} → e^{r − M}/Σ e^{u_j − M}."""
    terms = sp.Add.make_args(arg)
    for term in terms:
        coefficient, node = term.as_coeff_Mul()
        rest = sp.Add(*[t for t in terms if t is not term])
        if isinstance(node, logaddexp) and coefficient.is_integer and coefficient < 0:
            a, b = node.args
            if a == 0 or b == 0:
                u = b if a == 0 else a
                if rest == 0:
                    return logistic_branched(visit(u)) ** (-coefficient)
                # e^r (1/(1 + e^u))^c with e^r inside each branch: e^r / (1 + t)^c for u ≤ 0, and
                # e^r t^c / (1 + t)^c = e^(r − c·u) / (1 + t)^c otherwise (t = e^−|u|). Apart, e^r (inf
                # for swish's z e^−z at z = −1000) would meet t^c (0): inf · 0.
                u, r, c = visit(u), visit(rest), -coefficient
                t = sp.exp(-sp.Abs(u))
                return sp.Piecewise((sp.exp(r), u <= 0), (sp.exp(r - c * u), True)) / (1 + t) ** c
        if isinstance(node, (logaddexp, LogSumExp)) and coefficient == -1:
            args = tuple(visit(u) for u in node.args)
            shift = _shift(args)
            return sp.exp(visit(rest) - shift) / sp.Add(*[sp.exp(u - shift) for u in args])
    return None


def stabilize_branched(expr: sp.Expr) -> sp.Expr:
    """Like ``stabilize``, in the forms a C programmer writes by hand, and as cheap.

    Sigmoid-like factors 1/(1 + e^u) become the sign-branched form (one exp);
    softmax-like ratios subtract the max exponent; log(e^a + e^b) becomes
    max + log1p(e^{−|a−b|}) and log Σ e^{u_j} becomes M + log Σ e^{u_j − M}.
    Every rewrite is an identity for all real inputs.
    """
    def visit(e: sp.Expr) -> sp.Expr:
        if not e.args:
            return e
        if isinstance(e, sp.exp):
            branched = _exp_branched(e.args[0], visit)
            if branched is not None:
                return branched
        if isinstance(e, logaddexp):
            return _logaddexp_expanded(*[visit(a) for a in e.args])
        if isinstance(e, LogSumExp):
            return _lse_expanded(tuple(visit(a) for a in e.args))
        return e.func(*[visit(a) for a in e.args])
    # e^u e^{−LSE} → e^{u − LSE} first, so no factor is evaluated on its own
    return visit(_merge_exponentials(stabilize(expr)))
