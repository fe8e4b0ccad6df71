"""Fully sharded training (FSDP2, ``torch.distributed.fsdp.fully_shard``) of the reward model.

Layout (``shard``): one FSDP group per decoder layer and one for the rest of the transformer
(embeddings, final norm), all gathered in the compute dtype; the LightningModule itself is the root
group, holding the heads in fp32. The root's forward (``RewardModelModule.forward``) runs every pass
over the weights — training, validation, the normalisation statistics, prediction — so FSDP gathers
each group exactly where it is used, the heads included, whose weights the GPRC loss reads directly.

Loading (``build_sharded``): a full-precision backbone is built on the meta device on every rank;
rank 0 alone reads the checkpoint into host memory, and its state is broadcast tensor by tensor into
the other ranks' shards (``set_model_state_dict(broadcast_from_rank0=True)``): one host copy per job
instead of one per GPU. A 4-bit backbone is loaded by every rank straight onto its own GPU (the
quantisation happens on load) and then sharded; its packed weights are stored in the compute dtype.

Saving (``gather_for_export``): every rank takes part in gathering the full state dict (a collective),
rank 0 receives it on the CPU and assembles an ordinary unsharded copy that writes the model directory
exactly as a single-process run would.

Lightning's ``FSDPStrategy`` (FSDP1) is not used: it refuses CPUs (so it cannot be tested without GPUs),
its precision plugin refuses clipping by norm, and flat parameters need one dtype per group, which the
fp32 heads beside a bf16 or 4-bit backbone do not have. torch recommends ``fully_shard`` for new work.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import torch
from lightning.fabric.plugins.collectives.torch_collective import default_pg_timeout
from lightning.pytorch.strategies import ModelParallelStrategy
from torch import nn
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard

from ..model.reward_model import RewardModel

if TYPE_CHECKING:
    from torch.distributed.device_mesh import DeviceMesh

_COMPUTE_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


class FSDP2Strategy(ModelParallelStrategy):
    """FSDP2 over every process of the job: ``trainer.devices x trainer.num_nodes`` shards.

    Lightning's ``ModelParallelStrategy`` with the whole world as its data-parallel dimension and no
    tensor parallelism, so the GPU and node counts stay the Trainer's own options (``--trainer.devices``,
    ``--trainer.num_nodes``) and no strategy argument has to follow them. The module shards itself in
    ``configure_model`` (:func:`shard`).

    Args:
        save_distributed_checkpoint: Lightning checkpoints as one shard file per rank (True; fast, and
            resumable on the same world size) or gathered into one file on rank 0 (False). The mrrml
            model directory is always written whole (see :mod:`mrrml.training.callbacks`).
        process_group_backend: ``nccl`` on GPUs, ``gloo`` on CPUs by default.
        timeout: how long a collective may wait for the other ranks.
    """

    def __init__(
        self,
        save_distributed_checkpoint: bool = True,
        process_group_backend: str | None = None,
        timeout: timedelta | None = default_pg_timeout,
    ) -> None:
        super().__init__(
            data_parallel_size="auto",
            tensor_parallel_size=1,
            save_distributed_checkpoint=save_distributed_checkpoint,
            process_group_backend=process_group_backend,
            timeout=timeout,
        )

    def setup_environment(self) -> None:
        self._data_parallel_size = self.num_nodes * self.num_processes
        super().setup_environment()


def is_sharded(module: nn.Module) -> bool:
    return isinstance(module, FSDPModule)


def transformer_base(backbone: nn.Module) -> nn.Module:
    """The transformers model inside a (possibly peft-wrapped) backbone; peft calls it as a module."""
    return backbone.get_base_model() if hasattr(backbone, "peft_config") else backbone


def decoder_layers(backbone: nn.Module) -> list[nn.Module]:
    """The decoder layers, found by the class names transformers declares as unsplittable
    (``_no_split_modules``, the same list accelerate and the HF Trainer wrap for FSDP)."""
    base = transformer_base(backbone)
    names = set(getattr(base, "_no_split_modules", None) or ())
    # By the class's own name or, once sharded, the name of the class FSDP derived it from.
    layers = [m for m in base.modules() if any(cls.__name__ in names for cls in type(m).__mro__)]
    if not layers:
        raise TypeError(f"{type(base).__name__} declares no decoder layer classes (_no_split_modules); cannot shard")
    return layers


def compute_policy(precision: str) -> MixedPrecisionPolicy:
    """The backbone's FSDP mixed precision: under ``*-mixed`` the fp32 shards are gathered in the low
    dtype (the matmuls run there, as autocast would run them) and gradients are reduced in fp32; the
    optimizer only ever sees the fp32 shards. Any other precision gathers parameters as stored."""
    dtype = _COMPUTE_DTYPES.get(precision)
    return MixedPrecisionPolicy(param_dtype=dtype, reduce_dtype=torch.float32) if dtype else MixedPrecisionPolicy()


def shard(module: nn.Module, reward_model: RewardModel, mesh: DeviceMesh, precision: str) -> None:
    """``fully_shard`` bottom-up: each decoder layer, the rest of the transformer, then ``module`` (the
    LightningModule holding ``reward_model``) as the root, whose own group is the heads, kept in fp32."""
    policy = compute_policy(precision)
    for layer in decoder_layers(reward_model.backbone):
        fully_shard(layer, mesh=mesh, mp_policy=policy)
    fully_shard(transformer_base(reward_model.backbone), mesh=mesh, mp_policy=policy)
    fully_shard(module, mesh=mesh, mp_policy=MixedPrecisionPolicy(reduce_dtype=torch.float32))
    for layer in reward_model.backbone.modules():
        if hasattr(layer, "support_avx512bf16_for_cpu"):
            # bitsandbytes repacks a 4-bit weight in place for its CPU kernels at the first inference
            # call; under FSDP that weight is a gathered copy, freed after use, so the repacked layout
            # would meet the original one at the next gather. GPUs never take this path.
            layer.support_avx512bf16_for_cpu = False


def load_from_rank0(reward_model: RewardModel, state: dict[str, torch.Tensor]) -> None:
    """Fill the (meta) shards of ``reward_model`` from rank 0's full ``state`` (empty on other ranks),
    one tensor at a time; each rank keeps only its shard."""
    import torch.distributed as dist
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    if dist.get_rank() != 0 and state:
        raise ValueError("only rank 0 passes a state to broadcast")
    set_model_state_dict(reward_model, state, options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True))


def gather_for_export(reward_model: RewardModel) -> RewardModel | None:
    """On rank 0, an unsharded CPU copy of a sharded ``reward_model``; None on the other ranks.

    Every rank must call this (the gather is a collective). Only what the model directory stores is
    gathered: with an adapter or a quantised base, the trainable weights, heads and buffers (the frozen
    base is referenced or copied from its source, never written from memory); otherwise everything. The
    copy has the unquantised layout, which shares the adapter's weight names with the 4-bit one."""
    import torch.distributed as dist
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    base_by_reference = hasattr(reward_model.backbone, "peft_config") or bool(reward_model.backbone_config.quantization)
    options = StateDictOptions(full_state_dict=True, cpu_offload=True, ignore_frozen_params=base_by_reference)
    state = get_model_state_dict(reward_model, options=options)
    if dist.get_rank() != 0:
        return None
    copy = RewardModel.build(
        reward_model.backbone_config,
        reward_model.matrix,
        projection_dim=reward_model.heads.projection_dim,
        anchor=reward_model.anchor,
        max_prompt_tokens=reward_model.encoder.max_prompt_tokens,
        max_answer_tokens=reward_model.encoder.max_answer_tokens,
        empty=True,
    )
    result = copy.load_state_dict(state, strict=False, assign=True)
    frozen = {name for name, param in copy.named_parameters() if not param.requires_grad}
    unfilled = [k for k in result.missing_keys if not (base_by_reference and k in frozen)]
    if unfilled or result.unexpected_keys:
        raise RuntimeError(
            f"gathered state does not fit the model layout: missing {unfilled[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}"
        )
    return copy
