"""Scoring: hand-computed expectations, and a cross-check against the reference's own functions."""

from __future__ import annotations

import numpy as np
import pytest

from mrrml.eval.healthbench.data import load_examples
from mrrml.eval.healthbench.scoring import LengthAdjustment, aggregate, bootstrap_std, example_metrics, rubric_score

from .conftest import marker_grade
from .reference_impl import SingleEvalResult, load_reference


def _items(example):
    return [(i.points, i.tags, marker_grade(i.criterion)) for i in example.rubrics]


def test_rubric_score_counts_negative_items_and_needs_positive_points():
    assert rubric_score([(6, True), (4, False), (-5, True), (2, True)]) == pytest.approx(3 / 12)
    assert rubric_score([(5, False), (-8, True), (-3, True)]) == pytest.approx(-11 / 5)  # not clipped
    assert rubric_score([(-3, True), (-1, False)]) is None
    assert rubric_score([]) is None


def test_example_metrics_hand_computed(mini_path):
    ex1, ex2, ex3 = load_examples(mini_path)
    m1 = example_metrics(_items(ex1), ex1.example_tags)
    assert m1 == pytest.approx(
        {
            "overall_score": 0.25,
            "theme:emergency_referrals": 0.25,
            "physician_agreed_category:non-emergent": 0.25,
            "axis:accuracy": 1 / 6,
            "axis:completeness": 0.0,
            "axis:communication_quality": 1.0,
            "level:example": 0.1,
            "level:cluster": 1.0,
            "cluster:clarity": 1.0,
        }
    )
    m3 = example_metrics(_items(ex3), ex3.example_tags)
    # axis:instruction_following has only a negative item: no value, not 0 and not -inf.
    assert "axis:instruction_following" not in m3
    assert m3 == pytest.approx(
        {"overall_score": -2.2, "theme:health_data_tasks": -2.2, "axis:accuracy": -1.6, "level:example": -2.2}
    )
    assert example_metrics(_items(ex2), ex2.example_tags)["axis:context_awareness"] == pytest.approx(1.0)


def test_clipping_happens_only_at_the_mean():
    per_example = [{"overall_score": 1.0}, {"overall_score": 0.9}, {"overall_score": -0.4}]
    out = aggregate(per_example, seed=0, n_bootstrap=50)
    assert out["overall_score"] == pytest.approx(0.5)  # per-example clipping would give 0.6333
    assert out["overall_score:n_samples"] == 3
    assert aggregate([{"overall_score": -2.0}, {"overall_score": 0.5}], n_bootstrap=10)["overall_score"] == 0.0
    assert aggregate([{"overall_score": 1.5}, {"overall_score": 1.0}], n_bootstrap=10)["overall_score"] == 1.0


def test_aggregate_on_fixture_hand_computed(mini_path):
    per = [example_metrics(_items(ex), ex.example_tags) for ex in load_examples(mini_path)]
    out = aggregate(per, seed=3, n_bootstrap=200)
    assert out["overall_score"] == 0.0  # mean(0.25, 1, -2.2) < 0
    assert out["axis:completeness"] == 0.0 and out["axis:completeness:n_samples"] == 1
    assert out["axis:context_awareness"] == 1.0 and out["axis:accuracy:n_samples"] == 3
    assert out["theme:context_seeking"] == 1.0 and out["theme:context_seeking:bootstrap_std"] == 0.0
    assert "axis:instruction_following" not in out
    assert out == aggregate(per, seed=3, n_bootstrap=200)  # seeded: reproducible
    assert out["overall_score:bootstrap_std"] > 0


def test_length_adjustment_moves_example_score_only():
    items = [(4, ["axis:accuracy"], True), (4, ["axis:completeness"], False)]
    adj = LengthAdjustment(center=100, penalty=0.1)
    m = example_metrics(items, ["theme:hedging"], completion="x" * 1100, length=adj)
    assert m["overall_score"] == pytest.approx(0.5 - 0.1 * 1000 / 500)
    assert m["theme:hedging"] == m["overall_score"]
    assert m["axis:accuracy"] == 1.0  # rubric tags are not adjusted


# ------------------------------------------------------------------------------ reference
@pytest.fixture(scope="module")
def reference():
    ref = load_reference()
    if ref is None:
        pytest.skip("nvidia-simple-evals (simple_evals/evals/healthbench_eval.py) is not installed")
    return ref


def _random_example(rng: np.random.Generator):
    n = int(rng.integers(1, 9))
    items, _grades = [], []
    axes = ["accuracy", "completeness", "communication_quality", "context_awareness", "instruction_following"]
    for _ in range(n):
        points = int(rng.choice([-4, -2, 1, 3, 5, 8]))
        tags = [f"axis:{rng.choice(axes)}", str(rng.choice(["level:example", "level:cluster"]))]
        items.append((points, tags, bool(rng.random() < 0.6)))
    if all(p <= 0 for p, _, _ in items):
        items.append((4, ["axis:accuracy", "level:example"], bool(rng.random() < 0.5)))
    return items, [f"theme:{rng.choice(['hedging', 'communication', 'global_health'])}"]


def _reference_example_metrics(ref, items, example_tags):
    """The reference's per-example metric assembly, expressed with its own calculate_score."""
    from types import SimpleNamespace as Item

    rubric = [Item(points=p, tags=t) for p, t, _ in items]
    grades = [{"criteria_met": m} for _, _, m in items]
    metrics = {"overall_score": ref.calculate_score(rubric, grades)}
    metrics.update(dict.fromkeys(example_tags, metrics["overall_score"]))
    for tag in {t for _, tags, _ in items for t in tags}:
        pairs = [(r, g) for r, g in zip(rubric, grades) if tag in r.tags]
        score = ref.calculate_score([r for r, _ in pairs], [g for _, g in pairs])
        if score is not None:
            metrics[tag] = score
    return metrics


def test_matches_reference_per_example_and_aggregate(reference):
    rng = np.random.default_rng(7)
    examples = [_random_example(rng) for _ in range(60)]
    mine = [example_metrics(items, tags) for items, tags in examples]
    theirs = [_reference_example_metrics(reference, items, tags) for items, tags in examples]
    assert any(m["overall_score"] < 0 for m in mine)  # unclipped per-example scores are exercised
    for a, b in zip(mine, theirs):
        assert a == pytest.approx(b)
    results = [SingleEvalResult(score=m["overall_score"], metrics=m) for m in theirs]
    np.random.seed(0)
    ref_result = reference._aggregate_get_clipped_mean("healthbench", results)
    # The reference also aggregates a duplicate "score" (= overall_score), pops its mean into
    # EvalResult.score and leaves "score:n_samples"/"score:bootstrap_std" behind: not metrics.
    ref_out = {k: v for k, v in ref_result.metrics.items() if not k.startswith("score:")}
    assert ref_result.score == pytest.approx(aggregate(mine, n_bootstrap=1)["overall_score"])
    out = aggregate(mine, seed=0)
    assert set(out) == set(ref_out)
    for key, value in ref_out.items():
        if key.endswith(":bootstrap_std"):
            assert out[key] == pytest.approx(value, rel=0.15, abs=1e-3), (
                key,
                out[key.split(":b")[0]],
                out[key.replace("bootstrap_std", "n_samples")],
            )  # independent resampling streams
        else:
            assert out[key] == pytest.approx(value)


def test_bootstrap_draws_equal_the_reference_for_the_same_seed(reference):
    values = list(np.random.default_rng(1).normal(0.4, 0.5, size=37))
    np.random.seed(123)
    expected = reference._compute_clipped_stats(values, "bootstrap_std")
    assert bootstrap_std(values, np.random.RandomState(123)) == pytest.approx(expected, rel=1e-12)
