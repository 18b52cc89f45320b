"""A dense layer's weight symbols are made when first read (issue 18): generating code for a layer in loops
reads one weight, not n_l · n_{l−1}; the symbols are the same SymPy symbols the Matrix held."""
from __future__ import annotations

import pytest
import sympy as sp

from deltagen.codegen.render import render
from deltagen.derive import derive, spec_from_dict

WIDE = {"name": "wide_net", "input": 300, "loss": "cce", "layers": [
    {"units": 200, "activation": "tanh"}, {"units": 3, "activation": "softmax"}]}


def test_the_weights_are_the_symbols_a_matrix_held():
    d = derive(spec_from_dict({"name": "small", "input": 3, "loss": "half_sse",
                               "layers": [{"units": 2, "activation": "sigmoid"}]}))
    W = d.symbols(1).W
    expected = sp.Matrix(2, 3, lambda j, k: sp.Symbol(f"W1_{j + 1}_{k + 1}", real=True))   # W^[1]_jk, named W1_j_k
    assert W.shape == (2, 3) and len(W) == 6
    assert W.as_matrix() == expected and list(W) == list(expected) and W[1, 2] == expected[1, 2] == W[5]
    assert W[0, 1] is W[0, 1]   # one symbol per entry, made once
    for bad in ((2, 0), (0, 3), 6, -1):
        with pytest.raises(IndexError):
            W[bad]


@pytest.mark.parametrize("target", ["c", "numpy"])
def test_generating_a_looped_layer_makes_a_few_weight_symbols(target):
    d = derive(spec_from_dict(WIDE))
    files = render(d, target)
    assert files   # generated
    # W1 (200 × 300) and W2 (3 × 200) are in loops: their code reads W_11, not 60 000 and 600 weights
    assert d.symbols(1).W.made <= 4 and d.symbols(2).W.made <= 4, (d.symbols(1).W.made, d.symbols(2).W.made)
