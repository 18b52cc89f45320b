"""An independent high-precision reference for any dense net a spec can describe, in mpmath only.

Nothing here imports deltagen: activations and losses are written from their textbook
definitions, custom activations are evaluated from the spec's own text with only ``z``
and mpmath functions in scope, and gradients are central differences at 50 digits.
The tests use it as the source of expected numbers for generated NumPy and C code.

A spec is the plain dict a spec file parses to (``name``, ``input``, ``layers``,
``loss``, ``reduction``, ``l2``, ``notation``); params are ``{"W1": ..., "b1": ...}``
arrays with the generated code's shapes (W: units × inputs, b: units × 1);
``X`` is (n_in, m) and ``Y`` is (n_out, m), one example per column.
"""
from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

import mpmath
import numpy as np

#: default working precision and central-difference step: truncation error ~h² f''' ≈ 1e-40,
#: rounding error ~10^-DIGITS / h = 1e-30
DIGITS = 50
STEP = "1e-20"
LEAKY_RELU_DEFAULT_ALPHA = mpmath.mpf(1) / 100

#: the names a custom activation may use, as mpmath functions (the README's list)
MP_FUNCTIONS = {"exp": mpmath.exp, "log": mpmath.log, "sqrt": mpmath.sqrt, "tanh": mpmath.tanh,
                "sinh": mpmath.sinh, "cosh": mpmath.cosh, "sin": mpmath.sin, "cos": mpmath.cos,
                "atan": mpmath.atan, "Abs": abs, "pi": mpmath.pi, "E": mpmath.e}
_NUMBER = re.compile(r"(?<![A-Za-z_])(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)")

Vector = list  # of mpmath.mpf


def mpf(value) -> mpmath.mpf:
    """A float as the exact binary number the generated code sees."""
    return value if isinstance(value, mpmath.mpf) else mpmath.mpf(float(value))


def custom_activation(text: str) -> Callable[[mpmath.mpf], mpmath.mpf]:
    """g(z) from a custom activation's text (``"2*z"``), numbers read exactly (1/3 is not 0.333…)."""
    source = _NUMBER.sub(lambda m: f"mpf('{m.group(1)}')", text.replace("^", "**"))
    code = compile(source, "<activation>", "eval")
    scope = {"__builtins__": {}, "mpf": mpmath.mpf, **MP_FUNCTIONS}
    return lambda z: eval(code, scope, {"z": z})


def activation(layer: Mapping) -> Callable[[Vector], Vector]:
    """The layer's activation applied to a vector of z values."""
    name = layer["activation"]
    if name == "softmax":
        def softmax(z: Vector) -> Vector:
            top = max(z)
            exps = [mpmath.exp(zk - top) for zk in z]
            total = mpmath.fsum(exps)
            return [e / total for e in exps]
        return softmax
    alpha = mpf(layer["alpha"]) if "alpha" in layer else LEAKY_RELU_DEFAULT_ALPHA
    scalar = {
        "identity": lambda z: z,
        "sigmoid": lambda z: 1 / (1 + mpmath.exp(-z)),
        "tanh": mpmath.tanh,
        "relu": lambda z: z if z > 0 else mpmath.mpf(0),
        "leaky_relu": lambda z: z if z > 0 else alpha * z,
    }.get(name) or custom_activation(name)
    return lambda z: [scalar(zk) for zk in z]


def loss(name: str, a: Vector, y: Vector) -> mpmath.mpf:
    """The per-example loss ℓ(a, y) over the output units."""
    if name == "half_sse":
        return mpmath.fsum((ak - yk) ** 2 for ak, yk in zip(a, y)) / 2
    if name == "mse":
        return mpmath.fsum((ak - yk) ** 2 for ak, yk in zip(a, y)) / len(a)
    if name == "bce":   # 0·log 0 = 0: a target of exactly 0 or 1 drops the other term
        return -mpmath.fsum((yk * mpmath.log(ak) if yk else 0) + ((1 - yk) * mpmath.log(1 - ak) if yk != 1 else 0)
                            for ak, yk in zip(a, y))
    if name == "cce":
        return -mpmath.fsum(yk * mpmath.log(ak) for ak, yk in zip(a, y) if yk)
    if name == "logistic":
        return mpmath.log(1 + mpmath.exp(-mpmath.fsum(ak * yk for ak, yk in zip(a, y))))
    if name == "hinge":
        return mpmath.fsum(max(mpmath.mpf(0), 1 - yk * ak) for ak, yk in zip(a, y))
    raise ValueError(f"unknown loss {name!r}")


class MpNet:
    """The cost of a spec's network and its gradient by central differences, in high precision."""

    def __init__(self, spec: Mapping, digits: int = DIGITS, step: str = STEP):
        """``digits``: the least working precision; it is raised with the data's largest |z| (see
        ``working_digits``), so that σ(1000) = 1 − e^{-1000} is not rounded to 1."""
        self.spec = spec
        self.digits = digits
        self.step = mpmath.mpf(step)
        first = spec.get("notation", {}).get("input_layer", 0)
        self.layers = []   # (W name, b name or None, activation)
        for index, layer in enumerate(spec["layers"], start=1):
            number = first + index
            self.layers.append((f"W{number}", f"b{number}" if layer.get("bias", True) else None, activation(layer)))
        self.loss = spec["loss"]
        self.mean = spec.get("reduction", "mean") == "mean"
        self.l2 = mpf(spec.get("l2", 0.0))

    @staticmethod
    def _params(params: Mapping) -> dict[str, list[list[mpmath.mpf]]]:
        return {key: [[mpf(v) for v in row] for row in np.asarray(value, dtype=float).reshape(len(value), -1)]
                for key, value in params.items()}

    @staticmethod
    def _columns(A, rows: int) -> list[Vector]:
        A = np.asarray(A, dtype=float).reshape(rows, -1)
        return [[mpf(v) for v in A[:, i]] for i in range(A.shape[1])]

    def _output(self, p: dict, a: Vector) -> Vector:
        for w_name, b_name, g in self.layers:
            W = p[w_name]
            b = [row[0] for row in p[b_name]] if b_name else [0] * len(W)
            a = g([mpmath.fsum(w * ak for w, ak in zip(row, a)) + bj for row, bj in zip(W, b)])
        return a

    def _cost(self, p: dict, xs: list, ys: list) -> mpmath.mpf:
        total = mpmath.fsum(loss(self.loss, self._output(p, x), y) for x, y in zip(xs, ys))
        if self.mean:
            total /= len(xs)
        if self.l2:
            total += self.l2 / 2 * mpmath.fsum(v * v for key, rows in p.items() if key.startswith("W")
                                               for row in rows for v in row)
        return total

    def _prepared(self, params: Mapping, X, Y):
        p = self._params(params)
        n_in, n_out = len(p[self.layers[0][0]][0]), len(p[self.layers[-1][0]])
        return p, self._columns(X, n_in), self._columns(Y, n_out)

    def output(self, params: Mapping, x: Sequence) -> Vector:
        """a^[L] for one example."""
        with mpmath.workdps(self.digits):
            return self._output(self._params(params), [mpf(v) for v in np.ravel(x)])

    def working_digits(self, params: Mapping, X) -> int:
        """Enough digits for this data: ``digits``, raised by the decimal size of e^{max|z|}.

        A saturated sigmoid has 1 − a ≈ e^{-|z|}; bce's log(1 − a) keeps only ``digits`` − |z|/ln 10
        of them, and a central difference divides that error by h. So a reference at |z| = 60 needs
        about 26 more digits than one at |z| = 1 (50 digits there gave gradients wrong in the 7th digit).
        """
        with mpmath.workdps(30):
            p = self._params(params)
            largest = max((abs(v) for x in self._columns(X, len(p[self.layers[0][0]][0]))
                           for z in self._trace(p, x)[1] for v in z), default=mpmath.mpf(0))
        return max(self.digits, DIGITS + int(largest / mpmath.log(10)) + 10)

    def cost(self, params: Mapping, X, Y) -> mpmath.mpf:
        """The batch cost: mean or sum of the per-example losses, plus (λ/2) Σ ‖W‖²."""
        with mpmath.workdps(self.working_digits(params, X)):
            return self._cost(*self._prepared(params, X, Y))

    def _from(self, p: dict, index: int, z: Vector) -> Vector:
        """a^[L] given layer ``index``'s pre-activations z (0-based index into ``self.layers``)."""
        a = self.layers[index][2](z)
        for w_name, b_name, g in self.layers[index + 1:]:
            W = p[w_name]
            b = [row[0] for row in p[b_name]] if b_name else [0] * len(W)
            a = g([mpmath.fsum(w * ak for w, ak in zip(row, a)) + bj for row, bj in zip(W, b)])
        return a

    def _trace(self, p: dict, x: Vector) -> tuple[list[Vector], list[Vector]]:
        """(inputs a^[l-1], pre-activations z^[l]) of every layer, for one example."""
        inputs, zs, a = [], [], x
        for w_name, b_name, g in self.layers:
            W = p[w_name]
            b = [row[0] for row in p[b_name]] if b_name else [0] * len(W)
            z = [mpmath.fsum(w * ak for w, ak in zip(row, a)) + bj for row, bj in zip(W, b)]
            inputs.append(a)
            zs.append(z)
            a = g(z)
        return inputs, zs

    def gradient_mp(self, params: Mapping, X, Y) -> dict[str, list[list[mpmath.mpf]]]:
        """∂cost/∂θ for every entry by central differences (cost(θ + h) − cost(θ − h)) / 2h, as mpmath numbers.

        Moving W^[l]_jk by ±h moves z^[l]_j by ±h·a^[l-1]_k and nothing below layer l, so each
        shifted cost is recomputed from layer l up; that is the same cost, found with less work.
        """
        with mpmath.workdps(self.working_digits(params, X)):
            p, xs, ys = self._prepared(params, X, Y)
            traces = [self._trace(p, x) for x in xs]
            squares = mpmath.fsum(v * v for key, rows in p.items() if key.startswith("W") for row in rows for v in row)
            h = self.step

            def shifted_cost(index: int, j: int, shifts: list, l2_change) -> mpmath.mpf:
                total = mpmath.mpf(0)
                for (inputs, zs), y, shift in zip(traces, ys, shifts):
                    z = list(zs[index])
                    z[j] += shift
                    total += loss(self.loss, self._from(p, index, z), y)
                if self.mean:
                    total /= len(xs)
                return total + self.l2 / 2 * (squares + l2_change) if self.l2 else total

            grads = {}
            for index, (w_name, b_name, _) in enumerate(self.layers):
                W = p[w_name]
                grads[w_name] = [[None] * len(row) for row in W]
                for j, row in enumerate(W):
                    for k, value in enumerate(row):
                        inputs_k = [inputs[index][k] for inputs, _ in traces]
                        up = shifted_cost(index, j, [h * a for a in inputs_k], (value + h) ** 2 - value ** 2)
                        down = shifted_cost(index, j, [-h * a for a in inputs_k], (value - h) ** 2 - value ** 2)
                        grads[w_name][j][k] = (up - down) / (2 * h)
                if b_name:
                    grads[b_name] = [[(shifted_cost(index, j, [h] * len(xs), 0)
                                       - shifted_cost(index, j, [-h] * len(xs), 0)) / (2 * h)]
                                     for j in range(len(W))]
            return {key: grads[key] for key in p}

    def gradient(self, params: Mapping, X, Y) -> dict[str, np.ndarray]:
        """``gradient_mp`` rounded to float arrays of the params' shapes (values below the double range become 0)."""
        return {key: np.array([[float(v) for v in row] for row in rows])
                for key, rows in self.gradient_mp(params, X, Y).items()}
