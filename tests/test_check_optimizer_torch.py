"""deltagen check against ``torch.optim`` itself: several steps of each optimizer on a 2-2-1 sigmoid net.

torch computes the parameters and its state (``exp_avg``, ``exp_avg_sq``, ``momentum_buffer``,
``sum``, ``square_avg``) after each step in float64; the checker must call them correct, at 12
significant digits. A variant with Adam's bias correction left out is computed here with torch
tensors, step by step, and must be called wrong with that cause. Skipped without torch.
"""
from __future__ import annotations

import tomllib

import pytest

torch = pytest.importorskip("torch")

from deltagen import derive  # noqa: E402
from deltagen.derive.checking.answers import parse_answers  # noqa: E402
from deltagen.derive.checking.check import check  # noqa: E402

NET = """
name = "small"
input = 2
layers = [ { units = 2, activation = "sigmoid" }, { units = 1, activation = "sigmoid" } ]
loss = "half_sse"
reduction = "mean"
[optimizer]
OPTIMIZER
[example]
W = [ [[0.5, -1.0], [1.5, 0.25]], [[1.0, -0.5]] ]
b = [ [[0.1], [-0.2]], [[0.3]] ]
X = [[1.0, -0.5], [2.0, 0.5]]
Y = [[1.0, 0.0]]
"""
X = [[1.0, -0.5], [2.0, 0.5]]
Y = [[1.0, 0.0]]


def params():
    return [torch.tensor(v, dtype=torch.float64, requires_grad=True)
            for v in ([[0.5, -1.0], [1.5, 0.25]], [0.1, -0.2], [[1.0, -0.5]], [0.3])]


def cost(p):
    x, y = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    a1 = torch.sigmoid(p[0] @ x + p[1][:, None])
    a2 = torch.sigmoid(p[2] @ a1 + p[3][:, None])
    return 0.5 * ((a2 - y) ** 2).sum() / x.shape[1]      # half_sse, mean over the two examples


def torch_run(make, steps: int, schedule=None):
    """After each step: the four parameters and torch's state of each, as plain lists."""
    p = params()
    optimizer = make(p)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule) if schedule else None
    out = []
    for _ in range(steps):
        optimizer.zero_grad()
        cost(p).backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
        out.append(([t.detach().tolist() for t in p],
                    [{k: v.tolist() for k, v in optimizer.state[t].items() if k != "step"} for t in p]))
    return out


def written(value, style: str = ".11e"):
    """As a claim writes it: parameters to 12 decimals (float64 holds a difference such as 0.1 − 0.0999985
    only to ~1e-17, not to 12 significant digits of the result), state to 12 significant digits."""
    if isinstance(value, list):
        return "[" + ", ".join(written(v, style) for v in value) + "]"
    return format(value, style)


def judged(optimizer_table: str, answers: str):
    d = derive.derive(derive.spec_from_dict(tomllib.loads(NET.replace("OPTIMIZER", optimizer_table)),
                                            source="small.toml"))
    return check(d, parse_answers(answers, d, "answers.toml"))


NAMES = ("W[1]", "b[1]", "W[2]", "b[2]")


def claims(trajectory, state_names) -> str:
    out = ""
    for step, (values, states) in enumerate(trajectory, start=1):
        for name, value, state in zip(NAMES, values, states):
            out += f'[[claim]]\nquantity = "{name}+"\nstep = {step}\nvalue = {written(value, ".12f")}\n'
            for key in state_names:
                out += f'[[claim]]\nquantity = "{key}({name})"\nstep = {step}\nvalue = {written(state[key])}\n'
    return out


@pytest.mark.parametrize("table, make, states", [
    ('kind = "adam"\nlearning_rate = 0.1\nbeta1 = 0.8\nbeta2 = 0.95\nepsilon = 1e-7',
     lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.95), eps=1e-7), ("exp_avg", "exp_avg_sq")),
    ('kind = "momentum"\nlearning_rate = 0.5\nmomentum = 0.7',
     lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.7), ("momentum_buffer",)),
    ('kind = "nesterov"\nlearning_rate = 0.5\nmomentum = 0.7',
     lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.7, nesterov=True), ("momentum_buffer",)),
    ('kind = "adagrad"\nlearning_rate = 0.2\nepsilon = 1e-6',
     lambda p: torch.optim.Adagrad(p, lr=0.2, eps=1e-6), ("sum",)),
    ('kind = "rmsprop"\nlearning_rate = 0.05\nalpha = 0.9\nepsilon = 1e-6',
     lambda p: torch.optim.RMSprop(p, lr=0.05, alpha=0.9, eps=1e-6), ("square_avg",)),
])
def test_three_steps_of_torch_optim_are_correct(table, make, states):
    result = judged(table, claims(torch_run(make, 3), states))
    wrong = [(r.claim.quantity, r.claim.step) for r in result.results if r.verdict != "correct"]
    assert not wrong and len(result.results) == 3 * 4 * (1 + len(states))


def test_decay_per_step_matches_a_torch_scheduler():
    # inverse time, rate 0.5, interval 2: η_e = η / (1 + 0.5 ⌊e/2⌋), one full-batch step per epoch
    table = 'kind = "adam"\nlearning_rate = 0.1\ndecay = { kind = "inverse_time", rate = 0.5, interval = 2 }'
    trajectory = torch_run(lambda p: torch.optim.Adam(p, lr=0.1), 4, lambda e: 1 / (1 + 0.5 * (e // 2)))
    result = judged(table, claims(trajectory, ("exp_avg",)))
    assert {r.verdict for r in result.results} == {"correct"}


def test_adam_without_bias_correction_is_wrong_with_that_cause():
    p = [t.detach().clone() for t in params()]
    m = [torch.zeros_like(t) for t in p]
    v = [torch.zeros_like(t) for t in p]
    for _ in range(3):
        q = [t.clone().requires_grad_(True) for t in p]
        g = torch.autograd.grad(cost(q), q)
        for j in range(4):
            m[j] = 0.8 * m[j] + 0.2 * g[j]
            v[j] = 0.95 * v[j] + 0.05 * g[j] ** 2
            p[j] = p[j] - 0.1 * m[j] / (v[j].sqrt() + 1e-7)          # m and v, not m̂ and v̂
    table = 'kind = "adam"\nlearning_rate = 0.1\nbeta1 = 0.8\nbeta2 = 0.95\nepsilon = 1e-7'
    answers = f'[[claim]]\nquantity = "W[1]+"\nstep = 3\nvalue = {written(p[0].tolist(), ".12f")}\n'
    result = judged(table, answers)
    assert result.results[0].verdict == "wrong"
    for entry in result.results[0].entries:
        assert [[c.id for c in combo] for combo in entry.causes] == [["adam_no_bias_correction"]]
