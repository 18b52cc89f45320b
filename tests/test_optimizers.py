"""Optimizers and learning-rate decay in the spec and the generated NumPy module (issue 14).

Expected numbers come from published course tests (CS231n assignment 2 ``optim.py``
checks, as copied in TylerYep/edutorch tests/optim/*_test.py; deeplearning.ai
"Optimization methods" public_tests.py), from an mpmath re-implementation of
DESIGN.md's optimizer table written here, from hand-computed schedules, and from
torch.optim when it is installed.
"""
from __future__ import annotations

import copy
import tomllib
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest

from conftest import ROOT, import_file
from deltagen.codegen import render, write_files
from deltagen.derive import derive, spec_from_dict

XOR_SPEC = tomllib.loads((ROOT / "generated" / "lecture_xor" / "spec.toml").read_text())
X_XOR = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
Y_XOR = np.array([[0.0, 1.0, 1.0, 0.0]])


def linear(name: str, n_in: int, units: list[int], bias: bool = True) -> dict:
    """Identity layers: only the parameter shapes matter to update()."""
    return {"name": name, "input": n_in, "loss": "half_sse",
            "layers": [{"units": u, "activation": "identity", "bias": bias} for u in units]}


def generate(tmp_path_factory, spec: dict, target: str = "numpy"):
    out = tmp_path_factory.mktemp(spec["name"])
    write_files(render(derive(spec_from_dict(spec)), target), out)
    return import_file(out / f"{spec['name']}.py") if target == "numpy" else out


# ---------------------------------------------------------------- published course tests

N, D = 4, 5
W_231 = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
DW_231 = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
STATE_231 = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)


@pytest.fixture(scope="module")
def cs231n(tmp_path_factory):
    """One 5 → 4 layer without bias: its only parameter W1 has the (4, 5) shape of the CS231n tests."""
    net = linear("opt_cs231n", D, [N], bias=False)
    return {kind: generate(tmp_path_factory, {**net, "name": f"opt_cs231n_{kind}", "optimizer": optimizer})
            for kind, optimizer in {
                "momentum": {"kind": "momentum", "learning_rate": 1e-3, "momentum": 0.9, "dampening": 0.0},
                "rmsprop": {"kind": "rmsprop", "learning_rate": 1e-2, "alpha": 0.99, "epsilon": 1e-8},
                "adam": {"kind": "adam", "learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
            }.items()}


def test_cs231n_sgd_momentum(cs231n):
    # CS231n: v ← μ v − η dw, w ← w + v. With a constant η that is torch's rule with
    # dampening 0 and b = −v/η: b ← μ b + g, θ ← θ − η b.
    module, eta = cs231n["momentum"], 1e-3
    state = {"step": 1, "learning_rate": eta, "momentum_buffer": {"W1": -STATE_231 / eta}}
    params, state = module.update({"W1": W_231}, {"W1": DW_231}, state)
    expected_next_w = [[0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
                       [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
                       [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
                       [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]]
    expected_velocity = [[0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
                         [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
                         [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
                         [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]]
    np.testing.assert_allclose(params["W1"], expected_next_w, rtol=0, atol=6e-9)
    np.testing.assert_allclose(-eta * state["momentum_buffer"]["W1"], expected_velocity, rtol=0, atol=6e-9)
    assert state["step"] == 2


def test_cs231n_rmsprop(cs231n):
    state = {"step": 3, "learning_rate": 1e-2, "square_avg": {"W1": STATE_231}}
    params, state = cs231n["rmsprop"].update({"W1": W_231}, {"W1": DW_231}, state)
    expected_next_w = [[-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
                       [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
                       [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
                       [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]]
    expected_cache = [[0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
                      [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
                      [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
                      [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]]
    np.testing.assert_allclose(params["W1"], expected_next_w, rtol=0, atol=6e-9)
    np.testing.assert_allclose(state["square_avg"]["W1"], expected_cache, rtol=0, atol=6e-9)


def test_cs231n_adam_at_step_six(cs231n):
    # CS231n's config t = 5 is the step count before the update, as torch's state["step"]
    m0 = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    v0 = np.linspace(0.7, 0.5, num=N * D).reshape(N, D)
    state = {"step": 5, "learning_rate": 1e-2, "exp_avg": {"W1": m0}, "exp_avg_sq": {"W1": v0}}
    params, state = cs231n["adam"].update({"W1": W_231}, {"W1": DW_231}, state)
    expected_next_w = [[-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
                       [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
                       [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
                       [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]]
    expected_v = [[0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
                  [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
                  [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
                  [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]]
    expected_m = [[0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
                  [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
                  [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
                  [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]]
    np.testing.assert_allclose(params["W1"], expected_next_w, rtol=0, atol=6e-9)
    np.testing.assert_allclose(state["exp_avg"]["W1"], expected_m, rtol=0, atol=6e-9)
    np.testing.assert_allclose(state["exp_avg_sq"]["W1"], expected_v, rtol=0, atol=6e-9)
    assert state["step"] == 6


def dlai_case():
    """deeplearning.ai's test case: np.random.seed(1), then W1, b1, W2, b2, dW1, db1, dW2, db2 by randn."""
    rng = np.random.RandomState(1)
    shapes = {"W1": (2, 3), "b1": (2, 1), "W2": (3, 3), "b2": (3, 1)}
    params = {key: rng.randn(*shape) for key, shape in shapes.items()}
    grads = {key: rng.randn(*shape) for key, shape in shapes.items()}
    return params, grads


# the course's W1 (2, 3) and W2 (3, 3) do not chain; a 3 → 3 → 2 net has both shapes, swapped
DLAI_NAMES = {"W1": "W2", "b1": "b2", "W2": "W1", "b2": "b1"}


def dlai_step(tmp_path_factory, optimizer: dict, step: int):
    module = generate(tmp_path_factory, {**linear(f"opt_dlai_{optimizer['kind']}", 3, [3, 2]), "optimizer": optimizer})
    params, grads = dlai_case()
    ours = {DLAI_NAMES[key]: value for key, value in params.items()}
    state = {**module.init_state(ours), "step": step}
    new, state = module.update(ours, {DLAI_NAMES[key]: value for key, value in grads.items()}, state)
    back = {value: key for key, value in DLAI_NAMES.items()}
    return ({back[key]: value for key, value in new.items()},
            {name: {back[key]: value for key, value in buffer.items()} for name, buffer in state.items()
             if isinstance(buffer, dict)})


def test_deeplearning_ai_momentum_is_momentum_with_dampening_equal_to_mu(tmp_path_factory):
    # the course's v ← β v + (1 − β) dW, W ← W − α v is the EMA form: dampening = μ = β
    params, state = dlai_step(tmp_path_factory, {"kind": "momentum", "learning_rate": 0.01, "momentum": 0.9,
                                                 "dampening": 0.9}, step=0)
    expected = {"W1": [[1.62544598, -0.61290114, -0.52907334], [-1.07347112, 0.86450677, -2.30085497]],
                "b1": [[1.74493465], [-0.76027113]],
                "W2": [[0.31930698, -0.24990073, 1.4627996], [-2.05974396, -0.32173003, -0.38320915],
                       [1.13444069, -1.0998786, -0.1713109]],
                "b2": [[-0.87809283], [0.04055394], [0.58207317]]}
    expected_v = {"W1": [[-0.11006192, 0.11447237, 0.09015907], [0.05024943, 0.09008559, -0.06837279]],
                  "W2": [[-0.02678881, 0.05303555, -0.06916608], [-0.03967535, -0.06871727, -0.08452056],
                         [-0.06712461, -0.00126646, -0.11173103]],
                  "b1": [[-0.01228902], [-0.09357694]],
                  "b2": [[0.02344157], [0.16598022], [0.07420442]]}
    for key in expected:
        np.testing.assert_allclose(params[key], expected[key], rtol=0, atol=6e-9, err_msg=key)
        np.testing.assert_allclose(state["momentum_buffer"][key], expected_v[key], rtol=0, atol=6e-9, err_msg=key)


def test_deeplearning_ai_adam_with_other_betas_at_t_2(tmp_path_factory):
    # the course passes t = 2 with zero moments; torch's state then holds step 1 (t is incremented first)
    params, state = dlai_step(tmp_path_factory, {"kind": "adam", "learning_rate": 0.02, "beta1": 0.8,
                                                 "beta2": 0.888, "epsilon": 1e-2}, step=1)
    expected_v = {"W1": [[-0.22012384, 0.22894474, 0.18031814], [0.10049887, 0.18017119, -0.13674557]],
                  "W2": [[-0.05357762, 0.10607109, -0.13833215], [-0.07935071, -0.13743454, -0.16904113],
                         [-0.13424923, -0.00253292, -0.22346207]],
                  "b1": [[-0.02457805], [-0.18715389]],
                  "b2": [[0.04688314], [0.33196044], [0.14840883]]}
    expected_s = {"W1": [[0.13567261, 0.14676395, 0.09104097], [0.02828006, 0.09089264, 0.05235818]],
                  "W2": [[0.00803757, 0.03150302, 0.05358019], [0.0176303, 0.05288711, 0.08000973],
                         [5.04639932e-02, 1.79639114e-05, 1.39818830e-01]],
                  "b1": [[0.00169142], [0.09807442]],
                  "b2": [[0.00615448], [0.30855365], [0.06167051]]}
    # the course's later public_tests.py checks the first row of each parameter
    expected_first_rows = {"W1": [1.63942428, -0.6268425, -0.54320974], "W2": [0.33356139, -0.26425199, 1.47707772],
                           "b1": [1.75854357], "b2": [-0.89228024]}
    for key in expected_v:
        np.testing.assert_allclose(state["exp_avg"][key], expected_v[key], rtol=0, atol=6e-9, err_msg=key)
        np.testing.assert_allclose(state["exp_avg_sq"][key], expected_s[key], rtol=0, atol=6e-9, err_msg=key)
        np.testing.assert_allclose(params[key][0], expected_first_rows[key], rtol=0, atol=6e-9, err_msg=key)

    # An earlier public_tests.py expected W1 = [[1.63949493, -0.62691477, -0.54326465], ...]: that is
    # W − η v̂ / √(ŝ + ε), ε inside the square root (the classic mistake), not torch's √ŝ + ε.
    W1, dW1 = (value["W1"] for value in dlai_case())
    v_hat, s_hat = 0.2 * dW1 / (1 - 0.8 ** 2), 0.112 * dW1 ** 2 / (1 - 0.888 ** 2)
    inside = W1 - 0.02 * v_hat / np.sqrt(s_hat + 1e-2)
    np.testing.assert_allclose(inside[0], [1.63949493, -0.62691477, -0.54326465], rtol=0, atol=6e-9)
    assert np.abs(params["W1"] - inside).max() > 1e-5


def test_deeplearning_ai_decay_schedules(tmp_path_factory):
    """update_lr and schedule_lr_decay of the course: η / (1 + rate·⌊e / interval⌋)."""
    net = linear("opt_decay", 1, [1])
    every_epoch = generate(tmp_path_factory, {**net, "name": "opt_decay_1", "optimizer": {
        "kind": "sgd", "learning_rate": 0.5, "decay": {"kind": "inverse_time", "rate": 1}}})
    assert every_epoch.learning_rate_at(2) == pytest.approx(0.16666666666666666, rel=1e-15)
    assert every_epoch.learning_rate_at(2, 1.0) == pytest.approx(1 / 3, rel=1e-15)
    interval = generate(tmp_path_factory, {**net, "name": "opt_decay_100", "optimizer": {
        "kind": "sgd", "learning_rate": 0.5, "decay": {"kind": "inverse_time", "rate": 1, "interval": 100}}})
    assert interval.learning_rate_at(100) == 0.25
    assert interval.learning_rate_at(10) == 0.5
    quarter = generate(tmp_path_factory, {**net, "name": "opt_decay_quarter", "optimizer": {
        "kind": "sgd", "learning_rate": 0.3, "decay": {"kind": "inverse_time", "rate": 0.25, "interval": 100}}})
    assert quarter.learning_rate_at(1000) == pytest.approx(0.085714285, abs=1e-9)
    assert quarter.learning_rate_at(100) == pytest.approx(0.24, rel=1e-15)
    for epoch in range(0, 450, 7):   # exact arithmetic: 0.3 / (1 + ⌊e/100⌋/4)
        exact = Fraction(3, 10) / (1 + Fraction(1, 4) * (epoch // 100))
        assert quarter.learning_rate_at(epoch) == pytest.approx(float(exact), rel=2e-16, abs=0)


# ---------------------------------------------------------------- an independent re-implementation

#: non-default hyperparameters for every kind (DESIGN.md's optimizer table reads them)
KINDS = {
    "sgd": {"learning_rate": 0.07},
    "momentum": {"learning_rate": 0.05, "momentum": 0.8, "dampening": 0.3},
    "nesterov": {"learning_rate": 0.04, "momentum": 0.7},
    "adagrad": {"learning_rate": 0.2, "epsilon": 1e-6},
    "rmsprop": {"learning_rate": 0.03, "alpha": 0.9, "epsilon": 1e-6},
    "adam": {"learning_rate": 0.01, "beta1": 0.85, "beta2": 0.99, "epsilon": 1e-6},
}
BUFFERS = {"sgd": (), "momentum": ("momentum_buffer",), "nesterov": ("momentum_buffer",), "adagrad": ("sum",),
           "rmsprop": ("square_avg",), "adam": ("exp_avg", "exp_avg_sq")}


def reference_step(kind: str, h: dict, eta, theta, g, buffers: dict, t: int):
    """One step of DESIGN.md's table for one entry, in mpmath: (θ, buffers, t)."""
    mp_ = {key: mp.mpf(value) for key, value in h.items()}
    t += 1
    if kind == "sgd":
        return theta - eta * g, buffers, t
    if kind == "momentum":
        b = mp_["momentum"] * buffers["momentum_buffer"] + (1 - mp_["dampening"]) * g
        return theta - eta * b, {"momentum_buffer": b}, t
    if kind == "nesterov":
        b = mp_["momentum"] * buffers["momentum_buffer"] + g
        return theta - eta * (g + mp_["momentum"] * b), {"momentum_buffer": b}, t
    if kind == "adagrad":
        G = buffers["sum"] + g ** 2
        return theta - eta * g / (mp.sqrt(G) + mp_["epsilon"]), {"sum": G}, t
    if kind == "rmsprop":
        v = mp_["alpha"] * buffers["square_avg"] + (1 - mp_["alpha"]) * g ** 2
        return theta - eta * g / (mp.sqrt(v) + mp_["epsilon"]), {"square_avg": v}, t
    m = mp_["beta1"] * buffers["exp_avg"] + (1 - mp_["beta1"]) * g
    v = mp_["beta2"] * buffers["exp_avg_sq"] + (1 - mp_["beta2"]) * g ** 2
    m_hat, v_hat = m / (1 - mp_["beta1"] ** t), v / (1 - mp_["beta2"] ** t)
    return theta - eta * m_hat / (mp.sqrt(v_hat) + mp_["epsilon"]), {"exp_avg": m, "exp_avg_sq": v}, t


class Reference:
    """The optimizer of DESIGN.md over whole params dicts, entry by entry at 40 digits."""

    def __init__(self, kind: str, params: dict):
        self.kind, self.h, self.t = kind, {k: v for k, v in KINDS[kind].items() if k != "learning_rate"}, 0
        self.params = {key: np.vectorize(mp.mpf, otypes=[object])(value) for key, value in params.items()}
        self.buffers = {name: {key: np.full(value.shape, mp.mpf(0), dtype=object) for key, value in params.items()}
                        for name in BUFFERS[kind]}

    def step(self, grads: dict, eta: float) -> None:
        with mp.workdps(40):
            self._step(grads, eta)

    def _step(self, grads: dict, eta: float) -> None:
        t = self.t
        for key, theta in self.params.items():
            for index in np.ndindex(theta.shape):
                entry = {name: buffer[key][index] for name, buffer in self.buffers.items()}
                theta[index], entry, t = reference_step(self.kind, self.h, mp.mpf(eta), theta[index],
                                                        mp.mpf(grads[key][index]), entry, self.t)
                for name, value in entry.items():
                    self.buffers[name][key][index] = value
        self.t = t


def close(ours: np.ndarray, reference: np.ndarray, what: str) -> None:
    reference = np.array(reference.tolist(), dtype=float)
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-15, err_msg=what)


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    """lecture_xor's net with each optimizer and the hyperparameters of KINDS."""
    return {kind: generate(tmp_path_factory, {**XOR_SPEC, "name": f"xor_{kind}",
                                              "optimizer": {"kind": kind, **hyper}})
            for kind, hyper in KINDS.items()}


@pytest.mark.parametrize("kind", list(KINDS))
def test_update_matches_an_mpmath_reimplementation_of_the_table(modules, kind):
    module = modules[kind]
    rng = np.random.default_rng(14)
    params = {key: rng.normal(size=shape) for key, shape in module.PARAM_SHAPES.items()}
    reference = Reference(kind, params)
    state = module.init_state(params)
    assert state["step"] == 0 and state["learning_rate"] == KINDS[kind]["learning_rate"]
    assert set(state) == {"step", "learning_rate", *BUFFERS[kind]}
    for step in range(1, 6):
        grads = {key: rng.normal(size=shape) for key, shape in module.PARAM_SHAPES.items()}
        params, state = module.update(params, grads, state)
        reference.step(grads, KINDS[kind]["learning_rate"])
        assert state["step"] == step
        for key in params:
            close(params[key], reference.params[key], f"{kind} step {step} {key}")
            for name in BUFFERS[kind]:
                close(state[name][key], reference.buffers[name][key], f"{kind} step {step} {name}[{key}]")


def test_training_carries_the_state_across_batches_and_epochs(tmp_path_factory):
    # adam with exponential decay; m = 4 in batches of 3 and 1, for 3 epochs: 6 steps, t up to 6
    spec = {**XOR_SPEC, "name": "xor_adam_decay",
            "optimizer": {"kind": "adam", **KINDS["adam"], "decay": {"kind": "exponential", "rate": 0.5}}}
    module = generate(tmp_path_factory, spec)
    assert [module.learning_rate_at(e) for e in range(3)] == [0.01, 0.005, 0.0025]
    rng = np.random.default_rng(2)
    start = {key: rng.normal(size=shape) for key, shape in module.PARAM_SHAPES.items()}
    trained, costs = module.train(start, X_XOR, Y_XOR, None, epochs=3, batch_size=3)

    reference = Reference("adam", start)
    for epoch in range(3):
        for columns in (slice(0, 3), slice(3, 4)):
            current = {key: np.array(value.tolist(), dtype=float) for key, value in reference.params.items()}
            reference.step(module.gradients(current, X_XOR[:, columns], Y_XOR[:, columns]), 0.01 * 0.5 ** epoch)
    assert reference.t == 6
    for key in trained:
        close(trained[key], reference.params[key], key)
    assert len(costs) == 3 and costs[-1] == module.cost(trained, X_XOR, Y_XOR)


def test_update_leaves_its_inputs_alone(modules):
    module = modules["adam"]
    rng = np.random.default_rng(5)
    params = {key: rng.normal(size=shape) for key, shape in module.PARAM_SHAPES.items()}
    grads = {key: rng.normal(size=shape) for key, shape in module.PARAM_SHAPES.items()}
    state = module.update(params, grads, module.init_state(params))[1]
    before = copy.deepcopy((params, grads, state))
    new_params, new_state = module.update(params, grads, state)
    for old, kept in zip((params, grads, state), before):
        for key in kept:
            assert np.array_equal(old[key], kept[key]) if not isinstance(kept[key], dict) else all(
                np.array_equal(old[key][k], kept[key][k]) for k in kept[key]), key
    assert new_state["step"] == state["step"] + 1
    assert not np.array_equal(new_params["W1"], params["W1"])


def test_torch_optim_gives_the_same_steps(modules, tmp_path_factory):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch to run this comparison)")
    # torch.optim.SGD copies g into the buffer at the first step: with dampening 0 that is DESIGN.md's
    # b ← μ·0 + (1 − 0) g, so the comparison takes dampening 0 (the difference is checked below)
    undamped = {**KINDS["momentum"], "dampening": 0.0}
    modules = {**modules, "momentum": generate(tmp_path_factory, {**XOR_SPEC, "name": "xor_momentum_undamped",
                                                                  "optimizer": {"kind": "momentum", **undamped}})}
    makers = {
        "sgd": lambda p, h: torch.optim.SGD(p, lr=h["learning_rate"]),
        "momentum": lambda p, h: torch.optim.SGD(p, lr=h["learning_rate"], momentum=h["momentum"]),
        "nesterov": lambda p, h: torch.optim.SGD(p, lr=h["learning_rate"], momentum=h["momentum"], nesterov=True),
        "adagrad": lambda p, h: torch.optim.Adagrad(p, lr=h["learning_rate"], eps=h["epsilon"]),
        "rmsprop": lambda p, h: torch.optim.RMSprop(p, lr=h["learning_rate"], alpha=h["alpha"], eps=h["epsilon"]),
        "adam": lambda p, h: torch.optim.Adam(p, lr=h["learning_rate"], betas=(h["beta1"], h["beta2"]),
                                              eps=h["epsilon"]),
    }
    for kind, make in makers.items():
        module, hyper = modules[kind], undamped if kind == "momentum" else KINDS[kind]
        rng = np.random.default_rng(7)
        params = {key: rng.normal(size=shape) for key, shape in module.PARAM_SHAPES.items()}
        tensors = {key: torch.tensor(value, dtype=torch.float64, requires_grad=True) for key, value in params.items()}
        optimizer = make(list(tensors.values()), hyper)
        state = module.init_state(params)
        for _ in range(5):
            grads = {key: rng.normal(size=shape) for key, shape in module.PARAM_SHAPES.items()}
            params, state = module.update(params, grads, state)
            for key, tensor in tensors.items():
                tensor.grad = torch.tensor(grads[key], dtype=torch.float64)
            optimizer.step()
        for key, tensor in tensors.items():
            np.testing.assert_allclose(params[key], tensor.detach().numpy(), rtol=1e-12, atol=1e-15,
                                       err_msg=f"{kind} {key}")
            for name in BUFFERS[kind]:   # the state keeps torch.optim's names
                np.testing.assert_allclose(state[name][key], optimizer.state[tensor][name].numpy(), rtol=1e-12,
                                           atol=1e-15, err_msg=f"{kind} {name}[{key}]")


# ---------------------------------------------------------------- training the lecture's XOR net

def test_adam_trains_the_lecture_xor_net_to_its_truth_table(tmp_path_factory):
    """From the spec's [example] weights scaled by 1/10 (which do not yet compute XOR), 60 epochs of Adam."""
    adam = generate(tmp_path_factory, {**XOR_SPEC, "name": "xor_train_adam",
                                       "optimizer": {"kind": "adam", "learning_rate": 0.1}})
    example = spec_from_dict(XOR_SPEC).example
    start = {key: value / 10 for key, value in example.params(spec_from_dict(XOR_SPEC).notation).items()}
    assert np.abs(adam.forward(start, X_XOR) - Y_XOR).max() > 0.45   # every output near 1/2 at the start
    trained, costs = adam.train(start, X_XOR, Y_XOR, None, epochs=60)
    out = adam.forward(trained, X_XOR)
    assert np.abs(out - Y_XOR).max() < 0.1, out
    assert np.array_equal(np.round(out), Y_XOR)
    assert costs[-1] < costs[0]

    # plain gradient descent with the same η and epochs has not left the plateau
    plain = generate(tmp_path_factory, {**XOR_SPEC, "name": "xor_train_sgd"})
    sgd_out = plain.forward(plain.train(start, X_XOR, Y_XOR, 0.1, epochs=60)[0], X_XOR)
    assert np.abs(sgd_out - Y_XOR).max() > 0.4


# ---------------------------------------------------------------- without an [optimizer] table

def test_without_the_table_training_is_plain_gradient_descent_with_a_given_rate(modules, tmp_path_factory):
    module = generate(tmp_path_factory, {**XOR_SPEC, "name": "xor_no_table"})
    assert module.OPTIMIZER == {"kind": "sgd", "learning_rate": None, "decay": None}
    params = spec_from_dict(XOR_SPEC).example.params(spec_from_dict(XOR_SPEC).notation)
    with pytest.raises(ValueError, match="no \\[optimizer\\] table"):
        module.learning_rate_at(0)
    with pytest.raises(ValueError, match="no \\[optimizer\\] table"):
        module.train(params, X_XOR, Y_XOR, None, epochs=1)
    with pytest.raises(ValueError, match="learning_rate"):
        module.update(params, params, module.init_state(params))
    grads = module.gradients(params, X_XOR, Y_XOR)
    new, state = module.update(params, grads, module.init_state(params, 0.1))
    for key in params:
        assert np.array_equal(new[key], params[key] - 0.1 * grads[key]), key
    assert state == {"step": 1, "learning_rate": 0.1}
    assert module.learning_rate_at(5, 0.1) == 0.1
    trained, _ = module.train(params, X_XOR, Y_XOR, 0.1, epochs=2)
    stepped = module.sgd_step(module.sgd_step(params, X_XOR, Y_XOR, 0.1), X_XOR, Y_XOR, 0.1)
    for key in params:
        assert np.array_equal(trained[key], stepped[key]), key


def test_torch_first_momentum_step_with_dampening_is_the_documented_difference(modules):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch to run this comparison)")
    module, hyper = modules["momentum"], KINDS["momentum"]          # dampening 0.3
    params = {key: np.ones(shape) for key, shape in module.PARAM_SHAPES.items()}
    grads = {key: np.full(shape, 2.0) for key, shape in module.PARAM_SHAPES.items()}
    state = module.update(params, grads, module.init_state(params))[1]
    tensor = torch.ones(module.PARAM_SHAPES["W1"], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([tensor], lr=hyper["learning_rate"], momentum=hyper["momentum"],
                                dampening=hyper["dampening"])
    tensor.grad = torch.full(module.PARAM_SHAPES["W1"], 2.0, dtype=torch.float64)
    optimizer.step()
    # DESIGN.md: b starts at zero, so b = (1 − dampening) g; torch.optim.SGD's first buffer is g itself
    assert np.array_equal(optimizer.state[tensor]["momentum_buffer"].numpy(), grads["W1"])
    np.testing.assert_allclose(state["momentum_buffer"]["W1"], 0.7 * grads["W1"], rtol=1e-15)
