"""The ``deltagen`` command line: derive (and prove) a spec, or generate code from it.

Bad input ends with one line on stderr, ``FILE: FIELD: expected ...``, and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from derive import SpecError, __version__, derive, load_spec

from .render import TARGETS, render, write_files


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and status 2, like every other input error
        self.exit(2, f"deltagen: {message} (see deltagen --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="deltagen", description="Derive, prove and generate backpropagation code.")
    parser.add_argument("--version", action="version", version=f"deltagen {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    d = commands.add_parser("derive", help="print the derivation and the proof verdict")
    d.add_argument("spec", help="spec file (TOML)")
    d.add_argument("--no-end-to-end", action="store_true",
                   help="only the layer-local proof (the end-to-end one runs for nets up to 60 parameters)")
    d.add_argument("--proof-details", action="store_true", help="list every proved identity")
    g = commands.add_parser("generate", help="write generated source files")
    g.add_argument("spec", help="spec file (TOML)")
    g.add_argument("--target", choices=TARGETS, default="numpy", help="what to generate (default numpy)")
    g.add_argument("--out", required=True, help="output directory (created if missing)")
    return parser


def _derive(args: argparse.Namespace) -> int:
    from .describe import describe
    derivation = derive(load_spec(args.spec))
    print(describe(derivation))
    report = derivation.prove(end_to_end=False if args.no_end_to_end else None)
    if args.proof_details or not report.ok:
        print(report)
    else:
        print(report.summary())
    return 0 if report.ok else 1


def _generate(args: argparse.Namespace) -> int:
    derivation = derive(load_spec(args.spec))
    for path in write_files(render(derivation, args.target), args.out):
        print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deltagen`` console script."""
    args = _parser().parse_args(argv)
    try:
        return {"derive": _derive, "generate": _generate}[args.command](args)
    except SpecError as error:
        print(error.line(), file=sys.stderr)
        return 2
    except OSError as error:
        print(f"deltagen: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug of ours: still one line, and a distinct status
        print(f"deltagen: internal error ({type(error).__name__}: {error}); please report it with the spec",
              file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
