"""Where a reward model scores: the device asked for, else CUDA when there is one.

Scoring on a GPU is the point of serving a reward model next to an RL trainer, so a model loaded
for scoring (``mrrml serve``, the TRL reward functions, the HealthBench reward-model modes) goes to
CUDA unless told otherwise. A quantised (QLoRA) backbone scores as it trained, 4-bit where
bitsandbytes placed it at load time (its weights cannot be moved afterwards), when bitsandbytes is
installed; without it (bitsandbytes is the optional ``qlora`` extra) the adapter goes over the
unquantised base, so a QLoRA model serves on any machine, its scores off by the base's NF4 rounding.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from ..model.reward_model import RewardModel


def scoring_device(requested: str | None, quantized: bool, cuda_available: bool | None = None) -> str | None:
    """The device a model loaded for scoring goes to; None = leave it where loading put it.

    ``requested`` wins (a quantised model then fails to load with a clear error); otherwise CUDA
    when ``cuda_available`` (default: ``torch.cuda.is_available()``), else the CPU.
    """
    if requested is not None:
        return requested
    if quantized:
        return None
    available = torch.cuda.is_available() if cuda_available is None else cuda_available
    return "cuda" if available else "cpu"


def load_for_scoring(
    path: str | Path, device: str | None = None, dtype: str | None = None, trust_remote_code: bool = False
) -> RewardModel:
    """:func:`mrrml.load` on :func:`scoring_device`: CUDA by default when it is there.

    A quantised model loads 4-bit only where bitsandbytes is importable; elsewhere it is dequantised
    (``load(dequantize=True)``) instead of failing for want of the kernels."""
    from ..model.reward_model import load

    dequantize = None if bitsandbytes_installed() else True
    model = load(path, device=device, dtype=dtype, trust_remote_code=trust_remote_code, dequantize=dequantize)
    target = scoring_device(device, quantized=model.backbone_config.quantization is not None)
    if device is None and target is not None:
        model.to(target)
    return model


def bitsandbytes_installed() -> bool:
    """Whether the 4-bit kernels can be imported (without importing them: that is slow and noisy)."""
    return importlib.util.find_spec("bitsandbytes") is not None
