"""Export round trip: plain transformers reproduces RewardModel.score's raw per-dimension scores."""

from __future__ import annotations

import json

import pytest
import torch

from mrrml.cli import main
from mrrml.errors import ConfigError
from mrrml.model.reward_model import load
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
    return answer - prompt + torch.tensor(recipe["bias"]) if recipe["anchor"] else answer


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
    assert recipe["score"] == "logits[answer_last]"
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
