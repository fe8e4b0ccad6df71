"""Packing on a GPU under sdpa: packed rows give the unpacked scores and gradients there too.

On CUDA, sdpa with a block mask runs the memory-efficient (or math) kernel and the unpacked rows may
take another one; both must agree. Run by ``benchmarks/gpu_check.sh`` (``pytest -m cuda``).
"""

from __future__ import annotations

import copy

import pytest
import torch

from mrrml.data.encoder import pad_batch
from mrrml.data.packing import pack_examples
from mrrml.losses.gprc import GPRCConfig, gprc_loss_reference
from mrrml.model.packed_forward import packed_embed

pytestmark = pytest.mark.cuda

# Different kernels sum attention in different orders: fp32 round-off, a little looser than on the CPU.
TOL = dict(rtol=1e-4, atol=1e-4)


def _loss(model, z):
    """GPRC over one triplet (rows 0/1/2, dimension 1) and one pair (rows 3/4, dimension 3)."""
    device = z.device
    z_medium = torch.stack([z[1], torch.zeros_like(z[1])])
    return gprc_loss_reference(
        z[[0, 3]],
        z_medium,
        z[[2, 4]],
        model.heads.weight,
        model.heads.bias,
        torch.tensor([1, 3], device=device),
        torch.tensor([True, False], device=device),
        config=GPRCConfig(),
    ).loss


def _grads(model, z):
    model.zero_grad(set_to_none=True)
    _loss(model, z).backward()
    return {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.fixture(scope="module")
def cuda_model(sdpa_model):
    return copy.deepcopy(sdpa_model).to("cuda")


@pytest.mark.parametrize("side", ["right", "left"])
def test_packed_equals_unpacked_on_cuda_under_sdpa(cuda_model, conversations, side):
    model = cuda_model
    examples = [model.encoder.encode(prompt, answer) for prompt, answers in conversations for answer in answers]
    batch = {k: v.to("cuda") for k, v in pad_batch(examples, model.tokenizer.pad_token_id, side).items()}
    z_ref = model.embed(
        batch["input_ids"],
        batch["attention_mask"],
        batch["prompt_index"],
        batch["answer_index"],
        position_ids=batch.get("position_ids"),
    )
    ref_grads = _grads(model, z_ref)

    packed = {k: v.to("cuda") for k, v in pack_examples(examples, model.tokenizer.pad_token_id, side).items()}
    z = packed_embed(model, packed)
    assert z.is_cuda and packed["input_ids"].shape[0] == 2  # one row per prompt
    torch.testing.assert_close(z, z_ref, **TOL)
    grads = _grads(model, z)
    assert set(grads) == set(ref_grads) and any(name.startswith("backbone.") for name in grads)
    for name, g in ref_grads.items():
        torch.testing.assert_close(grads[name], g, **TOL, msg=lambda m, n=name: f"{n}: {m}")


def test_scoring_paths_agree_on_cuda(cuda_model, conversations):
    """RewardModel.score: shared-prompt cache + last-layer pruning vs one padded row per answer."""
    prompts = [prompt for prompt, answers in conversations for _ in answers]
    answers = [answer for _, answers in conversations for answer in answers]
    fast = cuda_model.score(prompts, answers)
    plain = cuda_model.score(prompts, answers, packing=False, prune_last_layer=False)
    torch.testing.assert_close(fast.raw, plain.raw, **TOL)
