"""The shared OpenAI-compatible client (:mod:`mrrml.openai_client`, the openai SDK's async client) against
real HTTP servers on 127.0.0.1.

The stand-in server (``tests/standin_chat.py``) plays the part of whatever sits behind a ``--base-url``: a
vLLM or SGLang server, or a hosted API such as OpenAI. Each test gives it a behaviour — answer, fail with an
HTTP status, hang past the client's timeout, drop the connection, send a body that is not a chat completion,
think first, overrun max_tokens, refuse guided decoding — and counts the requests that really arrived, so
retry counts are measured on the wire, not inferred. Each test names the real behaviour it stands for.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import time

import pytest

from mrrml.errors import BackendError, ConfigError
from mrrml.openai_client import ChatClient, ChatError, ChatSettings, TruncatedReply, gather_bounded, strip_think
from tests.standin_chat import DROP, THINK, Behaviour, ChatStandIn, completion, error_body, rate_limited

SECRET = "sk-test-never-show-me"
HI = [{"role": "user", "content": "hi"}]
RETRYABLE_STATUS = (408, 409, 429, 500, 502, 503, 504)  # what the SDK retries


def answer(text: str = "fine") -> Behaviour:
    return lambda n, body, headers: (200, completion(text))


def fast(server: ChatStandIn, **kw) -> ChatClient:
    """A client with test-sized waits (the defaults are for real servers: 120 s timeout, 0.5 s first backoff)."""
    return ChatClient.from_env(server.base_url, "m", None, **{"timeout": 5.0, "max_retries": 2, "backoff": 0.01, **kw})


def ask(client: ChatClient, messages=HI, **kw):
    async def go():
        async with client.session() as chat:
            return await chat.complete(messages, **kw)

    return asyncio.run(go())


def test_answer_usage_and_request_shape():
    usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    with ChatStandIn(lambda n, body, headers: (200, completion("hello", usage))) as server:
        reply = ask(fast(server, temperature=0.3, max_tokens=7), seed=11)
    assert (reply.text, reply.usage, reply.attempts, reply.finish_reason) == ("hello", usage, 1, "stop")
    assert server.paths == ["/v1/chat/completions"]
    assert server.bodies == [
        {
            "model": "m",
            "messages": HI,
            "temperature": 0.3,
            "max_tokens": 7,
            "seed": 11,
            "chat_template_kwargs": {"enable_thinking": False},  # the Qwen3-on-vLLM default
        }
    ]
    assert "Authorization" not in server.headers[0] and "authorization" not in server.headers[0]


def test_retries_server_errors_then_succeeds():
    """Stands for an overloaded server: two 503s, then an answer."""
    with ChatStandIn(
        lambda n, body, headers: (503, error_body("busy")) if n <= 2 else (200, completion("fine"))
    ) as server:
        reply = ask(fast(server, max_retries=3))
    assert reply.text == "fine" and reply.attempts == 3 and server.requests == 3


@pytest.mark.parametrize("status", RETRYABLE_STATUS)
def test_retryable_statuses_are_retried_then_reported_as_an_outage(status):
    with ChatStandIn(lambda n, body, headers: (status, error_body("try later"))) as server:
        with pytest.raises(ChatError, match=f"HTTP {status}: .*try later") as caught:
            ask(fast(server, max_retries=2))
    assert caught.value.transient and caught.value.status == status
    assert server.requests == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_fail_at_once_naming_url_and_model(status):
    """Stands for a request retrying cannot fix: unknown model, bad key, malformed request."""
    with ChatStandIn(lambda n, body, headers: (status, error_body("no such model"))) as server:
        with pytest.raises(ChatError) as caught:
            ask(ChatClient.from_env(server.base_url, "judge-model", None, max_retries=5, backoff=0.01))
    message = str(caught.value)
    assert f"HTTP {status}" in message and "no such model" in message
    assert f"POST {server.base_url}/chat/completions (model judge-model)" in message
    assert not caught.value.transient and isinstance(caught.value, BackendError)
    assert server.requests == 1


def test_timeouts_are_retried_with_a_bound():
    """Stands for a server too loaded to answer within the client's timeout."""
    with ChatStandIn(answer(), delay=1.0) as server:
        start = time.perf_counter()
        with pytest.raises(ChatError, match="timeout") as caught:
            ask(fast(server, timeout=0.2, max_retries=2))
        assert time.perf_counter() - start < 3.0
        assert server.requests == 3 and caught.value.transient


def test_dropped_connection_is_retried():
    """Stands for a server that crashes mid-request once, then is back."""
    with ChatStandIn(lambda n, body, headers: DROP if n == 1 else (200, completion("back"))) as server:
        reply = ask(fast(server))
    assert reply.text == "back" and reply.attempts == 2 and server.requests == 2


def test_refused_connection_is_retried_then_reported():
    """Nothing listens on the port (the server is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ChatClient.from_env(f"http://127.0.0.1:{port}/v1", "m", None, max_retries=1, backoff=0.01)
    with pytest.raises(ChatError, match=f"POST http://127.0.0.1:{port}/v1/chat/completions \\(model m\\): ") as caught:
        ask(client)
    assert caught.value.transient and caught.value.status is None


def test_garbage_body_is_retried_then_reported():
    """Stands for a proxy answering 200 with an HTML page once, and then for one that always does."""
    with ChatStandIn(
        lambda n, body, headers: (200, b"<html>gateway</html>") if n == 1 else (200, completion("ok"))
    ) as server:
        reply = ask(fast(server))
    assert reply.text == "ok" and reply.attempts == 2
    with ChatStandIn(lambda n, body, headers: (200, b"<html>gateway</html>")) as server:
        with pytest.raises(ChatError, match="failed after 3 attempts; last error: malformed response: "):
            ask(fast(server))
    assert server.requests == 3


HOSTILE_BODIES = {
    "deep": b"[" * 3000 + b"]" * 3000,
    "huge-int": b'{"choices": ' + b"7" * 5000 + b"}",
    "not-utf8": b"\xff\xfe{}",
    "html": b"<html>502 Bad Gateway</html>",
    "not-an-object": b"[1, 2]",
    "no-choices": b'{"choices": []}',
    "choice-not-object": b'{"choices": ["hi"]}',
    "content-null": completion(None),
    "content-number": completion(42),
    "content-object": completion({"text": "hi"}),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_BODIES))
def test_hostile_answers_become_backend_errors(case):
    """Whatever a remote sampler, grader or generator sends back, only ``ChatError`` comes out:
    never a RecursionError, UnicodeDecodeError, KeyError or a non-text reply."""
    with ChatStandIn(lambda n, body, headers: (200, HOSTILE_BODIES[case])) as server:
        with pytest.raises(ChatError, match="failed after 1 attempts; last error: malformed response"):
            ask(ChatClient.from_env(server.base_url, "m", None, timeout=10, max_retries=0))


def test_usage_that_is_not_an_object_is_dropped():
    with ChatStandIn(lambda n, body, headers: (200, completion("x", usage=5))) as server:  # type: ignore[arg-type]
        assert ask(fast(server)).usage == {}


def test_backoff_is_configurable_jittered_and_capped():
    """Stands for 503s with no Retry-After: the waits start at ``backoff``, double, lose up to 25 % to
    jitter and never exceed ``max_backoff`` (uncapped, a first wait of 10 s would make this take 70 s)."""
    arrivals: list[float] = []

    def busy(n, body, headers):
        arrivals.append(time.perf_counter())
        return 503, error_body("busy")

    with ChatStandIn(busy) as server:
        with pytest.raises(ChatError, match="HTTP 503"):
            ask(fast(server, backoff=10.0, max_backoff=0.2, max_retries=3))
    waits = [b - a for a, b in itertools.pairwise(arrivals)]
    # Lower bounds are exact (a wait is never cut short); the upper ones leave a loaded machine a
    # second of slack, still far below the uncapped 10 s / 20 s / 40 s.
    assert len(waits) == 3 and all(0.15 - 0.02 <= w < 0.2 + 1.0 for w in waits), waits
    with ChatStandIn(busy) as server:
        arrivals.clear()
        with pytest.raises(ChatError):
            ask(fast(server, backoff=0.1, max_backoff=5.0, max_retries=2))
    first, second = (b - a for a, b in itertools.pairwise(arrivals))
    assert 0.075 - 0.02 <= first < 0.1 + 1.0 and 0.15 - 0.02 <= second < 0.2 + 1.0  # doubled: second > 0.13


def test_retry_after_is_honoured():
    """Stands for a hosted API over its rate limit: 429 with ``Retry-After`` — the client waits what the
    server asks (here 0.3 s), not its own 10 ms backoff."""
    with ChatStandIn(rate_limited(answer("ok"), every=1, retry_after="0.3")) as server:
        arrivals: list[float] = []
        server.on_request = lambda n: arrivals.append(time.perf_counter())
        with pytest.raises(ChatError, match="HTTP 429: .*rate limit") as caught:
            ask(fast(server, max_retries=1))
    assert caught.value.transient and server.requests == 2
    assert arrivals[1] - arrivals[0] >= 0.29
    with ChatStandIn(rate_limited(answer("ok"), every=2)) as server:  # every 2nd request refused, once
        assert ask(fast(server)).text == "ok"
        assert ask(fast(server)).attempts == 2


def test_key_comes_from_the_environment_and_only_travels_in_the_header(monkeypatch, caplog):
    with pytest.raises(ConfigError, match="NO_SUCH_KEY_VAR"):
        ChatClient.from_env("http://127.0.0.1:1/v1", "m", "NO_SUCH_KEY_VAR")
    monkeypatch.setenv("MRRML_EMPTY_KEY", "")
    with pytest.raises(ConfigError, match="MRRML_EMPTY_KEY"):
        ChatClient.from_env("http://127.0.0.1:1/v1", "m", "MRRML_EMPTY_KEY")
    assert ChatClient.from_env("http://127.0.0.1:1/v1", "m", "NO_SUCH_KEY_VAR", key_required=False).api_key is None
    assert ChatClient.from_env("http://127.0.0.1:1/v1", "m", None).api_key is None

    monkeypatch.setenv("MRRML_TEST_KEY", SECRET)

    def echo_auth(n, body, headers):
        """Stands for a careless server that echoes the request's Authorization header in its errors."""
        auth = headers.get("Authorization") or headers.get("authorization")
        return 401 if n == 1 else 503, error_body(f"bad credentials {auth}")

    caplog.set_level(logging.DEBUG)  # the SDK's and the HTTP library's own logs too
    with ChatStandIn(echo_auth) as server:
        client = ChatClient.from_env(server.base_url, "m", "MRRML_TEST_KEY", max_retries=1, backoff=0.01)
        errors = []
        for _ in range(2):  # first a 401 (fails at once), then 503s (retried, then reported)
            with pytest.raises(ChatError) as caught:
                ask(client)
            errors.append(str(caught.value))
    assert {h.get("Authorization") or h.get("authorization") for h in server.headers} == {f"Bearer {SECRET}"}
    assert SECRET not in json.dumps(server.bodies)
    assert "HTTP 401" in errors[0] and "HTTP 503" in errors[1]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "chat/completions" in logged or "Retrying" in logged  # the logs really were captured
    for text in [*errors, repr(client), str(client), json.dumps(client.describe()), logged]:
        assert SECRET not in text
    assert all("bad credentials Bearer <api key>" in e for e in errors)


def test_echoed_key_is_cut_out_before_the_detail_is_truncated():
    """The key straddles the point where the error detail is cut: no fragment of it may show."""

    def echo(n, body, headers):
        return 400, b"x" * 290 + (headers.get("Authorization") or headers["authorization"]).encode() + b" tail"

    with ChatStandIn(echo) as server:
        client = ChatClient(ChatSettings(base_url=server.base_url, model="m", max_retries=0), SECRET)
        with pytest.raises(ChatError, match="HTTP 400: x{290}Bearer <ap") as caught:
            ask(client)
    assert SECRET[:6] not in str(caught.value)


def test_no_key_means_no_authorization_header_even_with_ambient_openai_variables(monkeypatch):
    """A local vLLM wants no key. The SDK would otherwise pick up OPENAI_API_KEY, OPENAI_CUSTOM_HEADERS
    (an Authorization header among them), OPENAI_ORG_ID and OPENAI_PROJECT_ID from the environment and
    send them to whatever host --base-url names."""
    monkeypatch.delenv("MRRML_UNSET_KEY_VAR", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-ambient-openai-key")
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "Authorization: Bearer sk-ambient-header")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-ambient")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-ambient")
    with ChatStandIn(answer()) as server:
        ask(ChatClient.from_env(server.base_url, "m", "MRRML_UNSET_KEY_VAR", key_required=False))
        monkeypatch.setenv("MRRML_TEST_KEY", SECRET)
        ask(ChatClient.from_env(server.base_url, "m", "MRRML_TEST_KEY"))
    sent = [{k.lower(): v for k, v in h.items()} for h in server.headers]
    assert "authorization" not in sent[0] and sent[1]["authorization"] == f"Bearer {SECRET}"
    assert "ambient" not in json.dumps(server.headers)


def test_redirects_are_not_followed():
    """Stands for a compromised or misconfigured endpoint answering 307 to another host: the request (and
    its key) must not travel there."""
    with ChatStandIn(answer("elsewhere")) as other:
        moved = lambda n, body, headers: (307, b"", {"Location": other.base_url + "/chat/completions"})  # noqa: E731
        with ChatStandIn(moved) as server:
            client = ChatClient(ChatSettings(base_url=server.base_url, model="m", max_retries=0), SECRET)
            with pytest.raises(ChatError, match="HTTP 307") as caught:
                ask(client)
        assert other.requests == 0 and not caught.value.transient


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"base_url": "localhost:8000"}, "base_url: expected http"),
        ({"base_url": "ftp://127.0.0.1/v1"}, "base_url: expected http"),
        ({"base_url": "http:///v1"}, "base_url: expected http"),
        ({"base_url": "http://127.0.0.1:notaport/v1"}, "base_url: cannot parse"),
        ({"base_url": "http://user:hunter2@127.0.0.1/v1"}, "base_url: give scheme, host, port and path only"),
        ({"base_url": "http://127.0.0.1/v1?key=hunter2"}, "base_url: give scheme, host, port and path only"),
        ({"base_url": None}, "judge.base_url"),
        ({"model": ""}, "judge.model"),
        ({"timeout": 0}, "judge.timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"backoff": -1.0}, "backoff"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"length_retry_factor": 0.5}, "length_retry_factor"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_role(kwargs, match):
    settings = ChatSettings(**{"base_url": "http://127.0.0.1:8000/v1", "model": "m", **kwargs})
    with pytest.raises(ConfigError, match=match) as caught:
        ChatClient.from_settings(settings, role="judge")
    assert "hunter2" not in str(caught.value)


def test_one_session_serves_concurrent_calls():
    """Stands for a server answering concurrent requests: every call must get its own answer."""

    def echo(n, body, headers):
        return 200, completion("echo: " + body["messages"][-1]["content"])

    async def many(client):
        async with client.session() as chat:
            calls = [lambda i=i: chat.complete([{"role": "user", "content": f"c{i}"}]) for i in range(24)]
            return await gather_bounded(calls, window=8)

    with ChatStandIn(echo, delay=0.02) as server:
        replies = asyncio.run(many(fast(server)))
    assert [r.text for r in replies] == [f"echo: c{i}" for i in range(24)]
    assert server.requests == 24 and 1 < server.max_in_flight <= 8


@pytest.mark.parametrize(
    "raw, clean",
    [
        (THINK + '{"a": 1}', '{"a": 1}'),
        ("<think>x</think>answer", "answer"),
        ("reasoning without an opening tag</think>\n\nanswer", "answer"),  # Qwen3 thinking-only checkpoints
        ("<think>never closed, cut by the budget", ""),
        ("plain answer ", "plain answer"),
    ],
)
def test_strip_think(raw, clean):
    assert strip_think(raw) == clean


def test_thinking_model_replies_lose_their_reasoning():
    """Stands for Qwen3 on vLLM: it thinks first unless ``chat_template_kwargs`` say ``enable_thinking:
    false``. The default sends that; with the kwargs switched off the server thinks and the client
    removes the block."""
    with ChatStandIn(lambda n, body, headers: '{"ok": true}', thinking=True) as server:
        assert ask(fast(server)).text == '{"ok": true}'
        thinking = ask(fast(server, chat_template_kwargs=None))
    assert thinking.text == '{"ok": true}'
    assert "chat_template_kwargs" not in server.bodies[1]  # nothing sent: a hosted API would reject it


def test_length_cut_is_retried_once_with_more_tokens_then_truncated():
    """Stands for vLLM ending a reply at ``max_tokens`` with ``finish_reason: "length"``."""
    thirty = " ".join(["word"] * 30)
    with ChatStandIn(lambda n, body, headers: thirty) as server:
        reply = ask(fast(server, max_tokens=20))
        assert reply.text == thirty and reply.attempts == 2
        assert [b["max_tokens"] for b in server.bodies] == [20, 40]
        with pytest.raises(TruncatedReply, match="cut at max_tokens"):
            ask(fast(server, max_tokens=10))  # 10, then 20: still cut
        cut = ask(fast(server, max_tokens=10), on_length="accept")  # a policy under test keeps its budget
        assert cut.finish_reason == "length" and cut.text == " ".join(["word"] * 10)
        with pytest.raises(TruncatedReply):
            ask(fast(server, max_tokens=20, length_retry_factor=1))  # 1 = never retried
    assert [b["max_tokens"] for b in server.bodies] == [20, 40, 10, 20, 10, 20]


SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def test_guided_decoding_sends_the_schema():
    """Stands for vLLM's guided decoding: the JSON schema travels as ``response_format``."""
    with ChatStandIn(lambda n, body, headers: '{"ok": true}') as server:
        assert ask(fast(server), schema=SCHEMA).text == '{"ok": true}'
        assert ask(fast(server, structured_output=False), schema=SCHEMA).text == '{"ok": true}'
    assert server.bodies[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "reply", "schema": SCHEMA},
    }
    assert "response_format" not in server.bodies[1]


def test_a_server_without_guided_decoding_is_asked_without_the_schema():
    """Stands for a server that answers ``response_format`` with 400: the session asks again without it,
    and does not send it again (the caller's parser checks the reply instead)."""

    async def two(client):
        async with client.session() as chat:
            first = await chat.complete(HI, schema=SCHEMA)
            second = await chat.complete(HI, schema=SCHEMA)
            return first, second, chat.schema_refused

    with ChatStandIn(lambda n, body, headers: '{"ok": true}', guided="reject") as server:
        first, second, refused = asyncio.run(two(fast(server)))
    assert first.text == second.text == '{"ok": true}' and refused
    assert ["response_format" in b for b in server.bodies] == [True, False, False]
