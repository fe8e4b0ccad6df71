"""Secrets stay secret: end-to-end runs with an API key in the environment (HealthBench against stand-in
policy and grader, ``mrrml synth --backend openai`` against a stand-in generator); then EVERY artefact — outputs, caches, reports, work logs, stdout, stderr, server
log, the openai SDK's debug log — is searched for the key and the token. The stand-ins check the key did travel (in the
Authorization header only), so the search is not vacuous. The reward server's bearer token is checked
the same way in test_load.py, on the server process that serves the load test. The stand-ins fail every few requests with a
503, so the retry and error-reporting paths run too.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.reliability.harness import Job
from tests.reliability.jobs import healthbench_job, healthbench_rows
from tests.reliability.standin import StandInServer


def _files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def _leaks(secret: str, *roots: Path) -> list[str]:
    needle = secret.encode()
    return [str(p) for p in _files(*roots) if needle in p.read_bytes()]


def test_api_key_never_reaches_an_artefact(tmp_path):
    key = "sk-test-" + os.urandom(12).hex()
    # OPENAI_LOG=debug: the openai SDK and its HTTP library log every request to stderr, which is searched too
    env = {"MRRML_TEST_API_KEY": key, "OPENAI_LOG": "debug"}
    policy, grader = StandInServer("policy", fail_every=5).start(), StandInServer("grader", fail_every=4).start()
    generator = StandInServer("synth", fail_every=3).start()
    try:
        data = healthbench_rows(tmp_path / "rows.jsonl", 3)
        healthbench_job(tmp_path / "healthbench", data, policy, grader, env=env).run()
        synth_argv = [
            "synth",
            "--backend",
            "openai",
            "--base-url",
            generator.base_url,
            "--model",
            "gen",
            "--api-key-env",
            "MRRML_TEST_API_KEY",
            "--n",
            "12",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "synth"),
        ]
        Job("synth-openai", lambda: synth_argv, tmp_path / "synth", lambda: 0, env=env, timeout=120).run()
    finally:
        for server in (policy, grader, generator):
            server.close()
    for server in (policy, grader, generator):
        assert server.requests > 0 and server.authorizations() == {f"Bearer {key}"}
    written = _files(tmp_path)
    assert any(p.name == "graded.jsonl" for p in written) and any(p.name == "train.jsonl" for p in written)
    assert any(p.suffix in (".out", ".err") for p in written)  # the processes' stdout/stderr are searched too
    logs = "".join(p.read_text(errors="replace") for p in written if p.suffix == ".err")
    assert "DEBUG] Building HTTP request" in logs  # the SDK's debug log was written: the search is not vacuous
    assert _leaks(key, tmp_path) == []
