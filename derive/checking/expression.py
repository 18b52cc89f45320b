"""The small expression language of formula claims, read into SymPy over the derivation's symbols.

``a[L]``, ``z[2]``, ``delta[l+1]``, ``W[l+1]``, ``b[1]``, ``x``, ``y`` (column vectors or
matrices), ``m`` (examples in the batch), numbers, ``+ - * / **`` (elementwise, as ⊙),
``@`` (matrix product), ``.T`` (transpose) and the functions ``sigmoid`` (or ``σ``),
``exp``, ``log``, ``tanh``, ``sqrt``; layers in the spec's numbering.
"""
from __future__ import annotations

import ast
import math
from typing import Any

import sympy as sp

from ..derivation.backprop import M, Derivation
from ..errors import SpecError

FUNCTIONS = {
    "sigmoid": lambda v: 1 / (1 + sp.exp(-v)), "σ": lambda v: 1 / (1 + sp.exp(-v)), "exp": sp.exp,
    "log": sp.log, "ln": sp.log, "tanh": sp.tanh, "sqrt": sp.sqrt,
}


#: bounds on a formula claim (README, "Checking answers"): what a student writes is far inside them
MAX_FORMULA_LENGTH = 1000
MAX_FORMULA_DEPTH = 40
MAX_EXPONENT = 64
MAX_CONSTANT_BITS = 4096


class _Evaluator(ast.NodeVisitor):
    """Evaluates the small expression language over SymPy matrices (column vectors) and scalars."""

    def __init__(self, derivation: Derivation, layer: int | None, field_name: str, source: str) -> None:
        self.d = derivation
        self.layer = layer
        self.field = field_name
        self.source = source

    def fail(self, what: str) -> SpecError:
        return SpecError(self.field, f"expected a formula over a[l], z[l], delta[l], W[l], b[l], x, y, m with "
                                     f"+ - * / ** @ .T and {', '.join(sorted(set(FUNCTIONS) - {'σ'}))}; {what}",
                         self.source)

    def visit_Expression(self, node):
        return self.visit(node.body)

    def visit_Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)) \
                or isinstance(node.value, float) and not math.isfinite(node.value):
            raise self.fail(f"got {node.value!r}")
        if isinstance(node.value, int) and node.value.bit_length() > MAX_CONSTANT_BITS:
            raise self.fail(f"got a number beyond 2**{MAX_CONSTANT_BITS}")
        return sp.nsimplify(node.value, rational=True)

    def visit_Name(self, node):
        if node.id == "y":
            return sp.Matrix(self.d.y)
        if node.id == "x":
            return sp.Matrix(self.d.x)
        if node.id == "m":
            return M
        raise self.fail(f"got unknown name {node.id!r}" + (" (write it with a layer, as in a[2])"
                                                            if node.id in ("a", "z", "delta", "W", "b") else ""))

    def visit_Subscript(self, node):
        if not isinstance(node.value, ast.Name) or node.value.id not in ("a", "z", "delta", "W", "b"):
            raise self.fail("got a subscript on something other than a, z, delta, W or b")
        number = self._layer_number(node.slice)
        name = node.value.id
        lowest = self.d.input_number if name == "a" else self.d.first
        if not lowest <= number <= self.d.last:
            raise self.fail(f"got layer {number}, outside {lowest}..{self.d.last}")
        if name == "a":
            return sp.Matrix(self.d.activations_of(number))
        if name in ("W", "b") and self.d.layer(number).kind != "dense":
            raise self.fail(f"got {name}[{number}] of a {self.d.layer(number).kind} layer (formulas are written "
                            f"over dense layers' matrices)")
        s = self.d.symbols(number)
        if name == "z":
            return sp.Matrix(s.z)
        if name == "delta":
            return sp.Matrix(s.delta)
        if name == "W":
            return s.W.as_matrix()
        if s.b is None:
            raise self.fail(f"got b[{number}], a layer without bias")
        return sp.Matrix(s.b)

    def _layer_number(self, node) -> int:
        """A layer subscript: an integer expression in l (the claim's layer) and L, in the spec's numbering."""
        names = {"L": self.d.last}
        if self.layer is not None:
            names["l"] = self.layer

        def value(n):
            if isinstance(n, ast.Constant) and isinstance(n.value, int) and not isinstance(n.value, bool):
                return n.value
            if isinstance(n, ast.Name) and n.id in names:
                return names[n.id]
            if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub)):
                left, right = value(n.left), value(n.right)
                return left + right if isinstance(n.op, ast.Add) else left - right
            raise self.fail("got a layer that is not a number, L, l or l±k")
        return value(node)

    def visit_Attribute(self, node):
        if node.attr != "T":
            raise self.fail(f"got .{node.attr}")
        value = self.visit(node.value)
        return value.T if isinstance(value, sp.MatrixBase) else value

    def visit_UnaryOp(self, node):
        value = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return value
        raise self.fail("got an unsupported operator")

    def visit_BinOp(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        op = node.op
        if isinstance(op, ast.MatMult):
            if not (isinstance(left, sp.MatrixBase) and isinstance(right, sp.MatrixBase)) \
                    or left.shape[1] != right.shape[0]:
                raise self.fail(f"got @ between shapes {_shape(left)} and {_shape(right)}")
            return left * right
        combine = {ast.Add: lambda p, q: p + q, ast.Sub: lambda p, q: p - q, ast.Mult: lambda p, q: p * q,
                   ast.Div: lambda p, q: p / q, ast.Pow: lambda p, q: p ** q}.get(type(op))
        if combine is None:
            raise self.fail("got an unsupported operator")
        if isinstance(op, ast.Pow):
            self._check_exponent(right)
        result = self._elementwise(left, right, combine)
        if isinstance(result, sp.Rational) and max(abs(result.p).bit_length(), result.q.bit_length()) > MAX_CONSTANT_BITS:
            raise self.fail(f"got a number beyond 2**{MAX_CONSTANT_BITS}")
        return result

    def _check_exponent(self, exponent) -> None:
        """An exponent is a number of magnitude at most MAX_EXPONENT (checked before the power is formed)."""
        if isinstance(exponent, sp.MatrixBase) or not isinstance(exponent, sp.Expr) or exponent.free_symbols \
                or not exponent.is_number or not (exponent.is_real and abs(exponent) <= MAX_EXPONENT):
            raise self.fail(f"got an exponent that is not a number from -{MAX_EXPONENT} to {MAX_EXPONENT}")

    def _elementwise(self, left, right, combine):
        left_m, right_m = isinstance(left, sp.MatrixBase), isinstance(right, sp.MatrixBase)
        if left_m and right_m:
            if left.shape != right.shape:
                raise self.fail(f"got shapes {left.shape} and {right.shape} in an elementwise operation")
            return sp.Matrix(left.rows, left.cols, lambda i, j: combine(left[i, j], right[i, j]))
        if left_m:
            return left.applyfunc(lambda e: combine(e, right))
        if right_m:
            return right.applyfunc(lambda e: combine(left, e))
        return combine(left, right)

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or len(node.args) != 1 or node.keywords:
            raise self.fail("got an unknown function or a call with other than one argument")
        function = FUNCTIONS[node.func.id]
        value = self.visit(node.args[0])
        return value.applyfunc(function) if isinstance(value, sp.MatrixBase) else function(value)

    def generic_visit(self, node):
        raise self.fail(f"got unsupported syntax ({type(node).__name__})")


def parse_expression(text: str, derivation: Derivation, layer: int | None, field_name: str, source: str) -> Any:
    """The claimed formula as a SymPy matrix (or scalar), with ``l`` standing for layer number ``layer``.

    Bounded by the text's structure before anything is computed: its length, its nesting depth,
    and each exponent (a number of at most MAX_EXPONENT, checked before the power is formed).
    """
    if len(text) > MAX_FORMULA_LENGTH:
        raise SpecError(field_name, f"expected a formula of at most {MAX_FORMULA_LENGTH} characters, "
                                    f"got {len(text)}", source)
    cleaned = text.replace("−", "-").replace("⊙", "*").replace("·", "*").replace("ᵀ", ".T").replace("^", "**")
    try:
        tree = ast.parse(cleaned, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        raise SpecError(field_name, f"expected a formula such as \"a[L] - y\", got unparsable {text!r}",
                        source) from None
    if _depth(tree) > MAX_FORMULA_DEPTH:
        raise SpecError(field_name, f"expected a formula nested at most {MAX_FORMULA_DEPTH} deep "
                                    f"(parentheses, operators and calls)", source)
    return _Evaluator(derivation, layer, field_name, source).visit(tree)


def _depth(tree: ast.AST) -> int:
    """The nesting depth of a syntax tree, without recursion (the tree is not bounded yet)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _shape(value) -> str:
    return str(value.shape) if isinstance(value, sp.MatrixBase) else "a number"


