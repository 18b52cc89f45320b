"""Prepare the strings of a generated C99 header and source from a ``Derivation``.

Every formula (z, activation, its derivative, output δ, loss, the gradient terms,
the reduction and the update) is a SymPy expression of the derivation, made
stable by ``derive.stable.stabilize_branched`` and printed by ``CCodePrinter``.
The templates ``templates/c/*.jinja`` hold the file layout and signatures.

Each layer is printed in one of two forms, chosen by size and named in a comment:
*unrolled* (small layers: every unit and weight its own statement, common
subexpressions shared through ``sympy.cse``) or *loops* (a per-unit formula
printed once inside ``for`` loops over fixed sizes).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from deltagen.derive.model.activations import A as GENERIC_A, Z as GENERIC_Z
from deltagen.derive.derivation.backprop import LAMBDA, M, Derivation
from deltagen.derive.derivation.stable import stabilize_branched

from .config import CConfig
from .printer import CCodePrinter, used_math_functions

J, K = sp.Symbol("j", integer=True), sp.Symbol("k", integer=True)
LEARNING_RATE = sp.Symbol("learning_rate", positive=True)
STEP_SUM = sp.Symbol("s", real=True)          # a dot product's running sum in a loop
ACCUMULATED = sp.Symbol("acc", real=True)     # Σ_i over examples of a per-example gradient
PARAM = sp.Symbol("theta", real=True)
GRAD = sp.Symbol("grad", real=True)
M_REAL = sp.Symbol("m_real", positive=True)   # m converted to NAME_real, so 1/m is not integer division
LOSS_SUM = sp.Symbol("loss_sum", real=True)


@dataclass
class Block:
    """One commented group of statements: ``loop`` units of a ``for (j ...)`` loop, or straight-line."""

    comment: str
    body: list[str]
    loop: int = 0
    declarations: list[str] = field(default_factory=list)   # before the loop (e.g. a zeroed array)


@dataclass(frozen=True)
class CParam:
    name: str
    rows: int
    cols: int          # 0 for a bias vector
    is_bias: bool
    init_limit: str    # Glorot-uniform bound for weights

    @property
    def declarator(self) -> str:
        return f"{self.name}[{self.rows}]" + (f"[{self.cols}]" if self.cols else "")

    @property
    def size(self) -> int:
        return self.rows * (self.cols or 1)


def _sstr(expr: sp.Expr) -> str:
    """A formula for a comment: SymPy's plain string, never containing a comment terminator."""
    return sp.sstr(expr).replace("*/", "* /").replace("**", "^")


class CModule:
    """The pieces of one generated C header and source, as plain strings and lists for the templates."""

    def __init__(self, derivation: Derivation, config: CConfig = CConfig()) -> None:
        self.d = derivation
        self.net = derivation.network
        self.config = config
        self.prefix = self.net.name
        self.L = derivation.L
        self._names = self._concrete_names()
        self._temps = 0   # temporaries are numbered across the file, so no two blocks declare the same name

    # ----------------------------------------------------------- naming
    def num(self, index: int) -> int:
        return self.d.layer_number(index)

    def unrolled(self, index: int) -> bool:
        sizes = self.net.sizes
        return sizes[index] * sizes[index - 1] <= self.config.unroll_max_weights

    def form(self, index: int) -> str:
        sizes = self.net.sizes
        weights = sizes[index] * sizes[index - 1]
        limit = self.config.unroll_max_weights
        return f"unrolled, {weights} weights <= {limit}" if self.unrolled(index) else f"loops, {weights} weights > {limit}"

    def _a_name(self, index: int) -> str:
        return "a0" if index == 0 else f"t->a{self.num(index)}"

    def _concrete_names(self) -> dict[sp.Basic, str]:
        """C lvalues of every index-form symbol of the derivation."""
        names: dict[sp.Basic, str] = {x: f"a0[{k}]" for k, x in enumerate(self.d.x)}
        names.update({y: f"y[{k}]" for k, y in enumerate(self.d.y)})
        for index in range(1, self.L + 1):
            s, num = self.d.symbols(index), self.num(index)
            for j in range(len(s.z)):
                names[s.z[j]] = f"t->z{num}[{j}]"
                names[s.a[j]] = f"t->a{num}[{j}]"
                names[s.delta[j]] = f"t->d{num}[{j}]"
                if s.b:
                    names[s.b[j]] = f"p->b{num}[{j}]"
                for k in range(s.W.shape[1]):
                    names[s.W[j, k]] = f"p->W{num}[{j}][{k}]"
        return names

    def _generic_names(self, index: int) -> dict[sp.Basic, str]:
        """Unit j of layer ``index`` (and k of the previous one) as loop-indexed lvalues."""
        s, num = self.d.symbols(index), self.num(index)
        prev = self.d.activations_of(index - 1)
        names = {s.z[0]: f"t->z{num}[j]", s.a[0]: f"t->a{num}[j]", s.delta[0]: f"t->d{num}[j]",
                 s.W[0, 0]: f"p->W{num}[j][k]", prev[0]: f"{self._a_name(index - 1)}[k]",
                 GENERIC_Z: f"t->z{num}[j]", GENERIC_A: f"t->a{num}[j]", STEP_SUM: "s"}
        if s.b:
            names[s.b[0]] = f"p->b{num}[j]"
        if index == self.L:
            names[self.d.y[0]] = "y[j]"
        return names

    def printer(self, names: dict[sp.Basic, str] | None = None) -> CCodePrinter:
        return CCodePrinter(self.prefix, {**self._names, **(names or {})})

    # ----------------------------------------------------- statement lists
    def assignments(self, pairs: list[tuple[str, sp.Expr]], names: dict[sp.Basic, str] | None = None,
                    op: str = "=") -> list[str]:
        """``target op expr;`` for each pair, common subexpressions first as const temporaries."""
        printer = self.printer(names)
        temps, reduced = sp.cse([e for _, e in pairs], symbols=sp.numbered_symbols("u", start=self._temps),
                                order="none")
        self._temps += len(temps)
        lines = []
        for symbol, value in temps:
            printer.names[symbol] = symbol.name
            lines.append(f"const {self.prefix}_real {symbol.name} = {printer.doprint(value)};")
        lines += [f"{target} {op} {printer.doprint(e)};" for (target, _), e in zip(pairs, reduced)]
        return lines

    def _uniform(self, exprs: list[sp.Expr], index: int) -> sp.Expr | None:
        """f if exprs[j] is f of unit j's own symbols for every j (written with unit 0's symbols), else None."""
        s = self.d.symbols(index)
        groups = [s.z, s.a, s.delta] + ([self.d.y] if index == self.L else [])
        forms = []
        for j, e in enumerate(exprs):
            to_unit0 = {g[j]: g[0] for g in groups}
            others = {sym for g in groups for i, sym in enumerate(g) if i != j}
            if e.free_symbols & others - set(to_unit0):
                return None
            forms.append(e.xreplace(to_unit0))
        return forms[0] if all(f == forms[0] for f in forms) else None

    def _generic_unit(self, expr: sp.Expr) -> sp.Expr:
        """Unit 0's symbols of the output layer written as a_k, z_k, y_k (for comments)."""
        s = self.d.symbols(self.L)
        return expr.xreplace({s.a[0]: sp.Symbol("a_k"), s.z[0]: sp.Symbol("z_k"), self.d.y[0]: sp.Symbol("y_k")})

    def _unit_block(self, comment: str, index: int, target: str, exprs: list[sp.Expr]) -> Block:
        """Assign ``target[j] = exprs[j]``: one formula in a loop when uniform and the layer is large."""
        uniform = self._uniform(exprs, index)
        n = len(exprs)
        if uniform is not None and not self.unrolled(index):
            lines = self.assignments([(f"{target}[j]", uniform)], self._generic_names(index))
            return Block(f"{comment} ({self.form(index)})", lines, loop=n)
        lines = self.assignments([(f"{target}[{j}]", e) for j, e in enumerate(exprs)])
        kind = self.form(index) if uniform is not None else "unrolled, coupled units"
        return Block(f"{comment} ({kind})", lines)

    # ------------------------------------------------------------ forward
    def _z_block(self, index: int) -> Block:
        num, prev_num = self.num(index), self.num(index - 1)
        comment = f"z[{num}] = W[{num}] a[{prev_num}]" + (" + b[{}]".format(num) if self.net.layers[index - 1].bias else "")
        if self.unrolled(index):
            z = self.d.z_index(index)
            return Block(f"{comment} ({self.form(index)})",
                         self.assignments([(f"t->z{num}[{j}]", e) for j, e in enumerate(z)]))
        s = self.d.symbols(index)
        prev = self.d.activations_of(index - 1)
        names = self._generic_names(index)
        printer = self.printer(names)
        start = printer.doprint(s.b[0]) if s.b else "0"
        term = printer.doprint(s.W[0, 0] * prev[0])   # the k-th term of z_j = Σ_k W_jk a_k + b_j
        body = [f"{self.prefix}_real s = {start};",
                f"for (int k = 0; k < {len(prev)}; ++k) s += {term};",
                f"t->z{num}[j] = s;"]
        return Block(f"{comment} ({self.form(index)})", body, loop=len(s.z))

    def _activation_comment(self, index: int) -> str:
        activation = self.net.layers[index - 1].activation
        num = self.num(index)
        if activation.is_softmax:
            return f"a[{num}] = softmax(z[{num}]), max-subtracted"
        return f"a[{num}] = g(z[{num}]), g(z) = {_sstr(activation.expr)}"

    def forward_blocks(self) -> list[Block]:
        blocks = []
        for index in range(1, self.L + 1):
            blocks.append(self._z_block(index))
            exprs = [stabilize_branched(e) for e in self.d.a_index(index)]
            blocks.append(self._unit_block(self._activation_comment(index), index,
                                           f"t->a{self.num(index)}", exprs))
        return blocks

    # ------------------------------------------------------------ backward
    def output_delta_block(self) -> Block:
        num = self.num(self.L)
        exprs = [stabilize_branched(e) for e in self.d.output_delta]
        uniform = self._uniform(list(self.d.output_delta), self.L)
        shown = _sstr(self._generic_unit(uniform)) if uniform is not None else "per unit, from the output Jacobian"
        return self._unit_block(f"δ[{num}] = ∂ℓ/∂z[{num}] = {shown}", self.L, f"t->d{num}", exprs)

    def hidden_delta_block(self, index: int) -> Block:
        """δ[l] = g'(z[l]) ⊙ (W[l+1]ᵀ δ[l+1])."""
        num, next_num = self.num(index), self.num(index + 1)
        derivative = self.d.hidden_derivative(index)
        comment = f"δ[{num}] = g'(z[{num}]) ⊙ (W[{next_num}]ᵀ δ[{next_num}]), g' = {_sstr(derivative)}"
        if self.unrolled(index + 1) and self.unrolled(index):
            lines = self.assignments([(f"t->d{num}[{j}]", stabilize_branched(e))
                                      for j, e in enumerate(self.d.delta_index(index))])
            return Block(f"{comment} (unrolled)", lines)
        nxt = self.d.symbols(index + 1)
        n, n_next = self.net.sizes[index], self.net.sizes[index + 1]
        term = self.printer({nxt.W[0, 0]: f"p->W{next_num}[k][j]", nxt.delta[0]: f"t->d{next_num}[k]"}) \
            .doprint(nxt.W[0, 0] * nxt.delta[0])
        # W[l+1]ᵀ δ[l+1] row by row of W, so memory is read in order
        declarations = [f"{self.prefix}_real back[{n}] = {{0}};",
                        f"for (int k = 0; k < {n_next}; ++k) {{",
                        f"    for (int j = 0; j < {n}; ++j) back[j] += {term};",
                        "}"]
        names = {**self._generic_names(index), STEP_SUM: "back[j]"}
        lines = self.assignments([(f"t->d{num}[j]", stabilize_branched(derivative) * STEP_SUM)], names)
        return Block(f"{comment} (loops)", lines, loop=n, declarations=declarations)

    # ----------------------------------------------------------- gradients
    def _per_param(self, index: int, weight_expr, bias_expr, op: str, comment: str,
                   target: str = "grad->") -> list[Block]:
        """Statements ``target W[j][k] op f(j, k)`` and ``target b[j] op g(j)`` for layer ``index``."""
        s, num = self.d.symbols(index), self.num(index)
        n, n_prev = s.W.shape
        form = self.form(index)
        blocks = []
        if self.unrolled(index):
            pairs = [(f"{target}W{num}[{j}][{k}]", weight_expr(s.W[j, k], j, k, f"[{j}][{k}]"))
                     for j in range(n) for k in range(n_prev)]
            if s.b:
                pairs += [(f"{target}b{num}[{j}]", bias_expr(s.b[j], j, f"[{j}]")) for j in range(n)]
            blocks.append(Block(f"{comment} ({form})", self.assignments(pairs, op=op)))
            return blocks
        names = self._generic_names(index)
        printer = self.printer(names)
        weight = printer.doprint(weight_expr(s.W[0, 0], 0, 0, "[j][k]"))   # unit 0's symbols print as j, k
        body = [f"for (int k = 0; k < {n_prev}; ++k) {target}W{num}[j][k] {op} {weight};"]
        if s.b:
            body.append(f"{target}b{num}[j] {op} {printer.doprint(bias_expr(s.b[0], 0, '[j]'))};")
        blocks.append(Block(f"{comment} ({form})", body, loop=n))
        return blocks

    def accumulate_blocks(self) -> list[Block]:
        """grad += this example's ∂ℓ/∂W = δ aᵀ and ∂ℓ/∂b = δ."""
        blocks = []
        for index in range(1, self.L + 1):
            num, prev = self.num(index), self.num(index - 1)
            grad_b = self.d.grad_b_index(index)
            blocks += self._per_param(
                index, lambda w, j, k, slot, index=index: self.d.grad_W_entry(index, j, k), lambda b, j, slot, g=grad_b: g[j], "+=",
                f"Σ_i ∂ℓ/∂W[{num}] += δ[{num}] a[{prev}]ᵀ" + (f", Σ_i ∂ℓ/∂b[{num}] += δ[{num}]" if grad_b else ""))
        return blocks

    def _batch_gradient(self, weight: bool) -> sp.Expr:
        """∂C/∂θ from the accumulated Σ_i ∂ℓ_i/∂θ: c Σ_i + λ θ (weights only), with the spec's λ."""
        expr = self.d.reduction_factor * ACCUMULATED + (self.d.l2 * PARAM if weight else 0)
        return expr.subs({M: M_REAL, LAMBDA: sp.Float(self.net.l2)})

    def scale_blocks(self) -> list[Block]:
        blocks = []
        weight_grad, bias_grad = self._batch_gradient(True), self._batch_gradient(False)
        for index in range(1, self.L + 1):
            num = self.num(index)
            blocks += self._per_param(
                index,
                lambda w, j, k, slot, num=num: weight_grad.subs({ACCUMULATED: sp.Symbol(f"grad->W{num}{slot}"), PARAM: w}),
                lambda b, j, slot, num=num: bias_grad.subs(ACCUMULATED, sp.Symbol(f"grad->b{num}{slot}")),
                "=", f"∂C/∂W[{num}] = {_sstr(self.d.reduction_factor)} Σ_i ∂ℓ/∂W[{num}]"
                + (f" + λ W[{num}]" if self.net.l2 else ""))
        return blocks

    # ------------------------------------------------------------- updates
    def _update(self, gradient: sp.Expr) -> sp.Expr:
        return self.d.update_expr(PARAM, gradient, LEARNING_RATE)

    def update_blocks(self) -> list[Block]:
        """θ ← θ − η ∂C/∂θ from a gradient buffer ``grad``."""
        blocks = []
        for index in range(1, self.L + 1):
            num = self.num(index)
            blocks += self._per_param(
                index,
                lambda w, j, k, slot, num=num: self._update(sp.Symbol(f"grad.W{num}{slot}")).subs(PARAM, w),
                lambda b, j, slot, num=num: self._update(sp.Symbol(f"grad.b{num}{slot}")).subs(PARAM, b),
                "=", f"W[{num}] ← W[{num}] − η ∂C/∂W[{num}]", target="p->")
        return blocks

    def fused_steps(self) -> list[dict]:
        """One example, from the output down: layer l's update, after δ of the layer below is computed.

        δ[l−1] needs W[l] before its update, so it comes first; no gradient buffer is needed.
        """
        steps = []
        weight_grad = self._batch_gradient(True).subs(M_REAL, 1)
        bias_grad = self._batch_gradient(False).subs(M_REAL, 1)
        for index in range(self.L, 0, -1):
            num = self.num(index)
            grad_b = self.d.grad_b_index(index)
            blocks = self._per_param(
                index,
                lambda w, j, k, slot, index=index: self._update(
                    weight_grad.subs({ACCUMULATED: self.d.grad_W_entry(index, j, k), PARAM: w})).subs(PARAM, w),
                lambda b, j, slot, g=grad_b: self._update(bias_grad.subs(ACCUMULATED, g[j])).subs(PARAM, b),
                "=", f"W[{num}] ← W[{num}] − η ∂ℓ/∂W[{num}], one example", target="p->")
            steps.append({"delta_below": self.num(index - 1) if index > 1 else None, "blocks": blocks})
        return steps

    # ---------------------------------------------------------------- cost
    def loss_lines(self) -> list[str]:
        """Statements adding this example's loss ℓ to ``loss_sum``."""
        loss = self.d.loss
        if loss.has(sp.log, sp.exp):   # evaluated from z, where it can be stabilised
            s = self.d.symbols(self.L)
            loss = loss.xreplace(dict(zip(s.a, self.d.a_index(self.L))))
        return self.assignments([("loss_sum", stabilize_branched(loss))], op="+=")

    def cost_expr(self) -> str:
        """C = c Σ_i ℓ_i + (λ/2) Σ ‖W‖², printed from the derivation's cost."""
        loss_row = sp.MatrixSymbol("loss_row", 1, M)
        expr = self.d.cost_matrix_expr(loss_row)
        replacements = {}
        for trace in expr.atoms(sp.Trace):
            if trace.has(loss_row):
                replacements[trace] = LOSS_SUM
            for index in range(1, self.L + 1):
                if trace.has(self.d.matrix(index).W):
                    replacements[trace] = sp.Symbol(f"weight_sq{self.num(index)}")   # ‖W‖², summed in C
        scalar = expr.xreplace(replacements).subs({M: M_REAL, LAMBDA: sp.Float(self.net.l2)})
        return self.printer({M_REAL: "m_real", LOSS_SUM: "loss_sum"}).doprint(scalar)

    # ------------------------------------------------------------ context
    def params(self) -> list[CParam]:
        out = []
        sizes = self.net.sizes
        for index, layer in enumerate(self.net.layers, start=1):
            n, n_prev = sizes[index], sizes[index - 1]
            limit = sp.sqrt(sp.Rational(6, n + n_prev))
            out.append(CParam(f"W{self.num(index)}", n, n_prev, False, self.printer().doprint(sp.Float(float(limit)))))
            if layer.bias:
                out.append(CParam(f"b{self.num(index)}", n, 0, True, "0"))
        return out

    def context(self) -> dict:
        net = self.net
        forward = self.forward_blocks()
        delta_out = self.output_delta_block()
        hidden = [self.hidden_delta_block(index) for index in range(self.L - 1, 0, -1)]
        accumulate = self.accumulate_blocks()
        scale = self.scale_blocks()
        update = self.update_blocks()
        fused = self.fused_steps()
        loss_lines = self.loss_lines()
        cost_expr = self.cost_expr()
        everything = "\n".join(line for block in [*forward, delta_out, *hidden, *accumulate, *scale, *update,
                                                                *[b for step in fused for b in step["blocks"]]]
                               for line in block.declarations + block.body)
        everything += "\n".join(loss_lines) + cost_expr
        layers = [{"number": self.num(i), "units": layer.units, "activation": layer.activation.name,
                   "bias": layer.bias, "form": self.form(i)} for i, layer in enumerate(net.layers, start=1)]
        return {
            "name": net.name,
            "guard": f"{net.name.upper()}_H",
            "upper": net.name.upper(),
            "sizes": list(net.sizes),
            "n_in": net.sizes[0],
            "n_out": net.sizes[-1],
            "n_params": net.n_params,
            "layers": layers,
            "input_number": self.num(0),
            "output_number": self.num(self.L),
            "loss": net.loss.name,
            "loss_formula": net.loss.formula,
            "targets_sum_to_one": net.loss.targets_sum_to_one,
            "reduction": net.reduction,
            "l2": repr(float(net.l2)),
            "has_l2": bool(net.l2),
            "params": self.params(),
            "weights": [p for p in self.params() if not p.is_bias],
            "trace_fields": [f"z{self.num(i)}[{n}], a{self.num(i)}[{n}], d{self.num(i)}[{n}]"
                             for i, n in enumerate(net.sizes[1:], start=1)],
            "math_functions": used_math_functions(everything, self.prefix),
            "forward_blocks": forward,
            "output_delta_block": delta_out,
            "hidden_delta_blocks": hidden,
            "hidden_delta_functions": [(self.num(i), block) for i, block in zip(range(self.L - 1, 0, -1), hidden)],
            "accumulate_blocks": accumulate,
            "scale_blocks": scale,
            "update_blocks": update,
            "fused_steps": fused,
            "loss_lines": loss_lines,
            "loss_uses_y": any("y[" in line for line in loss_lines),
            "delta_uses_y": any("y[" in line for line in delta_out.body),
            "cost_expr": cost_expr,
        }
