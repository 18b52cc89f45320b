"""Every scalar line of numbers in every worked solution, evaluated exactly as printed, gives the printed result.

What a document prints is what a student reads: ``1 − 0.7616² · (…)`` is computed as
1 − (0.7616² · (…)), so a missing pair of parentheses shows here even when the result
printed beside it is right. The reader (``latex_arithmetic``) does not import deltagen, and
neither does the table of the functions a page names without defining them (``g_{1}``,
``lrelu``): it is read from the spec. Every line is read; one that cannot be fails, unless it
has a shape on ``UNREADABLE_AS_PRINTED``.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Callable

import mpmath
import pytest
import sympy

from conftest import ROOT
from latex_arithmetic import Matrix, Unsupported, evaluate_written

SOLUTIONS = sorted(ROOT.glob("generated/*/solution_*.tex"))
_NUMBER = r"-?\d+(?:(?:\.|\{,\})\d+)?(?: \\cdot 10\^\{-?\d+\})?"
#: a result: a number, or a bmatrix of numbers
_RESULT = re.compile(rf"^& (?:=|\\approx) (?P<result>{_NUMBER}|\\begin\{{bmatrix\}}(?: (?:{_NUMBER}|&|\\\\))+ "
                     rf"\\end\{{bmatrix\}})$")
_CONTINUED = re.compile(r"^& \\qquad ")
#: Shapes of a line of numbers that no reader can evaluate as printed; an unread line of one of
#: these shapes is allowed, any other unread line fails. (No line of today's solutions has one.)
UNREADABLE_AS_PRINTED = {
    # a sum cut to its first and last terms, "a + b + \cdots + y + z" (the printer's MAX_TERMS_SHOWN):
    # the terms left out are not on the page
    "terms left out": re.compile(r"\\[cvl]?dots(?![a-z])"),
}
#: activations a page prints by their own names (σ, tanh, relu, the identity's bare z, softmax)
_PRINTED_BY_NAME = {"identity", "sigmoid", "tanh", "relu", "softmax"}
#: README "Activations": leaky_relu's slope ``alpha``, default 0.01
LEAKY_RELU_DEFAULT_ALPHA = "0.01"


def _functions(spec: dict) -> dict[str, Callable]:
    """The functions a solution of ``spec`` names but does not define, read from the spec alone.

    A custom activation (a SymPy text in z) of layer l is printed ``g_{l}`` (l in the spec's
    numbering, ``notation.input_layer``); leaky_relu is printed ``\\operatorname{lrelu}``, without its
    slope: with two different slopes in one net no reader can tell which, so it stays unread.
    """
    z = sympy.Symbol("z")
    first = spec.get("notation", {}).get("input_layer", 0) + 1
    functions: dict[str, Callable] = {}
    slopes = set()
    for number, layer in enumerate(spec["layers"], start=first):
        activation = layer.get("activation", "identity")     # a pool layer has none
        if activation == "leaky_relu":
            slopes.add(mpmath.mpf(str(layer.get("alpha", LEAKY_RELU_DEFAULT_ALPHA))))
        elif activation not in _PRINTED_BY_NAME:
            functions[f"g_{{{number}}}"] = sympy.lambdify(z, sympy.sympify(activation, locals={"z": z}), "mpmath")
    if len(slopes) == 1:
        alpha = slopes.pop()
        functions[r"\operatorname{lrelu}"] = lambda v: v if v > 0 else alpha * v
    return functions


def _logical_lines(text: str) -> list[str]:
    """The lines of the display math, a line continued on the next (``& \\qquad …``) joined to it."""
    lines: list[str] = []
    for line in text.splitlines():
        line = line.strip().removesuffix(r"\\").strip()
        if _CONTINUED.match(line) and lines:
            lines[-1] += " " + _CONTINUED.sub("", line)
        else:
            lines.append(line)
    return lines


def _steps(text: str) -> list[tuple[str, str, str]]:
    """(line of numbers, its printed result line, the result's text) for each step of a solution."""
    lines = _logical_lines(text)
    steps = []
    for line, following in zip(lines, lines[1:]):
        result = _RESULT.match(following)
        if line.startswith("& = ") and result and not _RESULT.match(line):
            steps.append((line[len("& = "):], following, result["result"]))
    return steps


def _entries(value) -> list:
    return [v for row in value.rows for v in row] if isinstance(value, Matrix) else [value]


def _agrees(written, printed) -> bool:
    """Equal (entry by entry) up to the rounding of the 4-significant-digit inputs the line shows."""
    written, printed = _entries(written), _entries(printed)
    return len(written) == len(printed) and all(
        abs(w - p) <= mpmath.mpf("0.005") * abs(p) + mpmath.mpf("1e-4") for w, p in zip(written, printed))


def test_the_reader_follows_printed_precedence():
    assert evaluate_written(r"1 - 0.5^{2} \cdot \left(2\right)") == mpmath.mpf("0.5")     # 1 − (0.25 · 2)
    assert evaluate_written(r"\left(1 - 0.5^{2}\right) \cdot \left(2\right)") == mpmath.mpf("1.5")
    assert evaluate_written(r"- 1 \cdot \log{\left(1 \right)} + \frac{1}{4} 2") == mpmath.mpf("0.5")
    assert evaluate_written(r"\left(-3\right)^{2}") == 9 and evaluate_written(r"-3^{2}") == -9
    with pytest.raises(Unsupported):
        evaluate_written(r"\sum_{i=1}^{m} 2")


def test_the_reader_reads_matrix_lines_as_printed():
    # matrix product, scalar factor, ᵀ, a column of ones, ⊙, σ elementwise, decimal commas, a continued line
    product = evaluate_written(r"\frac{1}{2} \begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix} \begin{bmatrix} 1 & 0 \end{bmatrix}^{\top}")
    assert product.rows == [[mpmath.mpf("0.5")], [mpmath.mpf("1.5")]]
    ones = evaluate_written(r"\frac{1}{4} \left(\begin{bmatrix} 1 & 2 \end{bmatrix} \mathbf{1} \right. + \left. "
                            r"\begin{bmatrix} 3 & 4 \end{bmatrix} \mathbf{1}\right)")
    assert ones.rows == [[mpmath.mpf("2.5")]]
    hadamard = evaluate_written(r"\begin{bmatrix} 0{,}5 \\ 2 \end{bmatrix} \odot \begin{bmatrix} 4 \\ 0{,}25 \end{bmatrix}")
    assert hadamard.rows == [[2], [mpmath.mpf("0.5")]]
    assert evaluate_written(r"\sigma\left(\begin{bmatrix} 0 \end{bmatrix}\right)").rows == [[mpmath.mpf("0.5")]]
    # entries that are arithmetic themselves (a per-example gradient): 0.5 · (−2)
    assert evaluate_written(r"\begin{bmatrix}0.5 \cdot \left(-2\right)\end{bmatrix}").rows == [[-1]]
    with pytest.raises(Unsupported):   # a 2 × 2 times a 1 × 2 is no product
        evaluate_written(r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix} \begin{bmatrix} 1 & 0 \end{bmatrix}")


def test_the_checker_of_lines_catches_the_missing_parentheses_of_issue_13():
    # the line as it was printed before the fix, with its (right) printed result
    written = evaluate_written(r"1 - 0.7616^{2} \cdot \left(1.2 \cdot \left(-0.03197\right)\right)")
    assert not _agrees(written, mpmath.mpf("-0.01611"))


def _close(value, expected) -> bool:
    """``value`` (a number or a Matrix) equals ``expected`` (a number or rows of numbers) to 14 digits
    (the reader works with 30, the expected values here are written with the default 15)."""
    rows = value.rows if isinstance(value, Matrix) else [[value]]
    expected = expected if isinstance(expected, list) else [[expected]]
    return len(rows) == len(expected) and all(
        len(r) == len(e) and all(mpmath.almosteq(v, mpmath.mpf(x), 1e-14, 1e-14) for v, x in zip(r, e))
        for r, e in zip(rows, expected))


def test_the_reader_takes_the_first_branch_of_a_cases_block_that_holds():
    relu_prime = (r"\begin{cases} 1 & \text{for}\: %s > 0 \\0 & \text{otherwise} \end{cases}"
                  r" \cdot \left(0.4 \cdot \left(-2\right)\right)")
    assert _close(evaluate_written(relu_prime % "0"), 0)                     # 0 > 0 fails: otherwise, 0 · (−0.8)
    assert _close(evaluate_written(relu_prime % "1"), "-0.8")                 # 1 · (0.4 · (−2))
    assert _close(evaluate_written(relu_prime % r"\left(-0.5\right)"), 0)
    # Portuguese words, decimal commas, leaky_relu's 1/100
    lrelu_prime = r"\begin{cases} 1 & \text{se}\: \left(-0{,}5\right) > 0 \\\frac{1}{100} & \text{caso contrário} \end{cases}"
    assert _close(evaluate_written(lrelu_prime), "0.01")
    # the first branch that holds wins, whatever holds after it; each comparison as written
    three = r"\begin{cases} 2 & \text{for}\: %s \\3 & \text{for}\: %s \\4 & \text{otherwise} \end{cases}"
    assert evaluate_written(three % (r"1 \geq 1", r"1 \le 2")) == 2
    assert evaluate_written(three % (r"1 \ge 2", r"1 \leq 2")) == 3
    assert evaluate_written(three % ("1 < 1", "2 < 1")) == 4
    # a condition is arithmetic too: 1 − 2 > 0 fails; a block in parentheses juxtaposed with a factor
    assert evaluate_written(r"\begin{cases} 1 & \text{for}\: 1 - 2 > 0 \\5 & \text{otherwise} \end{cases}") == 5
    in_parentheses = r"2 \left(\begin{cases} 1 & \text{for}\: 1 > 0 \\0 & \text{otherwise} \end{cases}\right)"
    assert evaluate_written(in_parentheses) == 2
    for unreadable in (r"\begin{cases} 2 & \text{for}\: 1 > 2 \end{cases}",                  # no branch holds
                       r"\begin{cases} 2 & \text{unless}\: 1 > 2 \\0 & \text{otherwise} \end{cases}",
                       r"\begin{cases} 1 & \text{for}\: \begin{bmatrix} 1 \end{bmatrix} > 0 \\0 & \text{otherwise}"
                       r" \end{cases}"):
        with pytest.raises(Unsupported):
            evaluate_written(unreadable)


def test_the_reader_reads_absolute_value_and_sign():
    # |−0.25| + sign(−0.25) = 0.25 − 1
    both = r"\left|{\left(-0.25\right)}\right| + \operatorname{sign}{\left(\left(-0.25\right) \right)}"
    assert _close(evaluate_written(both), "-0.75")
    assert evaluate_written(r"\operatorname{sign}{\left(0 \right)}") == 0 and evaluate_written(r"\left|{0}\right| + 1") == 1
    # softsign′(−0.5) as the custom net prints it: 1/1.5 − (−0.5)/1.5² · (−1) = 1/1.5² = 4/9
    softsign_prime = (r"\frac{1}{\left|{\left(-0.5\right)}\right| + 1} - \frac{\left(-0.5\right)}"
                      r"{\left(\left|{\left(-0.5\right)}\right| + 1\right)^{2}}"
                      r" \cdot \operatorname{sign}{\left(\left(-0.5\right) \right)}")
    assert _close(evaluate_written(softsign_prime), mpmath.mpf(4) / 9)
    assert _close(evaluate_written(r"\left|{\begin{bmatrix} -1 \\ 2 \end{bmatrix}}\right|"), [[1], [2]])   # elementwise


def test_the_reader_applies_the_functions_the_caller_names():
    double = {"g_{1}": lambda v: 2 * v}
    doubled = evaluate_written(r"g_{1}\left(\begin{bmatrix} 0.1 \\ -1.2 \end{bmatrix}\right)", double)
    assert _close(doubled, [["0.2"], ["-2.4"]])
    assert evaluate_written(r"3 g_{1}\left(2\right)", {"g_{1}": lambda v: v * v}) == 12      # 3 · 2²
    lrelu = {r"\operatorname{lrelu}": lambda v: v if v > 0 else v / 100}
    assert _close(evaluate_written(r"\operatorname{lrelu}\left(\begin{bmatrix} -0.5 \\ 2 \end{bmatrix}\right)", lrelu),
                  [["-0.005"], [2]])
    for text, functions in ((r"g_{1}\left(2\right)", {}), (r"g_{12}\left(2\right)", double),
                            (r"\operatorname{lrelu}\left(2\right)", double)):     # not named by the caller
        with pytest.raises(Unsupported):
            evaluate_written(text, functions)


def test_the_functions_table_is_read_from_the_spec():
    custom = _functions({"notation": {"input_layer": 1}, "layers": [
        {"activation": "2*z"}, {"activation": "z/(1 + Abs(z))"}, {"activation": "sigmoid"}]})
    assert set(custom) == {"g_{2}", "g_{3}"}          # input_layer = 1: the weighted layers are 2 and 3
    assert _close(custom["g_{2}"](mpmath.mpf("0.1")), "0.2")
    assert _close(custom["g_{3}"](mpmath.mpf("-0.5")), mpmath.mpf(-1) / 3)      # −0.5 / 1.5
    assert set(_functions({"layers": [{"activation": "2*z"}, {"activation": "identity"}]})) == {"g_{1}"}
    default = _functions({"layers": [{"activation": "leaky_relu"}, {"activation": "identity"}]})
    assert _close(default[r"\operatorname{lrelu}"](mpmath.mpf(-2)), "-0.02") and default[r"\operatorname{lrelu}"](3) == 3
    given = _functions({"layers": [{"activation": "leaky_relu", "alpha": 0.2}] * 2})
    assert _close(given[r"\operatorname{lrelu}"](mpmath.mpf(-1)), "-0.2")
    # two slopes under one printed name: no reader can tell which, so no function (the line stays unread)
    assert _functions({"layers": [{"activation": "leaky_relu", "alpha": 0.2}, {"activation": "leaky_relu"}]}) == {}


def test_an_unread_line_fails_unless_no_reader_could_read_it():
    readable = ["& = 1 + 1 \\\\", "& = 2 \\\\", r"& = 2 \cdot 3 \\", "& = 6 \\\\", "& = 4 - 1 \\\\", "& = 3 \\\\"]
    with pytest.raises(AssertionError, match="cannot read"):
        _check_steps("\n".join(readable + [r"& = x_{1} + 1 \\", "& = 2 \\\\"]), "a test text")
    with pytest.raises(AssertionError, match="cannot read"):     # a named function the caller did not give
        _check_steps("\n".join(readable + [r"& = g_{1}\left(1\right) \\", "& = 2 \\\\"]), "a test text")
    assert _check_steps("\n".join(readable + [r"& = g_{1}\left(1\right) \\", "& = 2 \\\\"]), "a test text",
                        {"g_{1}": lambda v: 2 * v}) == (4, 0)
    # a sum with terms left out is on the allow-list: not read, not a failure
    assert _check_steps("\n".join(readable + [r"& = 1 + 1 + \cdots + 1 \\", "& = 9 \\\\"]), "a test text") == (3, 0)


#: the section of one optimizer step ("One step of adam"), whose lines act entry by entry, as it says
_OPTIMIZER_SECTION = re.compile(r"^(?:\\section\*\{|## )(?:One step of|Um passo de) ", re.M)


def _parts(text: str) -> list[tuple[str, bool]]:
    """(text, read entry by entry): the optimizer step's section, if any, is read entry by entry."""
    section = _OPTIMIZER_SECTION.search(text)
    return [(text, False)] if section is None else [(text[:section.start()], False), (text[section.start():], True)]


def _check_steps(text: str, where: str, functions: dict[str, Callable] | None = None) -> tuple[int, int]:
    """Reads every step; fails on a line that does not give its printed result, and on a line it cannot
    read unless its shape is on ``UNREADABLE_AS_PRINTED``. Returns (read, matrix lines read)."""
    checked, matrices, wrong, unread = 0, 0, [], []
    for numbers, result_line, printed, entrywise in [(*step, entrywise) for part, entrywise in _parts(text)
                                                     for step in _steps(part)]:
        try:
            written = evaluate_written(numbers, functions, entrywise=entrywise)
        except Unsupported as error:
            if not any(shape.search(numbers) for shape in UNREADABLE_AS_PRINTED.values()):
                unread.append(f"{numbers}  ({error})")
            continue
        checked += 1
        matrices += isinstance(written, Matrix)
        if not _agrees(written, evaluate_written(printed)):
            wrong.append(f"{numbers}  →  {_entries(written)}, printed {result_line}")
    assert checked >= 3, f"only {checked} steps read in {where}"
    assert unread == [], f"lines of {where} the reader cannot read"
    assert wrong == []
    return checked, matrices


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_scalar_step_reads_as_it_computes(path):
    spec = tomllib.loads((path.parent / "spec.toml").read_text(encoding="utf-8"))
    _check_steps(path.read_text(encoding="utf-8"), str(path), _functions(spec))


#: a 2-2-k net with a hidden layer of each activation (and the output pairs that go with it)
NETS = {
    "tanh": ("tanh", "sigmoid", "bce", 1), "sigmoid": ("sigmoid", "identity", "half_sse", 1),
    "relu": ("relu", "sigmoid", "bce", 1), "leaky_relu": ("leaky_relu", "identity", "mse", 1),
    "softmax_cce": ("tanh", "softmax", "cce", 3), "custom": ("z/(1 + Abs(z))", "identity", "half_sse", 1),
}


@pytest.mark.parametrize("net", sorted(NETS))
def test_solutions_of_each_activation_read_as_they_compute(net):
    import deltagen
    hidden, output, loss, units = NETS[net]
    targets = [[1.0, 0.0]] if units == 1 else [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    spec = {"name": f"as_written_{net.replace('-', '_')}", "input": 2, "loss": loss, "layers": [
        {"units": 2, "activation": hidden}, {"units": units, "activation": output}],
        "example": {"W": [[[0.5, -0.3], [0.8, 0.2]], [[0.4, -0.6]] * units],
                    "b": [[[0.1], [-0.2]], [[0.3]] * units],
                    "X": [[1.0, -0.5], [2.0, 0.25]], "Y": targets, "learning_rate": 0.1}}
    for lang in ("en", "pt"):
        _check_steps(deltagen.solve(spec, lang=lang), f"{net} ({lang})", _functions(spec))
