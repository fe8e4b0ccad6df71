"""Rubric grading with an OpenAI-compatible model: one call per rubric item, cached, bounded.

An item is graded by sending the grader prompt and parsing ``criteria_met`` strictly: the reply must
be a JSON object (a ```json fence is allowed) whose ``criteria_met`` is a real boolean. A reply
that fails to parse is asked again up to ``parse_retries`` more times; transport errors are retried
inside :class:`~mrrml.openai_client.ChatClient`. An item that still fails gets
``criteria_met = None`` and a ``grading_error`` — it is counted and reported, never scored as
"not met". Only successful grades are cached, so a resumed run retries the failures.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ...errors import BackendError, MrrmlError
from ...jsonutil import JsonTextError, loads_json_reply
from ...openai_client import ChatClient
from .cache import ResponseCache, request_key
from .data import RubricItem
from .grader_prompt import GraderTemplate


class GradeParseError(MrrmlError):
    """A grader reply that is not a JSON object with a boolean ``criteria_met``."""


def parse_grade(text: str) -> tuple[bool, str]:
    """``(criteria_met, explanation)`` from a grader reply, or :class:`GradeParseError`."""
    try:
        obj = loads_json_reply(text)
    except JsonTextError as error:
        raise GradeParseError(f"not JSON ({error}): {text[:120]!r}") from None
    if not isinstance(obj, dict):
        raise GradeParseError(f"expected a JSON object, got {type(obj).__name__}")
    met = obj.get("criteria_met")
    if not isinstance(met, bool):
        raise GradeParseError(f"criteria_met must be true or false, got {met!r}")
    explanation = obj.get("explanation", "")
    return met, explanation if isinstance(explanation, str) else json.dumps(explanation)


@dataclass(frozen=True)
class GradeJob:
    conversation: list[dict[str, str]]  # prompt turns + the graded completion as the last turn
    item: RubricItem | str


@dataclass(frozen=True)
class Grade:
    criteria_met: bool | None
    explanation: str = ""
    error: str | None = None
    cached: bool = False


class RubricGrader:
    """Grades many (conversation, rubric item) jobs with bounded thread concurrency."""

    def __init__(
        self,
        client: ChatClient,
        template: GraderTemplate,
        cache: ResponseCache | None = None,
        *,
        concurrency: int = 8,
        parse_retries: int = 2,
        params: dict[str, Any] | None = None,
    ):
        self.client, self.template, self.cache = client, template, cache
        self.concurrency = max(1, concurrency)
        self.parse_retries = parse_retries
        self.params = dict(params or {"temperature": 0.0, "max_tokens": 1024})
        self.calls = 0
        self._calls_lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        return {
            **self.client.describe(),
            "template": self.template.source,
            "params": self.params,
            "concurrency": self.concurrency,
            "parse_retries": self.parse_retries,
            "max_retries": self.client.max_retries,
            "timeout": self.client.timeout,
        }

    def messages(self, job: GradeJob) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.template.render(job.conversation, job.item)}]

    def key(self, job: GradeJob) -> str:
        return request_key(
            {"kind": "grade", **self.client.describe(), "params": self.params, "messages": self.messages(job)}
        )

    def grade_one(self, job: GradeJob) -> Grade:
        key = self.key(job)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return Grade(hit["criteria_met"], hit.get("explanation", ""), cached=True)
        messages = self.messages(job)
        error = "no attempt"
        for _ in range(self.parse_retries + 1):
            try:
                with self._calls_lock:
                    self.calls += 1
                reply = self.client.complete(messages, **self.params)
                met, explanation = parse_grade(reply.text)
            except (BackendError, GradeParseError) as failure:
                error = str(failure)
                if isinstance(failure, BackendError):
                    break  # transport retries are already spent inside the client
                continue
            if self.cache is not None:
                self.cache.put(key, {"criteria_met": met, "explanation": explanation})
            return Grade(met, explanation)
        return Grade(None, "", error=error)

    def grade(self, jobs: Sequence[GradeJob], on_done: Callable[[int, Grade], None] | None = None) -> list[Grade]:
        """Grade every job; ``on_done(index, grade)`` fires as each finishes (progress, logging)."""
        results: list[Grade | None] = [None] * len(jobs)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(self.grade_one, job): i for i, job in enumerate(jobs)}
            for future, index in futures.items():
                results[index] = future.result()
                if on_done:
                    on_done(index, results[index])
        return [r for r in results if r is not None]
