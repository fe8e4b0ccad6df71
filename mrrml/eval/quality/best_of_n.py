"""Best-of-N: the true quality of the answer a score picks from N candidates.

For each record, N candidates are drawn with replacement from its answers and their variants: a
level (good, medium, poor; those present) uniformly, then one of that level's forms (as written or a
variant) uniformly, so a candidate's expected quality is the same whatever variants apply. The score
picks the highest-scored candidate (the first drawn among equal scores); its true quality (good 2,
medium 1, poor 0; a variant keeps its source's) is averaged over ``draws`` independent draws. The
same draws serve three pickers:

* ``model`` — the score under evaluation;
* ``oracle`` — the true quality itself (the best quality among the N);
* ``random`` — the first candidate drawn (expected quality independent of N).

A score that reads quality keeps ``model`` rising with N toward ``oracle``; one that is exploited by
surface features (padding, markdown) falls as N grows, because larger N offers more variants of
worse answers to be fooled by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from .bootstrap import BootstrapSettings, Estimate, ratio_estimate

PICKERS = ("model", "oracle", "random")
DEFAULT_NS = (1, 2, 4, 8, 16)


@dataclass(frozen=True)
class BestOfN:
    """Mean true quality (0..2) of the picked answer for each N in ``n``, per picker; intervals
    resample records. ``model[i]`` is for ``n[i]``."""

    n: tuple[int, ...]
    model: tuple[Estimate, ...]
    oracle: tuple[Estimate, ...]
    random: tuple[Estimate, ...]


def check_best_of_n(ns: Sequence[int], draws: int) -> tuple[int, ...]:
    """The sizes ``ns`` sorted without repeats; ConfigError unless they and ``draws`` are positive integers."""
    if not ns or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in ns):
        raise ConfigError(f"best_of_n: expected positive integers, got {list(ns)}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ConfigError(f"best_of_n: draws must be a positive integer, got {draws!r}")
    return tuple(sorted(set(ns)))


def picked_quality(
    scores: np.ndarray, quality: np.ndarray, ns: Sequence[int], draws: int, seed: int
) -> dict[str, np.ndarray]:
    """Per picker, [len(ns), N records] mean true quality of the pick over ``draws`` draws."""
    rng = np.random.default_rng(seed)
    out = {p: np.zeros((len(ns), len(scores))) for p in PICKERS}
    for r in range(len(scores)):
        present = ~np.isnan(quality[r])  # [3, F]
        levels = np.flatnonzero(present.any(axis=1))
        for i, n in enumerate(ns):
            level = levels[rng.integers(0, len(levels), size=(draws, n))]
            nth = (rng.random((draws, n)) * present.sum(axis=1)[level]).astype(int)
            forms = _nth_present(present, level, nth)
            s = scores[r][level, forms]
            q = quality[r][level, forms]
            chosen = np.argmax(s, axis=1)
            out["model"][i, r] = q[np.arange(draws), chosen].mean()
            out["oracle"][i, r] = q.max(axis=1).mean()
            out["random"][i, r] = q[:, 0].mean()
    return out


def _nth_present(present: np.ndarray, level: np.ndarray, nth: np.ndarray) -> np.ndarray:
    """The form index of the ``nth`` present form of ``level`` (element-wise)."""
    ranks = np.where(present, np.cumsum(present, axis=1) - 1, -1)  # [3, F]: rank among the level's forms
    return np.argmax(ranks[level] == nth[..., None], axis=-1)


def best_of_n(
    scores: np.ndarray,
    quality: np.ndarray,
    groups: dict[str, np.ndarray],
    clusters: Sequence[str],
    settings: BootstrapSettings,
    ns: Sequence[int] = DEFAULT_NS,
    draws: int = 200,
) -> dict[str, BestOfN]:
    """Best-of-N curves per group of records of [N, 3, F] score and quality tables."""
    ns = check_best_of_n(ns, draws)
    values = picked_quality(scores, quality, ns, draws, settings.seed)
    keys = np.asarray(clusters, dtype=object)
    ones = np.ones(len(scores))
    return {
        name: BestOfN(
            ns,
            *(
                tuple(ratio_estimate(values[p][i, rows], ones[rows], settings, keys[rows]) for i in range(len(ns)))
                for p in PICKERS
            ),
        )
        for name, rows in groups.items()
    }
