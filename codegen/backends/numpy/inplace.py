"""In-place forms of printed NumPy lines, for ``train``: the same operations on the same operands, written into
arrays train owns (its copy of the params, its gradient and scratch buffers), so no params-sized array is made
per step and the numbers are bit for bit those of the printed lines.

A large fresh array per step is slow: glibc hands its memory back to the system on free and the next step
page-faults it in again (issue 17: half the time of a batch-1 step at 784-128-10). The rewrites work on the
Python syntax tree of a line printed from SymPy (never on formulas of their own): ``a op b`` becomes
``numpy.<ufunc>(a, b, out=buffer)`` with the operands in the same order, so each result is the same double.
A line the rewrite does not know is left as it was (a fresh array), or the caller falls back to the plain step.
"""
from __future__ import annotations

import ast

UFUNCS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "true_divide"}
SAFE_CALLS = {"numpy.sqrt", "numpy.square", "numpy.exp", "numpy.log", "numpy.abs"}   # one array in, one out


class NotInPlace(Exception):
    """The line has a form the rewrite does not handle."""


def _expression(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _segment(text: str, node: ast.AST) -> str:
    return f"({ast.get_source_segment(text, node)})"


def matmul_into(target: str, value: str, buffer: str) -> str:
    """``target = value`` with a top-level ``l @ r`` written into buffer (numpy.matmul is what @ calls)."""
    node = _expression(value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return f"{target} = numpy.matmul({_segment(value, node.left)}, {_segment(value, node.right)}, out={buffer})"
    return f"{target} = {value}"


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _is_scaled(node: ast.expr, name: str, params: set[str]) -> bool:
    """node is c*name or name*c, c reading no parameter."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult)):
        return False
    sides = [node.left, node.right]
    own = [side for side in sides if isinstance(side, ast.Name) and side.id == name]
    return len(own) == 1 and not any(_names(side) & params for side in sides if side is not own[0])


def update_in_place(name: str, value: str, params: set[str], buffer: str) -> list[str]:
    """``name = value`` for an sgd update ``name - t1 - t2 ...`` (left to right) as ``name -= t1``, ``name -= t2``
    (the first term may be ``c*name``: multiplied into name first).

    (name - t1) - t2 is what Python computes, so the in-place steps give the same doubles provided no term
    after the first reads name (already updated by then) and no term reads another parameter (which an
    earlier line may have updated). A product term ``l @ r`` goes through buffer.
    """
    node, terms = _expression(value), []
    while isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub):
        terms.append(node)
        node = node.left
    lines = []
    if _is_scaled(node, name, params):   # (1 − η λ)·W with L2: multiply into W, the operands in their order
        lines.append(f"numpy.multiply({_segment(value, node.left)}, {_segment(value, node.right)}, out={name})")
    elif not (isinstance(node, ast.Name) and node.id == name) or not terms:
        raise NotInPlace(value)
    for index, binop in enumerate(reversed(terms)):
        read = _names(binop.right) & params
        if read - {name} or (index > 0 and name in read):
            raise NotInPlace(value)
        sign = "-" if isinstance(binop.op, ast.Sub) else "+"
        right = binop.right
        if isinstance(right, ast.BinOp) and isinstance(right.op, ast.MatMult):
            lines.append(f"numpy.matmul({_segment(value, right.left)}, {_segment(value, right.right)}, out={buffer})")
            lines.append(f"{name} {sign}= {buffer}")
        else:
            lines.append(f"{name} {sign}= {_segment(value, right)}")
    return lines


class RuleCompiler:
    """Optimizer rule lines (``target = expr`` per parameter entry) as ufunc calls with ``out=``.

    ``arrays`` are the names bound to arrays (theta, grad, the buffers); every other name is a Python scalar,
    and a subexpression of scalars only stays as it was printed. Intermediate results go to scratch arrays
    ``_t0, _t1, ...``, the last operation of a line to the target's own array.
    """

    def __init__(self, arrays: set[str]) -> None:
        self.arrays = arrays
        self.temps = 0      # scratch arrays needed: the most alive at once
        self._free: list[str] = []
        self._used = 0
        self.lines: list[str] = []

    def _temp(self) -> str:
        if self._free:
            return self._free.pop()
        name = f"_t{self._used}"
        self._used += 1
        self.temps = max(self.temps, self._used)
        return name

    def _release(self, *names: str | None) -> None:
        self._free.extend(n for n in names if n is not None and n.startswith("_t"))

    def _compile(self, node: ast.expr, text: str, out: str | None) -> tuple[str, bool]:
        """(text of the value, whether it is an array); an array operation is emitted into out or a temp."""
        if isinstance(node, ast.Name):
            return node.id, node.id in self.arrays
        if isinstance(node, ast.Constant):
            return repr(node.value), False
        if not (_names(node) & self.arrays):   # scalars only: as printed
            return _segment(text, node), False
        if isinstance(node, ast.BinOp) and type(node.op) in UFUNCS:
            left, _ = self._compile(node.left, text, None)
            right, _ = self._compile(node.right, text, None)
            args = [left, right]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            args, ufunc = [self._compile(node.operand, text, None)[0]], "negative"
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in SAFE_CALLS and len(node.args) == 1 \
                and not node.keywords:
            args, ufunc = [self._compile(node.args[0], text, None)[0]], ast.unparse(node.func)[len("numpy."):]
        else:
            raise NotInPlace(ast.unparse(node))
        if isinstance(node, ast.BinOp):
            ufunc = UFUNCS[type(node.op)]
        self._release(*args)
        target = out or self._temp()   # may be an operand's temp: a ufunc may write over its input
        self.lines.append(f"numpy.{ufunc}({', '.join(args)}, out={target})")
        return target, True

    def line(self, target: str, value: str) -> None:
        node = _expression(value)
        if target not in self.arrays:
            self.lines.append(f"{target} = {value}")
            return
        if isinstance(node, ast.Name) or not (_names(node) & self.arrays):
            self.lines.append(f"{target}[...] = {value}")
            return
        self._compile(node, value, target)
        self._free, self._used = [], 0
