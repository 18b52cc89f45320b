"""The worked solution with a spec's [optimizer]: one optimizer step by hand (issue 14, item 8).

Expected numbers: the gradients by central differences of ``reference.py`` (mpmath, no deltagen), then
one step of DESIGN.md's optimizer table from the zero state, typed here with mpmath (adam with
non-default β₁, β₂, ε; momentum with dampening). The document's numbers are read back from its text.
"""
from __future__ import annotations

import copy
import tomllib

import mpmath
import pytest

import deltagen
import reference
import test_solutions_as_written as as_written
from conftest import ROOT
from latex_arithmetic import evaluate_written
from latex_tools import compile_latex, parse_value, results, sections

XOR = tomllib.loads((ROOT / "generated" / "lecture_xor" / "spec.toml").read_text(encoding="utf-8"))
LAYERS = [("W1", "b1", "sigmoid"), ("W2", "b2", "sigmoid")]
ADAM = {"kind": "adam", "learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-7,
        "decay": {"kind": "inverse_time", "rate": 0.5, "interval": 10}}
MOMENTUM = {"kind": "momentum", "learning_rate": 0.5, "momentum": 0.9, "dampening": 0.5}
#: lecture_xor's net with weights that are not saturated, so that a momentum step moves them visibly
MILD = {"W": [[[1.0, -1.0], [-0.5, 1.0]], [[1.0, 0.5]]], "b": [[[-0.5], [0.25]], [[-0.5]]]}
CASES = {"adam": (ADAM, None), "momentum": (MOMENTUM, MILD)}
ORDER = ["W1", "b1", "W2", "b2"]     # the section's parameters, in order


def spec_with(table: dict | None, example: dict | None = None, name: str = "xor_opt") -> dict:
    spec = copy.deepcopy(XOR)
    spec["name"] = name
    if table is not None:
        spec["optimizer"] = table
    if example is not None:
        spec["example"].update(example)
    return spec


def section_of(document: str) -> str:
    (body,) = [body for title, body in sections(document) if title.startswith(("One step", "Um passo"))]
    return body


def expected_step(spec: dict) -> dict[str, dict[str, list[list]]]:
    """{label: {param: rows}}: one step of DESIGN.md's table from zero state, on reference gradients."""
    example = spec["example"]
    params = {"W1": example["W"][0], "b1": example["b"][0], "W2": example["W"][1], "b2": example["b"][1]}
    with mpmath.workdps(reference.DIGITS):
        grads = reference.fd_gradient(lambda p: reference.cost(LAYERS, p, example["X"], example["Y"], "half_sse"),
                                      params)
        table = spec["optimizer"]
        d = lambda key: mpmath.mpf(repr(table[key]))      # the decimal the spec writes
        eta = d("learning_rate")                          # epoch 0: η / (1 + r ⌊0/k⌋) = η
        out: dict[str, dict[str, list[list]]] = {}
        for name in ORDER:
            theta = [[mpmath.mpf(repr(float(v))) for v in row] for row in params[name]]
            for i, row in enumerate(grads[name]):
                for j, g in enumerate(row):
                    if table["kind"] == "adam":
                        m = (1 - d("beta1")) * g                    # m_0 = 0
                        v = (1 - d("beta2")) * g ** 2               # v_0 = 0
                        m_hat, v_hat = m / (1 - d("beta1")), v / (1 - d("beta2"))   # t = 1
                        new = theta[i][j] - eta * m_hat / (mpmath.sqrt(v_hat) + d("epsilon"))
                        entries = {"m_{1}": m, "v_{1}": v, r"\hat{m}_{1}": m_hat, r"\hat{v}_{1}": v_hat}
                    else:
                        b = (1 - d("dampening")) * g                # b_0 = 0
                        new = theta[i][j] - eta * b
                        entries = {"b_{1}": b}
                    entries[r"\theta_{1}"] = new
                    for label, value in entries.items():
                        rows = out.setdefault(label, {}).setdefault(name, [[None] * len(row) for row in grads[name]])
                        rows[i][j] = value
    return out


def agrees_at_shown_digits(printed: float, expected, digits: int = 4) -> bool:
    """``printed`` is ``expected`` rounded to ``digits`` significant digits (half a unit of the last one)."""
    if expected == 0:
        return printed == 0
    unit = mpmath.mpf(10) ** (mpmath.floor(mpmath.log10(abs(expected))) - digits + 1)
    return abs(mpmath.mpf(printed) - expected) <= unit / 2 * (1 + mpmath.mpf("1e-9"))


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("lang", ["en", "pt"])
def test_the_printed_step_is_the_table_applied_to_the_gradients(kind, lang):
    table, example = CASES[kind]
    spec = spec_with(table, example)
    body = section_of(deltagen.solve(spec, lang=lang))
    steps = results(body)
    for label, by_param in expected_step(spec).items():
        assert len(steps[label]) == len(ORDER), label
        for name, (relation, text) in zip(ORDER, steps[label]):
            printed = parse_value(text)
            wanted = by_param[name]
            assert all(agrees_at_shown_digits(p, e) for prow, erow in zip(printed, wanted) for p, e in zip(prow, erow)), \
                f"{label} of {name}: printed {printed}, expected {wanted}"


def test_the_lines_are_the_rule_in_step_notation_with_the_zero_state():
    body = section_of(deltagen.solve(spec_with(ADAM)))
    for line in (r"m_{1} & = \beta_{1} m_{0} + \left(1 - \beta_{1}\right) g_{1}",
                 r"v_{1} & = \beta_{2} v_{0} + \left(1 - \beta_{2}\right) g_{1}^{2}",
                 r"\hat{m}_{1} & = \frac{m_{1}}{1 - \beta_{1}^{1}}", r"\hat{v}_{1} & = \frac{v_{1}}{1 - \beta_{2}^{1}}",
                 r"\theta_{1} & = \theta_{0} - \frac{\eta \hat{m}_{1}}{\sqrt{\hat{v}_{1}} + \varepsilon}"):
        assert body.count(line) == len(ORDER), line
    assert body.count(r"$m_{0} = v_{0} = 0$") == len(ORDER)
    assert body.count(r"0.8 \cdot \begin{bmatrix} 0 & 0 \\ 0 & 0 \end{bmatrix}") == 1    # m_0 of W1, written out
    assert r"$\eta_{0} = \eta$" in body                                                     # the decay at epoch 0
    momentum = section_of(deltagen.solve(spec_with(MOMENTUM, MILD)))
    assert momentum.count(r"b_{1} & = \mu b_{0} + \left(1 - \tau\right) g_{1}") == len(ORDER)
    assert momentum.count(r"\theta_{1} & = \theta_{0} - \eta b_{1}") == len(ORDER)


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("lang", ["en", "pt"])
def test_every_line_reads_as_printed(kind, lang, monkeypatch):
    table, example = CASES[kind]
    spec = spec_with(table, example)
    body = section_of(deltagen.solve(spec, lang=lang))
    # the section's lines act entry by entry, as it says: the shared reader reads them so (√, + ε, quotients)
    monkeypatch.setattr(as_written, "evaluate_written",
                        lambda text, functions=None, entrywise=False: evaluate_written(text, functions, entrywise=True))
    read, matrices = as_written._check_steps(body, f"{kind} ({lang})")
    lines_per_parameter = 5 if kind == "adam" else 2
    assert read == matrices == lines_per_parameter * len(ORDER)


@pytest.mark.parametrize("lang", ["en", "pt"])
@pytest.mark.parametrize("kind", sorted(CASES))
def test_the_document_compiles(kind, lang, tmp_path):
    table, example = CASES[kind]
    compile_latex(deltagen.solve(spec_with(table, example), lang=lang), tmp_path, f"{kind}_{lang}")


@pytest.mark.parametrize("fmt", ["latex", "markdown"])
def test_sgd_or_no_optimizer_leaves_the_gradient_step(fmt):
    plain = deltagen.solve(spec_with(None), fmt=fmt)
    assert deltagen.solve(spec_with({"kind": "sgd", "learning_rate": 0.1}), fmt=fmt) == plain
    assert "One step of" not in plain and "Updated parameters" in plain


def test_transposed_weights_turn_every_matrix_alike():
    spec = spec_with(MOMENTUM, MILD)
    spec["notation"]["weight_convention"] = "WTa"
    body = section_of(deltagen.solve(spec))
    expected = expected_step(spec_with(MOMENTUM, MILD))[r"\theta_{1}"]["W1"]
    _, text = results(body)[r"\theta_{1}"][0]
    printed = parse_value(text)
    assert all(agrees_at_shown_digits(printed[j][i], expected[i][j]) for i in range(2) for j in range(2))


def test_given_shows_no_example_rate_when_the_optimizer_brings_its_own():
    """The optimizer's η is the one its step uses: "Given" neither shows [example]'s η nor says there is no step."""
    with_rate = spec_with(ADAM)
    without_rate = copy.deepcopy(with_rate)
    without_rate["example"].pop("learning_rate", None)
    for spec in (with_rate, without_rate):
        given = dict(sections(deltagen.solve(spec)))["Given"]
        assert r"\eta &" not in given and "no learning rate" not in given
    plain = dict(sections(deltagen.solve(spec_with(None))))["Given"]
    assert r"\eta &" in plain                                    # without [optimizer]: as before
