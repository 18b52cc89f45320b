"""One evaluator: worked solutions, checks and mistake variants all take their numbers from ``Steps``.

The mistake variants are checked against a 1-1-1 network worked out by hand in mpmath here,
each with the mistake made on purpose; the checker's graph is checked against ``evaluate``'s
``Trace`` (two consumers of the same steps must agree); and the module structure is checked
for what makes the single source hold (explain does not reach into check; one GUARD_DIGITS).
"""
from __future__ import annotations

import ast
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest
from mpmath import mpf

from deltagen import derive
from deltagen.derive.checking.graph import Graph
from deltagen.derive.checking.nodes import Key
from deltagen.derive.checking.variant import NO_VARIANT, MistakenSteps, Variant
from deltagen.derive.checking.world import World
from deltagen.derive.evaluation import GUARD_DIGITS, evaluate
from deltagen.derive.evaluation.steps import Steps

ROOT = Path(__file__).resolve().parent.parent

# 1-1-1: one sigmoid unit feeding one sigmoid unit, half_sse, mean over two examples
NET = {
    "name": "one_one_one", "input": 1,
    "layers": [{"units": 1, "activation": "sigmoid"}, {"units": 1, "activation": "sigmoid"}],
    "loss": "half_sse", "reduction": "mean",
    "example": {"W": [[[0.8]], [[-1.5]]], "b": [[[0.1]], [[0.3]]], "X": [[0.5, -1.0]], "Y": [[1.0, 0.0]],
                "learning_rate": 0.5},
}
with mpmath.workdps(60):      # the decimals the spec writes, well past the 40 digits the tests compute at
    W1, B1, W2, B2 = mpf("0.8"), mpf("0.1"), mpf("-1.5"), mpf("0.3")
    XS, YS, ETA = [mpf("0.5"), mpf("-1.0")], [mpf("1.0"), mpf("0.0")], mpf("0.5")
TOLERANCE = mpf("1e-35")


@pytest.fixture(autouse=True)
def forty_digits():
    with mpmath.workdps(40):
        yield


@pytest.fixture(scope="module")
def graph():
    with mpmath.workdps(40):     # the spec's decimals are read at the precision in force
        return Graph(derive.derive(derive.spec_from_dict(NET)))


@pytest.fixture(scope="module")
def graph_from_2():
    """The same net with the input numbered 1: its layers are 2 and 3, and every key and variant names them so."""
    with mpmath.workdps(40):
        return Graph(derive.derive(derive.spec_from_dict(NET | {"notation": {"input_layer": 1}})))


def renumbered(variant: Variant, key: Key) -> tuple[Variant, Key]:
    """``variant`` and ``key`` with every layer number one higher (input_layer = 1)."""
    up = lambda layers: frozenset(layer + 1 for layer in layers)
    variant = replace(variant, sigmoid_sign=up(variant.sigmoid_sign), g_for_derivative=up(variant.g_for_derivative),
                      transposed_forward=up(variant.transposed_forward),
                      transposed_backward=up(variant.transposed_backward))
    return variant, key if key.layer is None else key._replace(layer=key.layer + 1)


def sigma(v):
    return 1 / (1 + mpmath.exp(-v))


class Hand:
    """One example of the 1-1-1 net by hand, with a mistake made where asked."""

    def __init__(self, i, *, sign_slip=False, g_for_gprime=False, factor=1, wrong_sign=False, w2=W2, y=None):
        x, self.y = XS[i], YS[i] if y is None else y
        self.z1 = W1 * x + B1
        self.a1 = sigma(-self.z1) if sign_slip else sigma(self.z1)
        self.z2 = W2 * self.a1 + B2
        self.a2 = sigma(self.z2)
        self.C = factor * (self.a2 - self.y) ** 2 / 2
        self.dC_da = factor * (self.y - self.a2 if wrong_sign else self.a2 - self.y)
        self.d2 = self.dC_da * self.a2 * (1 - self.a2)
        self.back1 = w2 * self.d2
        self.d1 = (self.a1 if g_for_gprime else self.a1 * (1 - self.a1)) * self.back1
        self.dW1, self.dW2 = self.d1 * x, self.d2 * self.a1


def mean_dW2():
    return (Hand(0).dW2 + Hand(1).dW2) / 2


def value(graph, key, variant=NO_VARIANT):
    number = World(graph, exact=True, variant=variant).value(key)
    return number.reshape(-1)[0] if number.shape else number[()]


# ---------------------------------------------------------------- mistake variants against the hand

def test_the_plain_evaluator_is_the_hand_derivation(graph):
    h0, h1 = Hand(0), Hand(1)
    assert abs(value(graph, Key("a", 2, 0)) - h0.a2) < TOLERANCE
    assert abs(value(graph, Key("cost", None, None)) - (h0.C + h1.C) / 2) < TOLERANCE
    assert abs(value(graph, Key("delta", 1, 1)) - h1.d1) < TOLERANCE
    assert abs(value(graph, Key("dW", 1, None)) - (h0.dW1 + h1.dW1) / 2) < TOLERANCE
    assert abs(value(graph, Key("W+", 2, None)) - (W2 - ETA * mean_dW2())) < TOLERANCE


MISTAKES = [
    (Variant(sigmoid_sign=frozenset({1})), Key("C", None, 0), lambda: Hand(0, sign_slip=True).C),
    (Variant(g_for_derivative=frozenset({1})), Key("delta", 1, 0), lambda: Hand(0, g_for_gprime=True).d1),
    (Variant(loss_factor=Fraction(2)), Key("C", None, 1), lambda: Hand(1, factor=2).C),
    (Variant(loss_factor=Fraction(1, 2)), Key("dW", 2, 0), lambda: Hand(0, factor=mpf(1) / 2).dW2),
    (Variant(derivative_sign=True), Key("delta", 2, 1), lambda: Hand(1, wrong_sign=True).d2),
    (Variant(reduction_swapped=True), Key("dW", 1, None), lambda: Hand(0).dW1 + Hand(1).dW1),
    (Variant(reduction_swapped=True), Key("dcost/da", 2, 0), lambda: Hand(0).dC_da),
    (Variant(learning_rate_sign=True), Key("W+", 2, None), lambda: W2 + ETA * mean_dW2()),
    (Variant(single_example=1), Key("W+", 2, None), lambda: W2 - ETA * Hand(1).dW2),
    (Variant(sequential=True), Key("delta", 1, 0), lambda: Hand(0, w2=W2 - ETA * mean_dW2()).d1),
    (Variant(data=((Key("y", None, 0), 0, Decimal("0.8")),)), Key("C", None, 0),
     lambda: Hand(0, y=mpf("0.8")).C),
    (Variant(sigmoid_sign=frozenset({1}), example_scope=1), Key("cost", None, None),
     lambda: (Hand(0).C + Hand(1, sign_slip=True).C) / 2),
    (Variant(sigmoid_sign=frozenset({1}), example_scope=1), Key("C", None, 0), lambda: Hand(0).C),
]


@pytest.mark.parametrize("variant, key, expected", MISTAKES)
def test_a_mistake_variant_is_the_evaluator_with_one_step_swapped(graph, variant, key, expected):
    assert abs(value(graph, key, variant) - expected()) < TOLERANCE


@pytest.mark.parametrize("variant, key, expected", MISTAKES)
def test_keys_and_variants_name_layers_by_the_specs_numbers(graph_from_2, variant, key, expected):
    assert (graph_from_2.first, graph_from_2.last, graph_from_2.input_number) == (2, 3, 1)
    variant, key = renumbered(variant, key)
    assert abs(value(graph_from_2, key, variant) - expected()) < TOLERANCE


def test_mistaken_steps_reuse_the_compiled_steps(graph):
    plain = Steps.of(graph.derivation, exact=True)
    mistaken = graph.steps(True, Variant(sigmoid_sign=frozenset({1})), 0)
    assert isinstance(mistaken, MistakenSteps) and mistaken._compiled is plain._compiled
    assert graph.steps(True, NO_VARIANT, 0) is plain
    z = np.array([[mpf("0.25")]], dtype=object)
    assert mistaken.a(2, z)[0, 0] == plain.a(2, z)[0, 0]          # the other layer's step: unchanged
    assert abs(plain.a(1, z)[0, 0] - sigma(mpf("0.25"))) < TOLERANCE
    assert abs(mistaken.a(1, z)[0, 0] - sigma(mpf("-0.25"))) < TOLERANCE


# ---------------------------------------------------------------- the graph and evaluate agree

LECTURES = ["lecture_sigmoid_121", "lecture_xor", "lecture_softmax_tanh", "lecture_bce_classifier",
            "lecture_scalar_chain", "lecture_vectorized_231"]


@pytest.mark.parametrize("name", LECTURES)
@pytest.mark.parametrize("exact", [False, True])
def test_the_graphs_numbers_are_evaluates_trace(name, exact):
    derivation = derive.derive(derive.load_spec(ROOT / "generated" / name / "spec.toml"))
    graph = Graph(derivation)
    world = World(graph, exact=exact)
    trace = evaluate(derivation, digits=40 if exact else 0)
    tolerance = mpf("1e-36") if exact else 1e-14

    def same(got, expected):
        got, expected = np.asarray(got, dtype=object).ravel(), np.asarray(expected, dtype=object).ravel()
        scale = max([abs(v) for v in expected] + [1])
        assert len(got) == len(expected) and all(abs(g - e) <= tolerance * scale for g, e in zip(got, expected))

    same(world.value(Key("cost", None, None)), trace.cost)
    for i in range(graph.m):
        same(world.value(Key("C", None, i)), trace.loss[i])
        for l in graph.layer_numbers:
            for kind, numbers in (("z", trace.z), ("a", trace.a), ("delta", trace.delta)):
                same(world.value(Key(kind, l, i)), numbers[l][:, i])
            same(world.value(Key("dW", l, i)), trace.dW_example[l][i])
    stepped = trace.learning_rate is not None
    for l in graph.layer_numbers:
        same(world.value(Key("dW", l, None)), trace.dW[l])
        if stepped:
            same(world.value(Key("W+", l, None)), trace.W_next[l])
        if graph.has_bias[l]:
            same(world.value(Key("db", l, None)), trace.db[l])
            if stepped:
                same(world.value(Key("b+", l, None)), trace.b_next[l])


# ---------------------------------------------------------------- structure

def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.add(node.module or "")
            found.update(alias.name for alias in node.names if not node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_explain_returns_causes_and_imports_nothing_from_check():
    imported = _imported_modules(ROOT / "derive" / "checking" / "explain.py")
    assert not [m for m in imported if m == "check" or m.endswith(".check")]


def test_one_guard_digits_for_solutions_and_checks():
    from deltagen.derive.checking import check
    from deltagen.derive.documents import solution
    assert check.GUARD_DIGITS == solution.GUARD_DIGITS == GUARD_DIGITS
    for path in (ROOT / "derive" / "checking" / "check.py", ROOT / "derive" / "documents" / "solution.py"):
        assert "GUARD_DIGITS =" not in path.read_text(encoding="utf-8"), path
