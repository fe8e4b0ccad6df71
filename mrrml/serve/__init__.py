"""Serving and RL integrations: the HTTP reward server, TRL reward functions, export for engines.

* :mod:`mrrml.serve.server` — ``RewardServer`` (``mrrml serve``): uvicorn serving the FastAPI app of
  :mod:`~mrrml.serve.app` (routes, token, limits, OpenAPI), over :mod:`~mrrml.serve.service`
  (request rules) and :mod:`~mrrml.serve.batcher` (dynamic micro-batching).
* :mod:`mrrml.serve.openrlhf` — splitting OpenRLHF ``/get_reward`` queries into prompt and response.
* :mod:`mrrml.serve.trl` — ``make_reward_funcs`` for ``trl.GRPOTrainer``.
* :mod:`mrrml.serve.export` — ``export_model`` to ``*ForTokenClassification`` / ``*ForSequenceClassification``.
"""

from __future__ import annotations

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "RewardServer": ".server",
        "ServeSettings": ".service",
        "MicroBatcher": ".batcher",
        "make_reward_funcs": ".trl",
        "grpo_reward_weights": ".trl",
        "export_model": ".export",
    },
)
