"""``evaluate`` on nets with conv and pool layers (issue 15), and their ``[example]`` in the spec.

Expected numbers come from two independent sources: exact fractions derived by hand for the classic
exercise (below, with the arithmetic in the comments), and ``tests/mp_conv_network.py`` (mpmath loops over
the textbook definitions, central differences) for random nets of every kind: 1-D and 2-D, stride 1 and 2,
padding 0 and 1, max and average pooling, several channels, L2, sum and mean, ``input_layer = 1``.
"""
from __future__ import annotations

import copy
from fractions import Fraction as F

import mpmath
import numpy as np
import pytest

from mp_conv_network import MpConvNet, param_shapes
from deltagen.derive.derivation.backprop import Derivation
from deltagen.derive.errors import SpecError
from deltagen.derive.evaluation import evaluate
from deltagen.derive.model.spec import spec_from_dict

#: the classic exercise (generated/lecture_conv_exercise/spec.toml): 5×5 image, 2×2 kernel, relu,
#: 2×2 max pooling, one sigmoid unit with bce
X_IMAGE = [[0, 1, 2, 0, 2],
           [0, 0, 1, 2, 1],
           [0, 0, 0, 1, 1],
           [1, 2, 1, 2, 2],
           [1, 0, 0, 1, 1]]
CLASSIC = {
    "name": "lecture_conv_exercise", "input": [1, 5, 5], "loss": "bce",
    "layers": [{"kind": "conv", "channels": 1, "kernel": 2, "activation": "relu"},
               {"kind": "pool", "mode": "max", "size": 2},
               {"units": 1, "activation": "sigmoid"}],
    "example": {"W": [[[[[1, -1], [0, 1]]]], [[1, 0.5, -1, 0.5]]], "b": [[0], [-1]],
                "X": [X_IMAGE], "Y": [[1]], "learning_rate": 0.1},
}

# By hand. z^[1]_{i,j} = x_{i,j} − x_{i,j+1} + x_{i+1,j+1} (kernel [[1, −1], [0, 1]], b = 0):
Z1 = [[-1, 0, 4, -1],
      [0, -1, 0, 2],
      [2, 1, 1, 2],
      [-1, 1, 0, 1]]
A1 = [[max(v, 0) for v in row] for row in Z1]
# windows (rows 1–2 | 3–4) × (columns 1–2 | 3–4): maxima 0 (a tie of zeros: the first, a_{1,1}), 4 at
# a_{1,3}, 2 at a_{3,1}, 2 at a_{3,4}
A2 = [0, 4, 2, 2]
Z3 = 1 * 0 + F(1, 2) * 4 - 1 * 2 + F(1, 2) * 2 - 1             # = 0, so a^[3] = σ(0) = 1/2
DELTA3 = F(1, 2) - 1                                             # a − y = −1/2 (sigmoid + bce)
DELTA2 = [w * DELTA3 for w in (1, F(1, 2), -1, F(1, 2))]         # −1/2, −1/4, 1/2, −1/4
# each window's δ to its first maximum, times relu′: a_{1,1} has z = −1 (relu′ = 0), the others z > 0
DELTA1 = [[0, 0, DELTA2[1], 0],
          [0, 0, 0, 0],
          [DELTA2[2], 0, 0, DELTA2[3]],
          [0, 0, 0, 0]]
# ∂ℓ/∂W_{p,q} = Σ_{i,j} δ_{i,j} x_{i+p, j+q}: three non-zero δ
DW1 = [[sum(DELTA1[i][j] * X_IMAGE[i + p][j + q] for i in range(4) for j in range(4)) for q in range(2)]
       for p in range(2)]
assert DW1 == [[F(-3, 4), F(-1, 4)], [F(-1, 4), 0]]      # −¼·2 − ¼·1, −¼·1, −¼·1 + ½·1 − ¼·2, −¼·2 + ½·2 − ¼·2
DB1 = sum(sum(row) for row in DELTA1)                     # 0
DW3 = [DELTA3 * a for a in A2]                            # 0, −2, −1, −1
ETA = F(1, 10)


def derive(spec: dict) -> Derivation:
    return Derivation(spec_from_dict(spec))


@pytest.mark.parametrize("digits", [0, 30])
def test_the_classic_exercise_gives_the_hand_derived_numbers(digits):
    t = evaluate(derive(CLASSIC), digits=digits)
    def near(got, want: F) -> bool:
        if not digits:
            return abs(float(got) - float(want)) < 1e-15
        with mpmath.workdps(40):      # η = 0.1 is the decimal 0.1, to 30 digits
            return abs(got - mpmath.mpf(int(want.numerator)) / int(want.denominator)) < mpmath.mpf(10) ** -25

    def same(got, want) -> bool:
        return all(near(g, F(w if isinstance(w, F) else int(w))) for g, w in zip(np.asarray(got, dtype=object).reshape(-1), np.ravel(want)))

    assert same(t.shaped("z", 1)[..., 0], [Z1]) and same(t.shaped("a", 1)[..., 0], [A1])
    assert same(t.a[2][:, 0], A2) and t.shaped("a", 2).shape == (1, 2, 2, 1)
    assert same(t.z[3], [Z3]) and same(t.a[3], [F(1, 2)])
    assert abs(float(t.cost) - float(mpmath.log(2))) < 1e-15          # −log(1/2)
    assert same(t.delta[3], [DELTA3]) and same(t.delta[2][:, 0], DELTA2) and same(t.delta[1][:, 0], DELTA1)
    assert t.dW[1].shape == (1, 1, 2, 2) and same(t.dW[1], DW1) and same(t.db[1], [DB1]) and t.db[1].shape == (1, 1)
    assert same(t.dW[3], [DW3]) and same(t.db[3], [DELTA3])
    assert t.W[2] is None and t.dW[2] is None and t.b[2] is None and t.W_next[2] is None    # pool: no parameters
    W1 = [[1, -1], [0, 1]]
    assert same(t.W_next[1], [[W1[p][q] - ETA * DW1[p][q] for q in range(2)] for p in range(2)])
    assert same(t.W_next[3], [w - ETA * g for w, g in zip((1, F(1, 2), -1, F(1, 2)), DW3)])
    assert same(t.b_next[3], [-1 - ETA * DELTA3]) and same(t.b_next[1], [0])


def test_the_three_forms_of_x_are_one_example():
    """X as INPUT_SHAPE, INPUT_SHAPE + (m,), or (n_in, m) flattened in C order: in the spec and in evaluate."""
    flat = [[v] for row in X_IMAGE for v in row]
    forms = {"shape": [X_IMAGE], "shape_m": [[[[v] for v in row] for row in X_IMAGE]], "flat": flat}
    traces = []
    for form in forms.values():
        spec = copy.deepcopy(CLASSIC)
        spec["example"]["X"] = form
        network = spec_from_dict(spec)
        assert network.example.X.shape == (25, 1) and network.example.X[:, 0].tolist() == np.ravel(X_IMAGE).tolist()
        traces.append(evaluate(Derivation(network)))
    d = derive(CLASSIC)
    for X in (np.array([X_IMAGE], float), np.array([X_IMAGE], float)[..., None], np.array(flat, float)):
        traces.append(evaluate(d, X=X))
    assert all(t.cost == traces[0].cost and np.array_equal(t.dW[1], traces[0].dW[1]) for t in traces)


def test_conv_params_are_checked_by_name_and_shape():
    d = derive(CLASSIC)
    good = {"W1": np.ones((1, 1, 2, 2)), "b1": np.zeros((1, 1)), "W3": np.ones((1, 4)), "b3": np.zeros((1, 1))}
    X, Y = np.ones((25, 1)), np.ones((1, 1))
    assert evaluate(d, good, X, Y).dW[1].shape == (1, 1, 2, 2)
    with pytest.raises(SpecError, match=r"params\.W2: expected one of W1, b1, W3, b3"):    # a pool has none
        evaluate(d, {**good, "W2": np.ones((4, 16))}, X, Y)
    with pytest.raises(SpecError, match=r"params\.W1: expected shape \(1, 1, 2, 2\)"):
        evaluate(d, {**good, "W1": np.ones((2, 2))}, X, Y)
    with pytest.raises(SpecError, match=r"X: expected shape \(25, m\)"):
        evaluate(d, good, np.ones((5, 5)), Y)


# ---------------------------------------------------------------- against the mpmath reference

NETS = {
    "2d_stride2_pad1_max_softmax": {
        "input": [2, 5, 5], "loss": "cce",
        "layers": [{"kind": "conv", "channels": 2, "kernel": 3, "stride": 2, "padding": 1, "activation": "tanh"},
                   {"kind": "pool", "mode": "max", "size": 2, "stride": 1},
                   {"units": 3, "activation": "softmax"}]},
    "1d_average_l2_sum": {
        "input": [2, 7], "loss": "bce", "l2": 0.1, "reduction": "sum",
        "layers": [{"kind": "conv", "channels": 3, "kernel": 2, "padding": 1, "activation": "sigmoid"},
                   {"kind": "pool", "mode": "average", "size": 2},
                   {"units": 2, "activation": "sigmoid"}]},
    "two_convs_input_layer_1": {
        "input": [1, 6, 6], "loss": "mse", "notation": {"input_layer": 1},
        "layers": [{"kind": "conv", "channels": 2, "kernel": [2, 3], "activation": "tanh"},
                   {"kind": "conv", "channels": 2, "kernel": 2, "stride": 2, "activation": "identity", "bias": False},
                   {"kind": "pool", "mode": "max", "size": [1, 2]},
                   {"units": 4, "activation": "tanh"},
                   {"units": 1, "activation": "identity"}]},
}


def _case(name: str, m: int = 3):
    spec = {"name": "net", **NETS[name]}
    rng = np.random.default_rng(sum(map(ord, name)))
    params = {key: rng.normal(size=shape) for key, shape in param_shapes(spec).items()}
    X = rng.normal(size=(int(np.prod(spec["input"])), m))
    n_out = spec["layers"][-1]["units"]
    Y = np.eye(n_out)[:, rng.integers(0, n_out, m)] if spec["loss"] == "cce" else rng.uniform(size=(n_out, m))
    return spec, params, X, Y


@pytest.mark.parametrize("digits", [0, 30])
@pytest.mark.parametrize("name", sorted(NETS))
def test_cost_and_every_gradient_match_the_mpmath_reference(name, digits):
    spec, params, X, Y = _case(name)
    t = evaluate(derive(spec), params, X, Y, digits=digits)
    reference = MpConvNet(spec)
    ref_params = params      # the reference numbers layers as notation.input_layer says, too
    assert abs(float(t.cost) - float(reference.cost(ref_params, X, Y))) < 1e-13
    expected = reference.gradients(ref_params, X, Y)
    for key, value in expected.items():
        layer = int(key[1:])
        got = (t.dW if key[0] == "W" else t.db)[layer]
        assert got.shape == value.shape
        assert np.allclose(np.asarray(got, dtype=float), value, rtol=1e-9, atol=1e-12), key
    assert np.allclose(np.asarray(t.a[max(t.a)], dtype=float), reference.forward(ref_params, X), atol=1e-14)


@pytest.mark.parametrize("name", sorted(NETS))
def test_every_delta_is_the_derivative_of_the_loss_through_the_rest_of_the_net(name):
    """δ^[l] = g′(z^[l]) ⊙ ∂ℓ/∂a^[l], with ∂ℓ/∂a^[l] the reference's ∂C/∂X of the net above layer l run on a^[l]."""
    spec, params, X, Y = _case(name, m=2)
    d = derive(spec)
    t = evaluate(d, params, X, Y)
    shift = spec.get("notation", {}).get("input_layer", 0)
    for position in range(1, len(spec["layers"])):
        layer = position + shift
        tail = {"input": list(t.shapes[layer]), "loss": spec["loss"], "reduction": "sum",
                "layers": spec["layers"][position:]}
        tail_params = {f"{key[0]}{int(key[1:]) - layer}": value       # the tail's layers are 1, 2, ...
                       for key, value in params.items() if int(key[1:]) > layer}
        upstream = MpConvNet(tail).input_gradient(tail_params, np.asarray(t.a[layer], float), Y)
        activation = spec["layers"][position - 1].get("activation", "identity")
        a = np.asarray(t.a[layer], float)
        derivative = {"tanh": 1 - a ** 2, "sigmoid": a * (1 - a), "identity": np.ones_like(a)}[activation]
        assert np.allclose(np.asarray(t.delta[layer], float), derivative * upstream, rtol=1e-8, atol=1e-12), layer


def test_torch_agrees_on_the_classic_exercise():
    torch = pytest.importorskip("torch")
    x = torch.tensor([[X_IMAGE]], dtype=torch.float64)
    W1 = torch.tensor([[[[1.0, -1.0], [0.0, 1.0]]]], dtype=torch.float64, requires_grad=True)
    b1 = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    W3 = torch.tensor([[1.0, 0.5, -1.0, 0.5]], dtype=torch.float64, requires_grad=True)
    b3 = torch.tensor([-1.0], dtype=torch.float64, requires_grad=True)
    hidden = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(x, W1, b1)), 2).reshape(1, -1)
    out = torch.sigmoid(hidden @ W3.T + b3)
    loss = torch.nn.functional.binary_cross_entropy(out, torch.ones(1, 1, dtype=torch.float64))
    loss.backward()
    t = evaluate(derive(CLASSIC))
    assert abs(t.cost - loss.item()) < 1e-15
    assert np.allclose(t.dW[1], W1.grad.numpy()) and np.allclose(t.db[1][:, 0], b1.grad.numpy())
    assert np.allclose(t.dW[3], W3.grad.numpy()) and np.allclose(t.db[3][:, 0], b3.grad.numpy())
