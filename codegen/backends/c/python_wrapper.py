"""``NAME_c.py`` (``--python``): the generated NumPy module's API, backed by the compiled ``NAME.c``.

The module's constants, argument checks, ``init_state`` and ``learning_rate_at`` are the NumPy module's own
template parts (``constants``, ``checks``, ``optimizer_state``, ``schedule`` in the NumPy backend's templates),
rendered from the NumPy backend's context, so the two modules cannot drift apart; the rest calls the C
through ctypes (``templates/python_module.py.jinja``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import jinja2
import sympy as sp

from deltagen.derive.derivation.backprop import Derivation
from deltagen.derive.errors import SpecError

from ..numpy import NumpyConfig, NumpyModule
from ..numpy.module import LEARNING_RATE
from ..numpy.printer import NumpyCodePrinter
from .config import CConfig

NUMPY_TEMPLATES = Path(__file__).parent.parent / "numpy" / "templates"
FILE = "{name}_c.py"


def refuse_unsupported(derivation: Derivation) -> None:
    """A SpecError naming the spec's field when ``--python`` cannot wrap this net's C."""
    for position, layer in enumerate(derivation.network.layers):
        if layer.dropout:
            raise SpecError(f"layers[{position}].dropout", "expected no dropout with --python (the C draws its own "
                            "masks inside train_step, which the NumPy module's API does not do)",
                            derivation.network.source)


def python_files(derivation: Derivation, config: CConfig, common: dict[str, Any],
                 environment: Callable[[tuple[Path, ...]], jinja2.Environment]) -> dict[str, str]:
    """{``NAME_c.py``: text} when ``config.python``, else {}; ``common`` is the render's header context."""
    if not config.python:
        return {}
    refuse_unsupported(derivation)
    context = {**common, **NumpyModule(derivation, NumpyConfig()).context(),
               "n_params": derivation.network.n_params, "sgd_update": sgd_update(derivation)}
    env = environment((NUMPY_TEMPLATES,))
    name = derivation.network.name
    return {FILE.format(name=name): env.get_template("python_module.py.jinja").render(**context)}


def sgd_update(derivation: Derivation) -> str:
    """The derivation's gradient-descent update θ − η ∂C/∂θ, printed over one array ``theta`` and its ``grad``."""
    theta, grad = (sp.MatrixSymbol(name, sp.Symbol("n"), sp.Symbol("k")) for name in ("theta", "grad"))
    return NumpyCodePrinter().doprint(derivation.update_expr(theta, grad, LEARNING_RATE))


__all__ = ["FILE", "NUMPY_TEMPLATES", "python_files", "refuse_unsupported", "sgd_update"]
