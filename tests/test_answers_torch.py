"""The optimizer lecture examples checked against torch.optim's own numbers (generated/*/answers_torch.toml).

Each file is torch's printout (tests/torch_answers.py, which imports nothing of deltagen): three steps of
SGD with momentum (lecture_momentum_231) and of Adam (lecture_adam_xor), every parameter and its state.
The checker must call every number correct; with torch installed the file must be what torch prints now.
"""
from __future__ import annotations

from pathlib import Path

import pytest

import torch_answers
from deltagen.derive import derive
from deltagen.derive.checking.answers import load_answers
from deltagen.derive.checking.check import check

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [("momentum", "lecture_momentum_231"), ("adam", "lecture_adam_xor")]


@pytest.mark.parametrize("which, folder", EXAMPLES)
def test_every_torch_number_is_correct(which, folder):
    derivation = derive(ROOT / "generated" / folder / "spec.toml")
    result = check(derivation, load_answers(ROOT / "generated" / folder / "answers_torch.toml", derivation))
    # three steps of every entry and its state: momentum 3·(6 + 6 + 3 + 3), adam 3·3·(4 + 2 + 2 + 1)
    assert result.counts()["correct"] == {"momentum": 54, "adam": 81}[which]
    assert result.ok


@pytest.mark.parametrize("which, folder", EXAMPLES)
def test_the_file_is_what_torch_prints(which, folder):
    pytest.importorskip("torch")
    text = (ROOT / "generated" / folder / "answers_torch.toml").read_text()
    assert text[text.index("[[claim]]"):].strip() == torch_answers.claims(which).strip()
