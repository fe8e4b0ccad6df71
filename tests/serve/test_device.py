"""Where a model loaded for scoring goes: the device asked for, else CUDA when there is one."""

from __future__ import annotations

import sys

import pytest
import torch

from mrrml.serve.device import load_for_scoring, scoring_device
from mrrml.serve.trl import make_reward_funcs


def test_the_device_choice():
    assert scoring_device(None, quantized=False, cuda_available=True) == "cuda"
    assert scoring_device(None, quantized=False, cuda_available=False) == "cpu"
    assert scoring_device("cpu", quantized=False, cuda_available=True) == "cpu"  # an explicit choice wins
    assert scoring_device("cuda:1", quantized=False, cuda_available=False) == "cuda:1"
    # a quantised model stays where bitsandbytes placed it (None: do not move it)
    assert scoring_device(None, quantized=True, cuda_available=True) is None
    # by default the answer is torch's own
    assert scoring_device(None, quantized=False) == ("cuda" if torch.cuda.is_available() else "cpu")


def test_scoring_loads_follow_the_choice(rm_dir):
    expected = scoring_device(None, quantized=False)
    assert load_for_scoring(rm_dir).device.type == expected
    funcs = make_reward_funcs(rm_dir, batch_size=2)
    assert funcs[0]._scorer.model.device.type == expected
    assert load_for_scoring(rm_dir, device="cpu").device.type == "cpu"


@pytest.mark.cuda
def test_scoring_loads_go_to_cuda_by_default(rm_dir):
    model = load_for_scoring(rm_dir)
    assert model.device.type == "cuda" and next(model.backbone.parameters()).device.type == "cuda"
    scores = model.score(["Is 39 C a fever?"], ["Yes."])
    assert torch.isfinite(scores.raw).all()


def test_a_qlora_model_loads_for_scoring_without_bitsandbytes(rm_qlora_dir, monkeypatch):
    """bitsandbytes is the optional ``qlora`` extra: a QLoRA model must still serve where it is absent
    (the fixture needs it once, to train-and-save the 4-bit model in the first place)."""
    from mrrml.model import load

    saved = rm_qlora_dir
    prompts, answers = ["Is 39 C a fever in an adult?"], ["Yes; rest, fluids, and see a doctor if it lasts."]
    expected = load(saved, dequantize=True).score(prompts, answers).raw

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # a machine without the extra: the import fails
    model = load_for_scoring(saved)
    assert model.backbone_config.quantization is None
    assert model.device.type == scoring_device(None, quantized=False)
    torch.testing.assert_close(model.score(prompts, answers).raw.cpu(), expected)
