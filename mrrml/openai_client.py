"""The one client for OpenAI-compatible ``/v1/chat/completions`` servers (OpenAI, vLLM, SGLang, ...).

Both the data layer (LLM synthesis backends) and evaluation (HealthBench sampler and grader) talk to
such servers, and the data layer must not import from ``mrrml.eval``; so the client lives here, below
both. Standard library only (``http.client``): no redirects are followed and no proxy settings are
read, so the API key goes to the configured host and nowhere else.

Failures worth retrying (connection errors, timeouts, HTTP 408/409/425/429/5xx, bodies that are not a
chat completion) are retried a bounded number of times with capped exponential backoff; other HTTP
errors (unknown model, bad key) fail at once, because retrying cannot fix them. Every error is a
:class:`BackendError` naming the URL and the model; the key is never part of an error or a ``repr``.
The client holds no mutable state and opens one connection per attempt, so one instance can be shared
between threads.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from .errors import BackendError, ConfigError
from .jsonutil import loads_json

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_DETAIL_BYTES = 300  # how much of an error body goes into a message: enough to read the server's reason


@dataclass(frozen=True)
class ChatResponse:
    text: str
    usage: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1


@dataclass(frozen=True, repr=False)
class ChatClient:
    """``complete(messages, **params) -> ChatResponse`` against ``{base_url}/chat/completions``."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, compare=False)
    timeout: float = 120.0
    max_retries: int = 4
    backoff: float = 1.0  # first wait in seconds; doubles after each failed attempt
    max_backoff: float = 30.0  # no single wait is longer than this
    _target: tuple[str, str, int | None, str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        try:
            parsed = urllib.parse.urlparse(self.base_url)
            port = parsed.port
        except ValueError as error:
            raise ConfigError(f"base_url: cannot parse {self.base_url!r}: {error}") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"base_url: expected http(s)://host[:port]/path, got {self.base_url!r}")
        if parsed.username or parsed.password or parsed.query or parsed.fragment:
            # credentials in the URL would end up in every error message; the key goes in api_key
            raise ConfigError(
                "base_url: give scheme, host, port and path only (no user:password@, ?query or "
                "#fragment); the URL is not repeated here because it may hold a secret"
            )
        if not self.model:
            raise ConfigError("model: must name the served model, got an empty string")
        for name in ("timeout", "backoff", "max_backoff"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)!r}")
        if self.timeout == 0:
            raise ConfigError("timeout: must be > 0 seconds, got 0")
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ConfigError(f"max_retries: must be an integer >= 0, got {self.max_retries!r}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        path = parsed.path.rstrip("/") + "/chat/completions"
        object.__setattr__(self, "_target", (parsed.scheme, parsed.hostname, port, path))

    @classmethod
    def from_env(
        cls, base_url: str, model: str, api_key_env: str | None, *, key_required: bool = True, **kwargs: Any
    ) -> ChatClient:
        """Read the key from the named environment variable, so keys never go on a command line.

        ``api_key_env=None`` means no key. A named variable that is unset (or empty) is an error, unless
        ``key_required=False`` — for a local server that wants no key under a default variable name.
        """
        key = (os.environ.get(api_key_env) or None) if api_key_env else None
        if api_key_env and key is None and key_required:
            raise ConfigError(f"environment variable {api_key_env} (the API key) is not set")
        return cls(base_url, model, key, **kwargs)

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def __repr__(self) -> str:  # never show the key
        return (
            f"ChatClient(base_url={self.base_url!r}, model={self.model!r}, timeout={self.timeout!r}, "
            f"max_retries={self.max_retries!r}, api_key={'set' if self.api_key else 'none'})"
        )

    def describe(self) -> dict[str, Any]:
        """What identifies the endpoint in reports and cache keys (never the key)."""
        return {"base_url": self.base_url, "model": self.model}

    def retry_delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        return min(self.max_backoff, self.backoff * 2 ** (retry - 1))

    def complete(self, messages: list[dict[str, str]], **params: Any) -> ChatResponse:
        """One chat completion; ``params`` (temperature, max_tokens, ...) go into the request body as given."""
        clash = sorted({"model", "messages"} & params.keys())
        if clash:
            raise ConfigError(f"complete(): {', '.join(clash)} cannot be a request parameter; the client sets it")
        body = json.dumps({"model": self.model, "messages": messages, **params}).encode("utf-8")
        attempts = self.max_retries + 1
        last = "no attempt"
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                time.sleep(self.retry_delay(attempt - 1))
            try:
                status, raw = self._post(body)
            except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, bad status line
                last = f"{type(error).__name__}: {error}"
                continue
            if not 200 <= status < 300:
                if self.api_key:  # cut an echoed key out before truncating, so no part of it can show
                    raw = raw.replace(self.api_key.encode("utf-8"), b"<api key>")
                last = f"HTTP {status}: {raw[:_DETAIL_BYTES].decode('utf-8', 'replace')}"
                if status in RETRYABLE_STATUS:
                    continue
                raise BackendError(self._located(last))
            try:
                text, usage = _parse_completion(raw)
            except ValueError as error:  # JsonTextError is a ValueError
                last = f"malformed response: {error}"
                continue
            return ChatResponse(text, usage, attempt)
        raise BackendError(self._located(f"failed after {attempts} attempts; last error: {last}"))

    def _post(self, body: bytes) -> tuple[int, bytes]:
        scheme, host, port, path = self._target
        connection_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = connection_class(host, port, timeout=self.timeout)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def _located(self, message: str) -> str:
        """``POST url (model m): message``, with the key cut out should a server have echoed it back."""
        text = f"POST {self.url} (model {self.model}): {message}"
        return text.replace(self.api_key, "<api key>") if self.api_key else text


def _parse_completion(raw: bytes) -> tuple[str, dict[str, Any]]:
    """``(choices[0].message.content, usage)`` from a response body; ``ValueError`` saying what is wrong."""
    payload = loads_json(raw)
    if not isinstance(payload, dict):
        raise ValueError(f"body is a JSON {type(payload).__name__}, not an object")
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ValueError("no choices in the body")
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise ValueError(f"choices[0].message.content is {type(content).__name__}, not text")
    usage = payload.get("usage")
    return content, usage if isinstance(usage, dict) else {}
