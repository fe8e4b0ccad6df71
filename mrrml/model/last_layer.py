"""Last-layer pruning for scoring: the last decoder layer computes only the positions that get pooled.

A reward model reads the final hidden state at a handful of positions per row (the answer's last token,
and the prompt's last token as the anchor). Every other position's output of the LAST decoder layer is
thrown away, yet a plain forward computes its query projection, attention, ``o_proj``, residual,
post-attention norm and MLP — with a few layers that is a large share of the whole forward's FLOPs.
Only that layer's keys and values are needed at every position: the selected queries attend to them,
and a key/value cache that later answers reuse must hold them.

:func:`prune_last_layer` swaps, for the duration of a ``with`` block, the last decoder layer's forward
for one that runs the input norm and the key/value projections (with rotary, ``k_norm`` and the cache
update) on all tokens, and the query, attention, output projection, residuals, post-attention norm and
MLP only at the given positions. It returns the layer's input with those positions overwritten: the
model's final norm still runs over all tokens, but only the selected positions mean anything
afterwards, so callers must read only those.

The selected queries attend through the SAME mask rows the full layer would have used (the rows of the
mask the layer receives; with ``sdpa`` and unpadded causal input transformers passes no mask, and the
causal rows are rebuilt from the positions and the cache length), through transformers' own attention
function, so the result equals the full layer's output at those positions.

Supported: Qwen3, Qwen2 and Llama-family decoder layers (SmolLM2 is Llama) with ``sdpa`` or ``eager``
attention, and no sliding window on the last layer. Anything else runs the full layer and logs the
reason once per backbone (:func:`pruning_unsupported_reason`). Projections are called as modules, so
LoRA-wrapped (peft) and bitsandbytes-quantised projections work unchanged.

Thread safety: the positions live in thread-local state; the patched forward runs the original layer
for any thread that did not enter the context (a server scoring on several threads stays correct).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ..errors import MrrmlError
from .backbone import attention_implementation
from .optional_speedups import optional_speedup

SUPPORTED_ATTENTION = ("sdpa", "eager")
SUPPORTED_LAYERS = ("Qwen3DecoderLayer", "Qwen2DecoderLayer", "LlamaDecoderLayer")

_local = threading.local()  # .positions: dict[id(layer), LongTensor [B, S]]
_install_lock = threading.Lock()
_installed: dict[int, list[Any]] = {}  # id(layer) -> [layer, users]


class LastLayerError(MrrmlError):
    """Positions that do not fit the hidden states the pruned layer receives."""


def base_transformer(backbone: nn.Module) -> nn.Module:
    """The transformer holding the decoder ``layers`` (through a peft wrapper and a ``.model`` level)."""
    model = backbone.get_base_model() if hasattr(backbone, "peft_config") else backbone
    if not hasattr(model, "layers") and hasattr(getattr(model, "model", None), "layers"):
        model = model.model
    return model


def _last_layer(model: nn.Module) -> nn.Module | None:
    layers = getattr(model, "layers", None)
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        return None
    count = getattr(getattr(model, "config", None), "num_hidden_layers", None) or len(layers)
    return layers[min(int(count), len(layers)) - 1]


def pruning_unsupported_reason(backbone: nn.Module) -> str | None:
    """Why the last layer of ``backbone`` cannot be pruned (None when it can)."""
    model = base_transformer(backbone)
    layer = _last_layer(model)
    if layer is None:
        return f"{type(model).__name__} has no decoder `layers` list, so last-layer pruning is off"
    name = type(layer).__name__
    if name not in SUPPORTED_LAYERS:
        return f"decoder layer {name} is not one of {list(SUPPORTED_LAYERS)}, so last-layer pruning is off"
    impl = attention_implementation(model)
    if impl not in SUPPORTED_ATTENTION:
        return (
            f"attention implementation {impl!r} is not one of {list(SUPPORTED_ATTENTION)} (its masks cannot be "
            "cut to the selected query rows), so last-layer pruning is off"
        )
    if getattr(layer.self_attn, "sliding_window", None) is not None:
        return "the last decoder layer uses sliding-window attention, so last-layer pruning is off"
    if "forward" in vars(layer) and id(layer) not in _installed:
        return (
            f"the last decoder layer's forward is already wrapped ({vars(layer)['forward']!r}, e.g. an "
            "accelerate hook), so last-layer pruning is off"
        )
    return None


def use_pruning(backbone: nn.Module, requested: bool = True) -> bool:
    """Whether to prune; logs the reason (once per backbone and reason) when requested but unsupported."""
    return optional_speedup(backbone, requested, pruning_unsupported_reason)


@contextmanager
def prune_last_layer(backbone: nn.Module, positions: torch.Tensor, enabled: bool = True) -> Iterator[bool]:
    """Within the block, this thread's forwards of ``backbone`` compute the last decoder layer only at
    ``positions`` (LongTensor [B, S]: per row, indices into the sequence the backbone is called with).

    Yields whether pruning is active (False: disabled, or unsupported and logged). Only the selected
    positions of the backbone's ``last_hidden_state`` are valid while pruning is active; the key/value
    cache, when one is used, is complete.
    """
    if not use_pruning(backbone, enabled):
        yield False
        return
    if positions.dim() != 2 or positions.dtype not in (torch.int32, torch.int64):
        raise LastLayerError(
            f"positions must be an integer tensor [batch, selected], got {positions.dtype} {tuple(positions.shape)}"
        )
    layer = _last_layer(base_transformer(backbone))
    assert layer is not None  # use_pruning checked it
    _install(layer)
    active = _active()
    previous = active.get(id(layer))
    active[id(layer)] = positions.long()
    try:
        yield True
    finally:
        if previous is None:
            active.pop(id(layer), None)
        else:
            active[id(layer)] = previous
        _uninstall(layer)


def _active() -> dict[int, torch.Tensor]:
    if not hasattr(_local, "positions"):
        _local.positions = {}
    return _local.positions


def _install(layer: nn.Module) -> None:
    """Patch ``layer.forward`` (an instance attribute, removed again by the last user)."""
    with _install_lock:
        entry = _installed.get(id(layer))
        if entry is not None:
            entry[1] += 1
            return
        original = layer.forward

        def forward(hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            positions = _active().get(id(layer))
            if positions is None or args:
                return original(hidden_states, *args, **kwargs)
            return pruned_layer_forward(layer, positions, hidden_states, **kwargs)

        layer.forward = forward
        _installed[id(layer)] = [layer, 1]


def _uninstall(layer: nn.Module) -> None:
    with _install_lock:
        entry = _installed[id(layer)]
        entry[1] -= 1
        if entry[1] == 0:
            del layer.forward  # first: a wrapped forward must never be seen unregistered
            del _installed[id(layer)]


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of ``x`` [B, heads, T, D] with ``cos``/``sin`` [B, T, D] (the layers' formula)."""
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return x * cos + _rotate_half(x) * sin


def _rows(x: torch.Tensor, index: torch.Tensor, dim: int) -> torch.Tensor:
    """``x`` at ``index`` along ``dim``; ``index`` broadcasts over the other dimensions (batch 1 included)."""
    return torch.take_along_dim(x, index, dim=dim)


def _selected_mask(
    attention_mask: torch.Tensor | None,
    positions: torch.Tensor,
    seq_length: int,
    kv_length: int,
    implementation: str,
    dtype: torch.dtype,
) -> torch.Tensor:
    """The mask rows [B, 1|heads, S, K] of the selected queries, in the format ``implementation`` reads."""
    if attention_mask is not None:
        if attention_mask.dim() != 4 or attention_mask.shape[-1] != kv_length:
            raise LastLayerError(f"unexpected attention mask {tuple(attention_mask.shape)} for {kv_length} keys")
        return _rows(attention_mask, positions[:, None, :, None].to(attention_mask.device), dim=2)
    # No mask: purely causal over the cached tokens and this chunk (sdpa's causal fast path).
    past = kv_length - seq_length
    keys = torch.arange(kv_length, device=positions.device)
    allowed = (keys <= (positions + past)[..., None])[:, None]  # [B, 1, S, K]
    if implementation == "sdpa":
        return allowed
    additive = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return additive.masked_fill_(~allowed, torch.finfo(dtype).min)


def _attention_function(attn: nn.Module, implementation: str) -> Callable[..., tuple[torch.Tensor, Any]]:
    """transformers' attention function for ``implementation`` (eager: the model module's own)."""
    if implementation == "eager":
        return sys.modules[type(attn).__module__].eager_attention_forward
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    return ALL_ATTENTION_FUNCTIONS[implementation]


def pruned_layer_forward(
    layer: nn.Module,
    positions: torch.Tensor,
    hidden_states: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
    cache: Any = None,
    **kwargs: Any,
) -> torch.Tensor:
    """The decoder layer's output at ``positions`` [B, S], written into a copy of ``hidden_states`` [B, T, H].

    Keys and values (and the cache update) cover all T tokens; everything after them only the S
    selected ones. Same keyword interface as the Qwen3/Qwen2/Llama decoder layers of transformers 5
    (the cache arrives as ``cache`` or, before its rename in 5.x, ``past_key_values``).
    """
    if cache is None:
        cache = kwargs.get("past_key_values")
    if position_embeddings is None:
        raise LastLayerError("the decoder layer got no position_embeddings (cos, sin); last-layer pruning needs them")
    batch, length, width = hidden_states.shape
    if positions.shape[0] != batch:
        raise LastLayerError(f"positions cover {positions.shape[0]} rows but the batch has {batch}")
    positions = positions.to(hidden_states.device)
    if bool(((positions < 0) | (positions >= length)).any()):
        raise LastLayerError(f"positions {positions.tolist()} fall outside a sequence of {length} tokens")
    attn = layer.self_attn
    implementation = attention_implementation(attn)
    head_dim = attn.head_dim

    normed = layer.input_layernorm(hidden_states)
    keys = attn.k_proj(normed).view(batch, length, -1, head_dim)
    if hasattr(attn, "k_norm"):
        keys = attn.k_norm(keys)
    keys = keys.transpose(1, 2)
    values = attn.v_proj(normed).view(batch, length, -1, head_dim).transpose(1, 2)
    cos, sin = position_embeddings
    keys = _rotary(keys, cos, sin)
    if cache is not None:
        # No layer kwargs: the dynamic caches scoring uses need none, and Cache.update takes none before 5.x.
        keys, values = cache.update(keys, values, attn.layer_idx)

    gather = positions[..., None]  # [B, S, 1]
    selected = _rows(normed, gather, dim=1)
    queries = attn.q_proj(selected).view(batch, positions.shape[1], -1, head_dim)
    if hasattr(attn, "q_norm"):
        queries = attn.q_norm(queries)
    queries = _rotary(queries.transpose(1, 2), _rows(cos, gather, dim=1), _rows(sin, gather, dim=1))
    mask = _selected_mask(attention_mask, positions, length, keys.shape[2], implementation, queries.dtype)
    dropout = attn.attention_dropout if attn.training else 0.0
    output, _ = _attention_function(attn, implementation)(
        attn, queries, keys, values, mask, dropout=dropout, scaling=attn.scaling
    )
    output = attn.o_proj(output.reshape(batch, positions.shape[1], -1))
    residual = _rows(hidden_states, gather, dim=1) + output
    output = residual + layer.mlp(layer.post_attention_layernorm(residual))
    return hidden_states.scatter(1, gather.expand(-1, -1, width), output)
