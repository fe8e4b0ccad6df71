"""``evaluate``: a saved reward model measured where it matters (see :mod:`mrrml.eval.quality.report`).

One pass per test set: read and check the records against the model's matrix, drop what training
makes not held out, build every answer's variants, score them all with one ``model.score`` call, and
compute accuracy, robustness and best-of-N under both score views from the same score tables.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ...data.records import TripletRecord, check_against_matrix, read_records
from ...errors import ConfigError, RecordError
from ..healthbench.data import Example
from ..healthbench.rm_modes import physician_preference_report
from .accuracy import triplet_accuracy
from .best_of_n import DEFAULT_NS, best_of_n, check_best_of_n
from .bootstrap import BootstrapSettings
from .candidates import build_candidates, score_candidates
from .holdout import HoldoutKind, filter_held_out
from .report import QualityReport, QualitySettings, TestSetQuality, ViewQuality
from .robustness import robustness
from .variants import VARIANT_KINDS, check_kinds

RecordSource = str | os.PathLike | Sequence[TripletRecord]
"""A JSON Lines file of triplet records (``mrrml synth`` output) or the records themselves."""
TEST_SETS: dict[str, HoldoutKind] = {"held_out_prompts": "prompts", "held_out_conditions": "conditions"}


def load_triplets(source: RecordSource, matrix, what: str) -> tuple[list[TripletRecord], str]:
    """Triplet records from a file or a sequence, checked against ``matrix``; an empty set is an error."""
    if isinstance(source, (str, os.PathLike)):
        name = str(source)
        records = read_records(Path(source), kind="triplet", matrix=matrix).records
    else:
        name = "<memory>"
        records = list(source)
        for i, record in enumerate(records):
            if not isinstance(record, TripletRecord):
                raise RecordError(name, i + 1, None, f"{what}: expected a TripletRecord, got {type(record).__name__}")
            check_against_matrix(record, matrix, name, i + 1)
    if not records:
        raise ConfigError(f"{what}: {name} holds no triplet records")
    return records, name  # type: ignore[return-value]


def evaluate(
    model,
    held_out_prompts: RecordSource | None = None,
    held_out_conditions: RecordSource | None = None,
    *,
    train: RecordSource | None = None,
    healthbench: Sequence[Example] | None = None,
    variants: Sequence[str] = VARIANT_KINDS,
    ns: Sequence[int] = DEFAULT_NS,
    draws: int = 200,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    batch_size: int = 16,
) -> QualityReport:
    """Measure ``model`` (a :class:`~mrrml.model.RewardModel`, e.g. ``mrrml.load(dir)``).

    ``held_out_prompts`` / ``held_out_conditions``: test triplets from ``mrrml synth --holdout prompt``
    and ``--holdout conditions`` (at least one test set or ``healthbench`` is needed; the recipe that
    makes both honest for one model is in :mod:`mrrml.eval.quality.holdout`). ``train``: the model's
    training records; with them, test records that training makes not held out are dropped and
    counted. ``healthbench``: HealthBench rows for physician
    preference. ``variants``: the spurious-feature kinds to test; ``ns`` the best-of-N sizes, each
    averaged over ``draws`` draws per record; ``n_boot``/``confidence``/``seed`` the bootstrap. The
    result is a deterministic function of the model, the data and these settings.
    """
    kinds = check_kinds(variants)
    ns = check_best_of_n(ns, draws)
    if batch_size < 1:
        raise ConfigError(f"evaluate: batch_size must be >= 1, got {batch_size}")
    bootstrap = BootstrapSettings(n_boot, confidence, seed)
    sources = {"held_out_prompts": held_out_prompts, "held_out_conditions": held_out_conditions}
    if all(s is None for s in sources.values()) and healthbench is None:
        raise ConfigError("evaluate: give at least one test set (held_out_prompts, held_out_conditions) or healthbench")
    if healthbench is not None and not any(e.ideal and e.ideal.reference_completions for e in healthbench):
        raise ConfigError(f"healthbench: none of the {len(healthbench)} rows has ideal and reference completions")
    matrix = model.matrix
    # Read and check every input before scoring anything: a bad file fails in seconds, not after a set.
    train_records = load_triplets(train, matrix, "train")[0] if train is not None else None
    loaded: dict[str, tuple[list[TripletRecord], str, dict[str, int]]] = {}
    for name, source in sources.items():
        if source is None:
            continue
        records, origin = load_triplets(source, matrix, name)
        dropped: dict[str, int] = {}
        if train_records is not None:
            records, dropped = filter_held_out(records, train_records, TEST_SETS[name])
            if not records:
                raise ConfigError(
                    f"{name}: no record of {origin} is held out from the training data (dropped: {dropped}); "
                    "see mrrml.eval.quality.holdout for how to make both test sets"
                )
        loaded[name] = (records, origin, dropped)
    operators = {d.id: d.template_operator for d in matrix.dimensions}
    test_sets = {
        name: _test_set_quality(model, records, origin, dropped, kinds, operators, ns, draws, bootstrap, batch_size)
        for name, (records, origin, dropped) in loaded.items()
    }
    physician = (
        physician_preference_report(model, healthbench, batch_size, bootstrap) if healthbench is not None else None
    )
    return QualityReport(
        dimensions=list(model.dimensions),
        settings=QualitySettings(seed, n_boot, confidence, kinds, ns, draws, batch_size),
        test_sets=test_sets,
        physician=physician,
    )


def _test_set_quality(
    model,
    records: list[TripletRecord],
    origin: str,
    dropped: dict[str, int],
    kinds: tuple[str, ...],
    operators: dict[str, str],
    ns: tuple[int, ...],
    draws: int,
    bootstrap: BootstrapSettings,
    batch_size: int,
) -> TestSetQuality:
    """Variants, one scoring pass, and every metric under both views for one test set."""
    candidates = build_candidates(records, kinds, bootstrap.seed, operators)
    scored = score_candidates(model, candidates, batch_size)
    groups = candidates.groups(model.dimensions)
    clusters = candidates.clusters()
    quality = candidates.quality()
    views = {
        view: ViewQuality(
            accuracy=triplet_accuracy(table, groups, clusters, bootstrap),
            robustness=robustness(table, kinds, groups, clusters, bootstrap),
            best_of_n=best_of_n(table, quality, groups, clusters, bootstrap, ns, draws),
        )
        for view, table in scored.tables.items()
    }
    applied = candidates.mask()[:, :, 1:].sum(axis=(0, 1))
    return TestSetQuality(
        source=origin,
        records=len(records),
        dropped=dropped,
        answers_scored=scored.answers_scored,
        variants_applied={k: int(n) for k, n in zip(kinds, applied)},
        views=views,
    )
