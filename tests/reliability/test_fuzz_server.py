"""Fuzz the reward server's request handling: only 4xx answers (``RequestError`` in-process) come
back for bad requests — never a 5xx, a hang, a dropped connection or a dead server.

Two levels: the request-validation functions of :class:`RewardService` called directly with fuzzed
JSON bodies (many examples, cheap), and raw bytes over a real socket to a real server on 127.0.0.1
(fuzzed method, path, headers and body: fewer examples, each a full HTTP exchange).
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.reliability.fuzzing import FUZZED, fuzz_settings, json_values

PROMPT = "<|im_start|>user\nI have a headache. What helps?<|im_end|>\n<|im_start|>assistant\nRest and water.<|im_end|>"
VALID_BODIES = {
    "/score": [
        {
            "prompts": ["I have a headache.", [{"role": "user", "content": "Dizzy?"}]],
            "responses": ["Rest and water.", "Sit down."],
            "scenario": "hedging",
            "discipline": "pediatrics",
        }
    ],
    "/get_reward": [{"query": [PROMPT]}, {"query": [PROMPT], "prompts": ["I have a headache. What helps?"]}],
}
HOSTILE_BODIES = [
    b"[" * 3000 + b"]" * 3000,
    b'{"query": [' + b"9" * 5000 + b"]}",
    b'{"query": ["' + b"\\ud800" + b'"]}',
    b'{"prompts": ["a"], "responses": [NaN]}',
    b"\xff\xfe not utf-8",
    b"",
]


@st.composite
def bodies(draw, path: str):
    body = json.loads(json.dumps(draw(st.sampled_from(VALID_BODIES[path]))))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["replace", "drop", "add", "inner", "whole"]))
        keys = sorted(body) if isinstance(body, dict) else []
        if op == "whole":
            body = draw(json_values)
        elif op == "drop" and keys:
            body.pop(draw(st.sampled_from(keys)))
        elif op == "replace" and keys:
            body[draw(st.sampled_from(keys))] = draw(json_values)
        elif op == "add" and isinstance(body, dict):
            body[draw(st.sampled_from(["query", "prompts", "responses", "scenario", "discipline", "labels", "x"]))] = (
                draw(json_values)
            )
        elif op == "inner" and keys:
            key = draw(st.sampled_from(keys))
            if isinstance(body[key], list) and body[key]:
                body[key][draw(st.integers(0, len(body[key]) - 1))] = draw(json_values)
    return body


@pytest.fixture(scope="module")
def service(tiny_rm):
    from mrrml.serve.service import RewardService, ServeSettings

    svc = RewardService(tiny_rm, ServeSettings(max_batch=8, max_wait_ms=1.0, request_timeout_s=60))
    yield svc
    svc.close(30)


@pytest.mark.parametrize("path", sorted(VALID_BODIES))
def test_fuzzed_body_is_answered_or_refused_with_4xx(service, path):
    from mrrml.serve.service import RequestError

    prepare = service.score_job if path == "/score" else service.reward_job

    @fuzz_settings(60)
    @given(body=bodies(path))
    def run(body) -> None:
        FUZZED[f"server {path} (direct)"] = FUZZED.get(f"server {path} (direct)", 0) + 1
        try:
            answer = asyncio.run(service.answer(prepare(body)))  # validate, score through the batcher, shape
        except RequestError as error:
            assert 400 <= error.status < 500 and str(error)
            return
        json.dumps(answer, allow_nan=False)  # what the server sends must be valid JSON

    run()


# ----------------------------------------------------------------------------------- over HTTP
TOKEN = "fuzz-token"


@pytest.fixture(scope="module")
def server(tiny_rm):
    from mrrml.serve.server import RewardServer
    from mrrml.serve.service import ServeSettings

    srv = RewardServer(
        tiny_rm, ServeSettings(port=0, token=TOKEN, max_batch=8, max_wait_ms=1.0, max_body_bytes=1 << 20)
    ).start()
    yield srv
    srv.stop(30)


def exchange(port: int, request: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    """Send raw bytes, half-close, read the whole answer: (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early (413, 401...) and closed; read what it said
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    assert len(status_line) >= 2 and status_line[0].startswith(b"HTTP/"), f"no HTTP answer: {raw[:200]!r}"
    return int(status_line[1]), body


def build_request(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@st.composite
def raw_requests(draw):
    path = draw(st.sampled_from(["/score", "/get_reward", "/get_reward/", "/info", "/health", "/nope", "/score?x=1"]))
    method = draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE"]))
    kind = draw(st.sampled_from(["valid", "fuzzed", "bytes", "hostile"]))
    if kind == "valid" and path.rstrip("/").split("?")[0] in VALID_BODIES:
        body = json.dumps(draw(st.sampled_from(VALID_BODIES[path.rstrip("/").split("?")[0]]))).encode()
    elif kind == "fuzzed" and path.rstrip("/").split("?")[0] in VALID_BODIES:
        body = json.dumps(draw(bodies(path.rstrip("/").split("?")[0]))).encode()
    elif kind == "hostile":
        body = draw(st.sampled_from(HOSTILE_BODIES))
    else:
        body = draw(st.binary(max_size=64))
    headers = {"Content-Type": draw(st.sampled_from(["application/json", "text/plain", ""]))}
    auth = draw(st.sampled_from(["good", "good", "wrong", "none", "scheme", "empty"]))
    headers.update(
        {
            "good": {"Authorization": f"Bearer {TOKEN}"},
            "wrong": {"Authorization": "Bearer nope"},
            "none": {},
            "scheme": {"Authorization": f"Basic {TOKEN}"},
            "empty": {"Authorization": "Bearer "},
        }[auth]
    )
    length = draw(
        st.sampled_from(["exact", "exact", "missing", "short", "long", "negative", "junk", "huge", "chunked"])
    )
    headers.update(
        {
            "exact": {"Content-Length": str(len(body))},
            "missing": {},
            "short": {"Content-Length": str(max(0, len(body) - 3))},
            "long": {"Content-Length": str(len(body) + 10)},
            "negative": {"Content-Length": "-5"},
            "junk": {"Content-Length": "12abc"},
            "huge": {"Content-Length": str(1 << 40)},
            "chunked": {"Transfer-Encoding": "chunked"},
        }[length]
    )
    return build_request(method, path, headers, body)


def test_fuzzed_http_requests_get_2xx_or_4xx_and_the_server_survives(server):
    @fuzz_settings(40)
    @given(request=raw_requests())
    def run(request: bytes) -> None:
        FUZZED["server over HTTP"] = FUZZED.get("server over HTTP", 0) + 1
        status, body = exchange(server.port, request)
        assert status < 500, (status, body[:300], request[:300])
        if status >= 400:
            assert "error" in json.loads(body)

    run()
    assert exchange(server.port, build_request("GET", "/health", {}, b""))[0] == 200


@pytest.mark.parametrize("index", range(len(HOSTILE_BODIES)))
@pytest.mark.parametrize("path", ["/score", "/get_reward"])
def test_hostile_bodies_get_a_4xx(server, path, index):
    body = HOSTILE_BODIES[index]
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", "Content-Length": str(len(body))}
    status, answer = exchange(server.port, build_request("POST", path, headers, body))
    assert 400 <= status < 500, (status, answer[:300])
