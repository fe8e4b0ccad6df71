"""Scoring frozen-backbone models through the feature cache (``FeatureCacheScorer``).

On the very small random Qwen3 with real tokenizer: the scorer must give ``RewardModel.score``'s scores,
let a second model on the same backbone score without running it, and refuse a backbone that can train.
Tolerance: raw scores within 1e-5 absolute (fp32; the cached features come from training's batch path,
``RewardModel.score`` runs its prompt-shared path), normalised scores and rewards within 1e-4.
"""

from __future__ import annotations

import pytest
import torch

from mrrml.errors import ConfigError
from mrrml.model.backbone import BackboneConfig
from mrrml.model.heads import RewardHeads
from mrrml.model.reward_model import RewardModel
from mrrml.resources import shipped_matrix
from mrrml.standards.loader import load_matrix
from mrrml.training.feature_cache import FeatureCacheScorer
from tests.training.training_helpers import TINY, make_triplets

PROJECTION = 16
RAW_ATOL, SCALED_ATOL = 1e-5, 1e-4


def frozen_model(seed: int = 0) -> RewardModel:
    """A tiny frozen model with trained-looking heads and normalisation (seeded, not the init values)."""
    torch.manual_seed(seed)
    config = BackboneConfig("builtin:tiny-qwen3", tiny=dict(TINY))
    model = RewardModel.build(config, load_matrix(shipped_matrix()), projection_dim=PROJECTION, max_answer_tokens=48)
    model.requires_grad_(False).eval()
    d = model.heads.num_dimensions
    model.set_normalization(torch.randn(d) * 0.1, torch.rand(d) + 0.5)
    return model


def with_other_heads(model: RewardModel, seed: int) -> RewardModel:
    """Another model on the very same backbone object: new projection, heads and normalisation."""
    torch.manual_seed(seed)
    heads = RewardHeads(model.heads.num_dimensions, model.heads.hidden_size, PROJECTION)
    other = RewardModel(
        model.backbone,
        model.tokenizer,
        model.matrix,
        heads,
        model.backbone_config,
        model.anchor,
        model.encoder.max_prompt_tokens,
        model.encoder.max_answer_tokens,
    )
    other.requires_grad_(False).eval()
    other.set_normalization(torch.randn(heads.num_dimensions) * 0.1, torch.rand(heads.num_dimensions) + 0.5)
    return other


def pairs(n: int = 6) -> tuple[list, list[str]]:
    records = make_triplets(n)
    prompts = [r.prompt for r in records for _ in range(3)]
    answers = [a for r in records for a in (r.good, r.medium, r.poor)]
    return prompts, answers


def count_backbone_calls(model: RewardModel) -> list[int]:
    calls = [0]

    def hook(module, args, output):
        calls[0] += 1

    model.backbone.register_forward_hook(hook)
    return calls


def assert_same_scores(got, expected) -> None:
    assert got.dimensions == expected.dimensions
    assert torch.allclose(got.raw, expected.raw, atol=RAW_ATOL)
    assert torch.allclose(got.normalized, expected.normalized, atol=SCALED_ATOL)
    assert torch.allclose(got.reward, expected.reward, atol=SCALED_ATOL)


def test_scores_equal_reward_model_score(tmp_path):
    model = frozen_model()
    prompts, answers = pairs()
    scorer = FeatureCacheScorer(model, tmp_path / "features")
    # Batch size 4 splits the rows of one prompt over batches: keys and scores must not depend on it.
    assert_same_scores(scorer.score(prompts, answers, batch_size=4), model.score(prompts, answers))
    cell = ("emergency_referrals", "cardiology")
    assert_same_scores(scorer.score(prompts, answers, *cell), model.score(prompts, answers, *cell))
    assert scorer.cache.misses == len(answers)  # the second call read every row from the cache
    assert scorer.cache.hits == len(answers)
    assert scorer.dimensions == model.dimensions and scorer.matrix is model.matrix
    assert torch.equal(scorer.weight_vector(*cell), model.weight_vector(*cell))


def test_a_second_model_on_the_same_backbone_scores_from_the_cache(tmp_path):
    first = frozen_model()
    prompts, answers = pairs()
    first_scores = FeatureCacheScorer(first, tmp_path / "features").score(prompts, answers)

    second = with_other_heads(first, seed=1)
    expected = second.score(prompts, answers)  # the reference, before the hook starts counting
    calls = count_backbone_calls(second)
    scorer = FeatureCacheScorer(second, tmp_path / "features")  # a new scorer: rows come from disk
    got = scorer.score(prompts, answers)
    assert calls[0] == 0 and scorer.cache.misses == 0 and scorer.cache.hits == len(answers)
    assert_same_scores(got, expected)
    assert not torch.allclose(got.raw, first_scores.raw, atol=1e-2)  # its own heads, not the first model's


def test_new_answers_are_computed_once_and_kept(tmp_path):
    model = frozen_model()
    prompts, answers = pairs(3)
    calls = count_backbone_calls(model)
    scorer = FeatureCacheScorer(model, tmp_path / "features")
    scorer.score(prompts, answers)
    after_first = calls[0]
    assert after_first > 0
    scorer.score(prompts[:4], [a + " Extra sentence." for a in answers[:4]])  # four new rows
    assert scorer.cache.misses == len(answers) + 4 and calls[0] > after_first
    again = FeatureCacheScorer(model, tmp_path / "features")  # everything was flushed to disk
    again.score(prompts, answers)
    assert again.cache.misses == 0


def test_a_saved_and_reloaded_model_keeps_its_fingerprint(tmp_path):
    """The rows a frozen run wrote serve the model it saved. ``save_pretrained`` writes ``architectures``
    into the backbone's config; a checkpoint built without it (builtin:smollm2-135m, converted from GGUF)
    then reloaded with another config, and every training row missed for the reloaded model."""
    import mrrml
    from mrrml.training.feature_cache import backbone_fingerprint

    model = frozen_model()
    model.backbone.config.architectures = None  # as in the GGUF-converted SmolLM2 checkpoint
    prompts, answers = pairs(2)
    FeatureCacheScorer(model, tmp_path / "features").score(prompts, answers)
    loaded = mrrml.load(model.save_pretrained(tmp_path / "model"))
    assert backbone_fingerprint(loaded.backbone) == backbone_fingerprint(model.backbone)
    scorer = FeatureCacheScorer(loaded, tmp_path / "features")
    assert_same_scores(scorer.score(prompts, answers), model.score(prompts, answers))
    assert scorer.cache.misses == 0


def test_a_backbone_that_can_train_is_refused(tmp_path):
    config = BackboneConfig("builtin:tiny-qwen3", tiny=dict(TINY))
    trainable = RewardModel.build(config, load_matrix(shipped_matrix()), projection_dim=PROJECTION)
    with pytest.raises(ConfigError, match="backbone is not frozen.*model.score"):
        FeatureCacheScorer(trainable, tmp_path / "features")
    trainable.backbone.requires_grad_(False)  # heads may still train: only the backbone's features are cached
    FeatureCacheScorer(trainable, tmp_path / "features")


def test_bad_arguments_fail_before_any_compute(tmp_path):
    model = frozen_model()
    calls = count_backbone_calls(model)
    scorer = FeatureCacheScorer(model, tmp_path / "features")
    prompts, answers = pairs(1)
    with pytest.raises(ConfigError, match="3 prompts but 2 answers"):
        scorer.score(prompts, answers[:2])
    with pytest.raises(ConfigError, match="batch_size"):
        scorer.score(prompts, answers, batch_size=0)
    with pytest.raises(ConfigError):
        scorer.score(prompts, answers, scenario="no_such_scenario")
    assert calls[0] == 0


def test_evaluate_runs_on_the_scorer(tmp_path):
    """``mrrml.eval.quality.evaluate`` takes the scorer where it takes a model, with the same numbers."""
    from mrrml.eval.quality import evaluate, headline_metrics

    model = frozen_model()
    records = make_triplets(6)
    settings = dict(ns=(1, 2), draws=5, n_boot=20, batch_size=8)
    through_cache = evaluate(FeatureCacheScorer(model, tmp_path / "features"), None, records, **settings)
    direct = evaluate(model, None, records, **settings)
    got, expected = headline_metrics(through_cache), headline_metrics(direct)
    assert list(got) == list(expected)
    compared = 0
    for name, value in expected.items():
        # Accuracies, outrank shares and best-of-N count orderings: equal. The |Δreward|/gap ratios are
        # left out: an untrained model's good-poor gap is near 0, which blows the ~1e-6 score differences
        # up without bound (the scores themselves are compared in the tests above).
        if "/sensitivity/" not in name:
            assert got[name] == pytest.approx(value, abs=1e-6, nan_ok=True), name
            compared += 1
    assert compared > 50
