"""The spec's [optimizer] table: validation in one line, torch.optim's defaults, and what generation does with it."""
from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT
from deltagen.codegen import render
from deltagen.derive import derive, load_spec, spec_from_dict
from deltagen.derive.errors import SpecError

XOR_SPEC = tomllib.loads((ROOT / "generated" / "lecture_xor" / "spec.toml").read_text())


# ---------------------------------------------------------------- the spec's [optimizer] table

HEAD = 'name = "x"\ninput = 2\nlayers = [{ units = 1, activation = "sigmoid" }]\nloss = "half_sse"\n'
BAD = [
    ('kind = "adam"\nbeta1 = 1.5', "optimizer.beta1: expected a number in [0, 1), got 1.5"),
    ('kind = "sgd"\nbeta1 = 0.9', "optimizer.beta1: expected no beta1: it applies only to adam, got kind 'sgd'"),
    ('kind = "adam"\nmomentum = 0.9',
     "optimizer.momentum: expected no momentum: it applies only to momentum, nesterov, got kind 'adam'"),
    ('kind = "sgd"\nepsilon = 1e-8',
     "optimizer.epsilon: expected no epsilon: it applies only to adagrad, rmsprop, adam, got kind 'sgd'"),
    ('kind = "nesterov"\ndampening = 0.5', "optimizer.dampening: expected no dampening (or 0) for kind 'nesterov'"),
    ('kind = "adam"\nlr = 0.1', "optimizer.lr: expected one of the keys kind, learning_rate, momentum, dampening, "
                                "alpha, beta1, beta2, epsilon, decay, got unknown key lr"),
    ('kind = "adamw"', "optimizer.kind: expected one of sgd, momentum, nesterov, adagrad, rmsprop, adam, "
                       "got 'adamw'; did you mean adam?"),
    ('learning_rate = 0.1', "optimizer.kind: expected a value (required; one of sgd, momentum, nesterov"),
    ('kind = "rmsprop"\nlearning_rate = 0', "optimizer.learning_rate: expected a number > 0 (finite), got 0"),
    ('kind = "rmsprop"\nalpha = true', "optimizer.alpha: expected a number in [0, 1), got True"),
    ('kind = "adam"\nepsilon = -1e-8', "optimizer.epsilon: expected a number > 0 (finite), got -1e-08"),
    ('kind = "sgd"\ndecay = { kind = "step", rate = 0.5 }',
     "optimizer.decay.kind: expected one of inverse_time, exponential, got 'step'"),
    ('kind = "sgd"\ndecay = { kind = "exponential", rate = 1.5 }',
     "optimizer.decay.rate: expected a number in (0, 1], got 1.5"),
    ('kind = "sgd"\ndecay = { kind = "exponential", rate = 0.5, interval = 2 }',
     "optimizer.decay.interval: expected no interval: it applies only to inverse_time, got kind 'exponential'"),
    ('kind = "sgd"\ndecay = { kind = "inverse_time", rate = 1, interval = 0 }',
     "optimizer.decay.interval: expected a positive integer (epochs)"),
    ('kind = "sgd"\ndecay = { kind = "inverse_time" }', "optimizer.decay.rate: expected a value (required in decay"),
]


@pytest.mark.parametrize("table, message", BAD, ids=[message.split(":")[0] + str(i) for i, (_, message) in
                                                     enumerate(BAD)])
def test_a_bad_optimizer_table_is_one_line_naming_the_field(tmp_path, table, message):
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + "[optimizer]\n" + table + "\n")
    with pytest.raises(SpecError) as error:
        load_spec(path)
    line = str(error.value)
    assert line.startswith(f"{path}: {message}"), line
    assert "\n" not in line


def test_the_command_line_reports_a_bad_optimizer_with_status_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + '[optimizer]\nkind = "adam"\nbeta1 = 1.5\n')
    result = subprocess.run([sys.executable, "-m", "deltagen.cli", "generate", str(path), "--target", "numpy",
                             "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"{path}: optimizer.beta1: expected a number in [0, 1), got 1.5"]
    assert not (tmp_path / "out").exists()


def test_defaults_are_torch_optims_except_momentum():
    def chosen(table: dict) -> dict:
        return spec_from_dict({**XOR_SPEC, "optimizer": table}).optimizer.as_dict()
    assert chosen({"kind": "sgd"}) == {"kind": "sgd", "learning_rate": 1e-3, "decay": None}
    assert chosen({"kind": "momentum"}) == {"kind": "momentum", "learning_rate": 1e-3, "momentum": 0.9,
                                            "dampening": 0.0, "decay": None}
    assert chosen({"kind": "adagrad"}) == {"kind": "adagrad", "learning_rate": 1e-2, "epsilon": 1e-10, "decay": None}
    assert chosen({"kind": "rmsprop"}) == {"kind": "rmsprop", "learning_rate": 1e-2, "alpha": 0.99, "epsilon": 1e-8,
                                           "decay": None}
    assert chosen({"kind": "adam", "decay": {"kind": "inverse_time", "rate": 1}}) == {
        "kind": "adam", "learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
        "decay": {"kind": "inverse_time", "rate": 1.0, "interval": 1}}


# ---------------------------------------------------------------- generation

def test_the_template_types_no_update_formula():
    """The rules are printed from derive/model/optimizers.py; the template only arranges them."""
    template = (ROOT / "codegen" / "backends" / "numpy" / "templates" / "module.py.jinja").read_text()
    for formula_piece in ("BETA1", "BETA2", "MOMENTUM", "DAMPENING", "EPSILON", "ALPHA", "DECAY_RATE", "sqrt",
                          "square(", "floor", "- learning_rate"):
        assert formula_piece not in template, formula_piece


def test_generation_is_deterministic_and_both_targets_read_the_table():
    spec = {**XOR_SPEC, "optimizer": {"kind": "adam", "learning_rate": 0.02,
                                      "decay": {"kind": "inverse_time", "rate": 0.5, "interval": 4}}}
    first, second = (render(derive(spec_from_dict(spec)), "numpy") for _ in range(2))
    assert first == second
    assert "BETA2 = 0.999" in first["lecture_xor.py"] and "DECAY_INTERVAL = 4" in first["lecture_xor.py"]
    c_first, c_second = (render(derive(spec_from_dict(spec)), "c") for _ in range(2))
    assert c_first == c_second and "exp_avg_sq" in c_first["lecture_xor.h"]
    assert "exp_avg" not in render(derive(spec_from_dict(XOR_SPEC)), "c")["lecture_xor.h"]
