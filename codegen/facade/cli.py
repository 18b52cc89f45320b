"""The ``deltagen`` command line: derive (and prove), generate, solve, check, a class's exercise and grades, and import.

Bad input ends with one line on stderr, ``FILE: FIELD: expected ...``, and exit status 2.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Iterator, Sequence

from . import check, derive, generate, latex, prove, solve
from .codegen.backends import TARGETS
from .codegen.files import _HIDDEN, write_files
from .derive import SpecError, __version__
from .derive.errors import printable
from .derive.checking.report import render_json, render_text
from .derive.documents.describe import describe
from .derive.documents.solution import DEFAULT_DIGITS
from .derive.documents.words import LANGUAGES
from .derive.teaching.exercise import write_exercise
from .derive.teaching.grade import grade_class
from .derive.teaching.moodle import write_quiz
from .onnx_import import import_model


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and status 2, like every other input error
        self.exit(2, _one_line(f"deltagen: {message} (see deltagen --help)") + "\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deltagen", description="Derive, prove and generate backpropagation code.")
    parser.add_argument("--version", action="version", version=f"deltagen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    d = commands.add_parser("derive", help="print the derivation and the proof verdict")
    d.add_argument("spec", help="spec file (TOML)")
    d.add_argument("--no-end-to-end", action="store_true",
                   help="only the layer-local proof (the end-to-end one runs for nets up to 60 parameters)")
    d.add_argument("--proof-details", action="store_true", help="list every proved identity")
    d.add_argument("--latex", action="store_true",
                   help="write the derivation as a complete LaTeX document (with a TikZ drawing of the net)")
    d.add_argument("-o", "--output", type=_path,
                   help="with --latex: write the document to this file instead of stdout")
    d.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the words (default en)")
    s = commands.add_parser("solve", help="worked numeric solution of the spec's [example]")
    s.add_argument("spec", help="spec file (TOML) with an [example] table")
    s.add_argument("-o", "--output", type=_path, help="write to this file instead of stdout")
    s.add_argument("--format", choices=("latex", "markdown"), default="latex",
                   help="a complete LaTeX document (default) or Markdown with $...$ math")
    s.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the words (default en)")
    s.add_argument("--digits", type=_digits, default=DEFAULT_DIGITS,
                   help=f"significant digits of the results (1 to 30, default {DEFAULT_DIGITS})")
    g = commands.add_parser("generate", help="write generated source files")
    g.add_argument("spec", help="spec file (TOML)")
    g.add_argument("--target", choices=TARGETS, default="numpy", help="what to generate (default numpy)")
    g.add_argument("--out", required=True, type=_path, help="output directory (created if missing)")
    g.add_argument("--python", action="store_true",
                   help="with --target c: also NAME_c.py, the NumPy module's API backed by the compiled C")
    c = commands.add_parser("check", help="verdict on every claimed number or formula of an answers file")
    c.add_argument("spec", help="spec file (TOML) with an [example] table")
    c.add_argument("answers", help="answers file (TOML): [[claim]] tables")
    c.add_argument("--json", action="store_true", help="machine-readable verdicts")
    c.add_argument("--lang", choices=("en", "pt"), default="en", help="language of the report (default en)")
    e = commands.add_parser("exercise", help="seeded variants of the spec's exercise: sheets, keys, answers templates")
    e.add_argument("spec", help="spec file (TOML); an [exercise] table sets what is asked and the ranges")
    e.add_argument("--variants", type=int, required=True, help="how many variants (1 to 999), in OUT/001, OUT/002, ...")
    e.add_argument("--seed", type=int, required=True, help="the seed of the variants' numbers (0 to 2**64 - 1)")
    e.add_argument("--out", required=True, type=_path, help="output directory (created if missing)")
    e.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the sheets and keys (default en)")
    e.add_argument("--moodle", action="store_true", help="also write OUT/quiz.xml: one Moodle Cloze question a variant")
    r = commands.add_parser("grade", help="grade every answers file of a folder: grades.csv, feedback, summary")
    r.add_argument("exercise", help="an exercise folder (from deltagen exercise) or one spec file")
    r.add_argument("submissions", help="folder of the students' answers files (*.toml)")
    r.add_argument("--out", required=True, type=_path, help="output directory (created if missing)")
    r.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the feedback (default en)")
    i = commands.add_parser("import", help="a trained ONNX model in: DIR/NAME.toml and DIR/NAME.params.npz")
    i.add_argument("model", help="the model file (ONNX)")
    i.add_argument("--out", required=True, type=_path, help="output directory (created if missing)")
    return parser


def _digits(text: str) -> int:
    """--digits: an integer from 1 to 30 (argparse prints the ArgumentTypeError on one line)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 30:
        raise argparse.ArgumentTypeError(f"expected an integer from 1 to 30, got {text!r}")
    return value


def _path(text: str) -> str:
    """-o/--out: a path; an empty one would silently mean the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a path, got {text!r}")
    return text


def _emit(text: str, output: str | None) -> None:
    """Print ``text``, or write it to ``output`` atomically (the file appears whole or not at all)."""
    if output is None:
        sys.stdout.write(text)
        return
    path = Path(output)
    with _named(output):
        write_files({path.name: text}, path.parent)
    print(printable(str(path)))


@contextlib.contextmanager
def _named(destination: str) -> Iterator[None]:
    """An OSError about a hidden staging file (``.x.tex.deltagen-new-…``) is reported about ``destination``."""
    try:
        yield
    except OSError as error:
        if _HIDDEN in str(error.filename or ""):
            raise OSError(error.errno, f"cannot be written there ({error.strerror})", destination) from None
        raise


def _derive(args: argparse.Namespace) -> int:
    if args.output is not None and not args.latex:
        print("deltagen: -o/--output: expected --latex with it (the text account is printed)", file=sys.stderr)
        return 2
    derivation = derive(args.spec)
    if not args.latex:
        print(describe(derivation), flush=True)   # before the proof, which may take a while
    report = prove(derivation, end_to_end=False if args.no_end_to_end else None)
    if args.latex:
        _emit(latex(derivation, report, lang=args.lang), args.output)
        if args.output is not None or not report.ok:
            print(report.summary(), file=sys.stdout if args.output is not None else sys.stderr)
        return 0 if report.ok else 1
    if args.proof_details or not report.ok:
        print(report)
    else:
        print(report.summary())
    return 0 if report.ok else 1


def _solve(args: argparse.Namespace) -> int:
    _emit(solve(args.spec, fmt=args.format, lang=args.lang, digits=args.digits), args.output)
    return 0


def _check(args: argparse.Namespace) -> int:
    result = check(args.spec, args.answers)
    names = {"answers_name": args.answers, "spec_name": args.spec}
    # the text report quotes the answers file (title, notes, numbers as written): no raw control character
    text = render_json(result, **names) if args.json else printable(render_text(result, args.lang, **names))
    sys.stdout.write(text)
    return 0 if result.ok else 1   # 2 (bad input) comes from the SpecError handler in main


def _generate(args: argparse.Namespace) -> int:
    files = generate(args.spec, args.target, python=args.python)
    with _named(args.out):
        written = write_files(files, args.out)
    for path in written:
        print(printable(str(path)))
    return 0


def _import(args: argparse.Namespace) -> int:
    for path in import_model(args.model, args.out):
        print(printable(str(path)))
    return 0


def _exercise(args: argparse.Namespace) -> int:
    for folder in write_exercise(Path(args.spec), args.variants, args.seed, Path(args.out), args.lang):
        print(printable(str(folder)))
    if args.moodle:
        print(printable(str(write_quiz(Path(args.out), args.lang))))
    return 0


def _grade(args: argparse.Namespace) -> int:
    report = grade_class(Path(args.exercise), Path(args.submissions), Path(args.out), args.lang)
    for line in report.lines():
        print(printable(line))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deltagen`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "generate" and args.python and args.target != "c":
        parser.error(f"--python: expected --target c, got --target {args.target}")
    try:
        return {"derive": _derive, "generate": _generate, "solve": _solve, "check": _check, "exercise": _exercise,
                "grade": _grade, "import": _import}[args.command](args)
    except SpecError as error:
        print(error.line(), file=sys.stderr)
        return 2
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(_one_line(f"deltagen: {where}{error.strerror or error}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug of ours: still one line, and a distinct status
        print(_one_line(f"deltagen: internal error ({type(error).__name__}: {error}); please report it with "
                        f"the spec"), file=sys.stderr)
        return 3


def _one_line(text: str) -> str:
    """A message on one line with no raw control character (file names and errors may hold any)."""
    return printable(" ".join(text.split()))


if __name__ == "__main__":
    sys.exit(main())
