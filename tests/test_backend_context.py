"""What each backend hands its templates, and the NumPy vectorizer, checked part by part.

The 2-3-1 lecture net (lecture 002, sigmoid, no bias, ½ Σ (a − y)², mean) is small
enough to write every expected part out by hand: the parameter shapes and Glorot
bounds sqrt(6 / (n_l + n_{l−1})), one z and one a block per layer, δ of the output
as a(1 − a)(a − y) and the hidden δ as g' ⊙ (Wᵀ δ). Printed NumPy lines are also run
on the lecture's numbers and compared with the sigmoid net computed here by hand.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from deltagen.codegen.backends import BACKENDS
from deltagen.codegen.backends.c import CConfig
from deltagen.codegen.backends.c.parts import Assign, Block, CParam, Local, Loop, ZeroedArray
from deltagen.codegen.backends.numpy.module import ParamInfo
from deltagen.codegen.backends.numpy.parts import Assignment
from deltagen.codegen.backends.numpy.vectorize import UnitGroups, Vectorizer
from deltagen.codegen.render import environment, render
from deltagen.derive import derive, load_spec, spec_from_dict
from deltagen.derive.derivation.stable import LogSumExp

from conftest import ROOT

SPEC = ROOT / "generated" / "lecture_vectorized_231" / "spec.toml"
NAME = "lecture_vectorized_231"


@pytest.fixture(scope="module")
def derivation():
    return derive(load_spec(SPEC))


def context(derivation, target: str, config=None) -> dict:
    backend = BACKENDS[target]
    return backend.build_context(derivation, config if config is not None else backend.config_type())


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


# the lecture's example: two examples, W1 (3×2), W2 (1×3)
W1 = np.array([[0.5, 0.2], [0.6, -0.1], [-0.4, -0.3]])
W2 = np.array([[0.7, -0.1, 0.2]])
X = np.array([[0.5, 0.2], [0.1, 0.6]])
Y = np.array([[0.6, 0.8]])


def run_lines(lines: list[Assignment], arrays: dict) -> dict:
    """Execute printed assignments in a namespace holding ``numpy`` and ``arrays``."""
    namespace = {"numpy": np, **arrays}
    for line in lines:
        exec(f"{line.target} {line.op} {line.value}", namespace)   # noqa: S102 - our own printed code
    return namespace


# ---------------------------------------------------------------- NumPy

def test_numpy_context_keys(derivation):
    assert set(context(derivation, "numpy")) == {
        "name", "sizes", "activations", "layers", "input_number", "output_number", "loss", "loss_formula",
        "targets_sum_to_one", "reduction", "l2", "params", "forward_lines", "loss_lines", "cost_expr",
        "delta_lines", "gradient_lines", "update_lines", "dtype",
        # the optimizer (codegen/backends/numpy/training.py)
        "optimizer_kind", "optimizer_given", "optimizer_formula", "optimizer_literal", "optimizer_constants",
        "buffers", "update_rule_lines", "schedule_expr", "decay_formula",
        # backward() and the initialisation (codegen/backends/numpy/module.py)
        "backward_lines", "backward_columns", "init_name", "init_distribution", "init_formula", "init_draws", "dropout", "input_shape",
        "spatial",   # conv and pool layers (codegen/backends/numpy/spatial_lines.py)
        # train's in-place step (codegen/backends/numpy/inplace.py)
        "in_place_update_lines", "in_place_gradient_lines", "in_place_rule_lines", "rule_temps", "rule_temp_names"}


def test_numpy_params_have_the_layer_shapes_and_glorot_bounds(derivation):
    assert context(derivation, "numpy")["params"] == [
        ParamInfo("W1", (3, 2), False, repr(math.sqrt(6 / 5))),
        ParamInfo("W2", (1, 3), False, repr(math.sqrt(6 / 4)))]


def test_numpy_params_of_a_biased_layer():
    d = derive(spec_from_dict({"name": "biased", "input": 4, "loss": "half_sse",
                               "layers": [{"units": 2, "activation": "identity"}]}))
    assert context(d, "numpy")["params"] == [ParamInfo("W1", (2, 4), False, repr(math.sqrt(1.0))),
                                             ParamInfo("b1", (2, 1), True, "0.0")]


def test_numpy_forward_is_z_then_a_for_each_layer(derivation):
    lines = context(derivation, "numpy")["forward_lines"]
    assert [line.target for line in lines] == ["Z1", "A1_t0", "A1", "Z2", "A2_t0", "A2"]
    assert lines[0] == Assignment("Z1", "W1 @ A0") and lines[3] == Assignment("Z2", "W2 @ A1")
    out = run_lines(lines, {"W1": W1, "W2": W2, "A0": X})
    np.testing.assert_allclose(out["A2"], sigmoid(W2 @ sigmoid(W1 @ X)), rtol=1e-15)


def test_numpy_backward_is_the_delta_recurrence(derivation):
    ctx = context(derivation, "numpy")
    assert ctx["delta_lines"] == [Assignment("Delta2", "A2*(1 - A2)*(A2 - Y)"),
                                  Assignment("G1", "A1*(1 - A1)"),
                                  Assignment("Delta1", "G1*(W2.T @ Delta2)")]
    assert ctx["gradient_lines"] == [Assignment("dW2", "((1/m)*Delta2) @ A1.T"),
                                     Assignment("dW1", "((1/m)*Delta1) @ A0.T")]
    a1 = sigmoid(W1 @ X)
    a2 = sigmoid(W2 @ a1)
    out = run_lines(ctx["delta_lines"] + ctx["gradient_lines"],
                    {"W1": W1, "W2": W2, "A0": X, "A1": a1, "A2": a2, "Y": Y, "m": 2})
    delta2 = (a2 - Y) * a2 * (1 - a2)                 # ½ (a − y)² through the sigmoid
    delta1 = (W2.T @ delta2) * a1 * (1 - a1)
    np.testing.assert_allclose(out["dW2"], delta2 @ a1.T / 2, rtol=1e-14)
    np.testing.assert_allclose(out["dW1"], delta1 @ X.T / 2, rtol=1e-14)


def test_numpy_loss_and_cost(derivation):
    ctx = context(derivation, "numpy")
    assert ctx["loss_lines"] == [Assignment("loss_row", "(1/2)*numpy.square(A2 - Y)")]
    assert ctx["cost_expr"] == "numpy.sum(loss_row)/m"


# -------------------------------------------------------------------- C

def test_c_context_describes_the_net(derivation):
    ctx = context(derivation, "c")
    assert (ctx["sizes"], ctx["n_in"], ctx["n_out"], ctx["n_params"]) == ([2, 3, 1], 2, 1, 9)
    assert (ctx["input_number"], ctx["output_number"]) == (0, 2)
    assert ctx["trace_fields"] == ["z1[3], a1[3], d1[3]", "z2[1], a2[1], d2[1]"]
    assert [layer["form"] for layer in ctx["layers"]] == ["unrolled, 6 weights <= 16", "unrolled, 3 weights <= 16"]
    assert ctx["math_functions"] == ["exp", "fabs"]   # the branched sigmoid's e^{−|z|}
    assert ctx["loss_uses_y"] and ctx["delta_uses_y"]
    assert ctx["cost_expr"] == "loss_sum/m_real"


def test_c_params_have_the_layer_shapes_and_glorot_bounds(derivation):
    ctx = context(derivation, "c")
    # the Glorot-uniform limits, printed as double literals (the init is computed in double, then cast)
    assert ctx["params"] == [CParam("W1", 3, 2, False, repr(math.sqrt(6 / 5))),
                             CParam("W2", 1, 3, False, repr(math.sqrt(6 / 4)))]
    assert [p.declarator for p in ctx["params"]] == ["W1[3][2]", "W2[1][3]"]
    assert [name for name, _, _ in ctx["weight_square_sums"]] == ["weight_sq1", "weight_sq2"]


def test_c_has_one_z_and_one_a_block_per_layer(derivation):
    blocks = context(derivation, "c")["forward_blocks"]
    assert [b.comment for b in blocks] == [
        "z[1] = W[1] a[0] (unrolled, 6 weights <= 16)",
        "a[1] = g(z[1]), g(z) = 1/(1 + e^(−z)) (unrolled, 6 weights <= 16)",
        "z[2] = W[2] a[1] (unrolled, 3 weights <= 16)",
        "a[2] = g(z[2]), g(z) = 1/(1 + e^(−z)) (unrolled, 3 weights <= 16)"]
    assert blocks[0].statements == (Assign("t->z1[0]", "p->W1[0][0]*a0[0] + p->W1[0][1]*a0[1]"),
                                    Assign("t->z1[1]", "p->W1[1][0]*a0[0] + p->W1[1][1]*a0[1]"),
                                    Assign("t->z1[2]", "p->W1[2][0]*a0[0] + p->W1[2][1]*a0[1]"))


def test_c_backward_and_updates_follow_the_layers(derivation):
    ctx = context(derivation, "c")
    assert ctx["output_delta_block"].statements == (Assign("t->d2[0]", "t->a2[0]*(1 - t->a2[0])*(t->a2[0] - y[0])"),)
    assert [number for number, _ in ctx["hidden_delta_functions"]] == [1]
    assert [step.delta_below for step in ctx["fused_steps"]] == [1, None]   # W2's update once δ1 has used it
    assert len(ctx["accumulate_blocks"]) == len(ctx["scale_blocks"]) == len(ctx["update_blocks"]) == 2
    accumulate = ctx["accumulate_blocks"][1].statements
    assert accumulate == tuple(Assign(f"grad->W2[0][{k}]", f"t->a1[{k}]*t->d2[0]", "+=") for k in range(3))


def test_c_loops_form_is_parts_not_text(derivation):
    ctx = context(derivation, "c", CConfig(unroll_max_weights=0))
    z1 = ctx["forward_blocks"][0]
    assert z1.comment == "z[1] = W[1] a[0] (loops, 6 weights > 0)"
    assert z1.statements == (Loop("j", 3, (Local("s", "0"),
                                           Loop("k", 2, (Assign("s", "p->W1[j][k]*a0[k]", "+="),), inline=True),
                                           Assign("t->z1[j]", "s"))),)
    _, delta1 = ctx["hidden_delta_functions"][0]
    # Σ_k W_kj δ_k is summed in the δ array itself (no stack array as wide as the layer), then scaled by g'
    assert delta1.statements == (
        Loop("j", 3, (Assign("t->d1[j]", "0"),), inline=True),
        Loop("k", 1, (Loop("j", 3, (Assign("t->d1[j]", "p->W2[k][j]*t->d2[k]", "+="),), inline=True),)),
        Loop("j", 3, (Assign("t->d1[j]", "t->a1[j]*t->d1[j]*(1 - t->a1[j])"),)))
    accumulate = ctx["accumulate_blocks"][0].statements
    assert accumulate == (Loop("j", 3, (Loop("k", 2, (Assign("grad->W1[j][k]", "t->d1[j]*a0[k]", "+="),),
                                             inline=True),)),)


def test_both_backends_name_the_layers_by_the_specs_numbers():
    """Lecture 000 numbers the input 1: the weighted layers are 2 and 3 in every name, comment and loop."""
    d = derive(load_spec(ROOT / "generated" / "lecture_sigmoid_121" / "spec.toml"))
    numpy_ctx = context(d, "numpy")
    assert (numpy_ctx["input_number"], numpy_ctx["output_number"]) == (1, 3)
    assert [p.name for p in numpy_ctx["params"]] == ["W2", "b2", "W3", "b3"]
    assert [line.target for line in numpy_ctx["forward_lines"]] == ["Z2", "A2_t0", "A2", "Z3", "A3_t0", "A3"]
    assert [line.target for line in numpy_ctx["delta_lines"]] == ["Delta3", "G2", "Delta2"]
    assert numpy_ctx["gradient_lines"][2] == Assignment("dW2", "((1/m)*Delta2) @ A1.T")
    ctx = context(d, "c", CConfig(unroll_max_weights=0))
    assert (ctx["input_number"], ctx["output_number"]) == (1, 3)
    assert [layer["number"] for layer in ctx["layers"]] == [2, 3]
    assert ctx["trace_fields"] == ["z2[2], a2[2], d2[2]", "z3[1], a3[1], d3[1]"]
    assert ctx["forward_blocks"][0].comment == "z[2] = W[2] a[1] + b[2] (loops, 2 weights > 0)"
    assert [number for number, _ in ctx["hidden_delta_functions"]] == [2]
    assert [step.delta_below for step in ctx["fused_steps"]] == [2, None]
    assert [name for name, _, _ in ctx["weight_square_sums"]] == ["weight_sq2", "weight_sq3"]
    _, delta2 = ctx["hidden_delta_functions"][0]
    assert delta2.statements[1] == Loop("k", 1, (Loop("j", 2, (Assign("t->d2[j]", "p->W3[k][j]*t->d3[k]", "+="),),
                                                      inline=True),))
    accumulate = ctx["accumulate_blocks"][0].statements   # the input is a0 whatever its number
    assert accumulate[0].body[0] == Loop("k", 1, (Assign("grad->W2[j][k]", "t->d2[j]*a0[k]", "+="),), inline=True)


def test_c_statements_template_writes_the_loops():
    block = Block("a comment", (
        ZeroedArray("back", 3),
        Loop("k", 2, (Loop("j", 3, (Assign("back[j]", "w[k][j]*d[k]", "+="),), inline=True),)),
        Loop("j", 3, (Local("u0", "net_exp(z[j])", constant=True), Assign("a[j]", "u0/(u0 + 1)"))),
        Assign("total", "a[0]", "+=")))
    template = environment(BACKENDS["c"]).from_string(
        '{% import "statements.c.jinja" as c with context %}{{ c.block(b, 4) }}')
    assert template.render(name="net", b=block) == (
        "    /* a comment */\n"
        "    net_real back[3] = {0};\n"
        "    for (int k = 0; k < 2; ++k) {\n"
        "        for (int j = 0; j < 3; ++j) back[j] += w[k][j]*d[k];\n"
        "    }\n"
        "    for (int j = 0; j < 3; ++j) {\n"
        "        const net_real u0 = net_exp(z[j]);\n"
        "        a[j] = u0/(u0 + 1);\n"
        "    }\n"
        "    total += a[0];\n")


def test_an_inline_loop_holds_one_statement():
    with pytest.raises(ValueError):
        Loop("k", 2, (Assign("a", "1"), Assign("b", "2")), inline=True)


# ------------------------------------------------------------ vectorizer

a = sp.symbols("a1:4", real=True)
z = sp.symbols("z1:4", real=True)
y = sp.symbols("y1:4", real=True)


def three_units() -> UnitGroups:
    return UnitGroups([(a, "A"), (z, "Z"), (y, "Y")], 3)


def test_a_uniform_formula_becomes_one_array_line():
    lines = Vectorizer(three_units(), prefix="r").vector("A", [1 / (1 + sp.exp(-zk)) for zk in z])
    assert lines == [Assignment("A", "(1/(1 + numpy.exp(-Z)))")]
    Z = np.array([[-1.0, 0.5], [0.0, 2.0], [3.0, -4.0]])
    np.testing.assert_allclose(run_lines(lines, {"Z": Z})["A"], sigmoid(Z), rtol=1e-15)


def test_coupled_units_are_written_row_by_row():
    lines = Vectorizer(three_units(), prefix="r").vector("A", [z[0] - z[1], z[1] - z[2], z[2] - z[0]])
    assert lines == [Assignment("A", "numpy.empty_like(Z)"),
                     Assignment("A[0:1]", "Z[0:1] - Z[1:2]"),
                     Assignment("A[1:2]", "Z[1:2] - Z[2:3]"),
                     Assignment("A[2:3]", "-Z[0:1] + Z[2:3]")]
    Z = np.array([[1.0, 2.0], [4.0, 8.0], [16.0, 32.0]])
    np.testing.assert_array_equal(run_lines(lines, {"Z": Z})["A"], Z - np.roll(Z, -1, axis=0))


def test_a_sum_over_the_units_is_a_per_example_reduction():
    vectorizer = Vectorizer(three_units(), prefix="loss_sum")
    body = vectorizer.row("loss_row", sp.Add(*[(ak - yk) ** 2 / 2 for ak, yk in zip(a, y)]))
    assert vectorizer.reduction_lines() == [
        Assignment("loss_sum0", "numpy.add.reduce((1/2)*numpy.square(A - Y), axis=0, keepdims=True)")]
    assert body == [Assignment("loss_row", "loss_sum0")]


@pytest.mark.parametrize("reduced, code", [
    (LogSumExp(*z), "numpy.logaddexp.reduce(Z, axis=0, keepdims=True)"),
    (sp.Max(*z), "numpy.maximum.reduce(Z, axis=0, keepdims=True)"),
])
def test_logsumexp_and_max_over_the_units_are_reductions(reduced, code):
    vectorizer = Vectorizer(three_units(), prefix="r")
    body = vectorizer.row("out", 2 * reduced)
    assert vectorizer.reduction_lines() == [Assignment("r0", code)]
    assert body == [Assignment("out", "2*r0")]


def test_softmax_is_the_numerators_divided_by_their_column_sums():
    total = sp.Add(*[sp.exp(zk) for zk in z])
    lines = Vectorizer(three_units(), prefix="r").normalized("A", [sp.exp(zk) / total for zk in z])
    assert lines == [Assignment("A", "numpy.exp(Z)"),
                     Assignment("A", "numpy.add.reduce(A, axis=0, keepdims=True)", "/=")]
    Z = np.array([[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]])
    np.testing.assert_allclose(run_lines(lines, {"Z": Z})["A"], np.exp(Z) / np.exp(Z).sum(axis=0), rtol=1e-15)


def test_one_unit_rows_are_the_whole_arrays():
    units = UnitGroups([(a[:1], "A"), (y[:1], "Y")], 1)
    assert Vectorizer(units, prefix="r").row("loss_row", (a[0] - y[0]) ** 2) == [
        Assignment("loss_row", "numpy.square(A - Y)")]


def test_c_weight_square_sum_is_printed_from_the_cost_trace():
    """With L2 the cost has (λ/2) tr(WᵀW); the loop adds its entry term W_jk², printed, for each layer."""
    d = derive(spec_from_dict({"name": "l2net", "input": 2, "l2": 0.1, "loss": "bce", "layers": [
        {"units": 3, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"}]}))
    sums = context(d, "c")["weight_square_sums"]
    assert [(name, weight.rows, weight.cols, summand) for name, weight, summand in sums] == [
        ("weight_sq1", 3, 2, "(p->W1[j][k]*p->W1[j][k])"),
        ("weight_sq2", 1, 3, "(p->W2[j][k]*p->W2[j][k])")]
    source = render(d, "c")["l2net.c"]   # λ/2 = 0.05, and the mean's 1/m
    assert "return loss_sum/m_real + l2net_LIT(0.05)*weight_sq1 + l2net_LIT(0.05)*weight_sq2;" in source
    assert "for (int k = 0; k < 2; ++k) weight_sq1 += (p->W1[j][k]*p->W1[j][k]);" in source
