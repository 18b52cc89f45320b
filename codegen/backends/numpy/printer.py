"""SymPy printers for the generated sources.

``NumpyCodePrinter`` prints scalar formulas over whole arrays (NumPy broadcasts
them elementwise) and the matrix forms of the derivation with ``@``, ``.T`` and
``*``; symbols are renamed to the array names the template uses.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import HadamardProduct, OneMatrix
from sympy.printing.numpy import NumPyPrinter

from deltagen.derive.derivation.stable import LogSumExp


class NumpyCodePrinter(NumPyPrinter):
    """NumPy printer with renamed symbols and readable matrix expressions."""

    def __init__(self, names: dict[sp.Basic, str] | None = None) -> None:
        super().__init__({"fully_qualified_modules": True, "allow_unknown_functions": False})
        self.names = dict(names or {})

    def doprint(self, expr, assign_to=None):  # noqa: D401 - SymPy's signature
        return super().doprint(expr, assign_to)

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self.names.get(expr, expr.name)

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        return self.names.get(expr, expr.name)

    def _print_Integer(self, expr: sp.Integer) -> str:
        # beyond int64, NumPy raises OverflowError on int * array; beyond 2**53 a double is what is computed anyway
        if abs(int(expr)) <= 2 ** 53:
            return super()._print_Integer(expr)
        return repr(float(expr))

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp == -1:
            return f"(1/{self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE['Pow'])})"
        if expr.exp == 2 and not expr.base.is_Matrix:
            return f"numpy.square({self._print(expr.base)})"
        return super()._print_Pow(expr, rational=rational)

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        scalars = [a for a in expr.args if not getattr(a, "is_Matrix", False)]
        matrices = [a for a in expr.args if getattr(a, "is_Matrix", False)]
        if not scalars:
            return self._matrix_product(matrices)
        coefficient, sign = sp.Mul(*scalars), ""
        if coefficient.could_extract_minus_sign() and not isinstance(coefficient, sp.Add):
            coefficient, sign = -coefficient, "-"
        scale = self.parenthesize(coefficient, 50)
        if len(matrices) > 1 and not any(isinstance(m, OneMatrix) for m in matrices):
            # c (Δ Aᵀ) as (c Δ) Aᵀ: the scaling is one pass over Δ (n × m), not over the n × n_prev product
            first, *rest = matrices
            return f"{sign}({scale}*{self._matrix_product([first])}) @ {self._matrix_product(rest)}"
        text = self._matrix_product(matrices)
        if len(matrices) > 1:
            text = f"({text})"
        return f"{sign}{scale}*{text}"

    def _matrix_product(self, matrices: list) -> str:
        # X 1_{m×1} sums the columns of X; b 1_{1×m} is b broadcast over the columns
        if matrices and isinstance(matrices[-1], OneMatrix):
            rest, ones = matrices[:-1], matrices[-1]
            inner = self._matrix_product(rest)
            if ones.shape[0] == 1:
                return inner
            # the ufunc's own reduce: numpy.sum adds a Python-level wrapper (about 1 µs a call)
            return f"numpy.add.reduce({inner}, axis=1, keepdims=True)"
        parts = [self._print(m) if isinstance(m, (sp.MatrixSymbol, sp.Transpose)) else f"({self._print(m)})"
                 for m in matrices]
        return " @ ".join(parts)

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        return f"{self._print(expr.arg)}.T"

    def _print_HadamardProduct(self, expr: HadamardProduct) -> str:
        return "*".join(self.parenthesize(a, 50) if not isinstance(a, sp.MatMul) else f"({self._print(a)})"
                        for a in expr.args)

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        # positive terms first, then "- term": θ − η g rather than (−η) g + θ
        printed = sorted((self._print(t) for t in expr.args), key=lambda text: text.startswith("-"))
        text = printed[0]
        for term in printed[1:]:
            text += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
        return text

    def _print_Trace(self, expr: sp.Trace) -> str:
        arg = expr.arg
        # tr(XᵀX) is the sum of squares of X: O(size) instead of a matrix product
        if isinstance(arg, sp.MatMul) and len(arg.args) == 2 and isinstance(arg.args[0], sp.Transpose) \
                and arg.args[0].arg == arg.args[1]:
            return f"numpy.sum(numpy.square({self._print(arg.args[1])}))"
        # tr(x 1) of a row x is the sum of its entries
        if isinstance(arg, sp.MatMul) and isinstance(arg.args[-1], OneMatrix) and arg.shape == (1, 1):
            return f"numpy.sum({self._matrix_product(list(arg.args[:-1]))})"
        return f"numpy.trace({self._print(arg)})"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        # numpy.where keeps the array shape; the last branch of a derived Piecewise is the default
        *branches, (last_expr, last_cond) = expr.args
        if last_cond != sp.true:
            raise ValueError(f"Piecewise without a default branch: {expr}")
        text = self._print(last_expr)
        for branch_expr, cond in reversed(branches):
            text = f"numpy.where({self._print(cond)}, {self._print(branch_expr)}, {text})"
        return text

    def _print_Max(self, expr: sp.Max) -> str:
        # elementwise over arrays (NumPyPrinter's amax would reduce a stacked copy)
        text = self._print(expr.args[-1])
        for arg in reversed(expr.args[:-1]):
            text = f"numpy.maximum({self._print(arg)}, {text})"
        return text

    def _print_LogSumExp(self, expr: LogSumExp) -> str:
        stacked = ", ".join(self._print(a) for a in expr.args)
        return f"numpy.logaddexp.reduce(numpy.stack(({stacked},)), axis=0)"
