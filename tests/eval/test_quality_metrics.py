"""Bootstrap intervals and the quality metrics on score tables whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from mrrml.errors import ConfigError
from mrrml.eval.quality.accuracy import triplet_accuracy
from mrrml.eval.quality.best_of_n import best_of_n, check_best_of_n
from mrrml.eval.quality.bootstrap import BootstrapSettings, ratio_estimate
from mrrml.eval.quality.robustness import robustness

SETTINGS = BootstrapSettings(n_boot=500, seed=0)
NAN = float("nan")


def _width(e):
    return e.high - e.low


def test_interval_contains_the_estimate_and_shrinks_with_more_data():
    rng = np.random.default_rng(1)
    widths = []
    for n in (25, 100, 400):
        hits = (rng.random(n) < 0.7).astype(float)
        e = ratio_estimate(hits, np.ones(n), SETTINGS)
        assert e.low <= e.value <= e.high and e.units == n and e.count == n
        assert e.value == pytest.approx(hits.mean())
        widths.append(_width(e))
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(4.0, rel=0.35)  # ~ 1/sqrt(n)


def test_rows_of_one_prompt_are_resampled_together():
    """Copying every row four times within its prompt adds no information, so no narrower interval;
    treating the copies as independent rows would (wrongly) halve the width."""
    rng = np.random.default_rng(2)
    hits = (rng.random(60) < 0.5).astype(float)
    one = ratio_estimate(hits, np.ones(60), SETTINGS, clusters=list(range(60)))
    copies = np.repeat(hits, 4)
    clustered = ratio_estimate(copies, np.ones(240), SETTINGS, clusters=np.repeat(np.arange(60), 4).tolist())
    naive = ratio_estimate(copies, np.ones(240), SETTINGS)
    assert clustered.units == 60 and clustered.count == 240
    assert (clustered.value, clustered.low, clustered.high) == pytest.approx((one.value, one.low, one.high))
    assert _width(naive) < 0.7 * _width(clustered)


def test_bootstrap_is_seeded_and_checks_its_inputs():
    x = np.arange(30) % 3 == 0
    assert ratio_estimate(x, np.ones(30), SETTINGS) == ratio_estimate(x, np.ones(30), SETTINGS)
    empty = ratio_estimate([], [], SETTINGS)
    assert np.isnan(empty.value) and empty.units == 0 and empty.to_dict()["value"] is None
    with pytest.raises(ConfigError, match="equal 1-D shapes"):
        ratio_estimate([1.0, 2.0], [1.0], SETTINGS)
    with pytest.raises(ConfigError, match="cluster keys"):
        ratio_estimate([1.0], [1.0], SETTINGS, clusters=["a", "b"])
    with pytest.raises(ConfigError, match="n_boot"):
        BootstrapSettings(n_boot=0)
    with pytest.raises(ConfigError, match="confidence"):
        BootstrapSettings(confidence=1.0)


# Two records, forms (as written, filler, polite): scores chosen by hand.
#   record 0: good 3, medium 2, poor 1 — padded poor scores 3.5 (beats good), polite poor 0.5.
#   record 1: good 1, no medium, poor 2 (misordered) — padded poor 2.5, no polite variants.
TABLE = np.array(
    [
        [[3.0, 3.2, 3.0], [2.0, 2.4, 2.0], [1.0, 3.5, 0.5]],
        [[1.0, 1.5, NAN], [NAN, NAN, NAN], [2.0, 2.5, NAN]],
    ]
)
KINDS = ("filler", "polite")
GROUPS = {"accuracy": np.array([0]), "completeness": np.array([1]), "all": np.array([0, 1])}
CLUSTERS = ["p0", "p1"]


def test_accuracy_hand_computed():
    acc = triplet_accuracy(TABLE, GROUPS, CLUSTERS, SETTINGS)
    assert acc["accuracy"].pairwise.value == 1.0 and acc["accuracy"].order.value == 1.0
    assert acc["completeness"].pairwise.value == 0.0 and np.isnan(acc["completeness"].order.value)
    assert acc["all"].pairwise.value == pytest.approx(3 / 4) and acc["all"].pairwise.count == 4
    assert acc["all"].order.count == 1


def test_robustness_hand_computed():
    rob = robustness(TABLE, KINDS, GROUPS, CLUSTERS, SETTINGS)["all"]
    # pairs (better, worse): r0 (g,m) (m,p) (g,p); r1 (g,p).
    # filler of the worse answer beats the better one: r0 (g,m) 2.4<3 no, (m,p) 3.5>2 yes, (g,p) 3.5>3 yes;
    # r1 (g,p) 2.5>1 yes -> 3/4. polite: r0 (g,m) 2.0<3, (m,p) 0.5<2, (g,p) 0.5<3 -> 0/3.
    assert rob.outrank["filler"].value == pytest.approx(3 / 4)
    assert rob.outrank["polite"].value == 0.0 and rob.outrank["polite"].count == 3
    assert rob.outrank["as_written"].value == pytest.approx(1 / 4)  # r1's poor beats its good
    assert rob.outrank["pooled"].value == pytest.approx(3 / 7)
    assert rob.outrank["any"].value == pytest.approx(3 / 4)
    # |Δ| of filler: r0 0.2, 0.4, 2.5 (gap 2); r1 0.5, 0.5 (gap 1) -> 4.1 / (3*2 + 2*1)
    assert rob.sensitivity["filler"].value == pytest.approx(4.1 / 8) and rob.sensitivity["filler"].count == 5
    assert rob.shift["filler"].value == pytest.approx(4.1 / 8)
    assert rob.shift["polite"].value == pytest.approx(-0.5 / 6)


def _quality(table):
    q = np.broadcast_to(np.array([2.0, 1.0, 0.0])[None, :, None], table.shape).copy()
    q[np.isnan(table)] = np.nan
    return q


def test_oracle_scores_give_a_perfect_report():
    """Scores equal to the true quality: every pair ordered, no variant wins, best-of-N is the oracle."""
    quality = _quality(TABLE)
    acc = triplet_accuracy(quality, GROUPS, CLUSTERS, SETTINGS)["all"]
    rob = robustness(quality, KINDS, GROUPS, CLUSTERS, SETTINGS)["all"]
    assert acc.pairwise.value == 1.0
    assert all(rob.outrank[k].value == 0.0 for k in ("filler", "polite", "as_written", "pooled", "any"))
    assert rob.sensitivity["filler"].value == 0.0
    curves = best_of_n(quality, quality, GROUPS, CLUSTERS, SETTINGS, draws=100)["all"]
    assert [e.value for e in curves.model] == [e.value for e in curves.oracle]


def test_best_of_n_curves():
    quality = _quality(TABLE)
    curves = best_of_n(TABLE, quality, GROUPS, CLUSTERS, SETTINGS, ns=(1, 2, 4, 8, 16), draws=400)["all"]
    oracle = [e.value for e in curves.oracle]
    assert oracle == sorted(oracle) and oracle[-1] > 1.9  # non-decreasing, near the best quality 2
    # N = 1: every picker takes the single candidate (same draws).
    assert curves.model[0].value == curves.oracle[0].value == curves.random[0].value
    assert all(abs(e.value - 1.0) < 0.15 for e in curves.random)  # levels drawn uniformly: mean quality 1
    # Record 1's score prefers its poor answer, so the model's pick falls short of the oracle's.
    model = [e.value for e in curves.model]
    assert model[-1] < oracle[-1] - 0.3
    assert best_of_n(TABLE, quality, GROUPS, CLUSTERS, SETTINGS, draws=50) == best_of_n(
        TABLE, quality, GROUPS, CLUSTERS, SETTINGS, draws=50
    )
    for bad in ([], [0], [2, -1], [True]):
        with pytest.raises(ConfigError, match="best_of_n"):
            check_best_of_n(bad, 10)
