"""The derivation document's dropout section: what inverted dropout changes in training.

For each hidden layer with ``dropout = p``: the kept activations ã = a D / (1 − p) the next layer
reads, the δ of the layer with the mask's factor, and the next layer's weight gradient through ã,
each printed from ``derive.derivation.dropout``'s expressions, unit by unit as the δ recurrence is.
"""
from __future__ import annotations

from ..derivation import dropout
from ..derivation.backprop import Derivation
from .document import LatexDocument
from .equations import DerivationLatex
from .notation import ELL, as_factor
from .numerals import format_input

_WORDS = {
    "en": {
        "title": "Dropout in training",
        "intro": "In training, layer {layer} drops each of its units with probability $p = {p}$ (inverted "
                 "dropout): with a mask ${D} \\in \\{{0, 1\\}}$, 1 with probability $1 - p$, layer {above} reads "
                 "the kept activations ${kept}$ instead of ${a}$. The mask is fixed within a step, so the chain "
                 "rule through them gives:",
        "inference": "At inference there is no dropout: ${kept_all} = {a_all}$, and the equations above are "
                     "those of the other sections.",
        "solution": "The spec trains with dropout ({layers}); the numbers below are those of the network without "
                    "it, as at inference (every mask 1, no factor $1/(1 - p)$).",
        "layer": "layer {layer}: $p = {p}$",
    },
    "pt": {
        "title": "Dropout no treinamento",
        "intro": "No treinamento, a camada {layer} descarta cada unidade com probabilidade $p = {p}$ (dropout "
                 "invertido): com uma máscara ${D} \\in \\{{0, 1\\}}$, igual a 1 com probabilidade $1 - p$, a "
                 "camada {above} lê as ativações mantidas ${kept}$ em vez de ${a}$. A máscara é fixa durante um "
                 "passo, e a regra da cadeia através delas dá:",
        "inference": "Na inferência não há dropout: ${kept_all} = {a_all}$, e as equações acima são as das "
                     "outras seções.",
        "solution": "A especificação treina com dropout ({layers}); os números abaixo são os da rede sem ele, "
                    "como na inferência (toda máscara 1, sem o fator $1/(1 - p)$).",
        "layer": "camada {layer}: $p = {p}$",
    },
}


def _kept(letter: str) -> str:
    """ã from the notation's a^{[l]}_{j}: a tilde over the letter."""
    return r"\tilde{a}" + letter[1:] if letter.startswith("a") else rf"\tilde{{{letter}}}"


def dropout_section(doc: LatexDocument, eq: DerivationLatex, lang: str) -> None:
    """One subsection per dropout layer; nothing for a network without dropout."""
    d, n = eq.d, eq.n
    layers = dropout.dropout_layers(d)
    if not layers:
        return
    w = _WORDS[lang]
    doc.section(w["title"])
    for layer in layers:
        above = layer + 1
        s = d.symbols(layer)
        kept = dropout.kept_index(d, layer)
        doc.paragraph(w["intro"].format(
            layer=layer, above=above, p=format_input(d.layer(layer).dropout, lang),
            D=n.scalar("D", layer, "j"), kept=_kept(n.scalar("a", layer, "j")), a=n.scalar("a", layer, "j")))
        lines = []
        for j in eq._units(len(s.z)):
            if j is None:
                lines.append(r"& \;\;\vdots")
                continue
            lines.append(f"{_kept(eq.tex(s.a[j]))} & = {eq.tex(kept[j])}")
        for j, (scale, back_sum) in enumerate(dropout.delta_factors(d, layer)):
            if j not in eq._units(len(s.z)):
                continue
            lines.append(rf"{eq.tex(s.delta[j])} & = {as_factor(scale, eq.tex(scale))} \left({eq.tex(back_sum)}\right)")
        entry = n.weight_entry(above, "j", "k")
        lines.append(f"{n.partial(ELL, entry)} & = {n.scalar(n.delta_letter, above, 'j')} "
                     f"{_kept(n.scalar('a', layer, 'k'))}")
        doc.equations(lines)
        doc.paragraph(w["inference"].format(kept_all=_kept(n.scalar("a", layer, "j")), a_all=n.scalar("a", layer, "j")))


def dropout_solution_note(d: Derivation, lang: str) -> str | None:
    """The worked solution's sentence that its numbers leave dropout out; None without dropout."""
    layers = dropout.dropout_layers(d)
    if not layers:
        return None
    w = _WORDS[lang]
    listed = ", ".join(w["layer"].format(layer=layer, p=format_input(d.layer(layer).dropout, lang)) for layer in layers)
    return w["solution"].format(layers=listed)
