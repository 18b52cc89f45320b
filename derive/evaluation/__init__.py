"""Numbers: every intermediate value of a forward and backward pass, from the derivation's expressions."""
from .evaluate import Trace, evaluate

__all__ = ["Trace", "evaluate"]
