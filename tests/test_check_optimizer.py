"""deltagen check with an [optimizer]: the + quantities after the optimizer's steps, claims on its state,
``step = k``, the optimizer mistakes of the catalogue, and bad input.

Expected numbers never come from deltagen: a hand computation in mpmath of the DESIGN table's rules
on a one-weight linear net (z = w x + b, a = z, ℓ = ½ (a − y)², so ∂ℓ/∂w = (a − y) x and
∂ℓ/∂b = a − y), written out below rule by rule; and ``torch.optim`` (skipped when torch is not
installed) on a 2-2-1 sigmoid net (``test_check_optimizer_torch.py``).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import mpmath
import pytest
from mpmath import mpf, sqrt

from deltagen import derive as deltagen_derive
from deltagen.derive.checking.answers import parse_answers
from deltagen.derive.checking.check import check
from deltagen.derive.checking.mistakes import OPTIMIZER_CAUSE_IDS
from deltagen.derive.checking.optimizer_words import optimizer_words
from deltagen.derive.checking.report import render_text
from deltagen.derive.errors import SpecError

W0, B0, X, Y = mpf("0.5"), mpf("0.25"), mpf(2), mpf(1)


def spec(optimizer: str, learning_rate: str | None = None) -> str:
    """The one-weight linear net; ``optimizer`` is the body of its [optimizer] table ("" for none)."""
    table = f"[optimizer]\n{optimizer}\n" if optimizer else ""
    rate = f"learning_rate = {learning_rate}\n" if learning_rate else ""
    return f"""
name = "line"
input = 1
layers = [ {{ units = 1, activation = "identity" }} ]
loss = "half_sse"
{table}
[example]
W = [ [[0.5]] ]
b = [ [[0.25]] ]
X = [[2.0]]
Y = [[1.0]]
{rate}"""


def grads(w, b):
    """∂ℓ/∂w and ∂ℓ/∂b of the one example, by hand."""
    error = w * X + b - Y
    return error * X, error


def run(rule, steps: int, **mistakes):
    """``steps`` steps of ``rule`` (one of the DESIGN table's rows, below) from the zero state:
    after each, (w, b, state of w, state of b)."""
    w, b, sw, sb = W0, B0, {}, {}
    out = []
    for t in range(1, steps + 1):
        gw, gb = grads(w, b)
        w = rule(w, gw, sw, t, **mistakes)
        b = rule(b, gb, sb, t, **mistakes)
        out.append((w, b, dict(sw), dict(sb)))
    return out


# ---- the DESIGN table, one row each (state: a dict the rule updates in place)

def sgd(theta, g, state, t, eta=mpf("0.1")):
    return theta - eta * g


def momentum(theta, g, state, t, eta=mpf("0.1"), mu=mpf("0.9"), dampening=mpf(0), swapped=False):
    b = state.get("b", 0)
    state["b"] = (1 - dampening) * b + mu * g if swapped else mu * b + (1 - dampening) * g
    return theta - eta * state["b"]


def nesterov(theta, g, state, t, eta=mpf("0.1"), mu=mpf("0.9")):
    state["b"] = mu * state.get("b", 0) + g
    return theta - eta * (g + mu * state["b"])


def adagrad(theta, g, state, t, eta=mpf("0.1"), eps=mpf("0.01"), inside=False):
    state["G"] = state.get("G", 0) + g ** 2
    root = sqrt(state["G"] + eps) if inside else sqrt(state["G"]) + eps
    return theta - eta * g / root


def rmsprop(theta, g, state, t, eta=mpf("0.1"), alpha=mpf("0.9"), eps=mpf("0.01"), inside=False):
    state["v"] = alpha * state.get("v", 0) + (1 - alpha) * g ** 2
    root = sqrt(state["v"] + eps) if inside else sqrt(state["v"]) + eps
    return theta - eta * g / root


def adam(theta, g, state, t, eta=mpf("0.1"), beta1=mpf("0.8"), beta2=mpf("0.95"), eps=mpf("0.01"),
         no_bias=False, inside=False, swap_m=False, t_stuck=False):
    m, v = state.get("m", 0), state.get("v", 0)
    state["m"] = (1 - beta1) * m + beta1 * g if swap_m else beta1 * m + (1 - beta1) * g
    state["v"] = beta2 * v + (1 - beta2) * g ** 2
    t = 1 if t_stuck else t
    state["mhat"] = state["m"] if no_bias else state["m"] / (1 - beta1 ** t)
    state["vhat"] = state["v"] if no_bias else state["v"] / (1 - beta2 ** t)
    root = sqrt(state["vhat"] + eps) if inside else sqrt(state["vhat"]) + eps
    return theta - eta * state["mhat"] / root


ADAM = 'kind = "adam"\nlearning_rate = 0.1\nbeta1 = 0.8\nbeta2 = 0.95\nepsilon = 0.01'
RMSPROP = 'kind = "rmsprop"\nlearning_rate = 0.1\nalpha = 0.9\nepsilon = 0.01'
ADAGRAD = 'kind = "adagrad"\nlearning_rate = 0.1\nepsilon = 0.01'
MOMENTUM = 'kind = "momentum"\nlearning_rate = 0.1\nmomentum = 0.9'
NESTEROV = 'kind = "nesterov"\nlearning_rate = 0.1\nmomentum = 0.9'


@pytest.fixture(autouse=True)
def forty_digits():
    with mpmath.workdps(40):
        yield


def text(value) -> str:
    return mpmath.nstr(value, 12, min_fixed=-30, max_fixed=30)


def claim(quantity: str, value, step: int | None = None) -> str:
    """One [[claim]]: a 1×1 matrix for W and its state, a 1-vector for b and its state."""
    step_line = f"step = {step}\n" if step else ""
    param = quantity[quantity.index("(") + 1] if "(" in quantity else quantity[0]
    shown = f'[["{text(value)}"]]' if param == "W" else f'["{text(value)}"]'
    return f'[[claim]]\nquantity = "{quantity}"\n{step_line}value = {shown}\n'


def derive(spec_text: str):
    return deltagen_derive.derive(deltagen_derive.spec_from_dict(tomllib.loads(spec_text), source="line.toml"))


def judged(spec_text: str, answers: str):
    d = derive(spec_text)
    return check(d, parse_answers(answers, d, "answers.toml"))


def verdicts(result) -> list[str]:
    return [r.verdict for r in result.results]


def cause_ids(result) -> list[set[str]]:
    """Per claim, every cause id offered for any of its numbers."""
    return [{c.id for e in r.entries for combo in e.causes for c in combo} for r in result.results]


# ---------------------------------------------------------------- right numbers

@pytest.mark.parametrize("table, rule, states", [
    (ADAM, adam, ["m", "v", "mhat", "vhat"]),
    (RMSPROP, rmsprop, ["v"]),
    (ADAGRAD, adagrad, ["G"]),
    (MOMENTUM, momentum, ["b"]),
    (NESTEROV, nesterov, ["b"]),
])
def test_steps_and_state_match_the_design_table(table, rule, states):
    trajectory = run(rule, 3)
    answers = ""
    for step in (1, 2, 3):
        w, b, sw, sb = trajectory[step - 1]
        answers += claim("W[1]+", w, step) + claim("b[1]+", b, step)
        for name in states:
            answers += claim(f"{name}(W[1])", sw[name], step) + claim(f"{name}(b[1])", sb[name], step)
    result = judged(spec(table), answers)
    assert verdicts(result) == ["correct"] * len(result.results)


def test_the_first_step_is_the_default_and_the_forward_pass_follows_it():
    w, b, _, _ = run(adam, 1)[0]
    a = w * X + b
    answers = claim("W[1]+", w) + claim("b+[1]", b) + f'[[claim]]\nquantity = "a[1]+"\nexample = 1\n' \
        f'value = ["{text(a)}"]\n' + f'[[claim]]\nquantity = "cost+"\nvalue = "{text((a - Y) ** 2 / 2)}"\n'
    assert verdicts(judged(spec(ADAM), answers)) == ["correct"] * 4


def test_torch_state_names_are_aliases():
    _, _, sw, sb = run(adam, 2)[1]
    answers = claim("exp_avg(W[1])", sw["m"], 2) + claim("exp_avg_sq(b[L])", sb["v"], 2)
    answers += claim("m(W[1])", sw["m"] * 2, 2)        # wrong on purpose: the aliases are not always "correct"
    assert verdicts(judged(spec(ADAM), answers)) == ["correct", "correct", "wrong"]
    _, _, sw, _ = run(adagrad, 2)[1]
    assert verdicts(judged(spec(ADAGRAD), claim("sum(W[1])", sw["G"], 2))) == ["correct"]
    _, _, sw, _ = run(rmsprop, 1)[0]
    assert verdicts(judged(spec(RMSPROP), claim("square_avg(W[1])", sw["v"]))) == ["correct"]
    _, _, sw, _ = run(momentum, 2)[1]
    assert verdicts(judged(spec(MOMENTUM), claim("momentum_buffer(W[1])", sw["b"], 2))) == ["correct"]


def test_sgd_given_is_the_plain_step_with_its_own_learning_rate():
    # the [example] has no learning rate (or another one): the optimizer's η is the one used
    w2 = run(sgd, 2)[1][0]
    answers = claim("W[1]+", run(sgd, 1)[0][0]) + claim("W[1]+", w2, 2)
    assert verdicts(judged(spec('kind = "sgd"\nlearning_rate = 0.1'), answers)) == ["correct", "correct"]
    assert verdicts(judged(spec('kind = "sgd"\nlearning_rate = 0.1', "0.7"), answers)) == ["correct", "correct"]


def test_without_an_optimizer_step_k_is_k_gradient_steps_with_the_examples_rate():
    w3 = run(lambda th, g, s, t: th - mpf("0.3") * g, 3)[2][0]
    assert verdicts(judged(spec("", "0.3"), claim("W[1]+", w3, 3))) == ["correct"]


def test_decay_gives_step_k_the_rate_of_epoch_k_minus_1():
    # inverse time, rate 1, interval 1: η_e = 0.1 / (1 + e); a full-batch step is an epoch
    def decayed(theta, g, state, t):
        return theta - mpf("0.1") / (1 + (t - 1)) * g
    w1, w3 = run(decayed, 3)[0][0], run(decayed, 3)[2][0]
    table = 'kind = "sgd"\nlearning_rate = 0.1\ndecay = { kind = "inverse_time", rate = 1.0 }'
    assert verdicts(judged(spec(table), claim("W[1]+", w1) + claim("W[1]+", w3, 3))) == ["correct", "correct"]


def test_a_step_on_one_example_alone():
    # two examples; W+ with example = 2 is Adam's first step from that example's own gradient
    two = spec(ADAM).replace("X = [[2.0]]", "X = [[1.0, 2.0]]").replace("Y = [[1.0]]", "Y = [[0.0, 1.0]]")
    w, _, _, _ = run(adam, 1)[0]
    _, _, sw, _ = run(adam, 2)[1]      # two steps on example 2 alone: the one-example net's two steps
    answers = f'[[claim]]\nquantity = "W[1]+"\nexample = 2\nvalue = [["{text(w)}"]]\n' \
              f'[[claim]]\nquantity = "v(W[1])"\nexample = 2\nstep = 2\nvalue = [["{text(sw["v"])}"]]\n'
    assert verdicts(judged(two, answers)) == ["correct", "correct"]


# ---------------------------------------------------------------- the mistakes

@pytest.mark.parametrize("table, rule, mistake, step, cause", [
    (ADAM, adam, {"no_bias": True}, 1, "adam_no_bias_correction"),
    (ADAM, adam, {"no_bias": True}, 3, "adam_no_bias_correction"),
    (ADAM, adam, {"inside": True}, 2, "epsilon_inside_root"),
    (RMSPROP, rmsprop, {"inside": True}, 1, "epsilon_inside_root"),
    (ADAGRAD, adagrad, {"inside": True}, 2, "epsilon_inside_root"),
    (ADAM, adam, {"swap_m": True}, 1, "beta_swapped"),
    (MOMENTUM, momentum, {"swapped": True}, 2, "beta_swapped"),
    (ADAM, adam, {"t_stuck": True}, 2, "step_not_incremented"),
    (ADAM, adam, {"t_stuck": True}, 3, "step_not_incremented"),
])
def test_a_number_made_with_an_optimizer_mistake_gets_its_cause(table, rule, mistake, step, cause):
    w = run(rule, step, **mistake)[step - 1][0]
    result = judged(spec(table), claim("W[1]+", w, step))
    assert verdicts(result) == ["wrong"]
    assert cause in cause_ids(result)[0]


def test_step_not_incremented_is_invisible_at_step_1():
    w = run(adam, 1, t_stuck=True)[0][0]
    assert verdicts(judged(spec(ADAM), claim("W[1]+", w))) == ["correct"]


def test_learning_rate_sign_with_an_optimizer():
    w = run(adam, 1)[0][0]
    uphill = 2 * W0 - w
    result = judged(spec(ADAM), claim("W[1]+", uphill))
    assert "learning_rate_sign" in cause_ids(result)[0]     # beside y − a for a − y, which reverses g too
    report = render_text(result)
    assert "the adam update added to θ instead of subtracted" in report


def test_mistakes_are_offered_only_where_they_apply():
    # Adagrad has no moving average and reads no t: a W+ made with Adam's "bias correction left out" shape of
    # mistake cannot get those ids; the swapped weights are not offered for nesterov (μ b + g has no 1 − μ)
    from deltagen.derive.checking.graph import Graph
    from deltagen.derive.checking.mistakes import catalogue
    ids = {kind: {c.id for _, c in catalogue(Graph(derive(spec(table))))}
           for kind, table in (("adam", ADAM), ("rmsprop", RMSPROP), ("adagrad", ADAGRAD),
                               ("momentum", MOMENTUM), ("nesterov", NESTEROV))}
    new = set(OPTIMIZER_CAUSE_IDS)
    assert ids["adam"] & new == new
    assert ids["rmsprop"] & new == {"epsilon_inside_root", "beta_swapped"}
    assert ids["adagrad"] & new == {"epsilon_inside_root"}
    assert ids["momentum"] & new == {"beta_swapped"}
    assert ids["nesterov"] & new == set()
    assert all("learning_rate_sign" in found for found in ids.values())


def test_the_causes_read_in_both_languages_and_json(tmp_path):
    for lang in ("en", "pt"):
        assert all(cause in optimizer_words(lang) for cause in OPTIMIZER_CAUSE_IDS)
    w = run(adam, 2, t_stuck=True)[1][0]
    spec_path, answers_path = tmp_path / "line.toml", tmp_path / "answers.toml"
    spec_path.write_text(spec(ADAM))
    answers_path.write_text(claim("W[1]+", w, 2))
    out = subprocess.run([sys.executable, "-m", "deltagen.cli", "check", str(spec_path), str(answers_path),
                          "--lang", "pt"], capture_output=True, text=True)
    assert out.returncode == 1 and "o contador de passos t não incrementado" in out.stdout
    assert "W[1]+ (após 2 passos): errado" in out.stdout
    out = subprocess.run([sys.executable, "-m", "deltagen.cli", "check", str(spec_path), str(answers_path), "--json"],
                         capture_output=True, text=True)
    data = json.loads(out.stdout)
    assert data["claims"][0]["step"] == 2
    assert [c["id"] for combo in data["claims"][0]["numbers"][0]["causes"] for c in combo] == ["step_not_incremented"]


# ---------------------------------------------------------------- bad input

def refused(spec_text: str, answers: str) -> str:
    d = derive(spec_text)
    with pytest.raises(SpecError) as info:
        parse_answers(answers, d, "answers.toml")
    return str(info.value)


def test_a_state_of_another_optimizer_is_refused_naming_the_states():
    message = refused(spec(ADAM), '[[claim]]\nquantity = "b(W[1])"\nvalue = [[0.1]]\n')
    assert message == ("answers.toml: claim[0].quantity: expected a state of adam (m, v, mhat, vhat, or exp_avg, "
                       "exp_avg_sq), got 'b(W[1])'")
    message = refused(spec(MOMENTUM), '[[claim]]\nquantity = "exp_avg(W[1])"\nvalue = [[0.1]]\n')
    assert message == ("answers.toml: claim[0].quantity: expected a state of momentum (b, or momentum_buffer), "
                       "got 'exp_avg(W[1])'")


def test_an_unknown_state_and_a_state_without_optimizer_are_refused():
    assert "expected a state of rmsprop (v, or square_avg), got 'velocity(W[1])'" in \
        refused(spec(RMSPROP), '[[claim]]\nquantity = "velocity(W[1])"\nvalue = [[0.1]]\n')
    assert refused(spec("", "0.1"), '[[claim]]\nquantity = "m(W[1])"\nvalue = [[0.1]]\n') == \
        "answers.toml: claim[0].quantity: expected no optimizer state: the spec has no [optimizer] table, got 'm(W[1])'"
    assert "sgd keeps none" in refused(spec('kind = "sgd"'), '[[claim]]\nquantity = "m(W[1])"\nvalue = [[0.1]]\n')
    assert "expected a layer from 1 to 1" in refused(spec(ADAM), '[[claim]]\nquantity = "m(W[2])"\nvalue = [[0.1]]\n')


def test_bad_steps_are_refused():
    assert refused(spec(ADAM), '[[claim]]\nquantity = "W[1]+"\nstep = 0\nvalue = [[0.1]]\n') == \
        "answers.toml: claim[0].step: expected a whole number of steps from 1 to 100, got 0"
    assert "from 1 to 100, got 101" in refused(spec(ADAM), '[[claim]]\nquantity = "W[1]+"\nstep = 101\nvalue = [[0.1]]\n')
    assert "got True" in refused(spec(ADAM), '[[claim]]\nquantity = "W[1]+"\nstep = true\nvalue = [[0.1]]\n')
    message = refused(spec(ADAM), '[[claim]]\nquantity = "dW[1]"\nstep = 2\nvalue = [[0.1]]\n')
    assert message.startswith("answers.toml: claim[0].step: expected no step for dW (only the quantities after "
                              "the step")


def test_the_learning_rate_is_needed_only_without_an_optimizer():
    message = refused(spec(""), '[[claim]]\nquantity = "W[1]+"\nvalue = [[0.1]]\n')
    assert "example.learning_rate: expected a learning rate (needed to check claim[0] of answers.toml: W+ is a " \
           "quantity after one gradient step)" in message
    d = derive(spec(ADAM))        # no [example] learning_rate: the optimizer brings its own
    assert parse_answers('[[claim]]\nquantity = "W[1]+"\nvalue = [[0.1]]\n', d, "answers.toml").claims[0].step == 1


def test_bad_input_on_the_command_line_is_one_line_and_exit_2(tmp_path):
    spec_path, answers_path = tmp_path / "line.toml", tmp_path / "answers.toml"
    spec_path.write_text(spec(ADAM))
    answers_path.write_text('[[claim]]\nquantity = "G(W[1])"\nvalue = [[0.1]]\n')
    out = subprocess.run([sys.executable, "-m", "deltagen.cli", "check", str(spec_path), str(answers_path)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().count("\n") == 0 and "expected a state of adam" in out.stderr


def test_entry_and_unit_work_on_state_claims():
    # a 2-unit layer: W is 2 × 1, its state too; entry = [2, 1] is one number of it, unit = 2 one of b's
    two = spec(ADAM).replace("units = 1", "units = 2").replace("W = [ [[0.5]] ]", "W = [ [[0.5], [0.5]] ]") \
        .replace("b = [ [[0.25]] ]", "b = [ [[0.25], [0.25]] ]").replace("Y = [[1.0]]", "Y = [[1.0], [1.0]]")
    _, _, sw, sb = run(adam, 2)[1]     # both units start alike and see the same target: each is the one-unit net
    answers = (f'[[claim]]\nquantity = "vhat(W[1])"\nstep = 2\nentry = [2, 1]\nvalue = "{text(sw["vhat"])}"\n'
               f'[[claim]]\nquantity = "exp_avg(b[1])"\nstep = 2\nunit = 2\nvalue = "{text(sb["m"])}"\n'
               f'[[claim]]\nquantity = "m(theta[1])"\nstep = 2\nentry = [1, 1]\nvalue = "{text(sw["m"])}"\n')
    assert verdicts(judged(two, answers)) == ["correct"] * 3
