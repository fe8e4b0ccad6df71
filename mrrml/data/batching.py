"""Encoded records, the length-bucketed batch sampler, the collate function and a resumable loader.

Why these pieces exist:

* Every answer of a batch (good/medium/poor/neutral of each triplet, chosen/rejected of each pair, the
  response of each rated record) becomes one row of ONE padded batch, so the backbone runs once per
  step; index tensors map rows back to their roles. Padding waste is kept low by batching answers of
  similar length together (bucketing).
* The sampler forms *global* batches (``batch_size × world_size`` records) that do not depend on the
  number of processes, and each rank takes its own contiguous slice. A two-process DDP run therefore
  sees exactly the records a one-process run with the doubled batch sees, step for step.
* Lightning only skips already-trained batches on resume when the dataloader is stateful
  (``state_dict`` / ``load_state_dict``); :class:`ResumableDataLoader` provides that so a run killed
  mid-epoch resumes on the next unseen batch instead of replaying the epoch.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..errors import ConfigError
from .encoder import EncodedExample, pad_batch

# Row roles inside an encoded record.
GOOD, MEDIUM, POOR, NEUTRAL = "good", "medium", "poor", "neutral"
CHOSEN, REJECTED, RESPONSE = "chosen", "rejected", "response"


@dataclass
class EncodedRecord:
    """One record, tokenised: its rows (one per answer) and what the loss needs to know about it.

    ``kind`` is ``"triplet"`` (triplets, and pairs that name a dimension: a triplet without medium),
    ``"overall"`` (pairs without a dimension: ranked on the matrix-weighted score) or ``"rated"``.
    """

    id: str
    kind: str
    rows: dict[str, EncodedExample]
    dim_idx: int = -1
    weights: list[float] | None = None  # overall pairs: the matrix weight vector of the record's cell
    targets: list[float] | None = None  # rated: per-dimension targets (0 where masked)
    mask: list[bool] | None = None  # rated: which dimensions carry a target
    length: int = field(init=False)

    def __post_init__(self) -> None:
        self.length = max(len(e.input_ids) for e in self.rows.values())


class EncodedDataset(Dataset):
    """A list of :class:`EncodedRecord` (indexable; the sampler yields lists of indices)."""

    def __init__(self, records: Sequence[EncodedRecord]):
        self.records = list(records)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int | list[int]) -> EncodedRecord | list[EncodedRecord]:
        # The sampler yields whole batches (lists of indices) and the loader runs without auto-batching.
        if isinstance(index, list):
            return [self.records[i] for i in index]
        return self.records[index]

    @property
    def lengths(self) -> list[int]:
        return [r.length for r in self.records]


class LengthBucketBatchSampler(DistributedSampler):
    """Deterministic, length-bucketed, distributed batches of record indices.

    ``groups`` are (indices, weight) pairs, one per data source: per epoch a source contributes
    ``floor(weight)`` full passes over its records plus a seeded random ``frac(weight)`` share, so
    sources mix in a controlled ratio. The epoch's draw is shuffled, cut into mega-batches of
    ``bucket_multiplier`` global batches, each mega-batch sorted by length and cut into global batches,
    and the batch order shuffled again. Everything depends only on ``(seed, epoch)``.

    It subclasses :class:`DistributedSampler` only so Lightning does not replace it with one of its own:
    it does its own sharding (``rank``'s slice of each global batch).
    """

    def __init__(
        self,
        lengths: Sequence[int],
        groups: Sequence[tuple[Sequence[int], float]],
        batch_size: int,
        *,
        num_replicas: int = 1,
        rank: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = True,
        bucket_multiplier: int = 8,
    ):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < num_replicas:
            raise ConfigError(f"rank {rank} outside world size {num_replicas}")
        for _, weight in groups:
            if weight < 0 or not math.isfinite(weight):
                raise ConfigError(f"data source weight must be a finite number >= 0, got {weight}")
        # DistributedSampler's own fields (dataset is only used for its length there).
        self.dataset = lengths
        self.num_replicas, self.rank, self.shuffle, self.seed, self.drop_last = (
            num_replicas,
            rank,
            shuffle,
            seed,
            drop_last,
        )
        self.epoch = 0
        self.lengths = list(lengths)
        self.groups = [(list(indices), float(weight)) for indices, weight in groups]
        self.batch_size = batch_size
        self.bucket_multiplier = max(1, bucket_multiplier)
        self._skip: tuple[int, int] | None = None  # (epoch, batches already consumed) from a checkpoint
        self.yielded = 0

    @property
    def global_batch_size(self) -> int:
        return self.batch_size * self.num_replicas

    def _epoch_draw(self, rng: random.Random) -> list[int]:
        drawn: list[int] = []
        for indices, weight in self.groups:
            whole = math.floor(weight)
            drawn.extend(indices * whole)
            extra = round((weight - whole) * len(indices))
            if extra:
                drawn.extend(rng.sample(indices, extra) if self.shuffle else indices[:extra])
        return drawn

    def global_batches(self) -> list[list[int]]:
        """This epoch's global batches (every rank computes the same list)."""
        rng = random.Random(f"{self.seed}:{self.epoch}")
        order = self._epoch_draw(rng)
        if self.shuffle:
            rng.shuffle(order)
        size = self.global_batch_size
        mega = size * self.bucket_multiplier
        batches: list[list[int]] = []
        for start in range(0, len(order), mega):
            chunk = sorted(order[start : start + mega], key=lambda i: self.lengths[i])
            batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
        full = [b for b in batches if len(b) == size]
        partial = [b for b in batches if len(b) < size]
        if self.shuffle:
            rng.shuffle(full)
        # A short batch (at most one per mega-batch) goes last or is dropped, so step k is the same batch
        # for every world size.
        if not self.drop_last:
            full.extend(partial)
        return full

    def _shard(self, batch: list[int]) -> list[int]:
        if len(batch) == self.global_batch_size:
            return batch[self.rank * self.batch_size : (self.rank + 1) * self.batch_size]
        part = batch[self.rank :: self.num_replicas]
        # Every rank must step the same number of times; an empty share repeats the batch's first record.
        return part or batch[:1]

    def __iter__(self) -> Iterator[list[int]]:  # type: ignore[override]
        batches = self.global_batches()
        skip = 0
        if self._skip is not None:
            epoch, consumed = self._skip
            self._skip = None
            if epoch == self.epoch:
                skip = consumed
        self.yielded = skip
        for batch in batches[skip:]:
            self.yielded += 1
            yield self._shard(batch)

    def __len__(self) -> int:
        return len(self.global_batches())

    def skip_on_next_epoch(self, epoch: int, consumed: int) -> None:
        """Resume: the next iteration of ``epoch`` starts after its first ``consumed`` batches."""
        self._skip = (epoch, consumed)


def collate(records: list[EncodedRecord], pad_id: int, num_dimensions: int) -> dict[str, Any]:
    """All answers of the batch in one right-padded batch plus index maps for the loss.

    Triplet rows: ``good_idx/medium_idx/poor_idx/neutral_idx`` (row numbers; 0 where the role is absent,
    with ``has_medium``/``has_neutral`` False) and ``dim_idx``. Overall pairs: ``chosen_idx/rejected_idx``
    and ``overall_weights [Ko, D]``. Rated: ``rated_idx``, ``rated_targets [Kr, D]``, ``rated_mask``.
    ``ids`` and ``roles`` name every row's record and role (error messages, predictions).
    """
    examples: list[EncodedExample] = []
    ids: list[str] = []
    roles: list[str] = []

    def add(record: EncodedRecord, role: str) -> int:
        examples.append(record.rows[role])
        ids.append(record.id)
        roles.append(role)
        return len(examples) - 1

    trip: dict[str, list[Any]] = {
        k: [] for k in ("good", "medium", "poor", "neutral", "has_medium", "has_neutral", "dim")
    }
    over: dict[str, list[Any]] = {k: [] for k in ("chosen", "rejected", "weights")}
    rated: dict[str, list[Any]] = {k: [] for k in ("idx", "targets", "mask")}
    for record in records:
        if record.kind == "triplet":
            trip["good"].append(add(record, GOOD))
            trip["poor"].append(add(record, POOR))
            has_m, has_n = MEDIUM in record.rows, NEUTRAL in record.rows
            trip["medium"].append(add(record, MEDIUM) if has_m else 0)
            trip["neutral"].append(add(record, NEUTRAL) if has_n else 0)
            trip["has_medium"].append(has_m)
            trip["has_neutral"].append(has_n)
            trip["dim"].append(record.dim_idx)
        elif record.kind == "overall":
            over["chosen"].append(add(record, CHOSEN))
            over["rejected"].append(add(record, REJECTED))
            over["weights"].append(record.weights)
        elif record.kind == "rated":
            rated["idx"].append(add(record, RESPONSE))
            rated["targets"].append(record.targets)
            rated["mask"].append(record.mask)
        else:
            raise ConfigError(f"record {record.id!r}: unknown encoded kind {record.kind!r}")
    batch: dict[str, Any] = dict(pad_batch(examples, pad_id))
    long = torch.long
    batch.update(
        good_idx=torch.tensor(trip["good"], dtype=long),
        medium_idx=torch.tensor(trip["medium"], dtype=long),
        poor_idx=torch.tensor(trip["poor"], dtype=long),
        neutral_idx=torch.tensor(trip["neutral"], dtype=long),
        has_medium=torch.tensor(trip["has_medium"], dtype=torch.bool),
        has_neutral=torch.tensor(trip["has_neutral"], dtype=torch.bool),
        dim_idx=torch.tensor(trip["dim"], dtype=long),
        chosen_idx=torch.tensor(over["chosen"], dtype=long),
        rejected_idx=torch.tensor(over["rejected"], dtype=long),
        overall_weights=torch.tensor(over["weights"], dtype=torch.float32).reshape(-1, num_dimensions),
        rated_idx=torch.tensor(rated["idx"], dtype=long),
        rated_targets=torch.tensor(rated["targets"], dtype=torch.float32).reshape(-1, num_dimensions),
        rated_mask=torch.tensor(rated["mask"], dtype=torch.bool).reshape(-1, num_dimensions),
        ids=ids,
        roles=roles,
        record_ids=[r.id for r in records],
    )
    return batch


class ResumableDataLoader(DataLoader):
    """A DataLoader whose position in the epoch is saved in Lightning checkpoints.

    ``consumed`` reports how many batches of the current epoch the trainer has finished (the loader
    itself cannot know: Lightning prefetches one batch ahead); on load the sampler skips them.
    """

    def __init__(
        self,
        dataset: EncodedDataset,
        sampler: LengthBucketBatchSampler,
        collate_fn: Callable[[list[EncodedRecord]], dict[str, Any]],
        consumed: Callable[[], int],
        **kwargs: Any,
    ):
        super().__init__(dataset, batch_size=None, sampler=sampler, collate_fn=collate_fn, **kwargs)
        self._consumed = consumed

    def state_dict(self) -> dict[str, int]:
        sampler: LengthBucketBatchSampler = self.sampler  # type: ignore[assignment]
        return {"epoch": int(sampler.epoch), "consumed": int(self._consumed())}

    def load_state_dict(self, state: dict[str, int]) -> None:
        sampler: LengthBucketBatchSampler = self.sampler  # type: ignore[assignment]
        sampler.skip_on_next_epoch(int(state["epoch"]), int(state["consumed"]))
