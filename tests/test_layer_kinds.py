"""Conv and pool layers in the spec (issue 15, first step): their shapes, parameter counts and errors.

Expected shapes and counts come from torch.nn.Conv1d/Conv2d, MaxPool/AvgPool run on zero tensors (when
torch is installed) and from DESIGN.md's example worked by hand: [1, 6, 6] → conv 4×3×3 with padding 1
→ (4, 6, 6) → max pool 2 → (4, 3, 3) → dense 10 reads 36 inputs.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from deltagen.derive import derive, spec_from_dict
from deltagen.derive.errors import SpecError


def net(input_, *layers, **extra):
    return spec_from_dict({"name": "cnn", "input": input_, "loss": "half_sse", "layers": list(layers), **extra})


DENSE_OUT = {"units": 1, "activation": "identity"}


def test_designs_example_by_hand():
    n = net([1, 6, 6], {"kind": "conv", "channels": 4, "kernel": 3, "stride": 1, "padding": 1, "activation": "relu"},
            {"kind": "pool", "mode": "max", "size": 2}, {"units": 10, "activation": "softmax"}, loss="cce")
    conv, pool, dense = n.layers
    assert (conv.out_shape, pool.out_shape, n.sizes) == ((4, 6, 6), (4, 3, 3), (36, 144, 36, 10))
    assert conv.weight_shape == (4, 1, 3, 3) and pool.stride == (2, 2)       # stride defaults to size
    assert n.n_params == 4 * 9 + 4 + 36 * 10 + 10 and n.input_shape == (1, 6, 6)


CASES = [  # input, conv (channels, kernel, stride, padding), pool (mode, size, stride)
    ((3, 7, 9), (2, [3, 2], [2, 1], [1, 0]), ("max", 2, None)),
    ((2, 8, 8), (5, 3, 2, 1), ("average", [2, 3], [1, 2])),
    ((1, 5, 5), (1, 5, 1, 0), ("max", 1, None)),
    ((2, 11), (3, 4, 3, 2), ("average", 2, 1)),
    ((4, 6), (2, 1, 1, 0), ("max", 3, None)),
]


@pytest.mark.parametrize("shape, conv, pool", CASES)
def test_shapes_and_counts_are_torchs(shape, conv, pool):
    torch = pytest.importorskip("torch")
    channels, kernel, stride, padding = conv
    mode, size, pool_stride = pool
    layers = [{"kind": "conv", "channels": channels, "kernel": kernel, "stride": stride, "padding": padding,
               "activation": "tanh"}, {"kind": "pool", "mode": mode, "size": size,
                                       **({"stride": pool_stride} if pool_stride else {})}, DENSE_OUT]
    n = net(list(shape), *layers)
    dims = len(shape) - 1
    Conv = torch.nn.Conv2d if dims == 2 else torch.nn.Conv1d
    Pool = {("max", 2): torch.nn.MaxPool2d, ("max", 1): torch.nn.MaxPool1d,
            ("average", 2): torch.nn.AvgPool2d, ("average", 1): torch.nn.AvgPool1d}[mode, dims]
    tconv = Conv(shape[0], channels, kernel, stride=stride, padding=padding)
    tpool = Pool(size, stride=pool_stride)
    after_conv = tconv(torch.zeros(1, *shape))
    after_pool = tpool(after_conv)
    assert n.layers[0].out_shape == tuple(after_conv.shape[1:])
    assert n.layers[1].out_shape == tuple(after_pool.shape[1:])
    assert n.layers[0].n_params == sum(p.numel() for p in tconv.parameters())
    assert n.layers[0].weight_shape == tuple(tconv.weight.shape)
    assert n.sizes[1:3] == (after_conv.numel(), after_pool.numel())


@pytest.mark.parametrize("input_, layers, field, message", [
    (4, [{"kind": "conv", "channels": 2, "kernel": 3, "activation": "relu"}, DENSE_OUT], "layers[0].kind",
     "expected a conv layer only after an image or sequence input (input = [C, H, W] or [C, L]) or a conv or pool "
     "layer, got it after input = n (a number of inputs, not a shape)"),
    ([1, 4, 4], [{"units": 3, "activation": "relu"}, {"kind": "pool", "size": 2}, DENSE_OUT], "layers[1].kind",
     "got it after a dense layer"),
    ([1, 4, 4], [{"kind": "conv", "channels": 2, "kernel": 5, "activation": "relu"}, DENSE_OUT], "layers[0].kernel",
     "expected a window that fits the input along axis 1 (length 4), got 5"),
    ([1, 4, 4], [{"kind": "conv", "channels": 2, "kernel": [3, 3, 3], "activation": "relu"}, DENSE_OUT],
     "layers[0].kernel", "expected a positive integer or a list of 2 (one per spatial axis of the input)"),
    ([1, 4, 4], [{"kind": "conv", "channels": 2, "kernel": 3, "stride": 0, "activation": "relu"}, DENSE_OUT],
     "layers[0].stride", "expected a positive integer or a list of 2, got 0"),
    ([1, 4, 4], [{"kind": "conv", "channels": 2, "kernel": 3, "padding": -1, "activation": "relu"}, DENSE_OUT],
     "layers[0].padding", "expected a non-negative integer or a list of 2, got -1"),
    ([1, 4, 4], [{"kind": "conv", "channels": 2, "kernel": 3, "activation": "softmax"}, DENSE_OUT],
     "layers[0].activation", "expected an elementwise activation"),
    ([1, 4, 4], [{"kind": "conv", "kernel": 3, "activation": "relu"}, DENSE_OUT], "layers[0].channels",
     "expected a value (required)"),
    ([1, 4, 4], [{"kind": "conv", "channels": 2, "kernel": 3, "units": 4, "activation": "relu"}, DENSE_OUT],
     "layers[0].units", "got unknown key units"),
    ([1, 4, 4], [{"kind": "conv", "channels": 2, "kernel": 3, "activation": "relu", "dropout": 0.5}, DENSE_OUT],
     "layers[0].dropout", "expected no dropout on a conv layer yet (dense layers take it), got 0.5"),
    ([1, 4, 4], [{"kind": "pool", "mode": "avg", "size": 2}, DENSE_OUT], "layers[0].mode",
     "expected 'max' or 'average', got 'avg'"),
    ([1, 4, 4], [{"kind": "pool", "size": 5}, DENSE_OUT], "layers[0].size", "along axis 1 (length 4), got 5"),
    ([1, 4, 4], [{"kind": "dense2", "units": 2, "activation": "relu"}, DENSE_OUT], "layers[0].kind",
     "expected one of dense, conv, pool, got 'dense2'"),
    ([1, 0, 4], [DENSE_OUT], "input", "expected a shape [C, L] or [C, H, W] of positive integers, got [1, 0, 4]"),
    ([1, 2, 3, 4], [DENSE_OUT], "input", "got [1, 2, 3, 4]"),
])
def test_bad_layer_tables_are_one_line_naming_the_field(input_, layers, field, message):
    with pytest.raises(SpecError) as info:
        net(input_, *layers)
    assert info.value.field == field and message in str(info.value)


def test_a_dense_net_on_an_image_input_reads_it_flattened():
    n = net([2, 3, 4], {"units": 5, "activation": "relu"}, DENSE_OUT)
    assert n.sizes == (24, 5, 1) and n.input_shape == (2, 3, 4) and n.n_params == 24 * 5 + 5 + 6


def test_every_command_handles_a_conv_net(tmp_path):
    spec = tmp_path / "cnn.toml"
    spec.write_text('name = "cnn"\ninput = [1, 8, 8]\nloss = "cce"\nlayers = [\n'
                    '  { kind = "conv", channels = 4, kernel = 3, activation = "relu" },\n'
                    '  { kind = "pool", mode = "max", size = 2 },\n  { units = 10, activation = "softmax" },\n]\n')
    derived = subprocess.run([sys.executable, "-m", "deltagen.cli", "derive", str(spec)], capture_output=True, text=True)
    assert derived.returncode == 0 and "proof: all" in derived.stdout and "verified" in derived.stdout
    assert "z[1]_(c,i,j) = Σ_(c′,p,q) W[1]_(c,c′,p,q) a[0]_(c′, i + p, j + q) + b[1]_c" in derived.stdout
    for command, made in ((["generate", str(spec), "--target", "numpy", "--out", str(tmp_path / "o")], "cnn.py"),
                          (["generate", str(spec), "--target", "c", "--out", str(tmp_path / "o")], "cnn.c"),
                          (["derive", str(spec), "--latex", "--output", str(tmp_path / "o" / "d.tex")], "d.tex")):
        run = subprocess.run([sys.executable, "-m", "deltagen.cli", *command], capture_output=True, text=True)
        assert run.returncode == 0 and (tmp_path / "o" / made).is_file(), run.stderr


def test_a_generated_module_takes_image_batches_flattened_in_c_order(tmp_path):
    """X as (C, H, W, m): column i is example i with entry (c, h, w) at row c·H·W + h·W + w (written out here)."""
    import numpy as np
    from conftest import import_file
    from deltagen.codegen import render, write_files
    write_files(render(derive(net([2, 3, 2], {"units": 3, "activation": "tanh"}, {"units": 1, "activation": "sigmoid"},
                                  loss="bce")), "numpy"), tmp_path)
    module = import_file(tmp_path / "cnn.py")
    assert module.INPUT_SHAPE == (2, 3, 2)
    images = np.random.default_rng(0).normal(size=(2, 3, 2, 5))
    flat = np.zeros((12, 5))
    for c, h, w, i in np.ndindex(images.shape):
        flat[c * 3 * 2 + h * 2 + w, i] = images[c, h, w, i]
    params, Y = module.init_params(1), np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(module.forward(params, images), module.forward(params, flat))
    assert module.forward(params, images[..., 0]).shape == (1,)              # one image is one example
    dX = module.backward(params, images, Y)["dX"]
    assert dX.shape == images.shape                                          # ∂C/∂X has the shape of X as given
    np.testing.assert_array_equal(dX.reshape(12, 5), module.backward(params, flat, Y)["dX"])
    with pytest.raises(ValueError, match=r"or \(2, 3, 2\) \+ \(m,\)"):
        module.forward(params, np.zeros((2, 3, 3, 5)))
