"""Print the indexed forms of conv and pool layers (``derive.derivation.tensor_forms``) as NumPy array code.

A form is an expression in ``sympy.Indexed`` reads with ``sympy.Idx`` indices, for one example; the
printer is told the free indices of the result (``target``) and whether the arrays carry the example
axis, which NumPy keeps last. Each construct has its own method:

- a read ``X[c, s·i + p − P]`` (an affine index in two loop indices) is a window view of X
  (``_window_view`` in the generated module: ``as_strided`` over X zero-padded by P, stride s); a read
  at ``(x + p − k + 1 + P)/s`` is the same view of X dilated by s (the off-integer reads are 0);
  ``X[k − 1 − p]`` is X flipped along that axis; a plain ``X[c]`` is broadcast to the result's axes;
- ``Sum`` of a product of reads is one ``numpy.tensordot`` over those views (a product and a ``sum`` when
  both have the same axes, ``numpy.einsum`` otherwise; an index read twice by one array is its diagonal,
  a view); ``Sum`` of one read is a ``sum`` over the summed axes;
- ``Max`` and ``Add`` of reads that differ by a full grid of constant offsets (the windows of a
  pool layer) are ``max`` / ``sum`` over the window view's offset axes; ``first_maximum`` of the
  same reads (the mask of max pooling) is ``_first_maximum`` (argmax: the first maximum, row-major).

Summed indices read with a negative coefficient (the gather form of a δ) are first reversed
(p → k − 1 − p), which leaves the flipped kernel of the correlation form.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import sympy as sp

from .printer import NumpyCodePrinter

#: the einsum letter of the example axis
EXAMPLE = "z"
_LETTERS = "abcdefghijklmnopqrstuvwxy"


@dataclass(frozen=True)
class Base:
    """How the generated code reads one IndexedBase: ``code`` is the array (C order, the form's axes
    first); ``examples`` is "batch" (a last axis of m examples), "unit" (a last axis of 1, as b (C, 1)) or None."""

    code: str
    examples: str | None


@dataclass(frozen=True)
class _Plain:
    idx: sp.Idx
    flipped: bool


@dataclass(frozen=True)
class _Window:
    """Index (Σ a_t·t − before)/dilation; terms[0] is the view's position axis, the others offsets."""

    dilation: int
    before: int
    terms: tuple[tuple[sp.Idx, int], ...]


def _count(idx: sp.Idx) -> int:
    return int(idx.upper) + 1


def _affine(index: sp.Expr) -> tuple[dict[sp.Idx, sp.Rational], sp.Rational]:
    coefficients = dict(sp.expand(index).as_coefficients_dict())
    constant = sp.Rational(coefficients.pop(sp.S.One, 0))
    if any(not isinstance(key, sp.Idx) for key in coefficients):
        raise ValueError(f"index {index}: expected an affine expression of loop indices")
    return {key: sp.Rational(value) for key, value in coefficients.items()}, constant


def _is_window(index: sp.Expr) -> bool:
    coefficients, constant = _affine(index)
    if len(coefficients) == 1 and constant == 0 and set(coefficients.values()) == {1}:
        return False
    idx, = coefficients if len(coefficients) == 1 else (None,)
    return not (idx is not None and coefficients[idx] == -1 and constant == idx.upper)


class SpatialPrinter(NumpyCodePrinter):
    """NumPy printer for the indexed forms of conv and pool layers, over whole batches."""

    def __init__(self, bases: dict[str, Base], names: dict[sp.Basic, str] | None = None) -> None:
        super().__init__(names)
        self.bases = dict(bases)
        self._target: tuple[sp.Idx, ...] = ()
        self._examples: str | None = None
        self._letters: dict[sp.Idx, str] = {}

    def print_array(self, expr: sp.Expr, target: tuple[sp.Idx, ...], examples: str | None) -> str:
        """``expr`` as an array with axes ``target`` (+ the example axis: "batch" m, "unit" 1, None none)."""
        self._target, self._examples, self._letters = tuple(target), examples, {}
        return self.doprint(expr)

    # ------------------------------------------------------------ reads
    def _letter(self, idx: sp.Idx) -> str:
        if idx not in self._letters:
            self._letters[idx] = _LETTERS[len(self._letters)]
        return self._letters[idx]

    def _out(self, keep_unit: bool) -> list[str]:
        letters = [self._letter(i) for i in self._target]
        return letters + [EXAMPLE] if self._examples == "batch" or (keep_unit and self._examples == "unit") else letters

    def _axis(self, index: sp.Expr, length: int) -> _Plain | _Window:
        coefficients, constant = _affine(index)
        if not _is_window(index):
            idx, = coefficients
            if _count(idx) == length:
                return _Plain(idx, coefficients[idx] == -1)
            if coefficients[idx] == 1:       # a part of the axis (a pool window's first offset): a window of 1
                return _Window(1, 0, ((idx, 1),))
        dilation = math.lcm(*(int(v.q) for v in coefficients.values()), int(constant.q))
        terms = {idx: int(value * dilation) for idx, value in coefficients.items()}
        if any(value <= 0 for value in terms.values()):
            raise ValueError(f"index {index}: expected positive coefficients (reverse the summed index first)")
        # the view's position axis: a result index if one is read here, else the largest stride
        order = sorted(terms, key=lambda i: (i not in self._target, -terms[i], str(i)))
        return _Window(dilation, -int(constant * dilation), tuple((i, terms[i]) for i in order))

    def _operand(self, read: sp.Indexed) -> tuple[str, list[str]]:
        """The code of a read's array (flipped, dilated, padded, windowed as its indices say) and its letters."""
        base = self.bases[str(read.base.label)]
        axes = [self._axis(i, int(n)) for i, n in zip(read.indices, read.base.shape)]
        code = base.code
        if any(isinstance(a, _Plain) and a.flipped for a in axes):
            code = f"{code}[{', '.join('::-1' if isinstance(a, _Plain) and a.flipped else ':' for a in axes)}]"
        letters = [self._letter(a.idx if isinstance(a, _Plain) else a.terms[0][0]) for a in axes]
        windows = [a for a in axes if isinstance(a, _Window)]
        if windows:
            specs = tuple(None if isinstance(a, _Plain) else
                          (a.dilation, a.before, tuple((m, _count(i)) for i, m in a.terms)) for a in axes)
            code = f"_window_view({code}, {specs!r})"
            letters += [self._letter(i) for a in windows for i, _ in a.terms[1:]]
        if base.examples:
            letters.append(EXAMPLE)
        return code, letters

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        code, letters = self._operand(expr)
        out = self._out(keep_unit=True)
        if letters == out:
            return code
        if len(set(letters)) == len(letters) and all(x in out for x in letters) \
                and [x for x in out if x in letters] == letters:       # broadcast: a new axis where a letter is missing
            return f"{code}[{', '.join(':' if x in letters else 'None' for x in out)}]"
        return f"numpy.einsum(\"{''.join(letters)}->{''.join(out)}\", {code})"

    # ------------------------------------------------------------ sums
    def _normalized(self, expr: sp.Sum) -> sp.Expr:
        """The summand with each summed index that a window reads backwards reversed (t → n − 1 − t)."""
        summand = expr.function
        for idx, low, high in expr.limits:
            if low != 0:
                raise ValueError(f"Sum over {idx} from {low}: expected sums from 0")
            reads = summand.atoms(sp.Indexed)
            if any(_is_window(i) and _affine(i)[0].get(idx, 0) < 0 for r in reads for i in r.indices):
                summand = summand.xreplace({idx: high - idx})
        return summand

    def _fold_axes(self, expr: sp.Sum) -> dict[sp.Idx, tuple[sp.Idx, sp.Idx, int]] | None:
        """{x: (p, i, s)} when every read of a result index x is at (x − p)/s with p summed over exactly s values
        (the δ of a pool layer whose windows do not overlap): then each x has one term, at x = s·i + p."""
        summed = {idx for idx, _, _ in expr.limits}
        found: dict[sp.Idx, tuple[sp.Idx, sp.Idx, int]] = {}
        for read in expr.function.atoms(sp.Indexed):
            for index, length in zip(read.indices, read.base.shape):
                coefficients, constant = _affine(index)
                if len(coefficients) == 1:
                    continue
                (x, a), (p, b) = sorted(coefficients.items(), key=lambda item: item[0] in summed)
                stride = 1 / a
                if (constant != 0 or x not in self._target or p not in summed or b != -a or not stride.is_integer
                        or _count(p) != stride or found.get(x, (p,))[0] != p):
                    return None
                found[x] = (p, sp.Idx(f"{x}_window", int(length)), int(stride))
        return found if found and summed == {p for p, _, _ in found.values()} else None

    def _fold(self, expr: sp.Sum, axes: dict[sp.Idx, tuple[sp.Idx, sp.Idx, int]]) -> str:
        """The one term of each result entry: the summand at x = s·i + p over the axes (.., i, .., p, ..),
        folded back (``_fold`` in the generated module)."""
        summand = expr.function.xreplace({x: stride * i + p for x, (p, i, stride) in axes.items()})
        target, examples = self._target, self._examples
        windows = tuple(i if i not in axes else axes[i][1] for i in target) + tuple(p for p, _, _ in axes.values())
        self._target = windows
        code = self._print(sp.expand(summand))
        self._target, self._examples = target, examples
        taps = tuple(_count(p) for p, _, _ in axes.values())
        sizes = tuple(_count(x) for x in axes)
        return f"_fold({code}, {taps}, {sizes})"

    def _print_Sum(self, expr: sp.Sum) -> str:
        folded = self._fold_axes(expr)
        if folded is not None:
            return self._fold(expr, folded)
        summand = self._normalized(expr)
        factors, scalars = [], []
        for factor in sp.Mul.make_args(summand):
            if isinstance(factor, sp.Indexed):
                factors.append(factor)
            elif isinstance(factor, sp.Pow) and isinstance(factor.base, sp.Indexed) and factor.exp == 2:
                factors += [factor.base, factor.base]
            elif not factor.has(sp.Indexed):
                scalars.append(factor)
            else:
                raise ValueError(f"Sum of {summand}: expected a product of array reads")
        code = self._contract([self._operand(f) for f in factors], self._out(keep_unit=False))
        if self._examples == "unit":
            code += "[..., None]"
        if scalars:
            code = f"{self.parenthesize(sp.Mul(*scalars), 50)}*{code}"
        return code

    @staticmethod
    def _contract(operands: list[tuple[str, list[str]]], out: list[str]) -> str:
        """Σ over the letters not in ``out`` of the product of the operands: a reduction, a tensordot or an einsum."""
        if len(operands) == 1:
            (code, letters), = operands
            summed = [k for k, x in enumerate(letters) if x not in out]
            if len(set(letters)) == len(letters) and [x for x in letters if x in out] == out:
                return f"{code}.sum(axis={tuple(summed)})" if summed else code
        if len(operands) == 2:
            for (code_a, a), (code_b, b) in (operands, operands[::-1]):
                shared = [x for x in a if x in b]
                if len(set(a)) == len(a) and len(set(b)) == len(b) and not set(shared) & set(out) \
                        and [x for x in a if x not in b] + [x for x in b if x not in a] == out:
                    axes_a, axes_b = [a.index(x) for x in shared], [b.index(x) for x in shared]
                    return f"numpy.tensordot({code_a}, {code_b}, axes=({axes_a}, {axes_b}))"
        # an index read twice by one array (max pooling's mask) is its diagonal: a view, taken first
        operands = [(code, letters) if len(set(letters)) == len(letters) else
                    (f"numpy.einsum(\"{''.join(letters)}->{''.join(dict.fromkeys(letters))}\", {code})",
                     list(dict.fromkeys(letters))) for code, letters in operands]
        if len(operands) == 2 and operands[0][1] == operands[1][1] and [x for x in operands[0][1] if x in out] == out:
            letters = operands[0][1]      # the same axes: a product, then a sum over the summed ones
            summed = tuple(k for k, x in enumerate(letters) if x not in out)
            return f"({operands[0][0]}*{operands[1][0]}).sum(axis={summed})"
        subscripts = ",".join("".join(letters) for _, letters in operands) + "->" + "".join(out)
        codes = ", ".join(code for code, _ in operands)
        return f"numpy.einsum(\"{subscripts}\", {codes})"

    # ------------------------------------------------------------ windows of a pool layer
    def _window_read(self, reads: tuple[sp.Expr, ...]) -> tuple[sp.Indexed, int] | None:
        """Reads X[.., s·i + o, ..] over a full grid of constant offsets o, in row-major order, as one windowed
        read X[.., s·i + o_0 + t, ..] (t new loop indices) and the number of offset axes; None otherwise."""
        if len(reads) < 2 or not all(isinstance(r, sp.Indexed) for r in reads) or len({r.base for r in reads}) != 1:
            return None
        split = [[_affine(i) for i in r.indices] for r in reads]
        if any(len({(tuple(sorted(c.items(), key=str)),) for c, _ in column}) != 1 for column in zip(*split)):
            return None
        offsets = [[const for _, const in column] for column in zip(*split)]
        moving = [k for k, column in enumerate(offsets) if len(set(column)) > 1]
        grid = [sorted(set(offsets[k])) for k in moving]
        spots = [tuple(offsets[k][n] for k in moving) for n in range(len(reads))]
        if any(g != list(range(g[0], g[0] + len(g))) for g in grid) or sorted(spots) != list(itertools.product(*grid)):
            return None     # (Max and Add order their arguments their own way: the grid, not the order, matters)
        taps = {k: sp.Idx(f"t{k}", len(g)) for k, g in zip(moving, grid)}
        first = reads[spots.index(min(spots))]
        indices = [i + taps[k] if k in taps else i for k, i in enumerate(first.indices)]
        return first.base[tuple(indices)], len(taps)

    def _window_reduction(self, expr: sp.Expr, method: str) -> str | None:
        # a common factor first: SymPy writes (a + b)/4 as a/4 + b/4
        split = [term.as_coeff_Mul() for term in expr.args]
        factor = split[0][0] if len({c for c, _ in split}) == 1 and method == "sum" else sp.S.One
        found = self._window_read(tuple(rest for _, rest in split) if factor != 1 else expr.args)
        if found is None:
            return None
        read, taps = found
        code, letters = self._operand(read)
        rank = len(read.indices)
        code = f"{code}.{method}(axis={tuple(range(rank, rank + taps))})"
        return code if factor == 1 else f"{self._print(factor)}*{code}"

    def _print_Max(self, expr: sp.Max) -> str:
        return self._window_reduction(expr, "max") or super()._print_Max(expr)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        found = self._window_reduction(expr, "sum")
        if found:
            return found
        # positive terms first: θ − η g rather than −η g + θ (the same number: + commutes)
        terms = sorted(self._as_ordered_terms(expr, order=order), key=lambda term: term.could_extract_minus_sign())
        text = self._print(terms[0])
        for term in terms[1:]:
            negative = term.could_extract_minus_sign()
            text += (" - " if negative else " + ") + self.parenthesize(-term if negative else term, 40)
        return text

    def first_maximum(self, z_max: sp.Max, target: tuple[sp.Idx, ...]) -> str:
        """The mask of max pooling from the layer's z = Max(window reads): 1 at each window's first maximum."""
        self._target, self._examples, self._letters = tuple(target), "batch", {}
        found = self._window_read(z_max.args)
        if found is None:
            raise ValueError(f"Max pooling z {z_max}: expected the reads of a window")
        read, taps = found
        return f"_first_maximum({self._operand(read)[0]}, {taps})"
