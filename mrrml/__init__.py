"""mrrml: multidimensional medical reward models.

* :func:`load` — load a saved reward model directory (:class:`RewardModel`).
* :class:`StandardsMatrix`, :func:`load_matrix` — the Dimensions × Scenarios × Disciplines matrix.
* :func:`gprc_loss` — the fused geometric projection reference constraint loss.
"""

from __future__ import annotations

from ._exports import lazy_exports

__version__ = "0.1.0"

__getattr__, __dir__, _names = lazy_exports(
    __name__,
    {
        "load": ".model.reward_model",
        "RewardModel": ".model.reward_model",
        "StandardsMatrix": ".standards.matrix",
        "load_matrix": ".standards.loader",
        "gprc_loss": ".losses.gprc",
        "MrrmlError": ".errors",
    },
)
__all__ = [*_names, "__version__"]
