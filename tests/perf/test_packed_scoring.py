"""Prompt-shared scoring (RL groups, best-of-N), the training-batch re-packing, and the fallback decision."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
import torch

from mrrml.data.encoder import pad_batch
from mrrml.data.packing import PackingError, examples_from_batch, pack_examples
from mrrml.model.packed_forward import embed_batch, packing_unsupported_reason, use_packing
from mrrml.model.shared_prompt_scoring import grouped_batches, packed_raw_scores

TOL = dict(rtol=1e-5, atol=1e-5)


def _flatten(conversations):
    prompts = [p for p, answers in conversations for _ in answers]
    answers = [a for _, answers in conversations for a in answers]
    return prompts, answers


def test_grouped_scoring_equals_ungrouped(sdpa_model, conversations):
    prompts, answers = _flatten(conversations)
    # Interleave the two prompts' answers: grouping must find them and put scores back in input order.
    order = [0, 3, 1, 4, 2]
    prompts, answers = [prompts[i] for i in order], [answers[i] for i in order]
    plain = sdpa_model.score(prompts, answers, packing=False)
    grouped = sdpa_model.score(prompts, answers, packing=True)
    torch.testing.assert_close(grouped.raw, plain.raw, **TOL)
    torch.testing.assert_close(grouped.reward, plain.reward, **TOL)
    # a batch smaller than a group splits it and is still exact
    torch.testing.assert_close(sdpa_model.score(prompts, answers, batch_size=2).raw, plain.raw, **TOL)


def test_group_of_eight_encodes_prompt_once(sdpa_model, conversations):
    prompt = conversations[0][0]
    answers = [f"Answer number {i}: " + "check the feet daily. " * (i + 1) for i in range(8)]
    examples = [sdpa_model.encoder.encode(prompt, a) for a in answers]
    batches = grouped_batches(examples, batch_size=16)
    assert batches == [[list(range(8))]]  # one batch, one packed row holding all 8 answers
    packed = pack_examples(examples, sdpa_model.tokenizer.pad_token_id)
    prompt_len = examples[0].prompt_last + 1
    assert packed["input_ids"].shape == (1, prompt_len + sum(len(e.input_ids) - prompt_len for e in examples))
    plain = sdpa_model.score([prompt] * 8, answers, packing=False)
    torch.testing.assert_close(sdpa_model.score([prompt] * 8, answers).raw, plain.raw, **TOL)


@pytest.mark.parametrize("model_name", ["sdpa_model", "eager_model"])
@pytest.mark.parametrize("strategy", ["prefix", "packed"])
def test_both_sharing_strategies_equal_unpacked(request, model_name, strategy, conversations):
    model = request.getfixturevalue(model_name)
    prompts, answers = _flatten(conversations)
    examples = [model.encoder.encode(p, a) for p, a in zip(prompts, answers)]
    plain = model.score(prompts, answers, packing=False).raw
    for batch_size in (16, 2):
        torch.testing.assert_close(packed_raw_scores(model, examples, batch_size, strategy=strategy), plain, **TOL)


@pytest.mark.parametrize("side", ["right", "left"])
def test_training_batch_repacking_keeps_row_order(sdpa_model, conversations, side):
    examples = [sdpa_model.encoder.encode(p, a) for p, answers in conversations for a in answers]
    batch = pad_batch(examples, sdpa_model.tokenizer.pad_token_id, side)
    assert examples_from_batch(batch) == [e.__class__(e.input_ids, e.prompt_last, e.answer_last) for e in examples]
    with torch.no_grad():
        ref = embed_batch(sdpa_model, batch, packing=False)
        torch.testing.assert_close(embed_batch(sdpa_model, batch, packing=True), ref, **TOL)


def test_mismatched_group_is_rejected(sdpa_model, conversations):
    examples = [sdpa_model.encoder.encode(p, a) for p, answers in conversations for a in answers]
    with pytest.raises(PackingError, match="prompt tokens differ"):
        pack_examples(examples, 0, groups=[[0, 3], [1], [2], [4]])
    with pytest.raises(PackingError, match="exactly once"):
        pack_examples(examples, 0, groups=[[0, 1, 2]])


@pytest.mark.parametrize("implementation", ["flash_attention_2", "flash_attention_3", "paged|sdpa"])
def test_kernels_without_arbitrary_masks_are_declined(implementation):
    from transformers import Qwen3Config

    config = Qwen3Config()
    config._attn_implementation_internal = implementation
    holder = SimpleNamespace(config=config)
    reason = packing_unsupported_reason(holder)
    assert reason is not None and implementation in reason


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_mask_taking_kernels_are_accepted(implementation):
    from transformers import Qwen3Config

    config = Qwen3Config()
    config._attn_implementation_internal = implementation
    assert packing_unsupported_reason(SimpleNamespace(config=config)) is None


def test_fallback_scores_unpacked_and_logs_once(tiny_qwen3_dir, perf_matrix, conversations, caplog):
    """A backbone on an attention kernel that only knows causal masks (registered through transformers'
    own AttentionInterface, as hub kernels are) is scored unpacked, with the reason logged once."""
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    from mrrml.model.backbone import BackboneConfig
    from mrrml.model.reward_model import RewardModel

    AttentionInterface.register("causal_only_test_kernel", sdpa_attention_forward)
    AttentionMaskInterface.register("causal_only_test_kernel", sdpa_mask)
    model = RewardModel.build(BackboneConfig(str(tiny_qwen3_dir)), perf_matrix).eval()
    prompts, answers = _flatten(conversations)
    expected = model.score(prompts, answers, packing=False).raw
    model.backbone.set_attn_implementation("causal_only_test_kernel")
    with caplog.at_level(logging.WARNING, logger="mrrml.model"):
        assert not use_packing(model.backbone)
        fallback = model.score(prompts, answers, packing=True).raw
    torch.testing.assert_close(fallback, expected, **TOL)
    messages = [r.getMessage() for r in caplog.records if "causal_only_test_kernel" in r.getMessage()]
    # Each optimisation that cannot run on this kernel says so exactly once: packing, then last-layer pruning.
    assert sum("packing is off" in m for m in messages) == 1
    assert sum("last-layer pruning is off" in m for m in messages) == 1
    assert len(messages) == 2


def test_layer_costs_count_projections_mlp_and_attention():
    from transformers import Qwen3Config

    from mrrml.model.packed_forward import layer_costs

    config = Qwen3Config(
        hidden_size=512, intermediate_size=1536, num_attention_heads=8, num_key_value_heads=4, head_dim=64
    )
    # q and o: 512x512 each; k and v: 512x256 each; gated MLP: 3 x 512x1536. QK^T + AV: 2 x 8 heads x 64.
    assert layer_costs(config) == (2 * 512 * 512 + 2 * 512 * 256 + 3 * 512 * 1536, 2 * 512)
    assert layer_costs(SimpleNamespace(hidden_size=512)) is None  # sizes unknown: no estimate
    # No head_dim and no key/value heads (older Llama-style configs): hidden / heads, one kv head per head;
    # a multimodal config is read through its text_config.
    llama = SimpleNamespace(hidden_size=256, intermediate_size=512, num_attention_heads=4)
    assert layer_costs(llama) == (4 * 256 * 256 + 3 * 256 * 512, 2 * 256)
    assert layer_costs(SimpleNamespace(text_config=llama)) == layer_costs(llama)


def _triplet_examples(prompt_tokens: int, answer_tokens: int, answers: int = 3):
    """Encoded examples of one prompt and ``answers`` answers (token ids are irrelevant to the estimate)."""
    from mrrml.data.encoder import EncodedExample

    return [
        EncodedExample(list(range(prompt_tokens + answer_tokens)), prompt_tokens - 1, prompt_tokens + answer_tokens - 1)
        for _ in range(answers)
    ]


def test_packing_pays_for_wide_models_and_short_answers_only():
    from mrrml.model.packed_forward import packing_saves_work

    def backbone(hidden, mlp, heads, kv_heads, head_dim):
        return SimpleNamespace(
            config=SimpleNamespace(
                hidden_size=hidden,
                intermediate_size=mlp,
                num_attention_heads=heads,
                num_key_value_heads=kv_heads,
                head_dim=head_dim,
            )
        )

    wide, narrow = backbone(512, 1536, 8, 4, 64), backbone(96, 192, 3, 1, 32)
    short, long = _triplet_examples(256, 256, 2), _triplet_examples(200, 420, 4)
    assert packing_saves_work(wide, short, [[0, 1]])  # the training benchmark's shape: packs
    assert not packing_saves_work(narrow, long, [[0, 1, 2, 3]])  # the demo's shape: one row per answer
    assert packing_saves_work(SimpleNamespace(config=None), long, [[0, 1, 2, 3]])  # unknown sizes: pack


def test_auto_packing_packs_short_answers_and_declines_long_ones_once(sdpa_model, conversations, caplog, monkeypatch):
    """``packing="auto"`` on the tiny test backbone (hidden 64): the short conversations are packed (2 rows
    for 2 prompts); four ~400-token answers to one short prompt run one row per answer, the log says why
    once, and z is the same as unpacked either way."""
    from mrrml.model import optional_speedups

    monkeypatch.setattr(optional_speedups, "_declined", set())  # the log-once memory is process-wide
    rows: list[int] = []
    hook = sdpa_model.backbone.get_input_embeddings().register_forward_hook(
        lambda module, args, output: rows.append(int(args[0].shape[0]))
    )
    short = [sdpa_model.encoder.encode(p, a) for p, answers in conversations for a in answers]
    long = [
        sdpa_model.encoder.encode("Is my foot care enough?", f"Answer {i}: " + "check the feet daily. " * 80)
        for i in range(4)
    ]
    try:
        with torch.no_grad(), caplog.at_level(logging.INFO, logger="mrrml.model"):
            for examples, packed_rows in ((short, 2), (long, 4), (long, 4)):
                batch = pad_batch(examples, sdpa_model.tokenizer.pad_token_id, "right")
                ref = embed_batch(sdpa_model, batch, packing=False)
                rows.clear()
                torch.testing.assert_close(embed_batch(sdpa_model, batch, packing="auto"), ref, **TOL)
                assert rows == [packed_rows]
    finally:
        hook.remove()
    declines = [r for r in caplog.records if "estimated to cost more" in r.getMessage()]
    assert len(declines) == 1 and declines[0].levelno == logging.INFO  # the default's choice, not a warning


def test_packing_setting_is_checked():
    from mrrml.errors import ConfigError
    from mrrml.model.packed_forward import check_packing

    assert [check_packing(v) for v in (True, False, "auto")] == [True, False, "auto"]
    for wrong in ("yes", "true", 1, 0, None):
        with pytest.raises(ConfigError, match="packing: expected true, false or 'auto', got"):
            check_packing(wrong)
