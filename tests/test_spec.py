"""Tests for derive/model/spec.py: valid specs load into Networks; every bad spec is one clear SpecError line."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import sympy as sp

from deltagen.derive.errors import SpecError
from deltagen.derive.model.spec import load_spec, spec_from_dict

VALID_TOML = """\
name = "lecture_xor"
input = 2
layers = [
  { units = 3, activation = "tanh" },
  { units = 2, activation = "leaky_relu", alpha = 0.2, bias = false },
  { units = 1, activation = "sigmoid", bias = true },
]
loss = "bce"
reduction = "sum"
l2 = 0.01

[notation]
input_layer = 1
brackets = "paren"

[example]
W = [ [[1.0, -1.0], [0.5, 0.5], [2, 3]], [[1, 2, 3], [4, 5, 6]], [[10.0, 10.0]] ]
b = [ [[-5.0], [-5.0], [1.0]], [0.25] ]
X = [[0, 0, 1, 1], [0, 1, 0, 1]]
Y = [[0, 1, 1, 0]]
learning_rate = 0.1
"""


def base() -> dict:
    """The valid spec as a dict (the shape tomllib gives)."""
    return {
        "name": "lecture_xor",
        "input": 2,
        "layers": [
            {"units": 3, "activation": "tanh"},
            {"units": 2, "activation": "leaky_relu", "alpha": 0.2, "bias": False},
            {"units": 1, "activation": "sigmoid", "bias": True},
        ],
        "loss": "bce",
        "reduction": "sum",
        "l2": 0.01,
        "notation": {"input_layer": 1, "brackets": "paren"},
        "example": {
            "W": [[[1.0, -1.0], [0.5, 0.5], [2, 3]], [[1, 2, 3], [4, 5, 6]], [[10.0, 10.0]]],
            "b": [[[-5.0], [-5.0], [1.0]], [0.25]],
            "X": [[0, 0, 1, 1], [0, 1, 0, 1]],
            "Y": [[0, 1, 1, 0]],
            "learning_rate": 0.1,
        },
    }


def test_valid_toml_loads(tmp_path):
    path = tmp_path / "xor.toml"
    path.write_text(VALID_TOML)
    net = load_spec(path)
    assert net.name == "lecture_xor"
    assert net.source == str(path)
    assert net.sizes == (2, 3, 2, 1)
    assert [layer.activation.name for layer in net.layers] == ["tanh", "leaky_relu", "sigmoid"]
    assert [layer.bias for layer in net.layers] == [True, False, True]
    assert net.layers[1].activation.alpha == 0.2
    assert net.loss.name == "bce" and net.reduction == "sum" and net.l2 == 0.01
    assert net.notation.input_layer == 1 and net.notation.brackets == "paren"
    assert net.param_names() == ["W2", "b2", "W3", "W4", "b4"]

    ex = net.example
    assert [w.shape for w in ex.W] == [(3, 2), (2, 3), (1, 2)]
    assert all(w.dtype == np.float64 for w in ex.W)
    np.testing.assert_array_equal(ex.W[1], [[1, 2, 3], [4, 5, 6]])
    assert ex.b[1] is None
    assert ex.b[0].shape == (3, 1) and ex.b[2].shape == (1, 1)
    np.testing.assert_array_equal(ex.b[0], [[-5.0], [-5.0], [1.0]])
    np.testing.assert_array_equal(ex.b[2], [[0.25]])
    assert ex.X.shape == (2, 4) and ex.Y.shape == (1, 4)
    assert ex.X.dtype == np.float64 and ex.Y.dtype == np.float64
    assert ex.learning_rate == 0.1
    assert set(ex.params(net.notation)) == {"W2", "b2", "W3", "W4", "b4"}


def test_dict_gives_same_network(tmp_path):
    path = tmp_path / "xor.toml"
    path.write_text(VALID_TOML)
    from_file = load_spec(str(path))
    from_dict = spec_from_dict(base())
    assert from_dict.sizes == from_file.sizes
    assert from_dict.n_params == from_file.n_params == 3 * 2 + 3 + 2 * 3 + 1 * 2 + 1
    assert [layer.activation for layer in from_dict.layers] == [layer.activation for layer in from_file.layers]
    assert from_dict.source == "<dict>"


def test_defaults_and_minimal_spec():
    net = spec_from_dict({"name": "tiny", "input": 1, "layers": [{"units": 1, "activation": "identity"}],
                          "loss": "half_sse"})
    assert net.reduction == "mean" and net.l2 == 0.0 and isinstance(net.l2, float)
    assert net.notation.input_layer == 0 and net.notation.brackets == "square"
    assert net.example is None and net.layers[0].bias is True


def test_no_bias_example_and_flat_bias_and_missing_learning_rate():
    data = base()
    for layer in data["layers"]:
        layer["bias"] = False
    del data["example"]["b"]
    del data["example"]["learning_rate"]
    ex = spec_from_dict(data).example
    assert ex.b == (None, None, None) and ex.learning_rate is None
    data["example"]["b"] = []
    assert spec_from_dict(data).example.b == (None, None, None)


def test_custom_activation_accepted():
    data = base()
    data["layers"][0]["activation"] = "2*z"
    net = spec_from_dict(data)
    assert net.layers[0].activation.is_custom
    assert net.layers[0].activation.expr == 2 * sp.Symbol("z", real=True)


def _set(path, value):
    """A mutation of base() setting (or, with value=DELETE, deleting) the item at ``path``."""
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return mutate


DELETE = object()
BIG = [{"units": 100_000, "activation": "relu"}, {"units": 100_000, "activation": "relu"},
       {"units": 1, "activation": "sigmoid"}]

BAD_DICTS = [
    ("missing name", _set(["name"], DELETE), "name"),
    ("name class", _set(["name"], "class"), "name"),
    ("name int", _set(["name"], "int"), "name"),
    ("name quote", _set(["name"], 'a"b'), "name"),
    ("name newline", _set(["name"], "a\nb"), "name"),
    ("name comment close", _set(["name"], "a*/b"), "name"),
    ("name dash", _set(["name"], "a-b"), "name"),
    ("name dunder", _set(["name"], "__init__"), "name"),
    ("name too long", _set(["name"], "a" * 65), "name"),
    ("name not str", _set(["name"], 7), "name"),
    ("input 0", _set(["input"], 0), "input"),
    ("input True", _set(["input"], True), "input"),
    ("input 2.5", _set(["input"], 2.5), "input"),
    ("input 2.0", _set(["input"], 2.0), "input"),
    ("empty layers", _set(["layers"], []), "layers"),
    ("layers not list", _set(["layers"], "3"), "layers"),
    ("units -1", _set(["layers", 0, "units"], -1), "layers[0].units"),
    ("units huge", _set(["layers", 0, "units"], 10**6), "layers[0].units"),
    ("huge layer sizes", _set(["layers"], BIG), "layers"),
    ("missing units", _set(["layers", 0, "units"], DELETE), "layers[0].units"),
    ("unknown activation", _set(["layers", 1, "activation"], "sigmoidd"), "layers[1].activation"),
    ("custom x*2", _set(["layers", 0, "activation"], "x*2"), "layers[0].activation"),
    ("custom import", _set(["layers", 0, "activation"], '__import__("os")'), "layers[0].activation"),
    ("activation not str", _set(["layers", 0, "activation"], 3), "layers[0].activation"),
    ("softmax hidden", _set(["layers", 0, "activation"], "softmax"), "layers[0].activation"),
    ("softmax 1 unit", lambda d: (_set(["layers", 2, "activation"], "softmax")(d), _set(["loss"], "cce")(d)),
     "layers[2].units"),
    ("bias not bool", _set(["layers", 0, "bias"], 1), "layers[0].bias"),
    ("alpha on sigmoid", _set(["layers", 2, "alpha"], 0.1), "layers[2].alpha"),
    ("alpha inf", _set(["layers", 1, "alpha"], math.inf), "layers[1].alpha"),
    ("unknown layer key", _set(["layers", 1, "unit"], 3), "layers[1].unit"),
    ("unknown top key", _set(["optimizer"], "sgd"), "optimizer"),
    ("unknown loss", _set(["loss"], "l1"), "loss"),
    ("bce identity", _set(["layers", 2, "activation"], "identity"), "loss"),
    ("cce sigmoid", _set(["loss"], "cce"), "loss"),
    ("logistic softmax", lambda d: (d["layers"][2].update(activation="softmax", units=2),
                                    d["example"]["W"][2].append([1.0, 1.0]),
                                    _set(["loss"], "logistic")(d)), "loss"),
    ("reduction avg", _set(["reduction"], "avg"), "reduction"),
    ("l2 -1", _set(["l2"], -1), "l2"),
    ("l2 nan", _set(["l2"], math.nan), "l2"),
    ("l2 bool", _set(["l2"], False), "l2"),
    ("notation input_layer 2", _set(["notation", "input_layer"], 2), "notation.input_layer"),
    ("notation input_layer 0.0", _set(["notation", "input_layer"], 0.0), "notation.input_layer"),
    ("brackets curly", _set(["notation", "brackets"], "curly"), "notation.brackets"),
    ("unknown notation key", _set(["notation", "style"], "x"), "notation.style"),
    ("notation not table", _set(["notation"], 1), "notation"),
    ("W wrong shape", _set(["example", "W", 0], [[1.0, 2.0], [3.0, 4.0]]), "example.W[0]"),
    ("W wrong count", _set(["example", "W"], [[[1.0, 2.0]]]), "example.W"),
    ("W ragged", _set(["example", "W", 1], [[1, 2, 3], [4, 5]]), "example.W[1]"),
    # a string that writes a number ("1", "0,5") is accepted (tests/test_portuguese.py); one that does not is not
    ("W string entry", _set(["example", "W", 2, 0, 1], "one"), "example.W[2][0][1]"),
    ("W missing", _set(["example", "W"], DELETE), "example.W"),
    ("b missing with bias", _set(["example", "b"], DELETE), "example.b"),
    ("b wrong count", _set(["example", "b"], [[1.0, 2.0, 3.0]]), "example.b"),
    ("b wrong length", _set(["example", "b", 0], [1.0, 2.0]), "example.b[0]"),
    ("b flat inf", _set(["example", "b", 0], [1.0, math.inf, 2.0]), "example.b[0][1]"),
    ("X rows != input", _set(["example", "X"], [[0, 1, 0, 1]]), "example.X"),
    ("X no examples", _set(["example", "X"], [[], []]), "example.X"),
    ("Y m mismatch", _set(["example", "Y"], [[0, 1, 1]]), "example.Y"),
    ("X inf", _set(["example", "X", 0, 2], math.inf), "example.X[0][2]"),
    ("X bool", _set(["example", "X", 1, 0], True), "example.X[1][0]"),
    ("learning_rate 0", _set(["example", "learning_rate"], 0), "example.learning_rate"),
    ("learning_rate nan", _set(["example", "learning_rate"], math.nan), "example.learning_rate"),
    ("unknown example key", _set(["example", "m"], 4), "example.m"),
    ("not a table", lambda d: d.clear(), "name"),
]


@pytest.mark.parametrize("mutate, field", [c[1:] for c in BAD_DICTS], ids=[c[0] for c in BAD_DICTS])
def test_bad_dict(mutate, field):
    data = copy.deepcopy(base())
    mutate(data)
    with pytest.raises(SpecError) as info:
        spec_from_dict(data)
    err = info.value
    message = str(err)
    assert "\n" not in message
    assert err.field == field
    assert f"<dict>: {field}: " in message
    assert "expected" in message


def test_bad_messages_say_what_was_got():
    cases = [(_set(["input"], -3), "expected a positive integer at most 100000, got -3"),
             (_set(["example", "X", 0, 2], math.inf), "example.X[0][2]: expected a finite number, got inf"),
             (_set(["layers"], BIG), "expected at most 100000000 parameters, got 10000500001"),
             (_set(["example", "W", 0], [[1.0, 2.0]]), "(W2, layer 2 with input_layer = 1), got shape (1, 2)"),
             (_set(["loss"], "cce"), "sigmoid")]
    for mutate, text in cases:
        data = copy.deepcopy(base())
        mutate(data)
        with pytest.raises(SpecError) as info:
            spec_from_dict(data)
        assert text in str(info.value)


def test_non_mapping_is_spec_error():
    with pytest.raises(SpecError) as info:
        spec_from_dict([1, 2])  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def _toml(**replace: str) -> str:
    """VALID_TOML with whole lines starting with a key replaced (or removed when the value is '')."""
    lines = []
    for line in VALID_TOML.splitlines():
        key = line.split("=")[0].strip()
        if key in replace:
            if replace[key]:
                lines.append(replace[key])
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


BAD_TOML = [
    ("syntax error", VALID_TOML.replace("input = 2", "input = = 2"), ""),
    ("missing name", _toml(name=""), "name"),
    ("name class", _toml(name='name = "class"'), "name"),
    ("name int", _toml(name='name = "int"'), "name"),
    ("name quote", _toml(name="name = 'a\"b'"), "name"),
    ("name newline", _toml(name='name = "a\\nb"'), "name"),
    ("name comment close", _toml(name='name = "x*/"'), "name"),
    ("input 0", _toml(input="input = 0"), "input"),
    ("input true", _toml(input="input = true"), "input"),
    ("input 2.5", _toml(input="input = 2.5"), "input"),
    ("softmax hidden", VALID_TOML.replace('"tanh"', '"softmax"'), "layers[0].activation"),
    ("unknown activation", VALID_TOML.replace('"tanh"', '"sigmoidd"'), "layers[0].activation"),
    ("bce identity", VALID_TOML.replace('"sigmoid"', '"identity"'), "loss"),
    ("reduction avg", _toml(reduction='reduction = "avg"'), "reduction"),
    ("l2 nan", _toml(l2="l2 = nan"), "l2"),
    ("l2 -inf", _toml(l2="l2 = -inf"), "l2"),
    ("unknown key", VALID_TOML.replace("l2 = 0.01", "l2 = 0.01\nepochs = 3"), "epochs"),
    ("brackets curly", _toml(brackets='brackets = "curly"'), "notation.brackets"),
    ("input_layer 2", _toml(input_layer="input_layer = 2"), "notation.input_layer"),
    ("X inf", _toml(X="X = [[0, 0, inf, 1], [0, 1, 0, 1]]"), "example.X[0][2]"),
    ("Y m mismatch", _toml(Y="Y = [[0, 1, 1]]"), "example.Y"),
    ("learning_rate 0", _toml(learning_rate="learning_rate = 0"), "example.learning_rate"),
    ("b missing", _toml(b=""), "example.b"),
]


@pytest.mark.parametrize("text, field", [c[1:] for c in BAD_TOML], ids=[c[0] for c in BAD_TOML])
def test_bad_toml(tmp_path, text, field):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    message = str(err)
    assert "\n" not in message
    assert err.field == field
    assert err.source == str(path)
    assert message.startswith(f"{path}: ")
    if field:
        assert f"{path}: {field}: expected" in message
    else:
        assert "valid TOML" in message and "line" in message


def test_missing_and_unreadable_files(tmp_path):
    for path in (tmp_path / "nope.toml", tmp_path):
        with pytest.raises(SpecError) as info:
            load_spec(path)
        assert str(info.value).startswith(f"{path}: expected")
        assert "\n" not in str(info.value)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"name = \"\xff\xfe\"\n")
    with pytest.raises(SpecError) as info:
        load_spec(binary)
    assert str(binary) in str(info.value)
