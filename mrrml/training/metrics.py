"""Per-dimension reward-model metrics as torchmetrics (summed states, so DDP reduces them exactly).

For triplets on dimension d with scores ``s(g), s(m), s(p)`` (``[K, D]`` each):

* pairwise accuracy — share of ordered pairs the d-head gets right: (g, m), (m, p), (g, p) for a
  triplet, (g, p) for a pair;
* triplet-order accuracy — ``s_d(g) > s_d(m) > s_d(p)`` (triplets with a medium answer);
* betweenness — ``s_d(m)`` lies strictly between ``s_d(g)`` and ``s_d(p)`` whichever way round: the
  medium answer sits between the extremes even where the head's orientation is wrong;
* leakage — ``mean_{j≠d} |s_j(g) − s_j(p)|`` relative to ``|s_d(g) − s_d(p)|`` (summed separately and
  divided at the end): how much degrading d moves the other heads (0 = perfectly disentangled).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric

_STATES = (
    "pair_correct",
    "pair_total",
    "order_correct",
    "order_total",
    "between_correct",
    "leak_other",
    "leak_own",
    "count",
)


class TripletMetrics(Metric):
    """Pairwise accuracy, triplet-order accuracy, betweenness and leakage per dimension."""

    full_state_update = False

    def __init__(self, dimensions: list[str]):
        super().__init__()
        self.dimensions = list(dimensions)
        for name in _STATES:
            self.add_state(name, default=torch.zeros(len(dimensions), dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, s_good: Tensor, s_medium: Tensor, s_poor: Tensor, dim_idx: Tensor, has_medium: Tensor) -> None:
        """Add a batch of ``K`` triplets (``has_medium`` False rows are pairs)."""
        if dim_idx.numel() == 0:
            return
        D = len(self.dimensions)
        rows = torch.arange(dim_idx.numel(), device=dim_idx.device)
        g = s_good[rows, dim_idx].double()
        m = s_medium[rows, dim_idx].double()
        p = s_poor[rows, dim_idx].double()
        med = has_medium.double()
        onehot = torch.nn.functional.one_hot(dim_idx, D).double()

        def per_dim(values: Tensor) -> Tensor:
            return (values.unsqueeze(1) * onehot).sum(0)

        gm, mp, gp = (g > m).double(), (m > p).double(), (g > p).double()
        self.pair_correct += per_dim(gp + med * (gm + mp))
        self.pair_total += per_dim(1 + 2 * med)
        self.order_correct += per_dim(med * gm * mp)
        self.order_total += per_dim(med)
        between = ((m > torch.minimum(g, p)) & (m < torch.maximum(g, p))).double()
        self.between_correct += per_dim(med * between)
        gap = (s_good - s_poor).abs().double()
        own = gap[rows, dim_idx]
        other = (gap.sum(1) - own) / max(D - 1, 1)
        self.leak_other += per_dim(other)
        self.leak_own += per_dim(own)
        self.count += per_dim(torch.ones_like(g))

    def compute(self) -> dict[str, Tensor]:
        """``{metric}/{dimension}`` and ``{metric}/mean`` (mean over dimensions that had data)."""

        def ratio(num: Tensor, den: Tensor) -> Tensor:
            return torch.where(den > 0, num / den.clamp_min(1e-12), torch.full_like(num, float("nan")))

        values = {
            "pairwise_acc": ratio(self.pair_correct, self.pair_total),
            "order_acc": ratio(self.order_correct, self.order_total),
            "betweenness": ratio(self.between_correct, self.order_total),
            "leakage": ratio(self.leak_other, self.leak_own),
        }
        out: dict[str, Tensor] = {}
        for name, per in values.items():
            for d, dim in enumerate(self.dimensions):
                out[f"{name}/{dim}"] = per[d].float()
            seen = ~torch.isnan(per)
            out[f"{name}/mean"] = (per[seen].mean() if seen.any() else torch.tensor(float("nan"))).float()
        return out


class ScoreMoments(Metric):
    """Per-dimension mean and std of scores (the normalisation statistics stored with a model)."""

    full_state_update = False

    def __init__(self, num_dimensions: int):
        super().__init__()
        for name in ("total", "total_sq", "n"):
            self.add_state(name, default=torch.zeros(num_dimensions, dtype=torch.float64), dist_reduce_fx="sum")

    def update(self, scores: Tensor) -> None:
        s = scores.detach().double()
        self.total += s.sum(0)
        self.total_sq += (s * s).sum(0)
        self.n += s.shape[0]

    def compute(self) -> tuple[Tensor, Tensor]:
        n = self.n.clamp_min(1)
        mean = self.total / n
        var = (self.total_sq / n - mean * mean).clamp_min(0) * n / (n - 1).clamp_min(1)
        return mean.float(), var.sqrt().clamp_min(1e-6).float()
