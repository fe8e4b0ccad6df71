"""The shared OpenAI-compatible client (:mod:`mrrml.openai_client`) against real HTTP servers on 127.0.0.1.

The stand-in server (``tests/standin_chat.py``) plays the part of whatever sits behind a ``--base-url``: a
vLLM or SGLang server, or a hosted API such as OpenAI. Each test gives it a behaviour — answer, fail with an
HTTP status, hang past the client's timeout, drop the connection, send a body that is not a chat completion —
and counts the requests that really arrived, so retry counts are measured on the wire, not inferred.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from mrrml.errors import BackendError, ConfigError
from mrrml.openai_client import RETRYABLE_STATUS, ChatClient
from tests.standin_chat import DROP, Behaviour, ChatStandIn, completion, error_body

SECRET = "sk-test-never-show-me"
HI = [{"role": "user", "content": "hi"}]


def answer(text: str = "fine") -> Behaviour:
    return lambda n, body, headers: (200, completion(text))


def fast(server: ChatStandIn, **kw) -> ChatClient:
    """A client with test-sized waits (the defaults are for real servers: 120 s timeout, 1 s first backoff)."""
    return ChatClient(server.base_url, "m", **{"timeout": 5.0, "max_retries": 2, "backoff": 0.01, **kw})


def test_answer_usage_and_request_shape():
    usage = {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    with ChatStandIn(lambda n, body, headers: (200, completion("hello", usage))) as server:
        reply = fast(server).complete(HI, temperature=0.3, max_tokens=7)
    assert (reply.text, reply.usage, reply.attempts) == ("hello", usage, 1)
    assert server.paths == ["/v1/chat/completions"]
    assert server.bodies == [{"model": "m", "messages": HI, "temperature": 0.3, "max_tokens": 7}]
    assert "Authorization" not in server.headers[0]  # no key configured, none sent


def test_retries_server_errors_then_succeeds():
    """Stands for an overloaded server: two 503s, then an answer."""
    with ChatStandIn(
        lambda n, body, headers: (503, error_body("busy")) if n <= 2 else (200, completion("fine"))
    ) as server:
        reply = fast(server, max_retries=3).complete(HI)
    assert reply.text == "fine" and reply.attempts == 3 and server.requests == 3


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUS))
def test_retryable_statuses_are_retried_then_reported(status):
    assert {408, 409, 425, 429, 500, 502, 503, 504} == RETRYABLE_STATUS
    with ChatStandIn(lambda n, body, headers: (status, error_body("try later"))) as server:
        with pytest.raises(BackendError, match=f"failed after 3 attempts; last error: HTTP {status}: .*try later"):
            fast(server, max_retries=2).complete(HI)
    assert server.requests == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_fail_at_once_naming_url_and_model(status):
    """Stands for a request retrying cannot fix: unknown model, bad key, malformed request."""
    with ChatStandIn(lambda n, body, headers: (status, error_body("no such model"))) as server:
        client = ChatClient(server.base_url, "judge-model", max_retries=5, backoff=0.01)
        with pytest.raises(BackendError) as caught:
            client.complete(HI)
    message = str(caught.value)
    assert f"HTTP {status}" in message and "no such model" in message
    assert f"POST {server.base_url}/chat/completions (model judge-model)" in message
    assert server.requests == 1


def test_timeouts_are_retried_with_a_bound():
    """Stands for a server too loaded to answer within the client's timeout."""
    with ChatStandIn(answer(), delay=1.0) as server:
        start = time.perf_counter()
        with pytest.raises(BackendError, match="failed after 3 attempts; last error: (TimeoutError|timeout)"):
            fast(server, timeout=0.2, max_retries=2).complete(HI)
        assert time.perf_counter() - start < 3.0
        assert server.requests == 3


def test_dropped_connection_is_retried():
    """Stands for a server that crashes mid-request once, then is back."""
    with ChatStandIn(lambda n, body, headers: DROP if n == 1 else (200, completion("back"))) as server:
        reply = fast(server).complete(HI)
    assert reply.text == "back" and reply.attempts == 2 and server.requests == 2


def test_refused_connection_is_retried_then_reported():
    """Nothing listens on the port (the server is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ChatClient(f"http://127.0.0.1:{port}/v1", "m", max_retries=1, backoff=0.01)
    with pytest.raises(
        BackendError,
        match=f"POST http://127.0.0.1:{port}/v1/chat/completions \\(model m\\): "
        "failed after 2 attempts; last error: ConnectionRefusedError",
    ):
        client.complete(HI)


def test_garbage_body_is_retried_then_reported():
    """Stands for a proxy answering 200 with an HTML page once, and then for one that always does."""
    with ChatStandIn(
        lambda n, body, headers: (200, b"<html>gateway</html>") if n == 1 else (200, completion("ok"))
    ) as server:
        reply = fast(server).complete(HI)
    assert reply.text == "ok" and reply.attempts == 2
    with ChatStandIn(lambda n, body, headers: (200, b"<html>gateway</html>")) as server:
        with pytest.raises(BackendError, match="failed after 3 attempts; last error: malformed response: "):
            fast(server).complete(HI)
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
    """Whatever a remote sampler, grader or generator sends back, only ``BackendError`` comes out:
    never a RecursionError, UnicodeDecodeError, KeyError or a non-text reply."""
    with ChatStandIn(lambda n, body, headers: (200, HOSTILE_BODIES[case])) as server:
        with pytest.raises(BackendError, match="failed after 1 attempts; last error: malformed response"):
            ChatClient(server.base_url, "m", timeout=10, max_retries=0).complete(HI)


def test_usage_that_is_not_an_object_is_dropped():
    with ChatStandIn(lambda n, body, headers: (200, completion("x", usage=5))) as server:  # type: ignore[arg-type]
        assert fast(server).complete(HI).usage == {}


def test_backoff_doubles_and_is_capped():
    client = ChatClient("http://127.0.0.1:1/v1", "m", backoff=1.0, max_backoff=5.0)
    assert [client.retry_delay(r) for r in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    with ChatStandIn(lambda n, body, headers: (429, error_body("slow down"))) as server:
        start = time.perf_counter()
        with pytest.raises(BackendError, match="HTTP 429"):
            fast(server, backoff=10.0, max_backoff=0.05, max_retries=3).complete(HI)
        assert time.perf_counter() - start < 2.0  # uncapped, the waits would be 10 + 20 + 40 s
    assert server.requests == 4


def test_key_comes_from_the_environment_and_only_travels_in_the_header(monkeypatch):
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
        return 401 if n == 1 else 503, error_body(f"bad credentials {headers.get('Authorization')}")

    with ChatStandIn(echo_auth) as server:
        client = ChatClient.from_env(server.base_url, "m", "MRRML_TEST_KEY", max_retries=1, backoff=0.01)
        errors = []
        for _ in range(2):  # first a 401 (fails at once), then 503s (retried, then reported)
            with pytest.raises(BackendError) as caught:
                client.complete(HI)
            errors.append(str(caught.value))
    assert {h["Authorization"] for h in server.headers} == {f"Bearer {SECRET}"}
    assert SECRET not in json.dumps(server.bodies)
    assert "HTTP 401" in errors[0] and "HTTP 503" in errors[1]
    for text in [*errors, repr(client), str(client), json.dumps(client.describe())]:
        assert SECRET not in text
    assert all("bad credentials Bearer <api key>" in e for e in errors)


def test_echoed_key_is_cut_out_before_the_detail_is_truncated():
    """The key straddles the point where the error detail is cut: no fragment of it may show."""
    with ChatStandIn(
        lambda n, body, headers: (400, b"x" * 290 + headers["Authorization"].encode() + b" tail")
    ) as server:
        client = ChatClient(server.base_url, "m", SECRET, max_retries=0)
        with pytest.raises(BackendError, match="HTTP 400: x{290}Bearer") as caught:
            client.complete(HI)
    assert SECRET[:6] not in str(caught.value)


def test_key_absent_from_local_server_requests(monkeypatch):
    """A local vLLM wants no key: with the variable unset and ``key_required=False`` no header is sent."""
    monkeypatch.delenv("MRRML_UNSET_KEY_VAR", raising=False)
    with ChatStandIn(answer()) as server:
        ChatClient.from_env(server.base_url, "m", "MRRML_UNSET_KEY_VAR", key_required=False).complete(HI)
    assert "Authorization" not in server.headers[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"base_url": "localhost:8000"}, "base_url: expected http"),
        ({"base_url": "ftp://127.0.0.1/v1"}, "base_url: expected http"),
        ({"base_url": "http:///v1"}, "base_url: expected http"),
        ({"base_url": "http://127.0.0.1:notaport/v1"}, "base_url: cannot parse"),
        ({"base_url": "http://user:hunter2@127.0.0.1/v1"}, "base_url: give scheme, host, port and path only"),
        ({"base_url": "http://127.0.0.1/v1?key=hunter2"}, "base_url: give scheme, host, port and path only"),
        ({"model": ""}, "model"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"backoff": -1.0}, "backoff"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_bad_settings_are_config_errors(kwargs, match):
    settings = {"base_url": "http://127.0.0.1:8000/v1", "model": "m", **kwargs}
    with pytest.raises(ConfigError, match=match) as caught:
        ChatClient(**settings)
    assert "hunter2" not in str(caught.value)


def test_request_parameters_cannot_override_model_or_messages():
    with pytest.raises(ConfigError, match="model"):
        ChatClient("http://127.0.0.1:1/v1", "m").complete(HI, model="other")


def test_one_client_shared_between_threads():
    """Stands for a server answering concurrent requests: every thread must get its own answer."""

    def echo(n, body, headers):
        return 200, completion("echo: " + body["messages"][-1]["content"])

    with ChatStandIn(echo, delay=0.02) as server:
        client = fast(server)
        results: dict[str, str] = {}

        def work(worker: int) -> None:
            for call in range(4):
                asked = f"w{worker}-c{call}"
                results[asked] = client.complete([{"role": "user", "content": asked}]).text

        threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 24 and all(text == f"echo: {asked}" for asked, text in results.items())
    assert server.requests == 24 and server.max_in_flight > 1
