"""``evaluate`` end to end on a real tiny RewardModel (real Qwen3 backbone and tokenizer).

The model under test prefers longer answers, by construction: its backbone is set so that one hidden
coordinate carries the answer's token count and its heads read only that coordinate (see
``length_loving_model``). The evaluation must catch it: padded variants of the worse answer beat the
better answer, and best-of-N picks padding instead of quality. The "good" reference is the oracle
from the labels (scores = true quality), computed by the same metric code.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mrrml.data.records import TripletRecord, read_records, record_to_dict
from mrrml.data.synth.runner import SynthSettings, run_synthesis
from mrrml.data.synth.template_backend import TemplateBackend, condition_of
from mrrml.errors import ConfigError, RecordError
from mrrml.eval.healthbench.data import load_examples
from mrrml.eval.healthbench.rm_modes import PREFERENCE_JUDGES, word_count
from mrrml.eval.quality import evaluate
from mrrml.eval.quality.best_of_n import best_of_n
from mrrml.eval.quality.bootstrap import BootstrapSettings
from mrrml.eval.quality.candidates import build_candidates, prompt_key
from mrrml.eval.quality.holdout import filter_held_out
from mrrml.eval.quality.robustness import robustness
from mrrml.eval.quality.seeds import across_seeds, headline_metrics
from mrrml.eval.quality.summary import physician_table, summary_tables
from mrrml.resources import shipped_matrix
from mrrml.standards.loader import load_matrix

FAST = dict(n_boot=200, draws=60)


@pytest.fixture(scope="module")
def matrix():
    return load_matrix(shipped_matrix("healthbench"))


@pytest.fixture(scope="module")
def synth(tmp_path_factory, matrix):
    """Training data split by condition (`mrrml synth --holdout conditions --seed 4`), and a second run
    (`--holdout prompt --seed 5`) whose test prompts are new; those about training conditions are the
    held-out prompts. (The same seed would give the same records: every prompt-split test record
    would sit in the condition-split training data.)"""
    out = {}
    for holdout, seed in (("conditions", 4), ("prompt", 5)):
        path = tmp_path_factory.mktemp(f"synth-{holdout}")
        settings = SynthSettings(n=240, seed=seed, val_frac=0.1, test_frac=0.1, holdout=holdout)
        run_synthesis(matrix, TemplateBackend(matrix, seed), settings, path, fsync=False)
        out[holdout] = path
    return out


@pytest.fixture(scope="module")
def length_loving_model(tiny_qwen3_dir, matrix):
    """A real RewardModel whose reward, for a given prompt, rises with the answer's token count.

    Weights are set by hand, so the model is deterministic and its preference is known exactly: every
    token embeds as e0 except ``<|im_start|>``, which also has e1; layer 0's queries are zero, so its
    attention averages uniformly over the prefix, and one head writes the average of e1 (the share of
    ``<|im_start|>`` tokens, n/t at position t) to coordinate 2; every other attention and MLP output
    is zero. The anchored embedding's coordinate 2 is then g(n/t_answer) - g(n/t_prompt) with g
    increasing, and the heads weigh it negatively: more answer tokens, higher reward.
    """
    from mrrml.model import BackboneConfig, RewardModel

    model = RewardModel.build(BackboneConfig(name_or_path=str(tiny_qwen3_dir)), matrix)
    backbone = model.backbone
    marker = model.tokenizer.convert_tokens_to_ids("<|im_start|>")
    with torch.no_grad():
        embeddings = backbone.get_input_embeddings().weight
        embeddings.zero_()
        embeddings[:, 0] = 1.0
        embeddings[marker, 1] = 1.0
        for layer in backbone.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        attention = backbone.layers[0].self_attn
        attention.q_proj.weight.zero_()
        attention.v_proj.weight.zero_()
        attention.v_proj.weight[0, 1] = 1.0
        attention.o_proj.weight[2, 0] = 1.0
        model.heads.weight.zero_()
        model.heads.weight[:, 2] = -1000.0
        model.heads.bias.zero_()
    return model.eval()


@pytest.fixture(scope="module")
def test_sets(synth):
    return {
        "prompts": read_records(synth["prompt"] / "test.jsonl").records[:5],
        "conditions": read_records(synth["conditions"] / "test.jsonl").records[:5],
    }


@pytest.fixture(scope="module")
def report(length_loving_model, test_sets, synth):
    return evaluate(
        length_loving_model,
        test_sets["prompts"],
        test_sets["conditions"],
        train=synth["conditions"] / "train.jsonl",
        **FAST,
    )


def test_the_model_under_test_prefers_longer_answers(length_loving_model, test_sets):
    record = test_sets["prompts"][0]
    answers = [record.good, record.medium, record.poor, record.good + "\n\nMore words here.", record.poor[:200]]
    rewards = length_loving_model.score([record.prompt] * len(answers), answers).reward.tolist()
    tokens = [len(length_loving_model.encoder.encode(record.prompt, a).input_ids) for a in answers]
    assert np.argsort(rewards).tolist() == np.argsort(tokens).tolist()


def test_a_length_loving_model_is_caught_by_the_robustness_check(report, test_sets, length_loving_model):
    for name, quality in report.test_sets.items():
        for view in ("head", "reward"):
            rob = quality.views[view].robustness["all"]
            assert rob.outrank["filler"].value >= 0.9, (name, view)
            assert rob.shift["filler"].low > 0, (name, view)  # padding raises the score, interval above 0
            assert rob.outrank["any"].value >= rob.outrank["filler"].value
            assert rob.outrank["reorder"].value == pytest.approx(rob.outrank["as_written"].value, abs=0.25)
            curve = quality.views[view].best_of_n["all"]
            assert curve.model[-1].value < curve.oracle[-1].value - 0.5  # picks padding, not quality
    # The oracle (scores = true quality) on the same candidates: no variant ever wins.
    candidates = build_candidates(test_sets["prompts"], ("filler", "markdown", "polite", "reorder"), 0, {})
    groups = candidates.groups(length_loving_model.dimensions)
    oracle = robustness(candidates.quality(), candidates.kinds, groups, candidates.clusters(), BootstrapSettings(100))
    assert oracle["all"].outrank["pooled"].value == 0.0 and oracle["all"].outrank["filler"].count > 0


def test_best_of_n_oracle_curve_does_not_fall(report):
    for quality in report.test_sets.values():
        oracle = [e.value for e in quality.views["reward"].best_of_n["all"].oracle]
        assert oracle == sorted(oracle) and oracle[0] < oracle[-1]
        assert all(e.low <= e.value <= e.high for e in quality.views["reward"].best_of_n["all"].model)


def test_report_layout_and_json(report, length_loving_model):
    data = report.to_dict()
    json.dumps(data, allow_nan=False)  # JSON-ready: no NaN, no numpy types
    assert data["dimensions"] == length_loving_model.dimensions
    assert set(data["test_sets"]) == {"held_out_prompts", "held_out_conditions"}
    view = data["test_sets"]["held_out_prompts"]["views"]["head"]
    assert set(view) == {"accuracy", "robustness", "best_of_n"}
    assert "all" in view["accuracy"] and set(view["accuracy"]) <= {*length_loving_model.dimensions, "all"}
    assert set(view["robustness"]["all"]["outrank"]) == {
        "as_written", "filler", "markdown", "polite", "reorder", "pooled", "any"
    }  # fmt: skip
    assert view["best_of_n"]["all"]["n"] == [1, 2, 4, 8, 16]
    for estimate in view["accuracy"]["all"].values():
        assert estimate["low"] <= estimate["value"] <= estimate["high"]


def test_summary_tables(report, length_loving_model):
    tables = summary_tables(report)
    assert [t.title.split(" (")[0].split(",")[0] for t in tables] == [
        "Accuracy per dimension",
        "Spurious-feature robustness",
        "Best-of-N true quality",
        "Spurious-feature robustness",
        "Best-of-N true quality",
    ]
    accuracy = tables[0]
    assert [row[0] for row in accuracy.rows][-1] == "all" and len(accuracy.columns) == 5
    all_order = report.test_sets["held_out_prompts"].views["head"].accuracy["all"].order
    assert accuracy.rows[-1][1] == f"{all_order.value:.3f} [{all_order.low:.3f}, {all_order.high:.3f}]"
    robust = tables[1]
    assert [row[0] for row in robust.rows] == ["as_written", "filler", "markdown", "polite", "reorder", "pooled", "any"]
    assert all(len(row) == len(t.columns) for t in tables for row in t.rows)
    with pytest.raises(ConfigError, match="no physician preference"):
        physician_table(report)


def test_mean_and_std_across_seeds(report, length_loving_model, test_sets):
    flat = headline_metrics(report)
    key = "held_out_conditions/head/outrank/all/filler"
    assert flat[key] == report.test_sets["held_out_conditions"].views["head"].robustness["all"].outrank["filler"].value
    assert "held_out_prompts/reward/best_of_n/all/16" in flat
    same = across_seeds([report, report])
    assert same[key].mean == flat[key] and same[key].std == 0.0 and same[key].values == (flat[key], flat[key])
    other = evaluate(length_loving_model, test_sets["prompts"][:2], **FAST)
    with pytest.raises(ConfigError, match="other metrics"):
        across_seeds([report, other])
    with pytest.raises(ConfigError, match="no reports"):
        across_seeds([])


def test_training_data_decides_what_is_held_out(report, synth, test_sets):
    train = read_records(synth["conditions"] / "train.jsonl").records
    seen_prompts = {prompt_key(r.prompt) for r in train}
    seen_conditions = {condition_of(r) for r in train}
    kept, dropped = filter_held_out(test_sets["prompts"], train, "prompts")
    assert len(kept) + sum(dropped.values()) == len(test_sets["prompts"])
    assert all(prompt_key(r.prompt) not in seen_prompts and condition_of(r) in seen_conditions for r in kept)
    kept_c, dropped_c = filter_held_out(test_sets["conditions"], train, "conditions")
    assert kept_c == test_sets["conditions"] and dropped_c == {}  # split by condition: nothing leaks
    leaked, why = filter_held_out(train[:5], train, "conditions")
    assert leaked == [] and why == {"prompt_in_train": 5}
    assert report.test_sets["held_out_prompts"].dropped == dropped
    assert report.test_sets["held_out_prompts"].records == len(kept)


def test_one_score_call_per_test_set_each_answer_once(length_loving_model, test_sets, monkeypatch):
    calls = []
    real = length_loving_model.score

    def counting(prompts, answers, **kwargs):
        calls.append(list(zip(map(prompt_key, prompts), answers)))
        return real(prompts, answers, **kwargs)

    monkeypatch.setattr(length_loving_model, "score", counting)
    result = evaluate(length_loving_model, test_sets["prompts"][:3], **FAST)
    assert len(calls) == 1 and len(set(calls[0])) == len(calls[0])
    assert result.test_sets["held_out_prompts"].answers_scored == len(calls[0])
    applied = result.test_sets["held_out_prompts"].variants_applied
    assert applied["filler"] == sum(3 if r.medium else 2 for r in test_sets["prompts"][:3])


def test_same_seed_same_report(length_loving_model, test_sets):
    first = evaluate(length_loving_model, test_sets["conditions"][:3], seed=7, **FAST).to_dict()
    again = evaluate(length_loving_model, test_sets["conditions"][:3], seed=7, **FAST).to_dict()
    assert first == again


def test_physician_preference_beside_its_baselines(length_loving_model, mini_path):
    from mrrml.resources import healthbench_package_rows

    examples = load_examples(mini_path) + load_examples(healthbench_package_rows(), limit=4)
    hb_report = evaluate(length_loving_model, healthbench=examples, **FAST)
    assert hb_report.test_sets == {}
    judges = hb_report.physician.judges
    assert list(judges) == list(PREFERENCE_JUDGES)
    pairs = {name: t.overall.accuracy.count for name, t in judges.items()}
    assert len(set(pairs.values())) == 1  # every judge on the same pairs
    rows = [e for e in examples if e.ideal and e.ideal.reference_completions]
    assert pairs["model"] == sum(len(e.ideal.reference_completions) for e in rows)
    longer = sum(
        word_count(e.ideal.ideal_completion) > word_count(r) for e in rows for r in e.ideal.reference_completions
    )
    assert judges["prefer_longer"].overall.wins == longer
    assert judges["random"].overall.accuracy.value == 0.5
    for heuristic, opposite in (("prefer_longer", "prefer_shorter"), ("prefer_more_markdown", "prefer_less_markdown")):
        assert judges[heuristic].overall.accuracy.value + judges[opposite].overall.accuracy.value == pytest.approx(1)
    best = hb_report.physician.best_heuristic()
    assert judges[best].overall.accuracy.value == max(
        t.overall.accuracy.value for j, t in judges.items() if j.startswith("prefer_")
    )
    # by theme and by group partition the same pairs
    assert sum(t.accuracy.count for t in judges["model"].by_theme.values()) == pairs["model"]
    assert sum(t.accuracy.count for t in judges["prefer_longer"].by_group.values()) == pairs["model"]
    by_theme = physician_table(hb_report, "theme")
    assert by_theme.columns == ["theme", "pairs", *PREFERENCE_JUDGES]
    assert sum(int(row[1]) for row in by_theme.rows) == pairs["model"]


def test_clear_errors_for_bad_inputs(length_loving_model, tmp_path, test_sets, mini_path, monkeypatch):
    def no_scoring(*args, **kwargs):
        raise AssertionError("inputs must be checked before anything is scored")

    monkeypatch.setattr(length_loving_model, "score", no_scoring)
    with pytest.raises(ConfigError, match="at least one test set"):
        evaluate(length_loving_model)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ConfigError, match=f"held_out_conditions: {empty} holds no triplet records"):
        evaluate(length_loving_model, test_sets["prompts"], held_out_conditions=empty)
    with pytest.raises(ConfigError, match="none of the 0 rows"):
        evaluate(length_loving_model, test_sets["prompts"], healthbench=[])
    without_pairs = [e for e in load_examples(mini_path) if not (e.ideal and e.ideal.reference_completions)]
    with pytest.raises(ConfigError, match=f"none of the {len(without_pairs)} rows has ideal and reference"):
        evaluate(length_loving_model, healthbench=without_pairs)
    with pytest.raises(ConfigError, match="draws must be a positive integer"):
        evaluate(length_loving_model, test_sets["prompts"], draws=0)
    other = load_matrix(shipped_matrix("mr-rml"))
    foreign = tmp_path / "foreign.jsonl"
    record = test_sets["prompts"][0]
    foreign_record = TripletRecord(**{**record_to_dict(record), "dimension": other.dimension_ids[1]})
    foreign.write_text(json.dumps(record_to_dict(record)) + "\n" + json.dumps(record_to_dict(foreign_record)) + "\n")
    with pytest.raises(RecordError, match=rf"{foreign}:2: dimension: unknown dimension"):
        evaluate(length_loving_model, foreign)
    with pytest.raises(RecordError, match="expected a TripletRecord"):
        evaluate(length_loving_model, [record, {"good": "x"}])
    with pytest.raises(ConfigError, match="variants"):
        evaluate(length_loving_model, [record], variants=["filler", "filler"])
    with pytest.raises(ConfigError, match="best_of_n"):
        evaluate(length_loving_model, [record], ns=[0])
    with pytest.raises(ConfigError, match=r"no record of <memory> is held out .*'prompt_in_train': 1"):
        evaluate(length_loving_model, [record], train=[record])


def test_best_of_n_checks_draws():
    table = np.zeros((1, 3, 1))
    with pytest.raises(ConfigError, match="draws must be a positive integer"):
        best_of_n(table, table, {"all": np.array([0])}, ["p"], BootstrapSettings(10), draws=0)
