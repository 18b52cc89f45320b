"""The generated lecture modules against numbers that do not come from deltagen.

Expected values come from three independent sources only: the lectures' printed numbers
(where they are right), hand derivations written out here in mpmath at 50 digits, and
central finite differences of the mpmath reference in ``tests/reference.py``. Where a
lecture prints a wrong number, the test asserts that it is wrong and, where the cause can
be reproduced, asserts the cause.
"""
from __future__ import annotations

import importlib.util
import tomllib
from decimal import Decimal
from pathlib import Path

import mpmath
import numpy as np
import pytest
from mpmath import mpf

from deltagen import prove
from deltagen import derive

import reference as ref

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
EXAMPLES = ["lecture_sigmoid_121", "lecture_scalar_chain", "lecture_vectorized_231",
            "lecture_xor", "lecture_and", "lecture_bce_classifier"]


# ---------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def fifty_digits():
    """The hand derivations below run at 50 digits whatever another test module set."""
    with mpmath.workdps(ref.DIGITS):
        yield


def load_generated(name: str):
    """The module generated/<name>/<name>.py, loaded by file path."""
    path = GENERATED / name / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_lecture_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def spec_path(name: str) -> Path:
    return GENERATED / name / "spec.toml"


def example(name: str):
    """(params, X, Y, learning_rate) of the spec's [example] block."""
    network = derive.load_spec(spec_path(name))
    ex = network.example
    return ex.params(network.notation), ex.X, ex.Y, ex.learning_rate


def reference_net(name: str):
    """(layers, loss, reduction) for tests/reference.py, read from the TOML itself."""
    data = tomllib.loads(spec_path(name).read_text(encoding="utf-8"))
    first = data.get("notation", {}).get("input_layer", 0)
    layers = []
    for index, layer in enumerate(data["layers"], start=1):
        number = index + first
        layers.append((f"W{number}", f"b{number}" if layer.get("bias", True) else None, layer["activation"]))
    return layers, data["loss"], data.get("reduction", "mean")


def as_lists(params) -> dict:
    return {key: np.asarray(value).tolist() for key, value in params.items()}


def ref_cost(name, params, X, Y):
    layers, loss, reduction = reference_net(name)
    return ref.cost(layers, as_lists(params), np.asarray(X).tolist(), np.asarray(Y).tolist(), loss, reduction)


def ref_gradient(name, params, X, Y) -> dict:
    layers, loss, reduction = reference_net(name)
    X, Y = np.asarray(X).tolist(), np.asarray(Y).tolist()
    return ref.fd_gradient(lambda p: ref.cost(layers, p, X, Y, loss, reduction), as_lists(params))


def flat(nested) -> list:
    return [mpf(v) for row in nested for v in (row if isinstance(row, (list, tuple)) else [row])]


def normwise_error(actual, expected, scale=None) -> float:
    """max|actual − expected| / scale, in mpmath; scale defaults to max|expected|.

    Norm-wise rather than element-wise: a small entry of an array (an almost dead
    sigmoid in XOR) is computed by NumPy with an error relative to the array's scale,
    not to its own size, so an element-wise relative test would fail there for no fault
    of the code. The floor 1e-300 only guards an expected array that is exactly 0.
    """
    actual = np.asarray(actual, dtype=float).reshape(-1)
    expected = flat(expected)
    if scale is None:
        scale = max(abs(e) for e in expected)
    return float(max(abs(mpf(float(a)) - e) for a, e in zip(actual, expected)) / max(scale, mpf("1e-300")))


def sigma(z):
    return 1 / (1 + mpmath.exp(-z))


def agrees_as_printed(printed: str, value) -> bool:
    """True when ``value`` rounds to the printed decimal: within half a unit of its last digit."""
    exponent = Decimal(printed).as_tuple().exponent
    half_unit = mpf(10) ** exponent / 2
    return abs(mpf(printed) - mpf(value)) <= half_unit


# ---------------------------------------------------------------- 1, 2: every example


@pytest.mark.parametrize("name", EXAMPLES)
def test_cost_matches_mpmath(name):
    module = load_generated(name)
    params, X, Y, _ = example(name)
    expected = ref_cost(name, params, X, Y)
    assert abs(mpf(module.cost(params, X, Y)) - expected) <= mpf("1e-12") * abs(expected)


@pytest.mark.parametrize("name", EXAMPLES)
def test_gradients_match_finite_differences(name):
    module = load_generated(name)
    params, X, Y, _ = example(name)
    grads = module.gradients(params, X, Y)
    expected = ref_gradient(name, params, X, Y)
    assert set(grads) == set(params)
    # An array whose true gradient is 0 has no relative error to speak of: in lecture_and,
    # ∂C/∂W = ¼[σ(−5) + (σ(5) − 1)] (1, 1) = 0 exactly since 1 − σ(5) = σ(−5), and NumPy
    # leaves ~1e-18 of rounding. Such an array (finite differences give 0 up to their
    # ~1e-30 truncation) is measured against the largest entry of the whole gradient.
    overall = max(abs(v) for fd in expected.values() for v in flat(fd))
    for key, fd in expected.items():
        assert np.shape(grads[key]) == np.shape(params[key]), key
        scale = max(abs(v) for v in flat(fd))
        assert normwise_error(grads[key], fd, scale if scale > mpf("1e-25") else overall) <= 1e-10, key


@pytest.mark.parametrize("name", EXAMPLES)
def test_derivation_proof_verifies(name):
    report = prove(derive.derive(derive.load_spec(spec_path(name))))
    assert report.ok, str(report)
    assert "verified" in report.summary()


# ---------------------------------------------------------------- 3: lecture 002, scalar chain


def test_scalar_chain_matches_pytorch_printout():
    module = load_generated("lecture_scalar_chain")
    params, X, Y, eta = example("lecture_scalar_chain")
    assert eta == 0.1
    # PyTorch ran in float32, so its printout carries ~1e-8 of rounding.
    assert module.forward(params, X)[0, 0] == pytest.approx(0.5470529198646545, abs=1e-7)
    assert module.cost(params, X, Y) == pytest.approx(0.10258052498102188, abs=1e-7)
    grads = module.gradients(params, X, Y)
    assert grads["W2"][0, 0] == pytest.approx(-0.04237288236618042, abs=1e-7)   # dJ/dθ(2)
    assert grads["W1"][0, 0] == pytest.approx(-0.01318769808858633, abs=1e-7)   # dJ/dθ(1)
    new = module.sgd_step(params, X, Y, eta)
    assert new["W2"][0, 0] == pytest.approx(0.5042372941970825, abs=1e-7)
    assert new["W1"][0, 0] == pytest.approx(-0.4986812174320221, abs=1e-7)


def test_scalar_chain_hand_values_are_rounded():
    # The lecture's hand values (loss 0.1026045, gradients -0.0423741194325 and
    # -0.013188944673365625) come from rounding ŷ to 0.5470 and a(1) to 0.3775 before
    # computing, so they are off in the 4th–5th significant digit; PyTorch's are right.
    a1 = sigma(mpf(-0.5))
    y_hat = sigma(mpf(0.5) * a1)
    loss = (1 - y_hat) ** 2 / 2
    assert abs(loss - mpf("0.1026045")) > mpf("1e-5")
    assert abs((1 - mpf("0.5470")) ** 2 / 2 - mpf("0.1026045")) < mpf("1e-40")
    rounded = (mpf("0.5470") - 1) * mpf("0.5470") * (1 - mpf("0.5470"))
    assert abs(rounded * mpf("0.3775") - mpf("-0.0423741194325")) < mpf("1e-15")
    assert abs(rounded * mpf("0.5") * mpf("0.3775") * (1 - mpf("0.3775")) - mpf("-0.013188944673365625")) < mpf("1e-15")

    # After the step it prints ŷ_t = 0.5474 and J(θ_t) = ½(1 − 0.5474)² = 0.10242338;
    # the true ŷ_t is 0.547488 (rounds to 0.5475) and J(θ_t) = 0.1023835.
    module = load_generated("lecture_scalar_chain")
    params, X, Y, eta = example("lecture_scalar_chain")
    new = module.sgd_step(params, X, Y, eta)
    new_cost = module.cost(new, X, Y)
    assert not agrees_as_printed("0.5474", module.forward(new, X)[0, 0])
    assert abs(new_cost - 0.10242338) > 3e-5
    assert new_cost < module.cost(params, X, Y)


# ---------------------------------------------------------------- 4: lecture 000, 1-2-1 network

W2_121, B2_121 = [mpf(1), mpf(1)], [mpf(-1), mpf(2)]
W3_121, B3_121 = [mpf(2), mpf(3)], mpf(1)


def hand_121(x):
    """Feed-forward of lecture 000's network by hand: (z2, a2, a3)."""
    z2 = [w * x + b for w, b in zip(W2_121, B2_121)]
    a2 = [sigma(z) for z in z2]
    a3 = sigma(W3_121[0] * a2[0] + W3_121[1] * a2[1] + B3_121)
    return z2, a2, a3


def test_sigmoid_121_forward_and_cost():
    module = load_generated("lecture_sigmoid_121")
    params, X, Y, _ = example("lecture_sigmoid_121")
    _, a2, a3 = hand_121(mpf(1))
    assert a2[0] == mpf("0.5")
    # The lecture printed σ(3) ≈ −0.1398: it wrote 1/(1 + e^{3}) (wrong sign of the
    # exponent) and then slipped in the arithmetic too, since 1/(1 + e^3) = 0.0474.
    # A sigmoid is never negative; σ(3) = 0.9526.
    assert agrees_as_printed("0.9526", a2[1])
    assert agrees_as_printed("0.0474", 1 / (1 + mpmath.exp(3)))
    assert abs(mpf(module.forward(params, [[1.0]])[0, 0]) - a3) <= mpf("1e-12")

    # From −0.1398 the lecture got a[3] ≈ −0.3033 and C1 ≈ 0.8493; both are wrong.
    # The correct a[3] = σ(4.857722) = 0.992292, so C1 = 2.971e-5.
    c1 = (a3 - 1) ** 2 / 2
    assert abs(c1 - mpf("0.8493")) > mpf("1e-3")
    assert abs(mpf(module.cost(params, [[1.0]], [[1.0]])) - c1) <= mpf("1e-12") * c1

    # The lecture leaves C2 as an exercise, claiming C2 ≈ 0.0969 and R_2 ≈ 0.4731. Neither
    # holds: a[3](x=2) = σ(5.408159) = 0.995540, so C2 = 0.495550 and R_2 = (C1 + C2)/2 = 0.247790.
    _, _, a3_x2 = hand_121(mpf(2))
    c2 = a3_x2 ** 2 / 2
    r2 = (c1 + c2) / 2
    assert abs(c2 - mpf("0.0969")) > mpf("1e-3")
    assert abs(r2 - mpf("0.4731")) > mpf("1e-3")
    assert agrees_as_printed("0.495550", c2) and agrees_as_printed("0.247790", r2)
    assert abs(mpf(module.cost(params, [[2.0]], [[0.0]])) - c2) <= mpf("1e-12") * c2
    assert abs(mpf(module.cost(params, X, Y)) - r2) <= mpf("1e-12") * r2


def test_sigmoid_121_backprop_by_hand():
    # The lecture's δ[3] ≈ 0.5152 and δ[2] ≈ [0.2576; −0.2463] follow from its wrong
    # a[2], a[3]; the correct ones are δ[3] = −5.896e-5, δ[2] = [−2.948e-5; −7.991e-6].
    module = load_generated("lecture_sigmoid_121")
    params, _, _, _ = example("lecture_sigmoid_121")
    x, y = mpf(1), mpf(1)
    _, a2, a3 = hand_121(x)
    delta3 = (a3 - y) * a3 * (1 - a3)
    delta2 = [a * (1 - a) * w * delta3 for a, w in zip(a2, W3_121)]   # σ'(z2) ⊙ W3ᵀ δ[3]
    assert abs(delta3 - mpf("0.5152")) > mpf("0.1")
    assert abs(delta2[0] - mpf("0.2576")) > mpf("0.1") and abs(delta2[1] + mpf("0.2463")) > mpf("0.1")

    grads = module.gradients(params, [[1.0]], [[1.0]])
    expected = {
        "b3": [[delta3]],
        "W3": [[delta3 * a2[0], delta3 * a2[1]]],
        "b2": [[d] for d in delta2],
        "W2": [[d * x] for d in delta2],
    }
    assert set(grads) == set(expected)
    for key, value in expected.items():
        assert normwise_error(grads[key], value) <= 1e-12, key


# ---------------------------------------------------------------- 5: lecture 002, vectorized 2-3-1

# The lecture's printed tables, as strings so their number of digits is kept.
PRINTED_231 = {
    ("grad", "W2"): [["-0.0387", "-0.0370", "-0.0304"]],
    ("grad", "W1"): [["-0.00356", "-0.00524"], ["0.00051", "0.00075"], ["-0.00102", "-0.00149"]],
    ("new", "W2"): [["0.7039", "-0.0963", "0.2030"]],
    ("new", "W1"): [["0.5004", "0.2005"], ["0.5999", "-0.10007"], ["-0.3999", "-0.2999"]],
}


def grad_and_step_231(Y, reduction):
    """mpmath gradient (finite differences) and the updated weights, η = 0.1."""
    layers, loss, _ = reference_net("lecture_vectorized_231")
    params, X, _, eta = example("lecture_vectorized_231")
    X = np.asarray(X).tolist()
    grads = ref.fd_gradient(lambda p: ref.cost(layers, p, X, Y, loss, reduction), as_lists(params))
    new = {k: [[mpf(w) - mpf(eta) * g for w, g in zip(wr, gr)] for wr, gr in zip(params[k].tolist(), grads[k])]
           for k in grads}
    return {("grad", k): v for k, v in grads.items()} | {("new", k): v for k, v in new.items()}


def printed_entries():
    for key, table in PRINTED_231.items():
        for i, row in enumerate(table):
            for j, text in enumerate(row):
                yield key, i, j, text


def test_vectorized_231_generated_matches_mpmath():
    module = load_generated("lecture_vectorized_231")
    params, X, Y, eta = example("lecture_vectorized_231")
    true = grad_and_step_231(Y.tolist(), "mean")   # J = 1/(2N) Σ (y − ŷ)², as the lecture defines
    grads = module.gradients(params, X, Y)
    new = module.sgd_step(params, X, Y, eta)
    for key in ("W1", "W2"):
        assert normwise_error(grads[key], true[("grad", key)]) <= 1e-12, key
        assert normwise_error(new[key], true[("new", key)]) <= 1e-12, key


def test_vectorized_231_lecture_tables():
    _, _, Y, _ = example("lecture_vectorized_231")
    true = grad_and_step_231(Y.tolist(), "mean")
    agreeing = {(key, i, j) for key, i, j, text in printed_entries() if agrees_as_printed(text, true[key][i][j])}
    # Of the 18 printed numbers only θ(1)[3, 2] = −0.2999 agrees with the correct update
    # (−0.299931), and only because the step is smaller than the printed digits. The correct
    # values are ∂J/∂θ(2) = [−0.012601, −0.011667, −0.0098900],
    # ∂J/∂θ(1) = [[−7.524e-4, −2.414e-3], [1.088e-4, 3.488e-4], [−2.138e-4, −6.865e-4]],
    # θ(2) = [0.701260, −0.098833, 0.200989],
    # θ(1) = [[0.500075, 0.200241], [0.599989, −0.100035], [−0.399979, −0.299931]].
    assert agreeing == {(("new", "W1"), 2, 1)}

    # Summing over the examples instead of averaging (the lecture's J has 1/(2N)) is not
    # enough to explain them: that gives ∂J/∂θ(2)[1] = −0.0252, not −0.0387.
    summed = grad_and_step_231(Y.tolist(), "sum")
    assert not agrees_as_printed("-0.0387", summed[("grad", "W2")][0][0])

    # Most likely cause: its ∂J/∂ŷ column is printed as [−0.095, −0.196], i.e. ŷ − y
    # without the 1/N, and with −0.095 for the first example, whose ŷ − y is +0.0055
    # (ŷ = 0.6055, y = 0.6); −0.095 is ŷ − 0.7, as if y₁ were 0.7. Sum reduction with
    # y₁ = 0.7 reproduces every printed number to half a unit of its last digit, except two
    # that were cut off instead of rounded: 0.00075 (0.000756) and −0.10007 (−0.100076).
    layers, _, _ = reference_net("lecture_vectorized_231")
    params, X, _, _ = example("lecture_vectorized_231")
    y_hat = [ref.forward(layers, as_lists(params), x)[0] for x in ref.columns(X.tolist())]
    assert y_hat[0] - mpf(0.6) > 0
    assert agrees_as_printed("-0.095", y_hat[0] - mpf(0.7))
    assert agrees_as_printed("-0.196", y_hat[1] - mpf(0.8))

    lecture_like = grad_and_step_231([[0.7, 0.8]], "sum")
    truncated = {(("grad", "W1"), 1, 1), (("new", "W1"), 1, 1)}
    for key, i, j, text in printed_entries():
        value = lecture_like[key][i][j]
        if (key, i, j) in truncated:
            assert not agrees_as_printed(text, value)
            assert Decimal(mpmath.nstr(value, 12)).quantize(Decimal(text), rounding="ROUND_DOWN") == Decimal(text)
        else:
            assert agrees_as_printed(text, value), (key, i, j, text)


# ---------------------------------------------------------------- 6: lecture 004, XOR and AND

TRUTH_TABLE = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=float)


@pytest.mark.parametrize("name, truth", [("lecture_xor", [0, 1, 1, 0]), ("lecture_and", [0, 0, 0, 1])])
def test_logic_gates(name, truth):
    module = load_generated(name)
    params, X, Y, _ = example(name)
    assert np.array_equal(X, TRUTH_TABLE) and np.array_equal(Y[0], truth)
    out = module.forward(params, TRUTH_TABLE)[0]
    assert np.array_equal(np.round(out), truth)
    assert np.max(np.abs(out - truth)) < 0.01


def test_lecture_gate_labels_are_wrong():
    # Lecture 004 labels the AND unit σ(10(x1 + x2 − 1.5)) "x1 AND x̄2"; it computes
    # x1 AND x2: at (1, 0), where x1 AND x̄2 would be 1, it gives ≈ 0.
    and_module = load_generated("lecture_and")
    params, _, _, _ = example("lecture_and")
    assert and_module.forward(params, [1.0, 0.0])[0] < 0.01
    assert and_module.forward(params, [1.0, 1.0])[0] > 0.99

    # It labels the XOR output σ(10(a1 + a2 − 0.5)) "a1 OR ā2"; it computes a1 OR a2.
    # At x = (0, 1) the hidden units are (a1, a2) ≈ (0, 1), where a1 OR ā2 would be 0,
    # yet the output is ≈ 1. (Its hidden labels x1 AND x̄2, x̄1 AND x2 are right.)
    layers, _, _ = reference_net("lecture_xor")
    params, _, _, _ = example("lecture_xor")
    hidden = ref.forward(layers[:1], as_lists(params), [0, 1])
    assert hidden[0] < 0.01 and hidden[1] > 0.99
    xor_module = load_generated("lecture_xor")
    assert xor_module.forward(params, [0.0, 1.0])[0] > 0.99


# ---------------------------------------------------------------- 7: training


def test_train_repeats_sgd_step():
    module = load_generated("lecture_bce_classifier")
    params, X, Y, eta = example("lecture_bce_classifier")
    trained, costs = module.train(params, X, Y, eta, epochs=50)
    assert len(costs) == 50
    assert costs[-1] < costs[0]

    current = params
    for epoch in range(50):
        current = module.sgd_step(current, X, Y, eta)
        assert costs[epoch] == module.cost(current, X, Y)
    assert set(trained) == set(current)
    for key in current:
        assert np.array_equal(trained[key], current[key]), key


def test_sgd_step_is_plain_gradient_descent():
    module = load_generated("lecture_bce_classifier")
    params, X, Y, eta = example("lecture_bce_classifier")
    before = {key: value.copy() for key, value in params.items()}
    grads = module.gradients(params, X, Y)
    new = module.sgd_step(params, X, Y, eta)
    for key in params:
        assert np.array_equal(new[key], params[key] - eta * grads[key]), key
        assert np.array_equal(params[key], before[key]), f"sgd_step modified params[{key!r}]"


# ---------------------------------------------------------------- 8: API edge cases


def test_single_example_is_one_dimensional():
    module = load_generated("lecture_xor")
    params, _, _, _ = example("lecture_xor")
    out = module.forward(params, np.array([1.0, 0.0]))
    assert out.shape == (1,)
    assert out[0] == module.forward(params, np.array([[1.0], [0.0]]))[0, 0]


def test_wrong_x_shape_names_x():
    module = load_generated("lecture_xor")
    params, _, _, _ = example("lecture_xor")
    with pytest.raises(ValueError, match=r"\bX\b"):
        module.forward(params, np.zeros((3, 4)))


def test_missing_param_names_the_key():
    module = load_generated("lecture_xor")
    params, X, Y, _ = example("lecture_xor")
    del params["b2"]
    with pytest.raises(KeyError, match="b2"):
        module.gradients(params, X, Y)
