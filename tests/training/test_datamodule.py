"""The data module: mixing, length bucketing, determinism, sharding, truncation counts, located errors."""

from __future__ import annotations

import json

import pytest

from mrrml.data.batching import LengthBucketBatchSampler
from mrrml.data.datamodule import DataSource, RewardDataModule
from mrrml.errors import ConfigError, RecordError
from tests.training.training_helpers import make_triplets, write_jsonl


def _dm(qwen_tokenizer, sources, **kwargs) -> RewardDataModule:
    dm = RewardDataModule(train=sources, **{"val_fraction": 0.0, "batch_size": 4, **kwargs})
    dm.set_tokenizer(qwen_tokenizer)
    dm.setup("fit")
    return dm


def _epoch_ids(dm: RewardDataModule, epoch: int = 0) -> list[list[str]]:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return [batch["record_ids"] for batch in loader]


def test_same_seed_same_batches_other_seed_other_order(qwen_tokenizer, triplet_file):
    a = _epoch_ids(_dm(qwen_tokenizer, [DataSource(str(triplet_file))], seed=1))
    b = _epoch_ids(_dm(qwen_tokenizer, [DataSource(str(triplet_file))], seed=1))
    c = _epoch_ids(_dm(qwen_tokenizer, [DataSource(str(triplet_file))], seed=2))
    assert a == b and a != c
    assert sorted(i for batch in a for i in batch) == sorted(f"t0-{i}" for i in range(40))
    # a new epoch reshuffles
    assert _epoch_ids(_dm(qwen_tokenizer, [DataSource(str(triplet_file))], seed=1), epoch=1) != a


def test_batches_are_bucketed_by_length(qwen_tokenizer, tmp_path):
    # records of very different lengths: bucketing puts similar lengths together -> little padding
    records = make_triplets(32)
    for i, r in enumerate(records):
        r.good = r.good + " More detail." * (i % 8) * 6
    path = write_jsonl(tmp_path / "lengths.jsonl", records)
    dm = _dm(qwen_tokenizer, [DataSource(str(path))], bucket_multiplier=8, seed=0)
    dataset, _ = dm._dataset("train")
    sampler = LengthBucketBatchSampler(
        dataset.lengths, [(list(range(len(dataset))), 1.0)], 4, bucket_multiplier=8, seed=0
    )
    unbucketed = LengthBucketBatchSampler(
        dataset.lengths, [(list(range(len(dataset))), 1.0)], 4, bucket_multiplier=1, seed=0
    )

    def waste(s):
        return sum(max(dataset.lengths[i] for i in b) * len(b) - sum(dataset.lengths[i] for i in b) for b in s)

    assert waste(sampler) < waste(unbucketed)


def test_weights_mix_sources(qwen_tokenizer, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", make_triplets(8, seed=1))
    b = write_jsonl(tmp_path / "b.jsonl", make_triplets(8, seed=2))
    dm = _dm(qwen_tokenizer, [DataSource(str(a), weight=2.0), DataSource(str(b), weight=0.5)], batch_size=2)
    ids = [i for batch in _epoch_ids(dm) for i in batch]
    assert sum(i.startswith("t1-") for i in ids) == 16 and sum(i.startswith("t2-") for i in ids) == 4
    with pytest.raises(ConfigError, match="weight"):
        _epoch_ids(_dm(qwen_tokenizer, [DataSource(str(a), weight=-1.0)]))


def test_two_ranks_split_each_global_batch(qwen_tokenizer, triplet_file):
    dm = _dm(qwen_tokenizer, [DataSource(str(triplet_file))])
    dataset, groups = dm._dataset("train")
    one = list(LengthBucketBatchSampler(dataset.lengths, groups, 8, seed=3))
    ranks = [list(LengthBucketBatchSampler(dataset.lengths, groups, 4, num_replicas=2, rank=r, seed=3)) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == len(one)
    assert [r0 + r1 for r0, r1 in zip(*ranks)] == one


def test_collate_maps_rows_to_roles(qwen_tokenizer, mixed_files):
    dm = _dm(qwen_tokenizer, [DataSource(str(p)) for p in mixed_files.values()], batch_size=34)
    batch = next(iter(dm.train_dataloader()))
    n = batch["input_ids"].shape[0]
    assert batch["attention_mask"].shape == batch["input_ids"].shape and len(batch["ids"]) == n
    for role in ("good", "poor"):
        assert all(batch["roles"][i] == role for i in batch[f"{role}_idx"].tolist())
    for k, has in enumerate(batch["has_medium"].tolist()):
        assert not has or batch["roles"][batch["medium_idx"][k]] == "medium"
        assert batch["ids"][batch["good_idx"][k]] == batch["ids"][batch["poor_idx"][k]]
    # 20 triplets + 4 single-dimension pairs rank on one head; 4 overall pairs on the weighted sum
    assert batch["dim_idx"].numel() == 24 and batch["has_neutral"].sum() == 20
    assert batch["chosen_idx"].numel() == 4
    assert batch["overall_weights"].sum(1).sub(1).abs().max() < 1e-5
    assert batch["rated_idx"].numel() == 6 and batch["rated_mask"][:, 0].all() and not batch["rated_mask"][:, 1:].any()
    # the pooled positions are real tokens: the end-of-turn token closes every answer
    eot = dm._new_encoder().end_of_turn_id
    rows = list(range(n))
    assert (batch["input_ids"][rows, batch["answer_index"]] == eot).all()


def test_truncation_is_counted(qwen_tokenizer, triplet_file):
    dm = _dm(qwen_tokenizer, [DataSource(str(triplet_file))], max_prompt_tokens=8, max_answer_tokens=6)
    dm._dataset("train")
    stats = dm.truncation["train"]
    assert stats["examples"] == 120 and stats["prompts_truncated"] == 120 and stats["answers_truncated"] > 0
    assert stats["tokens_cut"] > 0


def test_bad_record_names_file_and_line(qwen_tokenizer, tmp_path, triplet_file):
    lines = triplet_file.read_text().splitlines()
    bad = json.loads(lines[2])
    bad["dimension"] = "bedside_manner"
    lines[2] = json.dumps(bad)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordError, match=r"bad\.jsonl:3: dimension"):
        _dm(qwen_tokenizer, [DataSource(str(path))])
    skipping = _dm(qwen_tokenizer, [DataSource(str(path))], on_error="skip")
    assert len(skipping.records("train")) == 39 and skipping.skipped[str(path)] == 1


def test_validation_split_is_by_prompt_and_deterministic(qwen_tokenizer, triplet_file):
    a = _dm(qwen_tokenizer, [DataSource(str(triplet_file))], val_fraction=0.3, seed=5)
    b = _dm(qwen_tokenizer, [DataSource(str(triplet_file))], val_fraction=0.3, seed=5)
    val = {r.id for r in a.records("val")}
    assert val == {r.id for r in b.records("val")} and 0 < len(val) < 40
    assert not {r.prompt for r in a.records("val")} & {r.prompt for r in a.records("train")}


def test_train_smaller_than_a_batch_is_an_error(qwen_tokenizer, tmp_path):
    path = write_jsonl(tmp_path / "few.jsonl", make_triplets(3))
    with pytest.raises(ConfigError, match="smaller than one global batch"):
        _dm(qwen_tokenizer, [DataSource(str(path))], batch_size=4).train_dataloader()
