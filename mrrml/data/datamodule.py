"""The LightningDataModule: JSON Lines records in, length-bucketed tensor batches out.

It reads triplet, pair and rated files (mixable, each with a weight) through
:func:`mrrml.data.records.read_records`, so a bad record stops the run with its file:line and field.
Records are tokenised with the reward model's tokenizer (its chat template renders the prompt; see
:class:`~mrrml.data.encoder.ConversationEncoder`); truncation is counted per split and logged. The
tokenizer arrives explicitly, never from the trainer: as the model's encoder (``encoder=``; the CLI
links ``model.encoder`` to it, limits included) or with :meth:`RewardDataModule.set_tokenizer`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import lightning.pytorch as pl
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader

from ..errors import ConfigError
from ..resources import matrix_file
from ..standards.loader import load_matrix
from ..standards.matrix import StandardsMatrix
from .batching import (
    CHOSEN,
    GOOD,
    MEDIUM,
    NEUTRAL,
    POOR,
    REJECTED,
    RESPONSE,
    EncodedDataset,
    EncodedRecord,
    LengthBucketBatchSampler,
    ResumableDataLoader,
    collate,
)
from .encoder import ConversationEncoder
from .records import PairRecord, RatedRecord, Record, TripletRecord, read_records

log = logging.getLogger(__name__)
Split = Literal["train", "val", "test", "predict"]


@dataclass
class DataSource:
    """One JSON Lines file of records.

    Args:
        path: the file (triplet, pair or rated records; kinds may be mixed line by line).
        weight: how much of the file one epoch draws: 1 = every record once, 2 = twice, 0.5 = a seeded
            random half (a different half each epoch). Mixes sources in a chosen ratio.
        kind: force one record kind (``triplet``, ``pair``, ``rated``); None detects it per line.
    """

    path: str
    weight: float = 1.0
    kind: str | None = None


def resolve_matrix(spec: str | StandardsMatrix) -> StandardsMatrix:
    """A matrix from a YAML path or the name of a shipped one (``healthbench``, ``mr-rml``)."""
    if isinstance(spec, StandardsMatrix):
        return spec
    return load_matrix(matrix_file(spec))


def encode_record(
    record: Record, encoder: ConversationEncoder, matrix: StandardsMatrix, fallback_id: str
) -> EncodedRecord:
    """Tokenise every answer of one record and resolve its dimension / weights against the matrix."""
    dims = matrix.dimension_ids
    rid = record.id or fallback_id
    if isinstance(record, TripletRecord):
        rows = {GOOD: encoder.encode(record.prompt, record.good), POOR: encoder.encode(record.prompt, record.poor)}
        if record.medium is not None:
            rows[MEDIUM] = encoder.encode(record.prompt, record.medium)
        if record.neutral is not None:
            rows[NEUTRAL] = encoder.encode(record.prompt, record.neutral)
        return EncodedRecord(rid, "triplet", rows, dim_idx=dims.index(record.dimension))
    if isinstance(record, PairRecord):
        if record.dimension is not None:
            # A pair on one dimension is a triplet without its medium answer.
            rows = {
                GOOD: encoder.encode(record.prompt, record.chosen),
                POOR: encoder.encode(record.prompt, record.rejected),
            }
            return EncodedRecord(rid, "triplet", rows, dim_idx=dims.index(record.dimension))
        rows = {
            CHOSEN: encoder.encode(record.prompt, record.chosen),
            REJECTED: encoder.encode(record.prompt, record.rejected),
        }
        weights = matrix.weight_vector(record.scenario, record.discipline)
        return EncodedRecord(rid, "overall", rows, weights=[float(w) for w in weights])
    if isinstance(record, RatedRecord):
        rows = {RESPONSE: encoder.encode(record.prompt, record.response)}
        return EncodedRecord(
            rid,
            "rated",
            rows,
            targets=[float(record.scores.get(d, 0.0)) for d in dims],
            mask=[d in record.scores for d in dims],
        )
    raise ConfigError(f"unsupported record type {type(record).__name__}")


def _held_out(prompt: Any, seed: int, fraction: float) -> bool:
    """Deterministic split by prompt, so answers to one prompt never straddle train and validation."""
    key = json.dumps(prompt, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


class RewardDataModule(pl.LightningDataModule):
    """Triplet / pair / rated JSON Lines for reward-model training, batched by length.

    Args:
        train: training sources (file, weight, kind).
        val: validation sources; when empty, ``val_fraction`` of the training prompts are held out.
        test: test sources (``mrrml test``).
        predict: sources to score (``mrrml predict``).
        matrix: the standards matrix (a YAML path or a shipped name); with the CLI it is linked to
            ``model.matrix``. Unknown dimensions, scenarios or disciplines in records are errors.
        val_fraction: share of training prompts held out for validation when ``val`` is empty.
        batch_size: records per step per process (a triplet is 2-4 answer rows).
        eval_batch_size: records per validation/test/predict batch (default ``batch_size``).
        max_prompt_tokens: the rendered prompt keeps its last this-many tokens (counted, logged);
            None = the reward model's setting (``model.max_prompt_tokens``), so data and scoring agree.
        max_answer_tokens: an answer keeps its first this-many tokens, end-of-turn included; None = the
            model's setting.
        bucket_multiplier: global batches per length bucket; larger = less padding, less randomness.
        seed: the seed of the split, of each epoch's order and of fractional source weights.
        num_workers: DataLoader worker processes (batches are pre-tokenised; 0 is usually right).
        on_error: ``raise`` stops at the first bad record; ``skip`` drops bad lines and logs how many.
        encoder: the reward model's encoder: its tokenizer encodes the records, and its limits apply
            where ``max_prompt_tokens`` / ``max_answer_tokens`` are None. The CLI links it from
            ``model.encoder``; on its own, pass it or call :meth:`set_tokenizer`.
    """

    def __init__(
        self,
        train: list[DataSource] | None = None,
        val: list[DataSource] | None = None,
        test: list[DataSource] | None = None,
        predict: list[DataSource] | None = None,
        matrix: str = "healthbench",
        val_fraction: float = 0.1,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        max_prompt_tokens: int | None = None,
        max_answer_tokens: int | None = None,
        bucket_multiplier: int = 8,
        seed: int = 0,
        num_workers: int = 0,
        on_error: Literal["raise", "skip"] = "raise",
        encoder: ConversationEncoder | None = None,
    ):
        super().__init__()
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must be in [0, 1), got {val_fraction}")
        self.sources: dict[str, list[DataSource]] = {
            "train": list(train or []),
            "val": list(val or []),
            "test": list(test or []),
            "predict": list(predict or []),
        }
        self.matrix_spec = matrix
        self.val_fraction = val_fraction
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.max_prompt_tokens, self.max_answer_tokens = max_prompt_tokens, max_answer_tokens
        self.bucket_multiplier, self.seed, self.num_workers, self.on_error = (
            bucket_multiplier,
            seed,
            num_workers,
            on_error,
        )
        self._matrix: StandardsMatrix | None = None
        # The tokenizer and fallback limits every split's encoder is made from.
        self._reference_encoder: ConversationEncoder | None = encoder
        # split -> list of (records, weight, source name); filled by setup()
        self._raw: dict[str, list[tuple[list[Record], float, str]]] = {}
        self._encoded: dict[str, tuple[EncodedDataset, list[tuple[list[int], float]]]] = {}
        self.truncation: dict[str, dict[str, int]] = {}
        self.skipped: dict[str, int] = {}

    # -- inputs -----------------------------------------------------------------------------------
    @property
    def matrix(self) -> StandardsMatrix:
        if self._matrix is None:
            self._matrix = resolve_matrix(self.matrix_spec)
        return self._matrix

    def set_tokenizer(self, tokenizer: Any) -> None:
        """Encode with this tokenizer; limits not set on this module default to the encoder's own."""
        self._reference_encoder = ConversationEncoder(tokenizer)
        self._encoded.clear()

    def _reference(self) -> ConversationEncoder:
        if self._reference_encoder is None:
            raise ConfigError(
                "RewardDataModule has no tokenizer: pass encoder=<the reward model module's .encoder> "
                "(mrrml fit links it), or call set_tokenizer()"
            )
        return self._reference_encoder

    def _new_encoder(self) -> ConversationEncoder:
        """A fresh encoder (fresh truncation counts) with this module's limits, else the reference's."""
        reference = self._reference()
        return ConversationEncoder(
            reference.tokenizer,
            self.max_prompt_tokens or reference.max_prompt_tokens,
            self.max_answer_tokens or reference.max_answer_tokens,
        )

    def _read(self, source: DataSource) -> list[Record]:
        result = read_records(source.path, kind=source.kind, on_error=self.on_error, matrix=self.matrix)
        if result.errors:
            self.skipped[source.path] = len(result.errors)
            log.warning("%s: skipped %d bad record(s); first: %s", source.path, len(result.errors), result.errors[0])
        return result.records

    # -- Lightning hooks --------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        """Read (and validate) the records of the splits this stage needs; tokenising waits for the loaders."""
        wanted = {
            "fit": ("train", "val"),
            "validate": ("train", "val"),
            "test": ("test",),
            "predict": ("predict",),
        }.get(stage or "fit", ("train", "val", "test", "predict"))
        for split in wanted:
            if split in self._raw:
                continue
            if split in ("train", "val") and not self.sources["val"]:
                self._split_train_val()
                continue
            self._raw[split] = [(self._read(s), s.weight, s.path) for s in self.sources[split]]

    def _split_train_val(self) -> None:
        if "train" in self._raw and "val" in self._raw:
            return
        train, val = [], []
        for source in self.sources["train"]:
            records = self._read(source)
            held = [_held_out(r.prompt, self.seed, self.val_fraction) for r in records]
            train.append(([r for r, h in zip(records, held) if not h], source.weight, source.path))
            val.append(([r for r, h in zip(records, held) if h], 1.0, source.path))
        self._raw["train"], self._raw["val"] = train, val

    def records(self, split: Split) -> list[Record]:
        """The records of a split after setup (validation split included)."""
        return [r for records, _, _ in self._raw.get(split, []) for r in records]

    def _dataset(self, split: Split) -> tuple[EncodedDataset, list[tuple[list[int], float]]]:
        if split not in self._encoded:
            if split not in self._raw:
                self.setup({"train": "fit", "val": "fit", "test": "test", "predict": "predict"}[split])
            encoder = self._new_encoder()
            encoded: list[EncodedRecord] = []
            groups: list[tuple[list[int], float]] = []
            for records, weight, name in self._raw.get(split, []):
                start = len(encoded)
                encoded.extend(
                    encode_record(r, encoder, self.matrix, f"{Path(name).name}#{i + 1}") for i, r in enumerate(records)
                )
                groups.append((list(range(start, len(encoded))), weight))
            self.truncation[split] = encoder.stats.as_dict()
            stats = self.truncation[split]
            rank_zero_info(
                f"mrrml data [{split}]: {len(encoded)} records, {stats['examples']} answers encoded; "
                f"truncated: {stats['prompts_truncated']} prompts, {stats['answers_truncated']} answers, "
                f"{stats['tokens_cut']} tokens cut"
            )
            self._encoded[split] = (EncodedDataset(encoded), groups)
        return self._encoded[split]

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        if trainer is None:
            return 1, 0
        return int(trainer.world_size), int(trainer.global_rank)

    def _consumed(self, sampler: LengthBucketBatchSampler) -> int:
        trainer = self.trainer
        if trainer is None:
            return sampler.yielded
        return int(trainer.fit_loop.epoch_loop.batch_progress.current.processed)

    def _loader(self, split: Split, shuffle: bool) -> DataLoader:
        dataset, groups = self._dataset(split)
        if len(dataset) == 0:
            raise ConfigError(
                f"the {split} split has no records (data.{split} sources: "
                f"{[s.path for s in self.sources[split]] or 'none'})"
            )
        world, rank = self._world()
        sampler = LengthBucketBatchSampler(
            dataset.lengths,
            groups,
            self.batch_size if split == "train" else self.eval_batch_size,
            num_replicas=world,
            rank=rank,
            shuffle=shuffle,
            seed=self.seed,
            drop_last=split == "train",
            bucket_multiplier=self.bucket_multiplier if shuffle else 1,
        )
        if split == "train" and len(sampler) == 0:
            raise ConfigError(
                f"the train split ({len(dataset)} records) is smaller than one global batch "
                f"({sampler.global_batch_size} = batch_size x world size)"
            )
        pad_id = self._pad_id()
        dims = len(self.matrix.dimension_ids)
        collate_fn = partial(collate, pad_id=pad_id, num_dimensions=dims)
        if split == "predict":
            # Lightning rebuilds predict loaders from DataLoader's own signature (to track indices).
            return DataLoader(
                dataset, batch_size=None, sampler=sampler, collate_fn=collate_fn, num_workers=self.num_workers
            )
        return ResumableDataLoader(
            dataset, sampler, collate_fn, consumed=lambda: self._consumed(sampler), num_workers=self.num_workers
        )

    def _pad_id(self) -> int:
        tokenizer = self._reference().tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        if pad is None:
            raise ConfigError("the tokenizer has neither a pad nor an eos token to pad batches with")
        return int(pad)

    def train_dataloader(self) -> ResumableDataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> ResumableDataLoader | list:
        if not self.records("val"):
            return []
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> ResumableDataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict", shuffle=False)
