"""Print a derivation's SymPy expressions as C statements, in the form each layer's size calls for.

A layer is *unrolled* (every unit and weight its own statement, common
subexpressions shared through ``sympy.cse``) when it has at most
``CConfig.unroll_max_weights`` weights, else in *loops* (one per-unit formula
printed with loop-indexed names and run inside ``for`` loops over fixed sizes).
"""
from __future__ import annotations

import math

import sympy as sp

from deltagen.derive.derivation.backprop import Derivation
from deltagen.derive.documents.text import TextPrinter

from .config import CConfig
from .names import concrete_names, loop_names
from .parts import UNIT, Assign, Block, Local, Statement, unit_loop
from .printer import CCodePrinter


def plain_formula(expr: sp.Expr) -> str:
    """A formula for a comment, as the lectures write it (1 − a², max(0, z)); never a comment terminator.

    The comments are UTF-8 like the rest of the file's (δ, ⊙, ᵀ); symbols keep the code's names
    and order (W[2], not the spec's display convention), as the statements below them do.
    """
    return TextPrinter().doprint(expr)


class CWriter:
    """Prints one derivation's expressions as statements; numbers temporaries across the whole file."""

    def __init__(self, derivation: Derivation, config: CConfig) -> None:
        self.d = derivation
        self.net = derivation.network
        self.config = config
        self.prefix = self.net.name
        self._names = concrete_names(derivation, self.unrolled)
        self._temps = 0   # so no two blocks declare the same temporary

    # ------------------------------------------------------------ layers
    def weights(self, layer: int) -> int:
        """The number of weights of layer number ``layer`` (a conv layer's kernels; a pool layer has none)."""
        kind = self.d.layer(layer)
        if kind.kind != "dense":
            return math.prod(kind.weight_shape) if kind.kind == "conv" else 0
        return self.d.width(layer) * self.d.width(layer - 1)

    def unrolled(self, layer: int) -> bool:
        # conv and pool layers are always loops over positions (spatial.py), however few their weights
        return self.d.layer(layer).kind == "dense" and self.weights(layer) <= self.config.unroll_max_weights

    def form(self, layer: int) -> str:
        """The form of layer number ``layer`` with its reason, as shown in the block comments."""
        kind = self.d.layer(layer).kind
        if kind != "dense":
            return f"loops, {kind} layer"
        weights, limit = self.weights(layer), self.config.unroll_max_weights
        return f"unrolled, {weights} weights <= {limit}" if self.unrolled(layer) else f"loops, {weights} weights > {limit}"

    # ---------------------------------------------------------- printing
    def printer(self, names: dict[sp.Basic, str] | None = None) -> CCodePrinter:
        """The C printer with every symbol's concrete lvalue, overridden by ``names``."""
        return CCodePrinter(self.prefix, {**self._names, **(names or {})})

    def printed(self, expr: sp.Expr, names: dict[sp.Basic, str] | None = None) -> str:
        return self.printer(names).doprint(expr)

    def assignments(self, pairs: list[tuple[str, sp.Expr]], names: dict[sp.Basic, str] | None = None,
                    op: str = "=") -> list[Statement]:
        """``target op expr`` for each pair, common subexpressions first as const temporaries."""
        printer = self.printer(names)
        temps, reduced = sp.cse([e for _, e in pairs], symbols=sp.numbered_symbols("u", start=self._temps),
                                order="none")
        self._temps += len(temps)
        statements: list[Statement] = []
        for symbol, value in temps:
            printer.names[symbol] = symbol.name
            statements.append(Local(symbol.name, printer.doprint(value), constant=True))
        statements += [Assign(target, printer.doprint(e), op) for (target, _), e in zip(pairs, reduced)]
        return statements

    # ------------------------------------------------------- unit blocks
    def uniform(self, exprs: list[sp.Expr], layer: int) -> sp.Expr | None:
        """f if exprs[j] is f of unit j's own symbols for every j (written with unit 0's symbols), else None."""
        s = self.d.symbols(layer)
        groups = [s.z, s.a, s.delta] + ([self.d.y] if layer == self.d.last else [])
        units: dict[sp.Symbol, set[int]] = {}        # symbol -> the units it belongs to (one pass: linear in width)
        for g in groups:
            for i, sym in enumerate(g):
                units.setdefault(sym, set()).add(i)
        forms = []
        for j, e in enumerate(exprs):
            if any(j not in units[sym] for sym in e.free_symbols if sym in units):
                return None          # unit j's formula reads another unit's z, a, δ or y
            forms.append(e.xreplace({g[j]: g[0] for g in groups}))
        return forms[0] if all(f == forms[0] for f in forms) else None

    def unit_block(self, comment: str, layer: int, array: str, exprs: list[sp.Expr]) -> Block:
        """Assign ``array[j] = exprs[j]``: one formula in a loop when uniform and the layer is large."""
        uniform = self.uniform(exprs, layer)
        if uniform is not None and not self.unrolled(layer):
            body = self.assignments([(f"{array}[{UNIT}]", uniform)], loop_names(self.d, layer))
            return Block(f"{comment} ({self.form(layer)})", (unit_loop(len(exprs), body),))
        statements = self.assignments([(f"{array}[{j}]", e) for j, e in enumerate(exprs)])
        kind = self.form(layer) if uniform is not None else "unrolled, coupled units"
        return Block(f"{comment} ({kind})", tuple(statements))
