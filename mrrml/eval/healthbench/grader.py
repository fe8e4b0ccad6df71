"""Rubric grading with an OpenAI-compatible model: one call per rubric item, cached, bounded.

An item is graded by sending the grader prompt and parsing ``criteria_met`` strictly: the reply must
be a JSON object (a ```json fence is allowed) whose ``criteria_met`` is a real boolean; where the
server supports guided decoding the reply's schema is sent with the request. A reply that fails to
parse (or is cut at ``max_tokens`` twice) is asked again up to ``parse_retries`` more times; transport
errors are retried inside the client. An item that still fails gets ``criteria_met = None`` and a
``grading_error`` — it is counted and reported, never scored as "not met". Only successful grades are
cached, each the moment it arrives, so a killed or failed run repeats only the unfinished items.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import MrrmlError
from ...jsonutil import JsonTextError, loads_json_reply
from ...openai_client import ChatClient, ChatError, ChatSession, TruncatedReply, gather_bounded
from .cache import ResponseCache, request_key
from .data import RubricItem
from .grader_prompt import GraderTemplate

GRADE_SCHEMA = {
    "type": "object",
    "properties": {"explanation": {"type": "string"}, "criteria_met": {"type": "boolean"}},
    "required": ["explanation", "criteria_met"],
    "additionalProperties": False,
}


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
    """Grades many (conversation, rubric item) jobs, ``concurrency`` requests in flight.

    ``params``, when given, replace some of the client's request settings (``temperature``,
    ``max_tokens``, ...); the grader's settings are part of every cache key.
    """

    def __init__(
        self,
        client: ChatClient,
        template: GraderTemplate,
        cache: ResponseCache | None = None,
        *,
        concurrency: int = 64,
        parse_retries: int = 2,
        params: dict[str, Any] | None = None,
    ):
        self.client = client.with_settings(**params) if params else client
        self.template, self.cache = template, cache
        self.concurrency = max(1, concurrency)
        self.parse_retries = parse_retries
        self.params = self.client.settings.request_settings()
        self.params.pop("model")
        self.calls = 0

    def describe(self) -> dict[str, Any]:
        return {
            **self.client.describe(),
            "template": self.template.source,
            "params": self.params,
            "concurrency": self.concurrency,
            "parse_retries": self.parse_retries,
            "max_retries": self.client.settings.max_retries,
            "timeout": self.client.settings.timeout,
        }

    def messages(self, job: GradeJob) -> list[dict[str, str]]:
        return [{"role": "user", "content": self.template.render(job.conversation, job.item)}]

    def key(self, job: GradeJob) -> str:
        return request_key(
            {"kind": "grade", **self.client.describe(), "params": self.params, "messages": self.messages(job)}
        )

    async def grade_one(self, chat: ChatSession, job: GradeJob) -> Grade:
        key = self.key(job)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return Grade(hit["criteria_met"], hit.get("explanation", ""), cached=True)
        messages = self.messages(job)
        error = "no attempt"
        for _ in range(self.parse_retries + 1):
            self.calls += 1
            try:
                reply = await chat.complete(messages, schema=GRADE_SCHEMA)
                met, explanation = parse_grade(reply.text)
            except ChatError as failure:  # transport retries are already spent inside the client
                return Grade(None, "", error=str(failure))
            except (GradeParseError, TruncatedReply) as failure:
                error = str(failure)
                continue
            if self.cache is not None:  # off the event loop: the cache fsyncs
                await asyncio.to_thread(self.cache.put, key, {"criteria_met": met, "explanation": explanation})
            return Grade(met, explanation)
        return Grade(None, "", error=error)

    def grade(self, jobs: Sequence[GradeJob], on_done: Callable[[int, Grade], None] | None = None) -> list[Grade]:
        """Grade every job; ``on_done(index, grade)`` fires as each finishes (progress, logging)."""

        async def run() -> list[Grade]:
            async with self.client.session() as chat:
                calls = [lambda job=job: self.grade_one(chat, job) for job in jobs]
                return await gather_bounded(calls, self.concurrency, on_done)

        return asyncio.run(run())
