"""A constant beyond what an integer literal holds is still a number in the generated C and NumPy."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from c_harness import CNet, compile_c
from conftest import import_file
from deltagen.codegen.render import render, write_files
from deltagen.derive import derive, spec_from_dict

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


@pytest.mark.parametrize("real", ["double", "float"])
def test_an_integer_coefficient_beyond_int64_compiles_and_computes(tmp_path, real):
    """g(z) = 10²⁰ z, written as an integer: a = 10²⁰ (w x + b), by hand."""
    name = "huge"
    spec = {"name": name, "input": 1, "layers": [{"units": 1, "activation": "100000000000000000000*z"}],
            "loss": "mse"}
    derivation = derive(spec_from_dict(spec))
    write_files({**render(derivation, "c"), **render(derivation, "numpy")}, tmp_path)
    library = compile_c([tmp_path / f"{name}.c"], tmp_path / f"lib_{real}.so", name, real=real)
    net = CNet(library, name, {"W1": (1, 1), "b1": (1, 1)}, real=real)
    module = import_file(tmp_path / f"{name}.py")
    params = {"W1": np.array([[0.5]]), "b1": np.array([[0.25]])}
    X = np.array([[2.0, -1.0]])
    expected = 1e20 * (0.5 * X + 0.25)
    tolerance = 1e-15 if real == "double" else 1e-6
    c_outputs = np.array([net.forward(params, X[:, [i]])[0] for i in range(X.shape[1])]).reshape(1, -1)
    for got in (c_outputs, module.forward(params, X)):
        assert np.allclose(got, expected, rtol=tolerance, atol=0), got
