"""``mrrml demo``: the whole pipeline on a CPU in minutes (``make demo``).

1. synthesize triplets from the ``healthbench`` matrix with the offline template backend
   (resumable: a re-run reuses what is there);
2. fit a small reward model (random-init Qwen3, real Qwen3 tokenizer) with GPRC, through the same
   LightningCLI wiring as ``mrrml fit``, with the settings of ``configs/demo.yaml``;
3. test it on the held-out split (per-dimension pairwise / triplet-order accuracy, betweenness, leakage);
4. measure physician-preference accuracy on the 500 real HealthBench rows shipped in a PyPI package
   (ideal completion vs reference completions; never trained on);
5. optionally (``--ablation``) repeat 2-4 with the GPRC geometric terms off (rank only);
6. write ``report.json`` and ``report.html`` (inline SVG charts) into ``--out``.

``configs/demo.yaml`` is package data (``mrrml/cli/configs/demo.yaml``; the repository's
``configs/demo.yaml`` links to it), so an installed wheel runs the demo from any directory. Every fit
option can be overridden as for ``mrrml fit`` (``--model.lr``, ``--trainer.max_epochs``, ``-c FILE``);
what depends on the demo's own options is linked from them: data files and run directories from
``--out``, the seeds from ``--seed``.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

from lightning.pytorch.cli import LightningArgumentParser

from ._parsing import Removed, Renamed, modernize
from .train import MrrmlCLI, build_cli

DEMO_CONFIG = str(resources.files("mrrml.cli") / "configs" / "demo.yaml")
GEOMETRIC_TERMS = ("axis", "perp", "ortho", "neutral")


@dataclass(frozen=True)
class DemoOptions:
    """What the demo does around the fit.

    Args:
        out: output directory: data/, model/, report.json and report.html (the ablation in ablation/).
        n: triplets to synthesize (10% validation, 10% test, split by prompt).
        seed: the demo's one seed: synthesis, weight initialisation (seed_everything) and data order.
        ablation: also train rank only (GPRC axis = perp = ortho = neutral = 0) and compare.
        skip_healthbench: skip the physician-preference measurement on real HealthBench rows.
        healthbench_limit: use only the first N HealthBench rows.
    """

    out: str = "runs/demo"
    n: int = 3000
    seed: int = 0
    ablation: bool = False
    skip_healthbench: bool = False
    healthbench_limit: int | None = None


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


def synthesize(matrix: Any, out: Path, n: int, seed: int, console: Any) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from ..data.synth.filter import ConsistencyFilter, RuleJudge
    from ..data.synth.runner import SynthSettings, run_synthesis
    from ..data.synth.template_backend import TemplateBackend

    settings = SynthSettings(n=n, seed=seed, val_frac=0.1, test_frac=0.1)
    judge = ConsistencyFilter(RuleJudge(matrix), neutral_tolerance=0.0)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("synthesizing triplets (template backend)", total=n)
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


def physician_preference(model_dir: Path, limit: int | None, console: Any) -> dict[str, Any]:
    """Reward(ideal) > reward(reference completion) on the real HealthBench rows, scored by the saved model."""
    from ..eval.healthbench.data import load_examples
    from ..eval.healthbench.rm_modes import physician_preference as preference
    from ..resources import healthbench_package_rows
    from ..serve.device import load_for_scoring

    source = healthbench_package_rows()
    examples = load_examples(source, limit=limit)
    with console.status(f"scoring HealthBench ideal vs reference completions ({len(examples)} rows)"):
        result = preference(load_for_scoring(model_dir), examples, batch_size=32)
    result["source"] = str(source)
    result["rows"] = len(examples)
    return result


def _per_dim(run: dict[str, Any], metric: str, dims: list[str]) -> list[float]:
    return [run["test"].get(f"test/{metric}/{d}", float("nan")) for d in dims]


def build_report(
    settings: dict[str, Any], dims: list[str], synth: dict[str, Any], runs: list[dict[str, Any]], total_seconds: float
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    from ..training.report import bar_chart, line_chart, smooth, table

    report = {
        "title": "mrrml demo: multidimensional reward model on synthetic HealthBench-matrix data",
        "settings": settings,
        "dimensions": dims,
        "synthesis": synth,
        "total_seconds": round(total_seconds, 1),
        "runs": [{k: v for k, v in r.items() if k != "history"} for r in runs],
        "history": {r["label"]: r["history"] for r in runs},
    }
    sections: list[tuple[str, str]] = []
    main = runs[0]
    rows = [
        [d, *(_per_dim(main, m, dims)[i] for m in ("order_acc", "pairwise_acc", "betweenness", "leakage"))]
        for i, d in enumerate(dims)
    ]
    sections.append(
        (
            "Held-out test split, per dimension (GPRC run)",
            table(["dimension", "triplet-order acc", "pairwise acc", "betweenness", "leakage"], rows)
            + bar_chart(
                "triplet-order accuracy (held-out)", dims, {r["label"]: _per_dim(r, "order_acc", dims) for r in runs}
            ),
        )
    )
    if len(runs) > 1:
        metrics = ("order_acc", "pairwise_acc", "betweenness", "leakage")
        head = ["metric (mean over dimensions)", *(r["label"] for r in runs)]
        body = [[m, *(r["test"].get(f"test/{m}/mean", float("nan")) for r in runs)] for m in metrics]
        sections.append(
            (
                "Ablation: GPRC vs rank only",
                table(head, body)
                + bar_chart(
                    "betweenness (held-out)", dims, {r["label"]: _per_dim(r, "betweenness", dims) for r in runs}
                )
                + bar_chart(
                    "cross-dimension leakage (lower is better)",
                    dims,
                    {r["label"]: _per_dim(r, "leakage", dims) for r in runs},
                    y_max=max(1.0, *(v for r in runs for v in _per_dim(r, "leakage", dims) if v == v)),
                ),
            )
        )
    for r in runs:
        hist = r["history"]
        steps = [h["step"] for h in hist]
        terms = [t for t in ("loss", "rank", "axis", "perp", "ortho", "neutral", "center") if hist and t in hist[0]]
        window = max(1, len(hist) // 40)
        sections.append(
            (
                f"Loss terms over training ({r['label']})",
                line_chart(
                    f"GPRC terms, moving average over {window} steps (log scale)",
                    steps,
                    {t: smooth([h.get(t, float("nan")) for h in hist], window) for t in terms},
                    log_y=True,
                ),
            )
        )
    pref_rows = [
        [
            r["label"],
            *(r.get("healthbench", {}).get("overall", {}).get(k, float("nan")) for k in ("accuracy", "pairs", "ties")),
        ]
        for r in runs
    ]
    notes = [r["healthbench"]["note"] for r in runs if "note" in r.get("healthbench", {})]
    sections.append(
        (
            "Physician preference on real HealthBench rows",
            "<p>Share of (ideal completion, reference completion) pairs where the reward model prefers "
            "the physician-written ideal (ties count half). Never trained on.</p>"
            + table(["run", "accuracy", "pairs", "ties"], pref_rows)
            + "".join(f"<p><b>{n}</b></p>" for n in notes),
        )
    )
    sections.append(
        (
            "Runs",
            table(["run", "steps", "fit seconds"], [[r["label"], r["steps"], r["fit_seconds"]] for r in runs])
            + f"<p>Total demo time: {total_seconds:.0f} s. Synthesis: {synth.get('kept')} triplets kept "
            f"of {synth.get('planned')}; splits {synth.get('splits')}.</p>",
        )
    )
    return report, sections


def run(argv: list[str]) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import yaml
    from lightning.pytorch import seed_everything
    from rich.console import Console

    from ..training.report import write_report

    cli = build_demo_cli(argv)
    options = cli.options
    settings = yaml.safe_load(cli.parser.dump(cli.config, skip_link_targets=False))
    console = Console()
    started = time.perf_counter()
    out = Path(options.out)
    matrix = cli.model.matrix
    console.rule(f"[bold]mrrml demo[/] → {out}")
    synth = synthesize(matrix, out / "data", options.n, options.seed, console)
    console.print(f"synthesis: {synth['kept']} kept, {synth['dropped']} dropped, splits {synth['splits']}")

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
    for result in runs:
        if options.skip_healthbench:
            result["healthbench"] = {"note": "skipped (--skip_healthbench)"}
        else:
            result["healthbench"] = physician_preference(Path(result["model_dir"]), options.healthbench_limit, console)
        _print_run(console, result, matrix.dimension_ids)

    report, sections = build_report(settings, list(matrix.dimension_ids), synth, runs, time.perf_counter() - started)
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
