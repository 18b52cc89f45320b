"""Regenerate the committed ``generated/`` tree: ``python -m deltagen.codegen.refresh [--check]``.

Every ``generated/*/spec.toml`` is rendered by every producer (code for every
target, and the documents and reports other modules register) next to its spec;
every ``generated/*/class.toml`` gets its exercise and grades (``refresh_classes``).
With ``--check`` nothing is written; the exit status is 1 if any file is stale.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from deltagen.derive import Derivation, derive
from deltagen.derive.checking.report import answer_reports
from deltagen.derive.documents import derivation_document
from deltagen.derive.documents.solution import solution_document
from deltagen.derive.proof import prove

from .backends import TARGETS
from .files import write_files
from .notebook import notebooks
from .refresh_classes import class_recipes, expected_class_files, stale_class_files, write_class_files
from .render import render

GENERATED = Path(__file__).resolve().parent.parent / "generated"

#: a producer makes {file name: text} from a spec's derivation and its folder
Producer = Callable[[Derivation, Path], dict[str, str]]


def _code(derivation: Derivation, folder: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for target in TARGETS:
        files.update(render(derivation, target))
    return files


#: the LaTeX documents kept in generated/ for every lecture example, one per kind and language
DOCUMENT_LANGUAGES = ("en", "pt")


def tex_documents(derivation: Derivation, folder: Path) -> dict[str, str]:
    """The derivation (with its proof) and, when the spec has an [example], the worked solution, in en and pt."""
    files: dict[str, str] = {}
    report = prove(derivation)
    for lang in DOCUMENT_LANGUAGES:
        files[f"derivation_{lang}.tex"] = derivation_document(derivation, lang=lang, report=report)
        if derivation.network.example is not None:
            files[f"solution_{lang}.tex"] = solution_document(derivation, lang=lang)
    return files


#: every producer, in order; each one's files are checked fresh by tests/test_generated_fresh.py
PRODUCERS: list[Producer] = [_code, tex_documents, answer_reports, notebooks]


def expected_files(spec: Path) -> dict[str, str]:
    """Every generated file for one spec, by name."""
    derivation = derive(spec)
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
    for recipe in class_recipes(GENERATED):     # the class examples: exercise/ and grades/ beside class.toml
        files = expected_class_files(recipe)
        stale += stale_class_files(recipe, files)
        if not args.check:
            write_class_files(recipe, files)
    for path in stale:
        print(("stale: " if args.check else "updated: ") + str(path))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
