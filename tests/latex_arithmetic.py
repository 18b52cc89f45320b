"""Evaluate a printed line of numbers as a student reads it: LaTeX arithmetic by its own precedence.

Nothing here imports deltagen. The grammar is the one printed in worked solutions:
``+``/``-`` below products (``\\cdot``, ``\\odot`` or juxtaposition), unary minus, ``^{...}``
(and ``^{\\top}``) above them, ``\\left( \\right)`` and ``{ }`` groups, ``\\frac{}{}``, ``e^{}``, the
functions σ, tanh, log, relu, sign, ``\\max(…, …)``, ``\\sqrt{}`` (elementwise on a matrix) and softmax (by columns), |x|, ‖M‖,
bmatrix matrices whose entries are themselves arithmetic, ``\\mathbf{1}`` (a column of ones as long
as the product needs) and ``cases`` blocks (the first branch whose condition holds, else the
``otherwise`` one; English or Portuguese words). Functions the page names but does not define
(``g_{1}``, ``\\operatorname{lrelu}`` whose slope is not printed) are the caller's: ``functions``.
A product of matrices is the matrix product; with ``entrywise=True`` (a page that says its lines act on
each entry on its own, as the optimizer step does) products, quotients and sums of matrices, and sums
and quotients of a matrix and a number, are taken entry by entry instead (else they are unsupported).
Numbers are written 0.5 or, in Portuguese, 0{,}5.
Anything else (sums Σ, sub-scripted symbols): ``Unsupported``.
"""
from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping

import mpmath

_TOKEN = re.compile(r"\s*(\\left\(|\\right\)|\\left\\lVert|\\right\\rVert|\\left\||\\right\||\\cdot|\\odot"
                    r"|\\frac|\\sqrt|\\max|\\log|\\tanh|\\sigma|\\operatorname\{[a-z]+\}|\\begin\{bmatrix\}|\\end\{bmatrix\}"
                    r"|\\begin\{cases\}|\\end\{cases\}|\\text\{[^{}]*\}(?:\\:)?|\\\\|&|\\top"
                    r"|\\mathbf\{1\}|\d+(?:(?:\.|\{,\})\d+)?|[-+{}^<>,]|\\geq|\\leq|\\ge(?![a-z])|\\le(?![a-z])"
                    r"|e(?=\^))")
_FUNCTIONS = {r"\log": mpmath.log, r"\tanh": mpmath.tanh, r"\sigma": lambda v: 1 / (1 + mpmath.exp(-v)),
              r"\operatorname{relu}": lambda v: max(v, 0), r"\operatorname{sign}": mpmath.sign}
_COMPARISONS = {">": operator.gt, "<": operator.lt, r"\geq": operator.ge, r"\ge": operator.ge,
                r"\leq": operator.le, r"\le": operator.le}
#: the words of a cases block: SymPy's English and the Portuguese documents' (``\text{se}\: z > 0``)
_CONDITION_WORDS = {"for", "if", "se"}
_OTHERWISE_WORDS = {"otherwise", "caso contrário"}
_TEXT = re.compile(r"\\text\{([^{}]*)\}(?:\\:)?")
#: drawn only to fit a long line on the page: a line continued as ``\left. … \right)``
_INVISIBLE = re.compile(r"\\left\.|\\right\.")


class Matrix:
    """A matrix of mpf values (rows of entries), with the arithmetic a worked solution prints."""

    def __init__(self, rows: list[list]) -> None:
        if not rows or len({len(r) for r in rows}) != 1:
            raise Unsupported(f"ragged matrix {rows}")
        self.rows = rows

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.rows[0])

    def map(self, function) -> "Matrix":
        return Matrix([[function(v) for v in row] for row in self.rows])

    def zip(self, other: "Matrix", function) -> "Matrix":
        if not isinstance(other, Matrix) or other.shape != self.shape:
            raise Unsupported(f"elementwise on shapes {self.shape} and {getattr(other, 'shape', None)}")
        return Matrix([[function(a, b) for a, b in zip(r, s)] for r, s in zip(self.rows, other.rows)])

    def transposed(self) -> "Matrix":
        return Matrix([list(column) for column in zip(*self.rows)])

    def __add__(self, other):
        return self.zip(other, lambda a, b: a + b)

    def __sub__(self, other):
        return self.zip(other, lambda a, b: a - b)

    def __neg__(self):
        return self.map(lambda v: -v)

    def matmul(self, other: "Matrix") -> "Matrix":
        if self.shape[1] != other.shape[0]:
            raise Unsupported(f"product of shapes {self.shape} and {other.shape}")
        columns = list(zip(*other.rows))
        return Matrix([[mpmath.fsum(a * b for a, b in zip(row, column)) for column in columns] for row in self.rows])


def _entrywise(left, right, function):
    """``function`` of each pair of entries: two matrices of one shape, or a matrix and a number (either side)."""
    if isinstance(left, Matrix) and isinstance(right, Matrix):
        return left.zip(right, function)
    if isinstance(left, Matrix):
        return left.map(lambda v: function(v, right))
    if isinstance(right, Matrix):
        return right.map(lambda v: function(left, v))
    return function(left, right)


class _Ones:
    """``\\mathbf{1}``: a column of ones, as long as the matrix it multiplies is wide."""


def _multiply(left, right):
    if isinstance(right, _Ones):
        if not isinstance(left, Matrix):
            raise Unsupported("1 after a scalar")
        return Matrix([[mpmath.fsum(row)] for row in left.rows])
    if isinstance(left, Matrix) and isinstance(right, Matrix):
        return left.matmul(right)
    if isinstance(left, Matrix):
        return left.map(lambda v: v * right)
    if isinstance(right, Matrix):
        return right.map(lambda v: left * v)
    return left * right


def _apply(function, value):
    return value.map(function) if isinstance(value, Matrix) else function(value)


def _softmax(value):
    if not isinstance(value, Matrix):
        raise Unsupported("softmax of a scalar")
    columns = []
    for column in zip(*value.rows):
        top = max(column)
        exps = [mpmath.exp(v - top) for v in column]
        columns.append([e / mpmath.fsum(exps) for e in exps])
    return Matrix([list(row) for row in zip(*columns)])


class Unsupported(ValueError):
    """The text holds something other than scalar arithmetic."""


def _tokens(text: str, names: tuple[str, ...] = ()) -> list[str]:
    """The tokens of ``text``; ``names`` (the caller's functions) are tokens too, the longest first."""
    tokens, position = [], 0
    text = _INVISIBLE.sub(" ", text).strip()
    names = tuple(sorted(names, key=len, reverse=True))
    while position < len(text):
        while text[position].isspace():
            position += 1
        name = next((n for n in names if text.startswith(n, position)), None)
        if name is not None:
            tokens.append(name)
            position += len(name)
            continue
        match = _TOKEN.match(text, position)
        if match is None:
            raise Unsupported(text[position:position + 20])
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Reader:
    def __init__(self, tokens: list[str], functions: Mapping[str, Callable], entrywise: bool = False) -> None:
        self.tokens, self.at = tokens, 0
        self.functions = {**_FUNCTIONS, **functions}
        self.entrywise = entrywise

    def add(self, left, right, sign: int):
        if self.entrywise:
            return _entrywise(left, right, lambda a, b: a + sign * b)
        return left + right if sign > 0 else left - right

    def multiply(self, left, right):
        if self.entrywise and isinstance(left, Matrix) and isinstance(right, Matrix):
            return left.zip(right, lambda a, b: a * b)
        return _multiply(left, right)

    def divide(self, numerator, denominator):
        return _entrywise(numerator, denominator, lambda a, b: a / b) if self.entrywise else numerator / denominator

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unsupported(f"expected {expected!r}, got {token!r}")
        self.at += 1
        return token

    def sum(self):
        value = self.product()
        while self.peek() in ("+", "-"):
            sign = 1 if self.take() == "+" else -1
            value = self.add(value, self.product(), sign)
        return value

    def product(self):
        value = self.unary()
        while True:
            if self.peek() == r"\odot":
                self.take()
                value = value.zip(self.unary(), lambda a, b: a * b) if isinstance(value, Matrix) else \
                    value * self.unary()
                continue
            if self.peek() == r"\cdot":
                self.take()
            elif not self.starts_factor():
                return value
            value = self.multiply(value, self.unary())

    def starts_factor(self) -> bool:
        token = self.peek()
        return token is not None and (token[0].isdigit() or token in self.functions or token in (
            r"\left(", r"\frac", r"\sqrt", "e", r"\begin{bmatrix}", r"\mathbf{1}", r"\left\lVert", r"\operatorname{softmax}",
            r"\begin{cases}", r"\left|", r"\max"))

    def unary(self):
        if self.peek() == "-":
            self.take()
            return -self.unary()
        return self.power()

    def power(self):
        base = self.atom()
        if self.peek() == "^":
            self.take()
            if self.tokens[self.at:self.at + 3] == ["{", r"\top", "}"]:
                self.at += 3
                return base.transposed()
            exponent = self.braced()
            return _apply(lambda v: v ** exponent, base)
        return base

    def matrix(self) -> Matrix:
        self.take(r"\begin{bmatrix}")
        rows, row = [], [self.sum()]
        while self.peek() != r"\end{bmatrix}":
            if self.take() == "&":
                row.append(self.sum())
            else:        # \\ : a new row
                rows.append(row)
                row = [self.sum()]
        self.take()
        return Matrix(rows + [row])

    def cases(self):
        """The value of the first branch whose condition holds, else of the ``otherwise`` branch."""
        self.take(r"\begin{cases}")
        chosen = None
        while True:
            value = self.sum()
            self.take("&")
            words = _TEXT.fullmatch(self.take())
            if words is None:
                raise Unsupported("a cases branch without its words")
            if words[1] in _OTHERWISE_WORDS:
                holds = True
            elif words[1] in _CONDITION_WORDS:
                left = self.sum()
                comparison = self.take()
                if comparison not in _COMPARISONS:
                    raise Unsupported(f"condition {comparison!r}")
                holds = _COMPARISONS[comparison](left, self.sum())
            else:
                raise Unsupported(f"cases words {words[1]!r}")
            if holds and chosen is None:
                chosen = value
            end = self.take()
            if end == r"\end{cases}":
                break
            if end != "\\\\":       # \\ : the next branch
                raise Unsupported(f"cases row ends in {end!r}")
        if chosen is None:
            raise Unsupported("no branch of the cases holds")
        return chosen

    def braced(self):
        self.take("{")
        value = self.sum()
        self.take("}")
        return value

    def group(self):
        self.take(r"\left(")
        value = self.sum()
        self.take(r"\right)")
        return value

    def atom(self):
        token = self.peek()
        if token is None:
            raise Unsupported("end of text")
        if token[0].isdigit():
            return mpmath.mpf(self.take().replace("{,}", "."))
        if token == r"\begin{bmatrix}":
            return self.matrix()
        if token == r"\mathbf{1}":
            self.take()
            return _Ones()
        if token == r"\left\lVert":     # ‖M‖: the Frobenius norm
            self.take()
            value = self.sum()
            self.take(r"\right\rVert")
            entries = [v for row in value.rows for v in row] if isinstance(value, Matrix) else [value]
            return mpmath.sqrt(mpmath.fsum(v * v for v in entries))
        if token == r"\operatorname{softmax}":
            self.take()
            return _softmax(self.group())
        if token == r"\left|":
            self.take()
            value = self.sum()
            self.take(r"\right|")
            return _apply(abs, value)
        if token == r"\begin{cases}":
            return self.cases()
        if token == "{":      # a TeX group, as in \left|{x}\right|
            return self.braced()
        if token == r"\left(":
            return self.group()
        if token == r"\frac":
            self.take()
            return self.divide(self.braced(), self.braced())
        if token == r"\max":       # max pooling: \max\left(a, b, c\right), the largest argument
            self.take()
            self.take(r"\left(")
            values = [self.sum()]
            while self.peek() == ",":
                self.take()
                values.append(self.sum())
            self.take(r"\right)")
            if any(isinstance(v, Matrix) for v in values):
                raise Unsupported("max of matrices")
            return max(values)
        if token == r"\sqrt":
            self.take()
            return _apply(mpmath.sqrt, self.braced())
        if token == "e":
            self.take()
            self.take("^")
            return mpmath.exp(self.braced())
        if token in self.functions:
            function = self.functions[self.take()]
            if self.peek() == "{":        # \log{\left(x \right)}
                self.take("{")
                value = self.group()
                self.take("}")
            else:
                value = self.group()
            return _apply(function, value)
        raise Unsupported(token)


def evaluate_written(text: str, functions: Mapping[str, Callable] | None = None,
                     entrywise: bool = False) -> mpmath.mpf | Matrix:
    """The value of ``text`` (LaTeX arithmetic) read with the usual precedence of what is printed.

    ``functions`` maps a name as printed (``"g_{1}"``, ``r"\\operatorname{lrelu}"``) to a function of
    one number, applied elementwise to a matrix like σ. ``entrywise``: see the module's docstring.
    """
    functions = dict(functions or {})
    reader = _Reader(_tokens(text, tuple(functions)), functions, entrywise)
    with mpmath.workdps(30):
        try:
            value = reader.sum()
        except (TypeError, AttributeError) as error:   # a scalar where a matrix goes, or the other way
            raise Unsupported(str(error)) from error
    if reader.peek() is not None:
        raise Unsupported(f"left over: {reader.tokens[reader.at:]}")
    return value
