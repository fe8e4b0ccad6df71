"""LLM synthesis against real components: HTTP servers on 127.0.0.1 and a tiny local Qwen3.

The stand-in server (:mod:`tests.standin_chat`) plays a vLLM endpoint and :class:`tests.synth_model.SynthModel`
the model behind it, doing each pipeline step (draft, counterfactual rewrite, neutral rewrite, rubric,
judge). Each test names the real behaviour its server stands for. The client's own retries, timeouts
and key handling are tested in tests/test_openai_client.py.
"""

from __future__ import annotations

import json

import pytest

from mrrml.data.records import TripletRecord, read_records
from mrrml.data.synth.filter import ConsistencyFilter
from mrrml.data.synth.judge import SYSTEM_JUDGE
from mrrml.data.synth.llm import LLMJudge, LLMSynthSettings
from mrrml.data.synth.openai_backend import OpenAIBackend
from mrrml.data.synth.runner import SynthSettings, run_synthesis
from mrrml.errors import ConfigError
from mrrml.openai_client import ChatClient
from tests.standin_chat import ChatStandIn, completion, error_body, rate_limited
from tests.synth_model import SynthModel

SECRET = "sk-test-never-log-me"
SPLITS = ("train.jsonl", "val.jsonl", "test.jsonl")


def _client(url, monkeypatch, **kw) -> ChatClient:
    monkeypatch.setenv("MRRML_TEST_KEY", SECRET)
    return ChatClient.from_env(
        url, "stand-in-model", "MRRML_TEST_KEY", **{"timeout": 5.0, "max_retries": 1, "backoff": 0.01, **kw}
    )


def _backend(matrix, client, **kw) -> OpenAIBackend:
    return OpenAIBackend(matrix, 0, client, **{"window": 8, "outage_wait": 0.01, **kw})


def _log(out) -> list[dict]:
    return [json.loads(line) for line in (out / "work" / "log.jsonl").read_text().splitlines()]


def _records(out) -> list[TripletRecord]:
    return [r for name in SPLITS for r in read_records(out / name).records]  # type: ignore[misc]


def _user(body: dict) -> str:
    return body["messages"][-1]["content"]


def test_counterfactual_triplets_with_neutrals_and_rubrics_judged_on_every_dimension(
    tmp_path, monkeypatch, healthbench_matrix
):
    """Stands for a healthy vLLM server with guided decoding serving generator and judge."""
    model = SynthModel()
    with ChatStandIn(model) as server:
        client = _client(server.base_url, monkeypatch, temperature=0.7, max_tokens=400)
        backend = _backend(healthbench_matrix, client, window=6)
        settings = SynthSettings(n=16, backend="openai", neutral_rate=0.5)
        s = run_synthesis(healthbench_matrix, backend, settings, tmp_path).summary
    assert s["kept"] == 16 and s["pending"] == 0 and s["dropped"] == 0
    records = _records(tmp_path)
    neutrals = sum(r.neutral is not None for r in records)
    assert 0 < neutrals < 16 and s["with_neutral"] == neutrals and s["with_rubric"] == 16
    dims = healthbench_matrix.dimension_ids
    for record in records:
        # medium and poor are edits of good along the target dimension, not independent answers
        tag = record.good.split(":", 1)[0].split()[-1]
        target = healthbench_matrix.dimension(record.dimension).name
        assert record.medium.startswith(f"MEDIUM answer {tag}") and record.medium.endswith(f"[{target}]")
        assert record.poor.startswith(f"POOR answer {tag}")
        assert record.rubric and {i["kind"] for i in record.rubric} == {"principle", "hard_rule"}
    for entry in _log(tmp_path):  # every answer was judged on every dimension
        answers = {"good", "medium", "poor"} | ({"neutral"} if entry["record"].get("neutral") else set())
        assert set(entry["judge"]) == answers and all(set(v) == set(dims) for v in entry["judge"].values())
    # the requests: one draft, counterfactual and rubric per record, a neutral where planned, one judge
    # request per answer; within the window; each with its own seed, the guided schema and Qwen3's kwargs
    assert dict(model.steps) == {
        "draft": 16,
        "counterfactual": 16,
        "neutral": neutrals,
        "rubric": 16,
        "judge": 3 * 16 + neutrals,
    }
    assert s["throughput"]["requests"] == {"generator": 48 + neutrals, "judge": 48 + neutrals}
    assert server.max_in_flight <= 6
    assert all(b["response_format"]["type"] == "json_schema" for b in server.bodies)
    assert all(b["chat_template_kwargs"] == {"enable_thinking": False} for b in server.bodies)
    assert len({b["seed"] for b in server.bodies}) == len(server.bodies)
    judge = [b for b in server.bodies if b["messages"][0]["content"] == SYSTEM_JUDGE]
    generator = [b for b in server.bodies if b["messages"][0]["content"] != SYSTEM_JUDGE]
    assert {b["temperature"] for b in generator} == {0.7} and {b["temperature"] for b in judge} == {0.0}
    # the instructions carry the matrix's own text
    acc = healthbench_matrix.dimension("accuracy")
    rewrite = next(
        _user(b)
        for b in server.bodies
        if "Rewrite the original" in _user(b) and f"Target dimension: {acc.name} -" in _user(b)
    )
    assert acc.levels["poor"] in rewrite and "[-10, hard rule] Recommends a treatment" in rewrite
    verdict = next(_user(b) for b in judge if "Rubric written for this question" in _user(b))
    for dim in healthbench_matrix.dimensions:
        assert dim.description.strip() in verdict and dim.levels["medium"] in verdict
    assert "R3 [-4, principle, accuracy]" in verdict and "[+5, hard rule] States medical facts" in verdict
    # the key travelled, but never reached a file
    assert server.authorizations() == {f"Bearer {SECRET}"}
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and SECRET in p.read_text()]


def test_unusable_rubrics_are_resampled_then_dropped_and_counted(tmp_path, monkeypatch, mrrml_matrix):
    """Stands for a generator whose first rubric for a question cannot separate the answers."""
    with ChatStandIn(SynthModel(bad_rubrics=1)) as server:
        backend = _backend(mrrml_matrix, _client(server.base_url, monkeypatch))
        s = run_synthesis(mrrml_matrix, backend, SynthSettings(n=6, backend="openai", neutral_rate=0), tmp_path).summary
    assert s["kept"] == 6 and s["with_rubric"] == 6 and s["events"] == {"rubric resampled": 6}
    assert all("ALWAYS MET" not in i["criterion"] for r in _records(tmp_path) for i in r.rubric)
    with ChatStandIn(SynthModel(bad_rubrics=9)) as server:
        backend = _backend(
            mrrml_matrix, _client(server.base_url, monkeypatch), settings=LLMSynthSettings(rubric_tries=2)
        )
        s = run_synthesis(
            mrrml_matrix, backend, SynthSettings(n=6, backend="openai", neutral_rate=0), tmp_path / "b"
        ).summary
    # no rubric reproduced the order: the rubric is dropped (counted), the record judged without one and kept
    assert s["kept"] == 6 and s["with_rubric"] == 0
    assert s["events"] == {"rubric resampled": 12, "rubric dropped": 6}


def test_judge_drops_triplets_that_moved_other_dimensions_and_removes_drifting_neutrals(
    tmp_path, monkeypatch, healthbench_matrix
):
    """Stands for a generator whose rewrite sometimes degrades more than the target dimension, and whose
    neutral rewrite sometimes changes quality: the judge's scores on every dimension catch both."""
    with ChatStandIn(SynthModel(leaky_every=3, neutral_drift_every=2)) as server:
        backend = _backend(healthbench_matrix, _client(server.base_url, monkeypatch))
        s = run_synthesis(
            healthbench_matrix, backend, SynthSettings(n=30, backend="openai", neutral_rate=1.0), tmp_path
        ).summary
    dropped = s["drops_by_reason"]
    assert s["dropped"] > 0 and s["kept"] + s["dropped"] == 30
    assert all(reason.startswith("filter: judge: ") and " moved with " in reason for reason in dropped)
    removed = s["events"]["neutral removed"]
    assert 0 < removed < s["kept"] and s["with_neutral"] == s["kept"] - removed
    drops = [e for e in _log(tmp_path) if "drop" in e]
    assert all(set(e["judge"]) == {"good", "medium", "poor", "neutral"} for e in drops)  # the evidence is kept


def test_without_guided_decoding_replies_are_parsed_and_retried(tmp_path, monkeypatch, mrrml_matrix):
    """Stands for a server without guided decoding (``response_format`` answered with 400) and a model that
    wraps its JSON in prose the first time: the schema is dropped after the first refusal and every
    unreadable reply is asked again with a new seed."""
    model = SynthModel(sloppy=True)
    with ChatStandIn(model, guided="reject") as server:
        backend = _backend(mrrml_matrix, _client(server.base_url, monkeypatch), window=1)
        s = run_synthesis(mrrml_matrix, backend, SynthSettings(n=3, backend="openai", neutral_rate=0), tmp_path).summary
    assert s["kept"] == 3
    refused = [b for b in server.bodies if "response_format" in b]
    assert len(refused) == 2  # one refusal per session (generator, judge), then never sent again
    seeds: dict[str, set[int]] = {}
    for body in server.bodies:
        if "response_format" not in body:
            seeds.setdefault(json.dumps(body["messages"]), set()).add(body["seed"])
    # every request was answered with prose once, then asked again with a new seed and parsed
    assert sum(model.steps.values()) == len(server.bodies) - 2 == 2 * len(seeds)
    assert all(len(s) == 2 for s in seeds.values())


def test_thinking_model_and_length_cuts(tmp_path, monkeypatch, mrrml_matrix):
    """Stands for Qwen3 on vLLM with thinking left on (``chat_template_kwargs`` not sent): replies open
    with ``<think>``, which is removed; and for replies cut at ``max_tokens``: retried once with twice the
    tokens, else dropped as truncated (not as malformed)."""
    with ChatStandIn(SynthModel(), thinking=True) as server:
        client = _client(server.base_url, monkeypatch, chat_template_kwargs=None, max_tokens=60)
        s = run_synthesis(
            mrrml_matrix, _backend(mrrml_matrix, client), SynthSettings(n=3, backend="openai", neutral_rate=0), tmp_path
        ).summary
        assert s["kept"] == 3
        cut = [b["max_tokens"] for b in server.bodies]
        assert 120 in cut and set(cut) == {60, 120}  # thinking plus a judge verdict overran 60 words
        client = _client(server.base_url, monkeypatch, max_tokens=5)
        s = run_synthesis(
            mrrml_matrix,
            _backend(mrrml_matrix, client),
            SynthSettings(n=3, backend="openai", neutral_rate=0),
            tmp_path / "cut",
        ).summary
    assert s["kept"] == 0 and s["drops_by_reason"] == {"backend: draft: truncated (reply cut at max_tokens)": 3}


def test_outage_is_retried_later_in_the_run_and_never_dropped(tmp_path, monkeypatch, mrrml_matrix):
    """Stands for a vLLM server restarting mid-run (connection refused / 503 for a while) and a hosted API
    answering 429 with ``Retry-After``: the items wait and finish; nothing is dropped."""
    model = SynthModel()

    def restarting(count, body, headers):
        return (503, error_body("loading model")) if 10 <= count < 30 else model(count, body, headers)

    with ChatStandIn(rate_limited(restarting, every=7, retry_after="0.01")) as server:
        client = _client(server.base_url, monkeypatch, max_retries=0)
        backend = _backend(mrrml_matrix, client, outage_retries=6, outage_wait=0.02)
        s = run_synthesis(mrrml_matrix, backend, SynthSettings(n=8, backend="openai"), tmp_path).summary
    assert s["kept"] == 8 and s["pending"] == 0 and s["dropped"] == 0


def test_server_gone_leaves_items_pending_and_a_rerun_finishes_byte_identical(tmp_path, monkeypatch, mrrml_matrix):
    """Stands for a server that crashes for good mid-run: unfinished items are not logged (no final drop);
    the same command against the revived server finishes them, and the files equal an uninterrupted run's."""
    settings = SynthSettings(n=12, backend="openai", neutral_rate=0.5)
    with ChatStandIn(SynthModel()) as server:
        run_synthesis(
            mrrml_matrix, _backend(mrrml_matrix, _client(server.base_url, monkeypatch)), settings, tmp_path / "ref"
        )

    model = SynthModel()

    def dying(count, body, headers):
        if count > 40:
            return 503, error_body("gone")
        return model(count, body, headers)

    with ChatStandIn(dying) as server:
        backend = _backend(mrrml_matrix, _client(server.base_url, monkeypatch, max_retries=0), outage_retries=1)
        first = run_synthesis(mrrml_matrix, backend, settings, tmp_path / "run").summary
    assert first["pending"] > 0 and first["dropped"] == 0 and first["kept"] + first["pending"] == 12
    assert all("generator unavailable" in k or "judge unavailable" in k for k in first["backend_failures_this_session"])
    with ChatStandIn(SynthModel()) as revived:
        backend = _backend(mrrml_matrix, _client(revived.base_url, monkeypatch))
        second = run_synthesis(mrrml_matrix, backend, settings, tmp_path / "run").summary
    assert second["kept"] == 12 and second["pending"] == 0
    for name in SPLITS:
        assert (tmp_path / "run" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()


def test_garbage_server_outputs_are_counted_as_malformed(tmp_path, monkeypatch, mrrml_matrix):
    """Stands for a model that answers 200 OK with text that is not the requested JSON (no guided decoding)."""
    garbage = lambda n, body, headers: (200, completion("Sure! Here is a great answer: {prompt: oops"))  # noqa: E731
    with ChatStandIn(garbage) as server:
        backend = _backend(mrrml_matrix, _client(server.base_url, monkeypatch))
        s = run_synthesis(mrrml_matrix, backend, SynthSettings(n=6, backend="openai"), tmp_path).summary
    assert s["kept"] == 0 and s["dropped"] == 6 and s["pending"] == 0
    assert list(s["drops_by_reason"]) == ["backend: draft: malformed: not JSON (Expecting value)"]
    assert server.requests == 6 * 3  # each draft asked 1 + parse_retries times
    assert (tmp_path / "train.jsonl").read_text() == ""


def test_emitted_eval_rows_load_and_score_as_healthbench(tmp_path, monkeypatch, healthbench_matrix):
    """``emit_eval`` writes the kept prompts and rubrics as HealthBench rows: they load with the HealthBench
    reader and a policy is graded on them (stand-in policy and grader)."""
    from mrrml.eval.healthbench.cache import ResponseCache
    from mrrml.eval.healthbench.data import load_examples
    from mrrml.eval.healthbench.grader import RubricGrader
    from mrrml.eval.healthbench.grader_prompt import load_grader_template
    from mrrml.eval.healthbench.grades import score_graded
    from mrrml.eval.healthbench.runner import run_examples
    from mrrml.eval.healthbench.sampler import OpenAISampler
    from tests.eval.conftest import StandIn, good_grader, policy

    rows = tmp_path / "eval.jsonl"
    with ChatStandIn(SynthModel()) as server:
        backend = _backend(healthbench_matrix, _client(server.base_url, monkeypatch))
        s = run_synthesis(
            healthbench_matrix, backend, SynthSettings(n=10, backend="openai"), tmp_path, emit_eval=rows
        ).summary
    examples = load_examples(rows)
    assert len(examples) == s["with_rubric"] == 10
    first = examples[0]
    assert first.theme in healthbench_matrix.scenario_ids and any(t.startswith("split:") for t in first.example_tags)
    assert {item.axis for e in examples for item in e.rubrics} <= set(healthbench_matrix.dimension_ids)
    policy_server, grader_server = StandIn(policy), StandIn(good_grader)  # started at once
    try:
        with ResponseCache(tmp_path / "s.jsonl") as samples, ResponseCache(tmp_path / "g.jsonl") as grades:
            sampler = OpenAISampler(ChatClient.from_env(policy_server.base_url, "policy", None))
            grader_client = ChatClient.from_env(grader_server.base_url, "grader", None)
            out = run_examples(examples, sampler, RubricGrader(grader_client, load_grader_template(), grades), samples)
    finally:
        policy_server.close()
        grader_server.close()
    scored = score_graded(out.graded)
    assert scored["counts"]["examples_scored"] == 10 and "overall_score" in scored["metrics"]
    assert any(k.startswith("theme:") for k in scored["metrics"]) and any(
        k.startswith("axis:") for k in scored["metrics"]
    )


def test_bad_backend_settings_are_config_errors(monkeypatch, mrrml_matrix):
    client = ChatClient.from_env("http://127.0.0.1:1/v1", "m", None)
    for kwargs, match in [
        ({"window": 0}, "window"),
        ({"outage_retries": -1}, "outage_retries"),
        ({"outage_wait": -1.0}, "outage_wait"),
        ({"settings": LLMSynthSettings(rubric_tries=0)}, "rubric_tries"),
        ({"settings": LLMSynthSettings(tolerance=-1)}, "tolerance"),
        ({"settings": LLMSynthSettings(parse_retries=-1)}, "parse_retries"),
    ]:
        with pytest.raises(ConfigError, match=match):
            OpenAIBackend(mrrml_matrix, 0, client, **kwargs)


def test_resume_with_another_method_is_refused(tmp_path, monkeypatch, mrrml_matrix):
    with ChatStandIn(SynthModel()) as server:
        client = _client(server.base_url, monkeypatch)
        run_synthesis(mrrml_matrix, _backend(mrrml_matrix, client), SynthSettings(n=2, backend="openai"), tmp_path)
        changed = _backend(mrrml_matrix, client, settings=LLMSynthSettings(tolerance=1.0))
        with pytest.raises(ConfigError, match="backend_method"):
            run_synthesis(mrrml_matrix, changed, SynthSettings(n=2, backend="openai"), tmp_path)
        # the window is how calls are scheduled, not which records are made: a resume may change it
        run_synthesis(
            mrrml_matrix, _backend(mrrml_matrix, client, window=3), SynthSettings(n=2, backend="openai"), tmp_path
        )


def test_llm_judge_as_a_consistency_filter(tmp_path, monkeypatch, mrrml_matrix):
    """The reasoning judge scoring records of any backend (here hand-written ones) for ConsistencyFilter."""
    with ChatStandIn(SynthModel()) as server:
        backend = _backend(mrrml_matrix, _client(server.base_url, monkeypatch))
        judge = ConsistencyFilter(LLMJudge(backend.complete, mrrml_matrix))
        dim = mrrml_matrix.dimensions[0]
        name = dim.name
        record = TripletRecord(
            id="x",
            prompt="q",
            dimension=dim.id,
            scenario=mrrml_matrix.scenario_ids[0],
            discipline=mrrml_matrix.discipline_ids[0],
            good="GOOD text",
            medium=f"MEDIUM text [{name}]",
            poor=f"POOR text [{name}]",
        )
        assert judge.check(record) is None
        record.good, record.poor = record.poor, record.good
        assert judge.check(record) == "judge: good <= medium"
    assert judge.report.checked == 2 and judge.report.kept == 1


def test_transformers_backend_with_tiny_qwen3(tmp_path, tiny_qwen3_dir, mrrml_matrix):
    """A random-init model writes garbage: every item must be dropped as malformed or truncated, none kept."""
    from mrrml.data.synth.transformers_backend import TransformersBackend, TransformersGenerator

    gen = TransformersGenerator(str(tiny_qwen3_dir), max_new_tokens=6)
    reply = gen.complete([{"role": "user", "content": "hello"}], seed=1)
    assert isinstance(reply, str) and reply == gen.complete([{"role": "user", "content": "hello"}], seed=1)
    backend = TransformersBackend(mrrml_matrix, 0, gen, settings=LLMSynthSettings(parse_retries=0))
    s = run_synthesis(mrrml_matrix, backend, SynthSettings(n=2, backend="transformers"), tmp_path).summary
    assert s["kept"] == 0 and s["dropped"] == 2
    assert all(reason.startswith("backend: draft: ") for reason in s["drops_by_reason"])


def test_cli_openai_backend_with_llm_filter(tmp_path, monkeypatch):
    """`mrrml synth --backend openai --filter llm` end to end against the healthy stand-in."""
    from mrrml.cli import main

    monkeypatch.setenv("MRRML_TEST_KEY", SECRET)
    with ChatStandIn(SynthModel()) as server:
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
