"""Reward quality measured where it matters: held-out conditions, spurious features, best-of-N and
physicians (:func:`evaluate`; what each number means is in :mod:`mrrml.eval.quality.report`)."""

from __future__ import annotations

from ..._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "evaluate": ".evaluation",
        "QualityReport": ".report",
        "VARIANT_KINDS": ".variants",
        "make_variant": ".variants",
        "Estimate": ".bootstrap",
    },
)
