"""deltagen check on conv and pool nets: claims in the layers' shapes, follow-through, and the classic mistakes.

Every expected number is computed here with exact Fractions, by loops over the textbook definitions
(nothing from deltagen): the forward pass of a small net (a 1×4×4 input, a 2-channel 2×2 conv with
padding 1, a 1-channel 2×2 conv with padding 1, 2×2 max pooling, one identity unit, half_sse); the
backward pass by scattering each output's δ back over the inputs it read (the chain rule as written),
which the test checks against the lectures' form (the full correlation of δ with the flipped kernel).
The classic mistakes are then made on purpose in that lecture form: the kernel not flipped, the padding
forgotten (δ read without the offset P, ∂W from the unpadded input), the max pool's δ sent to every
entry of its window, and the average pool's δ not divided by the window size.
"""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from deltagen import derive
from deltagen.derive.checking.answers import parse_answers
from deltagen.derive.checking.check import check
from deltagen.derive.checking.report import as_json, render_text
from deltagen.derive.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent

X = [[1, 2, -1, F(1, 2)], [F(1, 2), -2, F(3, 2), 1], [2, 1, F(-1, 2), -1], [F(-3, 2), F(1, 2), 1, 2]]
W1 = [[[[1, F(-1, 2)], [F(1, 4), 2]]], [[[-1, F(1, 2)], [F(3, 2), F(3, 4)]]]]          # (2, 1, 2, 2)
B1 = [F(7, 16), F(3, 16)]
W2 = [[[[F(1, 2), F(-1, 4)], [1, F(3, 4)]], [[F(1, 4), 1], [F(-1, 2), F(1, 2)]]]]      # (1, 2, 2, 2)
B2 = [F(1, 8)]
W4 = [[F(1, 2), -1, F(1, 4), F(3, 2), F(-1, 2), F(3, 4), 1, F(-1, 4), F(1, 2)]]
B4 = [F(1, 2)]
Y = F(1)


def spec_text(mode: str = "max") -> str:
    def show(v):
        return json.dumps(v, default=lambda f: float(f))
    return f"""
name = "conv_check"
input = [1, 4, 4]
layers = [
  {{ kind = "conv", channels = 2, kernel = 2, padding = 1, activation = "relu" }},
  {{ kind = "conv", channels = 1, kernel = 2, padding = 1, activation = "relu" }},
  {{ kind = "pool", mode = "{mode}", size = 2 }},
  {{ units = 1, activation = "identity" }},
]
loss = "half_sse"
[example]
W = [{show(W1)}, {show(W2)}, {show(W4)}]
b = [{show(B1)}, {show(B2)}, [{show(B4)}]]
X = [{show(X)}]
Y = [[1]]
learning_rate = 0.125
"""


# ---------------------------------------------------------------- the reference, in Fractions

def arr(value) -> np.ndarray:
    return np.array(value, dtype=object)


def zeros(*shape) -> np.ndarray:
    return np.full(shape, F(0), dtype=object)


def pad(a: np.ndarray, P: int) -> np.ndarray:
    out = zeros(a.shape[0], a.shape[1] + 2 * P, a.shape[2] + 2 * P)
    out[:, P:P + a.shape[1], P:P + a.shape[2]] = a
    return out


def conv(a, W, b, P):
    """z[c,i,j] = b[c] + Σ W[c,c',p,q] a_padded[c', i+p, j+q] (stride 1)."""
    ap, k = pad(a, P), W.shape[2]
    H, Wd = ap.shape[1] - k + 1, ap.shape[2] - k + 1
    z = zeros(W.shape[0], H, Wd)
    for c, i, j in np.ndindex(z.shape):
        z[c, i, j] = b[c] + sum(W[c, cc, p, q] * ap[cc, i + p, j + q] for cc in range(W.shape[1])
                                for p in range(k) for q in range(k))
    return z


def conv_back_scatter(W, delta, in_shape, P):
    """Each output's δ sent back to every input it read, with the weight it was read with (the chain rule)."""
    k = W.shape[2]
    out = zeros(in_shape[0], in_shape[1] + 2 * P, in_shape[2] + 2 * P)
    for c, i, j in np.ndindex(delta.shape):
        for cc, p, q in np.ndindex(W.shape[1], k, k):
            out[cc, i + p, j + q] += W[c, cc, p, q] * delta[c, i, j]
    return out[:, P:P + in_shape[1], P:P + in_shape[2]]


def full_correlation(D, K):
    """(D ⋆ K)[x, y] = Σ_{p,q} D[x + p − (k−1), y + q − (k−1)] K[p, q], reads outside D are 0."""
    k = K.shape[0]
    out = zeros(D.shape[0] + k - 1, D.shape[1] + k - 1)
    for x, y in np.ndindex(out.shape):
        for p, q in np.ndindex(k, k):
            u, v = x + p - (k - 1), y + q - (k - 1)
            if 0 <= u < D.shape[0] and 0 <= v < D.shape[1]:
                out[x, y] += D[u, v] * K[p, q]
    return out


def lecture_back(W, delta, in_shape, P, flip=True, offset=None):
    """The lectures' form: δ_in[c'] = Σ_c (δ[c] ⋆ rot180(W[c,c']))[P:P+H, P:P+W] (full correlation, cropped by P).
    ``flip=False``: the kernel not flipped; ``offset=0``: the padding forgotten (cropped from 0)."""
    start = P if offset is None else offset
    out = zeros(*in_shape)
    for cc in range(in_shape[0]):
        for c in range(W.shape[0]):
            kernel = W[c, cc][::-1, ::-1] if flip else W[c, cc]
            out[cc] += full_correlation(delta[c], kernel)[start:start + in_shape[1], start:start + in_shape[2]]
    return out


def conv_dW(a, delta, k, P):
    """∂ℓ/∂W[c,c',p,q] = Σ_{i,j} δ[c,i,j] a_padded[c', i+p, j+q]; ``P = 0`` reads the unpadded input."""
    ap = pad(a, P)
    dW = zeros(delta.shape[0], a.shape[0], k, k)
    for c, cc, p, q in np.ndindex(dW.shape):
        dW[c, cc, p, q] = sum(delta[c, i, j] * (ap[cc, i + p, j + q] if i + p < ap.shape[1] and j + q < ap.shape[2]
                                                else 0) for i, j in np.ndindex(delta.shape[1:]))
    return dW


def pool(a, mode):
    out = zeros(a.shape[0], a.shape[1] // 2, a.shape[2] // 2)
    for c, i, j in np.ndindex(out.shape):
        window = [a[c, 2 * i + p, 2 * j + q] for p in range(2) for q in range(2)]
        out[c, i, j] = max(window) if mode == "max" else sum(window) / 4
    return out


def pool_back(a, delta, mode, mistake=False):
    """max: δ to the first maximum of its window (``mistake``: to every entry); average: δ/4 (``mistake``: δ)."""
    out = zeros(*a.shape)
    for c, i, j in np.ndindex(delta.shape):
        spots = [(2 * i + p, 2 * j + q) for p in range(2) for q in range(2)]
        values = [a[c, u, v] for u, v in spots]
        assert len(set(values)) == len(values) or mode != "max" or values.count(max(values)) == 1
        for n, (u, v) in enumerate(spots):
            if mode == "max":
                out[c, u, v] += delta[c, i, j] if (mistake or n == values.index(max(values))) else 0
            else:
                out[c, u, v] += delta[c, i, j] if mistake else delta[c, i, j] / 4
    return out


def relu(z):
    return np.vectorize(lambda v: max(v, F(0)), otypes=[object])(z)


def relu_prime(z):
    assert all(v != 0 for v in z.reshape(-1)), "a z exactly at relu's kink"
    return np.vectorize(lambda v: F(1) if v > 0 else F(0), otypes=[object])(z)


def forward(mode="max", z1=None):
    """Every number of the pass; ``z1`` in place of the right z^[1] (a claimant's own wrong numbers)."""
    n = {"x": arr([X])}
    n["z1"] = conv(n["x"], arr(W1), B1, 1) if z1 is None else z1
    n["a1"] = relu(n["z1"])
    n["z2"] = conv(n["a1"], arr(W2), B2, 1)
    n["a2"] = relu(n["z2"])
    n["z3"] = pool(n["a2"], mode)
    n["z4"] = arr([sum(w * v for w, v in zip(W4[0], n["z3"].reshape(-1))) + B4[0]])
    n["C"] = (n["z4"][0] - Y) ** 2 / 2
    n["d4"] = arr([n["z4"][0] - Y])
    n["d3"] = (arr(W4).T.dot(n["d4"])).reshape(n["z3"].shape)
    n["d2"] = relu_prime(n["z2"]) * pool_back(n["a2"], n["d3"], mode)
    n["d1"] = relu_prime(n["z1"]) * conv_back_scatter(arr(W2), n["d2"], n["a1"].shape, 1)
    n["dW2"], n["db2"] = conv_dW(n["a1"], n["d2"], 2, 1), [sum(n["d2"].reshape(-1))]
    n["dW1"] = conv_dW(n["x"], n["d1"], 2, 1)
    n["db1"] = [sum(n["d1"][c].reshape(-1)) for c in range(2)]
    n["dW4"] = arr([n["d4"][0] * v for v in n["z3"].reshape(-1)])
    return n


REF = forward()


def text(v: F, places: int = 6) -> str:
    return format((Decimal(v.numerator) / Decimal(v.denominator)).quantize(Decimal(1).scaleb(-places)), "f")


def nested(a) -> list:
    return np.vectorize(text, otypes=[object])(np.asarray(a, dtype=object)).tolist()


def claim(quantity: str, value, example: bool = True, **extra) -> str:
    lines = ["[[claim]]", f'quantity = "{quantity}"'] + (["example = 1"] if example else [])
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    lines.append(f"value = {json.dumps(value).replace(chr(34), '')}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def net():
    return _derive(spec_text())


def _derive(text_: str):
    import tomllib
    return derive.derive(tomllib.loads(text_))


def _check(derivation, answers: str):
    return check(derivation, parse_answers(answers, derivation))


# ---------------------------------------------------------------- the reference itself

def test_the_scatter_reference_is_the_lectures_flipped_kernel_form():
    """The two ways this file sends δ down through a conv layer agree, so the mistakes below are made in the
    right form; and the max-pool windows have no ties (the first maximum is the only one)."""
    back = conv_back_scatter(arr(W2), REF["d2"], REF["a1"].shape, 1)
    assert (back == lecture_back(arr(W2), REF["d2"], REF["a1"].shape, 1)).all()
    assert (back != lecture_back(arr(W2), REF["d2"], REF["a1"].shape, 1, flip=False)).any()
    assert (back != lecture_back(arr(W2), REF["d2"], REF["a1"].shape, 1, offset=0)).any()
    assert any(v > 0 for v in REF["d1"].reshape(-1)) and any(v != 0 for v in REF["d2"].reshape(-1))


# ---------------------------------------------------------------- (a) right numbers are accepted

def test_every_right_number_of_a_conv_net_is_correct(net):
    r = REF
    answers = "".join([
        claim("a[0]", nested(r["x"])),
        claim("z[1]", nested(r["z1"])),                                      # nested (2, 5, 5)
        claim("a[1]", nested(r["a1"].reshape(-1))),                          # flat, C order
        claim("z[2]", text(r["z2"][0, 2, 3]), entry=[1, 3, 4]),
        claim("a[2]", nested(r["a2"])),
        claim("z[3]", nested(r["z3"])),                                      # the pool's output
        claim("a[3]", text(r["z3"][0, 1, 2]), entry=[1, 2, 3]),
        claim("z[4]", [text(r["z4"][0])]),
        claim("C", text(r["C"])),
        claim("delta[4]", [text(r["d4"][0])]),
        claim("delta[3]", nested(r["d3"])),
        claim("delta[2]", nested(r["d2"])),
        claim("delta[1]", nested(r["d1"])),
        claim("WTdelta[1]", nested(conv_back_scatter(arr(W2), r["d2"], r["a1"].shape, 1))),
        claim("dW[4]", [nested(r["dW4"])], example=False),
        claim("dW[2]", nested(r["dW2"]), example=False),
        claim("db[2]", nested(r["db2"]), example=False),
        claim("dW[1]", text(r["dW1"][1, 0, 0, 1]), example=False, entry=[2, 1, 1, 2]),
        claim("db[1]", text(r["db1"][1]), example=False, unit=2),
        claim("dW[1]", nested(r["dW1"]), example=False),
        claim("W[1]+", nested(arr(W1) - F(1, 8) * r["dW1"]), example=False),
        claim("b[1]+", nested([B1[c] - F(1, 8) * r["db1"][c] for c in range(2)]), example=False),
    ])
    result = _check(net, answers)
    bad = [(r.claim.quantity, e.position, e.verdict) for r in result.results for e in r.entries if e.verdict != "correct"]
    assert not bad and result.ok
    assert sum(len(r.entries) for r in result.results) == 16 + 50 + 50 + 1 + 36 + 9 + 1 + 1 + 1 + 1 + 9 + 36 + 50 \
        + 50 + 9 + 8 + 1 + 1 + 1 + 8 + 8 + 2
    report = render_text(result)
    assert "z[2]_(1,3,4) = " in report and "dW[1]_(2,1,1,2) = " in report and "db[1]_2 = " in report
    first = next(r for r in as_json(result)["claims"] if r["quantity"] == "z[1]")
    assert first["numbers"][7]["entry"] == [1, 2, 3]          # flat unit 7 of (2, 5, 5) is (1, 2, 3) 1-based


# ---------------------------------------------------------------- (b) the classic mistakes

def _causes(result, quantity: str) -> list[list[dict]]:
    found = []
    for r in as_json(result)["claims"]:
        if r["quantity"] == quantity:
            for number in r["numbers"]:
                if number["verdict"] == "wrong":
                    found.append(number["causes"])
    return found


def _only_cause(result, quantity: str, cause: dict) -> None:
    causes = _causes(result, quantity)
    assert causes, f"no wrong number in {quantity}"
    for alternatives in causes:
        assert [cause] in alternatives, alternatives


def test_kernel_not_flipped_in_the_backward_pass_is_named(net):
    r = REF
    wrong = relu_prime(r["z1"]) * lecture_back(arr(W2), r["d2"], r["a1"].shape, 1, flip=False)
    result = _check(net, claim("delta[2]", nested(r["d2"])) + claim("delta[1]", nested(wrong)))
    _only_cause(result, "delta[1]", {"id": "kernel_not_flipped", "layers": "2"})
    text_ = render_text(result)
    assert "kernel not flipped in the backward pass" in text_
    assert "kernel não rebatido" in render_text(result, "pt")


def test_padding_forgotten_in_the_delta_sent_down_is_named(net):
    r = REF
    wrong = relu_prime(r["z1"]) * lecture_back(arr(W2), r["d2"], r["a1"].shape, 1, offset=0)
    result = _check(net, claim("delta[2]", nested(r["d2"])) + claim("delta[1]", nested(wrong)))
    _only_cause(result, "delta[1]", {"id": "padding_forgotten_backward", "layers": "2", "what": "delta"})
    assert "computed as if P = 0" in render_text(result)


def test_padding_forgotten_in_the_kernel_gradient_is_named(net):
    r = REF
    wrong = conv_dW(r["x"], r["d1"], 2, 0)
    assert (wrong != r["dW1"]).any()
    result = _check(net, claim("delta[1]", nested(r["d1"])) + claim("dW[1]", nested(wrong), example=False))
    _only_cause(result, "dW[1]", {"id": "padding_forgotten_backward", "layers": "1", "what": "gradient"})
    assert "o preenchimento (padding) da camada convolucional 1" in render_text(result, "pt")


def test_max_pool_delta_sent_to_every_position_is_named(net):
    r = REF
    wrong = relu_prime(r["z2"]) * pool_back(r["a2"], r["d3"], "max", mistake=True)
    result = _check(net, claim("delta[3]", nested(r["d3"])) + claim("delta[2]", nested(wrong)))
    _only_cause(result, "delta[2]", {"id": "max_pool_to_every_position", "layers": "3"})
    assert "every position of its window" in render_text(result)


def test_average_pool_delta_not_divided_is_named():
    d = _derive(spec_text("average"))
    r = forward("average")
    wrong = relu_prime(r["z2"]) * pool_back(r["a2"], r["d3"], "average", mistake=True)
    result = _check(d, claim("delta[3]", nested(r["d3"])) + claim("delta[2]", nested(wrong)))
    _only_cause(result, "delta[2]", {"id": "average_pool_not_divided", "layers": "3", "size": "4"})
    right = _check(d, claim("delta[2]", nested(r["d2"])) + claim("z[3]", nested(r["z3"])))
    assert right.ok


# ---------------------------------------------------------------- (c) a wrong z and follow-through

def test_a_wrong_z_is_flagged_and_what_follows_from_it_follows_through(net):
    z1 = REF["z1"].copy()
    z1[0, 1, 2] += 3                       # one slip in z^[1]: a^[1], z^[2], ... are the student's own
    own = forward(z1=z1)
    answers = (claim("z[1]", nested(z1)) + claim("a[1]", nested(own["a1"])) + claim("z[2]", nested(own["z2"]))
               + claim("z[3]", nested(own["z3"])) + claim("z[4]", [text(own["z4"][0])]))
    result = _check(net, answers)
    verdicts = {r.claim.quantity: r.verdict for r in result.results}
    assert verdicts["z[1]"] == "wrong" and result.results[0].first_wrong
    wrong = [e for e in result.results[0].entries if e.verdict != "correct"]
    assert [e.position for e in wrong] == [(7,)]           # (1, 2, 3) in C order of (2, 5, 5)
    assert "z[1]_(1,2,3) = " in render_text(result)
    assert verdicts["a[1]"] == "follows-through" and verdicts["z[2]"] == "follows-through"
    assert verdicts["z[4]"] == "follows-through"
    assert own["z4"][0] != REF["z4"][0]


# ---------------------------------------------------------------- claims the checker refuses

@pytest.mark.parametrize("answers, field, expected", [
    ('[[claim]]\nquantity = "dW[3]"\nvalue = 1\n', "claim[0].quantity", "a pool layer: it has no weights"),
    ('[[claim]]\nquantity = "z[1]"\nexample = 1\nentry = [1, 2]\nvalue = 1\n', "claim[0].entry",
     "expected [c, i, j] with 1..2, 1..5, 1..5"),
    ('[[claim]]\nquantity = "z[1]"\nexample = 1\nunit = 3\nvalue = 1\n', "claim[0].unit", "entry = [c, i, j]"),
    ('[[claim]]\nquantity = "z[3]"\nexample = 1\nvalue = [[[1, 2, 3], [4, 5], [6, 7, 8]]]\n', "claim[0].value[0][1]",
     "expected a list of 3 entries here (1×3×3 numbers"),
    ('[[claim]]\nquantity = "z[3]"\nexample = 1\nvalue = [1, 2]\n', "claim[0].value",
     "expected a list of 1 entry here (1×3×3 numbers (nested lists of that shape, or a flat list of 9 in C order)), "
     "got 2 entries"),
    ('[[claim]]\nquantity = "dW[1]"\nentry = [1, 1, 3, 1]\nvalue = 1\n', "claim[0].entry", "[c, c′, p, q]"),
    ('[[claim]]\nquantity = "delta[2]"\nexpression = "a[2]"\n', "claim[0].quantity", "formula claims are checked "
     "for dense layers only"),
])
def test_a_bad_conv_claim_is_one_line_naming_the_field(net, answers, field, expected):
    with pytest.raises(SpecError) as caught:
        parse_answers(answers, net)
    message = str(caught.value)
    assert field in message and expected in message, message


def test_the_command_line_checks_a_conv_net(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text())
    answers = tmp_path / "answers.toml"
    answers.write_text(claim("z[3]", nested(REF["z3"])) + claim("dW[2]", nested(REF["dW2"]), example=False))
    done = subprocess.run([sys.executable, "-m", "deltagen.cli", "check", str(spec), str(answers), "--json"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
