"""The worked solution of a net with conv and pool layers (issue 15): every number, unit by unit.

A conv or pool layer's units are named by their place in the layer's array, z^{[1]}_{i,j} (with the
channel first, z^{[1]}_{c,i,j}, when the layer has more than one), the input's x_{i,j}, a kernel's
entries W^{[1]}_{p,q} (W^{[1]}_{c,c′,p,q}); a dense layer's units keep their one index. Every sum is
one of the derivation's own per-unit expressions (``z_index``, ``delta_factors``, ``output_delta``,
``parameter_gradients``), written term by term in the order of the units it reads, first with the names
and then with the numbers; the numbers come from ``evaluate`` (the same settled trace as a dense net's
solution). Max pooling shows which entry of each window wins and receives the window's δ.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from ..derivation import spatial
from ..derivation.backprop import Derivation
from ..errors import SpecError
from ..evaluation import Trace
from ..evaluation.steps import Steps
from .notation import ELL, ETA, activation_call, as_factor
from .printer import NotationPrinter
from .spatial_terms import flat_symbols as _flat_symbols, pair as _pair, total as _sum, write
from .solution_spatial_words import spatial_words

class SpatialSteps:
    """The worked solution of a net with conv or pool layers: mixed into ``solution._Solution`` (whose document,
    numbers, layout and helpers it uses) by ``solution_document``, which imports this module, not the reverse."""

    def __init__(self, derivation: Derivation, trace: Trace, fmt: str, lang: str, digits: int) -> None:
        super().__init__(derivation, trace, fmt, lang, digits)
        self.ws = {key: text.replace("{d}", f"${self.names.delta_letter}$")
                   for key, text in spatial_words(lang).items()}
        self.steps = Steps.of(derivation, exact=trace.digits > 0)
        self.labels = self._labels()

    # ------------------------------------------------------------- names
    def _unit(self, letter: str, number: int | None, shape: tuple[int, ...], flat: int) -> str:
        index = [i + 1 for i in np.unravel_index(flat, shape)]
        if len(shape) > 1 and shape[0] == 1:
            index = index[1:]          # one channel: z_{i,j}
        sup = "" if number is None else f"^{{{self.names.sup(number)}}}"
        return f"{letter}{sup}_{{{','.join(map(str, index))}}}"

    def shape(self, layer: int) -> tuple[int, ...]:
        return self.trace.shapes[layer]

    def _labels(self) -> dict[sp.Symbol, str]:
        """Every index-form symbol → its name in the layer's shape."""
        d, n = self.d, self.names
        labels = {x: self._unit("x", None, self.shape(d.input_number), k) for k, x in enumerate(d.x)}
        labels.update({y: n.scalar("y", None, k + 1) for k, y in enumerate(d.y)})
        for layer in d.layer_numbers:
            s, kind, shape = d.symbols(layer), d.layer(layer), self.shape(layer)
            for letter, group in (("z", s.z), ("a", s.a), (n.delta_letter, s.delta)):
                labels.update({sym: self._unit(letter, layer, shape, j) for j, sym in enumerate(group)})
            if kind.kind == "conv":
                one = kind.weight_shape[:2] == (1, 1)
                for index in spatial.positions(kind.weight_shape):
                    shown = index[2:] if one else index
                    labels[s.W[index]] = f"{n.weight_letter}^{{{n.sup(layer)}}}_{{{','.join(str(i + 1) for i in shown)}}}"
                for c, b in enumerate(s.b or ()):
                    labels[b] = f"b^{{{n.sup(layer)}}}" + ("" if kind.channels == 1 else f"_{{{c + 1}}}")
            elif kind.kind == "dense":
                for j in range(s.W.rows):
                    for k in range(s.W.cols):
                        labels[s.W[j, k]] = n.weight_entry(layer, j + 1, k + 1)
                labels.update({b: n.scalar("b", layer, j + 1) for j, b in enumerate(s.b or ())})
        return labels

    def values(self, i: int) -> dict[sp.Symbol, str]:
        """Every symbol → its number in example ``i`` (inputs as given, computed values rounded)."""
        d, t, n = self.d, self.trace, self.numbers
        out = {x: n.substituted(n.input(t.X[k, i])) for k, x in enumerate(d.x)}
        out.update({y: n.substituted(n.input(t.Y[k, i])) for k, y in enumerate(d.y)})
        for layer in d.layer_numbers:
            s = d.symbols(layer)
            for name, group in (("z", s.z), ("a", s.a), ("delta", s.delta)):
                out.update({sym: n.substituted(n.result(getattr(t, name)[layer][j, i])) for j, sym in enumerate(group)})
            if t.W[layer] is not None:
                out.update({w: n.substituted(n.input(v)) for w, v in
                            zip(_flat_symbols(s.W), np.asarray(t.W[layer]).reshape(-1))})
            if s.b:
                out.update({b: n.substituted(n.input(t.b[layer][c, 0])) for c, b in enumerate(s.b)})
        return out

    def write(self, expr: sp.Expr, names: dict, numbers: bool) -> str:
        """A sum of products as printed (``spatial_terms.write``)."""
        return write(expr, names, numbers, self.numbers.substituted)

    def printed(self, expr: sp.Expr, names: dict) -> str:
        """``expr`` through the notation printer with every symbol named by ``names`` (cases blocks, σ′ ...)."""
        return NotationPrinter(self.d, names, lang=self.lang).doprint(expr)

    def matrix_lines(self, left: str, relation_values, values: np.ndarray, layer: int, computed: bool = True) -> list:
        """A layer's map shown as one matrix per channel (a dense layer's as a column)."""
        shape = self.shape(layer)
        array = np.asarray(values, dtype=object).reshape(shape)
        if len(shape) == 1:
            return self.define(left, self.numbers.relation(relation_values), array.reshape(-1, 1), computed)
        lines = []
        for c in range(shape[0]):
            part = array[c] if len(shape) == 3 else array[c].reshape(1, -1)
            name = left if shape[0] == 1 else f"{left}_{{{c + 1},:}}"
            relation = self.numbers.relation(part) if computed else "="
            lines += self.define(name, relation, part, computed)
        return lines

    def scalar(self, value) -> str:
        return self.scalar_result(value)

    # ------------------------------------------------------------- sections
    def given(self) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        doc.section(w["given"])
        doc.paragraph(w["given_intro"])
        lines = []
        for layer in d.layer_numbers:
            kind = d.layer(layer)
            if kind.kind == "conv":
                for c, c_in in spatial.positions(kind.weight_shape[:2]):
                    name = self.names.matrix(self.names.weight_matrix_letter, layer)
                    if kind.weight_shape[:2] != (1, 1):
                        name += f"_{{{c + 1},{c_in + 1}}}"
                    kernel = t.W[layer][c, c_in]
                    lines += self.define(name, "=", kernel if kernel.ndim == 2 else kernel.reshape(1, -1), False)
                if t.b[layer] is not None:
                    lines += self.define(self.names.matrix("b", layer), "=", t.b[layer], False)
            elif kind.kind == "dense":
                forms = d.matrix(layer)
                lines += self.define(self.tex(forms.W), "=", t.W[layer], computed=False)
                if forms.b is not None:
                    lines += self.define(self.tex(forms.b), "=", t.b[layer], computed=False)
        for i in range(t.m):
            x = "x" if t.m == 1 else f"x^{{({i + 1})}}"
            lines += self.matrix_lines(x, t.X[:, i], t.X[:, i], d.input_number, computed=False)
        lines += self.define("Y", "=", t.Y, computed=False)
        if t.learning_rate is not None:
            lines.append(f"{self.tex(ETA)} & = {self.numbers.input(t.learning_rate)}")
        self.equations(lines)
        if t.learning_rate is None:
            doc.paragraph(w["given_no_rate"])
        doc.paragraph(w["digits_note"].format(digits=self.numbers.digits))

    def forward(self, i: int) -> None:
        d, t, doc, ws = self.d, self.trace, self.doc, self.ws
        doc.section(self.w["forward_example"].format(i=i + 1))
        values = self.values(i)
        for layer in d.layer_numbers:
            kind, s = d.layer(layer), d.symbols(layer)
            z_name, a_name = self.names.scalar("z", layer), self.names.scalar("a", layer)
            below = "x" if layer == d.first else self.names.scalar("a", layer - 1)
            if kind.kind == "conv":
                doc.paragraph(ws["conv_layer"].format(
                    number=layer, kernel="×".join(map(str, kind.kernel)), stride=_pair(kind.stride),
                    padding=_pair(kind.padding), z=f"${z_name}$", a=f"${below}$",
                    padding_note=ws["padding_note"] if any(kind.padding) else ""))
            elif kind.kind == "pool":
                doc.paragraph(ws[f"pool_layer_{kind.mode}"].format(
                    number=layer, size="×".join(map(str, kind.size)), stride=_pair(kind.stride), z=f"${z_name}$",
                    a=f"${below}$", a_out=f"${a_name}$"))
            else:
                doc.paragraph(ws["dense_layer"].format(number=layer, a=f"${below}$"))
            lines = []
            for j, expr in enumerate(d.z_index(layer)):
                lines += self.step(self.labels[s.z[j]], self.write(expr, self.labels, False),
                                   self.write(expr, values, True), self.scalar(t.z[layer][j, i]))
            if kind.kind != "dense":
                lines += self.matrix_lines(z_name, t.z[layer][:, i], t.z[layer][:, i], layer)
            self.equations(lines)
            if kind.kind == "pool":
                continue
            if kind.kind == "conv" and len(self.shape(layer)) == 3 and not kind.activation.name == "identity":
                doc.paragraph(ws["activation_map"])
                lines = []
                for c in range(self.shape(layer)[0]):
                    suffix = "" if self.shape(layer)[0] == 1 else f"_{{{c + 1},:}}"
                    zc = t.z[layer][:, i].reshape(self.shape(layer))[c]
                    ac = t.a[layer][:, i].reshape(self.shape(layer))[c]
                    lines += self.step(a_name + suffix, activation_call(d, layer, z_name + suffix),
                                       activation_call(d, layer, self.shown_matrix(zc)), self.result(ac))
                self.equations(lines)
            elif kind.activation.name != "identity" or kind.kind == "dense":
                lines = []
                for j in range(len(s.a)):
                    if kind.activation.is_softmax:
                        lines += self.step(self.labels[s.a[j]], activation_call(d, layer, z_name, j + 1),
                                           activation_call(d, layer, self.shown_matrix(t.z[layer][:, i]), j + 1),
                                           self.scalar(t.a[layer][j, i]))
                    else:
                        lines += self.step(self.labels[s.a[j]], activation_call(d, layer, self.labels[s.z[j]]),
                                           activation_call(d, layer, self.numbers.result(t.z[layer][j, i])),
                                           self.scalar(t.a[layer][j, i]))
                self.equations(lines)
        doc.paragraph(self.w["loss_example"].format(i=i + 1))
        self.equations(self.step(f"{ELL}_{{{i + 1}}}", self.printed(d.loss, self.labels),
                                 self.printed(d.loss, values), self.scalar(t.loss[i])))

    def cost(self) -> None:
        d, t = self.d, self.trace
        self.doc.section(self.w["total_cost"])
        self.doc.paragraph(self.w[f"total_cost_{d.network.reduction}"].format(m=t.m))
        losses = [f"{ELL}_{{{i + 1}}}" for i in range(t.m)]
        shown = [self.numbers.substituted(self.numbers.result(v)) for v in t.loss]
        scale = rf"\frac{{1}}{{{t.m}}} " if d.network.reduction == "mean" and t.m > 1 else ""
        symbolic, numbers = scale + _sum(losses), scale + _sum(shown)
        if d.l2 != 0:
            lam = self.numbers.input(d.network.l2)
            weights = [(layer, w) for layer in d.layer_numbers if t.W[layer] is not None
                       for w in np.asarray(t.W[layer]).reshape(-1)]
            symbolic += r" + \frac{\lambda}{2} \sum W^{2}"
            numbers += rf" + \frac{{{lam}}}{{2}} \left(" + " + ".join(
                rf"\left({self.numbers.input(w)}\right)^{{2}}" for _, w in weights) + r"\right)"
        if t.m == 1 and d.l2 == 0:     # C = ℓ_1: nothing to compute
            self.equations([f"{self.names.cost} & = {symbolic} {self.scalar(t.cost)}"])
            return
        self.equations(self.step(self.names.cost, symbolic, numbers, self.scalar(t.cost)))

    def backward(self, i: int) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        doc.section(w["backward_example"].format(i=i + 1))
        values = self.values(i)
        doc.paragraph(w["output_error"])
        s = d.symbols(d.last)
        lines = []
        for k, expr in enumerate(d.output_delta):
            lines += self.step(self.labels[s.delta[k]], self.printed(expr, self.labels), self.printed(expr, values),
                               self.scalar(t.delta[d.last][k, i]))
        self.equations(lines)
        for layer in reversed(d.layer_numbers[:-1]):
            self.hidden_delta(layer, i, values)
        self.example_gradients(i, values)

    def hidden_delta(self, layer: int, i: int, values: dict) -> None:
        d, t, doc, ws = self.d, self.trace, self.doc, self.ws
        s, above = d.symbols(layer), d.layer(layer + 1)
        delta_name = self.names.scalar(self.names.delta_letter, layer + 1)
        a_name = self.names.scalar("a", layer)
        factors = d.delta_factors(layer)
        identity = all(derivative == 1 for derivative, _ in factors)
        lines = []
        if above.kind == "pool" and above.mode == "max":
            doc.paragraph(ws["routing_max"].format(number=layer + 1))
            items, won = [], {}
            for k, window in enumerate(spatial.pool_windows(above)):
                entries = [t.a[layer][u, i] for u in window]
                winner = window[max(range(len(window)), key=lambda p: (entries[p], -p))]
                won.setdefault(winner, []).append(k)
                nxt = d.symbols(layer + 1)
                items.append(ws["routing_window"].format(
                    z="$" + self.labels[nxt.z[k]] + "$",
                    entries="$" + ", ".join(self.labels[s.a[u]] for u in window) + " = "
                            + ", ".join(self.numbers.result(v) for v in entries) + "$",
                    winner=f"${self.labels[s.a[winner]]}$",
                    delta=f"${self.labels[nxt.delta[k]]} {self.numbers.relation([t.delta[layer + 1][k, i]])} "
                          f"{self.numbers.result(t.delta[layer + 1][k, i])}$"))
            doc.items(items)
            doc.paragraph(ws["delta_times_derivative"].format(number=layer))
            nxt = d.symbols(layer + 1)
            for u, windows in sorted(won.items()):
                derivative = factors[u][0]
                arriving = sum((nxt.delta[k] for k in windows), sp.Integer(0))
                lines += self._delta_line(layer, u, i, derivative, arriving, values, identity)
            self.equations(lines)
            if len(won) < len(s.delta):
                doc.paragraph(ws["delta_zero"].format(number=layer))
        else:
            if above.kind == "dense":
                doc.paragraph(ws["delta_dense_above"].format(number=layer, above=layer + 1, a=f"${a_name}$"))
            elif above.kind == "conv":
                doc.paragraph(ws["delta_conv_above"].format(number=layer, above=layer + 1, delta=f"${delta_name}$"))
            else:
                doc.paragraph(ws["routing_average"].format(number=layer + 1, count=int(np.prod(above.size))))
            for u, (derivative, back) in enumerate(factors):
                lines += self._delta_line(layer, u, i, derivative, back, values, identity)
            self.equations(lines)
        if len(self.shape(layer)) > 1:
            self.equations(self.matrix_lines(self.names.scalar(self.names.delta_letter, layer),
                                             t.delta[layer][:, i], t.delta[layer][:, i], layer))

    def _delta_line(self, layer, u, i, derivative, back, values, identity) -> list[str]:
        """δ_u = g′(z_u) · (what arrives), written with names, then numbers."""
        t, s = self.trace, self.d.symbols(layer)
        back_names, back_numbers = self.write(back, self.labels, False), self.write(back, values, True)
        if back == 0:
            back_names = back_numbers = "0"
        if identity:
            symbolic, numbers = back_names, back_numbers
        else:
            if isinstance(back, sp.Add):      # a single factor keeps its own parentheses (a negative number's)
                back_names, back_numbers = rf"\left({back_names}\right)", rf"\left({back_numbers}\right)"
            symbolic = rf"{as_factor(derivative, self.printed(derivative, self.labels))} {back_names}"
            numbers = rf"{as_factor(derivative, self.printed(derivative, values))} \cdot {back_numbers}"
        return self.step(self.labels[s.delta[u]], symbolic, numbers, self.scalar(t.delta[layer][u, i]))

    def example_gradients(self, i: int, values: dict) -> None:
        d, t, doc, ws = self.d, self.trace, self.doc, self.ws
        doc.paragraph(self.w["example_gradients"].format(i=i + 1))
        loss_i = f"{ELL}_{{{i + 1}}}"
        for layer in reversed(d.layer_numbers):
            kind, s = d.layer(layer), d.symbols(layer)
            if kind.kind == "pool":
                continue
            gradients = d.parameter_gradients(layer)
            doc.paragraph(ws["kernel_gradient"] if kind.kind == "conv" else ws["dense_gradient"].format(number=layer))
            lines = []
            flat_dW = np.asarray(t.dW_example[layer][i]).reshape(-1)
            for w, value in zip(_flat_symbols(s.W), flat_dW):
                lines += self.step(self.names.partial(loss_i, self.labels[w]), self.write(gradients[w], self.labels, False),
                                   self.write(gradients[w], values, True), self.scalar(value))
            if kind.kind == "conv" and s.b:
                self.equations(lines)
                doc.paragraph(ws["bias_gradient_conv"])
                lines = []
            for c, b in enumerate(s.b or ()):
                lines += self.step(self.names.partial(loss_i, self.labels[b]), self.write(gradients[b], self.labels, False),
                                   self.write(gradients[b], values, True), self.scalar(t.db_example[layer][i][c, 0]))
            self.equations(lines)

    def batch_gradients(self) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        doc.section(w["batch_gradients"])
        single = t.m == 1 and d.l2 == 0
        doc.paragraph(w["batch_gradients_single"] if single else w[f"batch_gradients_{d.network.reduction}"].format(m=t.m))
        scale = rf"\frac{{1}}{{{t.m}}} " if d.network.reduction == "mean" and t.m > 1 else ""
        cost = self.names.cost
        lines = []
        for layer in reversed(d.layer_numbers):
            s = d.symbols(layer)
            if t.W[layer] is None:
                continue
            params = [(w, v, g, ge, True) for w, v, g, ge in zip(
                _flat_symbols(s.W), np.asarray(t.W[layer]).reshape(-1), np.asarray(t.dW[layer]).reshape(-1),
                t.dW_example[layer].reshape(t.m, -1).T)]
            if s.b:
                params += [(b, t.b[layer][c, 0], t.db[layer][c, 0], t.db_example[layer][:, c, 0], False)
                           for c, b in enumerate(s.b)]
            for symbol, value, gradient, per_example, is_weight in params:
                left = self.names.partial(cost, self.labels[symbol])
                if single:
                    lines.append(f"{left} & {self.numbers.relation([gradient])} {self.numbers.result(gradient)}")
                    continue
                names = [self.names.partial(f"{ELL}_{{{i + 1}}}", self.labels[symbol]) for i in range(t.m)]
                shown = [self.numbers.substituted(self.numbers.result(g)) for g in per_example]
                symbolic, numbers = scale + _sum(names), scale + _sum(shown)
                if d.l2 != 0 and is_weight:
                    symbolic += rf" + \lambda {self.labels[symbol]}"
                    numbers += rf" + {self.numbers.input(d.network.l2)} \cdot {self.numbers.substituted(self.numbers.input(value))}"
                lines += self.step(left, symbolic, numbers, self.scalar(gradient))
        self.equations(lines)

    def updates(self) -> None:
        d, t, doc, w = self.d, self.trace, self.doc, self.w
        if t.learning_rate is None:
            return
        doc.section(w["updated"])
        eta = self.numbers.input(t.learning_rate)
        doc.paragraph(w["updated_intro"].format(eta=f"${self.tex(ETA)} = {eta}$"))
        lines = []
        for layer in d.layer_numbers:
            s = d.symbols(layer)
            if t.W[layer] is None:
                continue
            params = list(zip(_flat_symbols(s.W), np.asarray(t.W[layer]).reshape(-1),
                              np.asarray(t.dW[layer]).reshape(-1), np.asarray(t.W_next[layer]).reshape(-1)))
            if s.b:
                params += [(b, t.b[layer][c, 0], t.db[layer][c, 0], t.b_next[layer][c, 0]) for c, b in enumerate(s.b)]
            for symbol, value, gradient, new in params:
                name = self.labels[symbol]
                symbolic = rf"{name} - {self.tex(ETA)} {self.names.partial(self.names.cost, name)}"
                numbers = (rf"{self.numbers.input(value)} - {eta} \cdot "
                           rf"{self.numbers.substituted(self.numbers.result(gradient))}")
                lines += self.step(name, symbolic, numbers, self.scalar(new), first=r"\leftarrow")
        self.equations(lines)


def check_spatial(derivation: Derivation, lang: str) -> None:
    """What the worked solution of a conv net cannot show yet: an [optimizer] other than sgd (one line)."""
    optimizer = derivation.network.optimizer
    if optimizer.given and optimizer.kind != "sgd":
        raise SpecError("optimizer.kind", spatial_words(lang)["optimizer_refused"] + f", got {optimizer.kind!r}",
                        derivation.network.source)
