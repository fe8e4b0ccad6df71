"""The eager reference: the docs/design.md §3 formulas, gradients, the meaning of each term, bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from mrrml.errors import ConfigError, MrrmlError
from mrrml.losses.gprc import TERMS, GPRCConfig, GPRCInputError, gprc_loss_reference, rated_loss

from .conftest import make_batch

pytestmark = pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")

CFG = GPRCConfig(margin=0.7, axis=0.3, perp=0.2, ortho=0.05, neutral=0.4, center=0.02)


def literal_gprc(batch, cfg: GPRCConfig) -> dict[str, float]:
    """docs/design.md §3 written row by row in float64, with no algebraic rewriting (ε only in denominators)."""
    zg, zm, zp, W, b = (t.detach().double() for t in batch.args()[:5])
    K, D = zg.shape[0], W.shape[0]
    eps = cfg.eps
    score = lambda z, d: float(W[d] @ z + b[d])  # noqa: E731
    rank, axis, perp, n_med, neutral, n_neu, sq, n_sq = 0.0, 0.0, 0.0, 0, 0.0, 0, 0.0, 0
    for k in range(K):
        d = int(batch.dim_idx[k])
        sp = lambda x: math.log1p(math.exp(x))  # noqa: E731
        g, p = score(zg[k], d), score(zp[k], d)
        v = zg[k] - zp[k]
        u = W[d] / math.sqrt(float(W[d] @ W[d]) + eps)
        axis += 1 - float(v @ u) / math.sqrt(float(v @ v) + eps)
        sq += sum(score(zg[k], j) ** 2 + score(zp[k], j) ** 2 for j in range(D))
        n_sq += 2 * D
        if batch.has_medium[k]:
            m = score(zm[k], d)
            rank += sp(cfg.margin - (g - m)) + sp(cfg.margin - (m - p))
            w = zm[k] - zp[k]
            t = float(w @ v) / (float(v @ v) + eps)
            dev = w - t * v
            perp += float(dev @ dev) / (float(v @ v) + eps) + max(-t, 0) + max(t - 1, 0)
            n_med += 1
            sq += sum(score(zm[k], j) ** 2 for j in range(D))
            n_sq += D
        else:
            rank += sp(cfg.margin - (g - p))
        if batch.has_neutral is not None and batch.has_neutral[k]:
            zn = batch.z_neutral.detach().double()[k]
            neutral += sum((score(zg[k], j) - score(zn, j)) ** 2 for j in range(D)) / D
            n_neu += 1
            sq += sum(score(zn, j) ** 2 for j in range(D))
            n_sq += D
    U = W / (W.pow(2).sum(1, keepdim=True) + eps).sqrt()
    pairs = [(i, j) for i in range(D) for j in range(i + 1, D)]
    ortho = sum(float(U[i] @ U[j]) ** 2 for i, j in pairs) / len(pairs) if pairs else 0.0
    terms = dict(
        rank=rank / K,
        axis=axis / K,
        perp=perp / max(n_med, 1),
        ortho=ortho,
        neutral=neutral / max(n_neu, 1),
        center=sq / n_sq,
    )
    terms["loss"] = terms["rank"] + sum(getattr(cfg, n) * terms[n] for n in TERMS[1:])
    return terms


@pytest.mark.parametrize("neutral", [True, False])
def test_reference_matches_the_literal_formulas(neutral):
    batch = make_batch(9, 7, 3, seed=1, dtype=torch.float64, neutral=neutral)
    out = gprc_loss_reference(*batch.args(), config=CFG)
    expected = literal_gprc(batch, CFG)
    for name in TERMS:
        assert float(out.terms[name]) == pytest.approx(expected[name], rel=1e-9, abs=1e-9), name
    assert float(out.loss) == pytest.approx(expected["loss"], rel=1e-9)
    if not neutral:
        assert float(out.terms["neutral"]) == 0.0


def test_float64_gradcheck_of_the_reference():
    batch = make_batch(6, 5, 3, seed=2, dtype=torch.float64)
    leaves = batch.leaves()
    names = list(leaves)

    def fn(*tensors):
        replaced = dict(zip(names, tensors))
        args = [
            replaced.get(n, a)
            for n, a in zip(
                ("z_good", "z_medium", "z_poor", "W", "b", "dim_idx", "has_medium", "z_neutral", "has_neutral"),
                batch.args(),
            )
        ]
        return gprc_loss_reference(*args, config=CFG).loss

    assert torch.autograd.gradcheck(fn, tuple(leaves.values()), eps=1e-6, atol=1e-6, rtol=1e-5)


def _segment_batch(offset: torch.Tensor, t: float, P: int = 6):
    """One triplet whose medium sits at coordinate t on [poor, good] plus ``offset``."""
    torch.manual_seed(3)
    zp, zg = torch.randn(1, P), torch.randn(1, P)
    zm = zp + t * (zg - zp) + offset
    W, b = torch.randn(2, P), torch.zeros(2)
    return zg, zm, zp, W, b, torch.tensor([0]), torch.tensor([True])


def test_perp_is_zero_on_the_segment_and_grows_off_it():
    P = 6
    for t in (0.0, 0.25, 0.5, 1.0):
        out = gprc_loss_reference(*_segment_batch(torch.zeros(1, P), t))
        assert float(out.terms["perp"]) == pytest.approx(0.0, abs=1e-5), t
    zg, _, zp, *_ = _segment_batch(torch.zeros(1, P), 0.5)
    v = (zg - zp)[0]
    normal = torch.randn(P)
    normal = normal - (normal @ v) / (v @ v) * v  # perpendicular to the segment
    normal = normal / normal.norm()
    values = [
        float(gprc_loss_reference(*_segment_batch(s * normal.unsqueeze(0), 0.5)).terms["perp"])
        for s in (0.0, 0.1, 0.5, 1.0, 2.0)
    ]
    assert values == sorted(values) and values[-1] > values[1] > 1e-4
    # Beyond either end the distance past the end counts: relu(t − 1) or relu(−t).
    assert float(gprc_loss_reference(*_segment_batch(torch.zeros(1, P), 1.5)).terms["perp"]) == pytest.approx(
        0.5, abs=1e-4
    )
    assert float(gprc_loss_reference(*_segment_batch(torch.zeros(1, P), -0.5)).terms["perp"]) == pytest.approx(
        0.5, abs=1e-4
    )


def test_axis_is_zero_when_aligned_and_two_when_opposite():
    torch.manual_seed(4)
    W, b = torch.randn(3, 8), torch.randn(3)
    zp = torch.randn(2, 8)
    dim_idx = torch.tensor([2, 0])
    direction = W[dim_idx]
    no_medium = torch.zeros(2, dtype=torch.bool)
    aligned = gprc_loss_reference(zp + 0.8 * direction, torch.zeros(2, 8), zp, W, b, dim_idx, no_medium)
    opposite = gprc_loss_reference(zp - 0.8 * direction, torch.zeros(2, 8), zp, W, b, dim_idx, no_medium)
    assert float(aligned.terms["axis"]) == pytest.approx(0.0, abs=1e-5)
    assert float(opposite.terms["axis"]) == pytest.approx(2.0, abs=1e-5)


def test_rank_falls_as_the_margin_is_met():
    torch.manual_seed(5)
    P, margin = 8, 1.0
    W, b = torch.randn(2, P), torch.randn(2)
    u = W[1] / W[1].norm()
    zp = torch.randn(1, P)
    idx, yes, no = torch.tensor([1]), torch.tensor([True]), torch.tensor([False])
    cfg = GPRCConfig(margin=margin)
    triplet, pair = [], []
    for gap in (-1.0, 0.0, 0.5, 1.0, 2.0, 10.0):  # score gap between neighbours, in units of s_d
        step = gap / W[1].norm() * u
        zm, zg = zp + step, zp + 2 * step
        triplet.append(float(gprc_loss_reference(zg, zm, zp, W, b, idx, yes, config=cfg).terms["rank"]))
        pair.append(float(gprc_loss_reference(zg, zm, zp, W, b, idx, no, config=cfg).terms["rank"]))
    assert triplet == sorted(triplet, reverse=True) and pair == sorted(pair, reverse=True)
    assert triplet[1] == pytest.approx(2 * F.softplus(torch.tensor(margin)).item(), rel=1e-5)
    assert pair[1] == pytest.approx(F.softplus(torch.tensor(margin)).item(), rel=1e-5)
    assert triplet[-1] < 1e-3 and pair[-1] < 1e-3


def test_ortho_zero_for_orthogonal_heads_one_for_parallel_and_zero_for_one_head():
    zeros = torch.zeros(2, 4)
    args = (torch.randn(2, 4), zeros, torch.randn(2, 4))
    tail = (torch.tensor([0, 0]), torch.tensor([False, False]))
    eye = 3.0 * torch.eye(3, 4)
    parallel = torch.tensor([[1.0, 2.0, 0.0, 1.0]]).repeat(3, 1) * torch.tensor([[1.0], [-2.0], [0.5]])
    assert float(gprc_loss_reference(*args, eye, torch.zeros(3), *tail).terms["ortho"]) == pytest.approx(0, abs=1e-7)
    assert float(gprc_loss_reference(*args, parallel, torch.zeros(3), *tail).terms["ortho"]) == pytest.approx(
        1.0, abs=1e-5
    )
    assert float(gprc_loss_reference(*args, eye[:1], torch.zeros(1), *tail).terms["ortho"]) == 0.0


def test_neutral_zero_when_rewrite_scores_like_good_and_only_counts_marked_rows():
    batch = make_batch(5, 6, 3, seed=6)
    same = gprc_loss_reference(*batch.args()[:7], batch.z_good.detach().clone(), batch.has_neutral)
    assert float(same.terms["neutral"]) == pytest.approx(0.0, abs=1e-7)
    base = gprc_loss_reference(*batch.args())
    assert float(base.terms["neutral"]) > 0.1
    moved = batch.z_neutral.detach().clone()
    moved[~batch.has_neutral] += 100.0  # rows without a rewrite are ignored
    again = gprc_loss_reference(*batch.args()[:7], moved, batch.has_neutral)
    assert float(again.terms["neutral"]) == pytest.approx(float(base.terms["neutral"]), rel=1e-6)
    assert float(again.terms["center"]) == pytest.approx(float(base.terms["center"]), rel=1e-6)


def test_center_is_mean_square_score_of_present_answers_and_ignores_absent_medium():
    batch = make_batch(6, 5, 2, seed=7, neutral=False)
    out = gprc_loss_reference(*batch.args())
    s = lambda z: z.detach() @ batch.W.detach().T + batch.b.detach()  # noqa: E731
    parts = [s(batch.z_good), s(batch.z_poor), s(batch.z_medium)[batch.has_medium]]
    expected = torch.cat([p.reshape(-1) for p in parts]).pow(2).mean()
    assert float(out.terms["center"]) == pytest.approx(float(expected), rel=1e-6)
    garbage = batch.z_medium.detach().clone()
    garbage[~batch.has_medium] = 1e3  # absent medium rows must not matter
    again = gprc_loss_reference(batch.z_good, garbage, *batch.args()[2:])
    for name in TERMS:
        assert float(again.terms[name]) == pytest.approx(float(out.terms[name]), rel=1e-6), name


def test_pairs_only_batch_has_zero_perp_and_finite_gradients_at_degenerate_points():
    batch = make_batch(4, 5, 2, seed=8, medium_rate=0.0)
    batch.has_medium[:] = False
    z = batch.z_good.detach().clone().requires_grad_()
    out = gprc_loss_reference(z, torch.zeros_like(z), z, batch.W, batch.b, batch.dim_idx, batch.has_medium)
    assert float(out.terms["perp"]) == 0.0
    out.loss.backward()
    assert torch.isfinite(z.grad).all() and torch.isfinite(batch.W.grad).all()


def test_loss_is_fp32_for_half_inputs_and_ignores_autocast():
    batch = make_batch(5, 8, 3, seed=9)
    ref = gprc_loss_reference(*batch.args())
    halves = [t.detach().bfloat16() if t is not None and t.is_floating_point() else t for t in batch.args()]
    assert gprc_loss_reference(*halves).loss.dtype == torch.float32
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = gprc_loss_reference(*batch.args())
    assert inside.loss.dtype == torch.float32
    assert float(inside.loss) == pytest.approx(float(ref.loss), rel=1e-6)


def test_bad_inputs_raise_errors_that_name_the_argument():
    batch = make_batch(4, 5, 3, seed=10)
    a = list(batch.args())
    cases = {
        "z_poor": (2, torch.zeros(3, 5)),
        "b": (4, torch.zeros(2)),
        "dim_idx": (5, torch.tensor([0, 1, 2, 3])),
        "has_medium": (6, torch.ones(4)),
        "W": (3, torch.zeros(5)),
    }
    for name, (pos, bad) in cases.items():
        args = list(a)
        args[pos] = bad
        with pytest.raises(GPRCInputError, match=name):
            gprc_loss_reference(*args)
    with pytest.raises(GPRCInputError, match="together"):
        gprc_loss_reference(*a[:7], batch.z_neutral, None)
    assert issubclass(GPRCInputError, MrrmlError)
    with pytest.raises(ConfigError, match="eps"):
        GPRCConfig(eps=0.0)
    with pytest.raises(ConfigError, match="axis"):
        GPRCConfig(axis=-1.0)


def test_rated_loss_is_masked_mse():
    scores = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    targets = torch.tensor([[0.0, float("nan")], [1.0, 4.0]])
    mask = torch.tensor([[True, False], [True, True]])
    loss = rated_loss(scores, targets, mask)
    assert float(loss) == pytest.approx((1 + 4 + 0) / 3)
    loss.backward()
    assert torch.isfinite(scores.grad).all() and float(scores.grad[0, 1]) == 0.0
    assert float(rated_loss(scores, targets, torch.zeros_like(mask))) == 0.0
    with pytest.raises(GPRCInputError, match="same shape"):
        rated_loss(scores, targets[:1], mask)
