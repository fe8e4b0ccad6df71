"""Where a reward model scores: the device asked for, else CUDA when there is one.

Scoring on a GPU is the point of serving a reward model next to an RL trainer, so a model loaded
for scoring (``mrrml serve``, the TRL reward functions, the HealthBench reward-model modes) goes to
CUDA unless told otherwise. A quantised backbone stays where bitsandbytes placed it at load time:
its weights cannot be moved afterwards.
"""

from __future__ import annotations

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
    """:func:`mrrml.load` on :func:`scoring_device`: CUDA by default when it is there."""
    from ..model.reward_model import load

    model = load(path, device=device, dtype=dtype, trust_remote_code=trust_remote_code)
    target = scoring_device(device, quantized=model.backbone_config.quantization is not None)
    if device is None and target is not None:
        model.to(target)
    return model
