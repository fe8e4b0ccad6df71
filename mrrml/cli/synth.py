"""``mrrml synth``: synthesize triplet data keyed to a standards matrix (resumable, split by prompt)."""

from __future__ import annotations

import os
from dataclasses import replace
from itertools import pairwise
from typing import Literal

from ..data.synth.llm import LLMSynthSettings
from ..errors import ConfigError
from ..openai_client import ChatSettings
from ._options import chat_client
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
    generator: ChatSettings = ChatSettings(api_key_env="OPENAI_API_KEY", temperature=0.7),
    judge: ChatSettings = ChatSettings(max_tokens=2048),
    llm: LLMSynthSettings = LLMSynthSettings(),
    window: int = 64,
    outage_retries: int = 2,
    outage_wait: float = 30.0,
    emit_eval: str | None = None,
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
            or openai (an OpenAI-compatible server: --generator.*, --judge.*).
        n: number of planned records.
        seed: seed of the plan, of the template backend and of every LLM request's seed.
        neutral_rate: share of records that get a neutral rewrite (same quality, other wording).
        val_frac: share of prompts in the validation split.
        test_frac: share of prompts in the test split.
        holdout: split unit: prompt = no prompt in two splits; conditions = whole case-bank conditions
            are held out, so val/test conditions never appear in train (template backend; a harder test).
        weighting: balanced = as many records per dimension; weighted = by the matrix's mean weights.
        filter: an extra consistency check after the backend: auto = the rule judge for the template
            backend, none for the LLM backends (they judge inside their pipeline, --llm.judge); llm = the
            judge model scores the target dimension of every answer once more.
        local_model: local causal-LM directory (transformers backend; it is generator and judge).
        generator: the model that writes drafts, counterfactual and neutral rewrites and rubrics (openai
            backend; with the transformers backend only temperature and max_tokens apply). A local
            server may need no key, so an unset key variable is allowed.
        judge: the model that grades every answer on every dimension (openai backend). Without
            base_url it is the generator's server and key; without model, the generator's model.
        llm: how the LLM backends write and judge triplets (part of the resume check).
        window: requests in flight at once, generator and judge together (openai backend); match the
            server's concurrent sequences (vLLM --max-num-seqs).
        outage_retries: times a request that failed on an outage (after the client's own retries) is
            tried again later in the run; then the record is left for the next run, never dropped.
        outage_wait: seconds before the first such retry (doubling).
        emit_eval: also write every kept record with a rubric as a HealthBench row to this file
            (grade any policy on it with mrrml healthbench run --data.source FILE).
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

        generator_backend = TemplateBackend(standards, seed)
    elif backend == "openai":
        from ..data.synth.openai_backend import OpenAIBackend

        generator_client = chat_client(generator, "generator", key_required=False)
        judge_client = chat_client(_judge_endpoint(judge, generator), "judge", key_required=False)
        generator_backend = OpenAIBackend(
            standards,
            seed,
            generator_client,
            window,
            judge=judge_client,
            settings=llm,
            outage_retries=outage_retries,
            outage_wait=outage_wait,
        )
        complete = generator_backend.complete
        # models only: the URLs may change between runs (a restarted server) without blocking a resume
        backend_config = {"model": generator_client.model, "judge_model": judge_client.model}
    else:
        if not local_model:
            raise ConfigError("--backend transformers needs --local_model (a local model directory)")
        from ..data.synth.transformers_backend import TransformersBackend, TransformersGenerator

        local = TransformersGenerator(
            local_model, max_new_tokens=generator.max_tokens, temperature=generator.temperature
        )
        generator_backend = TransformersBackend(standards, seed, local, settings=llm)
        complete = local.complete
        backend_config = {
            "model": os.path.abspath(local_model),
            "max_tokens": generator.max_tokens,
            "temperature": generator.temperature,
        }

    kind = filter if filter != "auto" else ("rule" if backend == "template" else "none")
    consistency = None
    if kind == "rule":
        consistency = ConsistencyFilter(RuleJudge(standards), neutral_tolerance=0.0)
    elif kind == "llm":
        if complete is None:
            raise ConfigError("--filter llm needs an LLM backend (transformers or openai)")
        from ..data.synth.llm import LLMJudge

        consistency = ConsistencyFilter(LLMJudge(complete, standards))

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
            generator_backend,
            settings,
            out,
            judge=consistency,
            fsync=fsync == "on" or (fsync == "auto" and backend != "template"),
            on_progress=lambda done, total: progress.update(task, completed=done),
            emit_eval=emit_eval,
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


def _judge_endpoint(judge: ChatSettings, generator: ChatSettings) -> ChatSettings:
    """The judge's settings with what it leaves unset taken from the generator: no base_url means the
    generator's server and so its key variable too; no model means the generator's model."""
    same_server = judge.base_url is None
    return replace(
        judge,
        base_url=generator.base_url if same_server else judge.base_url,
        api_key_env=generator.api_key_env if same_server else judge.api_key_env,
        model=judge.model or generator.model,
    )


BOTH_ROLES = ("timeout", "max_retries", "backoff")  # one request setting of the earlier single endpoint


def _spellings(argv: list[str]) -> Spellings:
    """The earlier spellings: argparse's, then the single ``--endpoint.*`` / ``--requests.*`` groups.

    ``--model`` named a local directory or a served model, by backend. The one endpoint of those days
    served the judge too, so its request settings now go to both roles.
    """
    given = [a.partition("=")[2] for a in argv if a.startswith("--backend=")]
    given += [b for a, b in pairwise(argv) if a == "--backend"]
    both = {name: Renamed((f"--generator.{name}", f"--judge.{name}")) for name in BOTH_ROLES}
    return {
        "--model": Renamed(("--local_model",) if "transformers" in given else ("--generator.model",)),
        "--base-url": Renamed(("--generator.base_url",)),
        "--api-key-env": Renamed(("--generator.api_key_env",)),
        "--concurrency": Renamed(("--window",)),
        "--timeout": both["timeout"],
        "--max-retries": both["max_retries"],
        **{f"--endpoint.{name}": Renamed((f"--generator.{name}",)) for name in ("base_url", "model", "api_key_env")},
        "--requests.concurrency": Renamed(("--window",)),
        **{f"--requests.{name}": change for name, change in both.items()},
    }


COMMAND = Command(synth, _spellings)


def run(argv: list[str]) -> int:
    return run_command("mrrml synth", COMMAND, argv)
