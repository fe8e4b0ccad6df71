"""Export round trip: plain transformers reproduces RewardModel.score's raw per-dimension scores; the
token-classification checkpoint has the names and fields vLLM's pooling adapter loads; QLoRA models
export over their unquantised base."""

from __future__ import annotations

import json

import pytest
import torch

from mrrml.cli import main
from mrrml.errors import ConfigError
from mrrml.model.backbone import BackboneConfig, LoraSettings
from mrrml.model.reward_model import RewardModel, load
from mrrml.serve.export import export_model

PROMPTS = [
    "I feel dizzy when I stand up. Is that dangerous?",
    [
        {"role": "system", "content": "Answer as a pharmacist."},
        {"role": "user", "content": "Can metformin be taken with food?"},
    ],
    "What are the warning signs of a stroke?",
]
ANSWERS = [
    "Often it is a brief drop in blood pressure; see a doctor if you faint.",
    "Yes, with meals, which reduces stomach upset.",
    "Face drooping, arm weakness, speech difficulty: call emergency services immediately.",
]


def _inputs(model):
    """Encode exactly as the recipe in config.json says, padded on the right."""
    examples = [model.encoder.encode(p, a) for p, a in zip(PROMPTS, ANSWERS)]
    width = max(len(e.input_ids) for e in examples)
    pad = model.tokenizer.pad_token_id
    ids = torch.full((len(examples), width), pad)
    mask = torch.zeros_like(ids)
    for i, e in enumerate(examples):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        mask[i, : len(e.input_ids)] = 1
    return ids, mask, examples


def _cli_export(model_dir, fmt, out, capsys):
    assert main(["export", str(model_dir), "--format", fmt, "--out", str(out)]) == 0
    assert f"wrote {fmt} checkpoint" in capsys.readouterr().out
    return json.loads((out / "config.json").read_text())["mrrml"]


def _token_scores(out, recipe, model) -> torch.Tensor:
    from transformers import AutoModelForTokenClassification

    exported = AutoModelForTokenClassification.from_pretrained(out, local_files_only=True).eval()
    assert exported.config.num_labels == len(model.dimensions)
    assert [exported.config.id2label[i] for i in range(len(model.dimensions))] == recipe["dimensions"]
    ids, mask, examples = _inputs(model)
    with torch.no_grad():
        logits = exported(input_ids=ids, attention_mask=mask).logits.float()
    rows = torch.arange(len(examples))
    answer = logits[rows, torch.tensor([e.answer_last for e in examples])]
    prompt = logits[rows, torch.tensor([e.prompt_last for e in examples])]
    bias = torch.tensor(recipe["bias"])
    return answer - prompt + bias if recipe["anchor"] else answer + bias


def test_token_classification_round_trip(reward_model, tmp_path):
    # Without an adapter nothing is merged, so the shared session model can be exported as is.
    expected = reward_model.score(PROMPTS, ANSWERS).raw
    export_model(reward_model, tmp_path / "tc", "token-classification")
    recipe = json.loads((tmp_path / "tc" / "config.json").read_text())["mrrml"]
    assert recipe["anchor"] is True and recipe["score"] == "logits[answer_last] - logits[prompt_last] + bias"
    torch.testing.assert_close(_token_scores(tmp_path / "tc", recipe, reward_model), expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(reward_model.score(PROMPTS, ANSWERS).raw, expected)  # the model is untouched


def test_lora_and_projection_are_folded_in(rm_lora_projection_dir, tmp_path):
    model = load(rm_lora_projection_dir)
    expected = model.score(PROMPTS, ANSWERS).raw  # before export: exporting merges the adapter in place
    export_model(model, tmp_path / "tc", "token-classification")
    recipe = json.loads((tmp_path / "tc" / "config.json").read_text())["mrrml"]
    torch.testing.assert_close(_token_scores(tmp_path / "tc", recipe, model), expected, rtol=1e-4, atol=1e-5)


def test_no_anchor_model_exports_both_ways(rm_no_anchor_dir, tmp_path, capsys):
    from transformers import AutoModelForSequenceClassification

    model = load(rm_no_anchor_dir)
    expected = model.score(PROMPTS, ANSWERS).raw
    # Sequence classification through the CLI entry point (it loads its own copy of the model).
    recipe = _cli_export(rm_no_anchor_dir, "sequence-classification", tmp_path / "sc", capsys)
    assert recipe["score"] == "logits + bias"
    assert (tmp_path / "sc" / "matrix.yaml").is_file()
    exported = AutoModelForSequenceClassification.from_pretrained(tmp_path / "sc", local_files_only=True).eval()
    ids, mask, _ = _inputs(model)
    with torch.no_grad():
        logits = exported(input_ids=ids, attention_mask=mask).logits.float()
    torch.testing.assert_close(logits + torch.tensor(recipe["bias"]), expected, rtol=1e-4, atol=1e-5)
    # Token classification of the same model: the score is the answer position's logits alone.
    export_model(model, tmp_path / "tc", "token-classification")
    recipe = json.loads((tmp_path / "tc" / "config.json").read_text())["mrrml"]
    assert recipe["score"] == "logits[answer_last] + bias"
    torch.testing.assert_close(_token_scores(tmp_path / "tc", recipe, model), expected, rtol=1e-4, atol=1e-5)


def test_export_refusals(reward_model, tmp_path):
    # Both are refused before anything is merged, so the shared model stays intact.
    with pytest.raises(ConfigError, match="anchor"):
        export_model(reward_model, tmp_path / "x", "sequence-classification")
    with pytest.raises(ConfigError, match="unknown format"):
        export_model(reward_model, tmp_path / "x", "onnx")
    assert not (tmp_path / "x").exists()
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("keep")
    assert main(["export", "unused", "--format", "token-classification", "--out", str(tmp_path / "busy")]) == 1


# What vLLM's pooling runner needs from a ``*ForTokenClassification`` checkpoint, as read in vLLM's
# source (vllm-project/vllm main):
# * vllm/config/model.py ``_SUFFIX_TO_DEFAULTS``: the suffix ``ForTokenClassification`` selects
#   ``--runner pooling --convert classify``; vllm/model_executor/models/registry.py ``_normalize_arch``
#   swaps the suffix for a registered one, so ``Qwen3ForTokenClassification`` runs as
#   ``as_seq_cls_model(Qwen3ForCausalLM)`` (vllm/model_executor/models/adapters.py).
# * ``as_seq_cls_model._init_pooler`` builds ``score = ReplicatedLinear(hidden_size, num_labels,
#   bias=False)``; its ``load_weights`` hands every other tensor to ``Qwen3ForCausalLM.load_weights``
#   (HF names under ``model.``), whose ``AutoWeightsLoader`` raises on a name with no parameter. Only
#   releases with PR #30666 (``auto_set_score_bias``) accept a ``score.bias``.
# * ``classifier_from_token`` / ``method`` in the config switch ``load_weights`` to rebuilding the head
#   from an LM head (``seq_cls_model_loader``), which this checkpoint does not have.
VLLM_BASE_ARCHITECTURE = "Qwen3ForCausalLM"
VLLM_HEAD_TENSORS = {"score.weight"}
VLLM_LM_HEAD_CONVERSION_KEYS = ("classifier_from_token", "method")


def test_token_classification_export_fits_vllms_adapter(reward_model, tmp_path):
    from safetensors import safe_open
    from transformers import Qwen3Config, Qwen3ForCausalLM

    out = export_model(reward_model, tmp_path / "tc", "token-classification")
    tensors = {}
    for file in out.glob("*.safetensors"):
        with safe_open(file, "pt") as f:
            tensors.update({name: tuple(f.get_slice(name).get_shape()) for name in f.keys()})  # noqa: SIM118
    head = {name for name in tensors if not name.startswith("model.")}
    assert head == VLLM_HEAD_TENSORS  # no score.bias, no lm_head

    config = json.loads((out / "config.json").read_text())
    (architecture,) = config["architectures"]
    assert architecture == VLLM_BASE_ARCHITECTURE.replace("ForCausalLM", "ForTokenClassification")
    num_labels = len(config["id2label"])  # config.json stores the labels; transformers derives num_labels
    assert num_labels == len(reward_model.dimensions)
    assert tensors["score.weight"] == (num_labels, config["hidden_size"])
    assert not any(key in config for key in VLLM_LM_HEAD_CONVERSION_KEYS)
    assert config["token_classification_bias"] is False and config["problem_type"] == "regression"
    assert config["mrrml"]["vllm"]["request"]["task"] == "token_classify"
    # The backbone tensors are exactly the HF names Qwen3ForCausalLM's loader maps (its LM head aside).
    with torch.device("meta"):
        causal_lm = Qwen3ForCausalLM(Qwen3Config.from_dict(config))
    expected = {n: tuple(t.shape) for n, t in causal_lm.state_dict().items() if n.startswith("model.")}
    assert {n: s for n, s in tensors.items() if n.startswith("model.")} == expected


# NF4 rounds each base weight to one of 16 levels per block of 64 (relative RMS error ≈ 9 % for the
# tiny model's Gaussian weights); through its two layers the scores move by a few percent of their size
# (3.3 % here). 10 % bounds that, and is far below what a lost adapter costs (≈ 90 % here).
NF4_RELATIVE_TOLERANCE = 0.10


def test_qlora_model_exports_merged_over_the_unquantised_base(tmp_path, capsys):
    pytest.importorskip("bitsandbytes")
    from mrrml.resources import shipped_matrix
    from mrrml.standards.loader import load_matrix

    torch.manual_seed(1)
    lora = LoraSettings(r=4, alpha=8, dropout=0.0)
    model = RewardModel.build(
        BackboneConfig("builtin:tiny-qwen3", quantization="4bit", lora=lora), load_matrix(shipped_matrix("healthbench"))
    )
    with torch.no_grad():  # a trained adapter: peft initialises B to zero
        for name, param in model.backbone.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)
    saved = model.save_pretrained(tmp_path / "qlora")
    quantized = load(saved).score(PROMPTS, ANSWERS).raw  # the model as it trained: 4-bit base + adapter
    unquantized = load(saved, dequantize=True)
    assert type(unquantized.backbone.base_model.model.layers[0].self_attn.q_proj.base_layer) is torch.nn.Linear
    expected = unquantized.score(PROMPTS, ANSWERS).raw  # adapter over the fp32 base, not merged

    recipe = _cli_export(saved, "token-classification", tmp_path / "tc", capsys)
    exported = _token_scores(tmp_path / "tc", recipe, unquantized)
    torch.testing.assert_close(exported, expected, rtol=1e-4, atol=1e-5)  # the merge itself is exact
    relative = float((exported - quantized).norm() / quantized.norm())
    assert relative < NF4_RELATIVE_TOLERANCE, relative


def test_quantized_model_is_refused_by_export_until_dequantized(rm_qlora_dir, tmp_path):
    saved = rm_qlora_dir
    with pytest.raises(ConfigError, match="dequantize=True"):
        export_model(load(saved), tmp_path / "x")
    with pytest.raises(ConfigError, match="dequantize=True"):
        load(saved, device="cpu", dequantize=False)
    assert load(saved, device="cpu").backbone_config.quantization is None
