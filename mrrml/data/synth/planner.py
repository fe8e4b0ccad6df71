"""Which records to make: a deterministic plan over the matrix's applicable cells and dimensions.

A plan item is everything a backend needs to produce one triplet — cell, target dimension, its
template operator, whether to add a neutral rewrite — plus its index. Backends generate each item as a
function of ``(seed, index)`` only, so the plan is the resumable unit of work.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ...errors import ConfigError

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix

Weighting = Literal["balanced", "weighted"]


@dataclass(frozen=True)
class PlanItem:
    index: int
    scenario: str
    discipline: str
    dimension: str
    operator: str
    neutral: bool


def _cycled(items: list, n: int, rng: random.Random) -> list:
    """``n`` picks that use every item once per cycle, in a fresh random order each cycle (counts differ by ≤ 1)."""
    out: list = []
    while len(out) < n:
        block = list(items)
        rng.shuffle(block)
        out.extend(block)
    return out[:n]


def make_plan(
    matrix: StandardsMatrix, n: int, seed: int, weighting: Weighting = "balanced", neutral_rate: float = 0.0
) -> list[PlanItem]:
    """Plan ``n`` records.

    ``balanced``: cells and dimensions each cycle through all options (equal counts up to one).
    ``weighted``: cells are still balanced, but each record's dimension is drawn with the cell's
    dimension weights (docs/design.md §1), so heavier dimensions of a cell get more data.
    """
    if n < 0:
        raise ConfigError(f"n: must be >= 0, got {n}")
    if not 0.0 <= neutral_rate <= 1.0:
        raise ConfigError(f"neutral_rate: must be within [0, 1], got {neutral_rate}")
    if weighting not in ("balanced", "weighted"):
        raise ConfigError(f"weighting: must be 'balanced' or 'weighted', got {weighting!r}")
    cells = matrix.applicable_cells()
    if not cells:
        raise ConfigError(f"matrix {matrix.name!r} has no applicable cells to plan over")
    dims = matrix.dimension_ids
    rng = random.Random(f"mrrml-plan:{seed}")
    chosen_cells = _cycled(cells, n, rng)
    if weighting == "balanced":
        chosen_dims = _cycled(dims, n, rng)
    else:
        chosen_dims = []
        for scenario, discipline in chosen_cells:
            weights = matrix.cell_weights(scenario, discipline)
            chosen_dims.append(rng.choices(dims, weights=[weights.get(d, 0.0) for d in dims])[0])
    operators = {d.id: d.template_operator for d in matrix.dimensions}
    return [
        PlanItem(i, s, c, d, operators[d], rng.random() < neutral_rate)
        for i, ((s, c), d) in enumerate(zip(chosen_cells, chosen_dims))
    ]
