"""Heads are linear maps of the hidden state, so anchored scores are differences of per-position scores."""

from __future__ import annotations

import pytest
import torch

from mrrml.errors import ConfigError
from mrrml.model.heads import RewardHeads


@pytest.mark.parametrize("projection_dim", [None, 8])
def test_scores_are_linear_in_hidden_state(projection_dim):
    torch.manual_seed(0)
    heads = RewardHeads(5, 32, projection_dim)
    assert heads.weight.shape == (5, projection_dim or 32) and heads.bias.shape == (5,)
    if projection_dim:
        assert heads.projection.bias is None
    h_answer, h_prompt = torch.randn(4, 32), torch.randn(4, 32)
    with torch.no_grad():
        heads.bias.normal_()
        anchored = heads(heads.project(h_answer) - heads.project(h_prompt))
        per_position = heads(heads.project(h_answer)) - heads(heads.project(h_prompt)) + heads.bias
        by_difference = heads(heads.project(h_answer - h_prompt))
    torch.testing.assert_close(anchored, per_position, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(anchored, by_difference, atol=1e-5, rtol=1e-5)


def test_invalid_sizes():
    with pytest.raises(ConfigError):
        RewardHeads(0, 16)
    with pytest.raises(ConfigError):
        RewardHeads(2, 16, projection_dim=0)
