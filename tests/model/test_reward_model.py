"""RewardModel end to end on tiny Qwen3: save -> load -> identical scores, reward aggregation, load errors."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import mrrml
from mrrml.errors import ConfigError, ModelLoadError
from mrrml.model import BackboneConfig, LoraSettings, RewardModel

PROMPTS = [
    "What is a normal adult resting heart rate?",
    [
        {"role": "system", "content": "You are a pharmacist."},
        {"role": "user", "content": "Can I take ibuprofen with lisinopril?"},
    ],
    "Hi",
    "My toddler swallowed a button battery, what do I do?",
    [
        {"role": "user", "content": "I feel dizzy."},
        {"role": "assistant", "content": "Since when?"},
        {"role": "user", "content": "Since this morning, after standing up quickly."},
    ],
]
ANSWERS = [
    "60 to 100 beats per minute.",
    "Occasional use is usually fine, but it can affect kidney function.",
    "Hello.",
    "Go to the emergency department now; do not induce vomiting.",
    "That may be orthostatic hypotension; drink water and stand up slowly.",
]


def _perturb(model: RewardModel, *names: str) -> None:
    """Move the trainable weights away from their initial values (LoRA B starts at zero)."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if any(n in name for n in names) and param.dtype.is_floating_point:
                param.add_(0.05 * torch.randn(param.shape, generator=gen).to(param.dtype))
        model.heads.bias.copy_(torch.arange(model.heads.num_dimensions, dtype=torch.float32) / 10)
    model.set_normalization(
        torch.linspace(-0.5, 0.5, model.heads.num_dimensions), torch.linspace(0.5, 2.0, model.heads.num_dimensions)
    )


def _no_pickle(path) -> None:
    pickled = [p for p in path.rglob("*") if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt")]
    assert not pickled


@pytest.fixture(scope="module")
def full_model(matrix):
    model = RewardModel.build(BackboneConfig("builtin:tiny-qwen3"), matrix, projection_dim=16)
    _perturb(model, "backbone.layers.0.mlp", "heads.")
    return model


@pytest.fixture(scope="module")
def full_saved(full_model, tmp_path_factory):
    return full_model.save_pretrained(tmp_path_factory.mktemp("full") / "model")


def test_full_finetune_roundtrip(full_model, full_saved, matrix):
    before = full_model.score(PROMPTS, ANSWERS, scenario="emergency_referrals", discipline="pediatrics")
    loaded = mrrml.load(full_saved)
    after = loaded.score(PROMPTS, ANSWERS, scenario="emergency_referrals", discipline="pediatrics")
    assert torch.equal(before.raw, after.raw) and torch.equal(before.reward, after.reward)
    assert (full_saved / "backbone" / "model.safetensors").is_file() and not (full_saved / "adapter").exists()
    _no_pickle(full_saved)
    # the fine-tuned backbone weights were saved, not re-created from the builtin
    fresh = RewardModel.build(BackboneConfig("builtin:tiny-qwen3"), matrix, projection_dim=16)
    fresh.heads.load_state_dict(full_model.heads.state_dict())
    assert not torch.allclose(fresh.score(PROMPTS, ANSWERS).raw, after.raw)
    assert loaded.anchor and loaded.heads.projection_dim == 16 and not loaded.training


def test_lora_roundtrip_from_local_dir(tiny_qwen3_dir, matrix, tmp_path):
    cfg = BackboneConfig(str(tiny_qwen3_dir), lora=LoraSettings(r=4, alpha=8, target_modules=("q_proj", "v_proj")))
    model = RewardModel.build(cfg, matrix)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("heads.") for n in trainable)
    assert {"heads.weight", "heads.bias"} <= trainable
    _perturb(model, "lora_B")
    before = model.score(PROMPTS, ANSWERS)
    path = model.save_pretrained(tmp_path / "lora")
    assert (path / "adapter" / "adapter_model.safetensors").is_file() and not (path / "backbone").exists()
    _no_pickle(path)
    after = RewardModel.from_pretrained(path).score(PROMPTS, ANSWERS)
    assert torch.equal(before.raw, after.raw)


def test_qlora_4bit_roundtrip(matrix, tmp_path):
    cfg = BackboneConfig("builtin:tiny-qwen3", quantization="4bit", lora=LoraSettings(r=4))
    model = RewardModel.build(cfg, matrix)
    assert type(model.backbone.base_model.model.layers[0].self_attn.q_proj.base_layer).__name__ == "Linear4bit"
    _perturb(model, "lora_B")
    before = model.score(PROMPTS, ANSWERS)
    path = model.save_pretrained(tmp_path / "qlora")
    # adapter + the fp32 random-init base (re-quantised on load); heads saved in full
    assert (path / "adapter" / "adapter_model.safetensors").is_file()
    assert (path / "backbone" / "model.safetensors").is_file()
    _no_pickle(path)
    loaded = RewardModel.from_pretrained(path)
    assert type(loaded.backbone.base_model.model.layers[0].self_attn.q_proj.base_layer).__name__ == "Linear4bit"
    assert torch.equal(before.raw, loaded.score(PROMPTS, ANSWERS).raw)


def test_reward_uses_cell_weights_and_normalisation(full_model, matrix):
    result = full_model.score(PROMPTS, ANSWERS, scenario="hedging", discipline="pharmacy")
    mean, std = full_model.norm_mean, full_model.norm_std
    torch.testing.assert_close(result.normalized, (result.raw - mean) / std)
    cell = matrix.cell_weights("hedging", "pharmacy")
    weights = torch.tensor([cell[d] for d in matrix.dimension_ids])
    torch.testing.assert_close(result.reward, result.normalized @ weights)
    overall = full_model.reward(result.raw)
    torch.testing.assert_close(overall, result.normalized @ torch.tensor(matrix.weight_vector()))
    assert not torch.allclose(overall, result.reward)
    row = result.to_dicts()[0]
    assert list(row["scores"]) == matrix.dimension_ids and row["reward"] == pytest.approx(result.reward[0].item())


def test_score_restores_input_order_across_sorted_batches(full_model):
    batched = full_model.score(PROMPTS, ANSWERS, batch_size=2).raw
    single = torch.cat([full_model.score([p], [a]).raw for p, a in zip(PROMPTS, ANSWERS)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)


def test_raw_scores_of_encoded_pairs_match_score(full_model):
    """The server renders each prompt once (to validate it) and runs ``raw_scores`` on the encoded rows;
    that path must give exactly the raw scores ``score`` gives for the same pairs."""
    encoder = full_model.encoder
    examples = [encoder.encode_rendered(encoder.render_prompt(p), a) for p, a in zip(PROMPTS, ANSWERS)]
    assert [e.input_ids for e in examples] == [encoder.encode(p, a).input_ids for p, a in zip(PROMPTS, ANSWERS)]
    direct = full_model.score(PROMPTS, ANSWERS, batch_size=2)
    assert torch.equal(full_model.raw_scores(examples, batch_size=2), direct.raw)
    assert torch.equal(full_model.normalize(full_model.raw_scores(examples, batch_size=2)), direct.normalized)
    with pytest.raises(ConfigError, match="batch_size"):
        full_model.raw_scores(examples, batch_size=0)


def test_score_input_errors(full_model):
    with pytest.raises(ConfigError, match="no_such_scenario"):
        full_model.score(PROMPTS, ANSWERS, scenario="no_such_scenario")
    with pytest.raises(ConfigError, match="no_such_discipline"):
        full_model.reward(torch.zeros(1, 5), discipline="no_such_discipline")
    with pytest.raises(ConfigError, match="2 prompts but 1 answers"):
        full_model.score(PROMPTS[:2], ANSWERS[:1])
    with pytest.raises(ConfigError):
        full_model.set_normalization(torch.zeros(5), torch.zeros(5))


def _break(saved, tmp_path, edit):
    """A copy of a saved model with one edit; the big read-only parts are symlinked, never written."""
    target = tmp_path / "broken"
    target.mkdir()
    for item in saved.iterdir():
        if item.name in ("backbone", "tokenizer.json"):
            (target / item.name).symlink_to(item)
        else:
            shutil.copy2(item, target / item.name)
    edit(target)
    return target


@pytest.mark.parametrize(
    "edit, names",
    [
        (lambda p: (p / "heads.safetensors").unlink(), "heads.safetensors"),
        (lambda p: (p / "heads.safetensors").write_bytes(b"\x00garbage"), "heads.safetensors"),
        (lambda p: (p / "mrrml_config.json").unlink(), "mrrml_config.json"),
        (lambda p: (p / "mrrml_config.json").write_text("{not json"), "mrrml_config.json"),
        (lambda p: (p / "normalization.json").write_text('{"accuracy": {"mean": 0, "std": 1}}'), "normalization.json"),
        (lambda p: (p / "matrix.yaml").write_text("name: [unclosed"), "matrix.yaml"),
        (lambda p: (p / "backbone").unlink(), "backbone"),
        (lambda p: _edit_json(p / "mrrml_config.json", dimensions=["accuracy", "completeness"]), "matrix.yaml"),
        (lambda p: _edit_json(p / "mrrml_config.json", format_version=99), "format_version"),
        (lambda p: _edit_json(p / "mrrml_config.json", projection_dim="16", anchor=1), "projection_dim.*anchor"),
        (lambda p: _edit_json(p / "mrrml_config.json", hidden_size=32), "heads.safetensors"),
    ],
    ids=[
        "heads-missing",
        "heads-corrupt",
        "config-missing",
        "config-corrupt",
        "norm-dims",
        "matrix-corrupt",
        "backbone-missing",
        "dimension-count",
        "format-version",
        "config-types",
        "hidden-size",
    ],
)
def test_broken_directories_raise_model_load_error(full_saved, tmp_path, edit, names):
    broken = _break(full_saved, tmp_path, edit)
    with pytest.raises(ModelLoadError, match=names):
        RewardModel.from_pretrained(broken)


def _edit_json(file, **changes):
    data = json.loads(file.read_text())
    data.update(changes)
    file.write_text(json.dumps(data))


def test_heads_shape_mismatch_names_heads_file(full_saved, tmp_path):
    from safetensors.torch import load_file, save_file

    def drop_a_head(p):
        state = load_file(p / "heads.safetensors")
        state["weight"], state["bias"] = state["weight"][:4].contiguous(), state["bias"][:4].contiguous()
        save_file(state, p / "heads.safetensors")

    with pytest.raises(ModelLoadError, match="heads.safetensors"):
        RewardModel.from_pretrained(_break(full_saved, tmp_path, drop_a_head))


def test_backbone_config_errors(matrix):
    with pytest.raises(ConfigError, match="unknown builtin"):
        RewardModel.build(BackboneConfig("builtin:nope"), matrix)
    with pytest.raises(ConfigError, match="hiden_size"):
        BackboneConfig.from_dict({"name_or_path": "builtin:tiny-qwen3", "tiny": {"hiden_size": 8}})
    with pytest.raises(ConfigError, match="only valid with"):
        BackboneConfig("some/model", tiny={"hidden_size": 8})
    with pytest.raises(ConfigError, match="dtype"):
        BackboneConfig("builtin:tiny-qwen3", dtype="float8")
    with pytest.raises(ConfigError, match="unknown backbone keys"):
        BackboneConfig.from_dict({"name_or_path": "x", "lora_rank": 4})
    with pytest.raises(ConfigError, match="target_modules"):
        RewardModel.build(BackboneConfig("builtin:tiny-qwen3", lora=LoraSettings(target_modules=("nope",))), matrix)
    with pytest.raises(ModelLoadError):
        RewardModel.build(BackboneConfig("/nonexistent/model/dir"), matrix)


def test_embed_without_anchor_is_the_answer_embedding(full_model, matrix):
    from mrrml.data.encoder import pad_batch
    from mrrml.model.heads import RewardHeads

    heads = RewardHeads(len(matrix.dimension_ids), full_model.heads.hidden_size)
    model = RewardModel(
        full_model.backbone, full_model.tokenizer, matrix, heads, full_model.backbone_config, anchor=False
    ).eval()
    batch = pad_batch([model.encoder.encode(p, a) for p, a in zip(PROMPTS, ANSWERS)], model.tokenizer.pad_token_id)
    with torch.no_grad():
        z = model.embed(**batch)
        hidden = model.backbone(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    torch.testing.assert_close(z, hidden[torch.arange(len(PROMPTS)), batch["answer_index"]])
    assert z.shape == (len(PROMPTS), model.heads.hidden_size) and z.dtype == torch.float32


def test_left_padded_forward_matches_right_padded(full_model):
    from mrrml.data.encoder import pad_batch

    examples = [full_model.encoder.encode(p, a) for p, a in zip(PROMPTS, ANSWERS)]
    pad = full_model.tokenizer.pad_token_id
    with torch.no_grad():
        right = full_model(**pad_batch(examples, pad, "right"))
        left = full_model(**pad_batch(examples, pad, "left"))
    torch.testing.assert_close(left, right, atol=1e-5, rtol=1e-5)


def _checkpointing(model) -> bool:
    """transformers 5 renamed is_gradient_checkpointing to is_activation_checkpointing."""
    return bool(getattr(model, "is_activation_checkpointing", None) or model.is_gradient_checkpointing)


def test_gradient_checkpointing_and_trainable_reload(matrix, tmp_path):
    from mrrml.data.encoder import pad_batch

    cfg = BackboneConfig("builtin:tiny-qwen3", gradient_checkpointing=True, lora=LoraSettings(r=2))
    model = RewardModel.build(cfg, matrix).train()
    assert _checkpointing(model.backbone.base_model.model)
    batch = pad_batch([model.encoder.encode(p, a) for p, a in zip(PROMPTS, ANSWERS)], model.tokenizer.pad_token_id)
    model(**batch).sum().backward()
    lora_grads = [p.grad for n, p in model.named_parameters() if "lora_A" in n]
    assert lora_grads and all(g is not None for g in lora_grads) and model.heads.weight.grad is not None
    path = model.save_pretrained(tmp_path / "ckpt")
    resumed = RewardModel.from_pretrained(path, trainable=True)
    assert resumed.training and _checkpointing(resumed.backbone.base_model.model)
    assert {n for n, p in resumed.named_parameters() if p.requires_grad} == {
        n for n, p in model.named_parameters() if p.requires_grad
    }


def test_dtype_override_on_load(full_model, full_saved):
    loaded = RewardModel.from_pretrained(full_saved, dtype=torch.bfloat16)
    assert next(loaded.backbone.parameters()).dtype == torch.bfloat16
    assert loaded.heads.weight.dtype == torch.float32
    result = loaded.score(PROMPTS, ANSWERS)
    assert result.raw.dtype == torch.float32
    torch.testing.assert_close(result.raw, full_model.score(PROMPTS, ANSWERS).raw, atol=0.5, rtol=0.1)


@pytest.mark.skipif(
    not __import__("os").environ.get("MRRML_TEST_SMOLLM2"),
    reason="dequantising SmolLM2 takes ~1 min on 2 shared cores; set MRRML_TEST_SMOLLM2=1",
)
def test_builtin_smollm2_is_plain_linear_and_scores(matrix):
    model = RewardModel.build(BackboneConfig("builtin:smollm2-135m", lora=LoraSettings(r=2)), matrix)
    q_proj = model.backbone.base_model.model.layers[0].self_attn.q_proj
    assert type(q_proj.base_layer) is torch.nn.Linear and q_proj.base_layer.weight.dtype == torch.float32
    ex = model.encoder.encode("What is a fever?", "A raised temperature.")
    assert model.tokenizer.decode(ex.input_ids[ex.answer_last]) == "<|im_end|>"
    assert torch.isfinite(model.score(["What is a fever?"], ["A raised temperature."]).raw).all()


@pytest.mark.parametrize("command", ["serve", "export"])
def test_remote_code_refusal_names_the_current_cli_option(full_saved, tmp_path, capsys, command):
    """A model directory that asks for trust_remote_code is refused with the option that allows it:
    spelled as ``mrrml <command> --help`` lists it today, so the user can paste it."""
    import re

    from mrrml.cli import main

    def ask_for_remote_code(p):
        config = json.loads((p / "mrrml_config.json").read_text())
        config["backbone"]["trust_remote_code"] = True
        (p / "mrrml_config.json").write_text(json.dumps(config))

    with pytest.raises(ModelLoadError, match="trust_remote_code") as refused:
        RewardModel.from_pretrained(_break(full_saved, tmp_path, ask_for_remote_code))
    flags = re.findall(r"--[\w-]+", str(refused.value))
    assert flags, str(refused.value)
    assert main([command, "--help"]) == 0
    help_text = capsys.readouterr().out
    for flag in flags:
        assert re.search(rf"{re.escape(flag)}\b(?![-\w])", help_text), f"{flag} is not an option of mrrml {command}"
