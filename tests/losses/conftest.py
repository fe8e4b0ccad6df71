"""Random GPRC batches shared by the loss tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch


@dataclass
class Batch:
    """One GPRC batch; ``leaves()`` are the tensors the loss is differentiated against."""

    z_good: torch.Tensor
    z_medium: torch.Tensor
    z_poor: torch.Tensor
    W: torch.Tensor
    b: torch.Tensor
    dim_idx: torch.Tensor
    has_medium: torch.Tensor
    z_neutral: torch.Tensor | None
    has_neutral: torch.Tensor | None

    def args(self) -> tuple:
        return (
            self.z_good,
            self.z_medium,
            self.z_poor,
            self.W,
            self.b,
            self.dim_idx,
            self.has_medium,
            self.z_neutral,
            self.has_neutral,
        )

    def leaves(self) -> dict[str, torch.Tensor]:
        names = ("z_good", "z_medium", "z_poor", "W", "b", "z_neutral")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


def make_batch(
    K: int, P: int, D: int, *, seed: int = 0, dtype=torch.float32, neutral: bool = True, medium_rate: float = 0.6
) -> Batch:
    """Random batch: some rows are pairs (no medium, zeros there), some carry a neutral rewrite."""
    g = torch.Generator().manual_seed(seed)

    def leaf(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_()

    has_medium = torch.rand(K, generator=g) < medium_rate
    has_medium[0], has_medium[-1] = True, False  # both kinds always present
    z_medium = (torch.randn(K, P, generator=g, dtype=dtype) * has_medium.unsqueeze(1)).requires_grad_()
    has_neutral = torch.rand(K, generator=g) < 0.5
    has_neutral[0], has_neutral[-1] = False, True
    return Batch(
        leaf(K, P),
        z_medium,
        leaf(K, P),
        leaf(D, P),
        leaf(D),
        torch.randint(0, D, (K,), generator=g),
        has_medium,
        leaf(K, P) if neutral else None,
        has_neutral if neutral else None,
    )


@pytest.fixture
def batch_factory():
    return make_batch
