"""The derivation's equations as LaTeX lines (``left & = right``), grouped by topic.

Every right-hand side is one of the derivation's SymPy expressions printed by
``NotationPrinter``; the left-hand sides are named by the notation.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions import HadamardPower, HadamardProduct

from ..derivation import symbols
from ..derivation.backprop import M, Derivation
from ..model.activations import A as GENERIC_A, Z as GENERIC_Z
from .notation import ELL, ETA, LOSS_ROW, activation_call, as_factor
from .printer import NotationPrinter
from .updates import StepForm, latex_lines, schedule_line, step_form

#: layers with more units than this are shown in part: the first two, ⋮, the last
MAX_UNITS_SHOWN = 4


def elementwise_matrix(expr: sp.Expr, mapping: dict[sp.Symbol, sp.MatrixExpr],
                       shape: tuple[int, sp.Expr]) -> sp.MatrixExpr | None:
    """The elementwise (batch) form of a one-unit expression: a → A, y → Y, products → ⊙.

    ``a(1 − a)`` becomes ``A ⊙ (1 − A)``. Returns None when the expression mixes units or
    applies a function (log, exp, …) that has no plain matrix spelling.
    """
    ones = symbols.ones(*shape)

    def lift(e):
        if e in mapping:
            return mapping[e]
        if e.is_Number:
            return e * ones
        if isinstance(e, sp.Add):
            parts = [lift(t) for t in e.args]
            return None if any(p is None for p in parts) else sp.MatAdd(*parts)
        if isinstance(e, sp.Mul):
            coefficient, factors = e.as_coeff_mul()
            parts = [lift(f) for f in factors]
            if any(p is None for p in parts):
                return None
            product = parts[0] if len(parts) == 1 else HadamardProduct(*parts)
            return product if coefficient == 1 else coefficient * product
        if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp > 0:
            base = lift(e.base)
            return None if base is None else HadamardPower(base, e.exp)
        return None

    return lift(expr)


def definition(expr: sp.Expr) -> sp.Expr:
    """What an activation's value is, written so that it says something: tanh(z) as (eᶻ − e⁻ᶻ)/(eᶻ + e⁻ᶻ).

    A built-in activation that is one SymPy function of z (tanh) would print as its own name, the
    tautology tanh(z) = tanh(z); it is rewritten through exp. Any other expression (σ's
    1/(1 + e⁻ᶻ), relu's cases) already is a definition and is kept. (A custom g_l(z) = tanh(z)
    is not a tautology: the caller keeps the expression as the spec wrote it.)
    """
    if isinstance(expr, sp.Function) and len(expr.args) == 1 and expr.args[0].is_Symbol:
        return expr.rewrite(sp.exp)
    return expr


class DerivationLatex:
    """The derivation's equations as LaTeX lines (``left & = right``), grouped by topic, in ``lang``'s words."""

    def __init__(self, derivation: Derivation, lang: str = "en") -> None:
        self.d = derivation
        self.lang = lang
        self.p = NotationPrinter(derivation, lang=lang)
        self.n = self.p.names
        self.net = derivation.network

    def tex(self, expr) -> str:
        return self.p.doprint(expr)

    def _units(self, count: int) -> list[int | None]:
        """0-based units to show; None marks an elision (⋮)."""
        if count <= MAX_UNITS_SHOWN:
            return list(range(count))
        return [0, 1, None, count - 1]

    # -- forward
    def forward_index(self, layer: int) -> list[str]:
        d, lines = self.d, []
        s = d.symbols(layer)
        units = self._units(len(s.z))
        shown = [j for j in units if j is not None]       # only these units' sums are built
        z_exprs, a_exprs = dict(zip(shown, d.z_index(layer, shown))), d.a_index(layer)
        for j in units:
            if j is None:
                lines.append(r"& \;\;\vdots")
                continue
            z_name = self.tex(s.z[j])
            lines.append(f"{z_name} & = {self.tex(z_exprs[j])}")
            call = activation_call(d, layer, z_name, j + 1)
            a_expr = self.tex(a_exprs[j] if d.layer(layer).activation.is_custom else definition(a_exprs[j]))
            right = a_expr if call == z_name else f"{call} = {a_expr}"
            lines.append(f"{self.tex(s.a[j])} & = {right}")
        return lines

    def forward_matrix(self, layer: int) -> list[str]:
        forms = self.d.matrix(layer)
        z_line = f"{self.tex(forms.Z)} & = {self.tex(forms.z_expr)}"
        call = activation_call(self.d, layer, self.tex(forms.Z))
        return [z_line, f"{self.tex(forms.A)} & = {call}"]

    # -- cost
    def cost(self) -> list[str]:
        return [f"{ELL} & = {self.tex(self.d.loss)}",
                f"{self.n.cost} & = {self.tex(self.d.cost_matrix_expr(LOSS_ROW))}"]

    # -- activation derivatives
    def derivatives(self) -> list[str]:
        lines, seen = [], set()
        for layer in self.d.layer_numbers:
            activation = self.d.layer(layer).activation
            if activation.is_softmax or activation.name in seen:
                continue
            seen.add(activation.name)
            name = activation_call(self.d, layer, "z") if activation.name != "identity" else "g(z)"
            prime = name.replace(r"\left(z\right)", r"'\left(z\right)", 1) if name != "g(z)" else "g'(z)"
            plain, lecture = activation.derivative, activation.lecture_derivative
            right = self.tex(plain)
            if lecture != plain:
                right += f" = {self.tex(lecture)}"
            lines.append(f"{prime} & = {right}")
        return lines

    def derivatives_with_a(self) -> bool:
        """Whether some activation's derivative is written through its output a = g(z)."""
        activations = [self.d.layer(layer).activation for layer in self.d.layer_numbers]
        return any(GENERIC_A in activation.lecture_derivative.free_symbols
                   for activation in activations if not activation.is_softmax)

    # -- output δ
    def output_delta_index(self) -> list[str]:
        d, n = self.d, self.n
        s = d.symbols(d.last)
        dl_da, J = d.loss_gradient, d.output_jacobian
        lines = []
        softmax = self.net.layers[-1].activation.is_softmax
        for k in self._units(len(s.z)):
            if k is None:
                lines.append(r"& \;\;\vdots")
                continue
            delta = self.tex(s.delta[k])
            z = self.tex(s.z[k])
            js = self._units(len(s.a)) if softmax else [k]
            chain = " + ".join(r"\cdots" if j is None else
                               f"{n.partial(ELL, self.tex(s.a[j]))} {n.partial(self.tex(s.a[j]), z)}" for j in js)
            products = " + ".join(r"\cdots" if j is None else
                                  rf"\left({self.tex(dl_da[j])}\right) \left({self.tex(J[j, k])}\right)" for j in js)
            lines.append(f"{delta} & = {n.partial(ELL, z)} = {chain}")
            lines.append(f"& = {products}")
            lines.append(f"& = {self.tex(d.output_delta[k])}")
        return lines

    def output_delta_short(self) -> list[str]:
        """δ_k^[L] = its simplified formula, one line per shown unit."""
        s = self.d.symbols(self.d.last)
        return [r"& \;\;\vdots" if k is None else f"{self.tex(s.delta[k])} & = {self.tex(self.d.output_delta[k])}"
                for k in self._units(len(s.z))]

    def output_is_a_minus_y(self) -> bool:
        s = self.d.symbols(self.d.last)
        return all(sp.expand(e - (s.a[k] - self.d.y[k])) == 0 for k, e in enumerate(self.d.output_delta))

    def output_delta_matrix(self) -> str | None:
        """Δ^[L] in batch form when every unit's δ is the same elementwise formula, else None."""
        d = self.d
        s = d.symbols(d.last)
        n_out = len(s.z)
        forms = d.matrix(d.last)
        Y = sp.MatrixSymbol("Y", n_out, M)
        lifted = []
        for k, expr in enumerate(d.output_delta):
            mapping = {s.a[k]: forms.A, s.z[k]: forms.Z, d.y[k]: Y}
            if expr.free_symbols - set(mapping):
                return None
            lifted.append(elementwise_matrix(expr, mapping, (n_out, M)))
        if any(m is None for m in lifted) or any(m != lifted[0] for m in lifted):
            return None
        return f"{self.tex(forms.Delta)} & = {self.tex(lifted[0])}"

    # -- hidden δ
    def hidden_delta_index(self, layer: int) -> list[str]:
        d = self.d
        s = d.symbols(layer)
        units = self._units(len(s.z))
        shown = [j for j in units if j is not None]
        factors = dict(zip(shown, d.delta_factors(layer, shown)))
        lines = []
        for j in units:
            if j is None:
                lines.append(r"& \;\;\vdots")
                continue
            derivative, back_sum = factors[j]
            factor = as_factor(derivative, self.tex(derivative))
            lines.append(rf"{self.tex(s.delta[j])} & = {factor} \left({self.tex(back_sum)}\right)")
        return lines

    def hidden_delta_matrix(self, layer: int) -> list[str]:
        d = self.d
        forms = d.matrix(layer)
        lines = [f"{self.tex(forms.Delta)} & = {self.tex(forms.delta_expr)}"]
        derivative = d.hidden_derivative(layer)
        lifted = elementwise_matrix(derivative, {GENERIC_A: forms.A, GENERIC_Z: forms.Z},
                                    (d.width(layer), M))
        call = activation_call(d, layer, self.tex(forms.Z))
        if lifted is not None:
            lines.append(f"{self.tex(forms.G)} & = {self.tex(lifted)}")
        else:
            prime = call.replace(r"\left(", r"'\left(", 1) if call != self.tex(forms.Z) else "g'"
            lines.append(f"{self.tex(forms.G)} & = {prime}")
        return lines

    # -- gradients
    def gradient_index(self, layer: int) -> list[str]:
        d, n = self.d, self.n
        W_label = n.partial(ELL, n.matrix(n.weight_matrix_letter, layer))
        lines = []
        if d.width(layer) <= MAX_UNITS_SHOWN and d.width(layer - 1) <= MAX_UNITS_SHOWN:
            grad = d.grad_W_index(layer)
            lines.append(f"{W_label} & = {self.tex(grad.T if n.transposed else grad)}")
        else:   # one entry stands for all (and only it is built)
            entry = n.weight_entry(layer, 1, 1)
            lines.append(f"{n.partial(ELL, entry)} & = {self.tex(d.grad_W_entry(layer, 0, 0))}")
        b_exprs = d.grad_b_index(layer)
        if b_exprs is not None:
            b_label = n.partial(ELL, n.matrix("b", layer))
            if len(b_exprs) <= MAX_UNITS_SHOWN:
                lines.append(f"{b_label} & = {self.tex(sp.Matrix(b_exprs))}")
            else:
                lines.append(f"{n.partial(ELL, n.scalar('b', layer, 1))} & = {self.tex(b_exprs[0])}")
        return lines

    def gradient_matrix(self, layer: int) -> list[str]:
        forms = self.d.matrix(layer)
        dW = symbols.matrix("dW", layer, *forms.W.shape)
        dW_expr = forms.dW_expr
        if self.n.transposed:   # the displayed ∂C/∂W is the transpose of the code's
            dW, dW_expr = dW.T, sp.Transpose(dW_expr).doit()
        lines = [f"{self.tex(dW)} & = {self.tex(dW_expr)}"]
        if forms.db_expr is not None:
            db = symbols.matrix("db", layer, *forms.b.shape)
            lines.append(f"{self.tex(db)} & = {self.tex(forms.db_expr)}")
        return lines

    def updates(self) -> list[str]:
        lines = []
        for layer in self.d.layer_numbers:
            forms = self.d.matrix(layer)
            pairs = [(forms.W, symbols.matrix("dW", layer, *forms.W.shape))]
            if forms.b is not None:
                pairs.append((forms.b, symbols.matrix("db", layer, *forms.b.shape)))
            for param, grad in pairs:
                if self.n.transposed and param == forms.W:
                    param, grad = param.T, grad.T
                lines.append(rf"{self.tex(param)} & \leftarrow {self.tex(self.d.update_expr(param, grad, ETA))}")
        return lines

    # -- the optimizer (only with an [optimizer] table; see updates.py)
    def step_form(self) -> StepForm:
        return step_form(self.net.optimizer)

    def optimizer_step(self) -> list[str]:
        """The spec's optimizer rule as one step in the lecture's notation: m_t = β₁ m_{t−1} + …, θ_t = θ_{t−1} − …"""
        form = self.step_form()
        return latex_lines(self.d, form, form.lines, self.lang)

    def schedule(self) -> list[str]:
        """η_e = … of the spec's learning-rate decay, or no line without one."""
        form = self.step_form()
        line = schedule_line(self.net.optimizer, form)
        return latex_lines(self.d, form, [line], self.lang) if line is not None else []
