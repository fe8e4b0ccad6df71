"""``mrrml synth``: synthesize triplet data keyed to a standards matrix (resumable, split by prompt)."""

from __future__ import annotations

import os
from itertools import pairwise
from typing import Literal

from ..errors import ConfigError
from ._options import Endpoint, Requests
from ._parsing import Command, Renamed, Spellings, run_command


def synth(
    *,
    out: str,
    matrix: str = "healthbench",
    backend: Literal["template", "transformers", "openai"] = "template",
    n: int = 5000,
    seed: int = 0,
    neutral_rate: float = 0.3,
    val_frac: float = 0.05,
    test_frac: float = 0.05,
    holdout: Literal["prompt", "conditions"] = "prompt",
    weighting: Literal["balanced", "weighted"] = "balanced",
    filter: Literal["auto", "rule", "llm", "none"] = "auto",
    local_model: str | None = None,
    endpoint: Endpoint = Endpoint(api_key_env="OPENAI_API_KEY"),
    requests: Requests = Requests(concurrency=4, timeout=60.0, max_retries=3),
    fsync: Literal["auto", "on", "off"] = "auto",
    quiet: bool = False,
) -> int:
    """Synthesize good/medium/poor triplets per dimension of a standards matrix.

    Writes train/val/test.jsonl, summary.json and a work log into --out. Re-running with the same
    --out resumes an interrupted run; the split files come out as from an uninterrupted one.

    Args:
        out: output directory (train/val/test.jsonl, summary.json, work/).
        matrix: standards matrix: a shipped name (healthbench, mr-rml) or a YAML path.
        backend: template (offline, deterministic), transformers (a local causal LM: --local_model)
            or openai (an OpenAI-compatible endpoint: --endpoint.*).
        n: number of planned records.
        seed: seed of the plan and of the template backend.
        neutral_rate: share of records that get a neutral rewrite (same quality, other wording).
        val_frac: share of prompts in the validation split.
        test_frac: share of prompts in the test split.
        holdout: split unit: prompt = no prompt in two splits; conditions = whole case-bank conditions
            are held out, so val/test conditions never appear in train (template backend; a harder test).
        weighting: balanced = as many records per dimension; weighted = by the matrix's mean weights.
        filter: consistency judge: auto = rule judge for the template backend, none otherwise.
        local_model: local causal-LM directory (transformers backend).
        endpoint: the OpenAI-compatible endpoint (openai backend); a local server may need no key, so an
            unset key variable is allowed here.
        requests: how requests to the endpoint are sent.
        fsync: fsync the work log per record; auto = on for LLM backends (costly outputs), off for the
            template backend (records are flushed, so a killed process loses nothing; only a power cut
            could, and template records are cheap to redo).
        quiet: no progress bar or table.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn
    from rich.table import Table

    from ..data.synth.filter import ConsistencyFilter, RuleJudge
    from ..data.synth.runner import SynthSettings, run_synthesis
    from ..resources import matrix_file
    from ..standards.loader import load_matrix

    standards = load_matrix(matrix_file(matrix))
    complete = None
    backend_config: dict = {}
    if backend == "template":
        from ..data.synth.template_backend import TemplateBackend

        generator = TemplateBackend(standards, seed)
    elif backend == "openai":
        from ..data.synth.openai_backend import OpenAIBackend

        client = endpoint.client("endpoint", requests, key_required=False)
        generator = OpenAIBackend(standards, seed, client, requests.concurrency)
        complete = generator.complete
        backend_config = {"base_url": endpoint.base_url, "model": endpoint.model}
    else:
        if not local_model:
            raise ConfigError("--backend transformers needs --local_model (a local model directory)")
        from ..data.synth.transformers_backend import TransformersBackend, TransformersGenerator

        local = TransformersGenerator(local_model)
        generator = TransformersBackend(standards, seed, local)
        complete = local.complete
        backend_config = {"model": os.path.abspath(local_model)}

    kind = filter if filter != "auto" else ("rule" if backend == "template" else "none")
    judge = None
    if kind == "rule":
        judge = ConsistencyFilter(RuleJudge(standards), neutral_tolerance=0.0)
    elif kind == "llm":
        if complete is None:
            raise ConfigError("--filter llm needs an LLM backend (transformers or openai)")
        from ..data.synth.llm import LLMJudge

        judge = ConsistencyFilter(LLMJudge(complete, standards))

    settings = SynthSettings(
        n=n,
        seed=seed,
        weighting=weighting,
        neutral_rate=neutral_rate,
        val_frac=val_frac,
        test_frac=test_frac,
        backend=backend,
        backend_config=backend_config,
        holdout=holdout,
    )
    console = Console(stderr=True, quiet=quiet)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
    ) as progress:
        task = progress.add_task(f"synth {standards.name} ({backend})", total=n)
        result = run_synthesis(
            standards,
            generator,
            settings,
            out,
            judge=judge,
            fsync=fsync == "on" or (fsync == "auto" and backend != "template"),
            on_progress=lambda done, total: progress.update(task, completed=done),
        )
    s = result.summary
    if not quiet:
        table = Table(title=f"mrrml synth: {s['kept']} kept of {s['planned']} planned -> {out}")
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


def _spellings(argv: list[str]) -> Spellings:
    """The argparse-era spellings; ``--model`` named a local directory or a served model, by backend."""
    given = [a.partition("=")[2] for a in argv if a.startswith("--backend=")]
    given += [b for a, b in pairwise(argv) if a == "--backend"]
    return {
        "--model": Renamed(("--local_model",) if "transformers" in given else ("--endpoint.model",)),
        "--base-url": Renamed(("--endpoint.base_url",)),
        "--api-key-env": Renamed(("--endpoint.api_key_env",)),
        "--concurrency": Renamed(("--requests.concurrency",)),
        "--timeout": Renamed(("--requests.timeout",)),
        "--max-retries": Renamed(("--requests.max_retries",)),
    }


COMMAND = Command(synth, _spellings)


def run(argv: list[str]) -> int:
    return run_command("mrrml synth", COMMAND, argv)
