"""Inverted dropout (issue 14, item 4): the spec, the proof with fixed masks, NumPy and C, the shared generator.

Expected numbers come from outside the code under test: an mpmath network with masks written here from
DESIGN.md's definition (a ← a ⊙ D / (1 − p)) and differentiated by central differences at 40 digits;
SplitMix64 draws from test_random's paper re-implementation, compared with p as DESIGN.md says
(D_j ~ Bernoulli(1 − p): kept when u >= p); Fisher–Yates written here from its textbook form.
"""
from __future__ import annotations

import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest

from c_harness import CNet, compile_c
from conftest import import_file
from deltagen.codegen import render, write_files
from deltagen.derive import derive, spec_from_dict
from deltagen.derive.derivation import dropout
from deltagen.derive.errors import SpecError
from deltagen.derive.proof import prove
from test_random import Reference, reference_draws

SPEC = {"name": "dropnet", "input": 2, "loss": "bce", "layers": [
    {"units": 3, "activation": "tanh", "dropout": 0.3},
    {"units": 2, "activation": "sigmoid", "dropout": 0.5},
    {"units": 1, "activation": "sigmoid"}],
    "optimizer": {"kind": "adam", "learning_rate": 0.01}}
P = {"D1": mp.mpf(3) / 10, "D2": mp.mpf(1) / 2}       # the spec's p, as the decimals it writes
X = np.array([[0.0, 0.0, 1.0, 1.0, 0.5], [0.0, 1.0, 0.0, 1.0, -0.25]])
Y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
MASKS = {"D1": np.array([[1, 0, 1, 1, 0], [1, 1, 0, 1, 1], [0, 1, 1, 1, 1]], dtype=float),
         "D2": np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], dtype=float)}


def mp_cost(params: dict, masks: dict | None) -> mp.mpf:
    """The mean bce of the 2-3-2-1 net with inverted dropout, from DESIGN.md's definition, in mpmath."""
    total = mp.mpf(0)
    for i in range(X.shape[1]):
        a = [mp.mpf(float(v)) for v in X[:, i]]
        for layer, g in ((1, mp.tanh), (2, lambda z: 1 / (1 + mp.exp(-z))), (3, lambda z: 1 / (1 + mp.exp(-z)))):
            W, b = params[f"W{layer}"], params[f"b{layer}"]
            a = [g(mp.fsum(w * ak for w, ak in zip(W[j], a)) + b[j][0]) for j in range(len(W))]
            key = f"D{layer}"
            if masks is not None and key in masks:
                a = [aj * int(masks[key][j, i]) / (1 - P[key]) for j, aj in enumerate(a)]
        y = mp.mpf(float(Y[0, i]))
        total += -(y * mp.log(a[0]) + (1 - y) * mp.log(1 - a[0]))
    return total / X.shape[1]


def mp_gradients(params: dict, masks: dict | None) -> dict:
    """Central differences of mp_cost at 40 digits, step 1e-15."""
    out = {}
    with mp.workdps(40):
        exact = {k: [[mp.mpf(float(v)) for v in row] for row in np.asarray(a)] for k, a in params.items()}
        h = mp.mpf("1e-15")
        for key, array in exact.items():
            grad = np.zeros(np.shape(params[key]))
            for j, row in enumerate(array):
                for k in range(len(row)):
                    saved = row[k]
                    row[k] = saved + h
                    up = mp_cost(exact, masks)
                    row[k] = saved - h
                    down = mp_cost(exact, masks)
                    row[k] = saved
                    grad[j, k] = float((up - down) / (2 * h))
            out[key] = grad
    return out


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dropout")
    write_files(render(derive(spec_from_dict(SPEC)), "numpy"), folder)
    return import_file(folder / "dropnet.py")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dropout_c")
    write_files(render(derive(spec_from_dict(SPEC)), "c"), folder)
    shapes = {"W1": (3, 2), "b1": (3, 1), "W2": (2, 3), "b2": (2, 1), "W3": (1, 2), "b3": (1, 1)}
    nets = {}
    for real in ("double", "float"):
        library = compile_c([folder / "dropnet.c"], folder / f"libdropnet_{real}.so", "dropnet", real)
        nets[real] = CNet(library, "dropnet", shapes, real, ("exp_avg", "exp_avg_sq"), ("D1", "D2"))
    return folder, nets


# ------------------------------------------------------------------ the spec
@pytest.mark.parametrize("layers, field, expected", [
    ([{"units": 2, "activation": "relu", "dropout": 1.0}, {"units": 1, "activation": "sigmoid"}],
     "layers[0].dropout", "expected a drop probability p with 0 <= p < 1, got 1.0"),
    ([{"units": 2, "activation": "relu", "dropout": -0.1}, {"units": 1, "activation": "sigmoid"}],
     "layers[0].dropout", "got -0.1"),
    ([{"units": 2, "activation": "relu", "dropout": "0.5"}, {"units": 1, "activation": "sigmoid"}],
     "layers[0].dropout", "got '0.5'"),
    ([{"units": 2, "activation": "relu", "dropout": True}, {"units": 1, "activation": "sigmoid"}],
     "layers[0].dropout", "got True"),
    ([{"units": 2, "activation": "relu"}, {"units": 1, "activation": "sigmoid", "dropout": 0.5}],
     "layers[1].dropout", "expected 0 on the output layer (dropout applies to hidden layers), got 0.5"),
])
def test_bad_dropout_is_one_line_naming_the_field(layers, field, expected):
    with pytest.raises(SpecError) as info:
        spec_from_dict({"name": "n", "input": 2, "layers": layers, "loss": "bce"})
    assert info.value.field == field and expected in str(info.value)


def test_the_cli_refuses_dropout_on_the_output_layer_with_exit_2(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "n"\ninput = 2\nloss = "bce"\nlayers = [\n  { units = 2, activation = "relu" },\n'
                    '  { units = 1, activation = "sigmoid", dropout = 0.5 },\n]\n')
    result = subprocess.run([sys.executable, "-m", "deltagen.cli", "derive", str(spec)], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"{spec}: layers[1].dropout: expected 0 on the output layer (dropout applies to hidden layers), got 0.5"]


def test_dropout_zero_on_the_output_layer_is_accepted_as_designs_example_writes_it():
    net = spec_from_dict({"name": "n", "input": 2, "loss": "cce", "layers": [
        {"units": 3, "activation": "relu"}, {"units": 2, "activation": "softmax", "dropout": 0.0}]})
    assert not net.has_dropout


# ------------------------------------------------------------------ the proof
def test_the_proof_covers_the_masks_and_holds():
    report = prove(derive(spec_from_dict(SPEC)))
    assert report.ok and report.end_to_end
    statements = [i.statement for i in report.identities]
    assert any("D1[j]" in s and s.startswith("δ[1]") and "for every width" in s for s in statements)
    assert any("ã[2]" in s and s.startswith("∂ℓ/∂W[3]") for s in statements)
    assert any("with the dropout masks fixed" in s for s in statements)


def test_the_proof_fails_when_the_mask_is_left_out_of_delta(monkeypatch):
    """A δ of a dropout layer without its factor K = D/(1 − p) must be caught, locally and end to end."""
    original = dropout.delta_index
    def unmasked(d, layer, units=None):
        units = range(d.width(layer)) if units is None else units
        return [e.subs(dropout.mask_symbols(d, layer)[j], 1 - dropout.drop_probability(d, layer))
                for j, e in zip(units, original(d, layer, units))]
    monkeypatch.setattr(dropout, "delta_index", unmasked)
    report = prove(derive(spec_from_dict(SPEC)))
    failed = [i.statement for i in report.failed]
    assert any(s.startswith("δ[1]") for s in failed) and any("through the whole network" in s for s in failed)


# ------------------------------------------------------------------ NumPy
def test_gradients_with_fixed_masks_match_mpmath_central_differences(module):
    params = module.init_params(3)
    expected = mp_gradients(params, MASKS)
    got = module.gradients(params, X, Y, masks=MASKS)
    for key in params:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-14, err_msg=key)
    assert float(module.cost(params, X, Y, masks=MASKS)) == pytest.approx(float(mp_cost(
        {k: [[mp.mpf(float(v)) for v in row] for row in a] for k, a in params.items()}, MASKS)), rel=1e-14)


def test_without_masks_there_is_no_dropout(module):
    """masks=None is inference: the plain network, not the one scaled by 1/(1 − p)."""
    params = module.init_params(4)
    expected = mp_gradients(params, None)
    got = module.gradients(params, X, Y)
    for key in params:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-14, err_msg=key)


def test_backward_delta_of_a_dropout_layer_is_the_masked_one(module):
    """Delta1 (∂C/∂Z1) by central differences in mpmath through Z1's bias: ∂C/∂b1 = Σ_i Delta1[:, i]."""
    params = module.init_params(5)
    out = module.backward(params, X, Y, masks=MASKS)
    np.testing.assert_allclose(out["Delta1"].sum(axis=1, keepdims=True), mp_gradients(params, MASKS)["b1"],
                               rtol=1e-12, atol=1e-14)
    assert np.all(out["Delta1"][MASKS["D1"] == 0] == 0)   # a dropped unit passes no gradient back


@pytest.mark.parametrize("masks, message", [
    ({"D1": MASKS["D1"]}, "masks must have exactly the keys ['D1', 'D2']"),
    ({"D1": MASKS["D1"][:, :4], "D2": MASKS["D2"]}, "masks['D1'] must have shape (3, 5), got (3, 4)"),
    ({"D1": MASKS["D1"] * 0.5, "D2": MASKS["D2"]}, "masks['D1'] must hold only 0 and 1"),
])
def test_bad_masks_are_refused_with_a_message(module, masks, message):
    with pytest.raises((KeyError, ValueError)) as info:
        module.gradients(module.init_params(0), X, Y, masks=masks)
    assert message in str(info.value)


def test_draw_masks_is_the_readmes_order_and_rule(module):
    """Example by example, layers in order, units in order: kept (1) when the uniform u >= p."""
    generator, reference = module.SplitMix64(11), Reference(11)
    masks = module.draw_masks(generator, 4)
    for i in range(4):
        for key, units, p in (("D1", 3, 0.3), ("D2", 2, 0.5)):
            for j in range(units):
                assert masks[key][j, i] == (1.0 if reference.uniform() >= p else 0.0)
    assert generator.next_u64() == reference.draw()    # the generator stands where the reference does


def test_train_draws_masks_after_each_permutation_and_repeats(module):
    params = module.init_params(2)
    first = module.train(params, X, Y, None, 3, batch_size=2, seed=9)
    again = module.train(params, X, Y, None, 3, batch_size=2, seed=9)
    assert all(np.array_equal(first[0][k], again[0][k]) for k in params) and first[1] == again[1]
    # by hand: the same stream — each epoch a permutation, then each batch's masks — with train_step
    generator = module.SplitMix64(9, skip=module.INIT_DRAWS)
    current, state = params, module.init_state(params)
    for epoch in range(3):
        order = generator.permutation(5)
        for start in range(0, 5, 2):
            batch = order[start:start + 2]
            masks = module.draw_masks(generator, len(batch))
            current, state = module.train_step(current, state, X[:, batch], Y[:, batch], masks)
    for key in params:
        np.testing.assert_array_equal(first[0][key], current[key])


# ------------------------------------------------------------------ C
def test_c_shuffle_is_fisher_yates_on_the_readmes_draws(built, module):
    _, nets = built
    for seed, m in ((0, 1), (7, 10), (2 ** 40 + 3, 33)):
        order, after = nets["double"].shuffle(nets["double"].rng_state(seed), m)
        draws = iter(reference_draws(seed, max(m - 1, 0)))
        expected = list(range(m))
        for i in range(m - 1, 0, -1):          # the textbook loop, on the paper's draws
            j = next(draws) % (i + 1)
            expected[i], expected[j] = expected[j], expected[i]
        assert order.tolist() == expected
        assert order.tolist() == module.SplitMix64(seed).permutation(m).tolist()


def test_c_rng_init_skips_like_numpy(built, module):
    _, nets = built
    assert nets["double"].rng_state(5, 1000) == module.SplitMix64(5, skip=1000).state


@pytest.mark.parametrize("real, rtol", [("double", 1e-13), ("float", 2e-5)])
def test_c_train_step_draws_the_same_masks_as_numpy(built, module, real, rtol):
    _, nets = built
    net = nets[real]
    params = module.init_params(3)
    state = net.init_state()
    assert state["rng"] == module.SplitMix64(0, skip=module.INIT_DRAWS).state   # train(seed=None)'s stream
    generator = module.SplitMix64(0, skip=module.INIT_DRAWS)
    numpy_params, numpy_state = params, module.init_state(params)
    c_params = params
    for _ in range(3):
        masks = module.draw_masks(generator, X.shape[1])
        numpy_params, numpy_state = module.train_step(numpy_params, numpy_state, X, Y, masks)
        c_params, state = net.train_step(c_params, state, X, Y)
    assert state["rng"] == generator.state
    for key in params:
        np.testing.assert_allclose(c_params[key], numpy_params[key], rtol=rtol, atol=rtol * 1e-2, err_msg=key)


def test_c_gradients_are_inference_without_dropout(built, module):
    _, nets = built
    params = module.init_params(6)
    got = nets["double"].gradients(params, X, Y)
    expected = module.gradients(params, X, Y)
    for key in params:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------ C: loops, stack, sanitizers
#: 3-20-4-2 with dropout on both hidden layers: layer 1's mask in loops (60 weights), layer 2's unrolled
LOOPS = {"name": "droploops", "input": 3, "loss": "bce", "layers": [
    {"units": 20, "activation": "tanh", "dropout": 0.2}, {"units": 4, "activation": "relu", "dropout": 0.5},
    {"units": 2, "activation": "sigmoid"}], "optimizer": {"kind": "momentum", "learning_rate": 0.05}}


@pytest.mark.skipif(subprocess.run(["gcc", "-fsanitize=address,undefined", "-x", "c", "-", "-o", "/dev/null"],
                                   input="int main(void){return 0;}", text=True, capture_output=True).returncode != 0,
                    reason="gcc has no sanitizer runtime")
def test_c_dropout_in_loops_runs_clean_under_sanitizers_and_agrees(tmp_path):
    from test_c_optimizers import SANITIZE, _driver
    derivation = derive(spec_from_dict(LOOPS))
    write_files({**render(derivation, "numpy"), **render(derivation, "c")}, tmp_path)
    module = import_file(tmp_path / "droploops.py")
    shapes = dict(module.PARAM_SHAPES)
    (tmp_path / "driver.c").write_text(_driver("droploops", shapes, ("momentum_buffer",)))
    binary = compile_c([tmp_path / "driver.c", tmp_path / "droploops.c"], tmp_path / "driver", "droploops",
                       flags=(*SANITIZE, f"-I{tmp_path}"), shared=False)
    rng = np.random.default_rng(5)
    params = module.init_params(1)
    grads = {key: rng.normal(0, 1, shape) for key, shape in shapes.items()}
    Xs, Ys = rng.normal(0, 1, (3, 4)), rng.integers(0, 2, (2, 4)).astype(float)
    text = "\n".join(repr(float(v)) for d in (params, grads) for key in shapes for v in np.ravel(d[key]))
    text += "\n4\n" + "\n".join(repr(float(v)) for v in (*Xs.T.ravel(), *Ys.T.ravel())) + "\n"
    run = subprocess.run([str(binary)], input=text, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "runtime error" not in run.stderr and "Sanitizer" not in run.stderr, run.stderr
    generator = module.SplitMix64(0, skip=module.INIT_DRAWS)    # NAME_state_init's stream
    current, state = params, module.init_state(params)
    for _ in range(3):
        current, state = module.train_step(current, state, Xs, Ys, module.draw_masks(generator, 4))
    current, state = module.update(current, grads, state)
    expected = np.concatenate([[state["step"]], *(np.ravel(current[k]) for k in shapes),
                               *(np.ravel(state["momentum_buffer"][k]) for k in shapes)])
    np.testing.assert_allclose(np.array([float(v) for v in run.stdout.split()]), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("optimization", ["-O0", "-O2"])
def test_c_train_step_with_dropout_stays_within_16_kib_of_stack(optimization, tmp_path):
    from test_c_optimizers import LARGE, STACK_LIMIT, deepest, stack_usage
    net = {**LARGE, "name": "stacknet", "layers": [{**LARGE["layers"][0], "dropout": 0.5},
                                                   {**LARGE["layers"][1], "dropout": 0.25}, LARGE["layers"][2]]}
    write_files(render(derive(spec_from_dict({**net, "optimizer": {"kind": "adam"}})), "c"), tmp_path)
    su, frames, calls = stack_usage(tmp_path / "stacknet.c", tmp_path, "stacknet", optimization)
    size, qualifier = su["stacknet_train_step"]
    assert size <= STACK_LIMIT and qualifier == "static"
    assert deepest("stacknet_train_step", frames, calls) <= STACK_LIMIT


# ------------------------------------------------------------------ documents
def test_the_derivation_document_has_the_masked_equations_and_compiles(tmp_path):
    from latex_tools import compile_latex, require_pdflatex
    from deltagen.derive.documents import derivation_document
    require_pdflatex()
    d = derive(spec_from_dict(SPEC))
    for lang, title in (("en", "Dropout in training"), ("pt", "Dropout no treinamento")):
        text = derivation_document(d, lang=lang)
        body = text[text.index(title):]
        # p = 0.3: 1/(1 − p) = 10/7, and the mask factor stands in δ^[1] before g'(z) = 1 − a²
        assert r"\tilde{a}^{[1]}_{1} & = \frac{10}{7} D^{[1]}_{1} a^{[1]}_{1}" in body
        assert r"\delta^{[1]}_{1} & = \frac{10}{7} D^{[1]}_{1} \left(1 - \left(a^{[1]}_{1}\right)^{2}\right)" in body
        assert r"\frac{\partial \ell}{\partial w^{[3]}_{jk}} & = \delta^{[3]}_{j} \tilde{a}^{[2]}_{k}" in body
        compile_latex(text, tmp_path, f"dropout_{lang}")


def test_derive_text_states_each_dropout_layer():
    from deltagen.derive.documents.describe import describe
    text = describe(derive(spec_from_dict(SPEC)))
    assert "layer 1, p = 0.3:  ã[1]_1 = 10 D[1]_1 a[1]_1/7" in text
    assert "layer 3 reads ã[2]:  z[3] = W[3] ã[2] + b[3],  ∂ℓ/∂w[3]_jk = δ[3]_j ã[2]_k" in text
    assert "Dropout" not in describe(derive(spec_from_dict({**SPEC, "layers": [
        {**layer, "dropout": 0.0} for layer in SPEC["layers"]]})))


def test_the_worked_solution_says_its_numbers_leave_dropout_out():
    from deltagen.derive.documents.solution import solution_document
    spec = {**SPEC, "example": {"W": [[[0.5, -0.5], [0.25, 0.0], [-1.0, 1.0]], [[1.0, 0.5, -0.5], [0.0, 1.0, 1.0]],
                                      [[1.0, -1.0]]],
                                "b": [[[0.0], [0.0], [0.0]], [[0.0], [0.0]], [[0.0]]],
                                "X": [[1.0], [0.0]], "Y": [[1.0]]}}
    d = derive(spec_from_dict(spec))
    assert "numbers below are those of the network without it" in solution_document(d, lang="en")
    assert "(camada 1: $p = 0{,}3$, camada 2: $p = 0{,}5$)" in solution_document(d, lang="pt")
