"""The benchmark's references compute what the generated code computes (no timing here)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from deltagen.codegen.render import render, write_files
from conftest import ROOT, import_file
from deltagen.derive import derive, load_spec, spec_from_dict

sys.path.insert(0, str(ROOT / "benchmarks"))
from hand_written import hand_numpy_sgd_step  # noqa: E402
from run import growth_exponent, two_layer  # noqa: E402
from toolkit_scaling import NETS as SCALING_NETS, spec_text  # noqa: E402


@pytest.mark.parametrize("network", [
    load_spec(ROOT / "generated" / "lecture_vectorized_231" / "spec.toml"),
    spec_from_dict(two_layer("bench_small", 5, 4, 3)),
    spec_from_dict({**two_layer("bench_numbered", 4, 3, 2), "notation": {"input_layer": 1}}),
], ids=["lecture_2_3_1_half_sse", "softmax_cce", "softmax_cce_input_layer_1"])
def test_hand_written_numpy_reference_matches_the_generated_step(network, tmp_path):
    derivation = derive(network)
    write_files(render(derivation, "numpy"), tmp_path)
    module = import_file(tmp_path / f"{network.name}.py")
    first, second = derivation.first, derivation.last   # the hand-written reference has these two layers
    n_in, n_out = derivation.width(derivation.input_number), derivation.width(second)
    rng = np.random.default_rng(3)
    params = {k: rng.normal(size=shape) for k, shape in module.PARAM_SHAPES.items()}
    X = rng.normal(size=(n_in, 7))
    Y = rng.dirichlet(np.ones(n_out), 7).T if n_out > 1 else rng.uniform(size=(1, 7))
    hand = hand_numpy_sgd_step(params, X, Y, 0.3, (f"W{first}", f"b{first}", f"W{second}", f"b{second}"),
                               derivation.layer(second).activation.is_softmax)
    generated = module.sgd_step(params, X, Y, 0.3)
    assert hand.keys() == generated.keys()
    for key in hand:
        np.testing.assert_allclose(hand[key], generated[key], rtol=1e-12, atol=1e-14)


def test_growth_exponent_recovers_a_known_power_law():
    counts = [10, 1000, 10_000, 100_000]
    assert growth_exponent(counts, [3e-4 * c ** 1.5 for c in counts]) == pytest.approx(1.5, abs=1e-9)
    assert growth_exponent(counts, [2.0 + 0 * c for c in counts]) == pytest.approx(0.0, abs=1e-9)


def test_targets_are_judged_on_the_worst_figure_and_the_biggest_net():
    from run import target_rows
    rows = target_rows(code_rows=[("a", 1.05, 1.2)], numpy_rows=[("a", 1, 3.0), ("a", 32, 1.09), ("a", 256, 1.11)],
                       counts=[100_000, 10], totals=[29.0, 40.0], exponent=1.2)
    verdicts = {target: met for target, _, met in rows}
    assert [met for _, _, met in rows] == [False, True, False, True, False]
    assert not any("batch 1 " in target for target in verdicts)   # batch 1 is outside the NumPy target
    assert rows[3][1] == "29.0 s"                                   # the biggest net, not the slowest


def test_the_xor_epochs_count_trains_with_the_optimizer_it_names():
    """benchmarks/xor_epochs.py's module trains with its [optimizer]: one train_step is that rule's step, by hand."""
    from xor_epochs import OPTIMIZERS, X, Y, epochs_to_truth_table, module_for
    module = module_for(OPTIMIZERS["momentum"])
    assert module.OPTIMIZER["kind"] == "momentum"
    params = module.init_params(0)
    state = module.init_state(params)
    g = module.gradients(params, X, Y)
    after, state = module.train_step(params, state, X, Y)
    for key in params:     # b₁ = μ·0 + g, θ₁ = θ₀ − η b₁ (dampening 0)
        np.testing.assert_allclose(after[key], params[key] - 0.5 * g[key], rtol=1e-14, atol=1e-15)
    assert epochs_to_truth_table(module, 0, cap=3) is None    # not within 3 epochs from Glorot weights


@pytest.mark.parametrize("inputs, hidden, outputs, activation", SCALING_NETS)
def test_the_scaling_benchmark_writes_valid_specs_of_the_sizes_it_reports(tmp_path, inputs, hidden, outputs, activation):
    """benchmarks/toolkit_scaling.py's specs load (within the parameter cap) with the sizes its table names."""
    spec = tmp_path / "net.toml"
    spec.write_text(spec_text("net", inputs, hidden, outputs, activation))
    network = load_spec(spec)
    assert tuple(network.sizes) == (inputs, hidden, outputs)
    assert network.n_params == hidden * (inputs + 1) + outputs * (hidden + 1)
