"""The parts the C templates arrange: statements holding printed expressions, blocks, parameters.

The Python side fills these with names, loop bounds and the printer's text; the
macros of ``templates/statements.c.jinja`` turn them into C lines (``kind`` picks
the macro branch). No part holds C syntax beyond a printed expression or an lvalue.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Iterator, Union

#: loop index over the units of the layer a block writes
UNIT = "j"
#: loop index over the units of the neighbouring layer (the one below for z and ∂W, the one above for Wᵀδ)
OTHER = "k"


@dataclass(frozen=True)
class Assign:
    """``target op value;``"""

    target: str
    value: str
    op: str = "="
    kind: ClassVar[str] = "assign"

    def texts(self) -> Iterator[str]:
        yield from (self.target, self.value)


@dataclass(frozen=True)
class Local:
    """``NAME_real name = value;``, const when ``constant`` (a shared subexpression)."""

    name: str
    value: str
    constant: bool = False
    kind: ClassVar[str] = "local"

    def texts(self) -> Iterator[str]:
        yield self.value


@dataclass(frozen=True)
class ZeroedArray:
    """``NAME_real name[size] = {0};``, a local sum over rows filled by a later loop."""

    name: str
    size: int
    kind: ClassVar[str] = "zeroed_array"

    def texts(self) -> Iterator[str]:
        yield from ()


@dataclass(frozen=True)
class Loop:
    """``for (int index = start; index < count; index += step)`` over ``body``: braced, or one statement on the
    same line. ``count`` may be a C constant expression (``NAME_TILE``); start 0 and step 1 print ``++index``."""

    index: str
    count: int | str
    body: tuple["Statement", ...]
    inline: bool = False
    start: int | str = 0
    step: int | str = 1
    kind: ClassVar[str] = "loop"

    def __post_init__(self) -> None:
        if self.inline and len(self.body) != 1:
            raise ValueError("an inline loop has exactly one statement")

    def texts(self) -> Iterator[str]:
        for statement in self.body:
            yield from statement.texts()


@dataclass(frozen=True)
class IntLocal:
    """``const int name = value;``: an array index computed once (conv and pool loops)."""

    name: str
    value: str
    kind: ClassVar[str] = "int_local"

    def texts(self) -> Iterator[str]:
        yield self.value


@dataclass(frozen=True)
class Skip:
    """``if (condition) continue;``: a read outside the array (or off the stride) is 0, so its term is left out."""

    condition: str
    kind: ClassVar[str] = "skip"

    def texts(self) -> Iterator[str]:
        yield self.condition


@dataclass(frozen=True)
class Note:
    """``/* text */`` inside a block: one step of a block with several (the max-pool mask, then δ)."""

    text: str
    kind: ClassVar[str] = "note"

    def texts(self) -> Iterator[str]:
        yield from ()


@dataclass(frozen=True)
class Unused:
    """``(void)name;``: a parameter this function does not read (-Wunused-parameter)."""

    name: str
    kind: ClassVar[str] = "unused"

    def texts(self) -> Iterator[str]:
        yield from ()


@dataclass(frozen=True)
class Pointer:
    """``NAME_type *name = value;`` (``const`` when ``constant``): one example's trace or input in a tile's lane."""

    name: str
    value: str
    type: str            # "real" or "trace"
    constant: bool = False
    kind: ClassVar[str] = "pointer"

    def texts(self) -> Iterator[str]:
        yield self.value


@dataclass(frozen=True)
class Call:
    """``NAME_function(arguments);``: a kernel or a per-example step of the generated file."""

    function: str
    arguments: tuple[str, ...]
    kind: ClassVar[str] = "call"

    def texts(self) -> Iterator[str]:
        yield from self.arguments


@dataclass(frozen=True)
class IfDefined:
    """``#ifdef macro`` ``then`` ``#else`` ``otherwise`` ``#endif``: a build option (NAME_USE_CBLAS)."""

    macro: str
    then: tuple["Statement", ...]
    otherwise: tuple["Statement", ...]
    kind: ClassVar[str] = "ifdef"

    def texts(self) -> Iterator[str]:
        for statement in (*self.then, *self.otherwise):
            yield from statement.texts()


Statement = Union[Assign, Local, ZeroedArray, Loop, IntLocal, Skip, Note, Unused, Pointer, Call, IfDefined]


@dataclass(frozen=True)
class Block:
    """One commented group of statements (the comment names the equation and the form)."""

    comment: str
    statements: tuple[Statement, ...]

    def texts(self) -> Iterator[str]:
        for statement in self.statements:
            yield from statement.texts()


def unit_loop(count: int, body: list[Statement]) -> Loop:
    """The braced loop over the units of a layer that a block in loop form runs in."""
    return Loop(UNIT, count, tuple(body))


@dataclass(frozen=True)
class CParam:
    """One parameter array of the ``NAME_params`` struct."""

    name: str
    rows: int
    cols: int          # 0 for a bias vector
    is_bias: bool
    init_value: str    # weights: r of U[−r, r] or σ of N(0, σ²) (the spec's init), a double literal; biases "0"
    #: a conv weight's (C_out, C_in, kH, kW) or (C_out, C_in, k) with its loop indices; () for rows × cols
    shape: tuple[int, ...] = ()
    indices: tuple[str, ...] = ()

    @property
    def declarator(self) -> str:
        if self.shape:
            return self.name + "".join(f"[{n}]" for n in self.shape)
        return f"{self.name}[{self.rows}]" + (f"[{self.cols}]" if self.cols else "")

    @property
    def size(self) -> int:
        if self.shape:
            return math.prod(self.shape)
        return self.rows * (self.cols or 1)

    @property
    def loops(self) -> list[tuple[str, int]]:
        """(index, count) of each axis of a conv weight, outermost first (its entries in C order)."""
        return list(zip(self.indices, self.shape))

    @property
    def slot(self) -> str:
        """The subscript of a conv weight's entry in its loops: ``[c][ci][ki][kj]``."""
        return "".join(f"[{index}]" for index in self.indices)
