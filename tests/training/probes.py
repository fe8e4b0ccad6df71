"""A test callback that records, per rank, what a (sharded) training run really did, as JSON.

It is appended to a real ``mrrml fit`` run (``--trainer.callbacks+=...``) and reads the live objects:
dtypes of trainable parameters, optimizer states and buffers; whether parameters are sharded
(DTensor) and where the 4-bit weights live; the global gradient norm before and after clipping;
how often each decoder layer's MLP runs per micro-batch (activation checkpointing runs it twice); and,
before the first step, the gathered full weights against the backbone checkpoint on disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback
from torch.distributed.tensor import DTensor


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _transformer(backbone: torch.nn.Module) -> torch.nn.Module:
    return backbone.get_base_model() if hasattr(backbone, "peft_config") else backbone


def checkpointing_enabled(base: torch.nn.Module) -> bool:
    """transformers 5 renamed ``is_gradient_checkpointing`` to ``is_activation_checkpointing``."""
    flag = getattr(type(base), "is_activation_checkpointing", None)
    return bool(base.is_activation_checkpointing if flag is not None else base.is_gradient_checkpointing)


def _decoder_layers(backbone: torch.nn.Module) -> list[torch.nn.Module]:
    """Modules of the classes transformers declares unsplittable (the decoder layers), also once FSDP
    has derived its own classes from them. Written here, not imported: the probe must not lean on the
    code it checks."""
    base = _transformer(backbone)
    names = set(base._no_split_modules)
    return [m for m in base.modules() if any(cls.__name__ in names for cls in type(m).__mro__)]


def _total_norm(tensors: list[torch.Tensor]) -> float:
    norm = torch.nn.utils.get_total_norm(tensors)
    return float(norm.full_tensor() if isinstance(norm, DTensor) else norm)


class RunProbe(Callback):
    """Writes ``<out>/rank<k>.json`` at the end of training."""

    def __init__(self, out: str):
        self.out = Path(out)
        self.record: dict[str, Any] = {"pre_clip": [], "post_clip": [], "layer_calls": []}
        self._calls = 0

    # -- setup ------------------------------------------------------------------------------------
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import CheckpointWrapper

        model = pl_module.reward_model
        # What the optimizer updates: the (sharded) fp32 master copies. The module's registered parameters
        # may be gathered ones at this point (FSDP keeps the root's gathered after a validation forward).
        trainable = [p for group in trainer.optimizers[0].param_groups for p in group["params"]]
        quantized = [m.weight for m in model.backbone.modules() if hasattr(m, "quant_state")]
        self.record.update(
            rank=trainer.global_rank,
            root_device=str(trainer.strategy.root_device),
            trainable_dtypes=sorted({_dtype(p) for p in trainable}),
            trainable_sharded=sorted({isinstance(p, DTensor) for p in trainable}),
            heads_dtype=_dtype(model.heads.weight),
            buffer_dtypes={"norm_mean": _dtype(model.norm_mean), "norm_std": _dtype(model.norm_std)},
            quantized_storage=sorted({_dtype(w) for w in quantized}),
            quantized_sharded=sorted({isinstance(w, DTensor) for w in quantized}),
            quantized_devices=sorted({str(w.device) for w in quantized}),
            checkpoint_wrappers=sum(isinstance(m, CheckpointWrapper) for m in pl_module.modules()),
            gradient_checkpointing=checkpointing_enabled(_transformer(model.backbone)),
            init_max_diff=self._init_against_checkpoint(trainer, pl_module),
        )
        layers = _decoder_layers(model.backbone)
        self.record["layers"] = len(layers)
        for layer in layers:
            # transformers checkpoints a layer's forward, not its __call__: count a submodule's calls
            layer.mlp.register_forward_pre_hook(self._count)
        # after the step: Lightning runs the closure (backward, clipping) inside optimizer.step()
        trainer.optimizers[0].register_step_post_hook(self._after_clipping)

    def _init_against_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> float | None:
        """Max |difference| between the backbone weights the run starts from and the checkpoint file
        (full-precision, full fine-tuning runs only; gathered from the shards when sharded)."""
        from safetensors.torch import load_file
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        from mrrml.model.backbone import resolve_source

        model = pl_module.reward_model
        if model.backbone_config.quantization or model.backbone_config.lora is not None:
            return None
        if any(isinstance(p, DTensor) for p in model.backbone.parameters()):
            options = StateDictOptions(full_state_dict=True, cpu_offload=True)
            state = get_model_state_dict(model.backbone, options=options)
        else:
            state = model.backbone.state_dict()
        if trainer.global_rank != 0:
            return None
        source = Path(resolve_source(model.backbone_config)[0])
        saved = load_file(str(source / "model.safetensors"))
        assert saved.keys() == state.keys(), (sorted(saved)[:3], sorted(state)[:3])
        return max(float((state[k].float().cpu() - v.float()).abs().max()) for k, v in saved.items())

    # -- per step ---------------------------------------------------------------------------------
    def _count(self, *_: Any) -> None:
        self._calls += 1

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *_: Any) -> None:
        self._calls = 0

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *_: Any) -> None:
        self.record["layer_calls"].append(self._calls)  # forward + backward of one micro-batch
        optimizer = trainer.optimizers[0]
        states = [s for s in optimizer.state.values() if s]
        if states and "optimizer_state_dtypes" not in self.record:
            self.record["optimizer_state_dtypes"] = sorted(
                {_dtype(v) for s in states for k, v in s.items() if k in ("exp_avg", "exp_avg_sq")}
            )

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        self.record["pre_clip"].append(_total_norm(grads))

    def _after_clipping(self, optimizer: Any, *_: Any) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        self.record["post_clip"].append(_total_norm(grads))

    # -- output -----------------------------------------------------------------------------------
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / f"rank{trainer.global_rank}.json").write_text(json.dumps(self.record, indent=1))


def read_probes(out: Path, world: int) -> list[dict[str, Any]]:
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(world)]
