"""Reward-model modes (physician preference, RM as grader) and grader-vs-physician meta-eval."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import torch

from mrrml.cli import main
from mrrml.eval.healthbench.cache import ResponseCache
from mrrml.eval.healthbench.data import load_examples, load_meta_eval
from mrrml.eval.healthbench.grader import RubricGrader
from mrrml.eval.healthbench.grader_prompt import load_grader_template
from mrrml.eval.healthbench.grades import read_grades
from mrrml.eval.healthbench.rm_modes import (
    markdown_elements,
    meta_eval,
    pairwise_agreement,
    physician_preference,
    rm_grader_correlation,
    spearman,
    word_count,
)
from mrrml.openai_client import ChatClient

AXES = ["accuracy", "completeness", "communication_quality", "context_awareness", "instruction_following"]


@dataclass
class Scores:
    dimensions: list[str]
    raw: torch.Tensor
    reward: torch.Tensor


class LengthScorer:
    """A transparent scorer with the RewardModel.score interface: every head = answer length in words.
    Used where a hand-computable expectation is needed; the real RewardModel is tested below."""

    def score(self, prompts, answers, batch_size=16):
        lengths = torch.tensor([float(len(a.split())) for a in answers])
        return Scores(AXES, lengths[:, None].repeat(1, len(AXES)), lengths)


@pytest.fixture(scope="module")
def tiny_rm(tiny_qwen3_dir):
    from mrrml.model import BackboneConfig, RewardModel
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    torch.manual_seed(0)
    return RewardModel.build(
        BackboneConfig(name_or_path=str(tiny_qwen3_dir)), load_matrix(shipped_matrix("healthbench"))
    )


def test_spearman_hand_computed():
    assert spearman([1, 2, 3, 4], [10, 20, 40, 30]) == pytest.approx(0.8)
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(1.5 / 3**0.5)
    assert spearman([1, 1], [1, 2]) != spearman([1, 1], [1, 2])  # NaN for a constant side


def test_physician_preference_hand_computed(mini_path):
    result = physician_preference(LengthScorer(), load_examples(mini_path))
    # Only fx-1 has reference completions; its ideal is longer than all four references.
    assert result["overall"] == {"pairs": 4, "wins": 4, "ties": 0, "accuracy": 1.0}
    assert result["by_theme"] == {"emergency_referrals": result["overall"]}
    assert result["by_group"].keys() == {"Group 2"} and result["examples"] == 1
    judges = result["judges"]
    # The scorer's reward is the word count, so the model and the prefer-longer baseline agree exactly.
    assert judges["model"] == judges["prefer_longer"]
    assert judges["random"]["overall"]["value"] == 0.5 and judges["random"]["overall"]["count"] == 4
    # No answer of fx-1 has any Markdown: four ties.
    assert judges["prefer_more_markdown"]["overall"] == judges["random"]["overall"]
    assert judges["random"]["overall"]["ties"] == 4 and judges["random"]["overall"]["wins"] == 0
    assert result["bootstrap"] == {"n_boot": 1000, "confidence": 0.95, "seed": 0}


def test_markdown_and_word_counts():
    text = (
        "# Title\n\nSome **bold** and __more__ text.\n\n- one\n* two\n1. three\n2) four\n\n| a | b |\n[link](http://x)"
    )
    # heading 1, bold 2, list items 4, table row 1, link 1
    assert markdown_elements(text) == 9
    assert markdown_elements("Plain prose, no markup - not a list.") == 0
    assert word_count("  three   words\nhere ") == 3


def test_physician_preference_with_the_real_reward_model(tiny_rm, mini_path, healthbench_hard_sample):
    examples = load_examples(mini_path) + load_examples(healthbench_hard_sample, limit=3)
    result = physician_preference(tiny_rm, examples, batch_size=8)
    rows = [e for e in examples if e.ideal and e.ideal.reference_completions]
    assert result["overall"]["pairs"] == sum(len(e.ideal.reference_completions) for e in rows)
    # Recompute one row's outcome directly from the model.
    ex = rows[0]
    reward = tiny_rm.score([ex.prompt] * 5, [ex.ideal.ideal_completion, *ex.ideal.reference_completions]).reward
    wins = int((reward[0] > reward[1:]).sum())
    single = physician_preference(tiny_rm, [ex])
    assert single["overall"]["wins"] == wins
    assert sum(t["pairs"] for t in result["by_theme"].values()) == result["overall"]["pairs"]


def _graded_run(tmp_path, mini_path, policy_server, grader_server):
    assert (
        main(
            [
                "healthbench",
                "run",
                "--data",
                str(mini_path),
                "--out",
                str(tmp_path),
                "--sampler-base-url",
                policy_server.base_url,
                "--sampler-model",
                "p",
                "--grader-base-url",
                grader_server.base_url,
                "--grader-model",
                "g",
            ]
        )
        == 0
    )
    return read_grades(tmp_path / "graded.jsonl")


def test_rm_grader_correlation(tmp_path, mini_path, policy_server, grader_server, tiny_rm):
    graded = _graded_run(tmp_path, mini_path, policy_server, grader_server)
    result = rm_grader_correlation(tiny_rm, graded)
    assert set(result["axes"]) == set(AXES)
    assert result["axes"]["instruction_following"]["n"] == 0  # only negative items: no axis score
    assert result["axes"]["accuracy"]["n"] == 3 and result["axes"]["completeness"]["n"] == 1
    assert result["dimensions"] == tiny_rm.dimensions and result["overall"]["n"] == 3
    ordered = rm_grader_correlation(LengthScorer(), graded)  # completion lengths vs grader scores
    lengths = [len(g.completion.split()) for g in graded]
    assert ordered["overall"]["spearman"] == pytest.approx(spearman(lengths, [0.25, 1.0, -2.2]), nan_ok=True)


def test_pairwise_agreement_hand_computed(meta_path):
    rows = load_meta_eval(meta_path)
    m = pairwise_agreement([True, False, True], [r.binary_labels for r in rows], [r.category for r in rows], "model")
    value = {k: v["value"] for k, v in m.items()}
    assert value["pairwise_model_precision_pos"] == pytest.approx(3 / 4)
    assert value["pairwise_model_precision_neg"] == pytest.approx(2 / 3)
    assert value["pairwise_model_recall_pos"] == pytest.approx(3 / 4)
    assert value["pairwise_model_recall_neg"] == pytest.approx(2 / 3)
    assert value["pairwise_model_f1_balanced"] == pytest.approx((3 / 4 + 2 / 3) / 2)
    assert m["pairwise_model_precision_pos"]["n"] == 4
    assert value["cluster:context_seeking_context: pairwise_model_precision_pos"] == pytest.approx(1 / 2)


def test_meta_eval_with_stand_in_grader(tmp_path, meta_path, grader_server):
    client = ChatClient.from_env(grader_server.base_url, "judge", None)
    with ResponseCache(tmp_path / "c.jsonl") as cache:
        result = meta_eval(RubricGrader(client, load_grader_template(), cache), load_meta_eval(meta_path))
    assert result["metrics"]["pairwise_model_f1_balanced"] == pytest.approx((3 / 4 + 2 / 3) / 2)
    assert result["rows_failed"] == 0 and 0 <= result["physician_baseline"]["pairwise_physician_f1_balanced"] <= 1
    out = tmp_path / "meta.json"
    assert (
        main(
            [
                "healthbench",
                "meta-eval",
                "--data",
                str(meta_path),
                "--out",
                str(out),
                "--grader-base-url",
                grader_server.base_url,
                "--grader-model",
                "judge",
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["metrics"]["pairwise_model_f1_balanced"] == pytest.approx(0.7083333)


def test_rm_cli_commands_on_a_saved_model(tmp_path, tiny_rm, mini_path, policy_server, grader_server):
    model_dir = tmp_path / "rm"
    tiny_rm.save_pretrained(model_dir)
    out = tmp_path / "pref.json"
    assert (
        main(
            [
                "healthbench",
                "rm-preference",
                "--reward-model",
                str(model_dir),
                "--data",
                str(mini_path),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    pref = json.loads(out.read_text())
    assert pref["overall"] == physician_preference(tiny_rm, load_examples(mini_path))["overall"]
    _graded_run(tmp_path / "run", mini_path, policy_server, grader_server)
    assert (
        main(
            [
                "healthbench",
                "rm-grader",
                "--reward-model",
                str(model_dir),
                "--grades",
                str(tmp_path / "run" / "graded.jsonl"),
                "--out",
                str(tmp_path / "g.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "g.json").read_text())["axes"]["accuracy"]["n"] == 3
