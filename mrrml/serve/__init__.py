"""Serving and RL integrations: the HTTP reward server, TRL reward functions, export for engines.

* :mod:`mrrml.serve.server` — ``RewardServer`` (``mrrml serve``), over :mod:`~mrrml.serve.service`
  (request rules) and :mod:`~mrrml.serve.batcher` (dynamic micro-batching).
* :mod:`mrrml.serve.openrlhf` — splitting OpenRLHF ``/get_reward`` queries into prompt and response.
* :mod:`mrrml.serve.trl` — ``make_reward_funcs`` for ``trl.GRPOTrainer``.
* :mod:`mrrml.serve.export` — ``export_model`` to ``*ForTokenClassification`` / ``*ForSequenceClassification``.

Names are imported lazily so that ``import mrrml.serve`` does not pull in torch.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "RewardServer": "mrrml.serve.server",
    "ServeSettings": "mrrml.serve.service",
    "MicroBatcher": "mrrml.serve.batcher",
    "make_reward_funcs": "mrrml.serve.trl",
    "grpo_reward_weights": "mrrml.serve.trl",
    "export_model": "mrrml.serve.export",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mrrml.serve' has no attribute '{name}'")
    return getattr(import_module(_EXPORTS[name]), name)
