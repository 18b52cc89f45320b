"""The one random generator (SplitMix64), the init schemes and train's shuffling (issue 14, items 3 and 5).

Expected values come from outside the code under test: SplitMix64's published outputs (Rosetta
Code "Pseudo-random numbers/Splitmix64", the sequence of Steele, Lea and Flood's paper), a
re-implementation written here with % 2**64 instead of masks, the Glorot/He formulas of
torch.nn.init and Keras written by hand and checked against torch itself when installed,
mpmath for the Box–Muller transform, and lecture 004 for the symmetry that zeros leaves.
"""
from __future__ import annotations

import copy
import math
import subprocess
import sys
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest

from c_harness import CNet, compile_c
from conftest import import_file
from deltagen.codegen import render, write_files
from deltagen.derive import derive, spec_from_dict
from deltagen.derive.errors import SpecError

TWO64 = 2 ** 64
SCHEMES = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "uniform", "normal", "zeros")
SEEDS = (0, 1, 12345, 2 ** 32 + 5, 2 ** 64 - 1)


def reference_draws(seed: int, count: int, skip: int = 0) -> list[int]:
    """SplitMix64 as its paper writes it: s += γ, then z = mix(s), all mod 2^64 (no masks, no code shared)."""
    s, out = (seed + skip * 0x9E3779B97F4A7C15) % TWO64, []
    for _ in range(count):
        s = (s + 0x9E3779B97F4A7C15) % TWO64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % TWO64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % TWO64
        out.append(z ^ (z >> 31))
    return out


class Reference:
    """The README's doubles from reference_draws, computed with Fractions where they are exact."""

    def __init__(self, seed: int, skip: int = 0) -> None:
        self.seed, self.used = seed, skip

    def draw(self) -> int:
        self.used += 1
        return reference_draws(self.seed, 1, self.used - 1)[0]

    def uniform(self) -> float:
        value = Fraction(self.draw() >> 11, 2 ** 53)   # exact, and exactly a double
        return float(value)

    def normal(self) -> float:
        u1, u2 = self.uniform(), self.uniform()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2 * math.pi * u2)

    def permutation(self, n: int) -> list[int]:
        order = list(range(n))
        for i in reversed(range(1, n)):
            j = self.draw() % (i + 1)
            order[i], order[j] = order[j], order[i]
        return order


def net_spec(name: str, init: str | None = None, **extra) -> dict:
    spec = {"name": name, "input": 3, "loss": "half_sse",
            "layers": [{"units": 4, "activation": "relu"}, {"units": 2, "activation": "identity", "bias": False}]}
    if init is not None:
        spec["init"] = init
    spec.update(extra)
    return spec


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """build(spec, target) → the imported NumPy module, or the folder holding NAME.c and NAME.h."""
    cache: dict = {}

    def make(spec: dict, target: str = "numpy"):
        key = (repr(sorted(spec.items())), target)
        if key not in cache:
            out = tmp_path_factory.mktemp(spec["name"])
            write_files(render(derive(spec_from_dict(spec)), target), out)
            cache[key] = import_file(out / f"{spec['name']}.py") if target == "numpy" else out
        return cache[key]
    return make


def c_net(build, spec: dict, real: str, tmp_path) -> CNet:
    folder = build(spec, "c")
    name = spec["name"]
    library = compile_c([folder / f"{name}.c"], tmp_path / f"{name}_{real}.so", name, real=real)
    module = build(spec)
    return CNet(library, name, dict(module.PARAM_SHAPES), real=real)


# ---------------------------------------------------------------- the generator

def test_published_splitmix64_outputs(build):
    """Rosetta Code's SplitMix64 task: seed 1234567 gives these five integers (also the paper's sequence)."""
    module = build(net_spec("rand_vectors"))
    generator = module.SplitMix64(1234567)
    assert [generator.next_u64() for _ in range(5)] == [
        6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821]


def test_published_uniform_histogram(build):
    """Rosetta Code's second check: seed 987654321, 100 000 floats, counts of floor(5u) = 20027 19892 20073 19978 20030.

    Rosetta divides the whole draw by 2^64; the README's u keeps its top 53 bits, which moves no
    draw across a k/5 boundary here, so the published counts hold for u too.
    """
    generator = build(net_spec("rand_vectors")).SplitMix64(987654321)
    counts = [0] * 5
    for _ in range(100_000):
        counts[int(generator.uniform() * 5)] += 1
    assert counts == [20027, 19892, 20073, 19978, 20030]


@pytest.mark.parametrize("seed", [0, 1, 42, 2 ** 63 + 11, 2 ** 64 - 1, 2 ** 64 + 7, -1])
def test_draws_match_the_reference_and_skip_jumps_ahead(build, seed):
    """The first 200 draws of every seed (taken mod 2^64) match; skip=k starts at draw k."""
    module = build(net_spec("rand_vectors"))
    generator = module.SplitMix64(seed)
    expected = reference_draws(seed, 200)
    assert [generator.next_u64() for _ in range(200)] == expected
    later = module.SplitMix64(seed, skip=37)
    assert [later.next_u64() for _ in range(20)] == expected[37:57]


def test_uniform_is_the_top_53_bits_exactly(build):
    module = build(net_spec("rand_vectors"))
    generator = module.SplitMix64(7)
    for draw in reference_draws(7, 500):
        u = generator.uniform()
        assert Fraction(u) == Fraction(draw >> 11, 2 ** 53)
        assert 0.0 <= u < 1.0


def test_normal_is_box_muller_of_two_uniforms(build):
    """n = √(−2 ln(1 − u1)) cos(2π u2), u1 first, evaluated in 40 digits by mpmath: within a few ulps."""
    module = build(net_spec("rand_vectors"))
    generator = module.SplitMix64(99)
    draws = iter(reference_draws(99, 400))
    with mp.workdps(40):
        for _ in range(200):
            u1 = mp.mpf(next(draws) >> 11) / 2 ** 53
            u2 = mp.mpf(next(draws) >> 11) / 2 ** 53
            exact = mp.sqrt(-2 * mp.log(1 - u1)) * mp.cos(2 * mp.pi * u2)
            assert generator.normal() == pytest.approx(float(exact), rel=1e-14, abs=1e-15)


def test_statistics_of_ten_thousand_draws(build):
    """Fixed seeds, so deterministic; the bounds are about 3.5 standard errors wide."""
    module = build(net_spec("rand_vectors"))
    generator = module.SplitMix64(3)
    uniform = np.array([generator.uniform() for _ in range(10_000)])
    assert abs(uniform.mean() - 0.5) < 0.01
    assert abs(uniform.var() - 1 / 12) < 0.005
    generator = module.SplitMix64(4)
    normal = np.array([generator.normal() for _ in range(10_000)])
    assert abs(normal.mean()) < 0.035
    assert abs(normal.var() - 1) < 0.05
    assert abs(np.mean(np.abs(normal) < 1) - 0.6827) < 0.016   # Φ(1) − Φ(−1)


# ---------------------------------------------------------------- init schemes

def hand_scale(init: str, fan_in: int, fan_out: int, epsilon: float = 0.01) -> float:
    """torch.nn.init / Keras: bound r of U[−r, r] or std σ of N(0, σ²), He with gain √2 (relu) and mode fan_in."""
    return {"glorot_uniform": math.sqrt(6 / (fan_in + fan_out)), "glorot_normal": math.sqrt(2 / (fan_in + fan_out)),
            "he_uniform": math.sqrt(6 / fan_in), "he_normal": math.sqrt(2 / fan_in),
            "uniform": epsilon, "normal": epsilon, "zeros": 0.0}[init]


@pytest.mark.parametrize("init", SCHEMES)
def test_init_params_draws_each_scheme_as_documented(build, init):
    """Weights W1 then W2, row by row, r·(2u − 1) or σ·n from the reference generator; biases 0."""
    module = build(net_spec(f"rand_{init}", init))
    for seed in (0, 5):
        params = module.init_params(seed)
        reference = Reference(seed)
        assert set(params) == {"W1", "b1", "W2"}
        assert np.array_equal(params["b1"], np.zeros((4, 1)))
        for key, (fan_out, fan_in) in (("W1", (4, 3)), ("W2", (2, 4))):
            r = hand_scale(init, fan_in, fan_out)
            draw = reference.normal if "normal" in init else reference.uniform
            expected = [0.0 if init == "zeros" else (r * draw() if "normal" in init else r * (2 * draw() - 1))
                        for _ in range(fan_out * fan_in)]
            np.testing.assert_allclose(params[key], np.reshape(expected, (fan_out, fan_in)), rtol=1e-15, atol=0)
    draws = {"zeros": 0}.get(init, 2 if "normal" in init else 1)
    assert module.INIT_DRAWS == draws * (12 + 8)


@pytest.mark.parametrize("init", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal"])
def test_printed_scale_is_the_correctly_rounded_formula(build, init):
    """The constant in init_params is r or σ rounded once from its exact value (mpmath, 50 digits)."""
    module = build(net_spec(f"rand_{init}", init))
    with mp.workdps(50):
        exact = {"glorot_uniform": mp.sqrt(mp.mpf(6) / 7), "glorot_normal": mp.sqrt(mp.mpf(2) / 7),
                 "he_uniform": mp.sqrt(2), "he_normal": mp.sqrt(mp.mpf(2) / 3)}[init]   # W1: fan_in 3, fan_out 4
        rounded = float(exact)
    source = open(module.__file__).read()
    assert f'"W1": _weights(generator, {rounded!r}, (4, 3))' in source


def test_uniform_and_normal_read_init_scale(build):
    uniform = build(net_spec("rand_eps_u", "uniform", init_scale=0.25)).init_params(3)
    reference = Reference(3)
    assert uniform["W1"][0, 0] == 0.25 * (2 * reference.uniform() - 1)
    assert np.max(np.abs(uniform["W1"])) <= 0.25
    normal = build(net_spec("rand_eps_n", "normal", init_scale=0.25)).init_params(3)
    reference = Reference(3)
    assert normal["W1"][0, 0] == 0.25 * reference.normal()


@pytest.mark.parametrize("init,std", [("glorot_uniform", math.sqrt(6 / 500) / math.sqrt(3)),
                                      ("glorot_normal", math.sqrt(2 / 500)),
                                      ("he_uniform", math.sqrt(6 / 200) / math.sqrt(3)),
                                      ("he_normal", math.sqrt(2 / 200))])
def test_spread_of_a_large_layer(build, init, std):
    """A 300 × 200 layer: the sample std of its 60 000 weights is within 2% of the scheme's σ (U[−r, r]: r/√3)."""
    spec = {"name": f"rand_big_{init}", "input": 200, "init": init, "loss": "half_sse",
            "layers": [{"units": 300, "activation": "relu"}]}
    weights = build(spec).init_params(1)["W1"]
    assert weights.std() == pytest.approx(std, rel=0.02)
    assert abs(weights.mean()) < 0.05 * std
    torch = pytest.importorskip("torch")
    reference = torch.empty(300, 200, dtype=torch.float64)
    torch.manual_seed(0)
    {"glorot_uniform": lambda t: torch.nn.init.xavier_uniform_(t),
     "glorot_normal": lambda t: torch.nn.init.xavier_normal_(t),
     "he_uniform": lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu"),
     "he_normal": lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="relu")}[init](reference)
    assert weights.std() == pytest.approx(float(reference.std()), rel=0.03)


def test_zeros_leaves_the_hidden_units_symmetric(build):
    """Lecture 004: with equal initial weights both hidden units get identical gradients at every step,
    so they stay copies of each other (the net has one hidden unit in effect); glorot_uniform breaks the tie.

    The targets are OR's: XOR's are balanced, so from zeros every gradient is 0 and nothing moves at all.
    """
    spec = {"name": "rand_xor_zeros", "input": 2, "init": "zeros", "loss": "half_sse",
            "layers": [{"units": 2, "activation": "sigmoid"}, {"units": 1, "activation": "sigmoid"}]}
    X = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
    Y = np.array([[0.0, 1.0, 1.0, 1.0]])
    module = build(spec)
    params = module.init_params(0)
    assert all(np.all(value == 0) for value in params.values())
    for _ in range(200):
        grads = module.gradients(params, X, Y)
        assert np.array_equal(grads["W1"][0], grads["W1"][1]) and grads["b1"][0, 0] == grads["b1"][1, 0]
        assert grads["W2"][0, 0] == grads["W2"][0, 1]
        params = module.sgd_step(params, X, Y, 2.0)
    assert np.array_equal(params["W1"][0], params["W1"][1])
    assert np.all(params["W1"] != 0)   # it did train: the symmetry, not a frozen net, is what the test shows
    glorot = build(dict(spec, name="rand_xor_glorot", init="glorot_uniform")).init_params(0)
    assert not np.array_equal(glorot["W1"][0], glorot["W1"][1])


# ---------------------------------------------------------------- NumPy == C, bit for bit

@pytest.mark.parametrize("init", SCHEMES)
def test_c_init_params_equals_numpy_bit_for_bit(build, init, tmp_path):
    spec = net_spec(f"rand_{init}", init)
    module = build(spec)
    double = c_net(build, spec, "double", tmp_path)
    single = c_net(build, spec, "float", tmp_path)
    for seed in SEEDS:
        expected = module.init_params(seed)
        got, got_float = double.init_params(seed), single.init_params(seed)
        for key in expected:
            assert np.array_equal(got[key], expected[key]), (key, seed)       # == on every entry
            # a float build casts each double once
            assert np.array_equal(got_float[key], expected[key].astype(np.float32).astype(np.float64)), (key, seed)


def test_c_matches_numpy_in_loop_form_with_a_scale(build, tmp_path):
    """A layer large enough for the C's loop form, init = normal with init_scale."""
    spec = {"name": "rand_loops", "input": 9, "init": "normal", "init_scale": 0.3, "loss": "half_sse",
            "layers": [{"units": 7, "activation": "tanh"}, {"units": 3, "activation": "identity"}]}
    module, net = build(spec), c_net(build, spec, "double", tmp_path)
    for seed in (2, 2 ** 40 + 1):
        expected, got = module.init_params(seed), net.init_params(seed)
        assert all(np.array_equal(got[key], expected[key]) for key in expected)


# ---------------------------------------------------------------- shuffling

def test_permutation_is_fisher_yates_on_the_generator(build):
    module = build(net_spec("rand_vectors"))
    generator, reference = module.SplitMix64(11), Reference(11)
    for n in (1, 2, 5, 10, 64):
        order = generator.permutation(n)
        assert sorted(order.tolist()) == list(range(n))
        assert order.tolist() == reference.permutation(n)
    assert generator.state == (11 + sum(n - 1 for n in (1, 2, 5, 10, 64)) * 0x9E3779B97F4A7C15) % TWO64
    again = module.SplitMix64(11)
    first, second = again.permutation(10), again.permutation(10)
    assert first.tolist() == module.SplitMix64(11).permutation(10).tolist()   # deterministic per seed
    assert first.tolist() != second.tolist()                                    # a new order each epoch


def test_train_shuffles_each_epoch_after_the_init_draws(build):
    """train(seed=s) = sgd_step on the batches of Reference(s, skip=INIT_DRAWS).permutation(m), epoch after epoch."""
    spec = net_spec("rand_train", "glorot_uniform")
    module = build(spec)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(3, 7)), rng.normal(size=(2, 7))
    params = module.init_params(4)
    trained, costs = module.train(params, X, Y, 0.05, epochs=3, batch_size=3, seed=4)
    reference, expected, orders = Reference(4, skip=module.INIT_DRAWS), copy.deepcopy(params), []
    for _ in range(3):
        order = reference.permutation(7)
        orders.append(order)
        for start in range(0, 7, 3):
            batch = order[start:start + 3]
            expected = module.sgd_step(expected, X[:, batch], Y[:, batch], 0.05)
    assert len({tuple(o) for o in orders}) == 3   # the epochs took different orders
    assert all(np.array_equal(trained[key], expected[key]) for key in expected)
    assert costs[-1] == module.cost(expected, X, Y)
    again, _ = module.train(params, X, Y, 0.05, epochs=3, batch_size=3, seed=4)
    assert all(np.array_equal(again[key], trained[key]) for key in trained)
    other, _ = module.train(params, X, Y, 0.05, epochs=3, batch_size=3, seed=5)
    assert any(not np.array_equal(other[key], trained[key]) for key in trained)
    in_order, _ = module.train(params, X, Y, 0.05, epochs=3, batch_size=3)
    expected = copy.deepcopy(params)
    for _ in range(3):
        for start in range(0, 7, 3):
            expected = module.sgd_step(expected, X[:, start:start + 3], Y[:, start:start + 3], 0.05)
    assert all(np.array_equal(in_order[key], expected[key]) for key in expected)
    with pytest.raises(ValueError, match="seed must be None"):
        module.train(params, X, Y, 0.05, epochs=1, seed=1.5)


# ---------------------------------------------------------------- the spec keys

@pytest.mark.parametrize("extra,field,words", [
    ({"init": "xavier_uniform"}, "init", "did you mean 'glorot_uniform'"),
    ({"init": 3}, "init", "expected one of glorot_uniform, glorot_normal"),
    ({"init": "he_normal", "init_scale": 0.1}, "init_scale", "expected no init_scale"),
    ({"init_scale": 0.1}, "init_scale", "got init 'glorot_uniform'"),
    ({"init": "zeros", "init_scale": 0.1}, "init_scale", "got init 'zeros'"),
    ({"init": "uniform", "init_scale": 0}, "init_scale", "expected a finite number > 0"),
    ({"init": "normal", "init_scale": float("inf")}, "init_scale", "expected a finite number > 0"),
    ({"init": "normal", "init_scale": True}, "init_scale", "expected a finite number > 0"),
])
def test_bad_init_keys_are_one_line_errors(extra, field, words):
    with pytest.raises(SpecError) as caught:
        spec_from_dict(net_spec("rand_bad", **extra))
    assert caught.value.field == field and words in str(caught.value) and "\n" not in str(caught.value)


def test_defaults_and_command_line_error(tmp_path):
    assert spec_from_dict(net_spec("rand_default")).init.name == "glorot_uniform"
    assert spec_from_dict(net_spec("rand_eps", "normal")).init.scale == 0.01
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "bad"\ninput = 2\nlayers = [{ units = 1, activation = "sigmoid" }]\n'
                    'loss = "half_sse"\ninit = "he_uniform"\ninit_scale = 0.5\n')
    run = subprocess.run([sys.executable, "-m", "deltagen.cli", "generate", str(spec), "--target", "numpy",
                          "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "init_scale: expected no init_scale" in run.stderr
