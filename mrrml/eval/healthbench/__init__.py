"""HealthBench: data, reference-identical scoring, grader, sampler, cache, report and reward-model modes."""

from __future__ import annotations

from ..._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "load_examples": ".data",
        "resolve_source": ".data",
        "score_graded": ".grades",
        "RubricGrader": ".grader",
        "physician_preference": ".rm_modes",
    },
)
