"""The generic variables of an activation: g is an expression in z, its lecture-form derivative in a = g(z)."""
from __future__ import annotations

import sympy as sp

Z = sp.Symbol("z", real=True)
A = sp.Symbol("a", real=True)
