"""``deltagen import MODEL.onnx --out DIR``: a trained model in, as a spec and its params.

The graph must be one chain from its input to its output of the nodes deltagen has layers for:
Gemm, or MatMul followed by Add (a dense layer), Conv, MaxPool, AveragePool, each optionally followed by
Relu, LeakyRelu, Sigmoid, Tanh or Softmax (its activation; none is identity), with Flatten and Identity
passed through. Anything else is refused with one line naming the node and its op type. Written:
``DIR/NAME.toml`` (the spec, NAME from the graph's name made an identifier; the loss chosen from the output
activation: cce after softmax, bce after sigmoid, half_sse otherwise) and ``DIR/NAME.params.npz`` (the
arrays named and shaped as the generated module's params: W1 (n_1, n_0), b1 (n_1, 1), ...), which the
generated NumPy module's ``load_params`` reads.
"""
from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .codegen.files import write_files
from .codegen.render import safe_shown_name
from .derive import SpecError, spec_from_dict
from .derive.model.spec import check_name
from .derive.teaching.asked import toml_value

ACTIVATIONS = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax"}
PASSED = ("Flatten", "Identity")
LAYER_OPS = ("Gemm", "MatMul", "Conv", "MaxPool", "AveragePool")
SUPPORTED = "Gemm, MatMul + Add, Conv, MaxPool, AveragePool, Flatten, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Identity"
LOSS_AFTER = {"softmax": "cce", "sigmoid": "bce"}


@dataclass
class _Layer:
    table: dict[str, Any]
    params: dict[str, np.ndarray] = field(default_factory=dict)   # "W", "b"


class _Refused(Exception):
    """A node deltagen cannot take: its field (graph.node[i]) and what was expected."""

    def __init__(self, where: str, expected: str) -> None:
        super().__init__(expected)
        self.where, self.expected = where, expected


def _onnx(source: str):
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise SpecError("", "expected the onnx package to read ONNX models: pip install 'deltagen[onnx]'",
                        source) from None
    return onnx, numpy_helper


def _identifier(name: str) -> str:
    """The graph's name as a spec name: an ASCII identifier (other characters become _; "model" when empty), with
    ``net_`` before it when the spec would refuse it as it is (a leading digit, a keyword, ``math``, ``m``, ...)."""
    text = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_").lower()[:60] or "model"
    try:
        check_name(text)
    except SpecError:
        text = f"net_{text}"
    return text


def _attributes(node, onnx) -> dict[str, Any]:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _require(condition: bool, where: str, expected: str) -> None:
    if not condition:
        raise _Refused(where, expected)


def read_model(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(the spec as a dict, the params by the generated module's names) of an ONNX model file."""
    source = str(path)
    onnx, numpy_helper = _onnx(source)
    try:
        model = onnx.load(source)
    except OSError:
        raise
    except Exception as error:
        raise SpecError("", f"expected an ONNX model ({type(error).__name__}: {error})", source) from None
    try:
        return _read_graph(model.graph, onnx, numpy_helper)
    except _Refused as refused:
        raise SpecError(refused.where, refused.expected, source) from None


def _read_graph(graph, onnx, numpy_helper) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    weights = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    _require(len(inputs) == 1 and len(graph.output) == 1, "graph",
             f"expected one input and one output, got {len(inputs)} inputs and {len(graph.output)} outputs")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    _require(len(dims) in (2, 3, 4) and all(d for d in dims[1:]), "graph.input",
             f"expected a shape (batch, n), (batch, C, L) or (batch, C, H, W) with known sizes, got {dims}")
    current, layers = inputs[0].name, []
    for position, node in enumerate(graph.node):
        where = f"graph.node[{position}] ({node.name or 'unnamed'}, op {node.op_type})"
        reads = node.input[:1] if node.op_type != "Add" else node.input     # an Add may take the bias first
        _require(current in reads and len(node.output) == 1, where,
                 "expected a chain: each node reads the output of the one before it")
        if node.op_type in PASSED:
            if node.op_type == "Flatten":
                _require(_attributes(node, onnx).get("axis", 1) == 1, where, "expected Flatten with axis = 1")
        elif node.op_type in ACTIVATIONS:
            _activation(node, layers, where, onnx)
        elif node.op_type == "Add":
            _bias(node, layers, weights, where, current)
        elif node.op_type in LAYER_OPS:
            layers.append(_layer(node, weights, where, onnx))
        else:
            raise _Refused(where, f"expected one of {SUPPORTED}")
        current = node.output[0]
    _require(current == graph.output[0].name, "graph.output", "expected the output of the last node")
    _require(bool(layers), "graph", "expected at least one Gemm, MatMul or Conv node")
    spec = {"name": _identifier(graph.name), "input": dims[1] if len(dims) == 2 else list(dims[1:]),
            "loss": LOSS_AFTER.get(layers[-1].table.get("activation", "identity"), "half_sse"),
            "layers": [layer.table for layer in layers]}
    params, number = {}, 0
    for layer in layers:
        number += 1
        if layer.params:
            params[f"W{number}"] = layer.params["W"]
            if "b" in layer.params:
                params[f"b{number}"] = layer.params["b"].reshape(-1, 1)
    return spec, params


def _layer(node, weights: dict[str, np.ndarray], where: str, onnx) -> _Layer:
    attributes = _attributes(node, onnx)
    if node.op_type in ("MaxPool", "AveragePool"):
        size = list(attributes.get("kernel_shape", []))
        _require(not any(attributes.get("pads", [])) and not attributes.get("ceil_mode", 0)
                 and all(d == 1 for d in attributes.get("dilations", [1])), where,
                 "expected a pool without padding, ceil_mode or dilation")
        return _Layer({"kind": "pool", "mode": "max" if node.op_type == "MaxPool" else "average", "size": size,
                       "stride": list(attributes.get("strides", size))})
    _require(len(node.input) >= 2 and all(name in weights for name in node.input[1:] if name), where,
             "expected its weights as initializers")
    W = weights[node.input[1]]
    b = weights[node.input[2]] if len(node.input) > 2 and node.input[2] else None
    if node.op_type == "Conv":
        kernel = list(W.shape[2:])
        pads = list(attributes.get("pads", [0] * 2 * len(kernel)))
        _require(attributes.get("group", 1) == 1 and all(d == 1 for d in attributes.get("dilations", [1]))
                 and attributes.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
                 and pads[:len(kernel)] == pads[len(kernel):], where,
                 "expected a Conv with group 1, no dilation and the same padding on both sides")
        table = {"kind": "conv", "channels": int(W.shape[0]), "kernel": kernel,
                 "stride": list(attributes.get("strides", [1] * len(kernel))), "padding": pads[:len(kernel)],
                 "activation": "identity", "bias": b is not None}
        return _Layer(table, {"W": W, **({"b": b} if b is not None else {})})
    if node.op_type == "Gemm":
        _require(attributes.get("alpha", 1.0) == 1.0 and attributes.get("beta", 1.0) == 1.0
                 and not attributes.get("transA", 0), where, "expected a Gemm with alpha = beta = 1 and transA = 0")
        W = W if attributes.get("transB", 0) else W.T       # deltagen's W is (outputs, inputs)
    else:   # MatMul: x W with W (inputs, outputs); its bias comes with the Add after it
        W, b = W.T, None
    _require(W.ndim == 2 and (b is None or b.size == W.shape[0]), where, "expected a 2-D weight and a bias per output")
    return _Layer({"units": int(W.shape[0]), "activation": "identity", "bias": b is not None},
                  {"W": W, **({"b": b.reshape(-1)} if b is not None else {})})


def _activation(node, layers: list[_Layer], where: str, onnx) -> None:
    _require(bool(layers) and layers[-1].table.get("kind") != "pool"
             and layers[-1].table["activation"] == "identity", where,
             "expected an activation right after a Gemm, MatMul (+ Add) or Conv node")
    name = ACTIVATIONS[node.op_type]
    attributes = _attributes(node, onnx)
    if name == "softmax":
        _require(attributes.get("axis", -1) in (-1, 1) and layers[-1].table.get("kind") != "conv", where,
                 "expected Softmax over the features (axis = 1 or -1) of a dense layer")
    layers[-1].table["activation"] = name
    if name == "leaky_relu":
        layers[-1].table["alpha"] = float(attributes.get("alpha", 0.01))


def _bias(node, layers: list[_Layer], weights: dict[str, np.ndarray], where: str, current: str) -> None:
    other = node.input[1] if node.input[0] == current else node.input[0]
    _require(bool(layers) and "b" not in layers[-1].params and layers[-1].table.get("kind") is None
             and layers[-1].table["activation"] == "identity" and other in weights, where,
             "expected Add only as the bias of a MatMul, an initializer of one value per output")
    b = weights[other].reshape(-1)
    _require(b.size == layers[-1].params["W"].shape[0], where, "expected one bias value per output")
    layers[-1].params["b"] = b
    layers[-1].table["bias"] = True


def toml_text(spec: dict[str, Any], model: str) -> str:
    """The spec as a TOML file (the few value kinds a spec from a model has)."""
    lines = [f"# from {safe_shown_name(model)} by deltagen import; the loss is chosen from the output activation: "
             "edit it to train", *(f"{key} = {toml_value(spec[key])}" for key in ("name", "input", "loss")), "layers = ["]
    lines += ["  { " + ", ".join(f"{k} = {toml_value(v)}" for k, v in layer.items()) + " }," for layer in spec["layers"]]
    return "\n".join(lines + ["]", ""])


def import_model(path: str | os.PathLike, out: str | os.PathLike) -> list[Path]:
    """Write ``out/NAME.toml`` and ``out/NAME.params.npz`` for the ONNX model at ``path``; the written paths."""
    spec, params = read_model(path)
    text = toml_text(spec, Path(path).name)
    network = spec_from_dict(spec, str(path))      # what deltagen cannot take is refused before anything is written
    expected = network.param_shapes()
    got = {key: value.shape for key, value in params.items()}
    if got != expected:
        raise SpecError("graph.initializer", f"expected params of shapes {expected}, got {got}", str(path))
    buffer = io.BytesIO()
    np.savez(buffer, **params)
    name = network.name
    return write_files({f"{name}.toml": text, f"{name}.params.npz": buffer.getvalue()}, out)


__all__ = ["import_model", "read_model", "toml_text"]
