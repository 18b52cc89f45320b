"""The register-blocked kernels of a tile (``templates/tiles.c.jinja``): their shapes and names."""
from __future__ import annotations

from dataclasses import dataclass

#: rows of a kernel's register block (units of the layer the product writes)
ROWS = 4
#: the loop index over the lanes (examples) of a tile, the first example of the tile, and its examples
LANE, FIRST, COUNT = "lane", "i0", "count"
#: 1 in the batch's first tile: its ∂W sums start from 0 (grad holds no sums yet, and is not zeroed first)
FIRST_TILE = "first"


@dataclass(frozen=True)
class Shape:
    """The operands of one matrix product of a tile: x_r[q] = x[r·x_row + q·x_step] and M[q][c] = M[q·m_step + c]
    for q < ``depth``; the result rows S_r = S + r·s_row. Strides and depth are C constants (or a parameter name)."""

    depth: str
    x_row: str
    x_step: str
    m_step: str
    s_row: str
    fresh: bool = False    # an int parameter FIRST_TILE: 1 starts the sums from 0, not from S (the first tile of ∂W)


@dataclass(frozen=True)
class Kernel:
    """``NAME_{name}(x, M, S[, count][, cols])``: S_r[c] += Σ_q x_r[q] M[q][c] for r < rows, c < ``columns``."""

    name: str
    rows: int
    columns: str                # NAME_TILE, NAME_COLUMNS (∂W), or "cols" (a parameter: the last columns of ∂W)
    capacity: str               # the partial sums' array size: NAME_TILE or NAME_COLUMNS
    shape: Shape
    terms: tuple[str, ...]      # the statement of row r: S_r[c] += terms[r]
    comment: str

    @property
    def parameters(self) -> tuple[str, ...]:
        """The int parameters after x, M and S: the depth and the columns when they are not constants."""
        return (tuple(name for name in (self.shape.depth, self.columns) if name in (COUNT, "cols"))
                + ((FIRST_TILE,) if self.shape.fresh else ()))
