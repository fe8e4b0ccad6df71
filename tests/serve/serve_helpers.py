"""Helpers shared by the serving tests: a tiny HTTP client and a call-counting wrapper."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any


def http(
    method: str, url: str, body: Any = None, token: str | None = None, raw: bytes | None = None, timeout: float = 60.0
) -> tuple[int, Any]:
    """(status, decoded JSON) of one request; 4xx/5xx are returned, not raised."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class CountingScorer:
    """Delegates to the real ``RewardModel.raw_scores`` (the server's model call) and counts calls; can
    hold calls until released.

    Only the call count and timing are observed: every score still comes from the real model.
    """

    def __init__(self, model: Any, hold: bool = False):
        self._score = model.raw_scores
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, *args: Any, **kwargs: Any):
        self.calls += 1
        self.entered.set()
        self.release.wait(timeout=60)
        return self._score(*args, **kwargs)
