"""The reward model: backbone loading (LoRA, quantisation, builtins), anchored pooling, linear heads,
save/load and scoring."""

from __future__ import annotations

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "BackboneConfig": ".backbone",
        "LoraSettings": ".backbone",
        "load_backbone": ".backbone",
        "RewardHeads": ".heads",
        "RewardModel": ".reward_model",
        "ScoreResult": ".reward_model",
        "load": ".reward_model",
    },
)
