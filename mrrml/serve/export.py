"""Export a reward model as a plain transformers checkpoint that serving engines (vLLM, TGI) can load.

Every score is linear in the backbone's last hidden state (docs/design.md §2): with the projection ``P``
folded into the heads, ``W' = W·P`` (``P`` = identity without a projection),

    anchored:     s = W'·h[answer_last] − W'·h[prompt_last] + b
    no anchor:    s = W'·h[answer_last] + b

so one linear layer on every token's hidden state carries the whole head:

* ``token-classification`` — ``*ForTokenClassification`` with ``num_labels = D`` and a classifier
  ``score.weight = W'`` WITHOUT a bias (``token_classification_bias: false`` in ``config.json``). Its
  per-token logits are ``l_t = W'·h_t``, hence ``s = l[answer_last] − l[prompt_last] + b`` for an
  anchored model and ``s = l[answer_last] + b`` without the anchor; ``b`` is stored in ``config.json``.
  No bias in the file because vLLM's adapter for ``*ForTokenClassification`` (``as_seq_cls_model`` in
  ``vllm/model_executor/models/adapters.py``) builds ``score`` with ``bias=False``; only releases since
  vLLM PR #30666 install a ``score.bias`` found in the checkpoint, older loaders reject it.
* ``sequence-classification`` — ``*ForSequenceClassification`` (models trained with
  ``anchor=False`` only). transformers pools the logits of the last non-pad token, which is
  ``answer_last`` (the encoder ends every sequence with the end-of-turn token). Its score layer
  has no bias, so ``s = logits + b``.

Both set ``problem_type: regression``: the scores are real numbers, not class logits, and vLLM's
sequence ``classify`` task then applies no activation. Serving the token-classification export in vLLM
(the pooling runner converts it to ``Qwen3ForCausalLM`` + ``score``; :data:`VLLM_SERVE`): ``vllm serve
DIR --runner pooling --convert classify --pooler-config '{"use_activation": false}'``, then POST
``/pooling`` with ``{"input": <token ids>, "task": "token_classify"}`` (ids built as the recipe says;
``use_activation`` false, or the per-token logits come back softmaxed over the D dimensions). The reply
holds one row of D logits per input token; read rows ``prompt_last`` and ``answer_last``.

LoRA adapters are merged into the backbone first; a QLoRA model must be loaded with
``dequantize=True`` (``mrrml export`` does), so the adapter merges into the unquantised base.
``config.json`` gets an ``mrrml`` key that says all of this in data: dimension ids, bias, how to build
the input ids, how to compute the scores, the normalisation statistics, the default reward weights and
the vLLM invocation; ``matrix.yaml`` is copied beside it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import ConfigError
from ..io import atomic_write_text

if TYPE_CHECKING:
    from ..model.reward_model import RewardModel

FORMATS: tuple[str, ...] = ("token-classification", "sequence-classification")

VLLM_SERVE = {
    "command": "vllm serve DIR --runner pooling --convert classify --pooler-config '{\"use_activation\": false}'",
    "endpoint": "/pooling",
    "request": {"input": "<input_ids>", "task": "token_classify", "use_activation": False},
    "response": "data[0].data: one row of num_labels logits per input token",
}
"""How vLLM serves the token-classification export (flags of vLLM's pooling runner; see module docstring)."""


def merged_backbone(model: RewardModel) -> torch.nn.Module:
    """The base transformer with any LoRA adapter merged in. Mutates ``model``'s backbone wrapper."""
    if model.backbone_config.quantization:
        raise ConfigError(
            "export: the backbone is quantised (bitsandbytes layers cannot be merged into plain weights); "
            "load the model with dequantize=True (or a device) so its adapter goes over the unquantised base"
        )
    backbone = model.backbone
    if hasattr(backbone, "merge_and_unload"):
        backbone = backbone.merge_and_unload()
    return backbone


def folded_head(model: RewardModel) -> tuple[torch.Tensor, torch.Tensor]:
    """``(W', b)``: the heads with the optional projection folded in, [D, H] and [D], fp32."""
    heads = model.heads
    weight = heads.weight.detach().float()
    if heads.projection is not None:
        weight = weight @ heads.projection.weight.detach().float()
    return weight, heads.bias.detach().float().clone()


def _recipe(model: RewardModel, fmt: str, bias: list[float]) -> dict[str, Any]:
    """The ``mrrml`` entry of the exported config: everything needed to reproduce the scores."""
    if fmt == "token-classification":
        score = "logits[answer_last] - logits[prompt_last] + bias" if model.anchor else "logits[answer_last] + bias"
    else:
        score = "logits + bias"
    tokenizer = model.tokenizer
    recipe = {
        "format": fmt,
        "dimensions": model.dimensions,
        "anchor": bool(model.anchor),
        "bias": bias,
        "score": score,
        "input_ids": (
            "tokenizer(render(prompt), add_special_tokens=False) + tokenizer(answer, "
            "add_special_tokens=False) + [end_of_turn_id]; render = chat template with "
            "add_generation_prompt=True"
        ),
        "prompt_last": "index of the last token of the rendered prompt",
        "answer_last": "index of the end-of-turn token (the last token)",
        "end_of_turn_token": tokenizer.convert_ids_to_tokens(model.encoder.end_of_turn_id),
        "end_of_turn_id": model.encoder.end_of_turn_id,
        "encoder": model.encoder.settings(),
        "normalization": {
            "mean": model.norm_mean.tolist(),
            "std": model.norm_std.tolist(),
            "formula": "(score - mean) / std",
        },
        "reward": {
            "formula": "sum_d weights[d] * normalized[d]",
            "weights": list(model.matrix.weight_vector()),
            "weights_note": "mean over all applicable cells; per-cell weights come from matrix.yaml",
        },
        "matrix": {"name": model.matrix.name, "version": model.matrix.version, "file": "matrix.yaml"},
    }
    if fmt == "token-classification":
        recipe["vllm"] = VLLM_SERVE
    return recipe


def export_model(model: RewardModel, out: str | Path, fmt: str = "token-classification") -> Path:
    """Write ``model`` as a plain transformers checkpoint in ``out``; returns ``out``.

    Merges the LoRA adapter in place, so pass a model loaded for the purpose (``mrrml export`` does).
    """
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    if fmt not in FORMATS:
        raise ConfigError(f"export: unknown format {fmt!r}; known: {list(FORMATS)}")
    if fmt == "sequence-classification":
        if model.anchor:
            raise ConfigError(
                "export: sequence-classification needs a model trained without the prompt anchor "
                "(anchor=False); an anchored score is a difference of two positions — use "
                "token-classification"
            )
        pad_id = model.tokenizer.pad_token_id
        if pad_id is None or pad_id == model.encoder.end_of_turn_id:
            raise ConfigError(
                "export: sequence-classification pools the last non-pad token, so the pad token "
                f"must differ from the end-of-turn token (pad id {pad_id})"
            )
    backbone = merged_backbone(model)
    weight, bias = folded_head(model)
    dims = model.dimensions

    config = copy.deepcopy(backbone.config)
    config.num_labels = len(dims)
    config.id2label = dict(enumerate(dims))
    config.label2id = {d: i for i, d in enumerate(dims)}
    config.pad_token_id = model.tokenizer.pad_token_id
    config.classifier_dropout = 0.0
    config.use_cache = False
    config.problem_type = "regression"
    config.token_classification_bias = False  # b stays in the recipe (see module docstring)
    config.mrrml = _recipe(model, fmt, bias.tolist())
    auto = AutoModelForTokenClassification if fmt == "token-classification" else AutoModelForSequenceClassification
    dtype = next(backbone.parameters()).dtype
    exported = auto.from_config(config, dtype=dtype)
    base = getattr(exported, exported.base_model_prefix)
    base.load_state_dict(backbone.state_dict(), strict=True)
    head = exported.score
    if head.weight.shape != weight.shape:
        raise ConfigError(f"export: head shape {tuple(head.weight.shape)} does not fit W' {tuple(weight.shape)}")
    with torch.no_grad():
        head.weight.copy_(weight.to(head.weight.dtype))
    exported.eval()

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    exported.save_pretrained(out)
    model.tokenizer.save_pretrained(out)
    atomic_write_text(out / "matrix.yaml", model.matrix.to_yaml())
    return out
