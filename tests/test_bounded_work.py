"""Work is bounded by an expression's structure: a deeply nested activation within the documented bounds
derives, proves and generates (it once grew about 2.8x per nesting level in the a-form search)."""
from __future__ import annotations

import subprocess
import sys


def test_twenty_nested_tanh_derives_proves_and_generates(tmp_path):
    activation = "tanh(" * 20 + "z" + ")" * 20
    assert len(activation) <= 500                          # within the custom-activation length bound
    spec = tmp_path / "nested.toml"
    spec.write_text(f'name = "nested"\ninput = 1\nloss = "mse"\n'
                    f'layers = [ {{ units = 2, activation = "{activation}" }}, '
                    f'{{ units = 1, activation = "{activation}" }} ]\n')
    for command in (["derive", str(spec)], ["generate", str(spec), "--target", "c", "--out", str(tmp_path / "c")],
                    ["generate", str(spec), "--out", str(tmp_path / "py")]):
        # the timeout only turns "never finishes" into a failure; it measures nothing
        result = subprocess.run([sys.executable, "-m", "deltagen.cli", *command], capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "c" / "nested.c").exists() and (tmp_path / "py" / "nested.py").exists()
