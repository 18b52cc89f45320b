"""The indexed forms the backends print (derive/derivation/tensor_forms.py) are the proved per-unit forms.

``derive.proof.spatial`` proves ``derive.derivation.spatial``'s per-unit expressions against ``sympy.diff``
(tests/test_spatial_derivation.py also checks them against torch). Here every indexed form, written out unit
by unit under its convention (a read outside the array or off the integers is 0), must equal those
expressions term for term, for strides 1 and 2, padding 0, 1 and one wider than the kernel, 1-D and 2-D.
"""
from __future__ import annotations

import math

import pytest
import sympy as sp

from deltagen.derive.derivation import spatial, tensor_forms
from deltagen.derive.model.activations import make_activation
from deltagen.derive.model.layer_kinds import ConvLayer, PoolLayer

CONVS = [  # in_shape, channels, kernel, stride, padding
    ((2, 4, 3), 2, (3, 3), (1, 1), (1, 1)),
    ((1, 6, 5), 2, (2, 3), (2, 1), (0, 1)),
    ((2, 7), 2, (3,), (2,), (1,)),
    ((1, 3, 3), 1, (2, 2), (2, 2), (3, 3)),
]
POOLS = [((2, 4, 4), "max", (2, 2), (2, 2)), ((1, 5, 4), "max", (2, 2), (1, 2)), ((1, 7), "max", (3,), (2,)),
         ((2, 6), "average", (3,), (2,)), ((1, 4, 6), "average", (2, 3), (2, 3))]


def _units(prefix: str, shape) -> list[sp.Symbol]:
    return [sp.Symbol(f"{prefix}{k}", real=True) for k in range(math.prod(shape))]


def _same(got: sp.Expr, want: sp.Expr) -> bool:
    return got == want or sp.expand(got - want) == 0


@pytest.mark.parametrize("spec", CONVS, ids=str)
def test_every_conv_form_written_out_is_the_proved_per_unit_form(spec):
    in_shape, channels, kernel, stride, padding = spec
    layer = ConvLayer(channels, kernel, stride, padding, make_activation("relu"), in_shape)
    a, delta = _units("a", layer.in_shape), _units("d", layer.out_shape)
    W, b = spatial.conv_weights(layer, 2), spatial.conv_biases(layer, 2)
    forms = tensor_forms.conv_forms(layer, 2)
    arrays = {"A1": lambda i: a[spatial.flat(layer.in_shape, i)], "Delta2": lambda i: delta[spatial.flat(layer.out_shape, i)],
              "W2": lambda i: W[i], "b2": lambda i: b[i[0]]}

    def reader(name, index):
        return arrays[name](index)

    z = spatial.conv_z(layer, W, b, a)
    for u, spot in enumerate(spatial.positions(layer.out_shape)):
        assert _same(tensor_forms.expand(forms.z, dict(zip(forms.out_index, spot)), reader), z[u])
    back = spatial.conv_input_delta(layer, W, delta)
    for u, spot in enumerate(spatial.positions(layer.in_shape)):
        for form in (forms.input_delta, forms.input_delta_flipped):
            assert _same(tensor_forms.expand(form, dict(zip(forms.in_index, spot)), reader), back[u])
    dW = spatial.conv_weight_gradient(layer, a, delta)
    for spot in spatial.positions(layer.weight_shape):
        assert _same(tensor_forms.expand(forms.weight_gradient, dict(zip(forms.weight_index, spot)), reader), dW[spot])
    db = spatial.conv_bias_gradient(layer, delta)
    for c in range(channels):
        assert _same(tensor_forms.expand(forms.bias_gradient, {forms.weight_index[0]: c}, reader), db[c])


@pytest.mark.parametrize("spec", POOLS, ids=str)
def test_every_pool_form_written_out_is_the_proved_per_unit_form(spec):
    in_shape, mode, size, stride = spec
    layer = PoolLayer(mode, size, stride, in_shape)
    a, delta = _units("a", layer.in_shape), _units("d", layer.out_shape)
    forms = tensor_forms.pool_forms(layer, 2)
    arrays = {"A1": lambda i: a[spatial.flat(layer.in_shape, i)], "Delta2": lambda i: delta[spatial.flat(layer.out_shape, i)],
              "M2": lambda i: forms.mask(i)}

    def reader(name, index):
        return arrays[name](index)

    z = spatial.pool_z(layer, a)
    for u, spot in enumerate(spatial.positions(layer.out_shape)):
        assert _same(tensor_forms.expand(forms.z, dict(zip(forms.out_index, spot)), reader), z[u])
    back = spatial.pool_input_delta(layer, a, delta)
    for u, spot in enumerate(spatial.positions(layer.in_shape)):
        assert _same(tensor_forms.expand(forms.input_delta, dict(zip(forms.in_index, spot)), reader), back[u])


def test_a_kernel_left_unflipped_is_not_the_proved_form():
    """The check can fail: the gather form with p where k − 1 − p belongs differs from the proved δ."""
    layer = ConvLayer(1, (2,), (1,), (0,), make_activation("relu"), (1, 4))
    forms = tensor_forms.conv_forms(layer, 2)
    a, delta = _units("a", layer.in_shape), _units("d", layer.out_shape)
    W = spatial.conv_weights(layer, 2)
    wrong = forms.input_delta_flipped.xreplace({forms.W[forms.weight_index[:2] + (1 - forms.weight_index[2],)]:
                                                forms.W[forms.weight_index]})
    reader = {"W2": lambda i: W[i], "Delta2": lambda i: delta[i[1]], "A1": lambda i: a[i[1]]}
    back = spatial.conv_input_delta(layer, W, delta)
    written = [tensor_forms.expand(wrong, dict(zip(forms.in_index, (0, x))), lambda n, i: reader[n](i)) for x in range(4)]
    assert wrong != forms.input_delta_flipped and not all(_same(w, v) for w, v in zip(written, back))
