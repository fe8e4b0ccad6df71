"""The local transformers sampler: chat template, left-padded batches, system message recorded."""

from __future__ import annotations

import pytest

from mrrml.eval.healthbench.cache import ResponseCache
from mrrml.eval.healthbench.data import load_examples
from mrrml.eval.healthbench.grader import RubricGrader
from mrrml.eval.healthbench.grader_prompt import load_grader_template
from mrrml.eval.healthbench.grades import score_graded
from mrrml.eval.healthbench.runner import run_examples
from mrrml.eval.healthbench.sampler import TransformersSampler
from mrrml.openai_client import ChatClient


@pytest.fixture(scope="module")
def sampler(tiny_qwen3_dir):
    return TransformersSampler(
        str(tiny_qwen3_dir), system_message="Answer briefly.", max_new_tokens=5, batch_size=3, device="cpu"
    )


def test_batched_generation_equals_one_by_one(sampler):
    conversations = [
        [{"role": "user", "content": "Hi"}],
        [{"role": "user", "content": "My ankle has been swollen for three days after a fall."}],
        [
            {"role": "user", "content": "Dose?"},
            {"role": "assistant", "content": "Of what?"},
            {"role": "user", "content": "Paracetamol for an adult."},
        ],
    ]
    batched = sampler.generate(conversations)
    single = [sampler.generate([c])[0] for c in conversations]
    assert batched == single and all(isinstance(t, str) for t in batched)
    assert sampler.tokenizer.padding_side == "left"
    assert sampler.describe()["system_message"] == "Answer briefly."


def test_run_with_local_sampler(tmp_path, sampler, mini_path, grader_server):
    examples = load_examples(mini_path, limit=2)
    grader = RubricGrader(
        ChatClient.from_env(grader_server.base_url, "g", None),
        load_grader_template(),
        ResponseCache(tmp_path / "g.jsonl"),
    )
    with ResponseCache(tmp_path / "s.jsonl") as samples:
        out = run_examples(examples, sampler, grader, samples)
        again = run_examples(examples, sampler, grader, samples)
    grader.cache.close()
    assert out.sampler_calls == 2 and out.grader_calls == 7 and len(grader_server.requests) == 7
    assert again.sampler_calls == 0 and again.grader_calls == 0  # both answers came from the cache
    assert [g.completion for g in again.graded] == [g.completion for g in out.graded]
    assert score_graded(out.graded)["metrics"]["overall_score:n_samples"] == 2
