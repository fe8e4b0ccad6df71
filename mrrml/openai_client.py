"""The one client for OpenAI-compatible ``/v1/chat/completions`` servers (vLLM, SGLang, OpenAI, ...).

Synthesis (generator and judge) and HealthBench (sampler and grader) all talk to such servers, and the
data layer must not import from ``mrrml.eval``; so the client lives here, below both.

The transport is the ``openai`` SDK's :class:`~openai.AsyncOpenAI`: connection pooling, timeouts, and
retries of connection errors, timeouts and HTTP 408/409/429/5xx with jittered exponential backoff that
honours a server's ``Retry-After``. Only the first wait and its cap come from :class:`ChatSettings`
(``backoff``, ``max_backoff``; the SDK fixes them at 0.5 s and 8 s). On top this module adds:

* **Key safety.** The key comes only from the environment variable the settings name. It travels only
  as this client's ``Authorization`` header: redirects are not followed (a 3xx is an error), proxy
  settings are not read (``trust_env=False``), and the SDK's ambient ``OPENAI_*`` variables (custom
  headers, organisation, project) are kept out of the requests. Every error text has the key cut out,
  and no ``repr`` shows it.
* **Strict replies.** The raw body is parsed here with :func:`mrrml.jsonutil.loads_json`, so a hostile
  body (deep nesting, huge numbers, HTML from a proxy, content that is not text) is a counted
  :class:`BackendError`, retried like a transport failure, never a crash.
* **What vLLM serving a reasoning model needs.** ``chat_template_kwargs`` (default
  ``{"enable_thinking": false}`` for Qwen3), ``<think>…</think>`` removed from replies, a reply cut at
  ``max_tokens`` asked again once with more tokens and otherwise a :class:`TruncatedReply` (a final
  outcome distinct from a malformed reply), JSON-schema guided decoding (``response_format``) where the
  server supports it — a server that refuses it is asked without it from then on, and the caller's
  parser decides — and a per-request ``seed``.

:class:`ChatClient` is the immutable configuration (shareable, picklable); :meth:`ChatClient.session`
opens a :class:`ChatSession`, the live SDK client bound to the running event loop.
"""

from __future__ import annotations

import logging
import math
import os
import random
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from .errors import BackendError, ConfigError, MrrmlError
from .jsonutil import loads_json

log = logging.getLogger(__name__)

_DETAIL_BYTES = 300  # how much of an error body goes into a message: enough to read the server's reason
_NO_KEY = "mrrml-no-key"  # the SDK insists on some key; this one is never sent (the header is omitted)
_THINK_END = "</think>"


class ChatError(BackendError):
    """A request that failed after the retries. ``transient``: retrying later can help (an outage:
    connection refused, timeouts, 429/5xx, broken bodies); otherwise the server refused the request
    (bad key, unknown model, a redirect) and waiting will not change that. ``status``: the HTTP status,
    if one came."""

    def __init__(self, message: str, *, transient: bool, status: int | None = None):
        super().__init__(message)
        self.transient, self.status = transient, status


class TruncatedReply(MrrmlError):
    """A reply still cut at ``max_tokens`` after the one retry with more tokens (a final outcome)."""


@dataclass(frozen=True)
class ChatSettings:
    """One role's endpoint and request settings (generator, judge, sampler or grader).

    Holds no secret: only the name of the environment variable that holds the key.

    Args:
        base_url: the server's base URL up to ``/v1``, e.g. ``http://127.0.0.1:8000/v1``.
        model: the model name sent with every request (``vllm serve``'s ``--served-model-name``).
        api_key_env: name of the environment variable holding the API key; None for a server that
            wants none (a local vLLM).
        temperature: sampling temperature.
        max_tokens: reply budget in tokens.
        timeout: seconds one request may take before it counts as failed (and is retried).
        max_retries: retries of a failed request (connection error, timeout, 408/409/429/5xx, a body
            that is not a chat completion) before it is reported.
        backoff: first wait in seconds before a retry when the server sends no ``Retry-After``; doubles
            per retry, minus up to 25 % jitter.
        max_backoff: cap of one such wait, in seconds.
        chat_template_kwargs: sent as vLLM's ``chat_template_kwargs`` (Qwen3: ``enable_thinking``);
            None or empty sends nothing (hosted APIs reject unknown fields).
        structured_output: send a JSON schema as ``response_format`` where the caller has one (vLLM's
            guided decoding); a server that refuses it is asked without it and the reply is parsed.
        length_retry_factor: a reply cut at ``max_tokens`` is asked again once with this many times
            the tokens (1 = never) before it counts as truncated.
    """

    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout: float = 120.0
    max_retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    chat_template_kwargs: dict[str, Any] | None = field(default_factory=lambda: {"enable_thinking": False})
    structured_output: bool = True
    length_retry_factor: float = 2.0

    def validate(self, role: str = "client") -> None:
        """:class:`ConfigError` naming ``role.field`` for the first bad value (the URL is not echoed:
        it may hold a secret)."""
        if not self.base_url:
            raise ConfigError(f"{role}.base_url: give the server's base URL, e.g. http://127.0.0.1:8000/v1")
        try:
            parsed = urllib.parse.urlparse(self.base_url)
            parsed.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as error:
            raise ConfigError(f"{role}.base_url: cannot parse it: {error}") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"{role}.base_url: expected http(s)://host[:port]/path, got {self.base_url!r}")
        if parsed.username or parsed.password or parsed.query or parsed.fragment:
            # credentials in the URL would end up in every error message; the key goes in api_key_env
            raise ConfigError(
                f"{role}.base_url: give scheme, host, port and path only (no user:password@, ?query or "
                "#fragment); the URL is not repeated here because it may hold a secret"
            )
        if not self.model:
            raise ConfigError(f"{role}.model: must name the served model, got {self.model!r}")
        for name in ("temperature", "backoff", "max_backoff"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{role}.{name}: must be >= 0, got {getattr(self, name)!r}")
        if not self.timeout > 0:
            raise ConfigError(f"{role}.timeout: must be > 0 seconds, got {self.timeout!r}")
        for name in ("max_tokens", "max_retries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "max_tokens" else 0):
                raise ConfigError(
                    f"{role}.{name}: must be an integer >= {1 if name == 'max_tokens' else 0}, got {value!r}"
                )
        if not self.length_retry_factor >= 1:
            raise ConfigError(f"{role}.length_retry_factor: must be >= 1, got {self.length_retry_factor!r}")

    def request_settings(self) -> dict[str, Any]:
        """What, besides the messages, decides a reply (for reports, manifests and cache keys)."""
        keys = ("model", "temperature", "max_tokens", "chat_template_kwargs", "structured_output")
        return {k: v for k, v in asdict(self).items() if k in keys}


@dataclass(frozen=True)
class Reply:
    """One chat completion: its text (``<think>`` removed), why it ended, usage and HTTP attempts."""

    text: str
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1


@dataclass(frozen=True, repr=False)
class ChatClient:
    """An endpoint's settings plus its key (read from the environment): what a :class:`ChatSession` needs.

    Immutable and free of live connections, so one instance can be shared between threads and event loops.
    """

    settings: ChatSettings
    api_key: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        self.settings.validate()
        object.__setattr__(self, "settings", replace(self.settings, base_url=self.settings.base_url.rstrip("/")))

    @classmethod
    def from_settings(cls, settings: ChatSettings, *, role: str = "client", key_required: bool = False) -> ChatClient:
        """Validate ``settings`` (errors name ``role``) and read the key from ``settings.api_key_env``.

        A named variable that is unset or empty is an error only with ``key_required`` — a local vLLM
        wants no key, so under a default variable name an unset key is fine.
        """
        settings.validate(role)
        key = (os.environ.get(settings.api_key_env) or None) if settings.api_key_env else None
        if settings.api_key_env and key is None and key_required:
            raise ConfigError(f"{role}.api_key_env: environment variable {settings.api_key_env} is not set")
        return cls(settings, key)

    @classmethod
    def from_env(
        cls, base_url: str, model: str, api_key_env: str | None, *, key_required: bool = True, **settings: Any
    ) -> ChatClient:
        """:meth:`from_settings` for ``ChatSettings(base_url, model, api_key_env, **settings)``; the key
        comes from the environment so it never goes on a command line."""
        return cls.from_settings(
            ChatSettings(base_url=base_url, model=model, api_key_env=api_key_env, **settings), key_required=key_required
        )

    def with_settings(self, **changes: Any) -> ChatClient:
        """The same endpoint and key with some settings changed (a role's temperature, its token budget)."""
        return ChatClient(replace(self.settings, **changes), self.api_key)

    @property
    def model(self) -> str:
        return self.settings.model  # type: ignore[return-value]  # validated

    @property
    def url(self) -> str:
        return f"{self.settings.base_url}/chat/completions"

    def __repr__(self) -> str:  # never show the key
        s = self.settings
        return (
            f"ChatClient(base_url={s.base_url!r}, model={s.model!r}, timeout={s.timeout!r}, "
            f"max_retries={s.max_retries!r}, api_key={'set' if self.api_key else 'none'})"
        )

    def describe(self) -> dict[str, Any]:
        """What identifies the endpoint in reports and cache keys (never the key)."""
        return {"base_url": self.settings.base_url, "model": self.settings.model}

    def scrub(self, text: str) -> str:
        """``text`` with the key cut out (should a server have echoed it back)."""
        return text.replace(self.api_key, "<api key>") if self.api_key else text

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ChatSession]:
        """A :class:`ChatSession` on the running event loop, closed on exit."""
        chat = ChatSession(self)
        try:
            yield chat
        finally:
            await chat.aclose()


async def with_length_retry(
    call: Callable[[int], Awaitable[Reply]], max_tokens: int, factor: float | None, where: str
) -> Reply:
    """``call(max_tokens)``; a reply cut at the budget is asked again once with ``factor`` times the tokens
    and, still cut, raises :class:`TruncatedReply` (``where`` starts its message). ``factor=None``
    accepts a cut reply as it is."""
    reply = await call(max_tokens)
    if reply.finish_reason != "length" or factor is None:
        return reply
    if factor > 1:
        retried = await call(math.ceil(max_tokens * factor))
        reply = replace(retried, attempts=reply.attempts + retried.attempts)
    if reply.finish_reason == "length":
        raise TruncatedReply(f"{where}reply cut at max_tokens even after a retry with more tokens")
    return reply


def strip_think(text: str) -> str:
    """The reply without its reasoning: everything up to the last ``</think>`` goes (Qwen3-style models
    sometimes omit the opening tag), and a reply that opens a ``<think>`` it never closes is all
    reasoning, so nothing is left."""
    if _THINK_END in text:
        text = text.rsplit(_THINK_END, 1)[1]
    elif text.lstrip().startswith("<think>"):
        return ""
    return text.strip()


def parse_completion(raw: bytes) -> tuple[str, str | None, dict[str, Any]]:
    """``(content, finish_reason, usage)`` from a response body; ``ValueError`` saying what is wrong."""
    payload = loads_json(raw)
    if not isinstance(payload, dict):
        raise ValueError(f"body is a JSON {type(payload).__name__}, not an object")
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices:
        raise ValueError("no choices in the body")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise ValueError(f"choices[0].message.content is {type(content).__name__}, not text")
    finish = choice.get("finish_reason")
    usage = payload.get("usage")
    return content, finish if isinstance(finish, str) else None, usage if isinstance(usage, dict) else {}


def _sdk_class() -> type:
    """``AsyncOpenAI`` with the first retry wait and its cap taken from the settings (the SDK fixes them).

    The SDK computes every wait in ``_calculate_retry_timeout``; this subclass keeps its rule — a
    ``Retry-After`` of up to two minutes wins, else exponential backoff minus up to 25 % jitter — and
    changes only the two constants. tests/test_openai_client.py checks both branches on the wire, so an
    SDK that renamed the hook would fail there rather than silently wait its own times.
    """
    import openai
    from openai._constants import MAX_RETRY_AFTER_DELAY

    class _AsyncOpenAI(openai.AsyncOpenAI):
        def __init__(self, *, backoff: float, max_backoff: float, **kwargs: Any):
            super().__init__(**kwargs)
            self._mrrml_backoff, self._mrrml_max_backoff = backoff, max_backoff

        def _calculate_retry_timeout(self, remaining_retries: int, options: Any, response_headers: Any = None) -> float:
            retry_after = self._parse_retry_after_header(response_headers)
            if retry_after is not None and math.isfinite(retry_after) and 0 < retry_after <= MAX_RETRY_AFTER_DELAY:
                return retry_after
            retries_done = min(options.get_max_retries(self.max_retries) - remaining_retries, 1000)
            wait = min(self._mrrml_backoff * 2.0**retries_done, self._mrrml_max_backoff)
            return wait * (1 - 0.25 * random.random())

    return _AsyncOpenAI


class ChatSession:
    """The live SDK client of one :class:`ChatClient` on one event loop (use :meth:`ChatClient.session`)."""

    def __init__(self, client: ChatClient):
        import openai

        self.client = client
        s = client.settings
        key = client.api_key
        omit = openai.omit
        self._omit_auth = {"Authorization": omit} if not key else None  # no key: no Authorization header at all
        # The SDK's own HTTP client class (its pool limits), minus two of its defaults:
        self._http = openai.DefaultAsyncHttpxClient(
            follow_redirects=False,  # the key must not travel to whatever host a redirect names
            trust_env=False,  # no proxy or certificate settings from the environment
            timeout=s.timeout,
        )
        self._sdk = _sdk_class()(
            api_key=key or _NO_KEY,
            base_url=s.base_url,
            timeout=s.timeout,
            max_retries=s.max_retries,
            http_client=self._http,
            backoff=s.backoff,
            max_backoff=s.max_backoff,
            # Explicit headers win over the SDK's ambient OPENAI_CUSTOM_HEADERS / OPENAI_ORG_ID / OPENAI_PROJECT_ID.
            default_headers={
                "Authorization": f"Bearer {key}" if key else omit,
                "OpenAI-Organization": omit,
                "OpenAI-Project": omit,
            },
        )
        self.schema_refused = False  # set once the server refuses response_format; not sent again
        self.requests = 0  # HTTP requests sent (SDK retries included)

    async def aclose(self) -> None:
        await self._sdk.close()
        await self._http.aclose()

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
        on_length: Literal["retry", "accept"] = "retry",
    ) -> Reply:
        """One chat completion with this client's settings.

        ``schema``: a JSON schema the reply must follow (sent as ``response_format`` unless the server
        refused it; the caller parses either way). ``on_length="retry"`` asks a cut reply again once with
        ``length_retry_factor`` times the tokens and then raises :class:`TruncatedReply`; ``"accept"``
        returns the cut reply as it is (a policy under evaluation keeps its own budget).
        Raises :class:`ChatError` once the retries are spent; ``error.transient`` says whether
        retrying later can help (an outage) or not (a refused request: bad key, unknown model).
        """
        s = self.client.settings
        return await with_length_retry(
            lambda max_tokens: self._complete(messages, schema, seed, max_tokens),
            s.max_tokens,
            s.length_retry_factor if on_length == "retry" else None,
            self._located(""),
        )

    async def _complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any] | None, seed: int | None, max_tokens: int
    ) -> Reply:
        import openai

        s = self.client.settings
        request: dict[str, Any] = {
            "model": s.model,
            "messages": messages,
            "temperature": s.temperature,
            "max_tokens": max_tokens,
        }
        if seed is not None:
            request["seed"] = seed
        if s.chat_template_kwargs:
            request["extra_body"] = {"chat_template_kwargs": s.chat_template_kwargs}
        if self._omit_auth:
            request["extra_headers"] = self._omit_auth
        attempts, last = 0, "no attempt"
        for _ in range(s.max_retries + 1):  # the SDK retries transport failures; this loop, bad bodies
            guided = schema is not None and s.structured_output and not self.schema_refused
            if guided:
                request["response_format"] = {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
            else:
                request.pop("response_format", None)
            try:
                raw = await self._sdk.chat.completions.with_raw_response.create(**request)
            except openai.APIError as error:
                attempts += 1
                failure = self._failure(error)
                if guided and failure.status in (400, 422):
                    self.schema_refused = True  # the server cannot do guided decoding: parse instead
                    log.warning("%s refused response_format (%s); asking without it", self.client.url, failure)
                    continue
                raise failure from None
            attempts += raw.retries_taken + 1
            self.requests += raw.retries_taken + 1
            try:
                content, finish, usage = parse_completion(raw.http_response.content)
            except ValueError as error:  # JsonTextError is a ValueError
                last = f"malformed response: {error}"
                continue
            return Reply(strip_think(content), finish, usage, attempts)
        raise ChatError(self._located(f"failed after {attempts} attempts; last error: {last}"), transient=True)

    def _failure(self, error: Exception) -> ChatError:
        import openai

        self.requests += 1
        s = self.client.settings
        spent = f"failed after {s.max_retries + 1} attempts; last error: "  # what the SDK retried
        if isinstance(error, openai.APIStatusError):
            body = error.response.content
            if self.client.api_key:  # cut an echoed key out before truncating, so no part of it can show
                body = body.replace(self.client.api_key.encode("utf-8"), b"<api key>")
            detail = body[:_DETAIL_BYTES].decode("utf-8", "replace")
            status = error.status_code
            # 408/409/429/5xx were retried by the SDK: still failing is an outage. Any other status
            # (bad key, unknown model, a redirect, a refused request) is not fixed by waiting.
            transient = status in (408, 409, 429) or status >= 500
            message = f"{spent if transient else ''}HTTP {status}: {detail}"
            return ChatError(self._located(message), transient=transient, status=status)
        if isinstance(error, openai.APITimeoutError):
            return ChatError(self._located(f"{spent}timeout ({s.timeout:g} s)"), transient=True)
        cause = error.__cause__ or error
        return ChatError(self._located(f"{spent}{type(cause).__name__}: {cause}"), transient=True)

    def _located(self, message: str) -> str:
        """``POST url (model m): message``, with the key cut out should a server have echoed it back."""
        return self.client.scrub(f"POST {self.client.url} (model {self.client.model}): {message}")


async def gather_bounded(
    calls: list[Callable[[], Awaitable[Any]]], window: int, on_done: Callable[[int, Any], Any] | None = None
) -> list[Any]:
    """Run ``calls`` with at most ``window`` in flight; results (or the exceptions raised) in call order.

    ``on_done(index, result)`` runs as each finishes (write an answer the moment it arrives). One
    failed call (a :class:`MrrmlError`: an outage, a truncated or unreadable reply) costs only its own
    result; any other exception is a bug and propagates.
    """
    import asyncio

    slots = asyncio.Semaphore(max(1, window))
    results: list[Any] = [None] * len(calls)

    async def one(index: int) -> None:
        async with slots:
            try:
                results[index] = await calls[index]()
            except MrrmlError as error:  # a documented failure of this call: returned for the caller to count
                results[index] = error
        if on_done is not None:
            outcome = on_done(index, results[index])
            if asyncio.iscoroutine(outcome):
                await outcome

    await asyncio.gather(*(one(i) for i in range(len(calls))))
    return results
