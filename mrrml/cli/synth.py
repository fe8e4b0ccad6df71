"""``mrrml synth``: synthesize triplet data keyed to a standards matrix (resumable, split by prompt)."""

from __future__ import annotations

import argparse
import os

from ..errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mrrml synth",
        description="Synthesize good/medium/poor triplets per dimension "
        "for a standards matrix. Re-running with the same --out resumes an interrupted run.",
    )
    p.add_argument("--matrix", default="standards/healthbench.yaml", help="standards matrix YAML")
    p.add_argument("--backend", choices=("template", "transformers", "openai"), default="template")
    p.add_argument("--n", type=int, default=5000, help="number of planned records")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output directory (train/val/test.jsonl, summary.json, work/)")
    p.add_argument("--neutral-rate", type=float, default=0.3, help="share of records with a neutral rewrite")
    p.add_argument("--val-frac", type=float, default=0.05)
    p.add_argument("--test-frac", type=float, default=0.05)
    p.add_argument(
        "--holdout",
        choices=("prompt", "conditions"),
        default="prompt",
        help="split unit: prompt = no prompt in two splits (default); conditions = whole case-bank conditions "
        "are held out, so val/test conditions never appear in train (template backend; a harder test)",
    )
    p.add_argument("--weighting", choices=("balanced", "weighted"), default="balanced")
    p.add_argument(
        "--filter",
        choices=("auto", "rule", "llm", "none"),
        default="auto",
        help="consistency judge: auto = rule judge for the template backend, none otherwise",
    )
    p.add_argument("--model", help="model path (transformers) or model name (openai)")
    p.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--max-retries", type=int, default=3)
    p.add_argument(
        "--fsync",
        choices=("auto", "on", "off"),
        default="auto",
        help="fsync the work log per record; auto = on for LLM backends (costly outputs), off for the template "
        "backend (records are flushed, so a killed process loses nothing; only a power cut could, and the "
        "template records are cheap to redo)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    return p


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn
    from rich.table import Table

    from ..data.synth.filter import ConsistencyFilter, RuleJudge
    from ..data.synth.runner import SynthSettings, run_synthesis
    from ..standards.loader import load_matrix

    matrix = load_matrix(args.matrix)
    complete = None
    backend_config: dict = {}
    if args.backend == "template":
        from ..data.synth.template_backend import TemplateBackend

        backend = TemplateBackend(matrix, args.seed)
    elif args.backend == "openai":
        if not args.base_url or not args.model:
            raise ConfigError("--backend openai needs --base-url and --model")
        from ..data.synth.openai_backend import OpenAIBackend
        from ..openai_client import ChatClient

        # the key comes only from the environment; a local server may need none, so an unset variable is fine
        client = ChatClient.from_env(
            args.base_url,
            args.model,
            args.api_key_env,
            key_required=False,
            timeout=args.timeout,
            max_retries=args.max_retries,
        )
        backend = OpenAIBackend(matrix, args.seed, client, args.concurrency)
        complete = backend.complete
        backend_config = {"base_url": args.base_url, "model": args.model}
    else:
        if not args.model:
            raise ConfigError("--backend transformers needs --model (a local model directory)")
        from ..data.synth.transformers_backend import TransformersBackend, TransformersGenerator

        generator = TransformersGenerator(args.model)
        backend = TransformersBackend(matrix, args.seed, generator)
        complete = generator.complete
        backend_config = {"model": os.path.abspath(args.model)}

    kind = args.filter if args.filter != "auto" else ("rule" if args.backend == "template" else "none")
    judge = None
    if kind == "rule":
        judge = ConsistencyFilter(RuleJudge(matrix), neutral_tolerance=0.0)
    elif kind == "llm":
        if complete is None:
            raise ConfigError("--filter llm needs an LLM backend (transformers or openai)")
        from ..data.synth.llm import LLMJudge

        judge = ConsistencyFilter(LLMJudge(complete, matrix))

    settings = SynthSettings(
        n=args.n,
        seed=args.seed,
        weighting=args.weighting,
        neutral_rate=args.neutral_rate,
        val_frac=args.val_frac,
        test_frac=args.test_frac,
        backend=args.backend,
        backend_config=backend_config,
        holdout=args.holdout,
    )
    console = Console(stderr=True, quiet=args.quiet)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=args.quiet,
    ) as progress:
        task = progress.add_task(f"synth {matrix.name} ({args.backend})", total=args.n)
        result = run_synthesis(
            matrix,
            backend,
            settings,
            args.out,
            judge=judge,
            fsync=args.fsync == "on" or (args.fsync == "auto" and args.backend != "template"),
            on_progress=lambda done, total: progress.update(task, completed=done),
        )
    s = result.summary
    if not args.quiet:
        table = Table(title=f"mrrml synth: {s['kept']} kept of {s['planned']} planned -> {args.out}")
        table.add_column("axis")
        table.add_column("id")
        table.add_column("records", justify="right")
        for axis in ("dimension", "scenario", "discipline"):
            for key, count in s["counts"][axis].items():
                table.add_row(axis, key, str(count))
        console.print(table)
        tp = s["throughput"]
        console.print(
            f"splits {s['splits']}; distinct prompts {s['distinct_prompts']}, answers {s['distinct_answers']}; "
            f"dropped {s['dropped']} ({s['drop_rate']:.2%}) {s['drops_by_reason']}; "
            f"{tp['items_per_second']} items/s this session (resumed from {tp['resumed_from']})"
        )
        if s["generic_fallbacks"]:
            console.print(f"generic fallbacks used (ids the case bank does not know): {s['generic_fallbacks']}")
    if s["pending"]:
        console.print(
            f"[bold red]{s['pending']} planned items failed in the backend "
            f"({s['backend_failures_this_session']}); re-run the same command to retry them[/]",
        )
        return 1
    return 0
