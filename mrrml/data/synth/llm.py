"""What the LLM backends share: turning a completion function into triplet records, and an LLM judge.

A backend only has to provide ``complete(messages) -> str`` (raising :class:`BackendError` once its
own retries are spent); this module builds the request from the plan item, validates the reply, and
reports malformed replies and failures as :class:`GenResult` errors that the runner counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING

from ...errors import BackendError
from ..chat import Prompt
from ..records import TripletRecord
from .base import GenResult, record_id
from .planner import PlanItem
from .prompts import generation_messages, judge_messages, parse_score, parse_triplet

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix

Complete = Callable[[list[dict[str, str]]], str]


def result_from_reply(matrix: StandardsMatrix, seed: int, source: str, item: PlanItem, reply: str) -> GenResult:
    fields, why = parse_triplet(reply)
    if fields is None:
        return GenResult(item.index, None, why)
    record = TripletRecord(
        id=record_id(matrix.name, seed, item.index),
        prompt=fields["prompt"],
        dimension=item.dimension,
        scenario=item.scenario,
        discipline=item.discipline,
        good=fields["good"],
        medium=fields["medium"],
        poor=fields["poor"],
        source=source,
    )
    return GenResult(item.index, record)


def generate_with(
    complete: Complete, matrix: StandardsMatrix, seed: int, source: str, items: list[PlanItem], concurrency: int = 1
) -> Iterator[GenResult]:
    """Run ``complete`` over the items with at most ``concurrency`` requests in flight; results in completion order."""

    def one(item: PlanItem) -> GenResult:
        try:
            reply = complete(generation_messages(matrix, item))
        except BackendError as error:
            return GenResult(item.index, None, f"backend error: {error}", retryable=True)
        return result_from_reply(matrix, seed, source, item, reply)

    if concurrency <= 1:
        yield from map(one, items)
        return
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        # Submit in windows so a huge plan does not queue every request up front.
        window = concurrency * 4
        pending = set()
        it = iter(items)
        for item in it:
            pending.add(pool.submit(one, item))
            if len(pending) >= window:
                finished = next(as_completed(pending))
                pending.remove(finished)
                yield finished.result()
        for future in as_completed(pending):
            yield future.result()


class LLMJudge:
    """A consistency-filter scorer that asks an LLM for a 1-10 grade; an unreadable grade scores -inf
    (so the triplet is dropped with a judge reason rather than kept on a guess)."""

    def __init__(self, complete: Complete, matrix: StandardsMatrix):
        self.complete, self.matrix = complete, matrix

    def __call__(self, prompts: Sequence[Prompt], answers: Sequence[str], dimension: str) -> list[float]:
        scores = []
        for prompt, answer in zip(prompts, answers):
            text = prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt)
            try:
                score = parse_score(self.complete(judge_messages(self.matrix, dimension, text, answer)))
            except BackendError:
                score = None
            scores.append(float("-inf") if score is None else score)
        return scores
