"""Any OpenAI-compatible chat-completions server (vLLM, SGLang, a hosted API) as a synthesis backend.

Standard library only (``http.client``). Each request has a timeout; failures (connection errors,
timeouts, HTTP 429/5xx, unreadable bodies) are retried a bounded number of times with exponential
backoff, then reported as :class:`BackendError` for that item — the run goes on and counts it. The API
key is read from an environment variable and only ever placed in the Authorization header.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.parse
from typing import TYPE_CHECKING, Iterator

from ...errors import BackendError, ConfigError
from ...jsonutil import JsonTextError, loads_json
from .base import GenResult
from .llm import generate_with
from .planner import PlanItem

if TYPE_CHECKING:
    from ...standards.matrix import StandardsMatrix

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIChatClient:
    """POST /chat/completions with bounded retries; ``complete(messages) -> str``."""

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "OPENAI_API_KEY", timeout: float = 60.0,
                 max_retries: int = 3, backoff: float = 1.0, temperature: float = 0.7, max_tokens: int = 1500):
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"base_url: expected http(s)://host[:port]/path, got {base_url!r}")
        self.base_url, self.model = base_url, model
        self._scheme, self._host, self._port = parsed.scheme, parsed.hostname, parsed.port
        self._path = parsed.path.rstrip("/") + "/chat/completions"
        self._api_key = os.environ.get(api_key_env)  # may be None for local servers
        self.timeout, self.max_retries, self.backoff = timeout, max_retries, backoff
        self.temperature, self.max_tokens = temperature, max_tokens

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIChatClient(base_url={self.base_url!r}, model={self.model!r})"

    def _post(self, body: bytes) -> tuple[int, bytes]:
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.timeout)
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        try:
            conn.request("POST", self._path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def complete(self, messages: list[dict[str, str]]) -> str:
        body = json.dumps({"model": self.model, "messages": messages, "temperature": self.temperature,
                           "max_tokens": self.max_tokens}).encode("utf-8")
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                status, raw = self._post(body)
            except (OSError, socket.timeout, http.client.HTTPException) as error:
                last = f"{type(error).__name__}: {error}"
                continue
            if status in _RETRY_STATUS:
                last = f"HTTP {status}"
                continue
            if status != 200:
                raise BackendError(f"POST {self.base_url}{self._path[len(urllib.parse.urlparse(self.base_url).path.rstrip('/')):]}: "
                                   f"HTTP {status}: {raw[:200]!r}")
            try:
                content = loads_json(raw)["choices"][0]["message"]["content"]
            except (JsonTextError, KeyError, IndexError, TypeError):
                last = f"unreadable response body {raw[:120]!r}"
                continue
            if not isinstance(content, str):
                last = f"message content is {type(content).__name__}, not text"
                continue
            return content
        raise BackendError(f"POST {self.base_url}: gave up after {self.max_retries + 1} attempts: {last}")


class OpenAIBackend:
    name = "openai"

    def __init__(self, matrix: "StandardsMatrix", seed: int, client: OpenAIChatClient, concurrency: int = 4):
        if concurrency < 1:
            raise ConfigError(f"concurrency: must be >= 1, got {concurrency}")
        self.matrix, self.seed, self.client, self.concurrency = matrix, seed, client, concurrency

    def generate(self, items: list[PlanItem]) -> Iterator[GenResult]:
        source = f"mrrml-synth:openai:{self.client.model}"
        return generate_with(self.client.complete, self.matrix, self.seed, source, items, self.concurrency)
