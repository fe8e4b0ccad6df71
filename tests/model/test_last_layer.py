"""Last-layer pruning: same scores as the full last layer, real savings, and a logged fallback."""

from __future__ import annotations

import logging
import threading

import pytest
import torch

from mrrml.data.encoder import pad_batch
from mrrml.model import BackboneConfig, LoraSettings, RewardModel
from mrrml.model.last_layer import (
    LastLayerError,
    base_transformer,
    prune_last_layer,
    pruning_unsupported_reason,
    use_pruning,
)
from mrrml.model.shared_prompt_scoring import CACHE_KEY, length_buckets, packed_raw_scores

TOL = dict(rtol=1e-5, atol=1e-5)

MULTI_TURN = [
    {"role": "system", "content": "You are a careful clinician."},
    {"role": "user", "content": "My mother is 70 and gets dizzy when she stands up."},
    {"role": "assistant", "content": "Does it pass within a minute, and does she take blood pressure pills?"},
    {"role": "user", "content": "Yes, amlodipine, and it passes quickly."},
]
PROMPTS = [MULTI_TURN, "Is a fever of 38.5 C dangerous for a 2 year old?", "Can I stop my statin?"]
ANSWERS = [
    [
        "Orthostatic hypotension from amlodipine is likely; have her stand up slowly and ask her doctor about the dose.",
        "She should drink water.",
        "Dizziness on standing in an older adult taking amlodipine is common, but falls are dangerous: review "
        "her medicines with her doctor, check her blood pressure lying and standing, and seek care for fainting.",
    ],
    ["Usually not by itself; watch for breathing trouble, lethargy or a rash and give fluids.", "No."],
    ["Talk to your doctor first; stopping can raise your cardiovascular risk."],
]


def _pairs(groups=(0, 1, 2)):
    prompts = [PROMPTS[g] for g in groups for _ in ANSWERS[g]]
    answers = [a for g in groups for a in ANSWERS[g]]
    return prompts, answers


def _save_llama(directory, tokenizer):
    """A random-init SmolLM2-shaped (Llama) backbone with the real Qwen3 tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        max_position_embeddings=2048,
    )
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def models(tiny_qwen3_dir, qwen_tokenizer, matrix, tmp_path_factory):
    """Reward models whose last layer is pruned in different ways: attention kinds, Llama, LoRA."""
    llama_dir = _save_llama(tmp_path_factory.mktemp("tiny-llama"), qwen_tokenizer)
    configs = {
        "qwen3-sdpa": BackboneConfig(str(tiny_qwen3_dir)),
        "qwen3-eager": BackboneConfig(str(tiny_qwen3_dir), attn_implementation="eager"),
        "llama-sdpa": BackboneConfig(str(llama_dir)),
        "qwen3-lora": BackboneConfig(str(tiny_qwen3_dir), lora=LoraSettings(r=4, alpha=8)),
    }
    built = {}
    for name, cfg in configs.items():
        torch.manual_seed(0)
        model = RewardModel.build(cfg, matrix, projection_dim=24 if name == "qwen3-eager" else None)
        if name == "qwen3-lora":  # lora_B starts at zero: make the adapter change the function
            with torch.no_grad():
                for pname, param in model.named_parameters():
                    if "lora_B" in pname:
                        param.normal_(0, 0.5)
        built[name] = model.eval()
    return built


@pytest.mark.parametrize("name", ["qwen3-sdpa", "qwen3-eager", "llama-sdpa", "qwen3-lora"])
def test_pruned_scores_equal_full_layer(models, name):
    model = models[name]
    assert pruning_unsupported_reason(model.backbone) is None
    prompts, answers = _pairs()
    examples = [model.encoder.encode(p, a) for p, a in zip(prompts, answers)]
    # prefix-cache path (groups share a prompt, multi-turn included) and a batch size that splits groups
    for batch_size in (16, 2) if name == "qwen3-sdpa" else (16,):
        full = packed_raw_scores(model, examples, batch_size, prune_last_layer=False)
        torch.testing.assert_close(packed_raw_scores(model, examples, batch_size), full, **TOL)
    # plain padded path: one answer per prompt, rows of different lengths (right padding)
    single = [examples[i] for i in (0, 3, 5, 2)]
    torch.testing.assert_close(
        packed_raw_scores(model, single, 4), packed_raw_scores(model, single, 4, prune_last_layer=False), **TOL
    )


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("name", ["qwen3-sdpa", "qwen3-eager"])
def test_pruned_embed_matches_with_padding_on_either_side(models, name, side):
    model = models[name]
    prompts, answers = _pairs()
    batch = pad_batch(
        [model.encoder.encode(p, a) for p, a in zip(prompts, answers)], model.tokenizer.pad_token_id, side
    )
    args = (batch["input_ids"], batch["attention_mask"], batch["prompt_index"], batch["answer_index"])
    with torch.inference_mode():
        full = model.embed(*args)
        with prune_last_layer(model.backbone, torch.stack([batch["answer_index"], batch["prompt_index"]], 1)) as on:
            pruned = model.embed(*args)
    assert on
    torch.testing.assert_close(pruned, full, **TOL)


def test_unpacked_score_path_prunes_and_keeps_scores(models):
    """``score(packing=False)`` (one row per answer) prunes too; its scores equal the full forward's."""
    model = models["qwen3-sdpa"]
    prompts, answers = _pairs()
    last_mlp = base_transformer(model.backbone).layers[-1].mlp
    rows, hook = _rows_seen(last_mlp)
    try:
        scored = model.score(prompts, answers, packing=False, batch_size=3).raw
    finally:
        hook.remove()
    assert rows == [3 * 2, 3 * 2]  # 6 answers, batches of 3, 2 pooled positions each
    batch = pad_batch([model.encoder.encode(p, a) for p, a in zip(prompts, answers)], model.tokenizer.pad_token_id)
    with torch.inference_mode():
        full = model(**batch)
    torch.testing.assert_close(scored, full, **TOL)


def _rows_seen(module):
    """Record how many token rows ``module`` processes per call."""
    seen: list[int] = []
    handle = module.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].shape[:-1].numel()))
    return seen, handle


def test_pruned_layer_skips_the_unpooled_positions(models):
    model = models["qwen3-sdpa"]
    last = base_transformer(model.backbone).layers[-1]
    first = base_transformer(model.backbone).layers[0]
    prompts, answers = _pairs((1,))
    batch = pad_batch([model.encoder.encode(p, a) for p, a in zip(prompts, answers)], model.tokenizer.pad_token_id)
    b, t = batch["input_ids"].shape
    positions = torch.stack([batch["answer_index"], batch["prompt_index"]], 1)
    mlp_rows, mlp_hook = _rows_seen(last.mlp)
    q_rows, q_hook = _rows_seen(last.self_attn.q_proj)
    k_rows, k_hook = _rows_seen(last.self_attn.k_proj)
    early_rows, early_hook = _rows_seen(first.mlp)
    try:
        with torch.inference_mode(), prune_last_layer(model.backbone, positions):
            model.embed(batch["input_ids"], batch["attention_mask"], batch["prompt_index"], batch["answer_index"])
            # another thread scoring meanwhile runs the full layer: the positions are this thread's own
            worker = threading.Thread(
                target=lambda: torch.inference_mode()(model.embed)(
                    batch["input_ids"], batch["attention_mask"], batch["prompt_index"], batch["answer_index"]
                )
            )
            worker.start()
            worker.join()
        assert mlp_rows == [b * 2, b * t] and q_rows == [b * 2, b * t]
        assert k_rows == [b * t, b * t] and early_rows == [b * t, b * t]  # keys/values and earlier layers: all
        # the scoring entry point prunes by default: prompt pass (1 row per prompt), answer pass (1 per answer)
        mlp_rows.clear()
        examples = [model.encoder.encode(p, a) for p, a in zip(prompts, answers)]
        packed_raw_scores(model, examples)
        assert mlp_rows[0] == 1 and sum(mlp_rows[1:]) == len(examples)  # answers may run in length buckets
        mlp_rows.clear()
        packed_raw_scores(model, examples, prune_last_layer=False)
        assert all(rows > len(examples) for rows in mlp_rows)
    finally:
        for handle in (mlp_hook, q_hook, k_hook, early_hook):
            handle.remove()
    assert "forward" not in vars(last)  # the patch is gone after the block


def test_bad_positions_are_rejected(models):
    model = models["qwen3-sdpa"]
    ids = torch.tensor([[1, 2, 3], [4, 5, 6]])
    with torch.inference_mode():
        with pytest.raises(LastLayerError, match="outside a sequence of 3"):
            with prune_last_layer(model.backbone, torch.tensor([[3], [0]])):
                model.backbone(input_ids=ids)
        with pytest.raises(LastLayerError, match="cover 1 rows but the batch has 2"):
            with prune_last_layer(model.backbone, torch.tensor([[0]])):
                model.backbone(input_ids=ids)
        with pytest.raises(LastLayerError, match="integer tensor"):
            with prune_last_layer(model.backbone, torch.tensor([0.0, 1.0])):
                pass


def _unsupported_backbones():
    """(backbone, expected reason fragment): an unknown layer class and a sliding-window last layer."""
    from transformers import MistralConfig, MistralModel, Qwen3Config, Qwen3Model

    small = dict(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        attn_implementation="sdpa",
    )
    torch.manual_seed(0)
    mistral = MistralModel(MistralConfig(**small)).eval()
    sliding = Qwen3Model(Qwen3Config(**small, use_sliding_window=True, sliding_window=4, max_window_layers=0)).eval()
    return [(mistral, "MistralDecoderLayer is not one of"), (sliding, "sliding-window attention")]


def test_unsupported_backbones_run_the_full_layer_and_log_why(caplog):
    ids = torch.tensor([[5, 9, 2, 7, 3, 8], [1, 4, 6, 2, 9, 3]])
    positions = torch.tensor([[5], [2]])
    for backbone, reason in _unsupported_backbones():
        with torch.inference_mode():
            full = backbone(input_ids=ids).last_hidden_state
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="mrrml.model"):
                with prune_last_layer(backbone, positions) as on:
                    same = backbone(input_ids=ids).last_hidden_state
                with prune_last_layer(backbone, positions):  # logged once per backbone
                    pass
        assert not on
        torch.testing.assert_close(same, full, rtol=0, atol=0)
        assert [r.getMessage() for r in caplog.records if reason in r.getMessage()] and len(caplog.records) == 1


def test_attention_without_cuttable_masks_is_declined(models, caplog):
    backbone = models["qwen3-sdpa"].backbone
    config = base_transformer(backbone).config
    saved = config._attn_implementation
    config._attn_implementation = "flash_attention_2"
    try:
        assert "'flash_attention_2' is not one of" in pruning_unsupported_reason(backbone)
        with caplog.at_level(logging.WARNING, logger="mrrml.model"):
            assert not use_pruning(backbone)
        assert "flash_attention_2" in caplog.text
    finally:
        config._attn_implementation = saved
    assert pruning_unsupported_reason(backbone) is None and not use_pruning(backbone, requested=False)


def test_length_buckets_bound_padding_and_cover_every_row():
    lengths = [300, 128, 384, 200, 290, 150, 250, 380, 5]
    buckets = length_buckets(lengths, fill=0.75)
    assert sorted(r for b in buckets for r in b) == list(range(len(lengths)))
    for bucket in buckets:
        longest = lengths[bucket[0]]
        assert all(longest >= lengths[r] >= 0.75 * longest for r in bucket)
    assert buckets[0] == [2, 7, 0, 4] and buckets[-1] == [8]
    assert length_buckets(lengths, fill=0.0) == [sorted(range(len(lengths)), key=lambda r: -lengths[r])]


SMALL = dict(
    vocab_size=64,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=8,
)


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("family", ["Qwen2", "Qwen3", "Llama"])
def test_pruned_backbone_equals_full_layer_with_masks_and_cache(family, attn):
    """The bare backbones: no mask (sdpa's causal path), left padding, and answers run on a prompt cache."""
    import transformers

    config = getattr(transformers, f"{family}Config")(**SMALL, attn_implementation=attn)
    torch.manual_seed(0)
    backbone = getattr(transformers, f"{family}Model")(config).eval()
    ids = torch.randint(0, 64, (3, 9))
    positions = torch.tensor([[8, 2], [5, 3], [8, 6]])  # real tokens in every layout below
    rows = torch.arange(3)[:, None]
    left_padded = torch.tensor([[1] * 9, [0] * 3 + [1] * 6, [0] * 2 + [1] * 7])
    more = torch.randint(0, 64, (3, 4))
    answer_last = torch.tensor([[3], [1], [0]])
    with torch.inference_mode():
        for mask in (None, left_padded):
            full = backbone(input_ids=ids, attention_mask=mask, use_cache=True)
            with prune_last_layer(backbone, positions) as on:
                pruned = backbone(input_ids=ids, attention_mask=mask, use_cache=True)
            assert on
            torch.testing.assert_close(
                pruned.last_hidden_state[rows, positions], full.last_hidden_state[rows, positions], **TOL
            )
            # the pruned pass's cache is complete: answers on it match answers on the full pass's cache
            both = torch.cat(
                [torch.ones(3, 9, dtype=torch.long) if mask is None else mask, torch.ones(3, 4, dtype=torch.long)],
                dim=1,
            )
            expected = backbone(
                input_ids=more, attention_mask=both, **{CACHE_KEY: getattr(full, CACHE_KEY)}
            ).last_hidden_state
            with prune_last_layer(backbone, answer_last):
                got = backbone(
                    input_ids=more, attention_mask=both, **{CACHE_KEY: getattr(pruned, CACHE_KEY)}
                ).last_hidden_state
            torch.testing.assert_close(got[rows, answer_last], expected[rows, answer_last], **TOL)
