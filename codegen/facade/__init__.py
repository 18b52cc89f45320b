"""deltagen: derive, prove and generate backpropagation for fixed neural-network architectures.

    import deltagen
    d = deltagen.derive("spec.toml")            # a Derivation (a path, a dict or a Network)
    report = deltagen.prove(d)                  # every gradient against direct differentiation
    files = deltagen.generate(d, "c")           # {file name: text}; out=DIR also writes them
    tex = deltagen.latex(d, report, lang="pt")  # the derivation as a LaTeX document
    text = deltagen.solve(d)                    # worked solution of the spec's [example]
    result = deltagen.check(d, "answers.toml")  # verdict per claimed number

``deltagen.derive`` is also the package of the derivation side (``deltagen.derive.model``,
``deltagen.derive.proof``, ...); ``deltagen.codegen`` renders code; ``deltagen.cli`` is the
command line. This package lives in the repository's ``codegen/facade/`` (see README, Layout).
"""
from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

from . import codegen, derive
from .codegen.backends import TARGETS
from .codegen.backends.c import CConfig
from .codegen.render import render, write_files
from .derive import Derivation, Network, SpecError, SpecLike, __version__, load
from .derive.checking.answers import load_answers
from .derive.checking.check import CheckResult, check as _check
from .derive.checking.html import CheckReport
from .derive.documents import derivation_document, derivation_math
from .derive.documents.solution import DEFAULT_DIGITS, solution_document
from .derive.evaluation import Trace, evaluate
from .derive.proof import ProofReport, prove as _prove


def _derivation(spec_or_derivation: SpecLike | Derivation) -> Derivation:
    if isinstance(spec_or_derivation, Derivation):
        return spec_or_derivation
    return derive(spec_or_derivation)


def prove(derivation: SpecLike | Derivation, *, end_to_end: bool | None = None, generic: bool = True) -> ProofReport:
    """Check every derived gradient against direct differentiation (see README, Proof); ``generic=False`` proves
    dense layers unit by unit instead of once for every width."""
    return _prove(_derivation(derivation), end_to_end=end_to_end, generic=generic)


def latex(derivation: SpecLike | Derivation, report: ProofReport | None = None, *, lang: str = "en") -> str:
    """The derivation as a complete LaTeX document; with ``report``, its proof section."""
    return derivation_document(_derivation(derivation), lang=lang, report=report)


def math(derivation: SpecLike | Derivation) -> str:
    """Display math (``$$...$$``) of the forward and backward pass, for a notebook cell."""
    return derivation_math(_derivation(derivation))


def generate(derivation: SpecLike | Derivation, target: str = "numpy", out: str | os.PathLike | None = None,
             config: Any = None, *, python: bool = False) -> dict[str, str]:
    """The generated files for ``target`` (``numpy`` or ``c``) as {file name: text}; with ``out``, also written there.

    ``python=True`` (target ``c``): also ``NAME_c.py``, the NumPy module's API backed by the compiled C."""
    if python:
        if target != "c":
            raise ValueError(f"python=True: expected target 'c', got {target!r}")
        config = dataclasses.replace(config or CConfig(), python=True)
    files = render(_derivation(derivation), target, config)
    if out is not None:
        write_files(files, out)
    return files


class MarkdownText(str):
    """A str that a notebook renders as Markdown (with its $$ math); otherwise the plain string it is."""

    def _repr_markdown_(self) -> str:
        return str(self)


def solve(derivation: SpecLike | Derivation, *, fmt: str = "latex", lang: str = "en",
          digits: int = DEFAULT_DIGITS) -> str:
    """The worked numeric solution of the spec's ``[example]`` (LaTeX or Markdown; Markdown renders in a
    notebook, a LaTeX document is a plain str)."""
    text = solution_document(_derivation(derivation), fmt=fmt, lang=lang, digits=digits)
    return MarkdownText(text) if fmt == "markdown" else text


def check(derivation: SpecLike | Derivation, answers: str | os.PathLike) -> CheckReport:
    """Verdicts on an answers file's claims about the spec's ``[example]`` (a ``CheckResult``; a notebook shows
    its report, verdicts coloured)."""
    d = _derivation(derivation)
    return CheckReport.of(_check(d, load_answers(answers, d)))


def _math_view(derivation: Derivation) -> str | None:
    """A Derivation's LaTeX in a notebook: ``math``'s forward and backward pass; None (its repr) with conv or pool
    layers, which ``math`` does not write."""
    return None if derivation.network.has_spatial_layers else derivation_math(derivation)


def _show_derivations_in_ipython() -> None:
    """Inside IPython (a Jupyter kernel), a Derivation as a cell's value shows its equations. Registered with
    IPython's formatter rather than as ``Derivation._repr_latex_``: the derivation side does not import the
    documents that write the math (tests/test_layout.py)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        shell.display_formatter.formatters["text/latex"].for_type(Derivation, _math_view)


_show_derivations_in_ipython()

__all__ = ["CheckReport", "CheckResult", "Derivation", "Network", "ProofReport", "SpecError", "TARGETS", "Trace",
           "check", "codegen", "derive", "evaluate", "generate", "latex", "load", "math", "prove", "solve",
           "__version__"]
