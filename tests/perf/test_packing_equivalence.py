"""Packed (prompt-shared) forward == unpacked forward: scores and gradients, fp32, tight tolerance.

The unpacked reference is the model's own path (``RewardModel.embed`` on one row per answer); the packed
path runs one row per prompt with the block mask. The loss is the real GPRC loss over one triplet (a
multi-turn prompt) and one pair, so gradients reach the heads and every backbone parameter through
both the answers and the shared prompt anchor.
"""

from __future__ import annotations

import pytest
import torch

from mrrml.data.encoder import pad_batch
from mrrml.data.packing import pack_examples
from mrrml.losses.gprc import GPRCConfig, gprc_loss_reference
from mrrml.model.packed_forward import packed_embed

TOL = dict(rtol=1e-5, atol=1e-5)


def _examples(model, conversations):
    return [model.encoder.encode(prompt, answer) for prompt, answers in conversations for answer in answers]


def _loss(model, z):
    # rows: triplet good/medium/poor = 0/1/2 (dimension 1), pair good/poor = 3/4 (dimension 3)
    z_good, z_poor = z[[0, 3]], z[[2, 4]]
    z_medium = torch.stack([z[1], torch.zeros_like(z[1])])
    out = gprc_loss_reference(
        z_good,
        z_medium,
        z_poor,
        model.heads.weight,
        model.heads.bias,
        torch.tensor([1, 3]),
        torch.tensor([True, False]),
        config=GPRCConfig(),
    )
    return out.loss


def _grads(model, z):
    model.zero_grad(set_to_none=True)
    _loss(model, z).backward()
    return {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}


def _unpacked(model, examples, side="right"):
    batch = pad_batch(examples, model.tokenizer.pad_token_id, side)
    return model.embed(
        batch["input_ids"],
        batch["attention_mask"],
        batch["prompt_index"],
        batch["answer_index"],
        position_ids=batch.get("position_ids"),
    )


@pytest.mark.parametrize("model_name", ["sdpa_model", "eager_model"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_packed_scores_and_gradients_equal_unpacked(request, model_name, side, conversations):
    model = request.getfixturevalue(model_name)
    examples = _examples(model, conversations)
    z_ref = _unpacked(model, examples)
    ref_grads = _grads(model, z_ref)

    packed = pack_examples(examples, model.tokenizer.pad_token_id, side)
    assert packed["input_ids"].shape[0] == 2  # one row per prompt: the prompt is encoded once
    z = packed_embed(model, packed)
    torch.testing.assert_close(model.heads(z), model.heads(z_ref), **TOL)
    torch.testing.assert_close(z, z_ref, **TOL)
    grads = _grads(model, z)
    assert set(grads) == set(ref_grads)
    assert any(name.startswith("backbone.") for name in grads) and "heads.weight" in grads
    for name, g in ref_grads.items():
        torch.testing.assert_close(grads[name], g, **TOL, msg=lambda m, n=name: f"{n}: {m}")


def test_left_padded_unpacked_reference_agrees(sdpa_model, conversations):
    """Sanity of the reference itself: the unpacked path is padding-invariant, so it is a fair yardstick."""
    examples = _examples(sdpa_model, conversations)
    with torch.no_grad():
        torch.testing.assert_close(_unpacked(sdpa_model, examples, "left"), _unpacked(sdpa_model, examples), **TOL)


def test_packing_with_answer_cap_splits_rows_and_stays_exact(sdpa_model, conversations):
    examples = _examples(sdpa_model, conversations)
    with torch.no_grad():
        ref = _unpacked(sdpa_model, examples)
        packed = pack_examples(examples, sdpa_model.tokenizer.pad_token_id, "left", max_answers=2)
        assert packed["input_ids"].shape[0] == 3  # the triplet is split 2 + 1, the pair stays whole
        torch.testing.assert_close(packed_embed(sdpa_model, packed), ref, **TOL)


def test_pad_rows_stay_finite_in_eager(eager_model, conversations):
    """Heavy padding (one long and one short row) must not put NaN anywhere, including the backward."""
    examples = _examples(eager_model, conversations)
    packed = pack_examples(examples, eager_model.tokenizer.pad_token_id, "left")
    assert (packed["attention_mask"] == 0).any()
    z = packed_embed(eager_model, packed)
    grads = _grads(eager_model, z)
    assert torch.isfinite(z).all() and all(torch.isfinite(g).all() for g in grads.values())
