"""``mrrml synth --backend openai`` from the command line, against the stand-in vLLM on 127.0.0.1.

The library pipeline is tested in tests/data/test_synth_llm.py; these tests check that the command's
options reach it: the ``--generator.*`` and ``--judge.*`` endpoints and their request settings, the
``--llm.*`` method settings, ``--window``, ``--outage_*`` and ``--emit_eval``, through argv, through a
printed config and through the earlier spellings. Each test names the real server behaviour its
stand-in plays.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mrrml.cli import main
from mrrml.data.records import read_records
from mrrml.data.synth.judge import SYSTEM_JUDGE
from tests.standin_chat import ChatStandIn, error_body, rate_limited
from tests.synth_model import SynthModel

SPLITS = ("train.jsonl", "val.jsonl", "test.jsonl")
SECRET = "sk-test-never-log-me"


def _records(out: Path) -> list:
    return [r for name in SPLITS for r in read_records(out / name).records]


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _splits(out: Path) -> list[bytes]:
    return [(out / name).read_bytes() for name in SPLITS]


def test_generator_and_judge_endpoints_method_settings_and_eval_rows(tmp_path, monkeypatch):
    """The generator stands for vLLM serving Qwen3 with thinking switched on by the role's
    chat_template_kwargs (every reply opens with a <think> block) behind a rate limit that answers every
    7th request 429 with Retry-After; the judge is a second vLLM server on its own port, started
    without --api-key: the generator's key must not travel there."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    model, judge_model = SynthModel(), SynthModel()
    generator = ChatStandIn(rate_limited(model, every=7), thinking=True)
    with generator, ChatStandIn(judge_model) as judge:
        argv = [
            "synth",
            "--backend=openai",
            f"--out={tmp_path / 'out'}",
            "--n=8",
            "--seed=1",
            "--neutral_rate=0.5",
            "--quiet",
            f"--generator.base_url={generator.base_url}",
            "--generator.model=qwen3-generator",
            "--generator.temperature=0.7",
            '--generator.chat_template_kwargs={"enable_thinking": true}',
            "--generator.backoff=0.01",
            f"--judge.base_url={judge.base_url}",
            "--judge.model=qwen3-judge",
            "--judge.max_tokens=700",
            "--window=4",
            "--llm.rubric_tries=2",
            f"--emit_eval={tmp_path / 'eval.jsonl'}",
        ]
        assert main(argv) == 0
    s = _summary(tmp_path / "out")
    assert s["kept"] == 8 and s["pending"] == 0 and s["with_rubric"] == 8 and s["with_neutral"] > 0
    records = _records(tmp_path / "out")
    assert not any("<think>" in r.good + r.medium + r.poor + (r.neutral or "") for r in records)
    # the rate limit was met and waited out, not counted as a failure
    assert generator.requests > sum(model.steps.values())
    # each role went to its own server with its own settings; the judge only judged
    assert set(model.steps) <= {"draft", "counterfactual", "neutral", "rubric"} and set(judge_model.steps) == {"judge"}
    assert {b["model"] for b in generator.bodies} == {"qwen3-generator"}
    assert {b["temperature"] for b in generator.bodies} == {0.7}
    assert {json.dumps(b["chat_template_kwargs"]) for b in generator.bodies} == {'{"enable_thinking": true}'}
    assert {(b["model"], b["temperature"], b["max_tokens"]) for b in judge.bodies} == {("qwen3-judge", 0.0, 700)}
    assert judge.max_in_flight <= 4 and generator.max_in_flight <= 4  # the window, both roles together
    assert generator.authorizations() == {f"Bearer {SECRET}"} and judge.authorizations() == {""}
    rows = [json.loads(line) for line in (tmp_path / "eval.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and {row["prompt_id"] for row in rows} == {r.id for r in records}


def test_judge_token_budget_and_length_retry_come_from_the_judge_group(tmp_path, monkeypatch):
    """Stands for vLLM cutting every judge reply at the request's max_tokens (finish_reason "length"):
    with no length retry allowed, every triplet is a judge drop counted as truncated, not a crash."""
    monkeypatch.setenv("MRRML_TEST_KEY", SECRET)
    with ChatStandIn(SynthModel()) as server:
        argv = ["synth", "--backend", "openai", "--out", str(tmp_path), "--n", "3", "--quiet"]
        argv += ["--generator.base_url", server.base_url, "--generator.model", "m"]
        argv += ["--generator.api_key_env", "MRRML_TEST_KEY"]
        argv += ["--judge.max_tokens", "3", "--judge.length_retry_factor", "1", "--llm.rubrics", "false"]
        assert main(argv) == 0
    s = _summary(tmp_path)
    assert s["kept"] == 0 and s["drops_by_reason"] == {"filter: judge: truncated (reply cut at max_tokens)": 3}
    judged = [b for b in server.bodies if b["messages"][0]["content"] == SYSTEM_JUDGE]
    assert judged and {b["max_tokens"] for b in judged} == {3}  # asked once each: no retry with more tokens
    # the judge defaults to the generator's server, its key and its model
    assert {b["model"] for b in judged} == {"m"} and server.authorizations() == {f"Bearer {SECRET}"}


def test_an_outage_resumes_on_a_moved_server_byte_identical(tmp_path):
    """Stands for a vLLM generator that goes down mid-run (503 to every request from the 20th on) and is
    restarted on another port: the first run exits 1 with the rest pending; the same command with the
    new URL resumes (the URL is not part of the resume check) and writes the files an uninterrupted run
    writes."""
    down = SynthModel()

    def failing(count: int, body: dict, headers: dict):
        return (503, error_body("server is shutting down")) if count >= 20 else down(count, body, headers)

    def argv(url: str, out: Path) -> list[str]:
        return [
            "synth", "--backend", "openai", "--out", str(out), "--n", "6", "--neutral_rate", "0.5", "--quiet",
            "--generator.base_url", url, "--generator.model", "m", "--generator.max_retries", "0",
            "--judge.max_retries", "0", "--window", "2", "--outage_retries", "0",
        ]  # fmt: skip

    with ChatStandIn(failing) as first:
        assert main(argv(first.base_url, tmp_path / "a")) == 1
    assert 0 < _summary(tmp_path / "a")["pending"] < 6
    with ChatStandIn(SynthModel()) as moved:
        assert main(argv(moved.base_url, tmp_path / "a")) == 0
    with ChatStandIn(SynthModel()) as whole:
        assert main(argv(whole.base_url, tmp_path / "b")) == 0
    assert _summary(tmp_path / "a")["kept"] == 6
    assert _splits(tmp_path / "a") == _splits(tmp_path / "b")


def test_printed_config_and_earlier_spellings_run_the_same_job(tmp_path, capsys):
    """Stands for a healthy vLLM server with guided decoding. The printed config, fed back with --config,
    and the argparse-era spelling of the same command make the same records as the command line."""
    with ChatStandIn(SynthModel()) as server:
        common = ["--backend", "openai", "--n", "3", "--seed", "5", "--quiet"]
        new = [*common, "--generator.base_url", server.base_url, "--generator.model", "m", "--window", "4"]
        capsys.readouterr()
        assert main(["synth", "--out", str(tmp_path / "cfg"), *new, "--print_config"]) == 0
        printed = capsys.readouterr().out
        config = yaml.safe_load(printed)
        assert {"generator", "judge", "llm", "window", "outage_retries", "outage_wait", "emit_eval"} <= set(config)
        assert config["generator"]["api_key_env"] == "OPENAI_API_KEY"  # a variable's name, never a key
        assert config["llm"]["rubric_tries"] == 3 and config["judge"]["temperature"] == 0.0
        (tmp_path / "synth.yaml").write_text(printed)
        assert main(["synth", "--config", str(tmp_path / "synth.yaml")]) == 0
        assert main(["synth", "--out", str(tmp_path / "argv"), *new]) == 0
        old = [*common, "--base-url", server.base_url, "--model", "m", "--concurrency", "4", "--timeout", "60"]
        assert main(["synth", "--out", str(tmp_path / "old"), *old]) == 0
    note = capsys.readouterr().err
    assert "--base-url -> --generator.base_url" in note and "--concurrency -> --window" in note
    assert "--timeout -> --generator.timeout and --judge.timeout" in note
    assert _summary(tmp_path / "cfg")["kept"] == 3
    assert _splits(tmp_path / "cfg") == _splits(tmp_path / "argv") == _splits(tmp_path / "old")
