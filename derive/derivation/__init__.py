"""The symbolic derivation of a ``Network``: ``Derivation`` (backprop.py) and the stable forms of its expressions."""
