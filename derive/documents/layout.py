"""Lines of a worked solution that fit the page: wide matrices in column blocks, long sums broken.

A solution writes each matrix it substitutes as a placeholder ``\\MAT{i}`` (``Layout.matrix``)
and hands the step (formula, numbers, result) to ``Layout.step``. When the step is too wide
for an A4 page (or a matrix has more columns than amsmath's ``bmatrix`` allows, 10):

- the result's columns are shown in blocks ("columns 1 to 6:"), each with the numbers that
  give it: in every term of the line, the matrix that carries the result's columns (the last
  of the term) is cut to the same columns, which is right for sums, scalar multiples, products
  and elementwise functions alike;
- a product P Q still too wide is written as the sum of the products of its blocks,
  P[:, 1..k] Q[1..k, :] + P[:, k+1..] Q[k+1.., :] (for a batch, by groups of examples);
- a line still too long is broken before a + or −, inside ``\\left( … \\right)`` too (the
  pieces then close with ``\\right.`` and reopen with ``\\left.``).

Every printed line still reads, as written, as the value on its result line. Widths are
estimated from the text (calibrated on pdflatex's 11 pt Latin Modern, see ``width``).
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np

#: amsmath's bmatrix allows this many columns (MaxMatrixCols)
MAX_COLUMNS = 10
#: what an align* row may take, in pt: A4 less 2 × 2 cm (483.7 pt); ``width`` errs on the wide side
PAGE_WIDTH = 483.0
#: the indent of a continued line, in pt (``\qquad``)
CONTINUED = r"\qquad "
_PLACEHOLDER = re.compile(r"\\MAT\{(\d+)\}(\^\{\\top\})?")
_PRODUCT = re.compile(r"\\MAT\{(\d+)\}(\^\{\\top\})? (?:\\MAT\{(\d+)\}(\^\{\\top\})?|(\\mathbf\{1\}))")


def bmatrix(array, write: Callable) -> str:
    """A matrix (or column) of numbers as a LaTeX bmatrix, each entry written by ``write``."""
    rows = np.asarray(array, dtype=object)
    if rows.ndim == 1:
        rows = rows.reshape(-1, 1)
    body = r" \\ ".join(" & ".join(write(v) for v in row) for row in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


# ------------------------------------------------------------------ widths

#: pt per character in 11 pt math (digits, letters, and what the others cost)
_CHAR = 5.6
_COMMANDS = {r"\cdot": 8.6, r"\left(": 6.0, r"\right)": 6.0, r"\left.": 1.2, r"\right.": 1.2, r"\log": 16.0,
             r"\sigma": 7.0, r"\tanh": 22.0, r"\approx": 14.5, r"\odot": 13.5, r"\mathbf": 0.0, r"\qquad": 22.0,
             r"\top": 6.0, r"\left\lVert": 7.0, r"\right\rVert": 7.0, r"\ell": 5.0, r"\delta": 5.0,
             r"\operatorname": 0.0, r"\partial": 6.5, r"\lambda": 7.0, r"\eta": 6.0, r"\sum": 16.0}


#: the environments a line may hold, set as a block of rows (a bmatrix, or the cases of a piecewise function)
_ENVIRONMENT = r"\\begin\{(bmatrix|cases)\}(.*?)\\end\{\1\}"


def width(tex: str) -> float:
    """An estimate (pt, slightly over) of how wide ``tex`` sets in display math."""
    total = 0.0
    for _, body in re.findall(_ENVIRONMENT, tex, re.S):   # rows stack: the widest cell of each column counts
        rows = [[width(cell) for cell in row.split("&")] for row in body.split(r"\\")]
        columns = max(len(r) for r in rows)
        widest = [max((r[c] for r in rows if c < len(r)), default=0.0) for c in range(columns)]
        total += sum(widest) + 10.0 * (columns - 1) + 12.0   # \arraycolsep both sides; the brackets
    tex = re.sub(_ENVIRONMENT, "", tex, flags=re.S)
    # a fraction is as wide as its wider part; sub- and superscripts are set smaller
    tex = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: max(m[1], m[2], key=len) + "  ", tex)
    for script in re.findall(r"[_^]\{([^{}]*)\}", tex):
        total -= 0.3 * width(script)
    for upper, lower in re.findall(r"\^\{([^{}]*)\}_\{([^{}]*)\}", tex):   # stacked: the wider one counts
        total -= 0.7 * min(width(upper), width(lower))
    for command in re.findall(r"\\[a-zA-Z]+[(.)]?|\\[a-zA-Z]+", tex):
        total += _COMMANDS.get(command, _CHAR)
    tex = re.sub(r"(^|[{(&=]|\\\\)(\s*)-", r"\1\2~", tex)      # a unary minus: no space around it
    tex = re.sub(r"\\[a-zA-Z]+[(.)]?|\\[a-zA-Z]+|\\\\|[{}&]", "", tex)
    total += sum(3.1 if c in ".,()[]" else 13.5 if c in "+-=" else 0.0 if c == " " else 8.0 if c == "~" else _CHAR
                 for c in tex)
    return total


def too_wide(tex: str, budget: float) -> bool:
    """Over ``budget`` pt, or with a matrix of more columns than bmatrix allows."""
    if width(tex) > budget:
        return True
    return any(row.count("&") >= MAX_COLUMNS for body in re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}",
                                                                      tex, re.S) for row in body.split(r"\\"))


# ------------------------------------------------------------------ breaking a long line

def _pieces(tex: str, deepest: int = 99) -> list[tuple[str, int]]:
    """``tex`` cut before each binary + or − inside at most ``deepest`` \\left( … \\right) groups (no braces).

    Each piece comes with the number of \\left groups open where it starts.
    """
    pieces, start, stack, at = [], 0, [], 0
    while at < len(tex):
        environment = re.match(r"\\begin\{(bmatrix|cases)\}", tex[at:])
        if environment:          # a matrix or a cases block is never cut
            end = rf"\end{{{environment[1]}}}"
            at = tex.index(end, at) + len(end)
            continue
        if tex.startswith(r"\left", at):
            stack.append("left")
            at += 6
            continue
        if tex.startswith(r"\right", at):
            stack.pop()
            at += 7
            continue
        char = tex[at]
        if char == "{":
            stack.append("{")
        elif char == "}":
            stack.pop()
        elif char in "+-" and tex[at - 1:at] == " " and tex[at + 1:at + 2] == " " and "{" not in stack and len(stack) <= deepest \
                and not re.search(r"(\\left.|[-+=(]|\\cdot|&)\s*$", tex[:at]):
            pieces.append((tex[start:at].rstrip(), len(stack)))
            start = at
        at += 1
    pieces.append((tex[start:], len(stack)))
    depths = [0] + [depth for _, depth in pieces[:-1]]
    return [(text, depth) for (text, _), depth in zip(pieces, depths)]


def break_line(tex: str, first_budget: float, budget: float) -> list[str]:
    """``tex`` in lines that fit (the first in ``first_budget`` pt, the others in ``budget`` after the indent).

    Lines end with a ``\\right.`` for each group left open and the next opens them again with
    ``\\left.``: each line is balanced, and the lines joined (without them) are ``tex``.
    """
    if not too_wide(tex, first_budget):
        return [tex]
    # break in as few groups as will do: (1 − y₂) is not cut while the sum around it can be
    deepest = 0
    while deepest < 8 and any(too_wide(text, budget) for text, _ in _pieces(tex, deepest)):
        deepest += 1
    pieces = _pieces(tex, deepest)
    lines, current, depth_open = [], "", 0
    for text, depth in pieces:
        allowed = first_budget if not lines else budget
        if current and too_wide(current + " " + text, allowed):
            lines.append((current, depth_open, depth))   # closes the groups open where the next starts
            current, depth_open = text, depth
        else:
            current = f"{current} {text}" if current else text
    lines.append((current, depth_open, 0))
    out = []
    for text, opened, closing in lines:
        out.append(r"\left. " * opened + text + r" \right." * closing)
    return out


# ------------------------------------------------------------------ the layout of one solution

def blocks_of(count: int, size: int) -> list[slice]:
    """0..count in as few blocks of at most ``size`` as it takes, of sizes as even as can be (6 + 6, not 10 + 2)."""
    parts = -(-count // size)
    size = -(-count // parts)
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


class Layout:
    """Registers the matrices of a solution's lines and lays each step out to fit the page."""

    def __init__(self, columns_label: str, *, page_width: float = PAGE_WIDTH) -> None:
        self.columns_label = columns_label      # "columns {first} to {last}:" in the document's language
        self.page_width = page_width
        self.matrices: list[tuple[np.ndarray, Callable]] = []
        self.split = False                      # whether some step was split or broken since ``take_split``

    def matrix(self, array, write: Callable) -> str:
        """A placeholder for ``array`` (written by ``write``), resolved by ``resolve`` or ``step``."""
        array = np.asarray(array, dtype=object)
        self.matrices.append((array.reshape(-1, 1) if array.ndim == 1 else array, write))
        return rf"\MAT{{{len(self.matrices) - 1}}}"

    def take_split(self) -> bool:
        split, self.split = self.split, False
        return split

    # -------------------------------------------------- placeholders
    def shown(self, index: int, transposed: bool, rows=slice(None), cols=slice(None)) -> str:
        """Placeholder ``index`` as printed (``^{\\top}`` kept), cut to the rows/columns of what is *printed*."""
        array, write = self.matrices[index]
        if transposed:   # the printed matrix is array.T: its columns are the array's rows
            return bmatrix(array[cols, rows], write) + r"^{\top}"
        return bmatrix(array[rows, cols], write)

    def shape(self, index: int, transposed: bool) -> tuple[int, int]:
        rows, cols = self.matrices[index][0].shape
        return (cols, rows) if transposed else (rows, cols)

    def resolve(self, tex: str, cols=None) -> str:
        """``tex`` with its placeholders written out; with ``cols``, the last matrix of each term cut to them."""
        if cols is None:
            return _PLACEHOLDER.sub(lambda m: self.shown(int(m[1]), bool(m[2])), tex)
        out = []
        for term, depth in _pieces(tex):
            found = list(_PLACEHOLDER.finditer(term)) if depth == 0 else []
            last = found[-1].start() if found else -1
            out.append(_PLACEHOLDER.sub(lambda m: self.shown(int(m[1]), bool(m[2]),
                                                             cols=cols if m.start() == last else slice(None)), term))
        return " ".join(out)

    def _inner_split(self, tex: str, budget: float, cols) -> str:
        """Each product P Q of ``tex`` too wide for ``budget``: the sum of the products of its blocks."""
        def split(match: re.Match) -> str:
            left, left_t = int(match[1]), bool(match[2])
            right, right_t = (int(match[3]), bool(match[4])) if match[3] else (None, False)
            inner = self.shape(left, left_t)[1]
            if right is not None and self.shape(right, right_t)[0] != inner:
                return match[0]
            right_cols = slice(None) if cols is None or right is None else cols

            def block(part: slice) -> str:
                first = self.shown(left, left_t, cols=part)
                second = r"\mathbf{1}" if right is None else self.shown(right, right_t, rows=part, cols=right_cols)
                return f"{first} {second}"

            whole = block(slice(None))
            if not too_wide(whole, budget):
                return whole
            for size in range(min(inner, MAX_COLUMNS), 0, -1):
                parts = blocks_of(inner, size)
                if all(not too_wide(block(p), budget - 30) for p in parts):
                    break
            self.split = True
            return r"\left(" + " + ".join(block(p) for p in parts) + r"\right)"
        return _PRODUCT.sub(split, tex)

    # -------------------------------------------------- steps
    def step(self, left: str, symbolic: str | Callable, numbers: str | Callable, result: str,
             first: str = "=") -> list[str]:
        """The lines of one step: ``left first symbolic``, ``= numbers``, ``result`` (``≈ 0.5`` or ``≈ \\MAT{i}``).

        ``symbolic`` and ``numbers`` may be functions of the result's columns shown (a slice), for
        a formula that is itself a matrix of entries.
        """
        relation, _, shown = result.partition(" ")
        match = re.fullmatch(r"\\MAT\{(\d+)\}", shown)
        index = int(match[1]) if match else None
        budget = self.page_width - width(left) - 5.0
        columns = self.shape(index, False)[1] if index is not None else 1
        for size in range(min(columns, MAX_COLUMNS), 0, -1):
            blocks = blocks_of(columns, size)
            lines = self._blocks(left, first, symbolic, numbers, relation, shown, index, blocks, budget,
                                 force=size == 1)
            if lines is not None:
                return lines
        raise AssertionError("unreachable: one column always fits")

    def define(self, left: str, relation: str, placeholder: str) -> list[str]:
        """``left relation matrix`` (a given matrix, a result): in blocks of columns when too wide."""
        index = int(_PLACEHOLDER.fullmatch(placeholder)[1])
        budget = self.page_width - width(left) - width(relation) - 15.0
        columns = self.shape(index, False)[1]
        size = next(size for size in range(min(columns, MAX_COLUMNS), 0, -1)
                    if size == 1 or not any(too_wide(self.shown(index, False, cols=cols), budget)
                                            for cols in blocks_of(columns, size)))
        if size >= columns:
            return [f"{left} & {relation} {self.shown(index, False)}"]
        self.split = True
        lines = []
        for cols in blocks_of(columns, size):
            label = self.columns_label.format(first=cols.start + 1, last=cols.stop)
            lines += [rf"{left if cols.start == 0 else ''} & \text{{{label}}}",
                      f"& {relation} {self.shown(index, False, cols=cols)}"]
        return lines

    def _blocks(self, left, first, symbolic, numbers, relation, shown, index, blocks, budget, force):
        whole = len(blocks) == 1
        if callable(symbolic) and not whole:
            lines = []   # each block shows its own part of the formula
        else:
            lines = self._broken(f"{left} & {first} ", symbolic(blocks[0]) if callable(symbolic) else symbolic,
                                 budget)
        for cols in blocks:
            cut = None if whole else cols
            if not whole:
                label = self.columns_label.format(first=cols.start + 1, last=cols.stop)
                lines.append(rf"{left if cols.start == 0 and callable(symbolic) else ''} & \text{{{label}}}")
                if callable(symbolic):
                    lines += self._broken(f"& {first} ", symbolic(cols), budget)
            text = numbers(cols) if callable(numbers) else self.resolve(self._inner_split(numbers, budget, cut), cut)
            value = shown if index is None else self.shown(index, False, cols=cols)
            broken = self._broken("& = ", text, budget)
            if not force and (too_wide(value, budget) or any(too_wide(line, budget + 30) for line in broken)):
                return None
            lines += broken + [f"& {relation} {value}"]
        if not whole:
            self.split = True
        return lines

    def _broken(self, start: str, tex: str, budget: float) -> list[str]:
        tex = self.resolve(tex)
        lines = break_line(tex, budget, budget - width(CONTINUED))
        if len(lines) > 1:
            self.split = True
        return [start + lines[0]] + [rf"& {CONTINUED}{line}" for line in lines[1:]]
