"""SymPy printer for the generated C: one source for ``double`` and ``float`` builds.

Math functions print as ``NAME_exp(...)``, ``NAME_log1p(...)``, ..., macros the
generated ``.c`` maps to ``exp``/``expf`` according to ``NAME_real``; non-integer
literals print as ``NAME_LIT(0.5)`` (a cast to ``NAME_real``), so a float build
has no double arithmetic and no implicit conversions.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.c import C99CodePrinter
from sympy.printing.precedence import PRECEDENCE, precedence

#: C math functions the generated code may call (each gets a NAME_fn macro)
MATH_FUNCTIONS = ("exp", "log", "log1p", "sqrt", "pow", "fabs", "fmax", "fmin", "tanh", "sinh", "cosh",
                  "sin", "cos", "atan")


#: integers up to this size print as C integer constants (exact in float and double); larger as real literals
SMALL_INTEGER = 2 ** 24


class CCodePrinter(C99CodePrinter):
    """C99 printer with renamed symbols, type-generic math and literals, and compact branches."""

    def __init__(self, prefix: str, names: dict[sp.Basic, str] | None = None) -> None:
        super().__init__({"math_macros": {}})
        self._ns = f"{prefix}_"          # exp → NAME_exp, which the .c maps to exp or expf
        self.prefix = prefix
        self.names = dict(names or {})

    # ------------------------------------------------------------ names
    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names.get(expr, expr.name)

    # --------------------------------------------------------- literals
    def _literal(self, text: str) -> str:
        return f"{self.prefix}_LIT({text})"

    def _print_Integer(self, expr: sp.Integer) -> str:
        # an int literal beyond 2**24 is not exact in float, and beyond 2**63 not even a C integer constant
        if abs(int(expr)) <= SMALL_INTEGER:
            return super()._print_Integer(expr)
        return self._literal(repr(float(expr)))

    def _print_Float(self, flt: sp.Float) -> str:
        return self._literal(repr(float(flt)))

    def _print_Rational(self, expr: sp.Rational) -> str:
        value = float(expr)
        if float(sp.Rational(value)) == value and sp.Rational(value) == expr:   # exact in binary
            return self._literal(repr(value))
        return f"{self._literal(f'{int(expr.p)}.0')}/{self._literal(f'{int(expr.q)}.0')}"

    def _print_NumberSymbol(self, expr: sp.Basic) -> str:
        return self._literal(repr(float(expr)))

    def _print_Exp1(self, expr: sp.Basic) -> str:
        return self._literal(repr(float(expr)))

    # ----------------------------------------------------------- powers
    def _print_Pow(self, expr: sp.Pow) -> str:
        base, exponent = expr.base, expr.exp
        if base is sp.E:
            return f"{self._ns}exp({self._print(exponent)})"
        if exponent.is_Integer and 1 <= abs(int(exponent)) <= 4:
            # x*x is exact and cheaper than pow(x, 2)
            factor = self.parenthesize(base, PRECEDENCE["Mul"], strict=True)
            product = "*".join([factor] * abs(int(exponent)))
            if int(exponent) > 0:
                return product if abs(int(exponent)) == 1 else f"({product})"
            return f"1/({product})" if abs(int(exponent)) > 1 else f"1/{factor}"
        if exponent == sp.S.Half:
            return f"{self._ns}sqrt({self._print(base)})"
        if exponent == -sp.S.Half:
            return f"1/{self._ns}sqrt({self._print(base)})"
        return f"{self._ns}pow({self._print(base)}, {self._print(exponent)})"

    # --------------------------------------------------------- branches
    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        *branches, (last_expr, last_cond) = expr.args
        if last_cond != sp.true:
            raise ValueError(f"Piecewise without a default branch: {expr}")
        text = self._print(last_expr)
        for branch_expr, cond in reversed(branches):
            text = f"(({self._print(cond)}) ? {self._print(branch_expr)} : {text})"
        return text

    def _print_Relational(self, expr: sp.core.relational.Relational) -> str:
        prec = precedence(expr)
        return f"{self.parenthesize(expr.lhs, prec)} {expr.rel_op} {self.parenthesize(expr.rhs, prec)}"


def used_math_functions(code: str, prefix: str) -> list[str]:
    """The math functions ``code`` calls through NAME_fn macros, in MATH_FUNCTIONS order."""
    called = set(re.findall(rf"\b{re.escape(prefix)}_([a-z0-9]+)\(", code))
    return [f for f in MATH_FUNCTIONS if f in called]
