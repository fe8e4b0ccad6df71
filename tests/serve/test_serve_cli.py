"""``mrrml serve`` as a real process: token from the environment, SIGTERM drains in-flight requests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time

from .serve_helpers import http


def _start(rm_dir, *extra: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    command = [
        sys.executable,
        "-c",
        "import sys; from mrrml.cli import main; sys.exit(main())",
        "serve",
        str(rm_dir),
        "--port",
        "0",
        *extra,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    line = process.stdout.readline()
    match = re.search(r"listening on (http://\S+)", line)
    if not match:
        process.kill()
        raise AssertionError(f"server did not start: {line!r}\n{process.stderr.read()}")
    return process, match.group(1)


def test_sigterm_finishes_the_request_in_flight(rm_dir):
    token = "cli-token-123"
    process, url = _start(
        rm_dir,
        "--token-env",
        "MY_RM_TOKEN",
        "--max-wait-ms",
        "1500",
        "--torch-threads",
        "1",
        env={"MY_RM_TOKEN": token},
    )
    try:
        assert http("GET", f"{url}/info")[0] == 401
        result: list = []
        client = threading.Thread(
            target=lambda: result.append(
                http("POST", f"{url}/score", {"prompts": ["Is 39 C a fever?"], "responses": ["Yes."]}, token=token)
            )
        )
        client.start()
        # The request now waits in the batcher (max-wait 1.5 s) when the signal arrives.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and http("GET", f"{url}/health")[1]["in_flight"] < 1:
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        client.join(30)
        assert result and result[0][0] == 200, result
        assert process.wait(30) == 0
        out, err = process.communicate()
        assert "stopped" in out
        assert "SIGTERM" in err and token not in err + out
    finally:
        if process.poll() is None:
            process.kill()


def test_the_served_process_keeps_its_start_up_heap_out_of_the_collector(rm_dir):
    """``mrrml serve`` freezes what exists once the model is loaded (torch, transformers, the model:
    hundreds of thousands of objects), so full collections while serving do not walk it; an embedded
    server leaves its host process's collector alone (tests/serve/test_server.py)."""
    process, url = _start(rm_dir, "--torch-threads", "1")
    try:
        status, health = http("GET", f"{url}/health")
        assert status == 200 and health["gc"]["frozen_objects"] > 100_000, health
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_named_token_variable_must_be_set(rm_dir):
    command = [
        sys.executable,
        "-c",
        "import sys; from mrrml.cli import main; sys.exit(main())",
        "serve",
        str(rm_dir),
        "--port",
        "0",
        "--token-env",
        "MRRML_TEST_UNSET_VAR",
    ]
    env = {k: v for k, v in os.environ.items() if k != "MRRML_TEST_UNSET_VAR"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert "MRRML_TEST_UNSET_VAR" in done.stderr
