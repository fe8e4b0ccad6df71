"""HealthBench scoring, with the reference implementation's semantics (simple-evals).

* Per example: ``Σ points of met items / Σ positive points``, *not* clipped (negative items can push
  it below 0); ``None`` when no item carries positive points.
* Example tags (``theme:``, ``physician_agreed_category:``) receive the example's score.
* Rubric tags (``axis:``, ``level:``, ``cluster:``) are rescored on their own items and kept only
  when those items carry positive points (a tag with only negative items gives no value).
* Over examples, each metric is the mean clipped to [0, 1] — clipping happens only here — with a
  bootstrap std of that clipped mean over 1,000 resamples and ``n_samples``.

Optional length adjustment (not in the reference; off by default): the example score becomes
``score − penalty × (len(completion) − center) / 500`` (characters), and example tags inherit the
adjusted score; rubric-tag scores are left alone. It discounts policies that win by sheer length.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

OVERALL = "overall_score"
N_BOOTSTRAP = 1000


@dataclass(frozen=True)
class LengthAdjustment:
    """``score − penalty × (characters − center) / 500``; see the module docstring."""

    center: int
    penalty: float

    def apply(self, score: float, completion: str) -> float:
        return score - self.penalty * (len(completion) - self.center) / 500.0


def rubric_score(items: Iterable[tuple[float, bool]]) -> float | None:
    """Score ``(points, met)`` pairs: met points over positive points; None if no positive points."""
    pairs = list(items)
    possible = sum(points for points, _ in pairs if points > 0)
    if possible == 0:
        return None
    return sum(points for points, met in pairs if met) / possible


def example_metrics(
    items: Sequence[tuple[float, Sequence[str], bool]],
    example_tags: Sequence[str],
    completion: str = "",
    length: LengthAdjustment | None = None,
) -> dict[str, float]:
    """Per-example metrics from ``(points, tags, criteria_met)`` per rubric item."""
    overall = rubric_score((points, met) for points, _, met in items)
    if overall is None:
        raise ValueError("an example needs at least one rubric item with positive points")
    if length is not None:
        overall = length.apply(overall, completion)
    metrics = {OVERALL: overall}
    metrics.update(dict.fromkeys(example_tags, overall))
    by_tag: dict[str, list[tuple[float, bool]]] = {}
    for points, tags, met in items:
        for tag in tags:
            by_tag.setdefault(tag, []).append((points, met))
    for tag, pairs in by_tag.items():
        score = rubric_score(pairs)
        if score is not None:
            metrics[tag] = score
    return metrics


def clipped_mean(values: Sequence[float]) -> float:
    return float(np.clip(np.mean(values), 0.0, 1.0))


def bootstrap_std(values: Sequence[float], rng: np.random.RandomState, n: int = N_BOOTSTRAP) -> float:
    """Std of the clipped mean over ``n`` resamples with replacement (same draws as the reference
    makes from numpy's global generator when ``rng`` is seeded alike)."""
    arr = np.asarray(values, dtype=float)
    means = [clipped_mean(rng.choice(arr, len(arr))) for _ in range(n)]
    return float(np.std(means))


def _metric_seed(seed: int, name: str) -> int:
    # One stream per metric name: a metric's error bar does not change when other metrics appear.
    return (seed + zlib.crc32(name.encode("utf-8"))) % (2**32)


def aggregate(
    per_example: Sequence[Mapping[str, float]], seed: int = 0, n_bootstrap: int = N_BOOTSTRAP
) -> dict[str, float]:
    """Mean (clipped), ``:bootstrap_std`` and ``:n_samples`` of every metric over examples."""
    values: dict[str, list[float]] = {}
    for metrics in per_example:
        for name, value in metrics.items():
            values.setdefault(name, []).append(value)
    out: dict[str, float] = {}
    for name in sorted(values, key=lambda k: (k != OVERALL, k)):
        vals = values[name]
        out[name] = clipped_mean(vals)
        out[f"{name}:n_samples"] = len(vals)
        out[f"{name}:bootstrap_std"] = bootstrap_std(vals, np.random.RandomState(_metric_seed(seed, name)), n_bootstrap)
    return out
