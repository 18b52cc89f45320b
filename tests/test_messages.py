"""Messages that must not mislead (issue 13, item 7), through the command line.

Each bad input ends with exit status 2 and one stderr line ``FILE: FIELD: expected ...`` that
names the file really at fault, and the hint a user needs: a quantity the message lists is one
the parser accepts, a spec without ``[example]`` is blamed (not the answers), an unquoted decimal
comma is named as such, a misspelt activation or loss gets "did you mean", and no raw control
character from the input reaches the terminal.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import sympy as sp

from conftest import ROOT

XOR = ROOT / "tests" / "bad_inputs" / "xor_spec.toml"     # 2-2-1 sigmoid, four examples, learning_rate 0.1
NET = 'name = "n"\ninput = 1\nlayers = [{{ units = 1, activation = "{activation}" }}]\nloss = "{loss}"\n{extra}'


def cli(args: list[str], capsys: pytest.CaptureFixture, cwd: Path | None = None) -> tuple[int, str, str]:
    """``deltagen.cli.main(args)`` in this process: (status, stdout, stderr)."""
    from deltagen.cli import main
    capsys.readouterr()
    previous = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        try:
            status = main(args)
        except SystemExit as exit_:    # argparse errors exit
            status = exit_.code
    finally:
        os.chdir(previous)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(result: tuple[int, str, str], shown: str | Path, field: str) -> str:
    """Exit 2, nothing on stdout, one stderr line ``SHOWN: FIELD: expected ...`` (FIELD "" for the file)."""
    status, stdout, stderr = result
    assert status == 2 and stdout == "" and "Traceback" not in stderr, result
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    line = stderr[:-1]
    prefix = f"{shown}: {field}: expected " if field else f"{shown}: expected "
    assert line.startswith(prefix), (line, prefix)
    assert not any(unicodedata.category(ch) == "Cc" for ch in line), repr(line)
    return line


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def net(tmp_path: Path, activation: str = "sigmoid", loss: str = "half_sse", extra: str = "",
        name: str = "net.toml") -> Path:
    return write(tmp_path / name, NET.format(activation=activation, loss=loss, extra=extra))


# ---------------------------------------------------------------- 1. W+[3] is W[3]+

def claim(quantity: str, value: str, example: int | None = 1) -> str:
    where = "" if example is None else f"example = {example}\n"
    return f'[[claim]]\nquantity = "{quantity}"\n{where}value = {value}\n'


@pytest.mark.parametrize("before, after, value, example", [
    ("W+[2]", "W[2]+", "[[9.9, 9.9]]", None),
    ("b+[1]", "b[1]+", "[-5.0, -5.0]", None),
    ("z+[1]", "z[1]+", "[-5.0, -5.0]", 1),
    ("a+[2]", "a[2]+", "0.006", 2),
    ("W+[1]", "W[1]+", "[[10, -10], [-10, 10]]", 3),
])
def test_plus_before_the_layer_is_the_same_quantity(tmp_path, capsys, before, after, value, example):
    verdicts = []
    for spelling in (before, after):
        answers = write(tmp_path / f"{spelling}.toml", claim(spelling, value, example))
        status, stdout, stderr = cli(["check", str(XOR), str(answers), "--json"], capsys)
        assert status in (0, 1) and stderr == "", stderr
        report = json.loads(stdout)
        for item in report["claims"]:
            item.pop("quantity", None)
        verdicts.append((report["counts"], report["claims"]))
    assert verdicts[0] == verdicts[1]


def test_every_quantity_the_message_lists_is_accepted(tmp_path, capsys):
    answers = write(tmp_path / "answers.toml", claim("sigma[1]", "[0, 0]"))
    line = one_line_error(cli(["check", str(XOR), str(answers)], capsys), answers, "claim[0].quantity")
    listed = re.search(r"\(one of (.*?)\)", line).group(1).split(", ")
    assert "W+[l]" in listed and "b+[l]" in listed and len(listed) >= 15
    from deltagen import derive
    from deltagen.derive.checking.answers import parse_quantity
    from deltagen.derive.errors import SpecError
    d = derive(XOR)
    for item in listed:
        accepted = []
        for layer in ("0", "1", "2"):       # the message's [l]: one of the layers must do
            try:
                accepted.append(parse_quantity(item.replace("[l]", f"[{layer}]"), d, "q"))
            except SpecError:
                pass
        assert accepted, item


def test_a_plus_on_both_sides_is_refused(tmp_path, capsys):
    answers = write(tmp_path / "answers.toml", claim("W+[2]+", "[[9.9, 9.9]]", None))
    line = one_line_error(cli(["check", str(XOR), str(answers)], capsys), answers, "claim[0].quantity")
    assert "'W+[2]+'" in line and "one + is enough" in line


def test_an_unknown_quantity_gets_did_you_mean(tmp_path, capsys):
    answers = write(tmp_path / "answers.toml", claim("Delta[2]", "[0.1]"))
    line = one_line_error(cli(["check", str(XOR), str(answers)], capsys), answers, "claim[0].quantity")
    assert line.endswith("did you mean delta?")


@pytest.mark.parametrize("text, field, ending", [
    ('[claim]\nquantity = "a[2]"\nexample = 1\nvalue = 0.5\n', "claim",
     "expected [[claim]] tables (double brackets), got a single [claim] table"),
    ('[[claims]]\nquantity = "a[2]"\nexample = 1\nvalue = 0.5\n', "claims", "did you mean claim?"),
    ('[[claim]]\nQuantity = "a[2]"\nexample = 1\nvalue = 0.5\n', "claim[0].Quantity", "did you mean quantity?"),
])
def test_misspelt_answers_keys_get_a_hint(tmp_path, capsys, text, field, ending):
    answers = write(tmp_path / "answers.toml", text)
    line = one_line_error(cli(["check", str(XOR), str(answers)], capsys), answers, field)
    assert line.endswith(ending)


# ---------------------------------------------------------------- 2. the spec is blamed for its own [example]

def test_a_spec_without_example_is_reported_against_the_spec(tmp_path, capsys):
    spec = net(tmp_path)
    answers = write(tmp_path / "answers.toml", claim("a[1]", "0.5"))
    line = one_line_error(cli(["check", str(spec), str(answers)], capsys), spec, "example")
    assert line.startswith(f"{spec}: example: expected an [example] table (needed to check answers")
    assert "claim[0]" in line and str(answers) in line


def test_the_spec_is_reported_before_the_answers_are_judged(tmp_path, capsys):
    spec = net(tmp_path)
    answers = write(tmp_path / "answers.toml", claim("delta[1]", "[0.5]") + claim("a[7]", "1") +
                    '[[claim]]\nquantity = "z[1]"\nvalue = 1\ncolour = "red"\n')
    one_line_error(cli(["check", str(spec), str(answers)], capsys), spec, "example")


def test_formula_claims_need_no_example(tmp_path, capsys):
    spec = net(tmp_path)
    answers = write(tmp_path / "answers.toml", '[[claim]]\nquantity = "delta[L]"\nexpression = "a[L] - y"\n')
    status, stdout, stderr = cli(["check", str(spec), str(answers)], capsys)
    assert status == 1 and stderr == "" and "delta[L]" in stdout   # wrong (σ′ left out), but judged


def test_a_step_without_learning_rate_is_reported_against_the_spec(tmp_path, capsys):
    spec = write(tmp_path / "spec.toml", XOR.read_text().replace("learning_rate = 0.1", ""))
    answers = write(tmp_path / "answers.toml", claim("W[2]+", "[[9.9, 9.9]]", None))
    line = one_line_error(cli(["check", str(spec), str(answers)], capsys), spec, "example.learning_rate")
    assert "claim[0]" in line and str(answers) in line


# ---------------------------------------------------------------- 3. TOML errors, decimal commas, control characters

def test_an_unquoted_decimal_comma_in_answers_is_named(tmp_path, capsys):
    answers = write(tmp_path / "answers.toml", 'title = "x"\n' + claim("a[2]", "0,5017"))
    line = one_line_error(cli(["check", str(XOR), str(answers)], capsys), answers, "")
    assert line.startswith(f"{answers}: expected valid TOML at line 5, column 10 (")
    assert line.endswith('; a decimal comma must be quoted: value = "0,5017"')


def test_the_quoted_number_the_hint_gives_is_accepted(tmp_path, capsys):
    answers = write(tmp_path / "answers.toml", claim("a[2]", '"0,5017"'))
    status, _, stderr = cli(["check", str(XOR), str(answers)], capsys)
    assert status in (0, 1) and stderr == ""


def test_decimal_commas_read_as_whole_numbers_are_named(tmp_path, capsys):
    answers = write(tmp_path / "answers.toml", claim("a[1]", "[0,5017, 0,4983]"))   # valid TOML: 4 integers
    line = one_line_error(cli(["check", str(XOR), str(answers)], capsys), answers, "claim[0].value")
    assert "got 4 entries" in line and "a decimal comma must be quoted" in line


def test_an_unquoted_decimal_comma_in_a_spec_is_named(tmp_path, capsys):
    text = XOR.read_text().replace("learning_rate = 0.1", "learning_rate = 0,1")
    spec = write(tmp_path / "spec.toml", text)
    lines = text.split("\n")
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("learning_rate"))
    column = lines[number - 1].index(",") + 1          # TOML stops at the comma (columns count from 1)
    for command in (["derive"], ["solve"], ["check"]):
        args = [command[0], str(spec)] + ([str(XOR)] if command == ["check"] else [])
        line = one_line_error(cli(args, capsys), spec, "")
        assert line.startswith(f"{spec}: expected valid TOML at line {number}, column {column} (")
        assert line.endswith('; a decimal comma must be quoted: learning_rate = "0,1"')


@pytest.mark.parametrize("text", ['value = = 1\n', 'title = "0,5" 1\n', 'x = 1 # 0,5 in a comment\ny = =\n'])
def test_no_decimal_comma_hint_without_a_bare_decimal_comma(tmp_path, capsys, text):
    answers = write(tmp_path / "answers.toml", text)
    line = one_line_error(cli(["check", str(XOR), str(answers)], capsys), answers, "")
    assert "expected valid TOML at line" in line and "decimal comma" not in line


def test_control_characters_never_reach_the_terminal(tmp_path, capsys):
    bad_toml = tmp_path / "ctrl.toml"
    bad_toml.write_bytes(b'title = "red \x1b[31m text"\x07\n')
    line = one_line_error(cli(["check", str(XOR), str(bad_toml)], capsys), bad_toml, "")
    assert "\\x1b" in line
    line = one_line_error(cli(["derive", str(bad_toml)], capsys), bad_toml, "")
    assert "\\x1b" in line
    key = write(tmp_path / "key.toml", '"\\u001b[2J" = 1\n' + claim("a[2]", "0.5"))   # a valid key, ESC in it
    line = one_line_error(cli(["check", str(XOR), str(key)], capsys), key, "\\x1b[2J")
    assert "unknown key \\x1b[2J" in line
    name = tmp_path / "a\x1b[31mb\u202e.toml"                                       # a file name, missing
    one_line_error(cli(["derive", str(name)], capsys), str(name).replace("\x1b", "\\x1b").replace(
        "\u202e", "\\u202e"), "")
    status, _, stderr = cli(["derive", str(XOR), "\x1b[31mX"], capsys)               # argparse's own message
    assert status == 2 and "\\x1b[31mX" in stderr and "\x1b" not in stderr


def test_the_check_report_quotes_the_answers_file_without_control_characters(tmp_path, capsys):
    answers = write(tmp_path / "answers.toml", 'title = "\\u001b[31mred"\n' + claim("a[2]", "0.5") +
                    'note = "bell\\u0007"\n')
    status, stdout, stderr = cli(["check", str(XOR), str(answers)], capsys)
    assert status in (0, 1) and stderr == ""
    assert "\\x1b[31mred" in stdout
    assert not any(unicodedata.category(ch) == "Cc" for ch in stdout.replace("\n", "")), repr(stdout)


def test_a_byte_order_mark_is_not_a_toml_error(tmp_path, capsys):
    answers = tmp_path / "bom.toml"
    answers.write_bytes(b"\xef\xbb\xbf" + claim("a[2]", "0.5").encode())
    spec = tmp_path / "spec.toml"
    spec.write_bytes(b"\xef\xbb\xbf" + XOR.read_bytes())
    status, _, stderr = cli(["check", str(spec), str(answers)], capsys)
    assert status in (0, 1) and stderr == ""


# ---------------------------------------------------------------- 4. did you mean

@pytest.mark.parametrize("written, meant", [("sigmod", "sigmoid"), ("ReLU", "relu"), ("Tanh", "tanh"),
                                            ("Leaky-ReLU", "leaky_relu"), ("logistic", "sigmoid")])
def test_a_misspelt_activation_gets_did_you_mean(tmp_path, capsys, written, meant):
    spec = net(tmp_path, activation=written)
    line = one_line_error(cli(["derive", str(spec)], capsys), spec, "layers[0].activation")
    assert line.endswith(f"got {written!r}; did you mean {meant}?")
    status, _, stderr = cli(["derive", str(net(tmp_path, activation=meant, name="fixed.toml"))], capsys)
    assert status == 0 and stderr == ""


def test_softplus_is_shown_as_the_custom_expression_that_gives_it(tmp_path, capsys):
    spec = net(tmp_path, activation="softplus")
    line = one_line_error(cli(["derive", str(spec)], capsys), spec, "layers[0].activation")
    expression = re.search(r'activation = "([^"]+)"$', line).group(1)
    assert expression == "log(1 + exp(z))"
    status, _, stderr = cli(["derive", str(net(tmp_path, activation=expression, name="fixed.toml"))], capsys)
    assert status == 0 and stderr == ""
    z = sp.Symbol("z", real=True)    # softplus' = σ, by hand: d/dz log(1 + e^z) = e^z / (1 + e^z)
    assert sp.simplify(sp.diff(sp.log(1 + sp.exp(z)), z) - 1 / (1 + sp.exp(-z))) == 0


@pytest.mark.parametrize("written, hint", [
    ("sigmoid(z)", 'sigmoid is built in: write activation = "sigmoid" alone'),
    ("ln(1 + z*z)", "did you mean log?"),
    ("elu", "elu is not built in"),
])
def test_names_inside_expressions_and_other_libraries_names(tmp_path, capsys, written, hint):
    spec = net(tmp_path, activation=written)
    line = one_line_error(cli(["derive", str(spec)], capsys), spec, "layers[0].activation")
    assert line.endswith(hint) or hint in line
    assert "did you mean relu" not in line


@pytest.mark.parametrize("extra, field, hint", [
    ('reduction = "Mean"\n', "reduction", "did you mean 'mean'?"),
    ('[notation]\nweight_symbol = "Theta"\n', "notation.weight_symbol", "did you mean 'theta'?"),
])
def test_misspelt_choices_get_did_you_mean(tmp_path, capsys, extra, field, hint):
    spec = net(tmp_path, extra=extra)
    line = one_line_error(cli(["derive", str(spec)], capsys), spec, field)
    assert line.endswith(hint)


@pytest.mark.parametrize("written, meant", [("MSE", "mse"), ("cross_entropy", "cce"), ("binary_crossentropy", "bce")])
def test_a_misspelt_loss_gets_did_you_mean(tmp_path, capsys, written, meant):
    spec = net(tmp_path, loss=written)
    line = one_line_error(cli(["derive", str(spec)], capsys), spec, "loss")
    assert line.endswith(f"got {written!r}; did you mean {meant}?")


# ---------------------------------------------------------------- the sweep: wrong inputs to every command

def test_directories_are_named_as_directories(tmp_path, capsys):
    for args in (["derive", str(tmp_path)], ["solve", str(tmp_path)], ["check", str(tmp_path), str(XOR)]):
        line = one_line_error(cli(args, capsys), tmp_path, "")
        assert line == f"{tmp_path}: expected a spec file, got a directory"
    line = one_line_error(cli(["check", str(XOR), str(tmp_path)], capsys), tmp_path, "")
    assert line == f"{tmp_path}: expected an answers file, got a directory"


@pytest.mark.parametrize("args, expected", [
    (["solve", str(XOR), "--digits", "0"], "argument --digits: expected an integer from 1 to 30, got '0'"),
    (["solve", str(XOR), "--digits", "many"], "argument --digits: expected an integer from 1 to 30, got 'many'"),
    (["solve", str(XOR), "-o", ""], "argument -o/--output: expected a path, got ''"),
    (["derive", str(XOR), "--latex", "-o", ""], "argument -o/--output: expected a path, got ''"),
    (["generate", str(XOR), "--out", ""], "argument --out: expected a path, got ''"),
])
def test_bad_options_say_what_is_expected_and_write_nothing(tmp_path, capsys, args, expected):
    status, stdout, stderr = cli(args, capsys, cwd=tmp_path)
    assert status == 2 and stdout == "" and stderr == f"deltagen: {expected} (see deltagen --help)\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (a directory no file can be made in)")
def test_an_unwritable_destination_is_named_not_its_staging_file(tmp_path, capsys):
    for args, shown in ((["solve", str(XOR), "-o", "/proc/x.tex"], "/proc/x.tex"),
                        (["generate", str(XOR), "--out", "/proc"], "/proc")):
        status, stdout, stderr = cli(args, capsys)
        assert status == 2 and stdout == "" and stderr.count("\n") == 1, stderr
        assert stderr.startswith(f"deltagen: {shown}: ") and ".deltagen-" not in stderr, stderr


def test_as_a_process_the_message_is_the_same_line(tmp_path):
    answers = write(tmp_path / "answers.toml", claim("a[2]", "0,5017"))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run([sys.executable, "-m", "deltagen.cli", "check", str(XOR), str(answers)],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    one_line_error((result.returncode, result.stdout, result.stderr), answers, "")
    assert 'a decimal comma must be quoted: value = "0,5017"' in result.stderr
