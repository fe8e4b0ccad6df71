"""Synthetic triplet data keyed to a standards matrix (``mrrml synth``).

planner -> backend (template | transformers | openai) -> consistency filter -> resumable runner.
See :mod:`.runner` for the resume guarantee and :mod:`.template` for how degradations stay on one
dimension.
"""

from __future__ import annotations

from ..._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "SynthSettings": ".runner",
        "run_synthesis": ".runner",
        "make_plan": ".planner",
        "TemplateBackend": ".template_backend",
    },
)
