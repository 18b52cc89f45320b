"""The proof: every identity of a ``Derivation`` checked against direct differentiation."""
from .proof import END_TO_END_MAX_PARAMS, ProofReport, prove

__all__ = ["END_TO_END_MAX_PARAMS", "ProofReport", "prove"]
