"""Any OpenAI-compatible chat-completions server (vLLM, SGLang, a hosted API) as a synthesis backend.

The transport — timeouts, bounded retries with backoff, errors that never show the API key — is the
shared :class:`~mrrml.openai_client.ChatClient`. This module adds what synthesis needs on top: the
sampling settings of every generation request, and bounded concurrency over the plan. A request that
still fails after the client's retries is a retryable :class:`GenResult` for that item: the run goes
on, counts it, and a re-run retries it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...errors import ConfigError
from ...openai_client import ChatClient
from .base import GenResult
from .llm import generate_with
from .planner import PlanItem

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix


class OpenAIBackend:
    name = "openai"

    def __init__(
        self,
        matrix: StandardsMatrix,
        seed: int,
        client: ChatClient,
        concurrency: int = 4,
        *,
        temperature: float = 0.7,
        max_tokens: int = 1500,
    ):
        if concurrency < 1:
            raise ConfigError(f"concurrency: must be >= 1, got {concurrency}")
        if temperature < 0:
            raise ConfigError(f"temperature: must be >= 0, got {temperature}")
        if max_tokens < 1:
            raise ConfigError(f"max_tokens: must be >= 1, got {max_tokens}")
        self.matrix, self.seed, self.client, self.concurrency = matrix, seed, client, concurrency
        self.temperature, self.max_tokens = temperature, max_tokens

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The reply text with this backend's sampling settings (also what an LLM judge calls)."""
        return self.client.complete(messages, temperature=self.temperature, max_tokens=self.max_tokens).text

    def generate(self, items: list[PlanItem]) -> Iterator[GenResult]:
        source = f"mrrml-synth:openai:{self.client.model}"
        return generate_with(self.complete, self.matrix, self.seed, source, items, self.concurrency)
