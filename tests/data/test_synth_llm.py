"""LLM backends against real components: HTTP servers on 127.0.0.1 and a tiny local Qwen3.

The HTTP stand-ins play the part of a vLLM / SGLang / hosted OpenAI-compatible endpoint and drive
whole synthesis runs (the client's own retries, timeouts and key handling are tested in
tests/test_openai_client.py):
* ``good``: a healthy server that answers every chat completion with a valid JSON triplet;
* ``garbage``: a server (or model) that answers 200 OK with text that is not the requested JSON;
* ``dying``: a server that serves a few requests and then goes away (crash, pre-emption).
"""

from __future__ import annotations

import json
import threading

import pytest

from mrrml.data.synth.filter import ConsistencyFilter
from mrrml.data.synth.llm import LLMJudge
from mrrml.data.synth.openai_backend import OpenAIBackend
from mrrml.data.synth.runner import SynthSettings, run_synthesis
from mrrml.errors import ConfigError
from mrrml.openai_client import ChatClient
from tests.standin_chat import DROP, ChatStandIn, completion

SECRET = "sk-test-never-log-me"


class StandIn(ChatStandIn):
    """The shared stand-in server (:mod:`standin_chat`) playing one of good|garbage|dying."""

    def __init__(self, mode: str, die_after: int = 5, delay: float = 0.0):
        self.mode, self.die_after = mode, die_after
        super().__init__(self._behave, delay)

    def _behave(self, count: int, body: dict, headers: dict) -> tuple[int, bytes] | None:
        if self.mode == "dying" and count > self.die_after:
            # the process is gone: drop the connection without a response, stop listening
            threading.Thread(target=self.close).start()
            return DROP
        return 200, completion(self.reply(body, count))

    def reply(self, body: dict, count: int) -> str:
        user = body["messages"][-1]["content"]
        if self.mode == "garbage":
            return "Sure! Here is a great answer: {prompt: oops"
        if "Grade the answer" in user:  # judge request: grade by a marker the good server plants
            answer = user.split("Answer:\n", 1)[1]
            return json.dumps({"score": 9 if "GOOD" in answer else 5 if "MEDIUM" in answer else 2})
        target = user.split("Target dimension: ", 1)[1].split(" - ", 1)[0]
        return (
            "```json\n"
            + json.dumps(
                {
                    "prompt": f"Question {count} about {target}",
                    "good": f"GOOD answer on {target}",
                    "medium": f"MEDIUM answer on {target}",
                    "poor": f"POOR answer on {target}",
                }
            )
            + "\n```"
        )


def _client(url, monkeypatch, **kw):
    monkeypatch.setenv("MRRML_TEST_KEY", SECRET)
    return ChatClient.from_env(
        url, "stand-in-model", "MRRML_TEST_KEY", **{"timeout": 5.0, "max_retries": 1, "backoff": 0.01, **kw}
    )


def test_good_server_bounded_concurrency_key_never_written(tmp_path, monkeypatch, healthbench_matrix):
    with StandIn("good", delay=0.05) as server:
        client = _client(server.base_url, monkeypatch)
        backend = OpenAIBackend(healthbench_matrix, 0, client, concurrency=3)
        result = run_synthesis(healthbench_matrix, backend, SynthSettings(n=20, backend="openai"), tmp_path)
    s = result.summary
    assert s["kept"] == 20 and s["pending"] == 0 and s["drop_rate"] == 0
    assert 1 < server.max_in_flight <= 3
    assert server.authorizations() == {f"Bearer {SECRET}"}
    # the backend's default sampling settings travel with every request
    assert {(r["temperature"], r["max_tokens"]) for r in server.bodies} == {(0.7, 1500)}
    # the generation prompt carries the matrix's own text: dimension description and level descriptors
    dim = healthbench_matrix.dimension("accuracy")
    gen = [r for r in server.bodies if "Target dimension: " + dim.name in r["messages"][-1]["content"]]
    assert gen and dim.description in gen[0]["messages"][-1]["content"]
    assert dim.levels["poor"] in gen[0]["messages"][-1]["content"]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text()
    assert SECRET not in repr(client)


def test_llm_judge_keeps_ordered_and_drops_misordered(tmp_path, monkeypatch, healthbench_matrix):
    with StandIn("good") as server:
        client = _client(server.base_url, monkeypatch)
        backend = OpenAIBackend(healthbench_matrix, 0, client, concurrency=2)
        judge = ConsistencyFilter(LLMJudge(backend.complete, healthbench_matrix))
        s = run_synthesis(
            healthbench_matrix, backend, SynthSettings(n=4, backend="openai"), tmp_path, judge=judge
        ).summary
        assert s["kept"] == 4 and judge.report.checked == 4
        from mrrml.data.records import TripletRecord

        rec = TripletRecord(
            id="x",
            prompt="q",
            dimension="accuracy",
            scenario="hedging",
            discipline="pharmacy",
            good="POOR text",
            medium="MEDIUM text",
            poor="GOOD text",
        )
        assert judge.check(rec) == "judge: good <= medium"


def test_backend_sampling_settings_go_with_each_request(tmp_path, monkeypatch, mrrml_matrix):
    """temperature and max_tokens belong to the backend, not the client: generation and the LLM judge
    built on ``backend.complete`` both send them, and bad values are refused when the backend is built."""
    with StandIn("good") as server:
        client = _client(server.base_url, monkeypatch)
        backend = OpenAIBackend(mrrml_matrix, 0, client, concurrency=1, temperature=0.2, max_tokens=300)
        judge = ConsistencyFilter(LLMJudge(backend.complete, mrrml_matrix))
        s = run_synthesis(mrrml_matrix, backend, SynthSettings(n=2, backend="openai"), tmp_path, judge=judge).summary
    assert s["kept"] == 2
    judged = [r for r in server.bodies if "Grade the answer" in r["messages"][-1]["content"]]
    assert judged and len(judged) < len(server.bodies)
    assert {(r["temperature"], r["max_tokens"], r["model"]) for r in server.bodies} == {(0.2, 300, "stand-in-model")}
    for bad, match in [
        ({"concurrency": 0}, "concurrency"),
        ({"temperature": -0.1}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
    ]:
        with pytest.raises(ConfigError, match=match):
            OpenAIBackend(mrrml_matrix, 0, client, **bad)


def test_garbage_server_outputs_are_counted_as_malformed(tmp_path, monkeypatch, mrrml_matrix):
    with StandIn("garbage") as server:
        backend = OpenAIBackend(mrrml_matrix, 0, _client(server.base_url, monkeypatch), concurrency=2)
        s = run_synthesis(mrrml_matrix, backend, SynthSettings(n=6, backend="openai"), tmp_path).summary
    assert s["kept"] == 0 and s["dropped"] == 6 and s["pending"] == 0
    assert list(s["drops_by_reason"]) == ["backend: malformed: not JSON (Expecting value)"]
    assert (tmp_path / "train.jsonl").read_text() == ""


def test_server_dying_mid_run_leaves_work_to_retry(tmp_path, monkeypatch, mrrml_matrix):
    settings = SynthSettings(n=12, backend="openai")
    with StandIn("dying", die_after=5) as server:
        backend = OpenAIBackend(mrrml_matrix, 0, _client(server.base_url, monkeypatch, timeout=0.5), concurrency=1)
        first = run_synthesis(mrrml_matrix, backend, settings, tmp_path).summary
    assert first["kept"] == 5 and first["pending"] == 7
    assert sum(first["backend_failures_this_session"].values()) == 7
    with StandIn("good") as revived:  # the server comes back (at a new port; these settings hold no base_url)
        client = _client(revived.base_url, monkeypatch)
        second = run_synthesis(mrrml_matrix, OpenAIBackend(mrrml_matrix, 0, client), settings, tmp_path).summary
    assert second["kept"] == 12 and second["pending"] == 0 and revived.requests == 7


def test_transformers_backend_with_tiny_qwen3(tmp_path, tiny_qwen3_dir, mrrml_matrix):
    """A random-init model writes garbage: every reply must be counted malformed, none kept."""
    from mrrml.data.synth.transformers_backend import TransformersBackend, TransformersGenerator

    gen = TransformersGenerator(str(tiny_qwen3_dir), max_new_tokens=6)
    reply = gen.complete([{"role": "user", "content": "hello"}], seed=1)
    assert isinstance(reply, str) and reply == gen.complete([{"role": "user", "content": "hello"}], seed=1)
    s = run_synthesis(
        mrrml_matrix, TransformersBackend(mrrml_matrix, 0, gen), SynthSettings(n=2, backend="transformers"), tmp_path
    ).summary
    assert s["kept"] == 0 and s["dropped"] == 2
    assert all(reason.startswith("backend: malformed") for reason in s["drops_by_reason"])


def test_cli_openai_backend_with_llm_filter(tmp_path, monkeypatch):
    """`mrrml synth --backend openai --filter llm` end to end against the healthy stand-in."""
    from mrrml.cli import main

    monkeypatch.setenv("MRRML_TEST_KEY", SECRET)
    with StandIn("good") as server:
        rc = main(
            [
                "synth",
                "--matrix",
                "standards/mr-rml.yaml",
                "--backend",
                "openai",
                "--base-url",
                server.base_url,
                "--model",
                "stand-in",
                "--api-key-env",
                "MRRML_TEST_KEY",
                "--n",
                "6",
                "--concurrency",
                "2",
                "--filter",
                "llm",
                "--out",
                str(tmp_path),
                "--quiet",
            ]
        )
    assert rc == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["kept"] == 6 and summary["filter_this_session"]["checked"] == 6
    assert SECRET not in (tmp_path / "work" / "manifest.json").read_text()
