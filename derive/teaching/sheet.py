"""An exercise variant's question sheet (LaTeX, en/pt): the network, the given numbers, the numbered questions.

The network section is the derivation document's (its words, its TikZ drawing); the given numbers are the
worked solution's "Given" section, taken from the variant's key, so the sheet prints W, b, X, Y and η
exactly as the key and the notation print them. The questions name each asked quantity in the notation.
"""
from __future__ import annotations

from ..derivation.backprop import Derivation
from ..documents.assembly import _network as network_section
from ..documents.document import LatexDocument
from ..documents.equations import DerivationLatex
from ..documents.notation import ELL, Names
from ..documents.numerals import format_input
from ..documents.spatial_latex import SpatialLatex
from ..documents.words import words
from .asked import Asked
from .exercise_words import exercise_words

#: quantities after the update step, by the name of the same quantity before it
_AFTER = {"W+": "W", "b+": "b", "z+": "z", "a+": "a", "C+": "C", "cost+": "cost"}


def rounding_sentence(decimals: int, lang: str) -> str:
    """What the sheet asks: "Give every number rounded to 4 decimals." """
    ew = exercise_words(lang)
    return ew["round"].format(decimals=decimals) if decimals else ew["round_zero"]


def quantity_tex(one: Asked, d: Derivation) -> str:
    """The asked quantity in the notation's letters (math mode, no $), before any "after the step"."""
    names = Names(d.network.notation)
    kind = _AFTER.get(one.kind, one.kind)
    layer = one.layer
    loss = f"{ELL}_{{{one.example}}}" if one.example is not None else names.cost
    if kind in ("z", "a"):
        return names.scalar(kind, layer)
    if kind == "g'":
        return rf"g'\left({names.scalar('z', layer)}\right)"
    if kind == "delta":
        return names.scalar(names.delta_letter, layer)
    if kind == "WTdelta":
        return rf"\left({names.matrix(names.weight_matrix_letter, layer + 1)}\right)^{{\top}} " \
               rf"{names.scalar(names.delta_letter, layer + 1)}"
    if kind == "C":
        return f"{ELL}_{{{one.example}}}"
    if kind == "cost":
        return names.cost
    if kind in ("dC/da", "dcost/da"):
        top = f"{ELL}_{{{one.example}}}" if kind == "dC/da" else names.cost
        return names.partial(top, names.scalar("a", layer))
    if kind in ("dW", "db"):
        letter = names.weight_matrix_letter if kind == "dW" else "b"
        return names.partial(loss, names.matrix(letter, layer))
    if kind == "W":
        return names.matrix(names.weight_matrix_letter, layer)
    if kind == "b":
        return names.matrix("b", layer)
    return LatexDocument.code(one.quantity)       # an optimizer's state: as the answers file writes it


def question(one: Asked, d: Derivation, learning_rate, lang: str) -> str:
    """One question: "Compute $z^{[1]}$ for example 1." """
    ew = exercise_words(lang)
    what = f"${quantity_tex(one, d)}$"
    kind = _AFTER.get(one.kind, one.kind)
    if "(" in one.kind:
        what = ew["state"].format(what=what)
    elif kind in ("C", "cost"):
        what = ew["loss_of" if kind == "C" else "cost"].format(what=what)
    elif kind in ("dW", "db", "dC/da", "dcost/da"):
        what = ew["derivative"].format(what=what)
    if one.entry is not None:
        what = ew["entry"].format(entry="$(" + ", ".join(str(i) for i in one.entry) + ")$") + what
    elif one.unit is not None:
        what = ew["unit"].format(unit=one.unit) + what
    if one.kind in _AFTER:
        optimizer = d.network.optimizer
        if optimizer.given and optimizer.kind != "sgd":
            what = ew["after_optimizer"].format(what=what)
        else:
            what = ew["after_step"].format(what=what, eta=format_input(float(learning_rate), lang))
    example = ew["for_example"].format(example=one.example) if one.example is not None else ""
    return ew["compute"].format(what=what) + example + "."


def given_section(key: str, lang: str, digits: int, decimals: int) -> str:
    """The key's "Given" section (its heading to the next section) without its note on the key's digits
    (the questions say what to round to)."""
    w = words(lang)
    start = key.index(r"\section*{" + w["given"] + "}")
    end = key.find(r"\section*{", start + 1)
    section = key[start:end if end != -1 else key.rindex(r"\end{document}")].rstrip()
    return section.replace("\n\n" + w["digits_note"].format(digits=digits), "")


def sheet_document(d: Derivation, asked: tuple[Asked, ...], key: str, *, variant: str, learning_rate,
                   digits: int, decimals: int, lang: str = "en") -> str:
    """The question sheet of one variant (a complete LaTeX document; ``key`` is its worked solution, made
    with ``digits`` significant digits)."""
    w, ew = words(lang), exercise_words(lang)
    doc = LatexDocument(ew["sheet_title"].format(name=LatexDocument.code(d.network.name), variant=variant),
                        tikz=True)
    doc.paragraph(ew["sheet_intro"])
    eq = SpatialLatex(d, lang) if d.network.has_spatial_layers else DerivationLatex(d, lang)
    network_section(doc, eq, w)
    doc.paragraph(given_section(key, lang, digits, decimals))
    doc.section(ew["questions"])
    doc.paragraph(rounding_sentence(decimals, lang) + " " + ew["answers_file"])
    items = "\n".join(r"\item " + question(one, d, learning_rate, lang) for one in asked)
    doc.paragraph("\\begin{enumerate}\n" + items + "\n\\end{enumerate}")
    return doc.render()
