"""NotationPrinter, one construct at a time: ``NotationPrinter(d).doprint(expr) == "..."``, as SymPy's printer tests do.

Every expected string is written by hand from the notation the README documents (W^{[l]}
and w^{[l]}_{jk}, δ^{[l]}_j, the Wᵀ a convention, ⊙ for the elementwise product); the
fallback cases compare with SymPy's own ``latex``.
"""
from __future__ import annotations

import pytest
import sympy as sp
from sympy.matrices.expressions import HadamardPower, HadamardProduct

from deltagen.derive import derive, spec_from_dict
from deltagen.derive.derivation import symbols
from deltagen.derive.documents.equations import DerivationLatex
from deltagen.derive.documents.notation import ETA, LOSS_ROW
from deltagen.derive.documents.printer import NotationPrinter

# 2 inputs, a tanh layer of 2 units, one sigmoid output: small enough to name every symbol by hand
TANH_SIGMOID = dict(input=2, layers=[{"units": 2, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"}],
                    loss="mse")


def derivation(net: dict = TANH_SIGMOID, **notation):
    return derive(spec_from_dict(dict(name="net", notation=notation, **net)))


def tex(expr, d=None, **settings) -> str:
    return NotationPrinter(d if d is not None else derivation(), **settings).doprint(expr)


# ------------------------------------------------------------------ scalar entries

def test_scalar_entries():
    d = derivation()
    first, second = d.symbols(1), d.symbols(2)
    assert tex(first.z[0], d) == r"z^{[1]}_{1}"
    assert tex(first.a[1], d) == r"a^{[1]}_{2}"
    assert tex(first.b[1], d) == r"b^{[1]}_{2}"
    assert tex(second.delta[0], d) == r"\delta^{[2]}_{1}"
    assert tex(d.x[1], d) == r"x_{2}"
    assert tex(d.y[0], d) == r"y_{1}"


def test_scalar_entries_in_other_notations():
    d = derivation(brackets="paren", delta_symbol="epsilon", input_layer=1)
    assert tex(d.symbols(2).a[0], d) == r"a^{(2)}_{1}"          # the first weighted layer is layer 2
    assert tex(d.symbols(3).delta[0], d) == r"\varepsilon^{(3)}_{1}"
    assert tex(d.x[0], d) == r"x_{1}"                            # inputs and targets have no layer


# ------------------------------------------------------------------ weight entries

@pytest.mark.parametrize("convention, expected", [("Wa", r"w^{[1]}_{12}"), ("WTa", r"w^{[1]}_{21}")])
def test_weight_entry_under_both_conventions(convention, expected):
    """The code's W[0, 1] links input 2 to unit 1: w_12 when z = W a, w_21 when z = Wᵀ a."""
    d = derivation(weight_convention=convention)
    assert tex(d.symbols(1).W[0, 1], d) == expected


def test_weight_entry_letter_and_wide_layers():
    d = derivation(weight_symbol="theta")
    assert tex(d.symbols(2).W[0, 1], d) == r"\theta^{[2]}_{12}"
    wide = derivation(dict(input=12, layers=[{"units": 1, "activation": "sigmoid"}], loss="bce"))
    assert tex(wide.symbols(1).W[0, 9], wide) == r"w^{[1]}_{1,10}"   # a comma once an index reaches 10


# ------------------------------------------------------------------ matrices

def test_matrix_with_transpose():
    d = derivation()
    forms = d.matrix(2)
    assert tex(forms.W, d) == r"W^{[2]}"
    assert tex(forms.W.T * forms.Delta, d) == r"W^{[2]\top} \Delta^{[2]}"
    assert tex(d.matrix(1).A_prev.T, d) == r"A^{[0]\top}"
    assert tex(forms.Delta.T, d) == r"\Delta^{[2]\top}"


def test_matrix_under_the_transposed_convention():
    """With z = Wᵀ a + b the displayed W is the code's Wᵀ: the code's W prints with ᵀ, its transpose without."""
    d = derivation(weight_convention="WTa")
    forms = d.matrix(1)
    assert tex(forms.W, d) == r"W^{[1]\top}"
    assert tex(forms.W.T, d) == r"W^{[1]}"
    assert tex(forms.Z, d) == r"Z^{[1]}"


def test_matrices_of_one_example():
    d = derivation()
    forms = d.matrix(1)
    assert tex(forms.Z, d, per_example=True) == r"z^{[1]}"
    assert tex(forms.A, d, per_example=True) == r"a^{[1]}"
    assert tex(forms.Delta, d, per_example=True) == r"\delta^{[1]}"


def test_gradient_matrix_made_by_the_documents():
    d = derivation()
    dW, db = symbols.matrix("dW", 1, 2, 2), symbols.matrix("db", 1, 2, 1)
    assert tex(dW, d) == r"\frac{\partial C}{\partial W^{[1]}}"
    assert tex(db, d) == r"\frac{\partial C}{\partial b^{[1]}}"
    transposed = derivation(weight_convention="WTa", cost_symbol="J")
    assert tex(dW.T, transposed) == r"\frac{\partial J}{\partial W^{[1]}}"
    assert tex(dW, transposed) == r"\left(\frac{\partial J}{\partial W^{[1]}}\right)^{\top}"


def test_update_puts_the_positive_term_first():
    d = derivation()
    forms = d.matrix(1)
    update = d.update_expr(forms.W, symbols.matrix("dW", 1, 2, 2), ETA)
    assert tex(update, d) == r"W^{[1]} - \eta \frac{\partial C}{\partial W^{[1]}}"


# ------------------------------------------------------------------ elementwise products

def test_hadamard_product():
    d = derivation()
    first, second = d.matrix(1), d.matrix(2)
    assert tex(HadamardProduct(first.G, second.W.T * second.Delta), d) == \
        r"G^{[1]} \odot \left(W^{[2]\top} \Delta^{[2]}\right)"


def test_hadamard_power():
    d = derivation()
    assert tex(HadamardPower(d.matrix(1).A, 2), d) == r"\left(A^{[1]}\right)^{\circ 2}"


def test_broadcast_bias():
    d = derivation()
    forms = d.matrix(1)
    assert tex(forms.z_expr, d) == r"W^{[1]} A^{[0]} + b^{[1]} \mathbf{1}^{\top}"


# ------------------------------------------------------------------ sums and products

def test_a_sum_times_a_factor_keeps_its_parentheses():
    d = derivation()
    a, w, delta = d.symbols(1).a[0], d.symbols(2).W[0, 0], d.symbols(2).delta[0]
    assert tex((1 - a**2) * (w * delta), d) == \
        r"w^{[2]}_{11} \delta^{[2]}_{1} \left(1 - \left(a^{[1]}_{1}\right)^{2}\right)"
    w2 = d.symbols(2).W[0, 1]
    assert tex((1 - a**2) * (w * delta + w2 * delta), d) == \
        r"\left(1 - \left(a^{[1]}_{1}\right)^{2}\right) \left(w^{[2]}_{11} \delta^{[2]}_{1} + w^{[2]}_{12} \delta^{[2]}_{1}\right)"


def test_the_recurrence_line_keeps_the_parentheses_of_a_sum_derivative():
    """δ = g'(z) (Σ w δ) is written by putting two printed parts side by side; a derivative that is a sum
    (tanh: 1 − a²) loses its parentheses there, though the printer itself keeps them (test above)."""
    d = derivation()
    line = DerivationLatex(d).hidden_delta_index(1)[0]
    assert line == r"\delta^{[1]}_{1} & = \left(1 - \left(a^{[1]}_{1}\right)^{2}\right) " \
                   r"\left(w^{[2]}_{11} \delta^{[2]}_{1}\right)"


def test_long_sums_go_in_unit_order_and_are_shown_in_part():
    wide = derivation(dict(input=12, layers=[{"units": 1, "activation": "sigmoid"}], loss="bce"))
    assert tex(wide.z_index(1)[0], wide) == (r"w^{[1]}_{1,1} x_{1} + w^{[1]}_{1,2} x_{2} + w^{[1]}_{1,3} x_{3}"
                                             r" + \cdots + w^{[1]}_{1,12} x_{12} + b^{[1]}_{1}")


def test_cost_with_l2_names_the_sum_and_the_norms():
    d = derivation(dict(TANH_SIGMOID, l2=0.1))
    assert tex(d.cost_matrix_expr(LOSS_ROW), d) == (
        r"\frac{\lambda}{2} \left(\left\lVert W^{[1]} \right\rVert^{2} + \left\lVert W^{[2]} \right\rVert^{2}\right)"
        r" + \frac{1}{m} \sum_{i=1}^{m} \ell_{i}")


def test_substituted_numbers_get_an_explicit_product_sign():
    d = derivation()
    w, delta = d.symbols(2).W[0, 0], d.symbols(2).delta[0]
    assert tex(w * delta, d, values={w: "0.5", delta: "2"}) == r"0.5 \cdot 2"


# ------------------------------------------------------------------ notation switches and foreign symbols

def test_paren_brackets():
    d = derivation(brackets="paren")
    forms = d.matrix(2)
    assert tex(forms.W.T * forms.Delta, d) == r"W^{(2)\top} \Delta^{(2)}"
    assert tex(d.symbols(2).W[0, 1], d) == r"w^{(2)}_{12}"


def test_a_foreign_symbol_falls_back_to_sympy():
    d = derivation()
    for foreign in (sp.Symbol("alpha"), sp.Symbol("foo"), sp.MatrixSymbol("Q", 2, 2)):
        assert tex(foreign, d) == sp.latex(foreign)


def test_a_look_alike_name_is_not_a_meaning():
    """A symbol named like a^[1]_1 that the derivation did not make is printed by its name, as SymPy does."""
    d = derivation()
    look_alike = sp.Symbol("a1_1")          # the derivation's a^[1]_1 is real; this one is not, so it differs
    assert look_alike != d.symbols(1).a[0]
    assert tex(look_alike, d) == sp.latex(look_alike)
