"""The proof's exact zero test on its own: identities it must prove and non-identities it must refuse.

Every expected truth value comes from hand algebra, noted beside each case. Each expression is
checked to be nonzero as SymPy builds it, so that the zero test, not SymPy's automatic
simplification, decides it.
"""
from __future__ import annotations

import pytest
import sympy as sp

from deltagen.derive.proof.rational_functions import RationalFunctions
from deltagen.derive.proof.zero_test import Atoms, is_rational_zero, is_zero, nodes, shared_sums

x, y, z, u, v, a, b, t = sp.symbols("x y z u v a b t", real=True)
w = sp.Symbol("w")                      # complex
f = sp.Function("f")
sigmoid = 1 / (1 + sp.exp(-z))
relu = sp.Piecewise((x, x > 0), (0, True))

#: zero as rational functions of the symbols and the subterms exp(…), f(…): the fast test proves them
RATIONAL_IDENTITIES = {
    # σ'(z) = e^{-z}/(1 + e^{-z})² and σ(1 − σ) = 1/(1 + e^{-z}) · e^{-z}/(1 + e^{-z})
    "sigmoid derivative through exp": sp.exp(-z) / (1 + sp.exp(-z)) ** 2 - sigmoid * (1 - sigmoid),
    "exp of a sum": sp.exp(u + v) - sp.exp(u) * sp.exp(v),
    # e^{-u}(e^u + 1) = 1 + e^{-u}
    "exp of a negation": sp.exp(-u) * (sp.exp(u) + 1) - 1 - sp.exp(-u),
    # (1 − tanh²) in exponentials: 1 − ((e^{2z} − 1)/(e^{2z} + 1))² = 4e^{2z}/(e^{2z} + 1)²
    "tanh derivative through exp": (1 - sp.tanh(z) ** 2).rewrite(sp.exp)
                                   - 4 * sp.exp(2 * z) / (sp.exp(2 * z) + 1) ** 2,
    # ((x + 1) − (x − 1))/(x² − 1) = 2/(x² − 1)
    "partial fractions": 1 / (x - 1) - 1 / (x + 1) - 2 / (x ** 2 - 1),
    # 1/(2x) − 1/(x+1) + 1/(2(x+2)) over x(x+1)(x+2): ((x+1)(x+2) − 2x(x+2) + x(x+1))/2 = 1
    "three denominators": 1 / (x * (x + 1) * (x + 2)) - (1 / (2 * x) - 1 / (x + 1) + 1 / (2 * (x + 2))),
    # 1/(1 + 1/x) = x/(x + 1)
    "nested denominator": 1 / (1 + 1 / x) - x / (x + 1),
    # (x² − 1)/(x − 1) = x + 1 inside an unknown function
    "equal arguments of a function": f((x ** 2 - 1) / (x - 1)) - f(x + 1),
}

#: zero, but only through a relation between subterms: the fast test refuses, ``simplify`` proves
RELATION_IDENTITIES = {
    "cosh² − sinh² = 1": 1 - sp.tanh(z) ** 2 - 1 / sp.cosh(z) ** 2,
    # both are x for x > 0 and 0 otherwise
    "relu as x times a step": relu - x * sp.Piecewise((1, x > 0), (0, True)),
}

#: not zero, with a point where the two sides differ
NON_IDENTITIES = {
    # at z = 0: 1/4 − (1/2)(3/2) = −1/2
    "sigmoid derivative with the wrong sign": sp.exp(-z) / (1 + sp.exp(-z)) ** 2 - sigmoid * (1 + sigmoid),
    # at u = v = 0: 1 − 2 = −1
    "exp of a sum as a sum": sp.exp(u + v) - sp.exp(u) - sp.exp(v),
    # equals 1/(x² − 1)
    "partial fractions, wrong numerator": 1 / (x - 1) - 1 / (x + 1) - 1 / (x ** 2 - 1),
    # equals 2x
    "square without the cross term": (x + 1) ** 2 - x ** 2 - 1,
    # at u = 0: 1 − 1/2
    "exp of a half": sp.exp(u / 2) - sp.exp(u) / 2,
    # at x = 1: 1/2 − 1/2 = 0, at x = 2: 2/3 − 1/3 = 1/3
    "nested denominator, wrong numerator": 1 / (1 + 1 / x) - 1 / (x + 1),
    # f(x + 1) − f(x − 1) for an arbitrary f
    "different arguments of a function": f((x ** 2 - 1) / (x - 1)) - f(x - 1),
    # at w = i: |i|² − i² = 1 + 1 = 2
    "|w|² = w² for complex w": sp.Abs(w) ** 2 - w ** 2,
    # at x = −1: 1 − (−1) = 2
    "relu squared, wrong negative branch": relu ** 2 - sp.Piecewise((x ** 2, x > 0), (x, True)),
}


@pytest.mark.parametrize("name", RATIONAL_IDENTITIES)
def test_rational_identities_are_proved_by_the_fast_test(name):
    expr = RATIONAL_IDENTITIES[name]
    assert expr != 0
    assert is_rational_zero(expr)
    assert is_zero(expr)


@pytest.mark.parametrize("name", RELATION_IDENTITIES)
def test_identities_needing_a_relation_are_left_to_simplify(name):
    expr = RELATION_IDENTITIES[name]
    assert expr != 0
    assert not is_rational_zero(expr)
    assert is_zero(expr)


@pytest.mark.parametrize("name", NON_IDENTITIES)
def test_non_identities_are_refused_by_both_tests(name):
    expr = NON_IDENTITIES[name]
    assert not is_rational_zero(expr)
    assert not is_zero(expr)


def test_a_shared_atoms_table_names_equal_subterms_once():
    atoms = Atoms()
    first, second = atoms(sp.exp(x) + sp.log(1 + x)), atoms(sp.log(x + 1) * sp.exp(2 * x))
    assert len(atoms.symbols) == 2                  # exp(x) and log(1 + x); exp(2x) is exp(x)²
    assert first.free_symbols == second.free_symbols
    assert is_rational_zero(sp.exp(2 * x) - sp.exp(x) ** 2 + sp.log(1 + x) - sp.log(x + 1), atoms)


def test_long_shared_products_are_compared_without_expanding_them():
    """Π(1 + x_i) over 40 factors has 2⁴⁰ monomials; (a + b)² = a² + 2ab + b² decides the identity."""
    product = sp.Mul(*[1 + xi for xi in sp.symbols("x1:41", real=True)])
    assert is_rational_zero(product * (a + b) ** 2 - product * (a ** 2 + 2 * a * b + b ** 2))
    assert not is_rational_zero(product * (a + b) ** 2 - product * (a ** 2 + a * b + b ** 2))


def test_shared_sums_keep_a_common_factor_and_leave_out_a_shared_denominator():
    # 1 − t² multiplies both sides and has no denominator: taken as a leaf, the identity still holds
    left, right = [(1 - t ** 2) * (x + y)], [(1 - t ** 2) * x + (1 - t ** 2) * y]
    differences = [left[0] - right[0]]
    shared = shared_sums(differences, left, right)
    assert shared == {1 - t ** 2}
    assert RationalFunctions(differences, shared).zero(differences[0])

    # σ'(z): 1 + e^{-z} is on both sides, but as a leaf it would hide the cancellation with e^{-z}
    atoms = Atoms()
    left = [atoms(sp.exp(-z) / (1 + sp.exp(-z)) ** 2)]
    right = [atoms(sigmoid * (1 - sigmoid))]
    differences = [left[0] - right[0]]
    common = frozenset(nodes(left, sp.Add) & nodes(right, sp.Add))
    assert common and not RationalFunctions(differences, common).zero(differences[0])
    assert shared_sums(differences, left, right) == frozenset()
    assert RationalFunctions(differences).zero(differences[0])


def test_expressions_decided_together_share_one_ring():
    exprs = [RATIONAL_IDENTITIES["partial fractions"], NON_IDENTITIES["partial fractions, wrong numerator"]]
    together = RationalFunctions(exprs)
    assert [together.zero(e) for e in exprs] == [True, False]


@pytest.mark.parametrize("infinity", [sp.oo, sp.zoo, sp.nan])
def test_undefined_values_are_never_called_zero(infinity):
    """∞·x − ∞·x is undefined, not 0: a term holding ∞ (left unevaluated here) must not cancel."""
    term = sp.Mul(infinity, x, evaluate=False)
    difference = sp.Add(term, sp.Mul(-1, term, evaluate=False), evaluate=False)
    assert not RationalFunctions([difference]).zero(difference)
    assert not is_rational_zero(infinity * x)
    assert not is_zero(infinity * x)
