"""SplitMix64 as README "Random numbers" documents it, and the numbers an exercise variant draws from it.

The generated NumPy module and C carry their own copy (they import nothing from deltagen); this one is the
exercise generator's, written from the README's description and tested against the published outputs and
the generated module's class.

A variant's stream: variant v (1-based) of ``deltagen exercise --seed S`` draws from ``SplitMix64(s_v)``,
where s_v is the v-th draw of ``SplitMix64(S)``. The streams of two variants are therefore as unrelated as
two seeds, and variant 3 is the same whether 3 or 80 variants are asked for.
"""
from __future__ import annotations

from decimal import Decimal

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


class SplitMix64:
    """State s = seed mod 2⁶⁴ (plus skip · GAMMA); each draw adds GAMMA and mixes (README "Random numbers")."""

    def __init__(self, seed: int, skip: int = 0) -> None:
        self.state = (int(seed) + int(skip) * GAMMA) & MASK64

    def next_u64(self) -> int:
        self.state = (self.state + GAMMA) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """One draw mod ``n``: an integer in [0, n) (the modulo bias is at most n / 2⁶⁴, as in train's shuffle)."""
        return self.next_u64() % n

    def on_grid(self, lo: Decimal, hi: Decimal, step: Decimal) -> Decimal:
        """One draw: lo + k·step with k = draw mod (the number of grid points lo, lo + step, ... ≤ hi), exact."""
        return lo + self.below(grid_count(lo, hi, step)) * step


def grid_count(lo: Decimal, hi: Decimal, step: Decimal) -> int:
    """How many of lo, lo + step, lo + 2·step, ... are at most hi."""
    return int((hi - lo) // step) + 1


def variant_stream(seed: int, variant: int) -> SplitMix64:
    """The generator of variant ``variant`` (1-based): seeded with the variant-th draw of SplitMix64(seed)."""
    if variant < 1:
        raise ValueError(f"variant: expected a number from 1, got {variant}")
    return SplitMix64(SplitMix64(seed, skip=variant - 1).next_u64())
