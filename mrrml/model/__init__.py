"""The reward model: backbone loading (LoRA, quantisation, builtins), anchored pooling, linear heads, save/load."""
from .backbone import BackboneConfig, LoraSettings, load_backbone
from .heads import RewardHeads
from .reward_model import RewardModel, ScoreResult, load

__all__ = ["BackboneConfig", "LoraSettings", "load_backbone", "RewardHeads", "RewardModel", "ScoreResult", "load"]
