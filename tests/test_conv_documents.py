"""The derivation document of nets with conv and pool layers (issue 15): it compiles, shows the forms the
lectures write, and its printed formulas, read back from the LaTeX and evaluated as written, give the numbers
of the independent mpmath reference (tests/mp_conv_network.py). Dense documents stay byte-identical.
"""
from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest

from deltagen.derive import derive, spec_from_dict
from deltagen.derive.documents import derivation_document
from deltagen.derive.documents.derivation_spatial_words import spatial_words
from deltagen.derive.documents.words import words
from deltagen.derive.proof import prove
from latex_tools import compile_latex
from mp_conv_network import MpConvNet

ROOT = Path(__file__).resolve().parent.parent

#: the issue's small CNN
CNN = {"name": "cnn", "input": [1, 8, 8], "loss": "cce", "layers": [
    {"kind": "conv", "channels": 4, "kernel": 3, "activation": "relu"},
    {"kind": "pool", "mode": "max", "size": 2},
    {"units": 10, "activation": "softmax"}]}
#: 1-D, with padding, an average pool, stride 2 in the second conv (so that it sends a strided δ down)
ONE_D = {"name": "oned", "input": [2, 12], "loss": "bce", "layers": [
    {"kind": "conv", "channels": 3, "kernel": 3, "padding": 1, "activation": "tanh"},
    {"kind": "pool", "mode": "average", "size": 2},
    {"kind": "conv", "channels": 2, "kernel": 2, "stride": 2, "padding": 1, "activation": "relu"},
    {"units": 1, "activation": "sigmoid"}]}
#: 2-D, stride 2 and padding 1 in the first layer, then a stride-1 conv that sends the flipped form down
STRIDED = {"name": "strided", "input": [2, 5, 4], "loss": "half_sse", "l2": 0.01, "layers": [
    {"kind": "conv", "channels": 2, "kernel": 3, "stride": 2, "padding": 1, "activation": "identity"},
    {"kind": "conv", "channels": 1, "kernel": 2, "padding": 1, "activation": "sigmoid", "bias": False},
    {"units": 2, "activation": "identity"}]}


def _document(spec: dict, lang: str = "en", report: bool = False) -> str:
    d = derive(spec_from_dict(spec))
    return derivation_document(d, lang, report=prove(d) if report else None)


def _line(document: str, left: str) -> str:
    """The right-hand side of the display line whose left-hand side is ``left`` (first match)."""
    for line in document.splitlines():
        head, _, right = line.partition(" & = ")
        if head.strip() == left:
            return right.rstrip(" \\")
    raise AssertionError(f"no line {left!r}")


@pytest.mark.parametrize("spec", [CNN, ONE_D, STRIDED], ids=lambda s: s["name"])
@pytest.mark.parametrize("lang", ["en", "pt"])
def test_the_document_of_a_conv_net_compiles(spec, lang, tmp_path):
    document = _document(spec, lang, report=True)
    compile_latex(document, tmp_path, f"{spec['name']}_{lang}")
    assert document.count(r"\begin{tikzpicture}") == 1 + sum(layer.get("kind") in ("conv", "pool")
                                                              for layer in spec["layers"])
    assert (r"\section*{" + words(lang)["proof"] + "}") in document      # the proof section, given a report


def test_stride_1_shows_the_full_correlation_with_the_flipped_kernel():
    """Issue CNN, conv 3×3 without padding: ∂ℓ/∂x_{c′,u,v} = Σ_{c,p,q} W_{c,c′,p,q} δ_{c,u−p,v−q}, which is
    Σ W_{c,c′,2−p,2−q} δ_{c,u+p−2,v+q−2} (p → k−1−p, written out by hand)."""
    document = _document(CNN)
    lines = [line for line in document.splitlines() if line.startswith(r"\frac{\partial \ell}{\partial x_{c',u,v}}")]
    assert len(lines) == 2
    assert r"W^{[1]}_{c,c',p,q} \delta^{[1]}_{c,u - p,v - q}" in lines[0]
    assert r"W^{[1]}_{c,c',2 - p,2 - q} \delta^{[1]}_{c,u + p - 2,v + q - 2}" in lines[1]
    assert r"\sum_{c=0}^{3} \sum_{p=0}^{2} \sum_{q=0}^{2}" in lines[1]


def test_max_pooling_sends_delta_through_the_first_maximum():
    """Pool 2×2 stride 2: input u is in window i with 2i + p = u, so the read is at (u − p)/2; M's example offset
    (0, 1) is 1 when its entry is above the first (strictly) and not below the two after it."""
    document = _document(CNN)
    sent = _line(document, r"\frac{\partial \ell}{\partial a^{[1]}_{c,u,v}}")
    assert sent == (r"\sum_{p=0}^{1} \sum_{q=0}^{1} M^{[2]}_{c,\left(u - p\right)/2,\left(v - q\right)/2,p,q} "
                    r"\delta^{[2]}_{c,\left(u - p\right)/2,\left(v - q\right)/2}")
    mask = _line(document, "M^{[2]}_{c,i,j,0,1}")
    assert r"a^{[1]}_{c,2 i,2 j} < a^{[1]}_{c,2 i,2 j + 1}" in mask and mask.count(r"\geq") + mask.count(r"\leq") == 2


def test_stride_2_shows_the_strided_form_and_no_flipped_kernel():
    """STRIDED's first conv (k = 3, s = 2, P = 1): δ is read at ((u + 1 − p)/2, (v + 1 − q)/2); layer 2
    (stride 1, P = 1, k = 2) sends down Σ W_{c,c′,1−p,1−q} δ_{c,u+p,v+q} too (k − 1 − P = 0)."""
    document = _document(STRIDED)
    lines = [line for line in document.splitlines() if line.startswith(r"\frac{\partial \ell}{\partial x_{c',u,v}}")]
    assert len(lines) == 1
    assert r"\delta^{[1]}_{c,\left(u + 1 - p\right)/2,\left(v + 1 - q\right)/2}" in lines[0]
    assert "the strided form above is the one that holds" in document
    flipped = [line for line in document.splitlines()
               if line.startswith(r"\frac{\partial \ell}{\partial a^{[1]}_{c',u,v}}")]
    assert len(flipped) == 2 and r"W^{[2]}_{c,c',1 - p,1 - q} \delta^{[2]}_{c,u + p,v + q}" in flipped[1]


def test_a_dense_layer_after_a_pool_reads_it_flattened_and_sends_a_reshaped_delta():
    document = _document(CNN)
    assert r"a^{[2]}_{k} = a^{[2]}_{c,i,j}, \quad k = 9 c + 3 i + j + 1" in document     # 4×3×3, C order
    assert _line(document, r"\frac{\partial \ell}{\partial a^{[2]}_{c,i,j}}") == \
        r"\sum_{k=1}^{10} w^{[3]}_{k,9 c + 3 i + j + 1} \delta^{[3]}_{k}"


# ------------------------------------------------------------------ printed formulas evaluated as written

def _python(index: str) -> str:
    """A printed index (``2 i + p - 1``, ``\\left(u + 1 - p\\right)/2``) as a Python expression."""
    index = index.replace(r"\left(", "(").replace(r"\right)", ")").replace("c'", "cc")
    return re.sub(r"(\d) ([a-z(])", r"\1*\2", index)


def _evaluate(right: str, arrays: dict[str, np.ndarray], free: dict[str, int]) -> float:
    """A printed ``Σ … Σ X_{…} Y_{…} (+ b_{…})`` evaluated: each read outside its array or off the integers is 0."""
    limits = re.findall(r"\\sum_\{([a-z']+)=(\d+)\}\^\{(\d+)\} ", right)
    body = re.sub(r"\\sum_\{[^}]*\}\^\{[^}]*\} ", "", right)
    terms = _split(body, " + ")
    total = 0.0
    names = [name.replace("'", "c") if name == "c'" else name for name, _, _ in limits]
    for values in itertools.product(*[range(int(lo), int(hi) + 1) for _, lo, hi in limits]):
        scope = {**free, **dict(zip(names, values))}
        product = 1.0
        for name, index in re.findall(r"(\S+?)_\{([^{}]*)\}", terms[0]):
            spot = [eval(_python(i), {}, scope) for i in _split(index)]
            array = arrays[name]
            if any(v != int(v) or not 0 <= v < n for v, n in zip(spot, array.shape)):
                product = 0.0
                break
            product *= array[tuple(int(v) for v in spot)]
        total += product
    for extra in terms[1:]:     # the bias
        name, index = re.fullmatch(r"(\S+?)_\{(.*)\}", extra).groups()
        total += arrays[name][tuple(eval(_python(i), {}, free) for i in _split(index))]
    return total


def _split(text: str, separator: str = ",") -> list[str]:
    """The parts of ``text`` between the ``separator``s outside braces and parentheses."""
    parts, depth, start, k = [], 0, 0, 0
    while k < len(text):
        if text[k] in "({":
            depth += 1
        elif text[k] in ")}":
            depth -= 1
        elif depth == 0 and text.startswith(separator, k):
            parts.append(text[start:k])
            start = k = k + len(separator)
            continue
        k += 1
    return parts + [text[start:]]


def _reference(spec: dict) -> MpConvNet:
    """The mpmath net of ``spec``'s first (conv) layer alone, without activation: its output is z^{[1]}, and with
    the ``linear`` loss Σ y z, its ∂ℓ/∂x is what δ^{[1]} = y sends down."""
    first = {**spec["layers"][0], "activation": "identity"}
    return MpConvNet({"input": spec["input"], "loss": "linear", "reduction": "sum", "layers": [first]})


@pytest.mark.parametrize("spec", [STRIDED, ONE_D], ids=lambda s: s["name"])
def test_the_printed_forward_and_input_gradient_evaluated_as_written_match_mpmath(spec):
    document = _document(spec)
    d = derive(spec_from_dict(spec))
    layer = d.network.layers[0]
    rng = np.random.default_rng(7)
    W, b = rng.normal(size=layer.weight_shape), rng.normal(size=layer.channels)
    x = rng.normal(size=layer.in_shape)
    delta = rng.normal(size=layer.out_shape)
    two = len(layer.in_shape) == 3
    arrays = {"W^{[1]}": W, "b^{[1]}": b, "x": x, r"\delta^{[1]}": delta}
    net = _reference(spec)
    params = {"W1": W, "b1": b.reshape(-1, 1)}
    z_reference = net.forward(params, x.reshape(-1, 1)).reshape(layer.out_shape)
    z_left = r"z^{[1]}_{c,i,j}" if two else r"z^{[1]}_{c,i}"
    z_printed = _line(document, z_left)
    for spot in itertools.product(*map(range, layer.out_shape)):
        free = dict(zip(("c", "i", "j"), spot))
        assert math.isclose(_evaluate(z_printed, arrays, free), z_reference[spot], rel_tol=1e-12, abs_tol=1e-12)
    gradient = net.input_gradient(params, x.reshape(-1, 1), delta.reshape(-1, 1)).reshape(layer.in_shape)
    x_left = r"\frac{\partial \ell}{\partial x_{c',u,v}}" if two else r"\frac{\partial \ell}{\partial x_{c',u}}"
    printed = [line.partition(" & = ")[2].rstrip(" \\") for line in document.splitlines()
               if line.startswith(x_left + " & = ")]
    assert printed
    for right in printed:     # the strided form, and the flipped one where it is shown
        for spot in itertools.product(*map(range, layer.in_shape)):
            free = dict(zip(("cc", "u", "v"), spot))
            assert math.isclose(_evaluate(right, arrays, free), gradient[spot], rel_tol=1e-9, abs_tol=1e-9)


# ------------------------------------------------------------------ drawings, words, dense documents

def test_the_drawing_of_a_conv_layer_has_its_cells_and_stays_small_for_big_inputs():
    pictures = re.findall(r"\\begin\{tikzpicture\}\[>=stealth\]\n(.*?)\\end\{tikzpicture\}", _document(CNN), re.S)
    cells = [picture.count("rectangle") for picture in pictures]
    assert cells == [8 * 8 + 6 * 6 + 2, 6 * 6 + 3 * 3 + 2]     # input, output, two windows
    big = {**CNN, "input": [1, 28, 28], "layers": [{**CNN["layers"][0], "padding": 2}] + CNN["layers"][1:]}
    pictures = re.findall(r"\\begin\{tikzpicture\}\[>=stealth\]\n(.*?)\\end\{tikzpicture\}", _document(big), re.S)
    assert all(picture.count("rectangle") <= 2 * 8 * 8 + 2 for picture in pictures)
    assert all(r"\cdots" in picture and r"\vdots" in picture for picture in pictures)


def test_the_conv_words_exist_in_both_languages():
    assert spatial_words("en").keys() == spatial_words("pt").keys()


@pytest.mark.parametrize("spec", sorted((ROOT / "generated").glob("*/spec.toml")), ids=lambda p: p.parent.name)
def test_dense_documents_are_unchanged(spec):
    d = derive(spec)
    report = prove(d)
    for lang in ("en", "pt"):
        assert derivation_document(d, lang, report=report) == \
            (spec.parent / f"derivation_{lang}.tex").read_text(encoding="utf-8")
