"""On a GPU the compiled loss is Triton code: same values and gradients as the eager reference there.

Run by ``benchmarks/gpu_check.sh`` (``pytest -m cuda``); skipped without a CUDA device.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mrrml.losses.gprc import TERMS, gprc_loss, gprc_loss_reference

from .conftest import Batch, make_batch
from .test_gprc_compiled import CFG, values_and_grads

pytestmark = [pytest.mark.cuda, pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")]

# Triton sums in another order than the eager CUDA kernels: agreement to fp32 round-off of a sum of
# a few hundred terms, not bit for bit.
TOL = dict(rtol=1e-4, atol=1e-5)


def on_cuda(batch: Batch, heads_as_parameter: bool = False) -> Batch:
    """The batch on the GPU, its float tensors fresh leaves (``W`` an ``nn.Parameter`` as in training)."""
    moved = {}
    for f in dataclasses.fields(batch):
        value = getattr(batch, f.name)
        if value is not None:
            value = value.detach().to("cuda")
            value = value.requires_grad_() if value.is_floating_point() else value
        moved[f.name] = value
    if heads_as_parameter:
        moved["W"] = torch.nn.Parameter(moved["W"].detach())
    return Batch(**moved)


@pytest.mark.parametrize(
    ("K", "P", "D", "heads_as_parameter"),
    [(37, 45, 5, False), (256, 96, 8, True), (64, 40, 8, True), (19, 40, 70, False)],
    ids=["odd-P", "P-reduced-param", "P-unrolled-param", "heads-above-unroll"],
)
def test_compiled_matches_eager_on_cuda(K, P, D, heads_as_parameter):
    batch = on_cuda(make_batch(K, P, D, seed=K), heads_as_parameter)
    eager_values, eager_grads = values_and_grads(gprc_loss_reference, batch)
    compiled_values, compiled_grads = values_and_grads(gprc_loss, batch)
    assert set(compiled_values) == {"loss", *TERMS}
    for name, value in eager_values.items():
        torch.testing.assert_close(compiled_values[name], value, **TOL, msg=lambda m, n=name: f"{n}: {m}")
    for name, grad in eager_grads.items():
        assert grad.is_cuda and torch.isfinite(grad).all(), name
        torch.testing.assert_close(compiled_grads[name], grad, **TOL, msg=lambda m, n=name: f"{n}: {m}")


def test_compiled_bf16_embeddings_match_eager_on_cuda():
    """Under bf16-mixed training the embeddings arrive in bf16; the loss computes in fp32 either way."""
    batch = make_batch(48, 64, 8, seed=3)
    batch = on_cuda(
        dataclasses.replace(
            batch, **{n: getattr(batch, n).to(torch.bfloat16) for n in ("z_good", "z_medium", "z_poor", "z_neutral")}
        )
    )
    eager, _ = values_and_grads(gprc_loss_reference, batch, CFG)
    compiled, _ = values_and_grads(gprc_loss, batch, CFG)
    torch.testing.assert_close(compiled["loss"], eager["loss"], rtol=1e-3, atol=1e-4)
