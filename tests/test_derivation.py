"""The derivation: simplified output δ, lecture forms of g', matrix forms, and a proof that can fail."""
from __future__ import annotations

import sympy as sp
import pytest

from deltagen import prove
from deltagen.derive import derive, spec_from_dict
from deltagen.derive.model.activations import A, Z, make_activation


def net(output: str, loss: str, units: int = 1, hidden: str = "sigmoid", **extra):
    return spec_from_dict({"name": "t", "input": 2, "layers": [
        {"units": 3, "activation": hidden}, {"units": units, "activation": output}], "loss": loss, **extra})


@pytest.mark.parametrize("output, loss, units", [("identity", "half_sse", 2), ("sigmoid", "bce", 2), ("softmax", "cce", 3)])
def test_canonical_pairs_simplify_to_a_minus_y(output, loss, units):
    d = derive(net(output, loss, units))
    s = d.symbols(d.L)
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
    d.hidden_derivative = lambda index: A * (1 - A)   # sigmoid's derivative used for tanh (genann's old bug)
    report = prove(d, end_to_end=True)
    assert not report.ok
    assert len(report.failed) >= 1


def test_proof_catches_a_wrong_weight_gradient_in_one_entry():
    """Every weight is checked, not one per layer: a single wrong entry fails the proof."""
    d = derive(net("sigmoid", "half_sse", hidden="tanh"))
    right = d.grad_W_entry
    d.grad_W_entry = lambda index, j, k: 2 * right(index, j, k) if (index, j, k) == (1, 1, 0) else right(index, j, k)
    report = prove(d, end_to_end=False)
    assert not report.ok
    assert [i.statement for i in report.failed] == ["∂ℓ/∂W[1]_jk = δ[1]_j a[0]_k"]
