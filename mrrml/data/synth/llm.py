"""LLM-written triplets: the counterfactual pipeline, judged, through one bounded asynchronous window.

Per plan item (:class:`TripletWriter`): draft the prompt and a good answer; optionally repair a draft
the judge finds flawed; rewrite the good answer into medium and poor along the target dimension only,
and (at the plan's neutral rate) into a surface-only neutral variant; write a rubric for the prompt
and keep it only if the judge's grades with it reproduce good > medium > poor (else another, up to
``rubric_tries``); judge every answer on every dimension; keep the triplet only if the target
dimension is ordered and the other dimensions stay within ``tolerance`` of the good answer's
(:mod:`.prompts`, :mod:`.rubric`, :mod:`.judge`).

Throughput: every generator and judge request of every item goes through one semaphore of ``window``
requests in flight, and twice as many items are worked on at once, so the window stays full while
items wait on their own earlier steps. Independent steps of one item (medium/poor and the neutral;
the judge's grades of the answers) run concurrently.

Nothing is lost: a request that fails on an outage (after the client's own retries) is tried again
later in the run, ``outage_retries`` times with a doubling ``outage_wait``; if it still fails the
item is returned as retryable and the next run does it. Only the generator's unusable output
(malformed or truncated after its retries) and the judge's verdict are final drops.
"""

from __future__ import annotations

import asyncio
import hashlib
import queue
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ...errors import BackendError, ConfigError
from ...openai_client import Reply, TruncatedReply
from ..chat import Prompt
from ..records import TripletRecord
from .base import GenResult, record_id
from .judge import JudgeRequest, Verdict, flaws, judge_request, triplet_verdict
from .planner import PlanItem
from .prompts import (
    COUNTERFACTUAL_FIELDS,
    DRAFT_FIELDS,
    NEUTRAL_FIELDS,
    NEUTRAL_KINDS,
    REPAIR_FIELDS,
    Messages,
    counterfactual_messages,
    draft_messages,
    neutral_messages,
    parse_counterfactual,
    parse_fields,
    parse_neutral,
    repair_messages,
    string_schema,
)
from .rubric import parse_rubric, reproduces_order, rubric_messages, rubric_schema

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix

Parse = Callable[[str], "tuple[Any, str | None]"]


class Completer(Protocol):
    """One role's chat model (a :class:`~mrrml.openai_client.ChatSession` or a local model):
    :class:`~mrrml.errors.BackendError` once its own retries are spent (``transient`` when waiting may
    help), :class:`~mrrml.openai_client.TruncatedReply` for a reply cut at its token budget."""

    async def complete(
        self, messages: Messages, *, schema: dict[str, Any] | None = None, seed: int | None = None
    ) -> Reply: ...


@dataclass(frozen=True)
class LLMSynthSettings:
    """How the LLM backends write and judge triplets. Every field decides which records a run makes,
    so all of them go into the run's resume manifest.

    Args:
        judge: judge every answer on every dimension and keep only triplets the judge orders; False keeps
            every well-formed triplet and writes no rubric.
        rubrics: write a rubric per prompt (OpenRubrics) and store it with the record when the judge's
            grades with it reproduce good > medium > poor.
        rubric_tries: rubrics written per prompt before giving up (the record is then judged without
            one, and the dropped rubric is counted).
        tolerance: how far medium and poor may score from good on a non-target dimension (judge points,
            1-10 scale) for the triplet to count as changed on the target dimension only.
        neutral_tolerance: how far a neutral rewrite may score from good on any dimension; one further
            away is removed from the record (counted), the triplet is kept.
        repair_rounds: times a draft the judge scores below ``repair_below`` on some dimension is
            repaired upward before medium and poor are derived from it (0 = off).
        repair_below: judge score under which a dimension of a draft counts as flawed.
        parse_retries: extra requests, each with a new seed, when a reply does not follow its JSON schema.
    """

    judge: bool = True
    rubrics: bool = True
    rubric_tries: int = 3
    tolerance: float = 2.0
    neutral_tolerance: float = 1.0
    repair_rounds: int = 0
    repair_below: float = 7.0
    parse_retries: int = 2

    def validate(self) -> None:
        for name in ("rubric_tries", "repair_rounds", "parse_retries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "rubric_tries" else 0):
                raise ConfigError(f"{name}: must be an integer >= {1 if name == 'rubric_tries' else 0}, got {value!r}")
        for name in ("tolerance", "neutral_tolerance"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)!r}")


class _Drop(Exception):
    """A final outcome for the item: ``stage: reason`` goes to the work log."""

    def __init__(self, stage: str, reason: str, judge: dict[str, Any] | None = None):
        super().__init__(reason)
        self.stage, self.reason, self.judge = stage, reason, judge


class _Pending(Exception):
    """An outage outlasted the in-run retries: the item is left for the next run."""


def call_seed(seed: int, index: int, step: str, attempt: int) -> int:
    """The ``seed`` sent with one request: a function of the run seed, the item, the step and the attempt,
    so a resumed run sends exactly the requests an uninterrupted one would."""
    digest = hashlib.sha256(f"mrrml-synth:{seed}:{index}:{step}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1  # 31 bits: every server's seed type holds it


class TripletWriter:
    """The per-item pipeline of the module doc, for any generator and judge :class:`Completer`."""

    def __init__(
        self,
        matrix: StandardsMatrix,
        seed: int,
        source: str,
        generator: Completer,
        judge: Completer | None,
        settings: LLMSynthSettings,
        *,
        window: int = 64,
        outage_retries: int = 2,
        outage_wait: float = 30.0,
    ):
        self.matrix, self.seed, self.source = matrix, seed, source
        self.generator, self.judge, self.settings = generator, judge if settings.judge else None, settings
        self.window, self.outage_retries, self.outage_wait = window, outage_retries, outage_wait
        self.calls: Counter = Counter()  # requests started, per role
        self._slots: asyncio.Semaphore | None = None

    # ------------------------------------------------------------------ scheduling
    async def run(
        self, items: Sequence[PlanItem], emit: Callable[[GenResult], Any], stop: threading.Event | None = None
    ) -> None:
        """Write every item, ``emit``-ting each result as it finishes; stop starting items once ``stop`` is set."""
        self._slots = asyncio.Semaphore(self.window)
        active = asyncio.Semaphore(2 * self.window)
        running: set[asyncio.Task] = set()

        async def one(item: PlanItem) -> None:
            try:
                emit(await self.write(item))
            finally:
                active.release()

        for item in items:
            if stop is not None and stop.is_set():
                break
            await active.acquire()
            task = asyncio.ensure_future(one(item))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.gather(*running)

    async def write(self, item: PlanItem) -> GenResult:
        """One item's outcome: a judged record, a final drop, or retryable after an outage."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.window)
        events: list[str] = []
        try:
            record, judged = await self._triplet(item, events)
        except _Drop as drop:
            return GenResult(item.index, None, drop.reason, stage=drop.stage, events=events, judge=drop.judge)
        except _Pending as pending:
            return GenResult(item.index, None, str(pending), retryable=True, events=events)
        return GenResult(item.index, record, events=events, judge=judged)

    async def _call(self, role: str, model: Completer, messages: Messages, schema: dict | None, seed: int) -> Reply:
        assert self._slots is not None
        for retry in range(self.outage_retries + 1):
            try:
                async with self._slots:
                    self.calls[role] += 1
                    return await model.complete(messages, schema=schema, seed=seed)
            except BackendError as error:
                if not getattr(error, "transient", False) or retry == self.outage_retries:
                    raise _Pending(f"{role} unavailable: {error}") from None
            await asyncio.sleep(self.outage_wait * 2**retry)  # the slot is free while the server recovers
        raise AssertionError("unreachable")

    async def _ask(self, role: str, item: PlanItem, step: str, messages: Messages, schema: dict, parse: Parse) -> Any:
        """A parsed reply, asking again with a new seed while it does not parse; else a final drop."""
        model = self.generator if role == "generator" else self.judge
        stage = "backend" if role == "generator" else "filter"
        prefix = step if role == "generator" else "judge"
        why = "no attempt"
        for attempt in range(self.settings.parse_retries + 1):
            try:
                reply = await self._call(role, model, messages, schema, call_seed(self.seed, item.index, step, attempt))
            except TruncatedReply:
                raise _Drop(stage, f"{prefix}: truncated (reply cut at max_tokens)") from None
            value, why = parse(reply.text)
            if value is not None:
                return value
        raise _Drop(stage, f"{prefix}: {why}")

    async def _generate(
        self, item: PlanItem, step: str, messages: Messages, fields: tuple[str, ...], parse: Parse | None = None
    ) -> Any:
        return await self._ask(
            "generator", item, step, messages, string_schema(*fields), parse or (lambda t: parse_fields(t, fields))
        )

    async def _judge(self, item: PlanItem, step: str, request: JudgeRequest) -> Verdict:
        dims = self.matrix.dimension_ids
        return await self._ask("judge", item, step, request.messages, request.schema, lambda t: request.parse(t, dims))

    async def _judge_all(
        self, item: PlanItem, step: str, prompt: str, answers: dict[str, str], rubric: list | None
    ) -> dict[str, Verdict]:
        names = list(answers)
        requests = [
            judge_request(self.matrix, item.scenario, item.discipline, prompt, answers[n], rubric) for n in names
        ]
        verdicts = await _all(*(self._judge(item, f"{step}:{n}", r) for n, r in zip(names, requests)))
        return dict(zip(names, verdicts))

    # ------------------------------------------------------------------ the pipeline
    async def _triplet(self, item: PlanItem, events: list[str]) -> tuple[TripletRecord, dict[str, Any] | None]:
        m, s = self.matrix, self.settings
        draft = await self._generate(item, "draft", draft_messages(m, item), DRAFT_FIELDS)
        prompt, good = draft["prompt"], draft["good"]
        if self.judge is not None:
            for round_ in range(s.repair_rounds):
                request = judge_request(m, item.scenario, item.discipline, prompt, good)
                verdict = await self._judge(item, f"repair-check{round_}", request)
                flawed = {d for d, score in verdict.scores.items() if score < s.repair_below}
                if not flawed:
                    break
                asked = repair_messages(m, item, prompt, good, flaws(request, verdict, flawed))
                good = (await self._generate(item, f"repair{round_}", asked, REPAIR_FIELDS))["good"]
                events.append("draft repaired")
        counterfactual, neutral = await _all(
            self._generate(
                item,
                "counterfactual",
                counterfactual_messages(m, item, prompt, good),
                COUNTERFACTUAL_FIELDS,
                lambda t: parse_counterfactual(t, good),
            ),
            self._neutral(item, prompt, good),
        )
        answers = {"good": good, **counterfactual, **({"neutral": neutral} if neutral else {})}
        record = TripletRecord(
            id=record_id(m.name, self.seed, item.index),
            prompt=prompt,
            dimension=item.dimension,
            scenario=item.scenario,
            discipline=item.discipline,
            good=good,
            medium=counterfactual["medium"],
            poor=counterfactual["poor"],
            neutral=neutral,
            source=self.source,
        )
        if self.judge is None:
            return record, None
        rubric, verdicts = await self._rubric(item, prompt, answers, events) if s.rubrics else (None, None)
        if verdicts is None:
            verdicts = await self._judge_all(item, "judge", prompt, answers, None)
        judged = {name: v.scores for name, v in verdicts.items()}
        reason = triplet_verdict(item.dimension, verdicts["good"], verdicts["medium"], verdicts["poor"], s.tolerance)
        if reason is not None:
            raise _Drop("filter", reason, judged)
        if neutral and any(
            abs(verdicts["neutral"].scores[d] - verdicts["good"].scores[d]) > s.neutral_tolerance
            for d in judged["good"]
        ):
            record.neutral = None
            events.append("neutral removed")
        record.rubric = rubric
        return record, judged

    async def _neutral(self, item: PlanItem, prompt: str, good: str) -> str | None:
        if not item.neutral:
            return None
        kinds = sorted(NEUTRAL_KINDS)
        kind = kinds[call_seed(self.seed, item.index, "neutral-kind", 0) % len(kinds)]
        messages = neutral_messages(prompt, good, kind)
        return (await self._generate(item, "neutral", messages, NEUTRAL_FIELDS, lambda t: parse_neutral(t, good)))[
            "neutral"
        ]

    async def _rubric(
        self, item: PlanItem, prompt: str, answers: dict[str, str], events: list[str]
    ) -> tuple[list | None, dict[str, Verdict] | None]:
        """A rubric whose grades reproduce good > medium > poor, with those grades; else (None, None)."""
        for attempt in range(self.settings.rubric_tries):
            try:
                rubric = await self._ask(
                    "generator",
                    item,
                    f"rubric{attempt}",
                    rubric_messages(self.matrix, prompt, answers["good"], answers["poor"]),
                    rubric_schema(self.matrix),
                    lambda t: parse_rubric(t, self.matrix),
                )
            except _Drop:
                events.append("rubric malformed")
                continue
            verdicts = await self._judge_all(item, f"judge-rubric{attempt}", prompt, answers, rubric)
            graded = (verdicts[n].rubric for n in ("good", "medium", "poor"))
            if reproduces_order(rubric, *graded):
                return rubric, verdicts
            events.append("rubric resampled")
        events.append("rubric dropped")
        return None, None


async def _all(*steps: Awaitable[Any]) -> list[Any]:
    """Await independent steps together; a final drop wins over an outage (the item is decided either way),
    and a step never outlives its item."""
    results = await asyncio.gather(*steps, return_exceptions=True)
    for kind in (_Drop, _Pending, BaseException):
        for result in results:
            if isinstance(result, kind):
                raise result
    return list(results)


def run_in_thread(
    produce: Callable[[Callable[[GenResult], None], threading.Event], Awaitable[None]],
) -> Iterator[GenResult]:
    """Results of an asynchronous producer as a plain iterator (what the runner consumes).

    The producer runs on its own event loop in a worker thread and hands each result over as it
    finishes, so the runner's log writes (fsync) never stall the requests in flight. Closing the
    iterator early sets ``stop``: no new item starts; those in flight finish first.
    """
    results: queue.Queue = queue.Queue()
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            asyncio.run(produce(results.put, stop))
        except BaseException as error:  # handed to the consumer, who re-raises it
            results.put(error)
        finally:
            results.put(done)

    thread = threading.Thread(target=work, name="mrrml-synth-pipeline", daemon=True)
    thread.start()
    try:
        while (result := results.get()) is not done:
            if isinstance(result, BaseException):
                raise result
            yield result
    finally:
        stop.set()


class LLMJudge:
    """The reasoning judge as a :class:`~.filter.ConsistencyFilter` scorer, to check data of any backend
    (the template's, say) with an LLM: ``complete(messages) -> reply text``; the score is the judge's
    grade of the asked dimension, and an unreadable reply scores -inf (dropped with a judge reason
    rather than kept on a guess). The LLM backends judge inside their pipeline instead."""

    def __init__(self, complete: Callable[[Messages], str], matrix: StandardsMatrix):
        self.complete, self.matrix = complete, matrix

    def __call__(self, prompts: Sequence[Prompt], answers: Sequence[str], dimension: str) -> list[float]:
        m = self.matrix
        scores = []
        for prompt, answer in zip(prompts, answers):
            text = prompt if isinstance(prompt, str) else "\n".join(msg["content"] for msg in prompt)
            request = judge_request(m, None, None, text, answer)
            try:
                verdict, _ = request.parse(self.complete(request.messages), m.dimension_ids)
            except BackendError:
                verdict = None
            scores.append(float("-inf") if verdict is None else verdict.scores[dimension])
        return scores
