"""torch.optim's numbers for the two optimizer lecture examples, as answers-file claims.

``python tests/torch_answers.py momentum|adam`` prints the claims of
``generated/lecture_momentum_231/answers_torch.toml`` and ``generated/lecture_adam_xor/answers_torch.toml``
(after their header): three full-batch steps of ``torch.optim`` in float64 from the [example]'s weights,
J = mean over the examples of ½ (ŷ − y)², each parameter after the step and its optimizer state, to 8
decimals. Nothing here imports deltagen: the numbers are torch's. tests/test_answers_torch.py reruns it.
"""
from __future__ import annotations

import sys

#: the two examples: weights, data and optimizer as the specs give them, and their state names as claimed
EXAMPLES = {
    "momentum": {"W": [[[0.5, 0.2], [0.6, -0.1], [-0.4, -0.3]], [[0.7, -0.1, 0.2]]], "b": [None, None],
                 "X": [[0.5, 0.2], [0.1, 0.6]], "Y": [[0.6, 0.8]],
                 "optimizer": ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.0}),
                 "states": {"momentum_buffer": "b"}},
    "adam": {"W": [[[0.3, -0.2], [-0.4, 0.1]], [[0.2, 0.4]]], "b": [[[0.0], [0.0]], [[0.0]]],
             "X": [[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]], "Y": [[0.0, 1.0, 1.0, 0.0]],
             "optimizer": ("Adam", {"lr": 0.05, "betas": (0.9, 0.999), "eps": 1e-8}),
             "states": {"exp_avg": "m", "exp_avg_sq": "v"}},
}
STEPS = 3


def _matrix(t) -> str:
    return "[" + ", ".join("[" + ", ".join(f"{v:.8f}" for v in row) + "]" for row in t.tolist()) + "]"


def claims(which: str) -> str:
    """The claims, in the order: for each step, each parameter (W1, b1, W2, b2) then its state."""
    import torch
    example = EXAMPLES[which]
    weights = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in example["W"]]
    biases = [None if b is None else torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in example["b"]]
    named = [(f"W[{i + 1}]", w) for i, w in enumerate(weights)] + \
            [(f"b[{i + 1}]", b) for i, b in enumerate(biases) if b is not None]
    named.sort(key=lambda item: (item[0][2:], item[0][0] != "W"))      # W1, b1, W2, b2
    X, Y = (torch.tensor(example[key], dtype=torch.float64) for key in ("X", "Y"))
    kind, settings = example["optimizer"]
    optimizer = getattr(torch.optim, kind)([p for _, p in named], **settings)
    out = []
    for step in range(1, STEPS + 1):
        optimizer.zero_grad()
        a = X
        for w, b in zip(weights, biases):
            a = torch.sigmoid(w @ a + (b if b is not None else 0))
        (0.5 * ((a - Y) ** 2).sum(dim=0)).mean().backward()
        optimizer.step()
        for name, p in named:
            out.append(f'[[claim]]\nquantity = "{name}+"\nstep = {step}\nvalue = {_matrix(p.detach())}\n')
            for key, letter in example["states"].items():
                out.append(f'[[claim]]\nquantity = "{letter}({name})"\nstep = {step}\n'
                           f'value = {_matrix(optimizer.state[p][key])}\n')
    return "\n".join(out)


if __name__ == "__main__":
    print(claims(sys.argv[1]))
