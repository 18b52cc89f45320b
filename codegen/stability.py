"""Refuse, before generating code, a custom activation whose generated form is not finite where its value is.

The stable rewrites (``derive.derivation.stable``) make the built-in activations and the common custom
ones (softplus, softsign, swish) finite at |z| = 1000; a custom expression they cannot rewrite could give
inf or NaN (inf − inf, inf · 0) in the generated code where g and g' are modest numbers. Each custom
activation's value and lecture-form derivative, in the form the target prints (``stabilize`` for NumPy,
``stabilize_branched`` for C), is evaluated at fixed points in double (and, for C, float) and compared with
its exact value: a non-finite result where the exact one fits the type is a one-line ``SpecError``.
Deterministic and bounded: the same few points for every expression, no clock.
"""
from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from deltagen.derive.derivation.backprop import Derivation
from deltagen.derive.derivation.stable import stabilize, stabilize_branched
from deltagen.derive.errors import SpecError
from deltagen.derive.model.variables import A, Z

#: where a saturating activation overflows first: exp(1000) in double, exp(100) and exp(30)·30 in float
PROBES = (-1000.0, -100.0, -30.0, 30.0, 100.0, 1000.0)
#: the real types each target computes in
DTYPES = {"numpy": (np.float64,), "c": (np.float64, np.float32)}


def _exact(expr: sp.Expr, values: dict) -> mpmath.mpf | None:
    """``expr`` at ``values`` to 30 digits, or None where it is not a finite real number."""
    with mpmath.workdps(30):
        try:
            value = sp.N(expr.xreplace({k: sp.Float(v, 40) for k, v in values.items()}), 30)
        except Exception:       # no value SymPy can give (evalf's own errors included): nothing to compare with
            return None
    if not value.is_real or not value.is_finite:
        return None
    return mpmath.mpf(str(value))


def _fits(value: mpmath.mpf, dtype) -> bool:
    return abs(value) < mpmath.mpf(float(np.finfo(dtype).max)) / 2


def check_generated_stability(derivation: Derivation, target: str) -> None:
    """Raise a ``SpecError`` (field ``layers[i].activation``) for a custom activation the target's code
    would evaluate as inf or NaN at one of ``PROBES`` where g or g' is a finite number of its type."""
    rewrite = stabilize_branched if target == "c" else stabilize
    for position, number in enumerate(derivation.layer_numbers):
        activation = derivation.layer(number).activation
        if activation.is_softmax or not activation.is_custom:
            continue
        value_form = rewrite(activation.expr)
        derivative = activation.lecture_derivative
        derivative_form = rewrite(derivative)
        g = sp.lambdify(Z, value_form, modules="numpy")
        g_prime = sp.lambdify((A, Z), derivative_form, modules="numpy")
        output = number == derivation.last
        if output:      # δ^[L] of the first unit, as the loss makes it (the units are alike)
            s = derivation.symbols(number)
            unit = (s.a[0], s.z[0], derivation.y[0])
            alike = {symbol: first for group, first in ((s.a, s.a[0]), (s.z, s.z[0]), (derivation.y, unit[2]))
                     for symbol in group}          # every unit at the same z (a loss may couple the units)
            delta = derivation.output_delta[0].xreplace(alike)
            delta_form = sp.lambdify(unit, rewrite(delta), modules="numpy")
        for dtype in DTYPES[target]:
            for z in PROBES:
                exact_a = float(_exact(activation.expr, {Z: z}) or 0)
                with np.errstate(all="ignore"):
                    a = dtype(g(dtype(z)))
                    checks = [("value", a, activation.expr, {Z: z}),
                              ("derivative", dtype(g_prime(a, dtype(z))), derivative, {Z: z, A: exact_a})]
                    if output:
                        checks += [(f"δ with the {derivation.network.loss.name} loss at y = {y:g}",
                                    dtype(delta_form(a, dtype(z), dtype(y))), delta,
                                    {unit[0]: exact_a, unit[1]: z, unit[2]: y}) for y in (0.0, 1.0, -1.0)]
                for what, got, expr, at in checks:
                    exact = _exact(expr, at)
                    if exact is not None and _fits(exact, dtype) and not np.isfinite(got):
                        kind = "double" if dtype is np.float64 else "float"
                        raise SpecError(f"layers[{position}].activation",
                                        f"expected an activation the generated {target} code evaluates without "
                                        f"overflow, got {activation.name!r}: its {what} comes out {got} at "
                                        f"z = {z:g} in {kind}, where it is {mpmath.nstr(exact, 6)}; write it in "
                                        f"a form whose terms stay finite (e.g. with exp of a negative argument)",
                                        derivation.network.source)
