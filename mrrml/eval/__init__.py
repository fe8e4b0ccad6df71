"""Evaluation: HealthBench (:mod:`mrrml.eval.healthbench`) and reward quality (:mod:`mrrml.eval.quality`)."""

from __future__ import annotations

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {})
