"""A HealthBench run: sample every prompt, grade every rubric item, score, with resume.

Sampler answers and grades go to two :class:`ResponseCache` files (the CLI puts them at
``<cache_dir>/samples.jsonl`` and ``<cache_dir>/grader.jsonl``) each the moment it arrives. Restarting
the same command reuses both, so a killed run repeats no finished call and, graders being
deterministic on a cache hit, gives the same result. A sampler request that fails costs only its own
example: every other answer is sampled, stored and graded, and the run then reports the missing ones
(:class:`SamplingIncomplete`) so the same command can retry just those.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import BackendError
from .cache import ResponseCache, request_key
from .data import Example
from .grader import GradeJob, RubricGrader
from .grades import GradedExample, GradedItem
from .sampler import Sampler, with_system

CHARS_PER_TOKEN = 4.0  # rough for English under BPE tokenizers; the estimate is for budgeting only
GRADER_REPLY_TOKENS = 120


@dataclass(frozen=True)
class CallPlan:
    """What a run will send: counts of calls (total and still to do) and a token estimate."""

    examples: int
    sampler_calls: int
    sampler_calls_cached: int
    grader_calls: int
    grader_calls_cached: int
    sampler_input_tokens: int
    sampler_output_tokens_max: int
    grader_input_tokens: int
    grader_output_tokens: int

    def describe(self) -> str:
        return (
            f"{self.examples} examples\n"
            f"sampler calls: {self.sampler_calls} ({self.sampler_calls_cached} cached)\n"
            f"grader calls:  {self.grader_calls} ({self.grader_calls_cached} cached where known)\n"
            f"estimated tokens (~{CHARS_PER_TOKEN:g} chars/token): sampler in {self.sampler_input_tokens:,}, "
            f"out <= {self.sampler_output_tokens_max:,}; grader in {self.grader_input_tokens:,}, "
            f"out ~{self.grader_output_tokens:,}"
        )


def sample_key(sampler: Sampler, example: Example) -> str:
    return request_key(
        {"kind": "sample", "sampler": sampler.describe(), "prompt_id": example.prompt_id, "messages": example.prompt}
    )


def _tokens(chars: int) -> int:
    return round(chars / CHARS_PER_TOKEN)


def plan_calls(
    examples: Sequence[Example],
    sampler: Sampler,
    grader: RubricGrader,
    max_output_tokens: int,
    sample_cache: ResponseCache | None = None,
) -> CallPlan:
    """Count calls and estimate tokens without sending anything.

    Where a completion is cached its grader prompts are rendered exactly (and their cache checked);
    otherwise the completion length is assumed to be ``max_output_tokens``.
    """
    s_in = g_in = s_cached = g_cached = 0
    template_chars = len(grader.template.text)
    for ex in examples:
        s_in += sum(len(m["content"]) for m in with_system(ex.prompt, getattr(sampler, "system_message", None)))
        completion = sample_cache.get(sample_key(sampler, ex)) if sample_cache else None
        if completion is not None:
            s_cached += 1
            convo = [*ex.prompt, {"role": "assistant", "content": completion}]
            for item in ex.rubrics:
                job = GradeJob(convo, item)
                g_in += len(grader.messages(job)[0]["content"])
                g_cached += grader.cache is not None and grader.key(job) in grader.cache
        else:
            convo_chars = sum(len(m["content"]) + 8 for m in ex.prompt) + int(max_output_tokens * CHARS_PER_TOKEN)
            g_in += sum(template_chars + convo_chars + len(str(item)) for item in ex.rubrics)
    n_items = sum(len(ex.rubrics) for ex in examples)
    return CallPlan(
        len(examples),
        len(examples),
        s_cached,
        n_items,
        int(g_cached),
        _tokens(s_in),
        max_output_tokens * len(examples),
        _tokens(g_in),
        GRADER_REPLY_TOKENS * n_items,
    )


class SamplingIncomplete(BackendError):
    """Some examples got no answer from the sampler (their requests failed after the client's retries).
    Everything else was sampled, cached and graded; ``output`` holds that partial run and ``failures``
    the missing examples, ``{prompt_id: why}``. Re-running the same command retries only those."""

    def __init__(self, output: RunOutput):
        self.output, self.failures = output, output.sample_failures
        first = next(iter(self.failures.items()))
        super().__init__(
            f"{len(self.failures)} of {len(self.failures) + len(output.graded)} examples got no sampler answer "
            f"(first: prompt_id {first[0]}: {first[1]}); every other answer and grade is cached: "
            "run the same command again to retry them"
        )


@dataclass
class RunOutput:
    graded: list[GradedExample]
    sampler_calls: int
    grader_calls: int
    seconds: float
    sample_failures: dict[str, str] = field(default_factory=dict)  # prompt_id -> why it has no answer


def sample_all(
    examples: Sequence[Example],
    sampler: Sampler,
    cache: ResponseCache,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[list[str | None], int, dict[str, str]]:
    """Completions for every example (cached ones reused; None where the sampler failed), the number
    generated now, and the failures ``{prompt_id: why}``. Each answer is cached as it arrives."""
    keys = [sample_key(sampler, ex) for ex in examples]
    todo = [i for i, key in enumerate(keys) if key not in cache]
    answered = [0]

    def store(j: int, text: str) -> None:
        cache.put(keys[todo[j]], text)
        answered[0] += 1
        if progress:
            progress("sample", answered[0], len(todo))

    failed = sampler.sample([examples[i].prompt for i in todo], store)
    failures = {examples[todo[j]].prompt_id: why for j, why in sorted(failed.items())}
    return [cache.get(key) for key in keys], answered[0], failures


def grade_all(
    examples: Sequence[Example],
    completions: Sequence[str],
    grader: RubricGrader,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[GradedExample]:
    jobs, owners = [], []
    for e, (ex, completion) in enumerate(zip(examples, completions)):
        convo = [*ex.prompt, {"role": "assistant", "content": completion}]
        for item in ex.rubrics:
            jobs.append(GradeJob(convo, item))
            owners.append(e)
    done = [0]

    def tick(_: int, __: Any) -> None:
        done[0] += 1
        if progress and (done[0] % 50 == 0 or done[0] == len(jobs)):
            progress("grade", done[0], len(jobs))

    grades = grader.grade(jobs, on_done=tick)
    graded = [
        GradedExample(
            ex.prompt_id,
            ex.prompt,
            c,
            list(ex.example_tags),
            [],
            {"ideal_completions_group": ex.ideal.group} if ex.ideal else {},
        )
        for ex, c in zip(examples, completions)
    ]
    for job, owner, grade in zip(jobs, owners, grades):
        item = job.item
        graded[owner].rubrics.append(
            GradedItem(item.criterion, item.points, list(item.tags), grade.criteria_met, grade.explanation, grade.error)
        )
    return graded


def run_examples(
    examples: Sequence[Example],
    sampler: Sampler,
    grader: RubricGrader,
    sample_cache: ResponseCache,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    allow_missing: bool = False,
) -> RunOutput:
    """Sample then grade every example; answers land in ``sample_cache`` and ``grader.cache``.

    Examples the sampler failed on are left out of the grading; then :class:`SamplingIncomplete` is
    raised, or with ``allow_missing`` the output lists them in ``sample_failures``.
    """
    started = time.perf_counter()
    calls_before = grader.calls
    completions, n_sampled, failures = sample_all(examples, sampler, sample_cache, progress)
    answered = [(ex, c) for ex, c in zip(examples, completions) if c is not None]
    graded = grade_all([ex for ex, _ in answered], [c for _, c in answered], grader, progress)
    output = RunOutput(graded, n_sampled, grader.calls - calls_before, time.perf_counter() - started, failures)
    if failures and not allow_missing:
        raise SamplingIncomplete(output)
    return output
