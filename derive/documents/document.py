"""Two small writers with one interface: a compilable LaTeX document, or Markdown with $…$ math.

Builders (``documents.assembly``, ``documents.solution``) call ``section``, ``paragraph``,
``equations`` … and never format either output themselves, so a worked solution
comes out in both formats from one sequence of calls. Text handed to a writer is
LaTeX-ready (math between ``$…$``); ``code`` escapes a name for the format.
"""
from __future__ import annotations

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
%(packages)s\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
\setlength{\emergencystretch}{3em}
"""


#: characters that are markup in TeX's text mode, as \texttt shows them
_TEXTTT_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "^": r"\^{}", "{": r"\{", "}": r"\}", "$": r"\$",
                   "&": r"\&", "#": r"\#", "%": r"\%", "~": r"\~{}"}


class LatexDocument:
    """A complete ``article`` document; ``render()`` returns its text (deterministic: no dates)."""

    format = "latex"

    def __init__(self, title: str, *, tikz: bool = False) -> None:
        self._parts: list[str] = []
        self._title = title
        self._tikz = tikz

    @staticmethod
    def code(name: str) -> str:
        """``name`` in typewriter type, every character TeX would read as markup escaped (a custom ``z^3``)."""
        return r"\texttt{" + "".join(_TEXTTT_ESCAPES.get(ch, ch) for ch in name) + "}"

    def section(self, text: str) -> None:
        self._parts.append(r"\section*{" + text + "}")

    def subsection(self, text: str) -> None:
        self._parts.append(r"\subsection*{" + text + "}")

    def paragraph(self, text: str) -> None:
        self._parts.append(text)

    def items(self, texts: list[str]) -> None:
        self._parts.append("\\begin{itemize}\n" + "\n".join(r"\item " + t for t in texts) + "\n\\end{itemize}")

    def equations(self, lines: list[str]) -> None:
        """Aligned display math; each line is ``left & = right``."""
        if lines:
            self._parts.append("\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}")

    def figure(self, body: str, caption: str) -> None:
        self._parts.append("\\begin{center}\n" + body + "\n\n" + caption + "\n\\end{center}")

    def render(self) -> str:
        packages = "\\usepackage{tikz}\n" if self._tikz else ""
        head = PREAMBLE % {"packages": packages}
        body = "\n\n".join(self._parts)
        return (f"{head}\n\\begin{{document}}\n\n\\begin{{center}}\\Large {self._title}\\end{{center}}\n\n"
                f"{body}\n\n\\end{{document}}\n")


class MarkdownDocument:
    """Markdown with ``$…$`` inline and ``$$…$$`` display math (GitHub, Jupyter, MathJax)."""

    format = "markdown"

    def __init__(self, title: str) -> None:
        self._parts: list[str] = [f"# {title}"]

    @staticmethod
    def code(name: str) -> str:
        return f"`{name}`"

    def section(self, text: str) -> None:
        self._parts.append(f"## {text}")

    def subsection(self, text: str) -> None:
        self._parts.append(f"### {text}")

    def paragraph(self, text: str) -> None:
        self._parts.append(text)

    def items(self, texts: list[str]) -> None:
        self._parts.append("\n".join(f"- {t}" for t in texts))

    def equations(self, lines: list[str]) -> None:
        if lines:
            self._parts.append("$$\n\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}\n$$")

    def figure(self, body: str, caption: str) -> None:   # TikZ has no Markdown form: keep the caption
        self._parts.append(f"*{caption}*")

    def render(self) -> str:
        return "\n\n".join(self._parts) + "\n"


def make_document(fmt: str, title: str, *, tikz: bool = False):
    """A writer for ``fmt`` (``latex`` or ``markdown``)."""
    if fmt == "latex":
        return LatexDocument(title, tikz=tikz)
    if fmt == "markdown":
        return MarkdownDocument(title)
    raise ValueError(f"format: expected 'latex' or 'markdown', got {fmt!r}")
