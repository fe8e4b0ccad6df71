"""GPRC — geometric projection reference constraints (docs/design.md §3), as one pure function.

The same function serves as the eager reference (:func:`gprc_loss_reference`) and, wrapped by
``torch.compile(fullgraph=True, dynamic=True)``, as the fused training loss (:func:`gprc_loss`).

Why it is written the way it is:

* Masks (``torch.where`` on per-row scalars), never boolean indexing, so every shape depends on
  the batch size only and the compiled graph has no data-dependent shapes, hence no recompiles.
* Every quantity that needs a pass over the ``[K, P]`` embeddings — the head scores and the row
  reductions ``‖v‖²``, ``⟨w, v⟩``, ``‖w‖²`` — comes from one autograd function,
  :class:`_RowStatistics`, with a hand-written backward; everything after it works on ``[K]`` or
  ``[K, D]`` tensors. Its backward is linear in ``z`` row by row, so compiled it is one pass that
  reads each ``z`` and writes its gradient, plus the ``∂W`` matmuls; generic autograd would keep and
  re-read ``v``, ``w`` and their products instead.
* Under compilation the ``D``-wide head products are written as broadcast reductions, which
  Inductor fuses into those passes; eagerly they are plain matmuls. Same values. Inductor is also
  told to unroll reductions of fewer than :data:`UNROLL_HEADS_BELOW` elements (its default stops
  below 8): the backward's sums over the ``D`` heads then become pointwise code, and the gradients
  of all four embeddings come out of one loop that reads each ``z`` once and writes nothing else
  of size ``[K, P]``. Left as reductions, they were materialised as four ``[K, P]`` buffers and
  combined in a second loop, which was slower and held more memory (``benchmarks/gprc_loss.py``;
  the figures are in docs/benchmarks.md). More heads than that still compile, just unfused.
* The head a triplet is about is picked with a one-hot product, not ``gather``: the scatter in
  gather's backward was miscompiled by Inductor (torch 2.13, CPU) into wrong gradients once the
  scores of good, medium and poor were separate tensors; ``tests/losses/test_gprc_compiled.py``
  compares every gradient on the shapes that exposed it.
* The perpendicular deviation ``‖w − t·v‖²`` is expanded to ``‖w‖² − 2t⟨w,v⟩ + t²‖v‖²`` (exact
  algebra, clamped at 0 against round-off) so that it needs no second pass over ``[K, P]``.
* ``⟨v, W_d⟩`` is ``s_d(g) − s_d(p)``: the scores are needed anyway, so no ``W[dim_idx]`` lookup.
* Norms carry ``eps`` inside the square root and denominators are clamped before division:
  ``torch.where`` alone does not stop a NaN gradient flowing from the branch it discards.
* Hyper-parameters travel as one tensor, so changing a λ (e.g. a schedule) does not recompile.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mrrml.errors import ConfigError, MrrmlError

TERMS = ("rank", "axis", "perp", "ortho", "neutral", "center")
EAGER_ENV = "MRRML_GPRC_EAGER"


class GPRCInputError(MrrmlError):
    """A tensor handed to the GPRC loss has the wrong shape, dtype or index range."""


# What the compiled core reads from GPRCConfig, by name and in this order (``rated`` weighs a loss
# outside the core).
CORE_HYPERPARAMETERS = ("margin", "axis", "perp", "ortho", "neutral", "center", "eps")


@dataclass(frozen=True)
class GPRCConfig:
    """Margin δ, the λ of each auxiliary term, the rated-loss weight and the ε of every norm."""

    margin: float = 1.0
    axis: float = 0.1
    perp: float = 0.1
    ortho: float = 0.01
    neutral: float = 0.1
    center: float = 0.01
    rated: float = 1.0
    eps: float = 1e-6

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"GPRCConfig.{f.name}: expected a number, got {value!r}")
            if f.name != "margin" and value < 0:
                raise ConfigError(f"GPRCConfig.{f.name}: must be >= 0, got {value}")
        if self.eps <= 0:
            raise ConfigError(f"GPRCConfig.eps: must be > 0, got {self.eps}")

    def as_tensor(self, dtype: torch.dtype, device: torch.device) -> Tensor:
        """The loss core's hyper-parameters, in the order of :data:`CORE_HYPERPARAMETERS`."""
        return torch.tensor([getattr(self, name) for name in CORE_HYPERPARAMETERS], dtype=dtype, device=device)


class GPRCOutput(NamedTuple):
    """``loss``: the weighted total (0-dim); ``terms``: each unweighted term (0-dim), keys :data:`TERMS`."""

    loss: Tensor
    terms: dict[str, Tensor]


def _masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` over ``mask``; 0 (with zero gradient) when the mask is empty."""
    total = torch.where(mask, values, torch.zeros_like(values)).sum()
    return total / mask.sum().clamp_min(1).to(values.dtype)


def _scores(z: Tensor, W: Tensor) -> Tensor:
    """``z @ W.T``; under compilation a broadcast reduction that fuses with the row reductions."""
    if torch.compiler.is_compiling():
        return (z.unsqueeze(1) * W).sum(-1)
    return z @ W.t()


def _scores_input_grad(g: Tensor, W: Tensor) -> Tensor:
    """``g @ W`` (the gradient of :func:`_scores` in ``z``); fused like it under compilation."""
    if torch.compiler.is_compiling():
        return (g.unsqueeze(-1) * W).sum(1)
    return g @ W


class _RowStatistics(torch.autograd.Function):
    """Everything GPRC needs from the ``[K, P]`` embeddings: the head scores of every answer and
    the row reductions ``‖v‖², ⟨w, v⟩, ‖w‖²`` (``v = z_g − z_p``, ``w = z_m − z_p``).

    Only the inputs are saved; ``v`` and ``w`` are recomputed in the backward, which costs nothing
    extra inside the fused pass and keeps two ``[K, P]`` tensors out of memory. ``z_n`` (neutral
    rewrites) is optional; without it the fourth output is empty.
    """

    @staticmethod
    def forward(ctx, W: Tensor, z_g: Tensor, z_m: Tensor, z_p: Tensor, z_n: Tensor | None):
        ctx.save_for_backward(W, z_g, z_m, z_p, z_n)
        v = z_g - z_p
        w = z_m - z_p
        s_n = _scores(z_n, W) if z_n is not None else W.new_zeros(0)
        return (_scores(z_g, W), _scores(z_m, W), _scores(z_p, W), s_n, (v * v).sum(1), (w * v).sum(1), (w * w).sum(1))

    @staticmethod
    def backward(ctx, gs_g: Tensor, gs_m: Tensor, gs_p: Tensor, gs_n: Tensor, g_vv: Tensor, g_wv: Tensor, g_ww: Tensor):
        W, z_g, z_m, z_p, z_n = ctx.saved_tensors
        v = z_g - z_p
        w = z_m - z_p
        g_vv, g_wv, g_ww = g_vv.unsqueeze(1), g_wv.unsqueeze(1), g_ww.unsqueeze(1)
        grad_v = 2.0 * g_vv * v + g_wv * w
        grad_w = 2.0 * g_ww * w + g_wv * v
        grad_W = gs_g.t() @ z_g + gs_m.t() @ z_m + gs_p.t() @ z_p
        grad_n = None
        if z_n is not None:
            grad_W = grad_W + gs_n.t() @ z_n
            grad_n = _scores_input_grad(gs_n, W)
        return (
            grad_W,
            _scores_input_grad(gs_g, W) + grad_v,
            _scores_input_grad(gs_m, W) + grad_w,
            _scores_input_grad(gs_p, W) - grad_v - grad_w,
            grad_n,
        )


def _gprc_core(
    z_good: Tensor,
    z_medium: Tensor,
    z_poor: Tensor,
    W: Tensor,
    b: Tensor,
    dim_idx: Tensor,
    has_medium: Tensor,
    z_neutral: Tensor | None,
    has_neutral: Tensor | None,
    hp: Tensor,
) -> tuple[Tensor, ...]:
    """The loss as a pure tensor function: returns ``(loss, rank, axis, perp, ortho, neutral, center)``."""
    dtype = torch.promote_types(z_good.dtype, torch.float32)
    z_g, z_m, z_p = z_good.to(dtype), z_medium.to(dtype), z_poor.to(dtype)
    W, b, hp = W.to(dtype), b.to(dtype), hp.to(dtype)
    margin, lam_axis, lam_perp, lam_ortho, lam_neutral, lam_center, eps = hp.unbind()
    pick = F.one_hot(dim_idx, W.shape[0]).to(dtype)

    # Scores of every answer on every head (center needs all of them), and the row statistics.
    z_n = z_neutral.to(dtype) if z_neutral is not None else None
    s_g, s_m, s_p, s_n, vv, wv, ww = _RowStatistics.apply(W, z_g, z_m, z_p, z_n)
    s_g, s_m, s_p = s_g + b, s_m + b, s_p + b
    sd_g = (s_g * pick).sum(1)
    sd_m = (s_m * pick).sum(1)
    sd_p = (s_p * pick).sum(1)

    # rank: order good > medium > poor along head d (pairs: good > poor).
    rank_triplet = F.softplus(margin - (sd_g - sd_m)) + F.softplus(margin - (sd_m - sd_p))
    rank_pair = F.softplus(margin - (sd_g - sd_p))
    rank = torch.where(has_medium, rank_triplet, rank_pair).mean()

    # axis: z_g − z_p points along u_d. ⟨v, W_d⟩ = s_d(g) − s_d(p).
    w_sq = (W * W).sum(1)
    w_norm_d = ((w_sq + eps).sqrt() * pick).sum(1)
    cos = (sd_g - sd_p) / ((vv + eps).sqrt() * w_norm_d)
    axis = (1.0 - cos).mean()

    # perp: medium on the segment [poor, good]; w = z_m − z_p, t its coordinate along v.
    denom = vv + eps
    t = wv / denom
    off_line = (ww - 2.0 * t * wv + t * t * vv).clamp_min(0.0) / denom
    perp_row = off_line + F.relu(-t) + F.relu(t - 1.0)
    perp = _masked_mean(perp_row, has_medium)

    # ortho: distinct dimensions keep distinct axes (mean cos² over pairs i < j).
    gram = (W @ W.T) / (w_sq + eps).sqrt().unsqueeze(1) / (w_sq + eps).sqrt().unsqueeze(0)
    off_diag = 1.0 - torch.eye(W.shape[0], dtype=dtype, device=W.device)
    ortho = (gram * gram * off_diag).sum() / off_diag.sum().clamp_min(1.0)

    # center: mean of s² over every score computed for an answer that is present.
    present_m = has_medium.unsqueeze(1)
    sq_sum = (s_g * s_g).sum() + (s_p * s_p).sum() + torch.where(present_m, s_m * s_m, torch.zeros_like(s_m)).sum()
    count = 2 * s_g.numel() + has_medium.sum() * s_g.shape[1]

    if z_neutral is not None and has_neutral is not None:
        s_n = s_n + b
        neutral = _masked_mean(((s_g - s_n) ** 2).mean(1), has_neutral)
        present_n = has_neutral.unsqueeze(1)
        sq_sum = sq_sum + torch.where(present_n, s_n * s_n, torch.zeros_like(s_n)).sum()
        count = count + has_neutral.sum() * s_g.shape[1]
    else:
        neutral = torch.zeros((), dtype=dtype, device=z_g.device)
    center = sq_sum / count.to(dtype)

    loss = rank + lam_axis * axis + lam_perp * perp + lam_ortho * ortho + lam_neutral * neutral + lam_center * center
    return loss, rank, axis, perp, ortho, neutral, center


def _check_inputs(
    z_good: Tensor,
    z_medium: Tensor,
    z_poor: Tensor,
    W: Tensor,
    b: Tensor,
    dim_idx: Tensor,
    has_medium: Tensor,
    z_neutral: Tensor | None,
    has_neutral: Tensor | None,
) -> None:
    """Raise :class:`GPRCInputError` naming the argument whose shape, dtype or range is wrong."""
    if W.dim() != 2:
        raise GPRCInputError(f"W: expected [D, P], got shape {tuple(W.shape)}")
    D, P = W.shape
    if D < 1:
        raise GPRCInputError("W: needs at least one head (D >= 1)")
    if tuple(b.shape) != (D,):
        raise GPRCInputError(f"b: expected shape ({D},) to match W, got {tuple(b.shape)}")
    if z_good.dim() != 2 or z_good.shape[1] != P:
        raise GPRCInputError(f"z_good: expected [K, {P}], got shape {tuple(z_good.shape)}")
    K = z_good.shape[0]
    named = {"z_medium": z_medium, "z_poor": z_poor}
    if z_neutral is not None:
        named["z_neutral"] = z_neutral
    for name, z in named.items():
        if tuple(z.shape) != (K, P):
            raise GPRCInputError(f"{name}: expected shape ({K}, {P}) like z_good, got {tuple(z.shape)}")
    for name, z in {"z_good": z_good, "W": W, "b": b, **named}.items():
        if not z.is_floating_point():
            raise GPRCInputError(f"{name}: expected a floating tensor, got {z.dtype}")
    if tuple(dim_idx.shape) != (K,) or dim_idx.dtype not in (torch.int64, torch.int32):
        raise GPRCInputError(
            f"dim_idx: expected an integer tensor of shape ({K},), got {dim_idx.dtype} {tuple(dim_idx.shape)}"
        )
    masks = {"has_medium": has_medium}
    if (z_neutral is None) != (has_neutral is None):
        raise GPRCInputError("z_neutral and has_neutral must be given together")
    if has_neutral is not None:
        masks["has_neutral"] = has_neutral
    for name, mask in masks.items():
        if tuple(mask.shape) != (K,) or mask.dtype != torch.bool:
            raise GPRCInputError(
                f"{name}: expected a bool tensor of shape ({K},), got {mask.dtype} {tuple(mask.shape)}"
            )
    if K:
        low, high = torch.aminmax(dim_idx)
        if int(low) < 0 or int(high) >= D:
            raise GPRCInputError(f"dim_idx: values must lie in [0, {D - 1}], got range [{int(low)}, {int(high)}]")


def _run(
    core: Callable[..., tuple[Tensor, ...]],
    z_good: Tensor,
    z_medium: Tensor,
    z_poor: Tensor,
    W: Tensor,
    b: Tensor,
    dim_idx: Tensor,
    has_medium: Tensor,
    z_neutral: Tensor | None,
    has_neutral: Tensor | None,
    config: GPRCConfig,
) -> GPRCOutput:
    _check_inputs(z_good, z_medium, z_poor, W, b, dim_idx, has_medium, z_neutral, has_neutral)
    dtype = torch.promote_types(z_good.dtype, torch.float32)
    hp = config.as_tensor(dtype, z_good.device)
    # The loss is always computed in (at least) fp32, even inside a bf16 autocast region.
    with torch.autocast(device_type=z_good.device.type, enabled=False):
        loss, *values = core(z_good, z_medium, z_poor, W, b, dim_idx.long(), has_medium, z_neutral, has_neutral, hp)
    return GPRCOutput(loss, dict(zip(TERMS, values)))


def gprc_loss_reference(
    z_good: Tensor,
    z_medium: Tensor,
    z_poor: Tensor,
    W: Tensor,
    b: Tensor,
    dim_idx: Tensor,
    has_medium: Tensor,
    z_neutral: Tensor | None = None,
    has_neutral: Tensor | None = None,
    config: GPRCConfig = GPRCConfig(),
) -> GPRCOutput:
    """The GPRC loss, run eagerly op by op (the reference that the compiled path must match).

    ``z_*``: ``[K, P]`` anchored embeddings (rows of ``z_medium`` where ``has_medium`` is False are
    ignored: pass zeros); ``W [D, P]``, ``b [D]``: the heads; ``dim_idx [K]``: the dimension each
    triplet is about; ``has_medium``/``has_neutral [K]`` bool. Computed in fp32 (fp64 stays fp64).
    """
    return _run(_gprc_core, z_good, z_medium, z_poor, W, b, dim_idx, has_medium, z_neutral, has_neutral, config)


UNROLL_HEADS_BELOW = 65
"""Inductor's ``unroll_reductions_threshold`` for the compiled loss: sums over up to 64 heads fuse.

It applies to every reduction of a size fixed at compile time. Dynamo keeps parameter shapes static,
so with ``W = heads.weight`` (an ``nn.Parameter``) the embedding width P is fixed too, and for
P ≤ 64 (tiny backbones, a small ``projection_dim``) the sums over P unroll as well; the tests
cover both widths with ``W`` as a parameter."""

GRAPHS_PER_PROCESS = 64
"""How many compiled graphs of the loss one process may hold. Every (D, P) of a model is a graph of
its own (the heads are parameters, whose shapes Dynamo keeps static), so a process that trains or
scores several models compiles several; Dynamo's global default of 8 would turn the ninth into an
error under ``fullgraph=True``."""


def compile_core() -> Callable[..., tuple[Tensor, ...]]:
    """A fresh ``torch.compile`` of the loss core, with the settings :func:`gprc_loss` uses.

    Recent torch takes the graph limit per compiled function (``torch.compile(recompile_limit=)``);
    older releases (the 2.11 of common GPU images) only have Dynamo's process-wide limit, which is
    then raised to :data:`GRAPHS_PER_PROCESS` (never lowered)."""
    settings: dict[str, Any] = {"fullgraph": True, "dynamic": True}
    if "recompile_limit" in inspect.signature(torch.compile).parameters:
        settings["recompile_limit"] = GRAPHS_PER_PROCESS
    else:
        import torch._dynamo.config as dynamo

        dynamo.recompile_limit = max(dynamo.recompile_limit, GRAPHS_PER_PROCESS)
    return torch.compile(_gprc_core, options={"unroll_reductions_threshold": UNROLL_HEADS_BELOW}, **settings)


_compiled_core: Callable[..., tuple[Tensor, ...]] | None = None


def _get_compiled_core() -> Callable[..., tuple[Tensor, ...]]:
    """Compile :func:`_gprc_core` on first use (importing this module stays cheap) and cache it."""
    global _compiled_core
    if _compiled_core is None:
        _compiled_core = compile_core()
    return _compiled_core


def eager_forced() -> bool:
    """True when ``MRRML_GPRC_EAGER=1`` asks every :func:`gprc_loss` call to skip compilation."""
    return os.environ.get(EAGER_ENV, "0").strip().lower() in ("1", "true", "yes", "on")


def gprc_loss(
    z_good: Tensor,
    z_medium: Tensor,
    z_poor: Tensor,
    W: Tensor,
    b: Tensor,
    dim_idx: Tensor,
    has_medium: Tensor,
    z_neutral: Tensor | None = None,
    has_neutral: Tensor | None = None,
    config: GPRCConfig = GPRCConfig(),
    *,
    eager: bool = False,
) -> GPRCOutput:
    """The GPRC loss under ``torch.compile(fullgraph=True, dynamic=True)``; same arguments and
    result as :func:`gprc_loss_reference`.

    One compilation serves every batch size (K ≥ 2). ``eager=True`` or the environment variable
    ``MRRML_GPRC_EAGER=1`` runs the reference instead — for debugging, or where compilation is
    unavailable. Only this head+loss region is compiled, so quantised backbones are unaffected.
    """
    core = _gprc_core if eager or eager_forced() else _get_compiled_core()
    return _run(core, z_good, z_medium, z_poor, W, b, dim_idx, has_medium, z_neutral, has_neutral, config)


def rated_loss(scores: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Masked MSE between scores and absolute ratings ``[N, D]``; 0 when nothing is rated.

    Targets under a False mask may hold anything (NaN included): they are replaced before use.
    """
    if scores.shape != targets.shape or scores.shape != mask.shape:
        raise GPRCInputError(
            f"rated_loss: scores {tuple(scores.shape)}, targets {tuple(targets.shape)} "
            f"and mask {tuple(mask.shape)} must have the same shape"
        )
    dtype = torch.promote_types(scores.dtype, torch.float32)
    keep = mask.bool()
    diff = scores.to(dtype) - torch.where(keep, targets.to(dtype), torch.zeros_like(scores, dtype=dtype))
    return _masked_mean((diff * diff).reshape(-1), keep.reshape(-1))
