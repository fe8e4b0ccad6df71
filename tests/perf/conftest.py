"""Fixtures for the performance-path tests: reward models on the shared tiny Qwen3, one per attention kind."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def perf_matrix():
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    return load_matrix(shipped_matrix("healthbench"))


def _build(tiny_qwen3_dir, matrix, attn: str, projection_dim=None):
    import torch

    from mrrml.model.backbone import BackboneConfig
    from mrrml.model.reward_model import RewardModel

    torch.manual_seed(0)
    model = RewardModel.build(
        BackboneConfig(str(tiny_qwen3_dir), attn_implementation=attn), matrix, projection_dim=projection_dim
    )
    return model.eval()  # no dropout: packed and unpacked must see the same function


@pytest.fixture(scope="session")
def sdpa_model(tiny_qwen3_dir, perf_matrix):
    return _build(tiny_qwen3_dir, perf_matrix, "sdpa")


@pytest.fixture(scope="session")
def eager_model(tiny_qwen3_dir, perf_matrix):
    return _build(tiny_qwen3_dir, perf_matrix, "eager", projection_dim=24)


@pytest.fixture(scope="session")
def conversations():
    """A multi-turn prompt and a plain one, each with answers of different lengths (a triplet and a pair)."""
    multi = [
        {"role": "system", "content": "You are a careful clinician."},
        {"role": "user", "content": "My father has type 2 diabetes and his feet feel numb."},
        {"role": "assistant", "content": "How long has the numbness been there, and is it in both feet?"},
        {"role": "user", "content": "Both feet, for about three months. Should we worry?"},
    ]
    plain = "Can I take ibuprofen with lisinopril?"
    return [
        (
            multi,
            [
                "Numbness in both feet over months suggests diabetic neuropathy; see his doctor soon, check "
                "his feet daily for wounds and keep glucose in range.",
                "It is probably neuropathy. See a doctor.",
                "Don't worry.",
            ],
        ),
        (
            plain,
            [
                "Occasional use is usually fine, but regular NSAIDs can blunt the blood-pressure effect and strain "
                "the kidneys; ask your pharmacist.",
                "Yes.",
            ],
        ),
    ]
