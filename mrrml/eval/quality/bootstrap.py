"""Bootstrap confidence intervals for ratio metrics, resampling whole prompts.

Every quality number here is a ratio of sums over units: pairs ordered correctly / pairs, picked
quality / draws, |Δreward| / good–poor gap. The rows that share a prompt (the three answers of a
triplet, their variants, a HealthBench row's four reference completions) are correlated, so the unit
of resampling is the prompt (or the record, where each record has its own prompt): units are drawn
with replacement, their numerators and denominators are summed, and the ratio is recomputed.
Resampling answers or pairs instead would treat correlated rows as independent and give intervals
that are too narrow.

The interval is the percentile bootstrap. Each estimate draws from a fresh generator seeded with the
same seed, so two metrics computed on the same units (the model and a baseline on the same pairs)
use the same resamples: their intervals are paired, and the whole report is deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap interval.

    ``value`` is the ratio on all units; ``low``/``high`` bound the central ``confidence`` share of the
    bootstrap distribution; ``units`` is how many independent units (prompts) it rests on and
    ``count`` how many cases it counts (pairs, records, answers). NaN where there is no data.
    """

    value: float
    low: float
    high: float
    units: int
    count: float

    def to_dict(self) -> dict[str, float | int | None]:
        return {
            "value": _finite_or_none(self.value),
            "low": _finite_or_none(self.low),
            "high": _finite_or_none(self.high),
            "units": self.units,
            "count": self.count,
        }


def _finite_or_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


@dataclass(frozen=True)
class BootstrapSettings:
    """``n_boot`` resamples, a ``confidence`` two-sided interval, and the generator ``seed``."""

    n_boot: int = 1000
    confidence: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_boot < 1:
            raise ConfigError(f"bootstrap: n_boot must be >= 1, got {self.n_boot}")
        if not 0 < self.confidence < 1:
            raise ConfigError(f"bootstrap: confidence must be in (0, 1), got {self.confidence}")


def ratio_estimate(
    numerator: Sequence[float] | np.ndarray,
    denominator: Sequence[float] | np.ndarray,
    settings: BootstrapSettings,
    clusters: Sequence[Hashable] | None = None,
    count: float | None = None,
) -> Estimate:
    """``sum(numerator) / sum(denominator)`` with a bootstrap interval over units.

    One entry per row (record, HealthBench row); rows with the same ``clusters`` key (the prompt) are
    summed into one unit before resampling. Rows with a zero denominator add nothing but still count
    as a unit of their cluster. A resample whose denominator sums to zero is left out of the interval.
    ``count`` is what the report shows the estimate resting on (default: the summed denominator).
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    if num.shape != den.shape or num.ndim != 1:
        raise ConfigError(f"bootstrap: numerator {num.shape} and denominator {den.shape} must be equal 1-D shapes")
    if clusters is not None:
        if len(clusters) != len(num):
            raise ConfigError(f"bootstrap: {len(clusters)} cluster keys for {len(num)} rows")
        index: dict[Hashable, int] = {}
        ids = np.array([index.setdefault(c, len(index)) for c in clusters], dtype=int)
        num = np.bincount(ids, weights=num, minlength=len(index)) if len(ids) else num
        den = np.bincount(ids, weights=den, minlength=len(index)) if len(ids) else den
    units, total = len(num), float(den.sum())
    count = total if count is None else float(count)
    if units == 0 or total == 0:
        return Estimate(math.nan, math.nan, math.nan, units, count)
    value = float(num.sum() / total)
    rng = np.random.default_rng(settings.seed)
    draws = rng.integers(0, units, size=(settings.n_boot, units))
    boot_den = den[draws].sum(axis=1)
    keep = boot_den > 0
    stats = num[draws].sum(axis=1)[keep] / boot_den[keep]
    alpha = (1.0 - settings.confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha]) if len(stats) else (math.nan, math.nan)
    return Estimate(value, float(low), float(high), units, count)
