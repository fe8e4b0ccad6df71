"""The typed result of :func:`mrrml.eval.quality.evaluate` and its JSON form.

What each number means (every interval is a seeded percentile bootstrap, resampling prompts, see
:mod:`mrrml.eval.quality.bootstrap`):

* ``test_sets[name]`` — one synthetic test set (``held_out_prompts``: new prompts about conditions
  seen in training; ``held_out_conditions``: conditions never seen in training), with the records
  kept and those dropped as not held out (:mod:`mrrml.eval.quality.holdout`).
* ``.views["head"]`` scores each answer with the head of its record's dimension (what the triplet's
  labels speak about); ``.views["reward"]`` with the matrix-weighted reward of its record's
  (scenario, discipline) cell (what a policy would be optimised on).
* ``.accuracy[dim]`` — pairwise and triplet-order accuracy (:class:`~.accuracy.TripletAccuracy`);
  ``"all"`` pools every record of the set.
* ``.robustness[dim]`` — spurious-feature robustness (:class:`~.robustness.Robustness`): how often a
  surface variant of the worse answer outranks the better answer, and how far variants move scores
  relative to the good–poor gap.
* ``.best_of_n[dim]`` — the true quality (good 2, medium 1, poor 0) of the answer picked from N
  candidates by the score, the oracle and a random pick (:class:`~.best_of_n.BestOfN`).
* ``physician`` — physician preference on HealthBench rows beside the random, prefer-longer and
  prefer-more-markdown baselines on the same pairs
  (:class:`~mrrml.eval.healthbench.rm_modes.PhysicianPreference`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from ..healthbench.rm_modes import PhysicianPreference
from .accuracy import TripletAccuracy
from .best_of_n import BestOfN
from .bootstrap import Estimate
from .robustness import Robustness


@dataclass(frozen=True)
class ViewQuality:
    """All synthetic-set metrics under one score view, keyed by dimension id and ``"all"``."""

    accuracy: dict[str, TripletAccuracy]
    robustness: dict[str, Robustness]
    best_of_n: dict[str, BestOfN]


@dataclass(frozen=True)
class TestSetQuality:
    """One test set: where it came from, what was kept and dropped, and its metrics per view."""

    source: str
    records: int
    dropped: dict[str, int]
    answers_scored: int
    variants_applied: dict[str, int]  # answers (of all levels) that got each variant kind
    views: dict[str, ViewQuality]


@dataclass(frozen=True)
class QualitySettings:
    """The settings a report was computed with (a report is a deterministic function of them)."""

    seed: int
    n_boot: int
    confidence: float
    variants: tuple[str, ...]
    best_of_n: tuple[int, ...]
    draws: int
    batch_size: int


@dataclass(frozen=True)
class QualityReport:
    """Reward quality of one model (see the module docstring for what each number means)."""

    dimensions: list[str]
    settings: QualitySettings
    test_sets: dict[str, TestSetQuality]
    physician: PhysicianPreference | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain dicts, lists and numbers; NaN (no data) becomes None."""
        return _jsonable(self)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Estimate):
        return value.to_dict()
    if isinstance(value, PhysicianPreference):
        return _jsonable(value.to_dict())
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
