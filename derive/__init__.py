"""deltagen's derivation layer: spec → Network → Derivation → proof.

Nothing here imports ``codegen``: consumers depend on the ``Derivation``.
"""
from .backprop import Derivation, derive
from .errors import SpecError
from .network import Example, Layer, Network, Notation
from .spec import load_spec, spec_from_dict

__version__ = "0.1.0"

__all__ = ["Derivation", "Example", "Layer", "Network", "Notation", "SpecError", "derive",
           "load_spec", "spec_from_dict", "__version__"]
