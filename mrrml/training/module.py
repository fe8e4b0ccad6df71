"""The LightningModule: a :class:`~mrrml.model.reward_model.RewardModel` trained with GPRC.

One step runs the backbone once over every answer of the batch (see :mod:`mrrml.data.batching`),
takes the prompt-anchored embeddings ``z``, and adds up:

* the GPRC loss over the batch's triplets (and single-dimension pairs: triplets without a medium);
* for pairs without a dimension, a ranking term on the *overall* score — the matrix-weighted sum of
  the raw dimension scores (raw, not normalised: normalisation stats only exist after training);
* the masked MSE of rated records (``GPRCConfig.rated`` weights it).

The loss is checked before backward: a NaN/inf stops training with :class:`~mrrml.errors.TrainingError`
naming the step and the records of the batch, before the weights (or any checkpoint) are touched.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

from ..data.datamodule import resolve_matrix
from ..data.encoder import ConversationEncoder
from ..errors import ConfigError, TrainingError
from ..losses.gprc import GPRCConfig, gprc_loss, rated_loss
from ..model.backbone import BackboneConfig, load_tokenizer, resolve_source
from ..model.packed_forward import Packing, check_packing, embed_batch
from .metrics import ScoreMoments, TripletMetrics


def warmup_cosine(step: int, total: int, warmup: int, min_ratio: float) -> float:
    """LR multiplier: linear warmup from 0 to 1 over ``warmup`` steps, then cosine decay to ``min_ratio``."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    span = max(1, total - warmup)
    progress = min(1.0, (step - warmup) / span)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


class RewardModelModule(pl.LightningModule):
    """Trains a multidimensional reward model (shared backbone, one linear head per matrix dimension).

    Args:
        backbone: which backbone to load and how (dtype, LoRA, 4/8-bit quantisation, builtins).
        matrix: the standards matrix (YAML path or shipped name); its dimensions are the heads.
        projection_dim: optional shared linear projection H -> P in front of the heads.
        anchor: score ``f(h[answer]) - f(h[prompt])`` (True) or ``f(h[answer])`` alone.
        gprc: GPRC margin and term weights (set axis/perp/ortho/neutral to 0 for rank-only training).
        overall_weight: weight of the ranking term of pairs without a dimension (overall reward).
        lr: peak learning rate of the backbone (LoRA adapters or full weights).
        head_lr: peak learning rate of the heads and projection (default: ``lr``).
        weight_decay: AdamW decoupled weight decay for matrices (biases and norms get none).
        warmup: linear warmup length: a fraction of all steps if < 1, else a number of steps.
        min_lr_ratio: the cosine decay ends at this fraction of the peak learning rate.
        compile_loss: run GPRC under torch.compile (always eager for quantised backbones).
        max_prompt_tokens: the rendered prompt keeps its last this-many tokens (saved with the model, so
            scoring truncates exactly as training did; the data module uses it unless told otherwise).
        max_answer_tokens: an answer keeps its first this-many tokens, end-of-turn included.
        freeze_embeddings: keep the backbone's input embeddings fixed. A random-init builtin has
            vocab x H of them (150k x H for Qwen3): on a CPU their gradient and AdamW update cost more
            than the rest of a small model, and random embeddings already separate tokens.
        lazy_build: load the backbone in ``configure_model`` (inside the strategy's init context, as
            FSDP wants for large models) instead of when this module is created.
        packing: run the answers of each prompt as ONE packed sequence (prompt encoded once, block
            attention mask, positions restarting after the prompt; :mod:`mrrml.model.packed_forward`). Same
            scores and gradients as one row per answer; used where the attention implementation takes
            a block mask (sdpa, eager), otherwise rows stay unpacked and the log says why. ``"auto"``
            (the default) packs a batch only where that is estimated to cost fewer multiply-adds
            (:func:`~mrrml.model.packed_forward.packing_saves_work`: wide backbones, yes; a hidden-96 toy
            with long answers, no); ``true`` always packs, ``false`` never.
    """

    def __init__(
        self,
        backbone: BackboneConfig,
        matrix: str = "healthbench",
        projection_dim: int | None = None,
        anchor: bool = True,
        gprc: GPRCConfig = GPRCConfig(),
        overall_weight: float = 1.0,
        lr: float = 1e-4,
        head_lr: float | None = None,
        weight_decay: float = 0.01,
        warmup: float = 0.05,
        min_lr_ratio: float = 0.1,
        compile_loss: bool = True,
        max_prompt_tokens: int = 1024,
        max_answer_tokens: int = 512,
        freeze_embeddings: bool = False,
        lazy_build: bool = False,
        packing: Packing = "auto",
    ):
        super().__init__()
        if isinstance(backbone, dict):
            backbone = BackboneConfig.from_dict(backbone)
        if isinstance(gprc, dict):
            gprc = GPRCConfig(**gprc)
        if lr <= 0 or (head_lr is not None and head_lr <= 0) or warmup < 0 or not 0 <= min_lr_ratio <= 1:
            raise ConfigError(
                f"model: lr/head_lr must be > 0, warmup >= 0, min_lr_ratio in [0, 1] "
                f"(got lr={lr}, head_lr={head_lr}, warmup={warmup}, min_lr_ratio={min_lr_ratio})"
            )
        self.backbone_config = backbone
        self.matrix_spec = matrix
        self.matrix = resolve_matrix(matrix)
        self.dimensions = list(self.matrix.dimension_ids)
        self.projection_dim, self.anchor, self.gprc = projection_dim, anchor, gprc
        self.overall_weight, self.lr, self.head_lr = overall_weight, lr, head_lr or lr
        self.weight_decay, self.warmup, self.min_lr_ratio = weight_decay, warmup, min_lr_ratio
        self.max_prompt_tokens, self.max_answer_tokens = max_prompt_tokens, max_answer_tokens
        self.freeze_embeddings = freeze_embeddings
        self.packing = check_packing(packing)
        # bitsandbytes layers do not compile; the loss region is tiny, eager costs little there.
        self.compile_loss = compile_loss and backbone.quantization is None
        # Plain values only, so Lightning checkpoints load with torch.load(weights_only=True).
        self.save_hyperparameters(
            {
                "backbone": backbone.to_dict(),
                "matrix": str(matrix),
                "projection_dim": projection_dim,
                "anchor": anchor,
                "gprc": asdict(gprc),
                "overall_weight": overall_weight,
                "lr": lr,
                "head_lr": head_lr,
                "weight_decay": weight_decay,
                "warmup": warmup,
                "min_lr_ratio": min_lr_ratio,
                "compile_loss": compile_loss,
                "max_prompt_tokens": max_prompt_tokens,
                "max_answer_tokens": max_answer_tokens,
                "freeze_embeddings": freeze_embeddings,
                "lazy_build": lazy_build,
                "packing": packing,
            }
        )
        self.reward_model: Any = None
        self._tokenizer: Any = None  # only before a lazy build; see `encoder`
        self.val_metrics = TripletMetrics(self.dimensions)
        self.test_metrics = TripletMetrics(self.dimensions)
        self.val_moments = ScoreMoments(len(self.dimensions))
        self.history: list[dict[str, float]] = []  # per-step loss terms (rank 0), for reports
        if not lazy_build:
            self.configure_model()

    def configure_model(self) -> None:
        """Build the reward model once (Lightning calls this again under a strategy's init context)."""
        if self.reward_model is None:
            from ..model.reward_model import RewardModel

            self.reward_model = RewardModel.build(
                self.backbone_config,
                self.matrix,
                projection_dim=self.projection_dim,
                anchor=self.anchor,
                max_prompt_tokens=self.max_prompt_tokens,
                max_answer_tokens=self.max_answer_tokens,
            )
            # transformers returns models in eval mode; training mode matters for LoRA dropout.
            self.reward_model.train()
            if self.freeze_embeddings:
                self.reward_model.backbone.get_input_embeddings().weight.requires_grad_(False)

    @property
    def encoder(self) -> ConversationEncoder:
        """The tokenizer and truncation limits that training data must be encoded with: the reward
        model's own encoder, so training encodes exactly as the saved model will score. The CLI hands
        it to the data module (``data.encoder``). Before a lazy build the tokenizer loads on its own
        (a few files, no weights), so the data module never has to wait for the backbone."""
        if self.reward_model is not None:
            return self.reward_model.encoder
        if self._tokenizer is None:
            source, gguf_file = resolve_source(self.backbone_config)
            self._tokenizer = load_tokenizer(source, self.backbone_config, gguf_file)
        return ConversationEncoder(self._tokenizer, self.max_prompt_tokens, self.max_answer_tokens)

    # -- forward and losses -----------------------------------------------------------------------
    def embed(self, batch: dict[str, Any]) -> Tensor:
        return embed_batch(self.reward_model, batch, packing=self.packing)

    def losses(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor], Tensor]:
        """(total loss, every term, scores [rows, D]) of one batch."""
        z = self.embed(batch)
        heads = self.reward_model.heads
        W, b = heads.weight, heads.bias
        scores = heads(z)
        terms: dict[str, Tensor] = {}
        total = z.new_zeros(())
        K = int(batch["dim_idx"].numel())
        if K:
            z_m = torch.where(
                batch["has_medium"].unsqueeze(1), z[batch["medium_idx"]], torch.zeros_like(z[batch["good_idx"]])
            )
            has_neutral: Tensor | None = batch["has_neutral"]
            z_n: Tensor | None = None
            if bool(has_neutral.any()):
                z_n = torch.where(has_neutral.unsqueeze(1), z[batch["neutral_idx"]], torch.zeros_like(z_m))
            else:
                has_neutral = None  # no neutral rewrites in this batch: skip the term's work entirely
            out = gprc_loss(
                z[batch["good_idx"]],
                z_m,
                z[batch["poor_idx"]],
                W,
                b,
                batch["dim_idx"],
                batch["has_medium"],
                z_n,
                has_neutral,
                self.gprc,
                eager=not self.compile_loss,
            )
            total = total + out.loss
            terms.update(out.terms)
            terms["gprc"] = out.loss
        if batch["chosen_idx"].numel():
            weights = batch["overall_weights"]
            margin = ((scores[batch["chosen_idx"]] - scores[batch["rejected_idx"]]) * weights).sum(1)
            terms["overall"] = F.softplus(self.gprc.margin - margin).mean()
            total = total + self.overall_weight * terms["overall"]
        if batch["rated_idx"].numel():
            terms["rated"] = rated_loss(scores[batch["rated_idx"]], batch["rated_targets"], batch["rated_mask"])
            total = total + self.gprc.rated * terms["rated"]
        terms["loss"] = total
        return total, terms, scores

    def _check_finite(self, loss: Tensor, batch: dict[str, Any], batch_idx: int, terms: dict[str, Tensor]) -> None:
        finite = bool(torch.isfinite(loss).item())
        # Every rank must agree, or the healthy ranks would hang in the next all-reduce.
        if self._trainer is not None:
            finite = self.trainer.strategy.reduce_boolean_decision(finite, all=True)
        if not finite:
            bad = {k: float(v.detach()) for k, v in terms.items()}
            raise TrainingError(
                f"non-finite loss at global step {self.global_step} (epoch {self.current_epoch}, batch {batch_idx}); "
                f"terms: {bad}; records of the batch on this rank: {batch['record_ids']}. "
                "Training stopped before the optimizer step; no checkpoint was written for this step."
            )

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        loss, terms, _ = self.losses(batch)
        self._check_finite(loss, batch, batch_idx, terms)
        size = len(batch["record_ids"])
        for name, value in terms.items():
            self.log(f"train/{name}", value.detach(), batch_size=size, prog_bar=name == "loss", sync_dist=False)
        if self.trainer.is_global_zero:
            self.history.append({"step": float(self.global_step), **{k: float(v.detach()) for k, v in terms.items()}})
        return loss

    # -- evaluation --------------------------------------------------------------------------------
    def _evaluate(self, batch: dict[str, Any], metrics: TripletMetrics, prefix: str) -> None:
        _loss, terms, scores = self.losses(batch)
        size = len(batch["record_ids"])
        for name, value in terms.items():
            self.log(f"{prefix}/{name}", value, batch_size=size, sync_dist=True)
        if batch["dim_idx"].numel():
            metrics.update(
                scores[batch["good_idx"]],
                scores[batch["medium_idx"]],
                scores[batch["poor_idx"]],
                batch["dim_idx"],
                batch["has_medium"],
            )
        if batch["chosen_idx"].numel():
            weights = batch["overall_weights"]
            right = ((scores[batch["chosen_idx"]] - scores[batch["rejected_idx"]]) * weights).sum(1) > 0
            self.log(f"{prefix}/overall_acc", right.float().mean(), batch_size=int(right.numel()), sync_dist=True)
        if prefix == "val":
            self.val_moments.update(scores)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, self.val_metrics, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._evaluate(batch, self.test_metrics, "test")

    def _log_metrics(self, metrics: TripletMetrics, prefix: str) -> dict[str, float]:
        values = metrics.compute()
        metrics.reset()
        logged = {f"{prefix}/{k}": v for k, v in values.items() if not torch.isnan(v)}
        self.log_dict(logged, sync_dist=False)
        return {k: float(v) for k, v in logged.items()}

    def on_validation_epoch_end(self) -> None:
        self.last_val_metrics = self._log_metrics(self.val_metrics, "val")
        if int(self.val_moments.n.sum()) > 0 and not self.trainer.sanity_checking:
            mean, std = self.val_moments.compute()
            self.reward_model.set_normalization(mean.to(self.device), std.to(self.device))
            self._normalized_at_step = self.global_step
        self.val_moments.reset()

    def on_test_epoch_end(self) -> None:
        self.last_test_metrics = self._log_metrics(self.test_metrics, "test")

    def on_train_end(self) -> None:
        """Normalisation stats from the final weights on the whole validation split."""
        if getattr(self, "_normalized_at_step", None) == self.global_step:
            return  # the last validation ran on the final weights: its statistics are the ones
        datamodule = getattr(self.trainer, "datamodule", None)
        loader = datamodule.val_dataloader() if datamodule is not None else []
        if not loader:
            rank_zero_warn("mrrml: no validation data, so the model keeps its previous normalisation statistics")
            return
        moments = ScoreMoments(len(self.dimensions)).to(self.device)
        was_training = self.training
        self.eval()
        with torch.no_grad():
            for batch in loader:
                batch = self.trainer.strategy.batch_to_device(batch)
                moments.update(self.reward_model.heads(self.embed(batch)))
        self.train(was_training)
        mean, std = moments.compute()  # synced over ranks by torchmetrics
        self.reward_model.set_normalization(mean.to(self.device), std.to(self.device))

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        scores = self.reward_model.heads(self.embed(batch))
        return {
            "ids": batch["ids"],
            "roles": batch["roles"],
            "scores": scores.detach().cpu(),
            "normalized": self.reward_model.normalize(scores).detach().cpu(),
        }

    # -- optimisation ------------------------------------------------------------------------------
    def configure_optimizers(self) -> dict[str, Any]:
        head_ids = {id(p) for p in self.reward_model.heads.parameters()}
        groups: dict[str, list[torch.nn.Parameter]] = {"head": [], "head_nd": [], "body": [], "body_nd": []}
        for param in self.reward_model.parameters():
            if not param.requires_grad:
                continue
            key = "head" if id(param) in head_ids else "body"
            groups[key if param.dim() >= 2 else key + "_nd"].append(param)
        spec = [
            ("head", self.head_lr, self.weight_decay),
            ("head_nd", self.head_lr, 0.0),
            ("body", self.lr, self.weight_decay),
            ("body_nd", self.lr, 0.0),
        ]
        param_groups = [
            {"params": groups[k], "lr": lr, "weight_decay": wd, "name": k} for k, lr, wd in spec if groups[k]
        ]
        params = [p for group in param_groups for p in group["params"]]
        # The fused (single-kernel) AdamW is several times faster than the per-tensor loop on CPU and
        # GPU; it needs floating parameters on one CPU/CUDA device, which LoRA and full fine-tuning give.
        fused = (
            all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
            and len({p.device for p in params}) == 1
        )
        optimizer = torch.optim.AdamW(param_groups, betas=(0.9, 0.95), fused=fused)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = int(self.warmup * total) if self.warmup < 1 else int(self.warmup)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, total, warmup, self.min_lr_ratio)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
