"""The bad-input corpus, run through the real command line in subprocesses.

Every file under ``tests/bad_inputs/specs/`` is one malformed spec whose first two
lines say what the one-line error must contain::

    # field: layers[0].activation        (a field; "at line ..." for a TOML syntax
    # expected: softmax only on the last layer     error's location; empty for the file)

Each is run as ``derive``, ``solve``, ``generate --target numpy`` and ``generate --target c``
(through the CLI's ``main`` and, one command per case in turn, as a real process;
``DELTAGEN_CORPUS_EVERY_COMMAND=1`` runs every command as a process); each run must end with exit status 2, nothing on stdout, exactly one line on stderr
that starts with the spec's path and names the field and what was expected, no
traceback, and no output directory, file or staging directory left behind.

The same holds for the files under ``tests/bad_inputs/answers/`` given to
``check SPEC ANSWERS`` (their header names the spec they go with).

A spec's *file name* is also shown in generated headers and docstrings; the tests
at the end generate from files whose names try to break out of a C comment or a
Python docstring, and compile and import the result.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, import_file

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
SPEC_CASES = sorted((CORPUS / "specs").glob("*.toml"))
ANSWER_CASES = sorted((CORPUS / "answers").glob("*.toml"))
XOR = ROOT / "generated" / "lecture_xor" / "spec.toml"
#: DELTAGEN_CORPUS_EVERY_COMMAND=1 runs every command on every case as its own process (about 3x slower)
EVERY_COMMAND_IN_A_PROCESS = os.environ.get("DELTAGEN_CORPUS_EVERY_COMMAND", "") not in ("", "0")

#: the ways a spec is used from the command line; OUT is replaced by the output directory
SPEC_COMMANDS = {
    "derive": ["derive"],
    "solve": ["solve"],
    "numpy": ["generate", "--target", "numpy", "--out", "OUT"],
    "c": ["generate", "--target", "c", "--out", "OUT"],
}


def header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a corpus file (read as bytes: some files are not UTF-8)."""
    found = {}
    for raw in path.read_bytes().splitlines():
        line = raw.decode("utf-8", "replace")
        if not line.startswith("# ") or ":" not in line:
            break
        key, value = line[2:].split(":", 1)
        found[key.strip()] = value.strip()
    return found


def start_cli(args: list[str], cwd: Path) -> subprocess.Popen:
    """``python -m deltagen.cli ARGS`` in ``cwd`` (a temp dir, so stray output would show), not waited for."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "deltagen.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_all(commands: dict[str, list[str]], cwd: Path) -> dict[str, tuple[int, str, str]]:
    """Run the commands side by side (each is a separate process) and collect (status, stdout, stderr)."""
    started = {key: start_cli(args, cwd) for key, args in commands.items()}
    results = {}
    for key, process in started.items():
        stdout, stderr = process.communicate(timeout=300)
        results[key] = (process.returncode, stdout, stderr)
    return results


def assert_one_line_error(result: tuple[int, str, str], shown: str, field: str, expected: str) -> str:
    """Exit 2, no stdout, one stderr line ``SHOWN: FIELD: expected ...`` containing ``expected``."""
    status, stdout, stderr = result
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert status == 2, (status, stderr)
    assert stdout == "", stdout
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith(f"{shown}: "), (line, shown)
    rest = line[len(shown) + 2:]
    if not field:                        # a problem with the file as a whole
        assert rest.startswith("expected "), line
    elif field.startswith("at "):        # a TOML syntax error: the location stands for the field
        assert rest.startswith("expected valid TOML") and field in rest, line
    else:
        assert rest.startswith(f"{field}: expected "), (line, field)
    assert expected in rest, (line, expected)
    return line


def test_the_corpus_is_large_and_covers_every_kind_of_mistake():
    assert len(SPEC_CASES) + len(ANSWER_CASES) >= 40
    kinds = {path.stem.split("_")[0] for path in SPEC_CASES}
    assert {"syntax", "missing", "extra", "softmax", "units", "example", "name", "custom"} <= kinds
    for path in SPEC_CASES + ANSWER_CASES:
        assert {"field", "expected"} <= header(path).keys(), path


def spec_commands(spec: Path, out: Path) -> dict[str, list[str]]:
    """The command lines of SPEC_COMMANDS for ``spec``, writing (if ever) to ``out``."""
    return {key: [args[0], str(spec), *(str(out) if part == "OUT" else part for part in args[1:])]
            for key, args in SPEC_COMMANDS.items()}


def run_in_process(args: list[str], capsys: pytest.CaptureFixture, cwd: Path) -> tuple[int, str, str]:
    """``deltagen.cli.main(args)`` in this process, from ``cwd``: (status, stdout, stderr)."""
    from deltagen.cli import main
    capsys.readouterr()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        try:
            status = main(args)
        except SystemExit as exit_:   # argparse errors exit
            status = exit_.code
    finally:
        os.chdir(previous)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("spec", SPEC_CASES, ids=lambda p: p.stem)
def test_bad_spec_fails_cleanly_in_every_command(spec, tmp_path, capsys):
    """Every command through the CLI's main(); one of them (or, with EVERY_COMMAND_IN_A_PROCESS, all)
    also as a real ``python -m deltagen.cli`` process, which is what catches a traceback printed at exit."""
    expect = header(spec)
    commands = spec_commands(spec, tmp_path / "out")
    lines = {key: assert_one_line_error(run_in_process(args, capsys, tmp_path), str(spec),
                                        expect["field"], expect["expected"])
             for key, args in commands.items()}
    assert len(set(lines.values())) == 1, lines            # the same message whatever the command
    if EVERY_COMMAND_IN_A_PROCESS:
        in_processes = commands
    else:   # the corpus takes turns, so every command runs as a process on a third of it
        key = list(SPEC_COMMANDS)[SPEC_CASES.index(spec) % len(SPEC_COMMANDS)]
        in_processes = {key: commands[key]}
    for key, result in run_all(in_processes, tmp_path).items():
        assert assert_one_line_error(result, str(spec), expect["field"], expect["expected"]) == lines[key]
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())   # no output, no staging directory


@pytest.mark.parametrize("answers", ANSWER_CASES, ids=lambda p: p.stem)
def test_bad_answers_fail_cleanly(answers, tmp_path):
    expect = header(answers)
    spec = ROOT / expect["spec"]
    assert spec.is_file(), spec
    results = run_all({"check": ["check", str(spec), str(answers)]}, tmp_path)
    assert_one_line_error(results["check"], str(answers), expect["field"], expect["expected"])
    assert list(tmp_path.iterdir()) == []


def test_a_failed_generate_leaves_an_existing_output_directory_untouched(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "net.py").write_text("precious\n")
    spec = CORPUS / "specs" / "example_W_transposed.toml"
    results = run_all({"numpy": ["generate", str(spec), "--target", "numpy", "--out", str(out)],
                       "c": ["generate", str(spec), "--target", "c", "--out", str(out)]}, tmp_path)
    for result in results.values():
        assert result[0] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in out.iterdir()] == ["net.py"] and (out / "net.py").read_text() == "precious\n"


def test_missing_directory_and_unwritable_paths_are_one_line_errors(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory\n")
    results = run_all({"missing": ["derive", str(tmp_path / "no_such.toml")],
                       "directory": ["derive", str(tmp_path)],
                       "out_is_file": ["generate", str(XOR), "--out", str(blocker)],
                       "out_under_file": ["generate", str(XOR), "--out", str(blocker / "sub")],
                       "bad_target": ["generate", str(XOR), "--target", "rust", "--out", str(tmp_path / "x")]},
                      tmp_path)
    for key, (status, stdout, stderr) in results.items():
        assert status == 2 and stdout == "" and "Traceback" not in stderr, (key, stderr)
        assert len(stderr.splitlines()) == 1, (key, stderr)
    assert results["missing"][2].startswith(f"{tmp_path / 'no_such.toml'}: expected an existing spec file")
    assert results["directory"][2].startswith(f"{tmp_path}: expected a spec file, got a directory")
    assert str(blocker) in results["out_is_file"][2] and str(blocker) in results["out_under_file"][2]
    assert "--target" in results["bad_target"][2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]
    assert blocker.read_text() == "not a directory\n"


def test_generate_is_all_or_nothing_when_a_destination_cannot_be_replaced(tmp_path):
    out = tmp_path / "out"
    (out / "lecture_xor.c").mkdir(parents=True)
    (out / "lecture_xor.h").write_text("old header\n")
    status, _, stderr = run_all({"c": ["generate", str(XOR), "--target", "c", "--out", str(out)]}, tmp_path)["c"]
    assert status == 2 and len(stderr.splitlines()) == 1
    assert str(out / "lecture_xor.c") in stderr and "directory" in stderr and ".deltagen-" not in stderr
    assert (out / "lecture_xor.h").read_text() == "old header\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]   # no staging directory left behind


def test_a_move_that_fails_midway_puts_the_previous_files_back(tmp_path, monkeypatch):
    from deltagen.codegen import files as files_module
    out = tmp_path / "out"
    out.mkdir()
    (out / "first.txt").write_text("old first\n")
    real_replace = os.replace

    def failing_replace(source, destination):
        if Path(destination).name == "second.txt":
            raise PermissionError(13, "Permission denied", str(destination))
        real_replace(source, destination)

    monkeypatch.setattr(files_module.os, "replace", failing_replace)
    with pytest.raises(PermissionError):
        files_module.write_files({"first.txt": "new first\n", "second.txt": "new second\n"}, out)
    assert (out / "first.txt").read_text() == "old first\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["first.txt", "out"]


# ------------------------------------------------------------------ the spec's file name in generated headers

#: file names that would end a C comment or a Python docstring, or are not valid UTF-8, if shown as they are
HOSTILE_FILE_NAMES = {
    "triple_quotes": 'x"""; import os; """.toml',
    "single_triple_quotes": "x'''.toml",
    "backslash_escape": "back\\N{oops}\\x4.toml",
    "trailing_backslash": "end\\",
    "newline_include": "a\n#include <stdio.h>\n.toml",
    "comment_star": "a*\n*.toml",
    "trigraph": "tri??\n.toml",
    "control_characters": "x\x01\x1b[31m\r.toml",
    "not_utf8": b"lat\xe9.toml",
    "portuguese": "rede_ção.toml",
}


@pytest.fixture(scope="module")
def gcc():
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    return "gcc"


@pytest.mark.parametrize("key", sorted(HOSTILE_FILE_NAMES))
def test_hostile_spec_file_names_give_code_that_compiles_and_imports(key, tmp_path, gcc):
    name = HOSTILE_FILE_NAMES[key]
    directory = os.fsencode(tmp_path) if isinstance(name, bytes) else str(tmp_path)
    spec = os.path.join(directory, name)
    shutil.copyfile(XOR, spec)
    spec_arg = os.fsdecode(spec)
    outputs = {"numpy": tmp_path / "numpy", "c": tmp_path / "c"}
    results = run_all({target: ["generate", spec_arg, "--target", target, "--out", str(out)]
                       for target, out in outputs.items()}, tmp_path)
    for target, (status, _, stderr) in results.items():
        assert status == 0, (target, stderr)
    module_path = outputs["numpy"] / "lecture_xor.py"
    text = module_path.read_text(encoding="utf-8")
    compile(text, str(module_path), "exec", dont_inherit=True)   # SyntaxError if the docstring broke
    module = import_file(module_path)
    assert module.LAYER_SIZES == (2, 2, 1)
    assert module.__doc__ is not None and "lecture_xor" in module.__doc__   # the docstring is still whole
    for suffix in (".h", ".c"):
        first_lines = (outputs["c"] / f"lecture_xor{suffix}").read_text(encoding="utf-8").splitlines()[:25]
        assert not any(line.lstrip().startswith("#include <stdio.h>") for line in first_lines)
    driver = tmp_path / "driver.c"
    driver.write_text('#include "lecture_xor.h"\nint main(void) { lecture_xor_params p;\n'
                      '    lecture_xor_init_params(&p, 1); return p.W1[0][0] == p.W1[0][0] ? 0 : 1; }\n')
    compiled = subprocess.run([gcc, "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I", str(outputs["c"]),
                               str(driver), str(outputs["c"] / "lecture_xor.c"), "-o", str(tmp_path / "driver"), "-lm"],
                              capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    assert subprocess.run([str(tmp_path / "driver")]).returncode == 0
