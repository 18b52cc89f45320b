"""``deltagen import MODEL.onnx``: ONNX graphs built with onnx.helper, imported, generated, and their forward
compared with onnxruntime (an independent implementation) to 1e-12 in double and 1e-6 in float."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from c_harness import FLOAT_STRICT, STRICT
from conftest import import_file
from deltagen import generate
from deltagen.derive import load_spec

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(20261201)


def _model(name: str, input_shape: list[int], output_width: int, nodes: list, weights: dict[str, np.ndarray],
           dtype=np.float64):
    element = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", element, ["batch", *input_shape])],
        [helper.make_tensor_value_info(nodes[-1].output[0], element, ["batch", output_width])],
        [numpy_helper.from_array(value.astype(dtype), key) for key, value in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _mlp_gemm(dtype=np.float64):
    """x → Gemm (transB = 1, torch's Linear) → Relu → Gemm → Softmax."""
    weights = {"W1": RNG.normal(size=(5, 4)), "b1": RNG.normal(size=5), "W2": RNG.normal(size=(3, 5)),
               "b2": RNG.normal(size=3)}
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h1"], name="fc1", transB=1),
             helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
             helper.make_node("Gemm", ["a1", "W2", "b2"], ["h2"], name="fc2", transB=1),
             helper.make_node("Softmax", ["h2"], ["y"], name="softmax", axis=1)]
    return _model("My MLP", [4], 3, nodes, weights, dtype)


def _mlp_matmul(dtype=np.float32, middle: str = "LeakyRelu"):
    """x → MatMul → Add → Tanh → MatMul + Add (bias first) → LeakyRelu(0.2) → Gemm (transB = 0) → Sigmoid
    (onnxruntime has LeakyRelu in float only: ``middle="Relu"`` for a double model)."""
    weights = {"W1": RNG.normal(size=(3, 6)), "b1": RNG.normal(size=6), "W2": RNG.normal(size=(6, 4)),
               "b2": RNG.normal(size=4), "W3": RNG.normal(size=(4, 1)), "b3": RNG.normal(size=1)}
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["m1"], name="mm1"),
             helper.make_node("Add", ["m1", "b1"], ["z1"], name="add1"),
             helper.make_node("Tanh", ["z1"], ["a1"]),
             helper.make_node("MatMul", ["a1", "W2"], ["m2"]),
             helper.make_node("Add", ["b2", "m2"], ["z2"]),
             helper.make_node(middle, ["z2"], ["a2"], **({"alpha": 0.2} if middle == "LeakyRelu" else {})),
             helper.make_node("Gemm", ["a2", "W3", "b3"], ["z3"]),
             helper.make_node("Sigmoid", ["z3"], ["y"])]
    return _model("2layer-net", [3], 1, nodes, weights, dtype)


def _cnn(dtype=np.float32):
    """x [1, 6, 6] → Conv 2×3×3 (padding 1, stride 1) → Relu → MaxPool 2 → Flatten → Gemm → Softmax
    (onnxruntime has Conv in float only)."""
    weights = {"K": RNG.normal(size=(2, 1, 3, 3)), "c": RNG.normal(size=2), "W": RNG.normal(size=(3, 18)),
               "b": RNG.normal(size=3)}
    nodes = [helper.make_node("Conv", ["x", "K", "c"], ["z1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["z1"], ["a1"]),
             helper.make_node("MaxPool", ["a1"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p2"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "W", "b"], ["z3"], transB=1),
             helper.make_node("Softmax", ["z3"], ["y"], axis=-1)]
    return _model("cnn", [1, 6, 6], 3, nodes, weights, dtype)


def _run(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deltagen.cli", *arguments], capture_output=True, text=True)


def _numpy_module(spec, folder, name: str):
    generate(spec, "numpy", out=folder)
    return import_file(folder / f"{name}.py")


def _imported(model, tmp_path, name: str):
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    done = _run("import", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{name}.params.npz", f"{name}.toml"]
    return path, tmp_path / "out" / f"{name}.toml", tmp_path / "out" / f"{name}.params.npz"


CASES = {   # a model, its spec's name and loss, and the tolerance against onnxruntime (its own precision)
    "gemm_relu_softmax_double": (lambda: _mlp_gemm(np.float64), "my_mlp", "cce", 1e-12),
    "gemm_relu_softmax_float": (lambda: _mlp_gemm(np.float32), "my_mlp", "cce", 1e-6),
    "matmul_add_tanh_relu_sigmoid_double": (lambda: _mlp_matmul(np.float64, "Relu"), "net_2layer_net", "bce", 1e-12),
    "matmul_add_tanh_leaky_relu_sigmoid_float": (lambda: _mlp_matmul(np.float32), "net_2layer_net", "bce", 1e-6),
    "conv_relu_maxpool_flatten_gemm_softmax_float": (_cnn, "cnn", "cce", 1e-6),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_generated_forward_is_onnxruntimes(case, tmp_path):
    build, name, loss, tolerance = CASES[case]
    model = build()
    path, spec, params_file = _imported(model, tmp_path, name)
    network = load_spec(spec)
    assert network.name == name and network.loss.name == loss
    numpy_module = _numpy_module(spec, tmp_path / "np", name)
    generate(spec, "c", out=tmp_path / "c", python=True)
    c_module = import_file(tmp_path / "c" / f"{name}_c.py")
    params = numpy_module.load_params(params_file)
    dtype = np.float64 if tolerance < 1e-9 else np.float32
    x = RNG.normal(size=(7, *[d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]])).astype(dtype)
    expected = ort.InferenceSession(str(path)).run(None, {"x": x})[0]        # (batch, outputs)
    X = x.reshape(7, -1).T.astype(np.float64)                                   # one example per column
    np.testing.assert_allclose(numpy_module.forward(params, X).T, expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(c_module.forward(params, X).T, expected, rtol=tolerance, atol=tolerance)


def test_the_spec_and_params_are_the_models(tmp_path):
    model = _mlp_matmul()
    _, spec, params_file = _imported(model, tmp_path, "net_2layer_net")
    assert load_spec(spec).loss.name == "bce"
    text = spec.read_text()
    assert 'activation = "leaky_relu", bias = true, alpha = 0.2' in text
    weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    with np.load(params_file) as params:
        assert sorted(params.files) == ["W1", "W2", "W3", "b1", "b2", "b3"]
        assert np.array_equal(params["W1"], weights["W1"].T)       # MatMul's (in, out) is W transposed
        assert np.array_equal(params["b2"], weights["b2"].reshape(4, 1))
        assert np.array_equal(params["W3"], weights["W3"].T)       # Gemm with transB = 0 likewise


@pytest.mark.parametrize("node, message", [
    (helper.make_node("Reshape", ["h1", "shape"], ["a1"], name="reshape"),
     "graph.node[1] (reshape, op Reshape): expected one of Gemm, MatMul + Add, Conv"),
    (helper.make_node("Elu", ["h1"], ["a1"], name="elu"), "graph.node[1] (elu, op Elu): expected one of"),
])
def test_an_unsupported_node_is_refused_in_one_line(tmp_path, node, message):
    weights = {"W1": RNG.normal(size=(2, 3)), "b1": RNG.normal(size=2), "shape": np.array([-1, 2.0])}
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h1"], name="fc", transB=1), node]
    path = tmp_path / "bad.onnx"
    onnx.save(_model("bad", [3], 2, nodes, weights), str(path))
    done = _run("import", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"{path}: {message}")
    assert not (tmp_path / "out").exists()


def test_a_grouped_conv_and_a_file_that_is_not_onnx_are_refused(tmp_path):
    weights = {"K": RNG.normal(size=(2, 1, 3, 3))}
    nodes = [helper.make_node("Conv", ["x", "K"], ["z"], kernel_shape=[3, 3], group=2, name="dw")]
    path = tmp_path / "grouped.onnx"
    onnx.save(_model("g", [2, 5, 5], 2, nodes, weights), str(path))
    done = _run("import", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "graph.node[0] (dw, op Conv): expected a Conv with group 1" in done.stderr
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a model")
    done = _run("import", str(junk), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and done.stderr.startswith(f"{junk}: expected an ONNX model")


def test_save_params_and_load_params_round_trip(tmp_path):
    _, spec, params_file = _imported(_mlp_gemm(), tmp_path, "my_mlp")
    module = _numpy_module(spec, tmp_path / "np", "my_mlp")
    params = module.init_params(4)
    module.save_params(params, tmp_path / "saved.npz")
    loaded = module.load_params(tmp_path / "saved.npz")
    assert all(np.array_equal(loaded[key], params[key]) for key in params)
    np.savez(tmp_path / "short.npz", W1=params["W1"])
    with pytest.raises(KeyError, match="short.npz has no 'b1'"):
        module.load_params(tmp_path / "short.npz")
    np.savez(tmp_path / "more.npz", **params, W9=params["W1"])
    with pytest.raises(KeyError, match=r"more.npz has arrays \['W9'\] that are not params"):
        module.load_params(tmp_path / "more.npz")


@pytest.mark.parametrize("real", ["double", "float"])
def test_trained_params_as_a_c_initializer_give_the_same_forward(tmp_path, real):
    """The way back: import, then c_initializer(params) compiled with the generated C (strict flags, and the float
    build's warnings) infers what the C-backed module infers with those params."""
    _, spec, params_file = _imported(_cnn(), tmp_path, "cnn")
    module = _numpy_module(spec, tmp_path / "np", "cnn")
    generate(spec, "c", out=tmp_path / "c", python=True)
    params = module.load_params(params_file)
    (tmp_path / "c" / "trained.c").write_text(module.c_initializer(params))
    x = RNG.normal(size=36)
    (tmp_path / "c" / "main.c").write_text(
        '#include <stdio.h>\n#include "cnn.h"\nextern const cnn_params cnn_trained;\n'
        f"static const cnn_real x[36] = {{{', '.join(f'(cnn_real){float(v)!r}' for v in x)}}};\n"
        "int main(void)\n{\n    cnn_real out[3];\n    int k;\n    cnn_forward(&cnn_trained, x, out);\n"
        '    for (k = 0; k < 3; k++)\n        printf("%.17g\\n", (double)out[k]);\n    return 0;\n}\n')
    flags = [*STRICT, "-O2"] + (["-Dcnn_REAL=float", *FLOAT_STRICT] if real == "float" else [])
    built = subprocess.run(["gcc", *flags, *(str(tmp_path / "c" / f) for f in ("main.c", "trained.c", "cnn.c")),
                            "-o", str(tmp_path / "infer"), "-lm"], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    printed = np.array([float(v) for v in subprocess.run([str(tmp_path / "infer")], capture_output=True,
                                                         text=True, check=True).stdout.split()])
    if real == "double":       # the same C, the same doubles: the same bits
        c_module = import_file(tmp_path / "c" / "cnn_c.py")
        assert np.array_equal(printed, c_module.forward(params, x))
    else:
        np.testing.assert_allclose(printed, module.forward(params, x), rtol=1e-5, atol=1e-6)


def test_without_the_onnx_package_import_says_how_to_get_it(tmp_path):
    path = tmp_path / "model.onnx"
    onnx.save(_mlp_gemm(), str(path))
    blocker = tmp_path / "blocker"                      # an `onnx` that cannot be imported, ahead on the path
    (blocker / "onnx").mkdir(parents=True)
    (blocker / "onnx" / "__init__.py").write_text("raise ImportError('no onnx here')\n")
    done = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(blocker)!r}); "
                           "from deltagen.cli import main; sys.exit(main(sys.argv[1:]))",
                           "import", str(path), "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == f"{path}: expected the onnx package to read ONNX models: pip install 'deltagen[onnx]'\n"


@pytest.mark.parametrize("graph_name, spec_name", [("My MLP", "my_mlp"), ("m", "net_m"), ("Math", "net_math"),
                                                   ("3-layer", "net_3_layer"), ("", "model")])
def test_the_spec_name_is_the_graphs_made_one_the_spec_accepts(tmp_path, graph_name, spec_name):
    model = _mlp_gemm()
    model.graph.name = graph_name
    _imported(model, tmp_path, spec_name)


def test_weights_that_do_not_fit_the_input_are_refused_before_anything_is_written(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")]
    path = tmp_path / "wrong.onnx"
    onnx.save(_model("wrong", [3], 2, nodes, {"W": RNG.normal(size=(4, 2))}), str(path))
    done = _run("import", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr == f"{path}: graph.initializer: expected params of shapes {{'W1': (2, 3)}}, got {{'W1': (2, 4)}}\n"
    assert not (tmp_path / "out").exists()
