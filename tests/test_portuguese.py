"""Portuguese documents as a Brazilian classroom writes them: decimal commas, Portuguese words, real definitions.

The lectures write 0,5 and 0,8493 (lecture 000); in math mode the comma is ``{,}`` so TeX
does not space it as punctuation. Expected numbers here are worked out by hand with
``Fraction``; the English document is the reference for the math of the Portuguese one.
"""
from __future__ import annotations

import copy
import re
import subprocess
import sys
from fractions import Fraction

import pytest

from conftest import ROOT
from deltagen.derive import derive, spec_from_dict
from deltagen.derive.documents import derivation_document, solution_document
from deltagen.derive.errors import SpecError
from latex_tools import compile_latex

#: words of the English documents (and SymPy's piecewise words) that must not appear in a Portuguese one
ENGLISH = {"for", "otherwise", "if", "example", "examples", "layer", "layers", "loss", "cost", "unit", "units",
           "with", "without", "bias", "the", "of", "and", "is", "input", "output", "forward", "backward", "pass",
           "step", "given", "error", "gradient", "gradients", "rate", "learning", "batch", "where", "each",
           "weight", "weights", "matrix", "derivative", "derivatives", "results", "rounded", "digits", "updated",
           "network", "verdict", "proof", "chain", "rule", "hidden", "recurrence", "sum", "mean", "term",
           "solution", "worked", "backpropagation", "activation", "else", "when"}


def network(activation: str, **extra) -> dict:
    """A 2-2-3 softmax/cce net (or 2-2-1 with ``output``) with decimal parameters, inputs and learning rate."""
    output = extra.pop("output", "softmax")
    n_out = 3 if output == "softmax" else 1
    W2 = [[0.4, -0.6], [-0.1, 0.3], [0.2, 0.1]][:n_out]
    spec = {
        "name": "net_" + activation.replace("*", "").replace(" ", "").replace("+", "").replace("(", "")
                                   .replace(")", "").replace(".", ""),
        "input": 2,
        "layers": [{"units": 2, "activation": activation}, {"units": n_out, "activation": output}],
        "loss": "cce" if output == "softmax" else "half_sse", "l2": 0.01,
        "example": {"W": [[[0.5, -0.3], [0.25, 0.8]], W2],
                    "b": [[[0.1], [-0.2]], [[0.0], [0.1], [-0.1]][:n_out]],
                    "X": [[1.0, 0.5], [2.0, -1.0]],
                    "Y": [[1, 0], [0, 0], [0, 1]][:n_out] if n_out == 3 else [[0.25, 0.75]],
                    "learning_rate": 0.05},
    }
    spec.update(extra)
    return spec


NETS = {name: network(name) for name in ("relu", "leaky_relu", "sigmoid", "tanh")}
NETS["identity_mse"] = network("sigmoid", output="identity")
NETS["custom"] = network("0.5*z + 0.25*tanh(z)")


def documents(spec: dict, lang: str) -> dict[str, str]:
    d = derive(spec)
    return {"derivation": derivation_document(d, lang),
            "solution": solution_document(d, lang=lang),
            "markdown": solution_document(d, fmt="markdown", lang=lang)}


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, dict[str, str]]]:
    return {name: {lang: documents(spec, lang) for lang in ("en", "pt")} for name, spec in NETS.items()}


def math_parts(text: str) -> tuple[list[str], list[str]]:
    """(display blocks in order, inline math sorted): what is set in math mode, TikZ left out."""
    text = re.sub(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", "", text, flags=re.S)
    display = re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}|\$\$(.*?)\$\$", text, flags=re.S)
    display = [a or b for a, b in display]
    rest = re.sub(r"\\begin\{align\*\}.*?\\end\{align\*\}|\$\$.*?\$\$", "", text, flags=re.S)
    return display, sorted(re.findall(r"\$([^$]+)\$", rest))


def words_shown(text: str) -> set[str]:
    """The words a reader sees: text outside math, plus the \\text{…} inside it; no code names, no TikZ styles."""
    body = text.split(r"\begin{document}")[-1]
    body = re.sub(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", "", body, flags=re.S)
    inside = re.findall(r"\\text\{([^}]*)\}", body)
    body = re.sub(r"\\begin\{align\*\}.*?\\end\{align\*\}|\$\$.*?\$\$|\$[^$]*\$", " ", body, flags=re.S)
    body = re.sub(r"\\texttt\{[^}]*\}|`[^`]*`|\\[A-Za-z]+", " ", body)
    return {w.lower() for w in re.findall(r"[A-Za-zÀ-ÿ]+", body + " " + " ".join(inside))}


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("kind", ["derivation", "solution", "markdown"])
def test_pt_math_has_decimal_commas_only(docs, name, kind):
    """No 0.5 in pt math, and {,} where the English document has a decimal point."""
    pt = docs[name]["pt"][kind]
    display, inline = math_parts(pt)
    for part in display + inline:
        assert not re.search(r"\d\.\d", part), part[:200]
    assert "{,}" in pt
    assert r"\lambda = 0{,}01" in docs[name]["pt"]["derivation"]


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("kind", ["derivation", "solution", "markdown"])
def test_pt_math_is_the_english_math_with_commas(docs, name, kind):
    """Every number changed, nothing else: the pt math with '.' back and the cases' words back is the en math."""
    en, pt = docs[name]["en"][kind], docs[name]["pt"][kind]
    assert "{,}" not in en
    en_display, en_inline = math_parts(en)
    pt_display, pt_inline = math_parts(pt)

    def back(part: str) -> str:
        part = part.replace("{,}", ".").replace(r"\text{se}", r"\text{for}") \
                   .replace(r"\text{caso contrário}", r"\text{otherwise}")
        return flat(part)

    def flat(part: str) -> str:   # where a long line is broken depends on its length, which {,} changes
        return re.sub(r"\\right\.|\\left\.|\\qquad|\\\\|&|\s", "", part)

    assert [back(p) for p in pt_display] == [flat(p) for p in en_display]
    assert sorted(back(p) for p in pt_inline) == sorted(flat(p) for p in en_inline)


@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("kind", ["derivation", "solution", "markdown"])
def test_pt_documents_have_no_english_words(docs, name, kind):
    shown = words_shown(docs[name]["pt"][kind])
    assert not shown & ENGLISH, sorted(shown & ENGLISH)
    assert words_shown(docs[name]["en"][kind]) & ENGLISH   # the reading sees the words it looks for


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_relu_cases_read_se_and_caso_contrario(docs, name):
    """relu(z) = z se z > 0, 0 caso contrário: the lecture's Portuguese ("caso contrário", seeds/004)."""
    derivation = docs[name]["pt"]["derivation"]
    assert r"z^{[1]}_{1} & \text{se}\: z^{[1]}_{1} > 0" in derivation
    assert r"\text{caso contrário}" in derivation
    assert r"\text{for}" not in derivation and "otherwise" not in derivation
    solution = docs[name]["pt"]["solution"]
    assert r"\text{se}\: 1{,}65 > 0" in solution    # z^[1]_2 = 0.25·1 + 0.8·2 − 0.2 = 1.65, as substituted


@pytest.mark.parametrize("lang", ["en", "pt"])
def test_tanh_is_defined_not_named_twice(docs, lang):
    """Page 1 gives tanh's definition (lecture 004: tanh x = (eˣ − e⁻ˣ)/(eˣ + e⁻ˣ)), not tanh(z) = tanh(z)."""
    text = docs["tanh"][lang]["derivation"]
    z = "z^{[1]}_{1}"
    assert (rf"a^{{[1]}}_{{1}} & = \tanh\left({z}\right) = "
            rf"\frac{{e^{{{z}}} - e^{{- {z}}}}}{{e^{{{z}}} + e^{{- {z}}}}}") in text
    assert not re.search(r"\\tanh\\left\((z[^)]*)\\right\) = \\tanh\{\\left\(", text)
    # a custom activation keeps the expression the spec wrote
    assert r"g_{1}\left(z^{[1]}_{1}\right) = " + ("0{,}5" if lang == "pt" else "0.5") \
        + r" z^{[1]}_{1} + " in docs["custom"][lang]["derivation"]


# ------------------------------------------------------------------ "0,5" in the spec

def comma_spec(written: bool) -> dict:
    """A 2-1 identity net whose every number is a decimal, as floats or as strings with a decimal comma."""
    def n(text: str):
        return text if written else float(text.replace(",", "."))
    return {"name": "comma", "input": 2, "layers": [{"units": 1, "activation": "identity"}], "loss": "half_sse",
            "example": {"W": [[[n("0,5"), n("-0,3")]]], "b": [[[n("0,2")]]], "X": [[n("1")], [n("2")]],
                        "Y": [[n("0,25")]], "learning_rate": n("0,1")}}


def test_spec_strings_with_decimal_commas_are_the_numbers_they_write():
    """W = [[["0,5", "-0,3"]]] is W = [[[0.5, -0.3]]]: the same documents, and the hand-computed numbers."""
    for lang in ("en", "pt"):
        assert solution_document(derive(comma_spec(True)), lang=lang) == \
            solution_document(derive(comma_spec(False)), lang=lang)
    W, b, x, y, eta = [Fraction(1, 2), Fraction(-3, 10)], Fraction(1, 5), [1, 2], Fraction(1, 4), Fraction(1, 10)
    z = W[0] * x[0] + W[1] * x[1] + b                  # 0.1
    loss = (z - y) ** 2 / 2                            # 0.01125
    delta = z - y                                      # −0.15
    W_next = [w - eta * delta * xk for w, xk in zip(W, x)]   # 0.515, −0.27
    b_next = b - eta * delta                           # 0.215

    def pt(value: Fraction) -> str:   # exact decimals, written by hand in Brazilian style
        text = f"{float(value):.10f}".rstrip("0").rstrip(".")
        return text.replace(".", "{,}")

    text = solution_document(derive(comma_spec(True)), lang="pt")
    assert pt(z) == "0{,}1" and pt(loss) == "0{,}01125"
    for value in (z, loss, delta, *W_next, b_next):
        assert re.search(rf"(?<![\d,}}]){re.escape(pt(value))}(?![\d{{])", text), pt(value)
    assert r"\eta & = 0{,}1" in text


@pytest.mark.parametrize("bad", ["0,5,1", "zero", "0.5x", "", "1,2.3"])
def test_spec_string_that_is_no_number_is_a_one_line_error(bad, tmp_path):
    spec = comma_spec(True)
    spec["example"]["W"][0][0][1] = bad
    with pytest.raises(SpecError) as info:
        spec_from_dict(copy.deepcopy(spec))
    assert "example.W[0][0][1]: expected a finite number" in str(info.value)
    path = tmp_path / "bad.toml"
    path.write_text(f'''name = "comma"
input = 2
layers = [{{ units = 1, activation = "identity" }}]
loss = "half_sse"
[example]
W = [[["0,5", "{bad}"]]]
b = [[["0,2"]]]
X = [[1], [2]]
Y = [["0,25"]]
''', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "deltagen.cli", "solve", str(path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: example.W[0][0][1]: expected a finite number")
    assert repr(bad) in lines[0]


def test_cli_lang_pt_writes_decimal_commas(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text((ROOT / "generated" / "lecture_softmax_tanh" / "spec.toml").read_text(), encoding="utf-8")
    for args in (["derive", "--latex", "--lang", "pt"], ["solve", "--lang", "pt"],
                 ["solve", "--lang", "pt", "--format", "markdown"]):
        result = subprocess.run([sys.executable, "-m", "deltagen.cli", *args, str(path)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        display, inline = math_parts(result.stdout)
        assert not any(re.search(r"\d\.\d", part) for part in display + inline)
    assert r"\eta & = 0{,}1" in result.stdout


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "tanh", "custom"])
def test_pt_documents_compile(docs, name, tmp_path):
    for kind in ("derivation", "solution"):
        compile_latex(docs[name]["pt"][kind], tmp_path, f"{name}_{kind}_pt")
