"""Numbers: every intermediate value of a forward and backward pass, from the derivation's expressions.

    expressions.py  each step as SymPy (the symbols it reads, the expressions it computes)
    steps.py        ``Steps``: those steps compiled (NumPy or mpmath), run one at a time
    evaluate.py     ``evaluate`` → ``Trace``: the steps run in order over a batch
    optimizer.py    ``OptimizerStep``: an [optimizer]'s rule (RULES) compiled line by line, entry by entry
    numbers.py      float64 or mpmath numbers, and ``GUARD_DIGITS``
"""
from .evaluate import Trace, evaluate
from .numbers import GUARD_DIGITS

__all__ = ["GUARD_DIGITS", "Trace", "evaluate"]
