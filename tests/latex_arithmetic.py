"""Evaluate a printed line of numbers as a student reads it: LaTeX arithmetic by its own precedence.

Nothing here imports deltagen. The grammar is the one printed in worked solutions:
``+``/``-`` below products (``\\cdot`` or juxtaposition), unary minus, ``^{...}`` above them,
``\\left( \\right)`` groups, ``\\frac{}{}``, ``e^{}`` and the functions σ, tanh, log, relu.
A line with matrices, sums or sub-scripted symbols is not scalar arithmetic: ``Unsupported``.
"""
from __future__ import annotations

import re

import mpmath

_TOKEN = re.compile(r"\s*(\\left\(|\\right\)|\\cdot|\\frac|\\log|\\tanh|\\sigma|\\operatorname\{[a-z]+\}"
                    r"|\d+(?:\.\d+)?|[-+{}^]|e(?=\^))")
_FUNCTIONS = {r"\log": mpmath.log, r"\tanh": mpmath.tanh, r"\sigma": lambda v: 1 / (1 + mpmath.exp(-v)),
              r"\operatorname{relu}": lambda v: max(v, 0)}


class Unsupported(ValueError):
    """The text holds something other than scalar arithmetic."""


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise Unsupported(text[position:position + 20])
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Reader:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.at = tokens, 0

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
            value = value + self.product() if self.take() == "+" else value - self.product()
        return value

    def product(self):
        value = self.unary()
        while True:
            if self.peek() == r"\cdot":
                self.take()
            elif not self.starts_factor():
                return value
            value = value * self.unary()

    def starts_factor(self) -> bool:
        token = self.peek()
        return token is not None and (token[0].isdigit() or token in (r"\left(", r"\frac", "e") or token in _FUNCTIONS)

    def unary(self):
        if self.peek() == "-":
            self.take()
            return -self.unary()
        return self.power()

    def power(self):
        base = self.atom()
        if self.peek() == "^":
            self.take()
            return base ** self.braced()
        return base

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
            return mpmath.mpf(self.take())
        if token == r"\left(":
            return self.group()
        if token == r"\frac":
            self.take()
            return self.braced() / self.braced()
        if token == "e":
            self.take()
            self.take("^")
            return mpmath.exp(self.braced())
        if token in _FUNCTIONS:
            function = _FUNCTIONS[self.take()]
            if self.peek() == "{":        # \log{\left(x \right)}
                self.take("{")
                value = self.group()
                self.take("}")
            else:
                value = self.group()
            return function(value)
        raise Unsupported(token)


def evaluate_written(text: str) -> mpmath.mpf:
    """The value of ``text`` (LaTeX arithmetic) read with the usual precedence of what is printed."""
    reader = _Reader(_tokens(text))
    with mpmath.workdps(30):
        value = reader.sum()
    if reader.peek() is not None:
        raise Unsupported(f"left over: {reader.tokens[reader.at:]}")
    return value
