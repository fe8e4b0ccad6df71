"""The LightningModule: a :class:`~mrrml.model.reward_model.RewardModel` trained with GPRC.

One step runs the backbone once over every answer of the batch (see :mod:`mrrml.data.batching`),
takes the prompt-anchored embeddings ``z``, and adds up:

* the GPRC loss over the batch's triplets (and single-dimension pairs: triplets without a medium);
* for pairs without a dimension, a ranking term on the *overall* score — the matrix-weighted sum of
  the raw dimension scores (raw, not normalised: normalisation stats only exist after training);
* the masked MSE of rated records (``GPRCConfig.rated`` weights it).

The loss is checked before backward: a NaN/inf stops training with :class:`~mrrml.errors.TrainingError`
naming the step and the records of the batch, before the weights (or any checkpoint) are touched.

Precision: the backbone may compute in bf16 (autocast, or FSDP gathering its fp32 shards in bf16); the
heads, the loss and the normalisation statistics always run in fp32, and whatever trains keeps an
fp32 master copy (LoRA adapters, heads, or the sharded full weights), as do the optimizer states.
Under FSDP2 (:class:`~mrrml.training.sharding.FSDP2Strategy`) this module shards itself in
:meth:`RewardModelModule.configure_model` and every pass over the weights goes through its
:meth:`~RewardModelModule.forward` (see :mod:`mrrml.training.sharding`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from lightning.pytorch.strategies import FSDPStrategy
from lightning.pytorch.utilities import GradClipAlgorithmType, rank_zero_info, rank_zero_warn
from lightning.pytorch.utilities.warnings import PossibleUserWarning
from torch import Tensor
from torch.distributed.tensor import DTensor

from ..data.datamodule import resolve_matrix
from ..data.encoder import ConversationEncoder
from ..errors import ConfigError, TrainingError
from ..losses.gprc import GPRCConfig, gprc_loss, rated_loss
from ..model.backbone import BackboneConfig, load_tokenizer, resolve_source
from ..model.packed_forward import Packing, check_packing, embed_batch
from ..model.reward_model import RewardModel
from .metrics import ScoreMoments, TripletMetrics
from .sharding import is_sharded, load_from_rank0, shard

if TYPE_CHECKING:
    from .feature_cache import CachedFeatures


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
        lazy_build: load the backbone in ``configure_model``, once the strategy has set up the processes
            and each rank's device, instead of when this module is created. Sharded runs want it: each
            rank then builds on the meta device and receives its shards from rank 0 (a 4-bit backbone
            is quantised by each rank on its own GPU), instead of every rank loading the full weights.
            A 4-bit backbone is always built there: bitsandbytes places it on a device as it loads,
            and only then does this rank know its device.
        packing: run the answers of each prompt as ONE packed sequence (prompt encoded once, block
            attention mask, positions restarting after the prompt; :mod:`mrrml.model.packed_forward`). Same
            scores and gradients as one row per answer; used where the attention implementation takes
            a block mask (sdpa, eager), otherwise rows stay unpacked and the log says why. ``"auto"``
            (the default) packs a batch only where that is estimated to cost fewer multiply-adds
            (:func:`~mrrml.model.packed_forward.packing_saves_work`: wide backbones, yes; a hidden-96 toy
            with long answers, no); ``true`` always packs, ``false`` never.
        freeze_backbone: train only the projection and the heads on a fixed backbone (no gradients, eval
            mode, no optimizer state for it): the linear-probing stage of multi-objective reward models
            such as ArmoRM. Needs ``projection_dim``: with a fixed backbone ``z`` would be fixed too, and
            GPRC's perp term (where the medium answer lies) would have nothing to shape.
        feature_cache: with ``freeze_backbone``, compute each answer's backbone features once and keep
            them on disk keyed by content and backbone (:mod:`mrrml.training.feature_cache`), so later
            epochs and later runs skip the backbone; ``false`` runs the frozen backbone every step.
        feature_cache_dir: where the feature cache lives (default ``<mrrml cache dir>/features``).
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
        freeze_backbone: bool = False,
        feature_cache: bool = True,
        feature_cache_dir: str | None = None,
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
        if freeze_backbone and not projection_dim:
            raise ConfigError(
                "model.freeze_backbone needs model.projection_dim (e.g. 256): with a frozen backbone the "
                "projection is the only layer GPRC can shape"
            )
        if freeze_backbone and backbone.lora is not None:
            raise ConfigError("model.freeze_backbone trains no backbone weights: remove model.backbone.lora")
        self.freeze_backbone, self.feature_cache, self.feature_cache_dir = (
            freeze_backbone,
            feature_cache,
            feature_cache_dir,
        )
        self._cached_features: CachedFeatures | None = None
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
                "freeze_backbone": freeze_backbone,
                "feature_cache": feature_cache,
                "feature_cache_dir": feature_cache_dir,
            }
        )
        self.reward_model: RewardModel | None = None
        self._tokenizer: Any = None  # only before a lazy build; see `encoder`
        self.val_metrics = TripletMetrics(self.dimensions)
        self.test_metrics = TripletMetrics(self.dimensions)
        self.val_moments = ScoreMoments(len(self.dimensions))
        self.history: list[dict[str, float]] = []  # per-step loss terms (rank 0), for reports
        if not lazy_build and backbone.quantization is None:
            self.configure_model()

    def configure_model(self) -> None:
        """Build the reward model once; under FSDP2 (``self.device_mesh`` set by the strategy), shard it.

        Lightning calls this after the strategy has set up the processes (a second call is a no-op)."""
        mesh = self.device_mesh
        if mesh is not None and self.freeze_backbone:
            # The cache's backbone fingerprint hashes the weights as loaded; shards would hash a slice.
            raise ConfigError(
                "model.freeze_backbone: not supported under FSDP2 sharding; a frozen backbone trains "
                "only the projection and heads, so replicate it (DDP) instead"
            )
        source: dict[str, Tensor] | None = None
        if self.reward_model is None:
            self.reward_model, source = self._new_reward_model(sharded=mesh is not None)
            # transformers returns models in eval mode; training mode matters for LoRA dropout.
            self.reward_model.train()
            if self.freeze_embeddings:
                self.reward_model.backbone.get_input_embeddings().weight.requires_grad_(False)
            if self.freeze_backbone:
                self.reward_model.backbone.requires_grad_(False)
                self.reward_model.backbone.eval()
        if mesh is not None and not is_sharded(self):
            shard(self, self.reward_model, mesh["data_parallel"], str(self.trainer.precision))
            if source is not None:
                load_from_rank0(self.reward_model, source)

    def _new_reward_model(self, sharded: bool) -> tuple[RewardModel, dict[str, Tensor] | None]:
        """(reward model, rank 0's full state to broadcast into its shards, or None when it holds its weights).

        Sharded and full precision: meta parameters on every rank, the weights read once, by rank 0.
        4-bit: every rank quantises its own copy on the device the strategy gave it (stored for sharding
        when sharded)."""
        settings = dict(
            projection_dim=self.projection_dim,
            anchor=self.anchor,
            max_prompt_tokens=self.max_prompt_tokens,
            max_answer_tokens=self.max_answer_tokens,
        )
        if self.backbone_config.quantization:
            device = self._trainer.strategy.root_device if self._trainer is not None else None
            return RewardModel.build(
                self.backbone_config, self.matrix, device=device, sharded=sharded, **settings
            ), None
        if sharded:
            # Rank 0 builds first, so its random initialisation (heads, adapters) draws the same numbers
            # as a single-process run at this point would; the meta build draws none.
            full = RewardModel.build(self.backbone_config, self.matrix, **settings) if self.global_rank == 0 else None
            state = full.state_dict() if full is not None else {}
            return RewardModel.build(self.backbone_config, self.matrix, empty=True, **settings), state
        return RewardModel.build(self.backbone_config, self.matrix, **settings), None

    def setup(self, stage: str) -> None:
        if isinstance(self.trainer.strategy, FSDPStrategy):
            raise ConfigError(
                "trainer.strategy: Lightning's FSDPStrategy (FSDP1) is not supported; shard with "
                "mrrml.training.FSDP2Strategy (fully_shard), which clips gradients by norm, keeps the heads "
                "in fp32 beside a bf16 or 4-bit backbone and runs on CPUs for testing (docs/gpu.md)"
            )

    def train(self, mode: bool = True) -> RewardModelModule:
        """A frozen backbone stays in eval mode (no dropout), so its features are the fixed function the
        cache relies on, whoever calls ``train()`` (Lightning keeps submodules' modes during fit, but
        ``on_train_end`` and users switch the whole module)."""
        super().train(mode)
        if getattr(self, "freeze_backbone", False) and self.reward_model is not None:
            self.reward_model.backbone.eval()
        return self

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
        if self.freeze_backbone and self.feature_cache:
            return self.reward_model.heads.project(self.cached_features().features(batch))
        return embed_batch(self.reward_model, batch, packing=self.packing)

    def forward(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor], Tensor]:
        """(total loss, every term, scores [rows, D]) of one batch: every pass over the weights calls this.

        Under FSDP2 this module is the root of the sharded model, and its forward is where FSDP gathers
        the weights of the root group, the heads, which the loss reads directly as well as through
        the heads' forward."""
        return self.losses(batch)

    def cached_features(self) -> CachedFeatures:
        """The frozen backbone's feature cache, opened on first use: after Lightning has moved and cast the
        backbone, so the fingerprint is that of the weights that actually run."""
        if self._cached_features is None:
            from .feature_cache import CachedFeatures  # imports transformers: only when a cache is used

            self._cached_features = CachedFeatures(self.reward_model, self.feature_cache_dir, self.packing)
        return self._cached_features

    def on_fit_start(self) -> None:
        """Lightning warns at the start of training about every module in eval mode; a frozen backbone
        is in eval mode on purpose, so that warning would greet every frozen run. Only the exact count
        of the backbone's modules is silenced: any other module left in eval mode still warns."""
        if self.freeze_backbone:
            frozen = sum(1 for _ in self.reward_model.backbone.modules())
            warnings.filterwarnings(
                "ignore",
                message=rf"Found {frozen} module\(s\) in eval mode at the start of training",
                category=PossibleUserWarning,
            )

    def on_train_epoch_end(self) -> None:
        if self.freeze_backbone and self.feature_cache:
            # Each rank saves the features it computed, then reads the other ranks': next epoch's
            # batches go to other ranks, and none of them should run the backbone again.
            self.cached_features().store.flush()
            self.trainer.strategy.barrier("mrrml-feature-cache")
            self.cached_features().store.refresh()

    def teardown(self, stage: str) -> None:
        if self._cached_features is not None:
            self._cached_features.store.flush()
            rank_zero_info(self._cached_features.summary())

    def losses(self, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor], Tensor]:
        """(total loss, every term, scores [rows, D]) of one batch (call the module, not this, under FSDP)."""
        z = self.embed(batch)
        # The backbone may run under autocast; the heads and the loss do not (fp32 throughout).
        with torch.autocast(z.device.type, enabled=False):
            return self._head_losses(z, batch)

    def _head_losses(self, z: Tensor, batch: dict[str, Any]) -> tuple[Tensor, dict[str, Tensor], Tensor]:
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
        loss, terms, _ = self(batch)
        self._check_finite(loss, batch, batch_idx, terms)
        size = len(batch["record_ids"])
        for name, value in terms.items():
            self.log(f"train/{name}", value.detach(), batch_size=size, prog_bar=name == "loss", sync_dist=False)
        if self.trainer.is_global_zero:
            self.history.append({"step": float(self.global_step), **{k: float(v.detach()) for k, v in terms.items()}})
        return loss

    # -- evaluation --------------------------------------------------------------------------------
    def _evaluate(self, batch: dict[str, Any], metrics: TripletMetrics, prefix: str) -> None:
        _loss, terms, scores = self(batch)
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
                moments.update(self(batch)[2])  # through the FSDP root when sharded
        self.train(was_training)
        mean, std = moments.compute()  # synced over ranks by torchmetrics
        self.reward_model.set_normalization(mean.to(self.device), std.to(self.device))

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        scores = self(batch)[2]
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
        # It also unscales fp16 gradients inside its step, after clipping would have seen them scaled:
        # with a gradient scaler (16-mixed) the unfused optimizer lets Lightning unscale first.
        fused = (
            all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
            and len({p.device for p in params}) == 1
            and getattr(self.trainer.precision_plugin, "scaler", None) is None
        )
        optimizer = torch.optim.AdamW(param_groups, betas=(0.9, 0.95), fused=fused)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = int(self.warmup * total) if self.warmup < 1 else int(self.warmup)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, total, warmup, self.min_lr_ratio)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """Clip by the total gradient norm over every rank's shards and log it (``train/grad_norm``, before
        clipping); clipping by value stays Lightning's.

        Lightning's own route refuses both configurations this package ships: its mixed-precision
        plugin rejects clipping with a fused optimizer (a check meant for fp16's gradient scaler, which
        bf16 has none of; see :meth:`configure_optimizers`), and its FSDP1 plugin rejects clipping by
        norm. ``clip_grad_norm_`` over FSDP2's DTensor gradients reduces the norm across the shards, so
        every rank scales by the same global norm, as a single process would."""
        if not gradient_clip_val:
            return
        if GradClipAlgorithmType(gradient_clip_algorithm or "norm") == GradClipAlgorithmType.VALUE:
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)
            return
        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        norm = torch.nn.utils.clip_grad_norm_(params, gradient_clip_val)
        if isinstance(norm, DTensor):
            norm = norm.full_tensor()
        self.log("train/grad_norm", norm.detach(), sync_dist=False)
