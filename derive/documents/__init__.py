"""Documents: the derivation and worked solutions in LaTeX and Markdown, with the words of each language.

``notation`` spells symbols, ``printer`` prints expressions with it, ``equations`` and ``tikz`` make
the derivation's lines and drawing, ``assembly`` and ``solution`` put documents together, ``words``
holds every sentence in each language.
"""
from .assembly import derivation_document, derivation_math
from .solution import solution_document

__all__ = ["derivation_document", "derivation_math", "solution_document"]
