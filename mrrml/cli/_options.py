"""Option groups shared by several commands, defined once so their meaning cannot drift.

Each is a small frozen dataclass; a command parameter of that type becomes a dotted group of
options (``--grader.base_url``) and a nested block in config files. Secrets are never options:
an endpoint names the environment variable that holds its key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..openai_client import ChatClient


@dataclass(frozen=True)
class Requests:
    """How requests to an endpoint are sent.

    Args:
        concurrency: parallel requests per endpoint.
        timeout: seconds per request.
        max_retries: retries of a failed request (connection, timeout, 429, 5xx), with exponential backoff.
        backoff: first retry wait in seconds; it doubles after each failed attempt.
    """

    concurrency: int = 8
    timeout: float = 120.0
    max_retries: int = 4
    backoff: float = 1.0


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible chat endpoint (vLLM, SGLang, hosted APIs).

    Args:
        base_url: URL up to /v1, e.g. http://127.0.0.1:8000/v1.
        model: model name sent in each request.
        api_key_env: name of the environment variable that holds the API key (keys are read from the
            environment only, never from the command line or a config file).
    """

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None

    def client(self, group: str, requests: Requests, *, key_required: bool = True) -> ChatClient:
        """A client for this endpoint; ``group`` names the option group in the error if it is incomplete."""
        if not (self.base_url and self.model):
            raise ConfigError(f"give --{group}.base_url and --{group}.model (the OpenAI-compatible endpoint)")
        from ..openai_client import ChatClient

        return ChatClient.from_env(
            self.base_url,
            self.model,
            self.api_key_env,
            key_required=key_required,
            timeout=requests.timeout,
            max_retries=requests.max_retries,
            backoff=requests.backoff,
        )
