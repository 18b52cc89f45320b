"""The cost: each example's loss added to ``loss_sum``, then C = c Σ_i ℓ_i + (λ/2) Σ ‖W‖²."""
from __future__ import annotations

import sympy as sp

from deltagen.derive.derivation.backprop import LAMBDA, M
from deltagen.derive.derivation.stable import stabilize_branched

from .names import LOSS_SUM, M_REAL
from .parts import OTHER, UNIT, Statement
from .writer import CWriter


def loss_statements(w: CWriter) -> list[Statement]:
    """Statements adding this example's loss ℓ to ``loss_sum``."""
    loss = w.d.loss
    if loss.has(sp.log, sp.exp):   # evaluated from z, where it can be stabilised
        s = w.d.symbols(w.d.last)
        loss = loss.xreplace(dict(zip(s.a, w.d.a_index(w.d.last))))
    return w.assignments([(LOSS_SUM.name, stabilize_branched(loss))], op="+=")


def weight_square_sum(number: int) -> sp.Symbol:
    """‖W[number]‖², summed by a loop of the template into a local of this name."""
    return sp.Symbol(f"weight_sq{number}")


def weight_square_summand(w: CWriter, layer: int, slot: str = f"[{UNIT}][{OTHER}]") -> str:
    """The term of ‖W‖² at entry (j, k), printed from the cost's own tr(WᵀW).

    The trace is rebuilt over a W of symbolic shape so that SymPy writes it as a double
    sum; its summand, with W's generic entry as ``p->W{l}[j][k]`` (a conv weight's: ``slot`` = ``[c][ci][ki][kj]``),
    is what the loop adds.
    """
    W = w.d.matrix(layer).W
    trace = next(t for t in w.d.cost_matrix_expr(sp.MatrixSymbol("loss_row", 1, M)).atoms(sp.Trace) if t.has(W))
    rows, cols = sp.symbols("rows cols", integer=True, positive=True)
    total = trace.xreplace({W: sp.MatrixSymbol(W.name, rows, cols)}).rewrite(sp.Sum)
    (row, _, _), (col, _, _) = total.limits
    entry = sp.Symbol("entry", real=True)
    summand = total.function.xreplace({sp.MatrixSymbol(W.name, rows, cols)[row, col]: entry})
    return w.printed(summand, {entry: f"p->W{layer}{slot}"})


def cost_expr(w: CWriter) -> str:
    """C = c Σ_i ℓ_i + (λ/2) Σ ‖W‖², printed from the derivation's cost over ``loss_sum`` and the ‖W‖²."""
    loss_row = sp.MatrixSymbol("loss_row", 1, M)
    expr = w.d.cost_matrix_expr(loss_row)
    replacements = {}
    for trace in expr.atoms(sp.Trace):
        if trace.has(loss_row):
            replacements[trace] = LOSS_SUM
        for layer in w.d.layer_numbers:
            if trace.has(w.d.matrix(layer).W):   # a pool layer has no weights: its term is 0
                replacements[trace] = weight_square_sum(layer) if w.d.layer(layer).kind != "pool" else 0
    scalar = expr.xreplace(replacements).subs({M: M_REAL, LAMBDA: sp.Float(w.net.l2)})
    return w.printed(scalar, {M_REAL: M_REAL.name, LOSS_SUM: LOSS_SUM.name})
