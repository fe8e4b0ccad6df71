"""Callbacks: the mrrml model directory beside Lightning's checkpoints, predictions as JSON Lines, and
plain progress lines for runs whose output goes to a file.

Lightning's ``.ckpt`` is a ``torch.save`` pickle meant for resuming a run; what a user keeps, serves and
shares is the mrrml model directory (safetensors + JSON + YAML, no pickle). :class:`ModelDirExport`
writes that directory next to every checkpoint (``<checkpoint dir>/model``) and once more at the end
of fit (``final_dir``, default ``<log dir>/model``) after the normalisation statistics are set.

Under FSDP every rank takes part in gathering the full weights (a collective: a rank that skipped it
would leave the others waiting) and rank 0 writes them, so a sharded run's directory is the one a
single process would write (:func:`~mrrml.training.sharding.gather_for_export`).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import BasePredictionWriter, Callback
from lightning.pytorch.utilities import rank_zero_info

from ..io import JsonlAppender
from ..model.reward_model import RewardModel
from .sharding import gather_for_export, is_sharded


def export_model_dir(reward_model: RewardModel, target: Path) -> Path:
    """``save_pretrained`` into a staging directory, then swap it in: a reader never sees half a model."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}-old")
    _recover_interrupted_export(target, old)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the model directory is an ordinary output
    try:
        reward_model.save_pretrained(staging)
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _recover_interrupted_export(target: Path, old: Path) -> None:
    """Undo what a kill during an earlier export left: a previous model moved aside but not yet
    replaced comes back, and abandoned staging directories are removed."""
    if not target.exists() and old.exists():
        old.rename(target)
    for stale in target.parent.glob(f".{target.name}-*"):
        if stale != old and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


def default_final_dir(trainer: pl.Trainer) -> Path:
    return Path(trainer.log_dir or trainer.default_root_dir) / "model"


class ModelDirExport(Callback):
    """Write the mrrml model directory with every checkpoint and at the end of fit.

    Args:
        final_dir: where the final model goes (default ``<log dir>/model``).
        with_checkpoints: also export to ``<checkpoint dir>/model`` whenever Lightning saves a checkpoint.
    """

    def __init__(self, final_dir: str | None = None, with_checkpoints: bool = True):
        self.final_dir = final_dir
        self.with_checkpoints = with_checkpoints
        self.exported: list[Path] = []

    def on_save_checkpoint(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        callback = trainer.checkpoint_callback
        dirpath = getattr(callback, "dirpath", None)
        if self.with_checkpoints and dirpath is not None:
            self._export(trainer, pl_module, Path(dirpath) / "model")

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.interrupted:
            self._export(trainer, pl_module, Path(self.final_dir) if self.final_dir else default_final_dir(trainer))

    def _export(self, trainer: pl.Trainer, pl_module: pl.LightningModule, target: Path) -> None:
        """Every rank calls this; rank 0 writes. Sharded weights are gathered first, by all ranks."""
        model = gather_for_export(pl_module.reward_model) if is_sharded(pl_module) else pl_module.reward_model
        if trainer.is_global_zero:
            self.exported.append(export_model_dir(model, target))


class PredictionWriter(BasePredictionWriter):
    """``mrrml predict``: one JSON line per scored answer (record id, role, raw and normalised scores).

    Args:
        output: the JSON Lines file (appended per batch; a torn last line is repaired on reopen).
    """

    def __init__(self, output: str = "predictions.jsonl"):
        super().__init__(write_interval="batch")
        self.output = output

    def write_on_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        prediction: Any,
        batch_indices: Sequence[int] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        dims = pl_module.dimensions
        path = Path(self.output)
        if trainer.world_size > 1:
            path = path.with_name(f"{path.stem}.rank{trainer.global_rank}{path.suffix}")
        with JsonlAppender(path) as out:
            raw: torch.Tensor = prediction["scores"]
            norm: torch.Tensor = prediction["normalized"]
            for row, (rid, role) in enumerate(zip(prediction["ids"], prediction["roles"])):
                out.write(
                    {
                        "id": rid,
                        "role": role,
                        "scores": dict(zip(dims, raw[row].tolist())),
                        "normalized": dict(zip(dims, norm[row].tolist())),
                    }
                )


def _duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class ProgressLog(Callback):
    """One plain line of training progress every ``every_s`` seconds and at the end of each epoch.

    Lightning's progress bar draws on a terminal; its rich bar (the default once ``rich`` is installed)
    prints nothing at all to a file. A run whose output goes to a file (a batch job, ``nohup``, CI) was
    therefore silent for its whole first epoch, which for a frozen pretrained backbone on a CPU is the
    encoding of every answer: tens of minutes. ``when``: ``not_a_terminal`` (default: only when stderr
    is not a terminal, where the bar already shows progress), ``always`` or ``never``. Rank 0 only.
    """

    def __init__(self, every_s: float = 60.0, when: Literal["not_a_terminal", "always", "never"] = "not_a_terminal"):
        if every_s < 0:
            raise ValueError(f"progress.every_s: expected seconds >= 0, got {every_s}")
        if when not in ("not_a_terminal", "always", "never"):
            raise ValueError(f"progress.when: expected not_a_terminal, always or never, got {when!r}")
        self.every_s = every_s
        self.when = when
        self._active = False
        self._epoch_start = self._last_line = 0.0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._active = self.when == "always" or (self.when == "not_a_terminal" and not sys.stderr.isatty())

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_start = self._last_line = time.monotonic()

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        now = time.monotonic()
        if self._active and now - self._last_line >= self.every_s:
            self._last_line = now
            self._line(trainer, batch_idx + 1, now)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._active:
            self._line(trainer, None, time.monotonic())

    def _line(self, trainer: pl.Trainer, step: int | None, now: float) -> None:
        elapsed = now - self._epoch_start
        epochs = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        total = trainer.num_training_batches
        where = f"epoch {trainer.current_epoch + 1}{epochs}"
        if step is None:
            where += f" done in {_duration(elapsed)}"
        elif isinstance(total, int) and total > 0:
            left = elapsed / step * (total - step)
            where += (
                f", step {step}/{total} ({100 * step // total} %), {_duration(elapsed)} in, ~{_duration(left)} left"
            )
        else:
            where += f", step {step}, {_duration(elapsed)} in"
        loss = trainer.callback_metrics.get("train/loss")
        rank_zero_info(f"mrrml train: {where}" + (f"; loss {float(loss):.4f}" if loss is not None else ""))
