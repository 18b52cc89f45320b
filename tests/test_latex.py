"""LaTeX derivations: they compile, they say what was derived, and the notation switches do what the README says."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT
import deltagen
from deltagen.derive import SpecError, derive, load_spec, spec_from_dict
from deltagen.derive.documents import derivation_document
from deltagen.derive.documents.solution import solution_document
from latex_tools import compile_latex, overfull_widths, parse_value, results, sections

GENERATED = ROOT / "generated"
DERIVATIONS = sorted(GENERATED.glob("*/derivation_*.tex"))
XOR = GENERATED / "lecture_xor" / "spec.toml"


def xor_spec(**notation) -> dict:
    spec = tomllib.loads(XOR.read_text())
    spec["notation"] = notation
    return spec


def document(**notation) -> str:
    return derivation_document(derive(spec_from_dict(xor_spec(**notation))))


def test_every_lecture_has_both_documents_in_both_languages():
    for folder in sorted(p.parent for p in GENERATED.glob("*/spec.toml")):
        assert {p.name for p in folder.glob("*.tex")} == {
            "derivation_en.tex", "derivation_pt.tex", "solution_en.tex", "solution_pt.tex"}, folder


@pytest.mark.parametrize("path", DERIVATIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_generated_derivation_compiles(path, tmp_path):
    _, log = compile_latex(path.read_text(encoding="utf-8"), tmp_path, path.stem)
    assert max([0.0] + overfull_widths(log)) < 20, "text runs off the page"


OTHER_NETS = {
    "softmax_cce_tanh": dict(input=3, layers=[{"units": 4, "activation": "tanh"},
                                              {"units": 3, "activation": "softmax"}], loss="cce"),
    "relu_leaky_identity_mse_l2_sum": dict(
        input=2, loss="mse", l2=0.01, reduction="sum",
        layers=[{"units": 3, "activation": "relu"}, {"units": 2, "activation": "leaky_relu", "alpha": 0.1},
                {"units": 1, "activation": "identity"}],
        example=dict(W=[[[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1]], [[0.3, -0.2, 0.5], [0.1, 0.4, -0.3]], [[1.0, -1.0]]],
                     b=[[0.1, 0.0, -0.1], [0.0, 0.1], [0.2]], X=[[1.0, -1.0], [2.0, 0.5]], Y=[[0.5, -0.5]],
                     learning_rate=0.05)),
    "custom_logistic_other_symbols": dict(
        input=1, layers=[{"units": 2, "activation": "2*z"}, {"units": 1, "activation": "tanh"}], loss="logistic",
        notation={"delta_symbol": "epsilon", "weight_symbol": "theta", "brackets": "paren", "input_layer": 1,
                  "cost_symbol": "E"},
        example=dict(W=[[[1.0], [-1.0]], [[0.5, 0.5]]], b=[[0.0, 0.0], [0.0]], X=[[0.3]], Y=[[1.0]])),
    "hinge_no_bias": dict(input=2, layers=[{"units": 2, "activation": "identity", "bias": False}], loss="hinge",
                          example=dict(W=[[[1.0, 0.0], [0.0, 1.0]]], X=[[0.5], [2.0]], Y=[[1], [-1]])),
    "custom_written_with_markup_characters": dict(   # ^ (read as **) and _ in \texttt would break TeX
        input=1, layers=[{"units": 1, "activation": "z^3/3 + z"}], loss="mse",
        example=dict(W=[[[0.5]]], b=[[0.1]], X=[[1.0]], Y=[[0.5]])),
    "wide_12_10_3": dict(input=12, layers=[{"units": 10, "activation": "sigmoid"},
                                           {"units": 3, "activation": "softmax"}], loss="cce"),
}


@pytest.mark.parametrize("name", sorted(OTHER_NETS))
def test_other_networks_compile(name, tmp_path):
    """Every activation, loss, notation switch and a net too wide to print unit by unit."""
    d = derive(spec_from_dict(dict(name=name, **OTHER_NETS[name])))
    texts = {"derivation": derivation_document(d)}
    if d.network.example is not None:
        texts["solution"] = solution_document(d, lang="pt")
    for kind, text in texts.items():
        _, log = compile_latex(text, tmp_path, kind)
        assert max([0.0] + overfull_widths(log)) < 20, f"{kind}: text runs off the page"
    if name == "wide_12_10_3":   # sums over 12 inputs are shown in part, in natural order
        assert r"w^{[1]}_{1,1} x_{1} + w^{[1]}_{1,2} x_{2} + w^{[1]}_{1,3} x_{3} + \cdots + w^{[1]}_{1,12} x_{12}" \
            in texts["derivation"]


def test_the_derivation_says_what_was_derived_and_proved():
    text = (GENERATED / "lecture_bce_classifier" / "derivation_en.tex").read_text(encoding="utf-8")
    assert text.startswith("\\documentclass") and text.rstrip().endswith("\\end{document}")
    body = dict(sections(text))
    # the chain rule through σ, and its cancellation for the canonical pair sigmoid + bce
    output = body[r"Output layer: $\delta^{(3)}$ by the chain rule"]
    assert r"\left(a^{(3)}_{1} \left(1 - a^{(3)}_{1}\right)\right)" in output
    assert r"& = a^{(3)}_{1} - y_{1}" in output and "canonical pair" in output
    assert r"\Delta^{(3)} & = A^{(3)} - Y" in output
    # σ' = σ(1 − σ), found by SymPy and proved
    assert r"\sigma'\left(z\right) & = \frac{e^{- z}}{\left(1 + e^{- z}\right)^{2}} = a \left(1 - a\right)" \
        in body["Activation derivatives"]
    assert r"\odot" in body["Hidden layers: the recurrence"]
    assert "Verdict: all 20 gradients verified" in body["Proof"]
    half_sse = dict(sections((GENERATED / "lecture_xor" / "derivation_en.tex").read_text(encoding="utf-8")))
    assert "canonical" not in half_sse[r"Output layer: $\delta^{[2]}$ by the chain rule"]
    assert r"\Delta^{[2]} & = A^{[2]} \odot \left(\mathbf{1} - A^{[2]}\right) \odot \left(A^{[2]} - Y\right)" \
        in half_sse[r"Output layer: $\delta^{[2]}$ by the chain rule"]


def test_tikz_draws_every_unit_and_labels_every_weight():
    for convention, label in (("Wa", "w^{[1]}_{12}"), ("WTa", "w^{[1]}_{21}")):
        text = document(weight_convention=convention)
        picture = re.search(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", text, re.S).group(0)
        assert picture.count(r"\node[unit]") == 2 + 2 + 1
        assert picture.count(r"\draw[->]") == 2 * 2 + 2 * 1
        # the arrow from x_2 to a^[1]_1 carries the weight linking them, named by the convention
        assert re.search(r"\\draw\[->\] \(n0x1\) -- \(n1x0\) node\[[^]]*\] \{\$" + re.escape(label) + r"\$\}", picture)


# ------------------------------------------------------------------ notation

def test_default_notation():
    text = document()
    for piece in [r"a^{[1]}_{1}", r"z^{[1]}_{1} & = w^{[1]}_{11} x_{1} + w^{[1]}_{12} x_{2} + b^{[1]}_{1}",
                  r"Z^{[1]} & = W^{[1]} A^{[0]} + b^{[1]} \mathbf{1}^{\top}", r"\delta^{[2]}_{1}",
                  r"\Delta^{[1]} & = G^{[1]} \odot \left(W^{[2]\top} \Delta^{[2]}\right)",
                  r"\frac{\partial C}{\partial W^{[1]}} & = \frac{1}{m} \Delta^{[1]} A^{[0]\top}",
                  r"C & = \frac{1}{m} \sum_{i=1}^{m} \ell_{i}", r"a^{[0]} = x"]:
        assert piece in text, piece


@pytest.mark.parametrize("notation, present, absent", [
    ({"brackets": "paren"}, [r"a^{(1)}_{1}", r"W^{(2)\top} \Delta^{(2)}"], [r"a^{[1]}"]),
    ({"input_layer": 1}, [r"a^{[1]} = x", r"Z^{[2]} & = W^{[2]} A^{[1]}", r"w^{[3]}_{12}"], [r"W^{[1]}"]),
    ({"weight_symbol": "w"}, [r"Z^{[1]} & = w^{[1]} A^{[0]}", r"w^{[1]}_{12}"], [r"W^{[1]}"]),
    ({"weight_symbol": "theta"}, [r"Z^{[1]} & = \theta^{[1]} A^{[0]}", r"\theta^{[1]}_{12} x_{2}",
                                  r"\frac{\partial C}{\partial \theta^{[1]}}"], [r"W^{[1]}", r"w^{[1]}"]),
    ({"delta_symbol": "epsilon"}, [r"\varepsilon^{[2]}_{1}",
                                   r"\mathcal{E}^{[1]} & = G^{[1]} \odot \left(W^{[2]\top} \mathcal{E}^{[2]}\right)"],
     [r"\delta^{[", r"\Delta^{["]),
    ({"cost_symbol": "J"}, [r"J & = \frac{1}{m}", r"\frac{\partial J}{\partial W^{[1]}}"], [r"\partial C}"]),
    ({"weight_convention": "WTa"},
     [r"z^{[1]}_{1} & = w^{[1]}_{11} x_{1} + w^{[1]}_{21} x_{2} + b^{[1]}_{1}",
      r"Z^{[1]} & = W^{[1]\top} A^{[0]} + b^{[1]} \mathbf{1}^{\top}",
      r"\Delta^{[1]} & = G^{[1]} \odot \left(W^{[2]} \Delta^{[2]}\right)",
      r"\frac{\partial C}{\partial W^{[1]}} & = \frac{1}{m} A^{[0]} \Delta^{[1]\top}",
      r"\delta^{[1]}_{1} & = a^{[1]}_{1} \left(1 - a^{[1]}_{1}\right) \left(w^{[2]}_{11} \delta^{[2]}_{1}\right)",
      r"\delta^{[1]}_{2} & = a^{[1]}_{2} \left(1 - a^{[1]}_{2}\right) \left(w^{[2]}_{21} \delta^{[2]}_{1}\right)",
      r"W^{[1]} & \leftarrow W^{[1]} - \eta \frac{\partial C}{\partial W^{[1]}}"],
     [r"W^{[2]\top} \Delta", r"w^{[1]}_{12} x_{2}"]),
])
def test_notation_switches(notation, present, absent):
    text = document(**notation)
    for piece in present:
        assert piece in text, piece
    for piece in absent:
        assert piece not in text, piece


def _numbers(text: str) -> list[float]:
    """Every result number of a worked solution, sorted (a transposed matrix has the same numbers)."""
    values = []
    for _, body in sections(text):
        for steps in results(body).values():
            for _, value in steps:
                if value:
                    values += [v for row in parse_value(value) for v in row]
    return sorted(values)


def test_notation_never_changes_the_numbers():
    reference = _numbers(solution_document(derive(spec_from_dict(xor_spec()))))
    assert len(reference) > 40
    for notation in ({"brackets": "paren", "input_layer": 1, "weight_symbol": "theta", "delta_symbol": "epsilon",
                      "cost_symbol": "E"}, {"weight_convention": "WTa"}):
        text = solution_document(derive(spec_from_dict(xor_spec(**notation))))
        assert _numbers(text) == reference, notation


def test_transposed_convention_shows_the_transposed_matrices():
    text = solution_document(derive(spec_from_dict(xor_spec(weight_convention="WTa", input_layer=0))))
    given = dict(sections(text))["Given"]
    # W1 = [[10, -10], [-10, 10]] is symmetric; W2 = [[10, 10]] (1 × 2) is shown 2 × 1
    assert r"W^{[2]} & = \begin{bmatrix} 10 \\ 10 \end{bmatrix}" in given
    forward = dict(sections(text))["Forward pass, example 1"]
    assert r"z^{[2]} & = W^{[2]\top} a^{[1]} + b^{[2]}" in forward
    assert r"\begin{bmatrix} 10 \\ 10 \end{bmatrix}^{\top} \begin{bmatrix} 0.006693" in forward


@pytest.mark.parametrize("key, value", [
    ("weight_symbol", "omega"), ("delta_symbol", "d"), ("cost_symbol", "L"), ("weight_convention", "W^T a"),
    ("brackets", "curly"), ("weight_symbol", 3),
])
def test_bad_notation_is_one_line_naming_the_field(key, value):
    with pytest.raises(SpecError) as error:
        spec_from_dict(xor_spec(**{key: value}), source="s.toml")
    line = error.value.line()
    assert "\n" not in line and line.startswith(f"s.toml: notation.{key}: expected one of '")
    assert repr(value) in line


# ------------------------------------------------------------------ Python and the command line

def test_derivation_latex_and_notebook_math():
    d = derive(load_spec(GENERATED / "lecture_scalar_chain" / "spec.toml"))
    full = deltagen.latex(d, lang="pt")
    assert full.startswith("\\documentclass") and "Retropropagação para" in full
    assert full == deltagen.latex(d, lang="pt")          # deterministic: no dates
    assert "Prova" not in full and "Proof" not in full    # no report given: no proof section, and none run
    math = deltagen.math(d)
    assert math.startswith("$$\\begin{aligned}") and math.endswith("\\end{aligned}$$")
    assert r"\Delta^{(1)} & = G^{(1)} \odot \left(\theta^{(2)\top} \Delta^{(2)}\right)" in math
    assert "documentclass" not in math and "tikz" not in math
    with pytest.raises(ValueError, match="--lang: expected one of en, pt"):
        deltagen.latex(d, lang="fr")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagen.cli", *args], capture_output=True, text=True, cwd=ROOT)


def test_derive_latex_cli(tmp_path):
    out = tmp_path / "derivation.tex"
    result = run("derive", str(XOR), "--latex", "-o", str(out), "--lang", "pt")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == str(out) and "proof: all 9 gradients verified" in result.stdout
    assert out.read_text(encoding="utf-8") == (GENERATED / "lecture_xor" / "derivation_pt.tex").read_text(
        encoding="utf-8")
    result = run("derive", str(XOR), "--latex")
    assert result.returncode == 0 and result.stdout == (GENERATED / "lecture_xor" / "derivation_en.tex").read_text(
        encoding="utf-8")


def test_derive_latex_cli_errors(tmp_path):
    result = run("derive", str(XOR), "-o", str(tmp_path / "x.tex"))
    assert result.returncode == 2 and "--latex" in result.stderr and result.stderr.count("\n") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(XOR.read_text().replace('weight_symbol = "W"', 'weight_symbol = "omega"'))
    out = tmp_path / "out" / "d.tex"
    result = run("derive", str(bad), "--latex", "-o", str(out))
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and f"{bad}: notation.weight_symbol: expected one of" in result.stderr
    assert not out.parent.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_readme_shows_a_rendered_page_of_each_kind():
    """A derivation, a worked solution, and a class exercise's sheet and key (pt)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^]]*\]\((generated/pages/[^)]+\.png)\)", readme)
    kinds = {image.split("/")[-1].split("_")[0] for image in images}
    assert len(images) == 4 and kinds == {"derivation", "solution", "sheet", "key"}
    for image in images:
        assert (ROOT / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
