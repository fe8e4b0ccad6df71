"""``mrrml demo``: the whole pipeline on a CPU in minutes (``make demo``).

1. synthesize triplets from the ``healthbench`` matrix with the offline template backend, split by
   case-bank condition (``--holdout conditions``: the test split holds conditions training never
   sees), and a second set from ``--seed`` + 1 for held-out prompts (resumable: a re-run reuses what
   is there);
2. fit a small reward model (random-init Qwen3, real Qwen3 tokenizer) with GPRC, through the same
   LightningCLI wiring as ``mrrml fit``, with the settings of ``configs/demo.yaml``;
3. test it on the held-out split (per-dimension pairwise / triplet-order accuracy, betweenness, leakage);
4. ``mrrml evaluate`` on the saved model (:func:`mrrml.cli.evaluate.measure`): held-out prompts vs
   held-out conditions, spurious-feature robustness, best-of-N, and physician preference on the 500
   real HealthBench rows shipped in a PyPI package beside its heuristic baselines (never trained on);
5. optionally (``--ablation``) repeat 2-4 with the GPRC geometric terms off (rank only);
6. write ``report.json`` and ``report.html`` (inline SVG charts, each with the command that
   reproduces it) into ``--out``.

``configs/demo.yaml`` is package data (``mrrml/cli/configs/demo.yaml``; the repository's
``configs/demo.yaml`` links to it), so an installed wheel runs the demo from any directory. Every fit
option can be overridden as for ``mrrml fit`` (``--model.lr``, ``--trainer.max_epochs``, ``-c FILE``);
what depends on the demo's own options is linked from them: data files and run directories from
``--out``, the seeds from ``--seed``.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lightning.pytorch.cli import LightningArgumentParser

from ._parsing import Removed, Renamed, modernize
from .train import MrrmlCLI, build_cli

if TYPE_CHECKING:
    from ..eval.quality.report import QualityReport

DEMO_CONFIG = str(resources.files("mrrml.cli") / "configs" / "demo.yaml")
GEOMETRIC_TERMS = ("axis", "perp", "ortho", "neutral")


@dataclass(frozen=True)
class DemoOptions:
    """What the demo does around the fit.

    Args:
        out: output directory: data/, model/, report.json and report.html (the ablation in ablation/).
        n: triplets to synthesize (10% validation, 10% test, split by case-bank condition).
        seed: the demo's one seed: synthesis, weight initialisation (seed_everything) and data order.
        held_out_prompts: triplets synthesized with seed + 1 for the held-out-prompt test set (those
            whose prompt or condition training did not see are kept).
        held_out_conditions: records of the held-out-conditions test split that the evaluation scores (a
            seeded sample written to OUT/held_out_conditions.jsonl; null = all). The fit's test step
            scores the whole split; the evaluation scores every answer five times (four variants).
        ablation: also train rank only (GPRC axis = perp = ortho = neutral = 0) and compare.
        skip_healthbench: skip the physician-preference measurement on real HealthBench rows.
        healthbench_limit: use only the first N HealthBench rows (null = all 500).
        quality_draws: best-of-N draws per record and N in the evaluation.
        quality_n_boot: bootstrap resamples of every interval of the evaluation.
    """

    out: str = "runs/demo"
    n: int = 3000
    seed: int = 0
    # The evaluation's sizes keep `make demo` near its 10-minute budget on 2 cores (docs/cli.md).
    held_out_prompts: int = 80
    held_out_conditions: int | None = 80
    ablation: bool = False
    skip_healthbench: bool = False
    healthbench_limit: int | None = 150
    quality_draws: int = 100
    quality_n_boot: int = 500


def _split_sources(split: str) -> Any:
    def sources(out: str) -> list[dict[str, str]]:
        return [{"path": str(Path(out) / "data" / f"{split}.jsonl")}]

    sources.__name__ = f"{split}_file_in"
    return sources


def _model_dir(out: str) -> str:
    return str(Path(out) / "model")


# The argparse-era demo options (the fit settings were options of the demo then).
TINY_HINT = (
    "the tiny Qwen3's sizes are model.backbone.tiny in configs/demo.yaml; override them in a config (-c FILE) "
    "or with --model.backbone.tiny '{hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, "
    "num_attention_heads: 2, num_key_value_heads: 1, head_dim: 32}'"
)
SPELLINGS = {
    "--matrix": Renamed(("--model.matrix",)),
    "--epochs": Renamed(("--trainer.max_epochs",)),
    "--batch-size": Renamed(("--data.batch_size",)),
    "--lr": Renamed(("--model.lr",)),
    "--max-answer-tokens": Renamed(("--model.max_answer_tokens",)),
    "--freeze-embeddings": Renamed(("--model.freeze_embeddings",)),
    "--no-freeze-embeddings": Renamed(("--model.freeze_embeddings",), value="false"),
    "--compile": Renamed(("--model.compile_loss",)),
    "--hidden": Removed(TINY_HINT),
    "--layers": Removed(TINY_HINT),
    "--head-dim": Removed(TINY_HINT),
}


class DemoCLI(MrrmlCLI):
    """``mrrml fit``'s CLI (same classes, links and callbacks) plus the demo's own options."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        super().add_arguments_to_parser(parser)
        parser.add_class_arguments(DemoOptions, None, instantiate=False)
        parser.link_arguments("seed", "seed_everything")
        parser.link_arguments("seed", "data.seed")
        parser.link_arguments("out", "trainer.default_root_dir")
        parser.link_arguments("out", "export.final_dir", compute_fn=_model_dir)
        for split in ("train", "val", "test"):
            parser.link_arguments("out", f"data.{split}", compute_fn=_split_sources(split))

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        super().parse_arguments(parser, modernize(list(args), parser, SPELLINGS, "mrrml demo"))

    @property
    def options(self) -> DemoOptions:
        return DemoOptions(**{f: self.config[f] for f in DemoOptions.__dataclass_fields__})


def build_demo_cli(argv: list[str], cli_class: type[DemoCLI] = DemoCLI) -> DemoCLI:
    """Parse ``argv`` over configs/demo.yaml and build model, data module and trainer."""
    description = (__doc__ or "").split("\n\n")[0].strip("`").replace("``", "")
    cli = build_cli(
        argv,
        run=False,
        cli_class=cli_class,
        default_config_files=[DEMO_CONFIG],
        prog="mrrml demo",
        description=description,
    )
    return cast(DemoCLI, cli)


def synthesize(
    matrix: Any, out: Path, n: int, seed: int, console: Any, *, holdout: str = "conditions", split: bool = True
) -> dict[str, Any]:
    """Template triplets into ``out``; ``split=False`` puts every record in train.jsonl (a test-only set)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ..data.synth.filter import ConsistencyFilter, RuleJudge
    from ..data.synth.runner import SynthSettings, run_synthesis
    from ..data.synth.template_backend import TemplateBackend

    fraction = 0.1 if split else 0.0
    settings = SynthSettings(n=n, seed=seed, val_frac=fraction, test_frac=fraction, holdout=holdout)
    judge = ConsistencyFilter(RuleJudge(matrix), neutral_tolerance=0.0)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"synthesizing triplets into {out} (template backend)", total=n)
        result = run_synthesis(
            matrix,
            TemplateBackend(matrix, seed),
            settings,
            out,
            judge=judge,
            fsync=False,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        progress.update(task, completed=n)
    return result.summary


def fit_and_test(cli: DemoCLI, label: str, console: Any) -> dict[str, Any]:
    """Fit, export and test the module the CLI built; returns the numbers of this run."""
    trainer, module, data = cli.trainer, cli.model, cli.datamodule
    console.rule(f"[bold]fit: {label}[/] ({trainer.max_epochs} epochs, batch {data.batch_size})")
    started = time.perf_counter()
    trainer.fit(module, datamodule=data)
    fit_seconds = time.perf_counter() - started
    console.rule(f"[bold]test: {label}[/] (held-out split)")
    trainer.test(module, datamodule=data, verbose=False)
    return {
        "label": label,
        "gprc": asdict(module.gprc),
        "steps": trainer.global_step,
        "fit_seconds": round(fit_seconds, 1),
        "test": module.last_test_metrics,
        "val": getattr(module, "last_val_metrics", {}),
        "truncation": data.truncation,
        "history": module.history,
        "model_dir": cli.config.export.final_dir,
        "normalization": {"mean": module.reward_model.norm_mean.tolist(), "std": module.reward_model.norm_std.tolist()},
    }


def held_out_prompts_file(out: Path) -> Path:
    """Where the held-out-prompt set lies: every record of the seed + 1 run is in its train.jsonl."""
    return out / "held_out_prompts" / "train.jsonl"


def held_out_conditions_file(options: DemoOptions) -> Path:
    """The held-out conditions the evaluation scores: the test split, or the sample of it."""
    out = Path(options.out)
    return out / "data" / "test.jsonl" if options.held_out_conditions is None else out / "held_out_conditions.jsonl"


def sample_held_out_conditions(options: DemoOptions) -> int:
    """Write a seeded sample of ``held_out_conditions`` test records (in file order); returns how many."""
    import random

    from ..io import atomic_write_text

    lines = (Path(options.out) / "data" / "test.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    if options.held_out_conditions is None:
        return len(lines)
    keep = sorted(random.Random(options.seed).sample(range(len(lines)), min(options.held_out_conditions, len(lines))))
    atomic_write_text(held_out_conditions_file(options), "".join(lines[i] for i in keep))
    return len(keep)


def evaluate_command(options: DemoOptions, model_dir: str) -> list[str]:
    """The ``mrrml evaluate`` argv the demo runs on ``model_dir`` (printed under the figures)."""
    out = Path(options.out)
    argv = ["mrrml", "evaluate", "--model", model_dir, "--train", str(out / "data" / "train.jsonl")]
    argv += ["--held_out_conditions", str(held_out_conditions_file(options))]
    if options.held_out_prompts:
        argv += ["--held_out_prompts", str(held_out_prompts_file(out))]
    argv += ["--healthbench", "none" if options.skip_healthbench else "package"]
    if options.healthbench_limit is not None and not options.skip_healthbench:
        argv += ["--healthbench_limit", str(options.healthbench_limit)]
    argv += ["--draws", str(options.quality_draws), "--n_boot", str(options.quality_n_boot)]
    return [*argv, "--seed", str(options.seed), "--batch_size", "32"]


def evaluate_run(options: DemoOptions, model_dir: str, console: Any) -> QualityReport:
    """``mrrml evaluate`` on one run's saved model, through the command's own parser and wiring."""
    from ._parsing import build_parser
    from .evaluate import COMMAND, measure

    argv = evaluate_command(options, model_dir)
    values = build_parser(COMMAND, "mrrml evaluate").parse_args(argv[2:]).as_dict()
    values.pop("out")
    values.pop("config", None)
    with console.status(f"mrrml evaluate {model_dir}: held-out sets, spurious variants, best-of-N, HealthBench"):
        measured = measure(**values)
    console.print(f"evaluate: {measured.answers_scored} answers scored in {measured.evaluate_seconds:.0f} s")
    return measured.report


def _per_dim(run: dict[str, Any], metric: str, dims: list[str]) -> list[float]:
    return [run["test"].get(f"test/{metric}/{d}", float("nan")) for d in dims]


def build_report(
    settings: dict[str, Any],
    dims: list[str],
    synth: dict[str, Any],
    runs: list[dict[str, Any]],
    qualities: list[QualityReport],
    commands: dict[str, str],
    total_seconds: float,
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """report.json's content and report.html's sections. ``qualities[i]`` is ``runs[i]``'s evaluation;
    ``commands`` the command lines that reproduce the figures: ``demo``, ``ablation`` and
    ``evaluate LABEL`` per run."""
    from ..training.report import figure, line_chart, smooth

    report = {
        "title": "mrrml demo: multidimensional reward model on synthetic HealthBench-matrix data",
        "settings": settings,
        "commands": commands,
        "dimensions": dims,
        "synthesis": synth,
        "total_seconds": round(total_seconds, 1),
        "runs": [{k: v for k, v in r.items() if k != "history"} for r in runs],
        "history": {r["label"]: r["history"] for r in runs},
    }
    main = runs[0]
    sections = [_test_step_section(dims, runs, commands["demo"]), *_quality_sections(runs, qualities, commands)]
    if len(runs) > 1:
        sections.append(_ablation_section(dims, runs, commands["ablation"]))
    for r in runs:
        hist = r["history"]
        steps = [h["step"] for h in hist]
        terms = [t for t in ("loss", "rank", "axis", "perp", "ortho", "neutral", "center") if hist and t in hist[0]]
        window = max(1, len(hist) // 40)
        chart = line_chart(
            f"GPRC terms, moving average over {window} steps (log scale)",
            steps,
            {t: smooth([h.get(t, float("nan")) for h in hist], window) for t in terms},
            log_y=True,
            x_label="optimizer step",
        )
        command = commands["demo"] if r is main else commands["ablation"]
        sections.append((f"Loss terms over training ({r['label']})", figure(chart, command)))
    sections.append(
        (
            "Runs",
            _table(["run", "steps", "fit seconds"], [[r["label"], r["steps"], r["fit_seconds"]] for r in runs])
            + f"<p>Total demo time: {total_seconds:.0f} s. Synthesis: {synth.get('kept')} triplets kept "
            f"of {synth.get('planned')}; splits {synth.get('splits')}.</p>",
        )
    )
    return report, sections


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    from ..training.report import table

    return table(headers, rows)


def _summary_html(summary: Any, run: str | None = None) -> str:
    """A :class:`~mrrml.eval.quality.summary.Table` (the console's cells) as an HTML table with its title."""
    import html

    from ..training.report import table

    title = summary.title if run is None else f"{summary.title}: {run}"
    return f"<h3>{html.escape(title)}</h3>" + table(summary.columns, summary.rows, stacked=True)


def _test_step_section(dims: list[str], runs: list[dict[str, Any]], command: str) -> tuple[str, str]:
    from ..training.report import bar_chart, figure

    main = runs[0]
    metrics = ("order_acc", "pairwise_acc", "betweenness", "leakage")
    rows = [[d, *(_per_dim(main, m, dims)[i] for m in metrics)] for i, d in enumerate(dims)]
    chart = bar_chart(
        "triplet-order accuracy, held-out conditions (test step)",
        dims,
        {r["label"]: _per_dim(r, "order_acc", dims) for r in runs},
    )
    return (
        "Held-out conditions, per dimension (the fit's test step, GPRC run)",
        "<p>The test split holds case-bank conditions that training never saw (synthesized with "
        "<code>--holdout conditions</code>).</p>"
        + _table(["dimension", "triplet-order acc", "pairwise acc", "betweenness", "leakage"], rows)
        + figure(chart, command),
    )


def _quality_sections(
    runs: list[dict[str, Any]], qualities: list[QualityReport], commands: dict[str, str]
) -> list[tuple[str, str]]:
    """``mrrml evaluate``'s figures: held-out prompts vs conditions, robustness, best-of-N, physicians."""
    from ..eval.quality.summary import (
        SET_TITLES,
        accuracy_table,
        best_of_n_table,
        fmt,
        physician_table,
        robustness_table,
    )
    from ..training.report import bar_chart, figure, line_chart

    main, labels = qualities[0], [r["label"] for r in runs]
    command = commands[f"evaluate {labels[0]}"]
    every = "\n".join(commands[f"evaluate {label}"] for label in labels)

    def named(label: str, what: str) -> str:
        return what if len(labels) == 1 else f"{label}, {what}"

    groups = [*main.dimensions, "all"]
    series: dict[str, list[float]] = {}
    intervals: dict[str, list[tuple[float, float]]] = {}
    for label, quality in zip(labels, qualities):
        for name, test_set in quality.test_sets.items():
            estimates = [test_set.views["head"].accuracy.get(d) for d in groups]
            nan = float("nan")
            series[named(label, SET_TITLES[name])] = [e.order.value if e else nan for e in estimates]
            intervals[named(label, SET_TITLES[name])] = [
                (e.order.low, e.order.high) if e else (nan, nan) for e in estimates
            ]
    chart = bar_chart(
        "triplet-order accuracy with 95 % intervals (head scores)", groups, series, intervals=intervals, height=330
    )
    accuracy = (
        "<p>Held-out prompts: new prompts (another synthesis seed) about conditions seen in training. "
        "Held-out conditions: case-bank conditions training never saw. A model that recalls its templates "
        "does well on the first and not on the second.</p>"
        + figure(chart, every)
        + "".join(_summary_html(accuracy_table(q), label) for label, q in zip(labels, qualities))
    )
    robust = (
        "<p>For each test triplet, variants of the worse answer that training never showed: padded with filler, "
        "turned into markdown bullets, given polite boilerplate, reordered. <i>outranks</i>: the share of "
        "(variant of the worse answer, better answer) pairs where the variant scores higher; <i>|Δ| / gap</i>: "
        "the mean score change a variant causes relative to the good–poor gap.</p>"
    )
    for name in main.test_sets:
        robust += figure(_summary_html(robustness_table(main, name), labels[0]), command)
    if len(runs) > 1:
        rows = []
        for label, quality in zip(labels, qualities):
            for name, test_set in quality.test_sets.items():
                outrank = test_set.views["head"].robustness["all"].outrank
                rows.append([label, SET_TITLES[name], *(fmt(outrank[k]) for k in ("as_written", "pooled", "any"))])
        robust += "<h3>GPRC vs rank only: share of pairs outranked</h3>" + figure(
            _table(["run", "test set", "as written", "pooled variants", "any variant"], rows), every
        )
    best = (
        "<p>N candidates drawn from a record's good, medium and poor answers and their spurious variants; "
        "the true quality (good 2, medium 1, poor 0) of the one the model scores highest, beside the oracle and "
        "a random pick. The curve should not fall as N grows.</p>"
    )
    for name in main.test_sets:
        curves = {label: q.test_sets[name].views["head"].best_of_n["all"] for label, q in zip(labels, qualities)}
        first = curves[labels[0]]
        lines = {named(label, "model"): curve.model for label, curve in curves.items()}
        lines.update({"oracle": first.oracle, "random": first.random})
        chart = line_chart(
            f"best-of-N true quality, {SET_TITLES[name]} (head scores, 95 % bands)",
            list(first.n),
            {k: [e.value for e in v] for k, v in lines.items()},
            bands={k: [(e.low, e.high) for e in v] for k, v in lines.items()},
            x_label="N candidates (log scale)",
            x_ticks=list(first.n),
            log_x=True,
            y_range=(0.0, 2.0),
        )
        best += figure(chart, every) + _summary_html(best_of_n_table(main, name, "head"), labels[0])
    physicians = (
        "<p>Real HealthBench rows (never trained on): how often the model scores the physician-written ideal "
        "above each reference completion (ties count half), beside a coin flip and surface heuristics on the "
        "same pairs. The model reads medicine rather than surface only where it beats every heuristic.</p>"
    )
    if main.physician is None:
        physicians += "<p><b>skipped (--skip_healthbench)</b></p>"
    else:
        judges = list(main.physician.judges)
        series, intervals = {}, {}
        for label, quality in zip(labels, qualities):
            overall = [quality.physician.judges[j].overall.accuracy for j in judges] if quality.physician else []
            series[label] = [e.value for e in overall]
            intervals[label] = [(e.low, e.high) for e in overall]
        chart = bar_chart(
            "physician preference with 95 % intervals (dashed: chance)",
            judges,
            series,
            intervals=intervals,
            reference=0.5,
        )
        physicians += figure(chart, every)
        for label, quality in zip(labels, qualities):
            physicians += "".join(
                _summary_html(physician_table(quality, by), label) for by in ("overall", "theme", "group")
            )
    return [
        ("Held-out prompts vs held-out conditions", accuracy),
        ("Spurious-feature robustness", robust),
        ("Best-of-N", best),
        ("Physician preference on real HealthBench rows", physicians),
    ]


def _ablation_section(dims: list[str], runs: list[dict[str, Any]], command: str) -> tuple[str, str]:
    from ..training.report import bar_chart, figure

    metrics = ("order_acc", "pairwise_acc", "betweenness", "leakage")
    head = ["metric (mean over dimensions)", *(r["label"] for r in runs)]
    body = [[m, *(r["test"].get(f"test/{m}/mean", float("nan")) for r in runs)] for m in metrics]
    leakage = {r["label"]: _per_dim(r, "leakage", dims) for r in runs}
    betweenness = bar_chart(
        "betweenness (held-out)", dims, {r["label"]: _per_dim(r, "betweenness", dims) for r in runs}
    )
    leaks = bar_chart(
        "cross-dimension leakage (lower is better)",
        dims,
        leakage,
        y_max=max(1.0, *(v for vs in leakage.values() for v in vs if v == v)),
    )
    return (
        "Ablation: GPRC vs rank only (the fit's test step)",
        _table(head, body) + figure(betweenness, command) + figure(leaks, command),
    )


def run(argv: list[str]) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import yaml
    from lightning.pytorch import seed_everything

    from ..training.report import write_report
    from .evaluate import print_report, wide_console

    cli = build_demo_cli(argv)
    options = cli.options
    settings = yaml.safe_load(cli.parser.dump(cli.config, skip_link_targets=False))
    console = wide_console()
    started = time.perf_counter()
    out = Path(options.out)
    matrix = cli.model.matrix
    demo = ["mrrml", "demo", *argv]
    commands = {"demo": shlex.join(demo), "ablation": shlex.join(demo if options.ablation else [*demo, "--ablation"])}
    console.rule(f"[bold]mrrml demo[/] → {out}")
    synth = synthesize(matrix, out / "data", options.n, options.seed, console)
    console.print(f"synthesis: {synth['kept']} kept, {synth['dropped']} dropped, splits {synth['splits']}")
    if options.held_out_prompts:
        held_out = held_out_prompts_file(out).parent
        prompts = synthesize(matrix, held_out, options.held_out_prompts, options.seed + 1, console, split=False)
        synth["held_out_prompts"] = {"seed": options.seed + 1, "kept": prompts["kept"], "dir": str(held_out)}
    synth["held_out_conditions"] = {"records": sample_held_out_conditions(options)}

    runs = [fit_and_test(cli, "GPRC", console)]
    if options.ablation:
        # The same run with the geometric terms off, into ablation/: same data, seed and settings.
        for term in GEOMETRIC_TERMS:
            cli.config[f"model.gprc.{term}"] = 0.0
        cli.config["trainer.default_root_dir"] = str(out / "ablation")
        cli.config["export.final_dir"] = _model_dir(str(out / "ablation"))
        seed_everything(options.seed, workers=True)
        cli.instantiate_classes()
        runs.append(fit_and_test(cli, "rank only", console))
    qualities = []
    for result in runs:
        commands[f"evaluate {result['label']}"] = shlex.join(evaluate_command(options, result["model_dir"]))
        quality = evaluate_run(options, result["model_dir"], console)
        qualities.append(quality)
        result["quality"] = quality.to_dict()
        physician = quality.physician
        result["healthbench"] = physician.to_dict() if physician else {"note": "skipped (--skip_healthbench)"}
        _print_run(console, result, matrix.dimension_ids)
        print_report(console, quality)

    seconds = time.perf_counter() - started
    report, sections = build_report(settings, list(matrix.dimension_ids), synth, runs, qualities, commands, seconds)
    json_path, html_path = write_report(out, report, sections)
    console.rule("[bold]done[/]")
    console.print(f"report: {json_path}  {html_path}  model: {out / 'model'}  ({report['total_seconds']} s)")
    return 0


def _print_run(console: Any, result: dict[str, Any], dims: list[str]) -> None:
    from rich.table import Table

    table = Table(title=f"held-out test — {result['label']}")
    for column in ("dimension", "order acc", "pairwise acc", "betweenness", "leakage"):
        table.add_column(column, justify="right")
    for d in [*dims, "mean"]:
        values = [
            result["test"].get(f"test/{m}/{d}", float("nan"))
            for m in ("order_acc", "pairwise_acc", "betweenness", "leakage")
        ]
        table.add_row(d, *(f"{v:.3f}" for v in values))
    console.print(table)
    pref = result.get("healthbench", {}).get("overall")
    if pref:
        console.print(f"HealthBench physician preference: {pref['accuracy']:.3f} over {pref['pairs']} pairs")
