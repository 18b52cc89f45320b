"""The backends' SymPy printers, one construct per test: ``printer.doprint(expr) == "..."``.

As SymPy's own printer tests do, every expected string is written out by hand
from the construct's documented form (codegen/backends/*/printer.py).
"""
from __future__ import annotations

import pytest
import sympy as sp
from sympy.codegen.cfunctions import log1p
from sympy.matrices.expressions import HadamardProduct, OneMatrix

from deltagen.codegen.backends.c.printer import CCodePrinter, used_math_functions
from deltagen.codegen.backends.numpy.printer import NumpyCodePrinter
from deltagen.derive.derivation.stable import LogSumExp

x, y, z = sp.symbols("x y z", real=True)
m = sp.Symbol("m", positive=True, integer=True)


# ------------------------------------------------------------------ C

@pytest.fixture
def c() -> CCodePrinter:
    return CCodePrinter("net")


@pytest.mark.parametrize("expr, expected", [
    (sp.exp(x), "net_exp(x)"),
    (sp.log(x), "net_log(x)"),
    (log1p(x), "net_log1p(x)"),
    (sp.tanh(x), "net_tanh(x)"),
    (sp.Abs(x), "net_fabs(x)"),
    (sp.sqrt(x), "net_sqrt(x)"),
    (1 / sp.sqrt(x), "1/net_sqrt(x)"),
    (x ** y, "net_pow(x, y)"),
    (sp.E ** x, "net_exp(x)"),
])
def test_c_math_functions_are_the_type_generic_macros(c, expr, expected):
    """NAME_exp maps to exp or expf with NAME_real, so one source builds in double and float."""
    assert c.doprint(expr) == expected


@pytest.mark.parametrize("expr, expected", [
    (sp.Float(0.25), "net_LIT(0.25)"),
    (sp.Rational(1, 2), "net_LIT(0.5)"),
    (sp.Rational(-3, 4), "net_LIT(-0.75)"),
    (sp.Rational(1, 3), "net_LIT(1.0)/net_LIT(3.0)"),    # not exact in binary: divided in NAME_real
    (sp.Integer(3), "3"),
    (sp.pi, "net_LIT(3.141592653589793)"),
    (sp.E, "net_LIT(2.718281828459045)"),
    (sp.Float(0.5) * x, "net_LIT(0.5)*x"),
])
def test_c_literals_are_cast_to_the_real_type(c, expr, expected):
    assert c.doprint(expr) == expected


@pytest.mark.parametrize("expr, expected", [
    (x ** 2, "(x*x)"),
    (x ** 3, "(x*x*x)"),
    (x ** 4, "(x*x*x*x)"),
    (x ** 5, "net_pow(x, 5)"),
    (1 / x, "1/x"),
    (x ** -2, "1/(x*x)"),
    ((x + y) ** 2, "((x + y)*(x + y))"),
])
def test_c_small_integer_powers_are_products(c, expr, expected):
    assert c.doprint(expr) == expected


def test_c_piecewise_is_a_conditional_expression(c):
    assert c.doprint(sp.Piecewise((x, x > 0), (0, True))) == "((x > 0) ? x : 0)"
    assert c.doprint(sp.Piecewise((1, x > 1), (x, x > 0), (0, True))) == "((x > 1) ? 1 : ((x > 0) ? x : 0))"


def test_c_piecewise_without_a_default_branch_is_refused(c):
    with pytest.raises(ValueError, match="default branch"):
        c.doprint(sp.Piecewise((x, x > 0)))


def test_c_max_and_min_are_fmax_and_fmin(c):
    assert c.doprint(sp.Max(x, y)) == "net_fmax(x, y)"
    assert c.doprint(sp.Min(x, y)) == "net_fmin(x, y)"
    assert c.doprint(sp.Max(x, y, z)) == "net_fmax(x, net_fmax(y, z))"


@pytest.mark.parametrize("expr, expected", [
    (x > y, "x > y"),
    (x >= y, "x >= y"),
    (x < y, "x < y"),
    (sp.Eq(x, y), "x == y"),
    (sp.Ne(x, y), "x != y"),
    (x + 1 > y, "x + 1 > y"),
])
def test_c_relationals(c, expr, expected):
    assert c.doprint(expr) == expected


def test_c_symbols_print_as_the_lvalues_they_are_given():
    printer = CCodePrinter("net", {x: "t->z1[0]", y: "p->W1[j][k]"})
    assert printer.doprint(2 * x + y) == "2*t->z1[0] + p->W1[j][k]"


def test_used_math_functions_lists_the_macros_called_in_a_fixed_order():
    code = "net_tanh(a) + net_exp(b)*net_exp(c) + other_log(d) + net_LIT(1.0)"
    assert used_math_functions(code, "net") == ["exp", "tanh"]


# -------------------------------------------------------------- NumPy

W = sp.MatrixSymbol("W", 3, 2)
V = sp.MatrixSymbol("V", 3, 2)
A = sp.MatrixSymbol("A", 2, m)
D = sp.MatrixSymbol("Delta", 3, m)
G = sp.MatrixSymbol("G", 2, m)
b = sp.MatrixSymbol("b", 3, 1)
S = sp.MatrixSymbol("S", 3, 3)
row = sp.MatrixSymbol("loss_row", 1, m)
eta = sp.Symbol("eta", positive=True)


@pytest.fixture
def numpy_printer() -> NumpyCodePrinter:
    return NumpyCodePrinter()


@pytest.mark.parametrize("expr, expected", [
    (W * A, "W @ A"),
    (2 * W, "2*W"),
    (-eta * W, "-eta*W"),
    ((1 / m) * D * A.T, "((1/m)*Delta) @ A.T"),        # the scale applied to Δ, not to the product
    (D * OneMatrix(m, 1), "numpy.add.reduce(Delta, axis=1, keepdims=True)"),   # column sums
    (b * OneMatrix(1, m), "b"),                        # broadcast over the columns
    # the product of two matrices in parentheses, even when one is the ones column
    ((1 / m) * D * OneMatrix(m, 1), "(1/m)*(numpy.add.reduce(Delta, axis=1, keepdims=True))"),
])
def test_numpy_matmul(numpy_printer, expr, expected):
    assert numpy_printer.doprint(expr) == expected


def test_numpy_transpose(numpy_printer):
    assert numpy_printer.doprint(W.T) == "W.T"
    assert numpy_printer.doprint(W.T * D) == "W.T @ Delta"


def test_numpy_hadamard_product_is_elementwise(numpy_printer):
    assert numpy_printer.doprint(HadamardProduct(G, A)) == "G*A"
    assert numpy_printer.doprint(HadamardProduct(G, W.T * D)) == "G*(W.T @ Delta)"


def test_numpy_matadd_puts_the_subtracted_term_last(numpy_printer):
    assert numpy_printer.doprint(-eta * V + W) == "W - eta*V"


def test_numpy_piecewise_is_where(numpy_printer):
    assert numpy_printer.doprint(sp.Piecewise((x, x > 0), (0, True))) == "numpy.where(numpy.greater(x, 0), x, 0)"
    with pytest.raises(ValueError, match="default branch"):
        numpy_printer.doprint(sp.Piecewise((x, x > 0)))


def test_numpy_max_is_elementwise_maximum(numpy_printer):
    assert numpy_printer.doprint(sp.Max(x, y)) == "numpy.maximum(x, y)"
    assert numpy_printer.doprint(sp.Max(x, y, z)) == "numpy.maximum(x, numpy.maximum(y, z))"


def test_numpy_logsumexp_reduces_a_stack(numpy_printer):
    assert numpy_printer.doprint(LogSumExp(x, y)) == "numpy.logaddexp.reduce(numpy.stack((x, y,)), axis=0)"


@pytest.mark.parametrize("expr, expected", [
    (sp.Trace(W.T * W), "numpy.sum(numpy.square(W))"),     # ‖W‖², no matrix product
    (sp.Trace(row * OneMatrix(m, 1)), "numpy.sum(loss_row)"),
    (sp.Trace(S), "numpy.trace(S)"),
])
def test_numpy_trace(numpy_printer, expr, expected):
    assert numpy_printer.doprint(expr) == expected


@pytest.mark.parametrize("expr, expected", [
    (x ** 2, "numpy.square(x)"),
    (1 / x, "(1/x)"),
    (sp.exp(x), "numpy.exp(x)"),
])
def test_numpy_scalar_powers(numpy_printer, expr, expected):
    assert numpy_printer.doprint(expr) == expected


def test_numpy_symbols_print_as_the_array_names_they_are_given():
    printer = NumpyCodePrinter({x: "Z1", W: "W2"})
    assert printer.doprint(x ** 2) == "numpy.square(Z1)"
    assert printer.doprint(W.T) == "W2.T"


@pytest.mark.parametrize("expr, expected", [
    (2 * x, "2*x"),
    (sp.Integer(2 ** 24) * x, "16777216*x"),
    (sp.Integer(2 ** 24 + 1) * x, "net_LIT(16777217.0)*x"),
    (sp.Integer(10 ** 20) * x, "net_LIT(1e+20)*x"),
])
def test_c_integers_too_large_for_float_are_real_literals(c, expr, expected):
    """10**20 as a C integer constant does not compile (beyond 2**63); beyond 2**24 it is not exact in float."""
    assert c.doprint(expr) == expected


@pytest.mark.parametrize("expr, expected", [
    (sp.Integer(2 ** 53) * x, "9007199254740992*x"),
    (sp.Integer(10 ** 20) * x, "1e+20*x"),
])
def test_numpy_integers_beyond_int64_are_floats(expr, expected):
    """NumPy raises OverflowError multiplying an array by a Python int beyond int64."""
    assert NumpyCodePrinter().doprint(expr) == expected
