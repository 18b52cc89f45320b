"""Turn per-unit expressions (one per output unit) into array code over a whole layer.

An expression list [e_1, ..., e_n] is *uniform* when e_k is one formula f applied to
unit k's symbols (a_k, y_k, z_k); it is then printed once, over whole arrays.
Sums over all units of one uniform term, and LogSumExp over the layer, are
per-example reductions, computed first as (1, m) rows. Anything else is printed
unit by unit into an (n, m) array.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp
from sympy.codegen.numpy_nodes import logaddexp

from deltagen.derive.derivation.stable import LogSumExp

from .parts import Assignment
from .printer import NumpyCodePrinter


@dataclass
class UnitGroups:
    """Per-unit symbols of one layer and the array each belongs to: e.g. (a2_1, a2_2) → "A2"."""

    groups: list[tuple[tuple[sp.Symbol, ...], str]]
    n: int
    generic: dict[str, sp.Symbol] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.generic = {array: sp.Symbol(f"__{array}", real=True) for _, array in self.groups}
        self.unit_of: dict[sp.Symbol, int] = {}
        self.array_of: dict[sp.Symbol, str] = {}
        for symbols, array in self.groups:
            for k, s in enumerate(symbols):
                self.unit_of[s], self.array_of[s] = k, array

    def units_in(self, expr: sp.Expr) -> set[int]:
        return {self.unit_of[s] for s in expr.free_symbols if s in self.unit_of}

    def to_generic(self, expr: sp.Expr, k: int) -> sp.Expr:
        return expr.xreplace({symbols[k]: self.generic[array] for symbols, array in self.groups})

    def array_names(self) -> dict[sp.Symbol, str]:
        return {g: array for array, g in self.generic.items()}

    def row_names(self) -> dict[sp.Symbol, str]:
        if self.n == 1:  # the one unit's row is the whole (1, m) array
            return {s: self.array_of[s] for s in self.unit_of}
        return {s: f"{self.array_of[s]}[{k}:{k + 1}]" for s, k in self.unit_of.items()}


class Vectorizer:
    """Prints per-unit expressions of one layer as NumPy array code."""

    def __init__(self, units: UnitGroups, prefix: str, names: dict[sp.Basic, str] | None = None) -> None:
        self.units = units
        self.prefix = prefix
        self.names = dict(names or {})
        self.reductions: list[tuple[str, str]] = []   # (row name, code)
        self._reduction_symbols: dict[sp.Expr, sp.Symbol] = {}

    def _printer(self, extra: dict[sp.Basic, str]) -> NumpyCodePrinter:
        return NumpyCodePrinter({**self.names, **extra})

    def _reduction(self, key: sp.Expr, code: str) -> sp.Symbol:
        if key not in self._reduction_symbols:
            name = f"{self.prefix}{len(self._reduction_symbols)}"
            self._reduction_symbols[key] = sp.Symbol(name, real=True)
            self.reductions.append((name, code))
        return self._reduction_symbols[key]

    def _uniform(self, exprs: list[sp.Expr]) -> sp.Expr | None:
        """The common formula f if exprs[k] = f(unit k) for every k, else None."""
        forms = []
        for k, e in enumerate(exprs):
            if self.units.units_in(e) - {k}:
                return None
            forms.append(self.units.to_generic(e, k))
        return forms[0] if all(f == forms[0] for f in forms) else None

    def _replace_reductions(self, expr: sp.Expr) -> sp.Expr:
        n = self.units.n
        if n == 1 or not expr.args:
            return expr
        expr = expr.func(*[self._replace_reductions(a) for a in expr.args])
        if isinstance(expr, (LogSumExp, logaddexp)):
            # SymPy orders the arguments by name (z_10 before z_2): put them in unit order first
            by_unit = sorted(expr.args, key=lambda a: sorted(self.units.units_in(a)) or [-1])
            if len(expr.args) == n and self._uniform(by_unit) is not None \
                    and self.units.units_in(expr) == set(range(n)):
                array = self._printer(self.units.array_names()).doprint(self._uniform(by_unit))
                return self._reduction(expr, f"numpy.logaddexp.reduce({array}, axis=0, keepdims=True)")
        if isinstance(expr, sp.Max) and len(expr.args) == n and self.units.units_in(expr) == set(range(n)):
            by_unit = sorted(expr.args, key=lambda a: sorted(self.units.units_in(a)) or [-1])
            f = self._uniform(by_unit)
            if f is not None:
                array = self._printer(self.units.array_names()).doprint(f)
                return self._reduction(expr, f"numpy.maximum.reduce({array}, axis=0, keepdims=True)")
        if isinstance(expr, sp.Add):
            by_unit: dict[int, list[sp.Expr]] = {}
            rest = []
            for term in expr.args:
                units = self.units.units_in(term)
                if len(units) == 1:
                    by_unit.setdefault(units.pop(), []).append(term)
                else:
                    rest.append(term)
            if len(by_unit) == n:
                per_unit = [sp.Add(*by_unit[k]) for k in range(n)]
                f = self._uniform(per_unit)
                if f is not None:
                    code = self._printer(self.units.array_names()).doprint(f)
                    row = self._reduction(sp.Add(*per_unit), f"numpy.add.reduce({code}, axis=0, keepdims=True)")
                    return sp.Add(row, *rest)
        return expr

    def reduction_lines(self) -> list[Assignment]:
        """The per-example reductions the last ``vector``/``normalized``/``row`` calls use, to run before them."""
        return [Assignment(name, code) for name, code in self.reductions]

    def vector(self, target: str, exprs: list[sp.Expr]) -> list[Assignment]:
        """Assign the (n, m) array ``target`` from one expression per unit: one line when they are uniform."""
        exprs = [self._replace_reductions(e) for e in exprs]
        f = self._uniform(exprs)
        if f is not None:
            return [Assignment(target, self._printer(self.units.array_names()).doprint(f))]
        printer = self._printer(self.units.row_names())
        shape_of = next(array for _, array in self.units.groups if array != target)   # target is not assigned yet
        lines = [Assignment(target, f"numpy.empty_like({shape_of})")]
        lines += [Assignment(f"{target}[{k}:{k + 1}]", printer.doprint(e)) for k, e in enumerate(exprs)]
        return lines

    def normalized(self, target: str, exprs: list[sp.Expr]) -> list[Assignment] | None:
        """e_k = n_k / Σ_j n_j (softmax): the n_k once, then divided by their column sums; else None."""
        fractions = [sp.fraction(e) for e in exprs]
        numerators = [n for n, _ in fractions]
        if len(exprs) < 2 or any(d != fractions[0][1] for _, d in fractions) \
                or sp.Add(*numerators) != fractions[0][1]:
            return None
        column_sums = f"numpy.add.reduce({target}, axis=0, keepdims=True)"
        return self.vector(target, numerators) + [Assignment(target, column_sums, "/=")]

    def row(self, target: str, expr: sp.Expr) -> list[Assignment]:
        """Assign the (1, m) per-example row ``target`` from a scalar expression."""
        expr = self._replace_reductions(expr)
        names = self.units.row_names() if self.units.n == 1 or self.units.units_in(expr) else {}
        return [Assignment(target, self._printer(names).doprint(expr))]
