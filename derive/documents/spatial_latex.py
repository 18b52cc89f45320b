"""The equations of conv and pool layers as LaTeX lines, printed from ``tensor_forms``' indexed SymPy forms.

``SpatialPrinter`` is ``NotationPrinter`` plus what the indexed forms need: an ``Indexed`` read prints as the
notation's entry (``A1[c, i, j]`` → a^{[1]}_{c,i,j}, the input's array as x, ``W2[c, c', p, q]`` with the
notation's weight letter), an ``Idx`` as its name, a ``Sum`` as nested Σ with its limits, an index
with a fraction ((u + 1 − p)/2) as one. ``SpatialLatex`` is ``DerivationLatex`` for a net with conv or
pool layers: its dense layers print as before; the lines of its conv and pool layers come from here.
"""
from __future__ import annotations

import re
from functools import cached_property

import sympy as sp

from ..derivation import symbols, tensor_forms
from ..derivation.backprop import M, Derivation
from ..derivation.tensor_forms import ConvForms, PoolForms
from ..model.activations import A as GENERIC_A, Z as GENERIC_Z
from .equations import DerivationLatex, definition
from .notation import ELL, ETA, LOSS_ROW, activation_call, as_factor
from .printer import NotationPrinter

_LABEL = re.compile(r"(A|Z|Wd|W|b|Delta|M|E)(\d+)$")
#: tensor_forms names input positions (x, y); documents write (u, v), since x is the network's input
_RENAMED = {"x": "u", "y": "v"}
#: a max or mean over more entries than this shows the first two, …, the last
MAX_WINDOW_SHOWN = 4
#: the example's index of a batch form, last in every array (as in the generated NumPy code)
EXAMPLE = sp.Idx("e", (0, M - 1))


#: the order of an index's terms: channels, then positions, then offsets, then numbers
_RANKS = {"c": 0, "c'": 0, "i": 1, "u": 1, "j": 2, "v": 2, "p": 3, "q": 4, "k": 5, "e": 6}
#: the order of a product's indexed factors: weights and masks before δ before activations (w δ, δ a)
_FACTOR_RANKS = {"Wd": 0, "W": 0, "M": 1, "Delta": 2, "A": 3}


def _index_rank(term: sp.Expr) -> int:
    names = [str(s) for s in term.atoms(sp.Idx)] + [str(s) for s in term.free_symbols]
    return min((_RANKS.get(name, 7) for name in names), default=8)


def _factor_rank(factor: sp.Expr) -> int:
    match = _LABEL.match(str(factor.base.label)) if isinstance(factor, sp.Indexed) else None
    return _FACTOR_RANKS.get(match.group(1), 4) if match else 5


class SpatialPrinter(NotationPrinter):
    """``NotationPrinter`` that also prints indexed reads, their indices and sums over them."""

    def _print_Idx(self, expr):
        return self._print(expr.label)

    def _print_index(self, index) -> str:
        """One index, positions before offsets before numbers, positive terms first (u + p − 2, 2 − p); one with
        fractions as (numerator)/denominator, which reads better in a subscript."""
        den = sp.ilcm(1, *[sp.fraction(term.as_coeff_Mul()[0])[1] for term in sp.Add.make_args(index)])
        terms = sorted(sp.Add.make_args(sp.expand(index * den)),
                       key=lambda term: (term.could_extract_minus_sign(), _index_rank(term)))
        tex = ""
        for k, term in enumerate(terms):
            negative = term.could_extract_minus_sign()
            sign = ("-" if negative else "") if k == 0 else (" - " if negative else " + ")
            tex += sign + self._print(-term if negative else term)
        return tex if den == 1 else rf"\left({tex}\right)/{den}"

    def _print_Indexed(self, expr):
        match = _LABEL.match(str(expr.base.label))
        if match is None:
            return super()._print_Indexed(expr)
        kind, number = match.group(1), int(match.group(2))
        indices = [self._print_index(i) for i in expr.indices]
        n = self.names
        if kind == "Wd":       # a dense layer's weight read by a flat index: the notation's w_jk order
            indices = indices[::-1] if n.transposed else indices
            return n.scalar(n.weight_letter, number, ",".join(indices))
        if kind == "A" and number == self.derivation.input_number:
            return n.scalar("x", None, ",".join(indices))
        if kind == "E":        # what layer ``number`` sends down: ∂ℓ/∂a^{[number − 1]}
            return n.partial(ELL, self._print(sp.IndexedBase(f"A{number - 1}")[expr.indices]))
        letter = {"A": "a", "Z": "z", "W": n.weight_matrix_letter, "b": "b", "Delta": n.delta_letter,
                  "M": "M"}[kind]
        return n.scalar(letter, number, ",".join(indices))

    def _as_ordered_terms(self, expr, order=None):
        """The dense order, but a sum's Σ terms first: Σ W a + b."""
        terms = super()._as_ordered_terms(expr, order)
        return sorted(terms, key=lambda term: not isinstance(term, sp.Sum))

    def _print_Add(self, expr, order=None):
        """A mean of reads as (1/n)(a + … + a), not a sum of a/n."""
        coefficients = {term.as_coeff_Mul()[0] for term in expr.args}
        if len(expr.args) > 1 and len(coefficients) == 1:
            (coefficient,) = coefficients
            if coefficient.is_Rational and not coefficient.is_Integer:
                inner = sp.Add(*[term / coefficient for term in expr.args])
                return rf"{self._print(coefficient)} \left({self._print(inner)}\right)"
        if all(isinstance(term, sp.Indexed) for term in expr.args):   # a window's reads, row-major
            return " + ".join(self._print(term) for term in sorted(
                expr.args, key=lambda term: [self._print_index(i) for i in term.indices]))
        return super()._print_Add(expr, order)

    def _print_Mul(self, expr):
        """A product of reads in the lectures' order: W δ, M δ, δ a."""
        factors = sp.Mul.make_args(expr)
        if not all(isinstance(f, sp.Indexed) for f in factors):
            return super()._print_Mul(expr)
        return " ".join(self._print(f) for f in sorted(factors, key=_factor_rank))

    def _print_Pow(self, expr):
        if isinstance(expr.base, sp.Indexed):     # (a^{[1]}_{c,u,v})², never a double superscript
            base = rf"\left({self._print(expr.base)}\right)"
            return base + "^{" + self._print(expr.exp) + "}" if expr.exp != -1 else rf"\frac{{1}}{{{base}}}"
        return super()._print_Pow(expr)

    def _print_Sum(self, expr):
        sums = "".join(rf"\sum_{{{self._print(v)}={self._print(lo)}}}^{{{self._print(hi)}}} "
                       for v, lo, hi in expr.limits)
        body = self._print(expr.function)
        return sums + (rf"\left({body}\right)" if isinstance(expr.function, sp.Add) else body)

    def _print_Max(self, expr):
        args = list(expr.args)   # SymPy's order; a window's entries are all alike
        shown = [self._print(a) for a in args]
        if len(shown) > MAX_WINDOW_SHOWN:
            shown = shown[:2] + [r"\ldots"] + shown[-1:]
        return r"\max\left(" + ", ".join(shown) + r"\right)"


def _renamed(forms):
    """``forms`` with the input positions (x, y) named (u, v)."""
    mapping = {i: sp.Idx(_RENAMED[str(i.label)], (i.lower, i.upper)) for i in forms.in_index
               if str(i.label) in _RENAMED}
    fields = {name: (value.xreplace(mapping) if isinstance(value, sp.Basic) else value)
              for name, value in vars(forms).items()}
    fields["in_index"] = tuple(mapping.get(i, i) for i in forms.in_index)
    return type(forms)(**fields)


def with_example(expr: sp.Expr) -> sp.Expr:
    """``expr`` with the example's index added last to every read of an activation or a δ."""
    def extend(e: sp.Indexed) -> sp.Indexed:
        return sp.Indexed(e.base, *e.indices, EXAMPLE)

    return expr.replace(lambda e: isinstance(e, sp.Indexed) and str(e.base.label).startswith(("A", "Delta")),
                        extend)


class SpatialLatex(DerivationLatex):
    """``DerivationLatex`` for a net with conv or pool layers (the dense layers' lines are unchanged)."""

    def __init__(self, derivation: Derivation, lang: str = "en") -> None:
        super().__init__(derivation, lang)
        self.p = SpatialPrinter(derivation, lang=lang)
        self.n = self.p.names

    def is_spatial(self, layer: int) -> bool:
        return self.d.layer(layer).kind != "dense"

    @cached_property
    def _forms(self) -> dict[int, ConvForms | PoolForms]:
        return {}

    def forms(self, layer: int) -> ConvForms | PoolForms:
        """The indexed forms of conv or pool layer number ``layer`` (input positions named u, v)."""
        if layer not in self._forms:
            kind = self.d.layer(layer)
            make = tensor_forms.conv_forms if kind.kind == "conv" else tensor_forms.pool_forms
            self._forms[layer] = _renamed(make(kind, layer))
        return self._forms[layer]

    def entry(self, letter: str, layer: int, index: tuple) -> sp.Indexed:
        """One entry of layer ``layer``'s array ``letter`` (A, Z, Delta, M, E) at ``index``."""
        return sp.IndexedBase(f"{letter}{layer}")[index]

    # -- forward
    def spatial_forward(self, layer: int) -> list[str]:
        """z^{[l]}_{c,i,j} = its indexed form, then a = g(z) (a = z for pooling)."""
        f = self.forms(layer)
        z, a = self.entry("Z", layer, f.out_index), self.entry("A", layer, f.out_index)
        lines = [f"{self.tex(z)} & = {self.tex(f.z)}"]
        activation = self.d.layer(layer).activation
        call = activation_call(self.d, layer, self.tex(z))
        if call == self.tex(z):
            return lines + [f"{self.tex(a)} & = {self.tex(z)}"]
        value = activation.expr if activation.is_custom else definition(activation.expr)
        return lines + [f"{self.tex(a)} & = {call} = {self.tex(value.subs(GENERIC_Z, z))}"]

    def flat_index(self, layer: int) -> tuple[tuple[sp.Idx, ...], sp.Expr]:
        """(c, i, j) of layer ``layer``'s output and its 1-based C-order position k = c·H·W + i·W + j + 1."""
        shape = self.d.layer(layer).out_shape
        index = self.forms(layer).out_index
        flat, stride = sp.Integer(1), 1
        for i, n in reversed(list(zip(index, shape))):
            flat, stride = flat + stride * i, stride * n
        return index, flat

    def flatten(self, layer: int) -> str:
        """a^{[l−1]}_{k} = a^{[l−1]}_{c,i,j}, k = c·H·W + i·W + j + 1 (the input of dense layer ``layer``)."""
        index, flat = self.flat_index(layer - 1)
        k = sp.Idx("k", self.d.width(layer - 1))
        unit = self.n.scalar("a", layer - 1, self.tex(k))
        return f"{unit} = {self.tex(self.entry('A', layer - 1, index))}, \\quad {self.tex(k)} = {self.tex(flat)}"

    # -- backward
    def sent_down(self, above: int) -> tuple[tuple[sp.Idx, ...], list[str], list[str]]:
        """(index, [∂ℓ/∂a^{[above−1]} = strided or gathered form], [the flipped-kernel form, for stride 1])."""
        kind = self.d.layer(above)
        if kind.kind == "dense":     # the flat vector Wᵀ δ, read back at (c, i, j)'s flat position
            index, flat = self.flat_index(above - 1)
            k = sp.Idx("k", (1, self.d.width(above)))
            back = sp.Sum(sp.IndexedBase(f"Wd{above}")[k, flat] * sp.IndexedBase(f"Delta{above}")[k],
                          (k, 1, self.d.width(above)))
            return index, [f"{self.tex(self.entry('E', above, index))} & = {self.tex(back)}"], []
        f = self.forms(above)
        left = self.tex(self.entry("E", above, f.in_index))
        strided = [f"{left} & = {self.tex(f.input_delta)}"]
        if kind.kind == "conv" and all(s == 1 for s in kind.stride):
            return f.in_index, strided, [f"{left} & = {self.tex(f.input_delta_flipped)}"]
        return f.in_index, strided, []

    def mask_example(self, above: int) -> tuple[str, list[str]]:
        """(the offset shown, [M^{[l]}_{c,i,j,p,q} at that offset = its first-maximum indicator])."""
        f = self.forms(above)
        offset = f.taps[min(1, len(f.taps) - 1)]
        window = f.out_index + tuple(offset)
        left = self.entry("M", above, window)
        return ("$(" + ", ".join(map(str, offset)) + ")$", [f"{self.tex(left)} & = {self.tex(f.mask(window))}"])

    def spatial_delta(self, layer: int, index: tuple[sp.Idx, ...]) -> str:
        """δ^{[l]} at ``index`` = g'(z^{[l]}) ∂ℓ/∂a^{[l]} (for a pool layer, g' = 1)."""
        delta, sent = self.entry("Delta", layer, index), self.tex(self.entry("E", layer + 1, index))
        if self.d.layer(layer).kind == "pool":
            return f"{self.tex(delta)} & = {sent}"
        derivative = self.hidden_derivative_at(layer, index)
        return f"{self.tex(delta)} & = {as_factor(derivative, self.tex(derivative))} \\, {sent}"

    def hidden_derivative_at(self, layer: int, index: tuple[sp.Idx, ...]) -> sp.Expr:
        a, z = self.entry("A", layer, index), self.entry("Z", layer, index)
        return self.d.hidden_derivative(layer).subs({GENERIC_A: a, GENERIC_Z: z})

    # -- gradients
    def conv_gradients(self, layer: int) -> list[str]:
        """∂ℓ/∂W_{c,c′,p,q} and ∂ℓ/∂b_c of one example."""
        f, n = self.forms(layer), self.n
        W = self.tex(sp.IndexedBase(f"W{layer}")[f.weight_index])
        lines = [f"{n.partial(ELL, W)} & = {self.tex(f.weight_gradient)}"]
        if f.bias_gradient is not None:
            b = self.tex(sp.IndexedBase(f"b{layer}")[f.out_index[:1]])
            lines.append(f"{n.partial(ELL, b)} & = {self.tex(f.bias_gradient)}")
        return lines

    def conv_batch_gradients(self, layer: int) -> list[str]:
        """∂C/∂W_{c,c′,p,q} = c Σ_e (the one-example form at example e) + λ W_{c,c′,p,q}; ∂C/∂b likewise."""
        f, n, d = self.forms(layer), self.n, self.d
        W = sp.IndexedBase(f"W{layer}")[f.weight_index]

        def batch(form: sp.Sum) -> sp.Expr:
            return d.reduction_factor * sp.Sum(with_example(form.function), (EXAMPLE, 0, M - 1), *form.limits)

        lines = [f"{n.partial(n.cost, self.tex(W))} & = {self.tex(batch(f.weight_gradient) + d.l2 * W)}"]
        if f.bias_gradient is not None:
            b = self.tex(sp.IndexedBase(f"b{layer}")[f.out_index[:1]])
            lines.append(f"{n.partial(n.cost, b)} & = {self.tex(batch(f.bias_gradient))}")
        return lines

    # -- the dense methods that would count a pool layer as weighted
    def _weighted(self) -> list[int]:
        return [layer for layer in self.d.layer_numbers if self.d.layer(layer).kind != "pool"]

    def cost(self) -> list[str]:
        """ℓ and C = c Σ ℓ_i (+ (λ/2) Σ ‖W^{[l]}‖² over the conv and dense layers: pool layers have no W)."""
        weights = [symbols.matrix("W", layer, 2, 3) for layer in self._weighted()]
        cost = self.d.reduction_factor * sp.Trace(LOSS_ROW * sp.OneMatrix(M, 1)) + self.d.l2 / 2 * sp.Add(
            *[sp.Trace(W.T * W) for W in weights])
        return [f"{ELL} & = {self.tex(self.d.loss)}", f"{self.n.cost} & = {self.tex(cost)}"]

    def derivatives(self) -> list[str]:
        """The activation derivatives of the conv and dense layers (a pool layer has none)."""
        lines = super().derivatives()
        pool_only = {"identity"} - {self.d.layer(layer).activation.name for layer in self._weighted()}
        return [line for line in lines if not (pool_only and line.startswith("g'(z)"))]

    def updates(self) -> list[str]:
        """θ ← θ − η ∂C/∂θ of the conv and dense layers' parameters."""
        lines = []
        for layer in self._weighted():
            # the shapes only name the symbols: the printer shows W^{[l]}, ∂C/∂W^{[l]}
            pairs = [(symbols.matrix("W", layer, 2, 3), symbols.matrix("dW", layer, 2, 3))]
            if self.d.layer(layer).bias:
                pairs.append((symbols.matrix("b", layer, 2, 1), symbols.matrix("db", layer, 2, 1)))
            for param, grad in pairs:
                if self.n.transposed and param.name.startswith("W"):   # the printer shows Wᵀ as W here
                    param, grad = param.T, grad.T
                lines.append(rf"{self.tex(param)} & \leftarrow {self.tex(self.d.update_expr(param, grad, ETA))}")
        return lines
