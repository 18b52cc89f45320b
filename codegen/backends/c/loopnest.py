"""Loop nests that print the indexed forms of ``derive.derivation.tensor_forms`` (conv and pool layers).

A form is a SymPy expression of ``Indexed`` reads with ``Idx`` indices, at most one ``Sum`` in it. Its free
indices become the outer ``for`` loops, the ``Sum``'s limits the inner ones, in the order they are written;
the summand is added to a running sum ``s`` and the target gets the form with the ``Sum`` replaced by ``s``.

tensor_forms' convention, a read outside the array or at a non-integer index is 0, becomes guards: each
composite index (``2*i + p - 1``, ``(x + 1 - p)/2``) is computed once as an ``int`` in the loop where its
last variable is bound, and the loop ``continue``s where the read would fall outside (or, for a quotient,
where the division is not exact); a term left out is a term that is 0. The bounds checks are derived from
the index expression and the array's extent: a side that the loop ranges cannot reach is not tested, so a
read that always lands inside (no padding, pooling windows) has no guard at all.

Arrays print as the C lvalues of ``ARRAYS``: flat arrays (the trace's z, a, δ, the input) in C order,
parameters with one subscript per axis (``p->W1[c][ci][ki][kj]``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import sympy as sp

from .names import STEP_SUM
from .parts import Assign, IntLocal, Local, Loop, Skip, Statement
from .printer import CCodePrinter

#: C names of tensor_forms' index letters (p would shadow the params pointer, c' is not a C name)
INDEX_NAMES = {"c": "c", "c'": "ci", "i": "i", "j": "j", "x": "x", "y": "y", "p": "ki", "q": "kj"}


@dataclass(frozen=True)
class CArray:
    """How an ``IndexedBase`` prints: ``lvalue[flat C-order index]``, or ``lvalue[i0][i1]...`` when ``axes``."""

    lvalue: str
    axes: bool = False


class ArrayPrinter(CCodePrinter):
    """The C printer, with ``Indexed`` reads as the lvalues of ``arrays`` (keyed by the base's label)."""

    def __init__(self, prefix: str, arrays: dict[str, CArray], names: dict[sp.Basic, str] | None = None) -> None:
        super().__init__(prefix, names)
        self.arrays = arrays

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        array = self.arrays[str(expr.base.label)]
        if array.axes:
            return array.lvalue + "".join(f"[{self._print(i)}]" for i in expr.indices)
        flat = sp.Integer(0)
        for n, i in zip(expr.base.shape, expr.indices):
            flat = flat * n + i
        return f"{array.lvalue}[{self._print(sp.expand(flat))}]"


def c_index(idx: sp.Idx) -> sp.Symbol:
    """The C loop variable of a tensor_forms index."""
    return sp.Symbol(INDEX_NAMES[str(idx.label)], integer=True)


def _ranges(expr: sp.Expr, free: Sequence[sp.Idx]) -> dict[sp.Symbol, tuple[int, int]]:
    """(lowest, highest) of every loop variable: the free indices' ranges and the Sum limits."""
    ranges = {c_index(i): (int(i.lower), int(i.upper)) for i in free}
    for total in expr.atoms(sp.Sum):
        for var, lo, hi in total.limits:
            ranges[c_index(var) if isinstance(var, sp.Idx) else var] = (int(lo), int(hi))
    return ranges


def _bounds(expr: sp.Expr, ranges: dict[sp.Symbol, tuple[int, int]]) -> tuple[int, int]:
    """The least and greatest value of a linear integer ``expr`` over the loop ranges."""
    expr = sp.expand(expr)
    lo = hi = expr.subs({v: 0 for v in expr.free_symbols})
    for v in expr.free_symbols:
        a = expr.coeff(v)
        lo, hi = lo + min(a * ranges[v][0], a * ranges[v][1]), hi + max(a * ranges[v][0], a * ranges[v][1])
    return int(lo), int(hi)


@dataclass
class Guards:
    """The guard statements of one nest, by the loop variable after which each goes, and the index renames."""

    ranges: dict[sp.Symbol, tuple[int, int]]
    order: list[sp.Symbol]                      # loop variables, outermost first
    printer: ArrayPrinter
    at: dict[sp.Symbol, list[Statement]] = field(default_factory=dict)
    renames: dict[sp.Expr, sp.Symbol] = field(default_factory=dict)

    def index(self, expr: sp.Expr, extent: int) -> sp.Expr:
        """``expr`` as an index into an axis of ``extent``: itself when always inside, else a guarded int."""
        numerator, denominator = sp.fraction(sp.together(expr))
        denominator = int(denominator)
        lo, hi = _bounds(numerator, self.ranges)
        if denominator == 1 and 0 <= lo and hi < extent:
            return expr
        if expr in self.renames:
            return self.renames[expr]
        last = max(numerator.free_symbols, key=self.order.index)
        number = len(self.renames)
        value = self.printer.doprint(numerator)
        statements: list[Statement] = []
        if denominator == 1:
            name = f"r{number}"
            statements.append(IntLocal(name, value))
        else:   # the position i with s·i = numerator exists only where s divides it
            shifted = f"n{number}"
            name = f"r{number}"
            statements += [IntLocal(shifted, value), Skip(f"{shifted} % {denominator} != 0"),
                           IntLocal(name, f"{shifted} / {denominator}")]
            lo, hi = -(-lo // denominator), hi // denominator
        outside = ([f"{name} < 0"] if lo < 0 else []) + ([f"{name} >= {extent}"] if hi >= extent else [])
        if outside:
            statements.append(Skip(" || ".join(outside)))
        self.at.setdefault(last, []).extend(statements)
        self.renames[expr] = symbol = sp.Symbol(name, integer=True)
        return symbol

    def reads(self, expr: sp.Expr) -> sp.Expr:
        """``expr`` with every read's index guarded where it can leave its array."""
        def guarded(read: sp.Indexed) -> sp.Indexed:
            return read.base[tuple(self.index(i, int(n)) for i, n in zip(read.indices, read.base.shape))]
        return expr.replace(lambda e: isinstance(e, sp.Indexed), guarded)


def in_c(expr: sp.Expr) -> sp.Expr:
    """tensor_forms' ``Idx`` replaced by the C loop variables (the Sum limits too)."""
    return expr.xreplace({i: c_index(i) for i in expr.atoms(sp.Idx)})


def form_statements(printer: ArrayPrinter, target: sp.Expr | str, expr: sp.Expr, free: Sequence[sp.Idx],
                    op: str = "=") -> list[Statement]:
    """``target op expr`` at one point of the free loops: the Sum (if any) summed into ``s`` first."""
    ranges = _ranges(expr, free)
    order = [c_index(i) for i in free]
    expr = in_c(expr)
    sums = list(expr.atoms(sp.Sum))
    if len(sums) > 1:
        raise ValueError(f"one Sum per form, got {len(sums)}: {expr}")
    lvalue = target if isinstance(target, str) else printer.doprint(in_c(target))
    if not sums:
        guards = Guards(ranges, order, printer)
        value = guards.reads(expr)
        if guards.at:
            raise ValueError(f"a read outside its array with no loop to skip: {expr}")
        return [Assign(lvalue, printer.doprint(value), op)]
    (total,) = sums
    variables = [var for var, _, _ in total.limits]
    guards = Guards(ranges, order + variables, printer)
    summand = guards.reads(total.function)
    if any(var in guards.at for var in order):
        raise ValueError(f"a guard on a free index (it would skip the assignment): {expr}")
    body: list[Statement] = [Assign(STEP_SUM.name, printer.doprint(summand), "+=")]
    for var, lo, hi in reversed(total.limits):
        if lo != 0:
            raise ValueError(f"a Sum from {lo}: loops start at 0")
        inner = guards.at.get(var, []) + body
        body = [Loop(var.name, int(hi) + 1, tuple(inner), inline=len(inner) == 1 and inner[0].kind == "assign")]
    value = printer.doprint(expr.xreplace({total: STEP_SUM}))
    return [Local(STEP_SUM.name, "0"), *body, Assign(lvalue, value, op)]


def free_loops(free: Sequence[sp.Idx], body: list[Statement]) -> Loop:
    """``body`` inside one braced loop per free index, outermost first."""
    for idx in reversed(free):
        body = [Loop(c_index(idx).name, int(idx.upper) + 1, tuple(body))]
    (loop,) = body
    return loop
