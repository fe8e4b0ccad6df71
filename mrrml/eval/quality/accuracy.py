"""Triplet-order and pairwise accuracy of a score table, per dimension, with bootstrap intervals.

The same definitions as the training metrics (:class:`mrrml.training.metrics.TripletMetrics`), one
value per record so that records (prompts) can be resampled: a pair counts as right only when the
better answer scores strictly higher (a tie is wrong, as in training).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .bootstrap import BootstrapSettings, Estimate, ratio_estimate

PAIRS = ((0, 1), (1, 2), (0, 2))
"""(better, worse) level indices of a triplet: good > medium, medium > poor, good > poor."""


@dataclass(frozen=True)
class TripletAccuracy:
    """``pairwise``: share of ordered pairs (good>medium, medium>poor, good>poor; good>poor alone
    where a record has no medium answer) that the score orders right. ``order``: share of records with
    a medium answer scored good > medium > poor. Both over the answers as written (form 0)."""

    pairwise: Estimate
    order: Estimate


def pair_outcomes(written: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per record: ordered pairs scored right, and pairs present ([N, 3] scores, NaN = absent)."""
    right = np.zeros(len(written))
    present = np.zeros(len(written))
    for better, worse in PAIRS:
        ok = ~np.isnan(written[:, better]) & ~np.isnan(written[:, worse])
        right += ok & (written[:, better] > written[:, worse])
        present += ok
    return right, present


def triplet_accuracy(
    scores: np.ndarray, groups: dict[str, np.ndarray], clusters: Sequence[str], settings: BootstrapSettings
) -> dict[str, TripletAccuracy]:
    """Accuracy per group of records (``groups``: name -> record indices) of an [N, 3, F] score table."""
    written = scores[:, :, 0]
    right, present = pair_outcomes(written)
    has_medium = ~np.isnan(written).any(axis=1)
    in_order = has_medium & (written[:, 0] > written[:, 1]) & (written[:, 1] > written[:, 2])
    keys = np.asarray(clusters, dtype=object)
    return {
        name: TripletAccuracy(
            pairwise=ratio_estimate(right[rows], present[rows], settings, keys[rows]),
            order=ratio_estimate(in_order[rows], has_medium[rows], settings, keys[rows]),
        )
        for name, rows in groups.items()
    }
