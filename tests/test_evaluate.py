"""deltagen.derive.evaluation against numbers that do not come from deltagen.

Expected values come from tests/reference.py (an mpmath forward pass and central
finite differences at 50 digits), from hand derivations written out here, and from
the lecture's PyTorch printout for the scalar chain.
"""
from __future__ import annotations

from pathlib import Path

import mpmath
import numpy as np
import pytest
from mpmath import mpf

from deltagen import derive
from deltagen.derive.evaluation.evaluate import Trace, evaluate

import reference as ref

GENERATED = Path(__file__).resolve().parent.parent / "generated"
LECTURES = ["lecture_sigmoid_121", "lecture_scalar_chain", "lecture_vectorized_231",
            "lecture_xor", "lecture_and", "lecture_bce_classifier"]


@pytest.fixture(autouse=True)
def fifty_digits():
    with mpmath.workdps(ref.DIGITS):
        yield


def load(name: str) -> derive.Derivation:
    return derive.derive(derive.load_spec(GENERATED / name / "spec.toml"))


def ref_layers(network) -> list:
    """tests/reference.py's layer list for a network built from a spec."""
    return [(f"W{network.notation.layer_number(i)}",
             f"b{network.notation.layer_number(i)}" if layer.bias else None, layer.activation.name)
            for i, layer in enumerate(network.layers, start=1)]


def written(array) -> list:
    """A spec's numbers as the decimals it writes (repr of each float): what the exact evaluation computes with."""
    return np.vectorize(repr, otypes=[object])(np.asarray(array, dtype=float)).tolist()


def lists(params) -> dict:
    return {k: written(v) for k, v in params.items()}


def max_rel(actual, expected) -> mpf:
    """max |actual − expected| / max |expected| over all entries (norm-wise, see test_lectures)."""
    actual = [mpf(float(v)) if not isinstance(v, mpmath.mpf) else v for v in np.asarray(actual, dtype=object).ravel()]
    expected = [mpf(v) for v in np.asarray(expected, dtype=object).ravel()]
    scale = max(max(abs(e) for e in expected), mpf("1e-300"))
    return max(abs(a - e) for a, e in zip(actual, expected)) / scale


# ---------------------------------------------------------------- every lecture example

@pytest.mark.parametrize("name", LECTURES)
@pytest.mark.parametrize("digits", [0, 40])
def test_forward_and_cost_match_reference(name, digits):
    derivation = load(name)
    network = derivation.network
    params = network.example.params(network.notation)
    trace = evaluate(derivation, digits=digits)
    layers = ref_layers(network)
    X, Y = written(network.example.X), written(network.example.Y)
    tol = mpf("1e-13") if digits == 0 else mpf("1e-35")
    for i, x in enumerate(ref.columns(X)):
        # a[l] of every layer: the reference's forward pass through the first l layers
        for layer in derivation.layer_numbers:
            expected = ref.forward(layers[:derivation.position(layer)], lists(params), x)
            assert max_rel(trace.a[layer][:, i], expected) <= tol, (layer, i)
    expected_cost = ref.cost(layers, lists(params), X, Y, network.loss.name, network.reduction)
    assert abs(mpf(trace.cost) - expected_cost) <= tol * expected_cost
    assert np.array_equal(np.asarray(trace.a[derivation.input_number], dtype=float), network.example.X)


@pytest.mark.parametrize("name", LECTURES)
@pytest.mark.parametrize("digits", [0, 40])
def test_gradients_and_step_match_finite_differences(name, digits):
    derivation = load(name)
    network = derivation.network
    params = network.example.params(network.notation)
    X, Y = written(network.example.X), written(network.example.Y)
    layers = ref_layers(network)
    fd = ref.fd_gradient(lambda p: ref.cost(layers, p, X, Y, network.loss.name, network.reduction), lists(params))
    overall = max(abs(v) for g in fd.values() for row in g for v in row)
    trace = evaluate(derivation, digits=digits)
    tol = mpf("1e-10") if digits == 0 else mpf("1e-25")   # the finite differences carry ~1e-30
    for layer in derivation.layer_numbers:
        got = {f"W{layer}": trace.dW[layer]}
        if trace.db[layer] is not None:
            got[f"b{layer}"] = trace.db[layer]
        else:
            assert f"b{layer}" not in params
        for key, value in got.items():
            assert value.shape == np.shape(params[key]), key
            # an all-zero true gradient (lecture_and) is measured against the whole gradient's scale
            diff = max(abs(mpf(v) - e) for v, e in zip(np.asarray(value, dtype=object).ravel(),
                                                       [e for row in fd[key] for e in row]))
            own = max(abs(e) for row in fd[key] for e in row)
            scale = own if own > mpf("1e-25") else overall
            assert diff / scale <= tol, key
            eta = network.example.learning_rate
            if eta is None:
                assert trace.W_next[layer] is None and trace.b_next[layer] is None
                continue
            after = trace.W_next[layer] if key.startswith("W") else trace.b_next[layer]
            expected = [mpf(w) - mpf(eta) * g for w, g in zip(np.asarray(params[key]).ravel(),
                                                              [e for row in fd[key] for e in row])]
            assert max(abs(mpf(v) - e) for v, e in zip(np.asarray(after, dtype=object).ravel(), expected)) \
                <= mpf("1e-12"), key


@pytest.mark.parametrize("name", LECTURES)
def test_delta_is_the_per_example_bias_gradient(name):
    """δ_i^[l] = ∂ℓ_i/∂z^[l]: for a layer with bias it is ∂ℓ_i/∂b (finite differences of one example)."""
    derivation = load(name)
    network = derivation.network
    params = lists(network.example.params(network.notation))
    X, Y = written(network.example.X), written(network.example.Y)
    layers = ref_layers(network)
    trace = evaluate(derivation, digits=40)
    for i, (x, y) in enumerate(zip(ref.columns(X), ref.columns(Y))):
        one = lambda p: ref.loss(network.loss.name, ref.forward(layers, p, x), y)
        fd = ref.fd_gradient(one, params)
        for layer in derivation.layer_numbers:
            if derivation.layer(layer).bias:
                expected = [row[0] for row in fd[f"b{layer}"]]
            else:   # no bias: ∂ℓ/∂W_jk = δ_j a_k, so δ_j = ∂ℓ/∂W_j1 / a_1^[l−1]
                first_input = trace.a[layer - 1][0, i]
                expected = [row[0] / first_input for row in fd[f"W{layer}"]]
            scale = max(max(abs(e) for e in expected), mpf("1e-40"))
            assert max(abs(d - e) for d, e in zip(trace.delta[layer][:, i], expected)) / scale <= mpf("1e-20")
        expected_loss = one(params)
        assert abs(trace.loss[i] - expected_loss) <= mpf("1e-35") * max(expected_loss, mpf("1e-30"))


# ---------------------------------------------------------------- hand values and the lecture's printout

def test_scalar_chain_matches_pytorch_printout():
    trace = evaluate(load("lecture_scalar_chain"))
    assert isinstance(trace, Trace)
    assert trace.a[2][0, 0] == pytest.approx(0.5470529198646545, abs=1e-7)
    assert trace.cost == pytest.approx(0.10258052498102188, abs=1e-7)
    assert trace.dW[2][0, 0] == pytest.approx(-0.04237288236618042, abs=1e-7)
    assert trace.dW[1][0, 0] == pytest.approx(-0.01318769808858633, abs=1e-7)
    assert trace.W_next[2][0, 0] == pytest.approx(0.5042372941970825, abs=1e-7)
    assert trace.W_next[1][0, 0] == pytest.approx(-0.4986812174320221, abs=1e-7)
    assert trace.db[1] is None and trace.b_next[1] is None


def test_sigmoid_121_by_hand_at_high_precision():
    """input_layer = 1: the trace is keyed by the lecture's layer numbers, a[1] = x, layers 2 and 3."""
    trace = evaluate(load("lecture_sigmoid_121"), digits=50)
    sigma = lambda v: 1 / (1 + mpmath.exp(-v))
    z2 = [mpf(0), mpf(3)]                        # W[2] x + b[2] at x = 1
    a2 = [sigma(v) for v in z2]
    z3 = 2 * a2[0] + 3 * a2[1] + 1
    a3 = sigma(z3)
    delta3 = (a3 - 1) * a3 * (1 - a3)
    assert sorted(trace.a) == [1, 2, 3] and trace.a[1] is trace.X
    for name in ("W", "b", "z", "delta", "dW", "db", "W_next", "b_next", "dW_example", "db_example"):
        assert sorted(getattr(trace, name)) == [2, 3], name
    assert trace.z[2][:, 0].tolist() == z2
    assert abs(trace.z[3][0, 0] - z3) < mpf("1e-45")
    assert abs(trace.a[3][0, 0] - a3) < mpf("1e-48")
    assert abs(trace.delta[3][0, 0] - delta3) < mpf("1e-48")
    for j in range(2):
        assert abs(trace.delta[2][j, 0] - a2[j] * (1 - a2[j]) * [2, 3][j] * delta3) < mpf("1e-48")
    assert all(isinstance(v, mpmath.mpf) for v in trace.a[3].ravel())
    assert trace.loss.shape == (2,) and trace.delta[2].shape == (2, 2) and trace.dW[3].shape == (1, 2)


# ---------------------------------------------------------------- other activations, losses, reductions

def spec(**overrides) -> dict:
    base = {
        "name": "net", "input": 2,
        "layers": [{"units": 2, "activation": "tanh"}, {"units": 1, "activation": "identity"}],
        "loss": "half_sse", "reduction": "sum", "l2": 0.3,
        "example": {"W": [[[0.4, -0.7], [0.2, 0.5]], [[1.5, -0.8]]], "b": [[[0.1], [-0.2]], [[0.3]]],
                    "X": [[0.5, -1.0, 2.0], [1.0, 0.25, -0.5]], "Y": [[1.0, -0.5, 0.2]], "learning_rate": 0.05},
    }
    base.update(overrides)
    return base


def test_sum_reduction_with_l2_matches_finite_differences():
    network = derive.spec_from_dict(spec())
    params = lists(network.example.params(network.notation))
    X, Y = written(network.example.X), written(network.example.Y)
    layers = ref_layers(network)

    def cost(p):  # Σ_i ℓ_i + (λ/2) Σ ‖W‖², written out independently
        penalty = sum(mpf(w) ** 2 for key in ("W1", "W2") for row in p[key] for w in row)
        return ref.cost(layers, p, X, Y, "half_sse", "sum") + mpf("0.3") / 2 * penalty

    trace = evaluate(derive.derive(network), digits=40)
    assert abs(trace.cost - cost(params)) < mpf("1e-35")
    fd = ref.fd_gradient(cost, params)
    for key, value in (("W1", trace.dW[1]), ("b1", trace.db[1]), ("W2", trace.dW[2]), ("b2", trace.db[2])):
        assert max_rel(value, fd[key]) <= mpf("1e-25"), key
    assert max_rel(trace.W_next[2], [[mpf(w) - mpf("0.05") * g for w, g in zip(params["W2"][0], fd["W2"][0])]]) \
        <= mpf("1e-25")


def test_softmax_cce_matches_hand_derivation():
    data = spec(layers=[{"units": 2, "activation": "relu"}, {"units": 3, "activation": "softmax"}],
                loss="cce", reduction="mean", l2=0.0)
    data["example"] = {"W": [[[0.4, -0.7], [0.2, 0.5]], [[1.5, -0.8], [0.3, 0.9], [-1.0, 0.1]]],
                       "b": [[[0.1], [-0.2]], [[0.3], [0.0], [-0.1]]],
                       "X": [[0.5, -1.0], [1.0, 0.25]], "Y": [[1, 0], [0, 0], [0, 1]]}
    network = derive.spec_from_dict(data)
    params = lists(network.example.params(network.notation))

    def per_example(p, x, y):
        h = [max(mpf(0), mpf(row[0]) * mpf(x[0]) + mpf(row[1]) * mpf(x[1]) + mpf(bj[0]))
             for row, bj in zip(p["W1"], p["b1"])]
        z = [sum(mpf(w) * hk for w, hk in zip(row, h)) + mpf(bj[0]) for row, bj in zip(p["W2"], p["b2"])]
        total = sum(mpmath.exp(v) for v in z)
        return -sum(mpf(yk) * mpmath.log(mpmath.exp(v) / total) for v, yk in zip(z, y))

    X, Y = written(network.example.X), written(network.example.Y)
    cost = lambda p: sum(per_example(p, x, y) for x, y in zip(ref.columns(X), ref.columns(Y))) / 2
    fd = ref.fd_gradient(cost, params)
    for digits, tol in ((0, mpf("1e-12")), (30, mpf("1e-25"))):
        trace = evaluate(derive.derive(network), digits=digits)
        assert abs(mpf(trace.cost) - cost(params)) <= tol
        assert max_rel(trace.dW[2], fd["W2"]) <= tol and max_rel(trace.db[1], fd["b1"]) <= tol
        assert trace.W_next[1] is None        # no learning rate in this example


def test_softmax_float_path_survives_large_scores():
    data = spec(layers=[{"units": 2, "activation": "softmax"}], loss="cce", reduction="mean", l2=0.0, input=1)
    data["example"] = {"W": [[[1000.0], [0.0]]], "b": [[[0.0], [0.0]]], "X": [[1.0]], "Y": [[1], [0]]}
    trace = evaluate(derive.derive(derive.spec_from_dict(data)))
    assert np.allclose(trace.a[1][:, 0], [1.0, 0.0]) and np.isfinite(trace.delta[1]).all()


def test_explicit_arguments_override_the_example():
    derivation = load("lecture_xor")
    params = {"W1": [[1.0, 2.0], [3.0, 4.0]], "b1": [0.5, -0.5], "W2": [[1.0, -1.0]], "b2": [[0.0]]}
    trace = evaluate(derivation, params, X=[0.2, 0.7], Y=[1.0], learning_rate=0.5)
    sigma = lambda v: 1 / (1 + np.exp(-v))
    h = sigma(np.array([1 * 0.2 + 2 * 0.7 + 0.5, 3 * 0.2 + 4 * 0.7 - 0.5]))
    out = sigma(h[0] - h[1])
    assert trace.X.shape == (2, 1) and trace.Y.shape == (1, 1)
    assert trace.a[2][0, 0] == pytest.approx(out, rel=1e-15)
    assert trace.cost == pytest.approx((out - 1) ** 2 / 2, rel=1e-14)
    assert trace.b_next[2][0, 0] == pytest.approx(-0.5 * (out - 1) * out * (1 - out), rel=1e-14)


# ---------------------------------------------------------------- bad input

def test_missing_example_is_a_spec_error_on_example():
    data = spec()
    del data["example"]
    derivation = derive.derive(derive.spec_from_dict(data))
    with pytest.raises(derive.SpecError) as info:
        evaluate(derivation)
    assert info.value.field == "example"
    assert "\n" not in info.value.line()


def test_wrong_shapes_name_the_field():
    derivation = load("lecture_xor")
    params = derivation.network.example.params(derivation.network.notation)
    with pytest.raises(derive.SpecError) as info:
        evaluate(derivation, params | {"W2": [[1.0, 2.0, 3.0]]})
    assert info.value.field == "params.W2"
    with pytest.raises(derive.SpecError) as info:
        evaluate(derivation, params, X=[[0.0, 1.0, 2.0]], Y=[[0.0, 1.0, 0.0]])
    assert info.value.field == "X"
    with pytest.raises(derive.SpecError) as info:
        evaluate(derivation, params, X=[[0.0], [1.0]], Y=[[0.0, 1.0]])
    assert info.value.field == "Y"
    with pytest.raises(derive.SpecError) as info:
        evaluate(derivation, {k: v for k, v in params.items() if k != "b1"})
    assert info.value.field == "params.b1"
