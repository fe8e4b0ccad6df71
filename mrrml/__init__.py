"""mrrml: multidimensional medical reward models.

The public face, imported lazily so that ``import mrrml`` stays cheap:

* :func:`load` — load a saved reward model directory (:class:`RewardModel`).
* :class:`StandardsMatrix`, :func:`load_matrix` — the Dimensions × Scenarios × Disciplines matrix.
* :func:`gprc_loss` — the fused geometric projection reference constraint loss.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load": ("mrrml.model.reward_model", "load"),
    "RewardModel": ("mrrml.model.reward_model", "RewardModel"),
    "StandardsMatrix": ("mrrml.standards.matrix", "StandardsMatrix"),
    "load_matrix": ("mrrml.standards.loader", "load_matrix"),
    "gprc_loss": ("mrrml.losses.gprc", "gprc_loss"),
    "MrrmlError": ("mrrml.errors", "MrrmlError"),
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mrrml' has no attribute '{name}'")
    module, attr = _EXPORTS[name]
    return getattr(import_module(module), attr)
