"""Pool the answer embedding and the prompt anchor from one forward pass.

For a causal backbone the hidden state at the last prompt token depends only on the prompt, so it is
the same vector a separate prompt-only pass would give: one pass yields both ``e = h[answer_last]`` and
``p = h[prompt_last]``. The indices come from :func:`mrrml.data.encoder.pad_batch` and already account
for padding on either side.
"""

from __future__ import annotations

import torch


def gather_positions(hidden: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``hidden[b, index[b]]`` for every row: [B, T, H] x [B] -> [B, H]."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return hidden[rows, index.to(hidden.device)]


def backbone_hidden(
    backbone: torch.nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    position_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Last-layer hidden states [B, T, H] of a base (no LM head) transformers model."""
    out = backbone(
        input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False, return_dict=True
    )
    return out.last_hidden_state


def pool_answer_and_anchor(
    hidden: torch.Tensor, prompt_index: torch.Tensor, answer_index: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(answer embedding e, prompt anchor p), each [B, H], from the same hidden states."""
    return gather_positions(hidden, answer_index), gather_positions(hidden, prompt_index)
