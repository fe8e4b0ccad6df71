"""Per-dimension linear reward heads, with an optional shared linear projection in front.

Heads are linear on purpose (docs/design.md §2): a score is a projection of the anchored embedding on the
dimension's reference axis, ``s_d = <W_d, z> + b_d``, which is what GPRC constrains geometrically, and
it keeps scores linear in the backbone's hidden state so a token-classification export reproduces them.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError


class RewardHeads(nn.Module):
    """``D`` linear heads over ``P``-dim embeddings; ``P = projection_dim`` or the hidden size ``H``.

    ``project`` maps hidden states to the head space (identity without a projection; no bias, so the
    anchor difference ``f(h_a) - f(h_p)`` equals ``f(h_a - h_p)``), ``forward`` scores embeddings.
    """

    def __init__(self, num_dimensions: int, hidden_size: int, projection_dim: int | None = None):
        super().__init__()
        if num_dimensions < 1 or hidden_size < 1 or (projection_dim is not None and projection_dim < 1):
            raise ConfigError(f"invalid head sizes: D={num_dimensions}, H={hidden_size}, P={projection_dim}")
        self.num_dimensions = num_dimensions
        self.hidden_size = hidden_size
        self.projection_dim = projection_dim
        self.projection = nn.Linear(hidden_size, projection_dim, bias=False) if projection_dim else None
        width = projection_dim or hidden_size
        self.weight = nn.Parameter(torch.empty(num_dimensions, width))
        self.bias = nn.Parameter(torch.zeros(num_dimensions))
        # Small random axes: distinct directions from the start (ortho term), scores near zero.
        nn.init.normal_(self.weight, std=1.0 / width**0.5)

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """Hidden states [..., H] -> head space [..., P], computed in fp32 (also under autocast, which
        would otherwise run the matmul in bf16: the backbone may compute in low precision, the heads not)."""
        hidden = hidden.float()
        if self.projection is None:
            return hidden
        with torch.autocast(hidden.device.type, enabled=False):
            return nn.functional.linear(hidden, self.projection.weight.float())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Embeddings [B, P] -> scores [B, D] (fp32, autocast or not)."""
        with torch.autocast(z.device.type, enabled=False):
            return nn.functional.linear(z.float(), self.weight.float(), self.bias.float())
