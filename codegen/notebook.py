"""The example notebook ``generated/lecture_xor/lecture_xor.ipynb``, written by the refresh like every file there.

The notebook is nbformat 4.5 JSON as ``nbformat.writes`` gives it (keys sorted, indent 1, source split
into lines) with fixed cell ids, no outputs and no execution counts, so its bytes depend only on the
cells below; tests/test_notebook.py runs it with nbclient and checks what it shows.
"""
from __future__ import annotations

import json
from pathlib import Path

from deltagen.derive import Derivation

#: the lecture examples that get a notebook (the folder's name; the notebook is NAME.ipynb)
NOTEBOOK_FOLDERS = ("lecture_xor",)

#: a student's answers with one wrong number: ŷ of example 2 with the sigmoid's sign slipped,
#: 1/(1 + e^z) = 1 − 0.992847 (the right ŷ, σ(10(σ(−15) + σ(5)) − 5), is 0.992847)
_ANSWERS = '''title = "A student's numbers for the XOR net: one is wrong"

[[claim]]
quantity = "a[1]"
example = 2
value = [0.0000003, 0.9933]

[[claim]]
quantity = "a[2]"
example = 2
value = 0.0072

[[claim]]
quantity = "cost"
value = 2.740e-5

[[claim]]
quantity = "db[2]"
value = 3.595e-6
'''

#: (cell id, kind, source): a markdown cell says in a sentence or two what the code cell after it does
CELLS: list[tuple[str, str, str]] = [
    ("title", "markdown", """# Lecture 004's XOR network with deltagen

The network of `spec.toml` beside this notebook: 2 inputs, 2 sigmoid units, 1 sigmoid output, with the
lecture's hand-set weights. Below: its backpropagation derived, proved, worked by hand on the truth
table, a student's answers checked, and the generated NumPy module trained. Run it from this folder."""),
    ("derive-intro", "markdown", """`deltagen.derive` differentiates the network symbolically; shown in a notebook,
the derivation is its forward and backward pass as matrix formulas (`deltagen.math`)."""),
    ("derive", "code", """import deltagen

d = deltagen.derive("spec.toml")
print(repr(d))
d"""),
    ("prove-intro", "markdown", """`deltagen.prove` checks every derived formula exactly against direct
differentiation with SymPy: one row per identity, with its verdict."""),
    ("prove", "code", """report = deltagen.prove(d)
report"""),
    ("solve-intro", "markdown", """The worked solution of the spec's `[example]` (the four rows of the truth
table, one gradient step), every number to 4 significant digits (`digits=` asks for more)."""),
    ("solve", "code", """deltagen.solve(d, fmt="markdown")"""),
    ("check-intro", "markdown", """`deltagen.check` judges claimed numbers. This student's ŷ for example 2 is
wrong (a sign slipped in the sigmoid); the report says so, with the right value and the likely cause."""),
    ("check", "code", f"""import pathlib
import tempfile

answers = pathlib.Path(tempfile.mkdtemp()) / "answers.toml"
answers.write_text('''{_ANSWERS}''', encoding="utf-8")
deltagen.check(d, answers)"""),
    ("train-intro", "markdown", """`deltagen.generate` writes the network as a NumPy module. Imported, it
trains on the truth table (from its own `init_params`, not the hand-set weights); the cost falls."""),
    ("train", "code", """import importlib.util

import numpy as np

out = pathlib.Path(tempfile.mkdtemp())
deltagen.generate(d, "numpy", out=out)
module_spec = importlib.util.spec_from_file_location("lecture_xor_trained", out / "lecture_xor.py")
net = importlib.util.module_from_spec(module_spec)
module_spec.loader.exec_module(net)

X = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=float)
Y = np.array([[0, 1, 1, 0]], dtype=float)
params, costs = net.train(net.init_params(seed=0), X, Y, learning_rate=2.0, epochs=2000)
print(f"first cost {costs[0]:.6f}, last cost {costs[-1]:.6f}")
print("outputs", np.round(net.forward(params, X), 3))"""),
]


def _lines(text: str) -> list[str]:
    """A cell's source as nbformat stores it: its lines, each but the last ending in a newline."""
    return text.splitlines(keepends=True)


def notebook_text(cells: list[tuple[str, str, str]] = CELLS) -> str:
    """The notebook's file: the bytes ``nbformat.write`` gives for these cells."""
    notebook = {
        "cells": [{"cell_type": kind, "id": cell_id, "metadata": {}, "source": _lines(source),
                   **({"execution_count": None, "outputs": []} if kind == "code" else {})}
                  for cell_id, kind, source in cells],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False, separators=(",", ": ")) + "\n"


def notebooks(derivation: Derivation, folder: Path) -> dict[str, str]:
    """A producer for the refresh: ``NAME.ipynb`` in the folders of ``NOTEBOOK_FOLDERS``, nothing elsewhere."""
    name = Path(folder).name
    return {f"{name}.ipynb": notebook_text()} if name in NOTEBOOK_FOLDERS else {}
