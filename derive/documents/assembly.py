"""The derivation document of ``deltagen derive --latex``, assembled section by section, and its notebook form.

Sections, in order: the network and its notation (with a TikZ drawing), the forward
pass, the cost, the activation derivatives, δ^[L] by the chain rule, the δ recurrence,
the gradients (index and matrix form), the update rule and, given a proof report,
the proof verdict. Each section is one function writing into a ``LatexDocument``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from ..derivation.backprop import LAMBDA, Derivation
from .document import LatexDocument
from . import conv_section
from .dropout_section import dropout_section
from .equations import DerivationLatex
from .numerals import format_input
from .spatial_latex import SpatialLatex
from .tikz import tikz_network
from .updates import latex_fields, settings
from .words import words

if TYPE_CHECKING:
    from ..proof import ProofReport


def derivation_document(derivation: Derivation, lang: str = "en", *, report: ProofReport | None = None) -> str:
    """The complete LaTeX document of the derivation (compiles with pdflatex; no dates, so it is reproducible).

    ``report`` is the derivation's ``ProofReport`` (``deltagen.prove``); without one the document
    has no proof section. The document never runs the proof itself.
    """
    w = words(lang)
    # conv and pool layers (issue 15): their parts come from conv_section; a dense-only net's document is unchanged
    eq = SpatialLatex(derivation, lang) if derivation.network.has_spatial_layers else DerivationLatex(derivation, lang)
    doc = LatexDocument(w["derivation_title"].format(name=LatexDocument.code(derivation.network.name)), tikz=True)
    for section in (_network, _forward, _cost, _derivatives, _output_delta, _recurrence, _gradients):
        section(doc, eq, w)
    dropout_section(doc, eq, lang)
    _update(doc, eq, w)
    if report is not None:
        _proof(doc, report, w)
    return doc.render()


def derivation_math(derivation: Derivation) -> str:
    """Display math for a notebook (``deltagen.math``): matrix forms of the forward and backward pass."""
    derivation.network.require_dense("the notebook math")
    d = derivation
    eq = DerivationLatex(d)
    lines: list[str] = []
    for layer in d.layer_numbers:
        lines += eq.forward_matrix(layer)
    lines += eq.cost()
    output = eq.output_delta_matrix()
    lines += [output] if output is not None else eq.output_delta_short()
    for layer in reversed(d.layer_numbers[:-1]):
        lines += eq.hidden_delta_matrix(layer)
    for layer in reversed(d.layer_numbers):
        lines += eq.gradient_matrix(layer)
    return "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$"


# ------------------------------------------------------------------ sections

def _spatial(eq: DerivationLatex, layer: int) -> bool:
    """Whether layer number ``layer`` is a conv or pool layer (the input's number: no)."""
    return eq.d.first <= layer and eq.d.layer(layer).kind != "dense"


def _plain(value: float, lang: str = "en") -> str:
    """A spec number as written (``0.01``, not ``0.0100000000000000``), with ``lang``'s decimal separator."""
    return format_input(value, lang)


def _network(doc: LatexDocument, eq: DerivationLatex, w: dict[str, str]) -> None:
    """The layers, loss and cost in words; how the notation numbers layers and names weights; the drawing."""
    d, n, net = eq.d, eq.n, eq.net
    if net.has_spatial_layers:
        conv_section.network(doc, eq, w)
        return
    doc.section(w["network"])
    layers = "; ".join(
        w["layer_item"].format(number=layer, units=d.width(layer),
                               unit_word=w["unit"] if d.width(layer) == 1 else w["units"],
                               activation=doc.code(d.layer(layer).activation.name),
                               bias=w["with_bias"] if d.layer(layer).bias else w["without_bias"])
        for layer in d.layer_numbers)
    l2 = w["l2_term"].format(l2=f"${sp.latex(LAMBDA)} = {_plain(net.l2, eq.lang)}$") if net.l2 else w["no_l2"]
    sizes = "\\text{--}".join(str(s) for s in net.sizes)
    doc.paragraph(w["network_summary"].format(sizes=f"${sizes}$", layers=layers, loss=doc.code(net.loss.name),
                                              reduction=w["reduction_" + net.reduction], l2=l2))
    doc.paragraph(w["notation_layers"].format(a0=f"${n.scalar('a', d.input_number)} = x$", first=d.input_number,
                                              L=d.last))
    W_first = n.matrix(n.weight_matrix_letter, d.first)
    entry = n.weight_entry(d.first, "j", "k")
    first_layer = eq.forward_matrix(d.first)[0].replace("&", "")
    key = "notation_transposed" if n.transposed else "notation_standard"
    doc.paragraph(w[key].format(z=f"${first_layer}$", W=f"${W_first}$", entry=f"${entry}$"))
    doc.figure(tikz_network(d, w), w["figure_caption"])


def _forward(doc: LatexDocument, eq: DerivationLatex, w: dict[str, str]) -> None:
    doc.section(w["forward"])
    doc.paragraph(w["forward_intro"])
    for layer in eq.d.layer_numbers:
        doc.subsection(w["layer"].format(number=layer))
        if _spatial(eq, layer):
            conv_section.forward(doc, eq, layer)
            continue
        if _spatial(eq, layer - 1):   # a dense layer reading a conv or pool layer's output, flattened
            conv_section.flatten(doc, eq, layer)
        doc.equations(eq.forward_index(layer))
        doc.paragraph(w["matrix_form"])
        doc.equations(eq.forward_matrix(layer))


def _cost(doc: LatexDocument, eq: DerivationLatex, w: dict[str, str]) -> None:
    doc.section(w["cost"])
    doc.paragraph(w["cost_intro"].format(C=f"${eq.n.cost}$"))
    doc.equations(eq.cost())


def _derivatives(doc: LatexDocument, eq: DerivationLatex, w: dict[str, str]) -> None:
    """The activation derivatives (none to show when every layer is softmax)."""
    lines = eq.derivatives()
    if lines:
        doc.section(w["derivatives"])
        doc.paragraph(w["derivatives_intro"] + (" " + w["derivatives_through_a"] if eq.derivatives_with_a() else ""))
        doc.equations(lines)


def _output_delta(doc: LatexDocument, eq: DerivationLatex, w: dict[str, str]) -> None:
    """δ^[L] by the chain rule, unit by unit, then for a batch (one formula, or column by column)."""
    d, n = eq.d, eq.n
    delta = f"${n.scalar(n.delta_letter, d.last)}$"
    doc.section(w["output_delta"].format(delta=delta))
    doc.paragraph(w["output_delta_intro"])
    doc.equations(eq.output_delta_index())
    if eq.output_is_a_minus_y():
        doc.paragraph(w["canonical"])
    matrix_line = eq.output_delta_matrix()
    if matrix_line is not None:
        doc.paragraph(w["matrix_form_batch"])
        doc.equations([matrix_line])
    else:
        doc.paragraph(w["output_delta_columns"].format(Delta=f"${eq.tex(d.matrix(d.last).Delta)}$", delta=delta))


def _recurrence(doc: LatexDocument, eq: DerivationLatex, w: dict[str, str]) -> None:
    """The hidden layers' δ, from the last hidden layer down (no section for a one-layer network)."""
    if eq.d.L == 1:
        return
    doc.section(w["recurrence"])
    doc.paragraph(w["recurrence_intro"])
    for layer in reversed(eq.d.layer_numbers[:-1]):
        if _spatial(eq, layer):
            conv_section.recurrence(doc, eq, w, layer)
            continue
        doc.subsection(w["layer"].format(number=layer))
        doc.equations(eq.hidden_delta_index(layer))
        doc.paragraph(w["matrix_form_batch_hadamard"])
        doc.equations(eq.hidden_delta_matrix(layer))
    if _spatial(eq, eq.d.first):   # ∂ℓ/∂x, which the generated backward() returns
        conv_section.input_gradient(doc, eq)


def _gradients(doc: LatexDocument, eq: DerivationLatex, w: dict[str, str]) -> None:
    doc.section(w["gradients"])
    doc.paragraph(w["gradients_intro"])
    for layer in reversed(eq.d.layer_numbers):
        if _spatial(eq, layer):
            conv_section.gradients(doc, eq, w, layer)
            continue
        doc.subsection(w["layer"].format(number=layer))
        doc.equations(eq.gradient_index(layer))
        doc.paragraph(w["gradients_matrix"].format(c=f"${eq.tex(eq.d.reduction_factor)}$"))
        doc.equations(eq.gradient_matrix(layer))


def _update(doc: LatexDocument, eq: DerivationLatex, w: dict[str, str]) -> None:
    """θ ← θ − η ∂C/∂θ by layer; with an [optimizer] table, its rule step by step, its values and its decay."""
    optimizer = eq.net.optimizer
    if not optimizer.given or optimizer.kind == "sgd":
        doc.section(w["update"])
        if optimizer.given:
            doc.paragraph(w["optimizer_sgd"].format(kind=doc.code(optimizer.kind)))
        doc.paragraph(w["update_intro"])
        doc.equations(eq.updates())
    else:
        form = eq.step_form()
        fields = latex_fields(optimizer, form)
        n = eq.n
        params = ", ".join(f"${n.matrix(letter, layer)}$" for layer in eq.d.layer_numbers
                           if eq.d.layer(layer).kind != "pool"     # a pool layer has no parameters
                           for letter in (n.weight_matrix_letter, "b") if letter != "b" or eq.d.layer(layer).bias)
        doc.section(w["optimizer_update"].format(kind=doc.code(optimizer.kind)))
        doc.paragraph(w["optimizer_intro"].format(kind=doc.code(optimizer.kind), params=params,
                                                  steps=r"$t = 1, 2, \ldots$", **fields))
        doc.equations(eq.optimizer_step())
        doc.paragraph(w[f"optimizer_state_{optimizer.kind}"].format(**fields))
    if optimizer.given:
        _optimizer_values(doc, eq, w)


def _optimizer_values(doc: LatexDocument, eq: DerivationLatex, w: dict[str, str]) -> None:
    """The decay (η_e = …) and the spec's numbers: η, the rule's hyperparameters, the decay's r and k."""
    optimizer, form = eq.net.optimizer, eq.step_form()
    fields = latex_fields(optimizer, form)
    if optimizer.decay is not None:
        doc.paragraph(w["optimizer_decay"].format(decay=w[f"decay_{optimizer.decay.kind}"], **fields))
        doc.equations(eq.schedule())
    values = ", ".join(f"${form.latex[symbol]} = {_plain(number, eq.lang)}$ ({doc.code(key)})"
                       for key, symbol, number in settings(optimizer, form))
    doc.paragraph(w["optimizer_values"].format(values=values))


def _proof(doc: LatexDocument, report: ProofReport, w: dict[str, str]) -> None:
    """The verdict of the proof report: how many gradients and identities, layer by layer or also end to end."""
    doc.section(w["proof"])
    doc.paragraph(w["proof_intro"])
    kinds = w["proof_kinds_both"] if report.end_to_end else w["proof_kinds_local"]
    identities = sum(i.count for i in report.identities) - report.optimizer_identities
    if report.ok:
        doc.paragraph(w["proof_ok"].format(count=report.n_params, identities=identities, kinds=kinds))
        if report.optimizer_identities:
            doc.paragraph(w["proof_optimizer"].format(count=report.optimizer_identities,
                                                       kind=doc.code(report.optimizer)))
    else:
        doc.paragraph(w["proof_failed"].format(failed=len(report.failed), total=len(report.identities),
                                               kinds=kinds))
