"""Epochs until lecture 004's XOR net computes the truth table, by optimizer (issue 14's measured comparison).

For each optimizer the generated NumPy module of generated/lecture_xor's net (with that `[optimizer]` table) is
trained full-batch on the four XOR examples from `init_params(seed)` (Glorot-uniform, the shared generator), for
seeds 0..9; an epoch is one `train_step`. Printed: a Markdown table of the median epochs until every output is
within 0.1 of its target, and how many of the seeds got there within the cap.

    python benchmarks/xor_epochs.py [--cap 20000]
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import tomllib
from pathlib import Path

import numpy as np

from deltagen.codegen import render, write_files
from deltagen.derive import derive, spec_from_dict

ROOT = Path(__file__).resolve().parent.parent
X = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=float)
Y = np.array([[0, 1, 1, 0]], dtype=float)
OPTIMIZERS = {
    "sgd": {"kind": "sgd", "learning_rate": 0.5},
    "momentum": {"kind": "momentum", "learning_rate": 0.5, "momentum": 0.9},
    "nesterov": {"kind": "nesterov", "learning_rate": 0.5, "momentum": 0.9},
    "rmsprop": {"kind": "rmsprop", "learning_rate": 0.01},
    "adam": {"kind": "adam", "learning_rate": 0.05},
}
SEEDS = range(10)


def module_for(table: dict):
    spec = tomllib.loads((ROOT / "generated" / "lecture_xor" / "spec.toml").read_text(encoding="utf-8"))
    spec["optimizer"] = table
    out = Path(tempfile.mkdtemp())
    write_files(render(derive(spec_from_dict(spec))), out)
    loader = importlib.util.spec_from_file_location(f"xor_{table['kind']}", out / "lecture_xor.py")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def epochs_to_truth_table(module, seed: int, cap: int) -> int | None:
    params = module.init_params(seed)
    state = module.init_state(params)
    for epoch in range(1, cap + 1):
        params, state = module.train_step(params, state, X, Y)
        if np.abs(module.forward(params, X) - Y).max() < 0.1:
            return epoch
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=int, default=20000, help="epochs before giving up on a seed")
    args = parser.parse_args()
    print(f"| optimizer | hyperparameters | median epochs (seeds reaching it, of {len(SEEDS)}) |")
    print("|---|---|---|")
    for name, table in OPTIMIZERS.items():
        module = module_for(table)
        reached = [e for e in (epochs_to_truth_table(module, seed, args.cap) for seed in SEEDS) if e is not None]
        median = f"{statistics.median(reached):g}" if reached else f"> {args.cap}"
        values = ", ".join(f"{k} {v}" for k, v in table.items() if k != "kind")
        print(f"| `{name}` | {values} | {median} ({len(reached)}) |")


if __name__ == "__main__":
    main()
