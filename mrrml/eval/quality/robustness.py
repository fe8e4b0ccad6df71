"""Spurious-feature robustness (Crome): do surface variants of the worse answer beat the better one?

For each ordered pair of a record (good>medium, medium>poor, good>poor) and each variant kind that
applies to the worse answer, the variant of the worse answer is compared with the better answer as
written. Because a variant never improves an answer's quality (:mod:`mrrml.eval.quality.variants`),
every such win is a ranking error caused by a surface feature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .accuracy import PAIRS
from .bootstrap import BootstrapSettings, Estimate, ratio_estimate

AS_WRITTEN = "as_written"
POOLED = "pooled"
ANY = "any"


@dataclass(frozen=True)
class Robustness:
    """Per variant kind:

    * ``outrank[kind]`` — share of (pair, kind) cases where the kind's variant of the worse answer
      scores strictly above the better answer as written. ``outrank["as_written"]`` is the same share
      for the worse answer unchanged (the plain ranking error, for reference), ``outrank["pooled"]``
      pools every (pair, kind) case, and ``outrank["any"]`` is the share of pairs where at least one
      applicable variant of the worse answer wins (the worst case).
    * ``sensitivity[kind]`` — mean ``|score(variant) − score(answer)|`` over every answer (good, medium,
      poor) that has the variant, divided by the mean ``|score(good) − score(poor)|`` of the same
      records: 0 = the variant leaves the score alone, 1 = it moves the score as much as the
      difference between the best and the worst answer.
    * ``shift[kind]`` — the same with the signed difference: positive when the variant raises the
      score (a model that likes length has a positive ``shift["filler"]``).
    """

    outrank: dict[str, Estimate]
    sensitivity: dict[str, Estimate]
    shift: dict[str, Estimate]


def robustness(
    scores: np.ndarray,
    kinds: Sequence[str],
    groups: dict[str, np.ndarray],
    clusters: Sequence[str],
    settings: BootstrapSettings,
) -> dict[str, Robustness]:
    """Robustness per group of records of an [N, 3, 1 + len(kinds)] score table."""
    n = len(scores)
    written = scores[:, :, 0]
    # Per record and form: wins of the worse answer's form over the better answer, and pairs compared.
    wins = np.zeros((n, scores.shape[2]))
    pairs = np.zeros((n, scores.shape[2]))
    any_win = np.zeros(n)
    any_pairs = np.zeros(n)
    for better, worse in PAIRS:
        base = written[:, better]
        variant_scores = scores[:, worse, 1:]
        applied = ~np.isnan(variant_scores) & ~np.isnan(base)[:, None]
        win = applied & (variant_scores > base[:, None])
        wins[:, 1:] += win
        pairs[:, 1:] += applied
        present = ~np.isnan(base) & ~np.isnan(written[:, worse])
        wins[:, 0] += present & (written[:, worse] > base)
        pairs[:, 0] += present
        has_variant = applied.any(axis=1)
        any_win += win.any(axis=1)
        any_pairs += has_variant
    gap = np.abs(written[:, 0] - written[:, 2])
    delta = scores[:, :, 1:] - written[:, :, None]  # [N, 3, K], NaN where no variant
    applied_levels = (~np.isnan(delta)).sum(axis=1)  # [N, K]
    abs_delta = np.nansum(np.abs(delta), axis=1)
    signed_delta = np.nansum(delta, axis=1)
    gap_weight = applied_levels * np.nan_to_num(gap)[:, None]
    keys = np.asarray(clusters, dtype=object)
    out: dict[str, Robustness] = {}
    for name, rows in groups.items():
        c = keys[rows]
        outrank = {AS_WRITTEN: ratio_estimate(wins[rows, 0], pairs[rows, 0], settings, c)}
        for k, kind in enumerate(kinds, start=1):
            outrank[kind] = ratio_estimate(wins[rows, k], pairs[rows, k], settings, c)
        outrank[POOLED] = ratio_estimate(wins[rows, 1:].sum(1), pairs[rows, 1:].sum(1), settings, c)
        outrank[ANY] = ratio_estimate(any_win[rows], any_pairs[rows], settings, c)
        out[name] = Robustness(
            outrank=outrank,
            sensitivity={
                kind: ratio_estimate(
                    abs_delta[rows, k], gap_weight[rows, k], settings, c, applied_levels[rows, k].sum()
                )
                for k, kind in enumerate(kinds)
            },
            shift={
                kind: ratio_estimate(
                    signed_delta[rows, k], gap_weight[rows, k], settings, c, applied_levels[rows, k].sum()
                )
                for k, kind in enumerate(kinds)
            },
        )
    return out
