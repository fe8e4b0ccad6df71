"""The reward server over real HTTP on 127.0.0.1 (ephemeral ports) with a real tiny reward model."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import threading
import time
import urllib.request

import pytest
import torch

from mrrml.serve.server import RewardServer, _Protocol
from mrrml.serve.service import ServeSettings

from .serve_helpers import CountingScorer, http

PROMPTS = [
    "I have had a headache for three days. What should I do?",
    [
        {"role": "system", "content": "You are a careful clinician."},
        {"role": "user", "content": "Can I take ibuprofen with lisinopril?"},
    ],
    "My child has a fever of 39.5 C. When should I go to the emergency department?",
]
ANSWERS = [
    "Rest, drink water, and see a doctor if it gets worse or you have a stiff neck.",
    "NSAIDs can reduce the effect of ACE inhibitors and strain the kidneys; ask your pharmacist.",
    "Go now if the child is listless, has trouble breathing, or a rash that does not fade.",
]


@pytest.fixture
def serve(reward_model):
    """Start servers on ephemeral loopback ports; every one is stopped at the end of the test."""
    started: list[RewardServer] = []

    def start(**settings) -> RewardServer:
        server = RewardServer(reward_model, ServeSettings(port=0, **settings)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _chatml_query(tokenizer, prompt, answer: str, pads: int = 2) -> str:
    messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return tokenizer.pad_token * pads + text + answer + "<|im_end|>" + tokenizer.pad_token


def test_score_matches_the_python_api(serve, reward_model):
    server = serve()
    status, body = http(
        "POST", f"{server.url}/score", {"prompts": PROMPTS, "responses": ANSWERS, "scenario": "emergency_referrals"}
    )
    assert status == 200, body
    expected = reward_model.score(PROMPTS, ANSWERS, scenario="emergency_referrals")
    dims = reward_model.dimensions
    assert body["dimensions"] == dims
    assert body["scenario"] == "emergency_referrals" and body["discipline"] is None
    raw = torch.tensor([[r["raw"][d] for d in dims] for r in body["results"]])
    normalized = torch.tensor([[r["normalized"][d] for d in dims] for r in body["results"]])
    reward = torch.tensor([r["reward"] for r in body["results"]])
    torch.testing.assert_close(raw, expected.raw, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(normalized, expected.normalized, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(reward, expected.reward, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(raw, normalized)  # the fixture's statistics make them differ


def test_get_reward_splits_openrlhf_queries(serve, reward_model):
    server = serve(scenario="hedging")
    tokenizer = reward_model.tokenizer
    queries = [_chatml_query(tokenizer, p, a) for p, a in zip(PROMPTS, ANSWERS)]
    expected = reward_model.score(PROMPTS, ANSWERS, scenario="hedging").reward
    status, body = http("POST", f"{server.url}/get_reward", {"query": queries, "labels": ["x"] * 3})
    assert status == 200, body
    torch.testing.assert_close(torch.tensor(body["rewards"]), expected, rtol=1e-5, atol=1e-5)
    assert sorted(body["normalized"]) == sorted(reward_model.dimensions)
    # With OpenRLHF's "prompts" field the split uses the prompt text instead of the marker.
    prompt_texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}] if isinstance(p, str) else p, tokenize=False, add_generation_prompt=True
        )
        for p in PROMPTS
    ]
    status, body = http("POST", f"{server.url}/get_reward", {"query": queries, "prompts": prompt_texts})
    assert status == 200, body
    torch.testing.assert_close(torch.tensor(body["rewards"]), expected, rtol=1e-5, atol=1e-5)
    # A request-level scenario overrides the server default.
    status, body = http("POST", f"{server.url}/get_reward", {"query": queries[:1], "scenario": "global_health"})
    assert status == 200
    other = reward_model.score(PROMPTS[:1], ANSWERS[:1], scenario="global_health").reward
    torch.testing.assert_close(torch.tensor(body["rewards"]), other, rtol=1e-5, atol=1e-5)


def test_info_and_health(serve, reward_model):
    server = serve()
    status, info = http("GET", f"{server.url}/info")
    assert status == 200
    assert [d["id"] for d in info["dimensions"]] == reward_model.dimensions
    assert info["matrix"]["name"] == reward_model.matrix.name
    assert info["matrix"]["version"] == reward_model.matrix.version
    assert info["model"]["anchor"] is True and info["model"]["hidden_size"] == 64
    assert info["assistant_marker"] == "<|im_start|>assistant\n"
    status, health = http("GET", f"{server.url}/health")
    assert status == 200 and health["status"] == "ok"
    # An embedded server does not freeze its host's heap (only `mrrml serve`, which owns its process).
    assert health["gc"]["frozen_objects"] == gc.get_freeze_count() == 0
    assert health["gc"]["full_collections"] >= 0


def test_bearer_token(serve, caplog):
    token = "s3cret-token-value"
    server = serve(token=token)
    body = {"prompts": PROMPTS[:1], "responses": ANSWERS[:1]}
    # Every logger at DEBUG (uvicorn's included): the token must not reach any of them.
    with caplog.at_level(logging.DEBUG):
        assert http("POST", f"{server.url}/score", body)[0] == 401
        status, error = http("POST", f"{server.url}/score", body, token="wrong")
        assert status == 401 and "token" in error["error"]
        assert http("GET", f"{server.url}/info", token=token[:-1])[0] == 401
        assert http("POST", f"{server.url}/score", body, token=token)[0] == 200
        assert http("GET", f"{server.url}/info", token=token)[0] == 200
        assert http("GET", f"{server.url}/health")[0] == 200  # probes need no token
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any('"POST /score HTTP/1.1" 401' in line for line in access), access  # requests are logged
    assert token not in caplog.text


@pytest.mark.parametrize(
    "body, status, needle",
    [
        (b"{not json", 400, "JSON"),
        (b"[1, 2]", 400, "body"),
        (b'{"responses": ["a"]}', 400, "prompts"),
        (b'{"prompts": ["q"], "responses": "a"}', 400, "responses"),
        (b'{"prompts": ["q", 3], "responses": ["a", "b"]}', 400, "prompts[1]"),
        (b'{"prompts": [[{"role": "user"}]], "responses": ["a"]}', 400, "prompts[0][0].content"),
        (b'{"prompts": [[{"role": "robot", "content": "x"}]], "responses": ["a"]}', 400, "prompts[0][0].role"),
        (b'{"prompts": ["q"], "responses": ["a", "b"]}', 400, "2 responses for 1 prompts"),
        (b'{"prompts": ["q"], "responses": ["a"], "scenario": "no_such"}', 400, "no_such"),
        (b'{"prompts": ["q"], "responses": ["a"], "discipline": 5}', 400, "discipline"),
        (b'{"prompts": ["q"], "responses": ["a"], "respones": []}', 400, "respones"),
        (b"\xff\xfe", 400, "UTF-8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, 400, "RecursionError", id="nesting-too-deep"),
        pytest.param(
            b'{"prompts": [' + b"9" * 5000 + b'], "responses": ["a"]}', 400, "ValueError", id="int-over-4300-digits"
        ),
    ],
)
def test_malformed_score_bodies(serve, body, status, needle):
    server = serve()
    got, error = http("POST", f"{server.url}/score", raw=body)
    assert got == status
    assert needle in error["error"]


def test_malformed_get_reward_and_routes(serve):
    server = serve()
    status, error = http("POST", f"{server.url}/get_reward", {"query": ["no marker in here"]})
    assert status == 400 and "query[0]" in error["error"]
    status, error = http("POST", f"{server.url}/get_reward", {"query": ["a"], "prompts": ["b"]})
    assert status == 400 and "prompts[0]" in error["error"]
    status, error = http("POST", f"{server.url}/get_reward", {"query": "one string"})
    assert status == 400 and "query" in error["error"]
    assert http("GET", f"{server.url}/nope")[0] == 404
    assert http("GET", f"{server.url}/score")[0] == 405
    assert http("POST", f"{server.url}/info", {})[0] == 405


def _raw_exchange(port: int, head: bytes, body: bytes = b"", half_close: bool = False) -> bytes:
    """Send raw bytes (then, with ``half_close``, shut the sending side) and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return _read_all(sock)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(reply: bytes) -> tuple[int, dict]:
    """(status, JSON body) of a raw HTTP/1.1 reply (the server speaks HTTP/1.1)."""
    head, _, body = reply.partition(b"\r\n\r\n")
    version, status = head.split(b" ", 2)[:2]
    assert version == b"HTTP/1.1", reply[:80]
    return int(status), json.loads(body)


def test_oversized_and_unsized_bodies(serve):
    server = serve(max_body_bytes=2048)
    # Content-Length over the limit is refused from the headers alone: no body is ever sent here.
    reply = _raw_exchange(server.port, b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
    assert _answer(reply)[0] == 413, reply[:80]
    # A real client sending a too-large body gets the 413 too (not a connection reset).
    big = {"prompts": ["q" * 4000], "responses": ["a"]}
    status, error = http("POST", f"{server.url}/score", big)
    assert status == 413 and "2048" in error["error"]
    reply = _raw_exchange(server.port, b"POST /score HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _answer(reply)[0] == 411
    reply = _raw_exchange(server.port, b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    status, error = _answer(reply)  # the HTTP parser's own refusal has the same JSON shape
    assert status == 400 and error["status"] == 400 and "malformed HTTP request" in error["error"]
    status, error = _answer(_raw_exchange(server.port, b"NOT HTTP AT ALL\r\n\r\n"))
    assert status == 400 and "malformed HTTP request" in error["error"]
    # The server still serves after all that.
    assert http("POST", f"{server.url}/score", {"prompts": ["q"], "responses": ["a"]})[0] == 200


def test_half_closed_client_still_gets_its_answer(serve):
    """A client that shuts its sending side after the request (HTTP/1.0 style) is answered, not dropped."""
    server = serve()
    body = json.dumps({"prompts": ["q"], "responses": ["a"]}).encode()
    head = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
    status, answer = _answer(_raw_exchange(server.port, head, body, half_close=True))
    assert status == 200 and len(answer["results"]) == 1
    # A body cut short by the half-close is a 400 naming the cause, not a silent close.
    status, error = _answer(_raw_exchange(server.port, head, body[:-5], half_close=True))
    assert status == 400 and "Content-Length" in error["error"]


def test_accepted_connections_have_tcp_nodelay(serve):
    """A response is written as headers then body; without TCP_NODELAY, Nagle holds the body until the
    client acknowledges the headers, which a client delaying its ACKs does only tens of ms later."""
    server = serve()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive: the connection stays open
        assert b"200" in sock.recv(65536).split(b"\r\n", 1)[0]
        connections = list(server.uvicorn.server_state.connections)
        assert connections
        for connection in connections:
            accepted = connection.transport.get_extra_info("socket")
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_a_stalled_client_is_disconnected(serve, monkeypatch):
    monkeypatch.setattr(_Protocol, "stall_timeout", 0.5)
    server = serve()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # then nothing
        started = time.monotonic()
        assert _read_all(sock) == b""  # closed by the server, no answer owed to half a request
        assert time.monotonic() - started < 5
    assert http("GET", f"{server.url}/health")[0] == 200


def test_concurrent_clients_are_micro_batched(serve, reward_model, monkeypatch):
    counter = CountingScorer(reward_model)
    monkeypatch.setattr(reward_model, "raw_scores", counter)
    server = serve(max_batch=64, max_wait_ms=100)
    clients, per_client = 12, 2
    barrier = threading.Barrier(clients)
    results: dict[tuple[int, int], tuple[int, dict]] = {}

    def client(c: int) -> None:
        barrier.wait()
        for r in range(per_client):
            i = (c + r) % len(PROMPTS)
            results[(c, r)] = http("POST", f"{server.url}/score", {"prompts": [PROMPTS[i]], "responses": [ANSWERS[i]]})

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == clients * per_client
    monkeypatch.undo()
    expected = reward_model.score(PROMPTS, ANSWERS).reward
    for (c, r), (status, body) in results.items():
        assert status == 200, body
        i = (c + r) % len(PROMPTS)
        assert body["results"][0]["reward"] == pytest.approx(float(expected[i]), abs=1e-4)
    requests = clients * per_client
    assert counter.calls < requests / 2, f"{counter.calls} model calls for {requests} requests"
    assert server.service.batcher.stats.largest_call > 1


def test_stop_finishes_in_flight_requests(reward_model, monkeypatch):
    counter = CountingScorer(reward_model, hold=True)
    monkeypatch.setattr(reward_model, "raw_scores", counter)
    server = RewardServer(reward_model, ServeSettings(port=0, max_batch=4, max_wait_ms=1)).start()
    results: list[tuple[int, dict]] = []
    body = {"prompts": PROMPTS[:1], "responses": ANSWERS[:1]}
    threads = [
        threading.Thread(target=lambda: results.append(http("POST", f"{server.url}/score", body))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    assert counter.entered.wait(30), "the model was never called"
    deadline = time.monotonic() + 30
    while server.service.in_flight < 6 and time.monotonic() < deadline:  # the rest queue behind it
        time.sleep(0.01)
    assert server.service.in_flight == 6
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    time.sleep(0.3)
    assert stopper.is_alive(), "stop() must wait for the in-flight requests"
    with pytest.raises(OSError):  # no longer accepting
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    counter.release.set()
    stopper.join(30)
    for t in threads:
        t.join(30)
    assert not stopper.is_alive()
    assert [status for status, _ in results] == [200] * 6
    assert server.service.batcher.closed


def test_rows_per_request_are_limited(serve):
    server = serve(max_rows_per_request=2)
    status, error = http("POST", f"{server.url}/score", {"prompts": PROMPTS, "responses": ANSWERS})
    assert status == 413 and "3 rows exceed the limit of 2" in error["error"] and "prompts" in error["error"]
    status, error = http("POST", f"{server.url}/get_reward", {"query": ["a", "b", "c"]})
    assert status == 413 and "query" in error["error"]
    assert http("GET", f"{server.url}/info")[1]["max_rows_per_request"] == 2
    assert http("POST", f"{server.url}/score", {"prompts": PROMPTS[:2], "responses": ANSWERS[:2]})[0] == 200


def _pause_accepting(server: RewardServer) -> None:
    """Stand in for an event loop too busy to accept: take the listening socket out of its selector, so
    new connections stay in the kernel's listen backlog (completed, never accepted)."""
    loop = server.uvicorn.loop

    async def pause() -> None:
        loop.remove_reader(server.listener.fileno())

    asyncio.run_coroutine_threadsafe(pause(), loop).result(10)


def test_stop_answers_connections_waiting_in_the_backlog(reward_model):
    """A connection the kernel completed but the server never accepted gets a 503 at stop, not a reset."""
    server = RewardServer(reward_model, ServeSettings(port=0)).start()
    _pause_accepting(server)
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3)]
    for sock in socks:
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    server.stop()
    for sock in socks:
        with sock:
            status, error = _answer(_read_all(sock))
        assert status == 503 and "shutting down" in error["error"]


def test_requests_arriving_during_shutdown_are_refused(reward_model, monkeypatch):
    """A connection accepted before the stop whose request comes during it gets a 503; one that never
    sends a request is closed after a short grace, and neither holds the shutdown up."""
    counter = CountingScorer(reward_model, hold=True)
    monkeypatch.setattr(reward_model, "raw_scores", counter)
    server = RewardServer(reward_model, ServeSettings(port=0, max_wait_ms=1)).start()
    in_flight: list[tuple[int, dict]] = []
    body = {"prompts": PROMPTS[:1], "responses": ANSWERS[:1]}
    client = threading.Thread(target=lambda: in_flight.append(http("POST", f"{server.url}/score", body)))
    client.start()
    assert counter.entered.wait(30)  # one request holds the shutdown open while the others arrive
    late, silent = (socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(2))
    assert http("GET", f"{server.url}/health")[0] == 200  # both connections have been accepted by now
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    assert server.draining.wait(10)
    payload = json.dumps(body).encode()
    late.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
    with late:
        status, error = _answer(_read_all(late))
    assert status == 503 and "shutting down" in error["error"]
    with silent:
        assert _read_all(silent) == b""
    counter.release.set()
    stopper.join(30)
    client.join(30)
    assert not stopper.is_alive()
    assert [status for status, _ in in_flight] == [200]


def test_openapi_docs_are_open_and_describe_the_api(serve):
    """/docs and /openapi.json need no token (a browser cannot send one when it opens a page); the
    description lists the endpoints and, with a token set, the bearer scheme on every closed one."""
    server = serve(token="docs-token")
    status, schema = http("GET", f"{server.url}/openapi.json")
    assert status == 200
    assert set(schema["paths"]) == {"/get_reward", "/health", "/info", "/score"}
    assert schema["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert schema["paths"]["/score"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/health"]["get"]
    body = schema["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"prompts", "responses", "scenario", "discipline"} <= set(body["properties"])
    with urllib.request.urlopen(f"{server.url}/docs", timeout=30) as page:
        assert page.status == 200 and b"swagger" in page.read().lower()
    assert http("GET", f"{server.url}/info")[0] == 401  # the API itself stays closed
