"""Any OpenAI-compatible chat server (vLLM, SGLang, a hosted API) as a synthesis backend.

A generator endpoint writes drafts, counterfactual rewrites, neutral rewrites and rubrics; a judge
endpoint (by default the generator's, at temperature 0) grades every answer on every dimension. The
pipeline is :class:`~.llm.TripletWriter`; the transport, with its retries and key handling, is the
shared :class:`~mrrml.openai_client.ChatClient`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from ...openai_client import ChatClient
from .base import GenResult
from .llm import LLMSynthSettings, TripletWriter, run_in_thread
from .planner import PlanItem
from .prompts import Messages

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix


class OpenAIBackend:
    """``generate(items)`` through one asynchronous window of ``window`` requests (generator and judge).

    Args:
        matrix: the standards matrix.
        seed: the run seed (every request's ``seed`` derives from it and the item).
        generator: the generator endpoint and its request settings.
        window: requests in flight at once, generator and judge together.
        judge: the judge endpoint; None uses the generator's endpoint and model at temperature 0.
        settings: how triplets are written and judged.
        outage_retries: times a request that failed on an outage is tried again later in the run.
        outage_wait: seconds before the first such retry (doubling).
    """

    name = "openai"

    def __init__(
        self,
        matrix: StandardsMatrix,
        seed: int,
        generator: ChatClient,
        window: int = 64,
        *,
        judge: ChatClient | None = None,
        settings: LLMSynthSettings | None = None,
        outage_retries: int = 2,
        outage_wait: float = 30.0,
    ):
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ConfigError(f"window: must be an integer >= 1, got {window!r}")
        if isinstance(outage_retries, bool) or not isinstance(outage_retries, int) or outage_retries < 0:
            raise ConfigError(f"outage_retries: must be an integer >= 0, got {outage_retries!r}")
        if not outage_wait >= 0:
            raise ConfigError(f"outage_wait: must be >= 0 seconds, got {outage_wait!r}")
        self.settings = settings or LLMSynthSettings()
        self.settings.validate()
        self.matrix, self.seed, self.generator, self.window = matrix, seed, generator, window
        self.judge = judge or generator.with_settings(temperature=0.0)
        self.outage_retries, self.outage_wait = outage_retries, outage_wait
        self.calls: Counter = Counter()  # requests started per role, over every generate() of this backend

    def manifest(self) -> dict[str, Any]:
        """What about this backend decides which records it makes (for the resume check; never a key or
        a URL, so a moved server does not block a resume)."""
        return {
            "generator": self.generator.settings.request_settings(),
            "judge": self.judge.settings.request_settings() if self.settings.judge else None,
            "method": asdict(self.settings),
        }

    def complete(self, messages: Messages) -> str:
        """One judge request outside the pipeline (e.g. for an :class:`~.llm.LLMJudge` consistency filter)."""

        async def once() -> str:
            async with self.judge.session() as chat:
                return (await chat.complete(messages)).text

        return asyncio.run(once())

    def generate(self, items: list[PlanItem]) -> Iterator[GenResult]:
        source = f"mrrml-synth:openai:{self.generator.model}"

        async def produce(emit: Callable[[GenResult], None], stop: threading.Event) -> None:
            async with self.generator.session() as generator, self.judge.session() as judge:
                writer = TripletWriter(
                    self.matrix,
                    self.seed,
                    source,
                    generator,
                    judge,
                    self.settings,
                    window=self.window,
                    outage_retries=self.outage_retries,
                    outage_wait=self.outage_wait,
                )
                try:
                    await writer.run(items, emit, stop)
                finally:
                    self.calls.update(writer.calls)

        return run_in_thread(produce)
