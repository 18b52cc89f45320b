"""Regenerate the committed ``generated/`` tree: ``python -m codegen.refresh [--check]``.

Every ``generated/*/spec.toml`` is rendered by every producer (code for every
target, and the documents and reports other modules register) next to its spec.
With ``--check`` nothing is written; the exit status is 1 if any file is stale.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from derive import derive, load_spec

from derive.backprop import Derivation
from derive.report import answer_reports
from derive.solution import tex_documents

from .render import TARGETS, render, write_files

GENERATED = Path(__file__).resolve().parent.parent / "generated"

#: a producer makes {file name: text} from a spec's derivation and its folder
Producer = Callable[[Derivation, Path], dict[str, str]]


def _code(derivation: Derivation, folder: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for target in TARGETS:
        files.update(render(derivation, target))
    return files


#: every producer, in order; each one's files are checked fresh by tests/test_generated_fresh.py
PRODUCERS: list[Producer] = [_code, tex_documents, answer_reports]


def expected_files(spec: Path) -> dict[str, str]:
    """Every generated file for one spec, by name."""
    derivation = derive(load_spec(spec))
    files: dict[str, str] = {}
    for producer in PRODUCERS:
        files.update(producer(derivation, spec.parent))
    return files


def specs(root: Path = GENERATED) -> list[Path]:
    return sorted(root.glob("*/spec.toml"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="report stale files, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for spec in specs():
        files = expected_files(spec)
        for name, text in files.items():
            path = spec.parent / name
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        if not args.check:
            write_files(files, spec.parent)
    for path in stale:
        print(("stale: " if args.check else "updated: ") + str(path))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
