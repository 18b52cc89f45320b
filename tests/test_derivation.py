"""The derivation: simplified output δ, lecture forms of g', matrix forms, and a proof that can fail."""
from __future__ import annotations

import sympy as sp
import pytest

from conftest import ROOT
from deltagen import prove
from deltagen.derive import derive, load_spec, spec_from_dict
from deltagen.derive.model.activations import A, Z, make_activation


def net(output: str, loss: str, units: int = 1, hidden: str = "sigmoid", **extra):
    return spec_from_dict({"name": "t", "input": 2, "layers": [
        {"units": 3, "activation": hidden}, {"units": units, "activation": output}], "loss": loss, **extra})


@pytest.mark.parametrize("output, loss, units", [("identity", "half_sse", 2), ("sigmoid", "bce", 2), ("softmax", "cce", 3)])
def test_canonical_pairs_simplify_to_a_minus_y(output, loss, units):
    d = derive(net(output, loss, units))
    s = d.symbols(d.last)
    assert d.output_delta == [s.a[k] - d.y[k] for k in range(units)]


def test_non_canonical_pair_keeps_the_activation_derivative():
    d = derive(net("sigmoid", "half_sse"))
    a, y = d.symbols(2).a[0], d.y[0]
    assert sp.expand(d.output_delta[0] - (a - y) * a * (1 - a)) == 0
    assert d.output_delta[0] != a - y


@pytest.mark.parametrize("name, lecture", [("sigmoid", A * (1 - A)), ("tanh", 1 - A ** 2), ("identity", sp.Integer(1)),
                                           ("2*z", sp.Integer(2))])
def test_activation_derivatives_take_the_lecture_form(name, lecture):
    activation = make_activation(name)
    assert activation.lecture_derivative == lecture
    # and that form is the derivative: checked here by substitution at exact points
    for point in (sp.Rational(-3, 2), sp.Integer(0), sp.Rational(7, 3)):
        value = lecture.subs(A, activation.expr.subs(Z, point))
        assert sp.nsimplify(sp.N(value - sp.diff(activation.expr, Z).subs(Z, point), 50), tolerance=1e-40) == 0


def test_matrix_forms_are_the_batch_backprop():
    d = derive(net("sigmoid", "bce", l2=0.5, reduction="sum"))
    forms = d.matrix(1)
    assert sp.sstr(forms.delta_expr) == "HadamardProduct(G1, W2.T*Delta2)"
    assert sp.sstr(forms.dW_expr) in {"Delta1*A0.T + lambda*W1", "lambda*W1 + Delta1*A0.T"}
    mean = derive(net("sigmoid", "bce")).matrix(2)
    assert sp.sstr(mean.dW_expr) == "1/m*Delta2*A1.T"


def test_proof_verifies_every_activation_and_loss():
    for hidden, output, loss, units in [("tanh", "softmax", "cce", 3), ("relu", "identity", "hinge", 1),
                                        ("leaky_relu", "tanh", "mse", 2), ("2*z", "identity", "logistic", 1)]:
        report = prove(derive(net(output, loss, units, hidden=hidden)))
        assert report.ok, str(report)
        assert report.summary().startswith(f"proof: all {report.n_params} gradients verified")


def test_proof_catches_a_wrong_output_delta():
    d = derive(net("sigmoid", "half_sse"))
    s = d.symbols(2)
    d.__dict__["output_delta"] = [s.a[0] - d.y[0]]   # the classic mistake: dropping σ'
    report = prove(d)
    assert not report.ok
    assert any("δ[2]" in i.statement for i in report.failed)


def test_proof_catches_a_wrong_hidden_derivative():
    d = derive(net("identity", "half_sse", hidden="tanh"))
    d.hidden_derivative = lambda layer: A * (1 - A)   # sigmoid's derivative used for tanh (genann's old bug)
    report = prove(d, end_to_end=True)
    assert not report.ok
    assert len(report.failed) >= 1


def test_proof_catches_a_wrong_weight_gradient_in_one_entry():
    """Every weight is checked, not one per layer: a single wrong entry fails the proof."""
    d = derive(net("sigmoid", "half_sse", hidden="tanh"))
    right = d.grad_W_entry
    d.grad_W_entry = lambda layer, j, k: 2 * right(layer, j, k) if (layer, j, k) == (1, 1, 0) else right(layer, j, k)
    report = prove(d, end_to_end=False)
    assert not report.ok
    assert [i.statement for i in report.failed] == ["∂ℓ/∂W[1]_jk = δ[1]_j a[0]_k"]


def test_layers_are_named_by_the_specs_numbers():
    """Lecture 000's 1-2-1 sigmoid net numbers its input layer 1: the weighted layers are 2 and 3.

    By hand, with σ(u) = 1/(1 + e^{−u}) and ℓ = ½(σ(z3) − y)², z3 = w3_11 σ(z2_1) + w3_12 σ(z2_2) + b3:
    δ3 = ∂ℓ/∂z3 = (a3 − y) a3 (1 − a3), and δ2_j = ∂ℓ/∂z2_j = a2_j (1 − a2_j) w3_1j δ3.
    """
    d = derive(load_spec(ROOT / "generated" / "lecture_sigmoid_121" / "spec.toml"))
    assert (d.input_number, d.first, d.last, d.L) == (1, 2, 3, 2)
    assert list(d.layer_numbers) == [2, 3]

    def symbol(name: str) -> sp.Symbol:
        return sp.Symbol(name, real=True)

    x, y = symbol("x_1"), symbol("y_1")
    z2, a2, w3 = [symbol(f"z2_{j}") for j in (1, 2)], [symbol(f"a2_{j}") for j in (1, 2)], \
        [symbol(f"W3_1_{j}") for j in (1, 2)]
    z3, a3, b3, delta3 = symbol("z3_1"), symbol("a3_1"), symbol("b3_1"), symbol("delta3_1")

    # layer 3 is the output: its δ is the output δ, in the output's symbols
    assert d.delta_index(3) == list(d.output_delta)
    assert sp.expand(d.delta_index(3)[0] - (a3 - y) * a3 * (1 - a3)) == 0
    # layer 2 is the hidden layer: two units, each g'(z) times the sum back from layer 3
    hidden = d.delta_index(2)
    assert len(hidden) == 2
    assert [f * s for f, s in d.delta_factors(2)] == hidden
    for j in range(2):
        assert d.delta_factors(2)[j] == (a2[j] * (1 - a2[j]), w3[j] * delta3)

    # the same δ's as sympy.diff of the loss written out by hand through z2 and z3
    sigma = lambda u: 1 / (1 + sp.exp(-u))   # noqa: E731
    z3_of_z2 = w3[0] * sigma(z2[0]) + w3[1] * sigma(z2[1]) + b3
    loss_of_z2 = (sigma(z3_of_z2) - y) ** 2 / 2
    forward = {a3: sigma(z3_of_z2), a2[0]: sigma(z2[0]), a2[1]: sigma(z2[1])}
    derived = {delta3: d.delta_index(3)[0].xreplace(forward)}
    checks = [(sp.diff((sigma(z3) - y) ** 2 / 2, z3).xreplace({z3: z3_of_z2}), derived[delta3])]
    checks += [(sp.diff(loss_of_z2, z2[j]), hidden[j].xreplace(forward).xreplace(derived)) for j in range(2)]
    points = [{z2[0]: 0.3, z2[1]: -1.2, w3[0]: 2, w3[1]: 3, b3: 1, y: 1},
              {z2[0]: -2, z2[1]: 0.7, w3[0]: -0.5, w3[1]: 1.5, b3: -1, y: 0}]
    for by_hand, from_derivation in checks:
        for point in points:
            point = {k: sp.nsimplify(v) for k, v in point.items()}
            assert abs(sp.N((by_hand - from_derivation).xreplace(point), 50)) < 1e-40

    # ∂ℓ/∂W^[3] has the output layer's shape (1 unit × 2 of layer 2); ∂ℓ/∂W^[2] the hidden one's (2 × 1 input)
    assert d.grad_W_index(3).shape == (1, 2) == d.symbols(3).W.shape
    assert d.grad_W_index(3) == sp.Matrix([[delta3 * a2[0], delta3 * a2[1]]])
    assert d.grad_W_index(2) == sp.Matrix([[symbol("delta2_1") * x], [symbol("delta2_2") * x]])
    assert d.grad_b_index(3) == [delta3]

    # positions are not layer numbers: 1 is the input (no δ, no weights), 4 does not exist
    for call, layer in ((d.delta_index, 1), (d.grad_W_index, 4), (d.symbols, 1), (d.grad_W_index, 0)):
        with pytest.raises(IndexError, match=r"expected a layer number from 2 to 3"):
            call(layer)
