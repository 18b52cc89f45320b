"""The regenerate command in every generated header is safe to paste into a shell."""
from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from deltagen.codegen.render import render
from deltagen.derive import derive, load_spec

XOR = Path(__file__).resolve().parent.parent / "generated" / "lecture_xor" / "spec.toml"


def regenerate_line(text: str) -> str:
    return next(line for line in text.splitlines() if "deltagen generate" in line)


@pytest.mark.parametrize("file_name, shown", [
    ("$(id).toml", "SPEC"), ("x;id;#.toml", "SPEC"), ("a b.toml", "SPEC"), ("-rf.toml", "SPEC"),
    ("`id`.toml", "_id_.toml"), ("a|b&c.toml", "SPEC"), ("spec.toml", "spec.toml"), ("rede_ção-2.toml", "rede_ção-2.toml"),
])
def test_the_regenerate_command_runs_nothing_but_deltagen(tmp_path, file_name, shown):
    spec = tmp_path / file_name
    shutil.copyfile(XOR, spec)
    files = {**render(derive(load_spec(spec)), "numpy"), **render(derive(load_spec(spec)), "c")}
    for name in ("lecture_xor.py", "lecture_xor.h"):
        line = regenerate_line(files[name]).lstrip(" *")
        words = shlex.split(line, comments=False, posix=True)   # what a POSIX shell makes of the pasted line
        target = "numpy" if name.endswith(".py") else "c"
        assert words == ["deltagen", "generate", shown, "--target", target, "--out", "DIR"], line


def test_every_identifier_the_generated_c_owns_is_kept_from_spec_names(tmp_path):
    """NAME_suffix must never equal one of the C's own identifiers (name = "m" gave `m_real m_real`)."""
    import re

    from deltagen.derive.model.spec import GENERATED_LOCALS
    name = "zq"
    for spec in ("lecture_xor", "lecture_softmax_tanh", "lecture_sigmoid_121"):
        text = (Path(__file__).resolve().parent.parent / "generated" / spec / "spec.toml").read_text()
        path = tmp_path / f"{spec}.toml"
        path.write_text(re.sub(r'^name = ".*"$', f'name = "{name}"', text, flags=re.M))
        files = render(derive(load_spec(path)), "c")
        code = re.sub(r"/\*.*?\*/", " ", "\n".join(files.values()), flags=re.S)      # identifiers, not comments
        own = {word for word in re.findall(r"\b[A-Za-z_]\w*\b", code)
               if "_" in word.strip("_") and not word.startswith((name, name.upper()))}
        for word in own:
            parts = word.split("_")
            for cut in range(1, len(parts)):
                prefix = "_".join(parts[:cut])
                assert prefix in GENERATED_LOCALS or prefix.startswith("_") or not prefix.isidentifier(), word
