"""Training: the LightningModule (GPRC over the reward model), its metrics, callbacks and report."""

from __future__ import annotations

from .._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "RewardModelModule": ".module",
        "TripletMetrics": ".metrics",
        "ScoreMoments": ".metrics",
        "ModelDirExport": ".callbacks",
        "PredictionWriter": ".callbacks",
        "ProgressLog": ".callbacks",
        "export_model_dir": ".callbacks",
        "FSDP2Strategy": ".sharding",
    },
)
