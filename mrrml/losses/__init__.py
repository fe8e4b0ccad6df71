"""Training objectives: GPRC (the geometric projection reference constraints) and the rated-score term."""

from __future__ import annotations

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "GPRCConfig": ".gprc",
        "GPRCOutput": ".gprc",
        "gprc_loss": ".gprc",
        "gprc_loss_reference": ".gprc",
        "rated_loss": ".gprc",
    },
)
