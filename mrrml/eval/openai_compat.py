"""A small stdlib client for OpenAI-compatible ``/v1/chat/completions`` (OpenAI, vLLM, SGLang, ...).

Only what evaluation needs: one blocking call per request, a timeout, and bounded retries with
exponential backoff on the failures that are worth retrying (connection errors, timeouts, HTTP 429
and 5xx). Other HTTP errors (bad model name, bad key) fail at once: retrying cannot fix them.
Each call is independent, so one client is safe to share between threads.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from ..errors import BackendError, ConfigError
from ..jsonutil import loads_json

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class ChatResponse:
    text: str
    usage: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1


@dataclass
class ChatClient:
    """``complete(messages, **params) -> ChatResponse`` against ``{base_url}/chat/completions``."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 120.0
    max_retries: int = 4
    backoff: float = 1.0          # first wait in seconds; doubles after each failed attempt
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL must start with http:// or https://, got '{self.base_url}'")
        self.base_url = self.base_url.rstrip("/")

    @classmethod
    def from_env(cls, base_url: str, model: str, api_key_env: str | None, **kwargs: Any) -> "ChatClient":
        """Read the key from the named environment variable (keys never go on the command line)."""
        key = os.environ.get(api_key_env) if api_key_env else None
        if api_key_env and key is None:
            raise ConfigError(f"environment variable {api_key_env} (the API key) is not set")
        return cls(base_url, model, key, **kwargs)

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "model": self.model}

    def _post(self, body: bytes) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return loads_json(response.read())

    def complete(self, messages: list[dict[str, str]], **params: Any) -> ChatResponse:
        body = json.dumps({"model": self.model, "messages": messages, **params}).encode("utf-8")
        where = f"{self.base_url}/chat/completions (model {self.model})"
        last = "no attempt"
        for attempt in range(1, self.max_retries + 2):
            try:
                payload = self._post(body)
                text = payload["choices"][0]["message"]["content"]
                if not isinstance(text, str):
                    raise ValueError("message content is not a string")
                return ChatResponse(text, payload.get("usage") or {}, attempt)
            except urllib.error.HTTPError as error:
                detail = error.read()[:300].decode("utf-8", "replace")
                last = f"HTTP {error.code}: {detail}"
                if error.code not in RETRYABLE_STATUS:
                    raise BackendError(f"{where}: {last}") from None
            except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                    http.client.HTTPException) as error:
                last = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
            except (ValueError, KeyError, IndexError, TypeError) as error:  # JsonTextError is a ValueError
                last = f"malformed response: {error!r}"
            if attempt <= self.max_retries:
                time.sleep(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
        raise BackendError(f"{where}: failed after {self.max_retries + 1} attempts; last error: {last}")
