"""Frozen-backbone features, computed once per answer and kept on disk (linear probing of a reward model).

With ``freeze_backbone`` the backbone is a fixed function of its input, so what it contributes to an
answer can be computed once and reused for every epoch. The heads' projection ``f`` is linear without a
bias (:class:`~mrrml.model.heads.RewardHeads`), so the anchored embedding
``z = f(h[answer_last]) − f(h[prompt_last])`` equals ``f(d)`` with ``d = h[answer_last] − h[prompt_last]``
(``d = h[answer_last]`` for a model without the anchor). One ``H``-wide vector per answer row is all the
backbone gives to training; the projection and heads then train on ``d`` alone.

What a feature is keyed by — everything it is a function of, and nothing else:

* the **backbone fingerprint** (:func:`backbone_fingerprint`): sha256 over the backbone's class, its
  config (attention implementation included) and every tensor of its state dict (name, dtype, shape,
  bytes). It reads the weights actually loaded — after dequantisation, dtype casts and device moves —
  so it does not matter which files they came from. It names the store's directory and is written
  into, and checked in, every shard.
* the **row key** (:func:`row_keys`): blake2b of the row's token ids, its two pooled positions, the
  anchor flag and the autocast dtype the backbone ran under. Tokenizer, chat template and length
  limits matter only through the ids: a changed record, or a limit that cuts differently, misses; a
  change that leaves the ids alone hits.

Scoring reads the same store: :class:`FeatureCacheScorer` gives a frozen model ``RewardModel.score``
over cached features, so several models trained on one backbone (seeds, GPRC settings) run the
backbone once per answer between them, in training and in evaluation alike.

The rows live in a :class:`~mrrml.training.feature_store.FeatureStore` (verified, append-only shards
under ``<root>/<fingerprint>/``; safe against killed writers and concurrent DDP ranks). Rows computed in
a run are written at each training epoch's end, at the end of the run, and at least every
``FLUSH_SECONDS`` while encoding, so a killed run keeps most of its encoding work.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..data.encoder import ConversationEncoder, EncodedExample, pad_batch
from ..errors import ConfigError
from ..model.backbone import attention_implementation, hidden_size
from ..model.heads import RewardHeads
from ..model.packed_forward import Packing, embed_batch
from ..model.reward_model import RewardModel
from ..resources import cache_dir
from ..standards.matrix import StandardsMatrix
from .feature_store import FeatureStore, tensor_bytes

FEATURE_FORMAT = 1  # bump when what a feature means changes (pooling, anchoring): every old row misses
FLUSH_SECONDS = 60.0  # unsaved features are written at least this often: a kill loses at most ~1 min of encoding


def default_feature_dir() -> Path:
    """``<mrrml cache dir>/features`` (``$MRRML_CACHE_DIR``, else the user cache)."""
    return cache_dir() / "features"


def backbone_fingerprint(backbone: nn.Module) -> str:
    """sha256 of the backbone as loaded: class, config, attention implementation, every state-dict tensor.

    Hashing the weights themselves (about 1 s per GB) rather than the checkpoint files' names or dates
    catches every change that alters a feature — a retrained checkpoint at the same path, another seed
    of a builtin, another dtype — and only those."""
    config = getattr(backbone, "config", None)
    settings = config.to_dict() if config is not None else {}
    # Private keys (the source path, cached internals) and the library version do not change the function.
    settings = {k: v for k, v in settings.items() if not k.startswith("_") and k != "transformers_version"}
    # Nor does ``architectures``, which save_pretrained writes (the class is hashed below): a checkpoint
    # built without it (the GGUF-converted SmolLM2) would get another fingerprint once saved and reloaded.
    # Set to None rather than dropped, so that such checkpoints keep the fingerprint they always had.
    settings["architectures"] = None
    header = {
        "format": FEATURE_FORMAT,
        "class": f"{type(backbone).__module__}.{type(backbone).__qualname__}",
        "attention": attention_implementation(backbone),
        "config": settings,
    }
    digest = hashlib.sha256(json.dumps(header, sort_keys=True, default=str).encode())
    for name, tensor in sorted(backbone.state_dict().items()):
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}\n".encode())
        digest.update(tensor_bytes(tensor))
    return digest.hexdigest()


def compute_precision(device: torch.device) -> str:
    """The dtype the backbone computes in on ``device`` beyond its own weights: the autocast dtype, if on."""
    if torch.is_autocast_enabled(device.type):
        return str(torch.get_autocast_dtype(device.type))
    return "weights"


def row_keys(batch: dict[str, Tensor], anchor: bool, precision: str) -> list[bytes]:
    """One content key per row of a padded batch (either padding side; see the module docstring)."""
    ids = batch["input_ids"].detach().cpu().numpy()
    mask = batch["attention_mask"].detach().cpu().numpy() != 0
    prompt = batch["prompt_index"].detach().cpu().numpy()
    answer = batch["answer_index"].detach().cpu().numpy()
    header = f"{FEATURE_FORMAT}:{int(anchor)}:{precision}:".encode()
    keys = []
    for row in range(ids.shape[0]):
        start = int(mask[row].argmax())
        end = start + int(mask[row].sum())
        digest = hashlib.blake2b(header, digest_size=FeatureStore.KEY_BYTES)
        digest.update(struct.pack("<qq", int(prompt[row]) - start, int(answer[row]) - start))
        digest.update(ids[row, start:end].astype("<i8").tobytes())
        keys.append(digest.digest())
    return keys


class FeatureExtractor:
    """The reward model's backbone under projection-free heads: its ``embed`` returns the features ``d``.

    ``RewardHeads.project`` without a projection is the identity (in fp32), so handing this object to
    :func:`~mrrml.model.packed_forward.embed_batch` computes ``d`` on exactly the code path (padding,
    packing, pooling) that training takes for ``z``. It carries what that path reads — backbone,
    tokenizer, anchor flag, heads and ``RewardModel.embed`` itself — shares the backbone, and holds no
    trained weights (a second ``RewardModel`` would rebuild its encoder for nothing)."""

    embed = RewardModel.embed

    def __init__(self, reward_model: RewardModel):
        self.backbone = reward_model.backbone
        self.tokenizer = reward_model.tokenizer
        self.anchor = reward_model.anchor
        self.heads = RewardHeads(reward_model.heads.num_dimensions, reward_model.heads.hidden_size)


class CachedFeatures:
    """The features ``d`` of a frozen reward model's batches: from the store, or computed on a miss.

    ``hits`` and ``misses`` count rows (the backbone runs only on misses, without gradients).
    """

    def __init__(self, reward_model: RewardModel, root: str | Path | None = None, packing: Packing = "auto"):
        self.model = reward_model
        self.packing = packing
        self.extractor = FeatureExtractor(reward_model)
        backbone = reward_model.backbone
        width = hidden_size(backbone)
        description = {
            "backbone": reward_model.backbone_config.to_dict(),
            "class": type(backbone).__name__,
            "hidden_size": width,
            "dtypes": sorted({str(p.dtype) for p in backbone.parameters()}),
        }
        root = Path(root) if root is not None else default_feature_dir()
        self.store = FeatureStore(root, backbone_fingerprint(backbone), width, description)
        self.hits = 0
        self.misses = 0

    def features(self, batch: dict[str, Any]) -> Tensor:
        """``d`` [rows, H] (fp32, on the batch's device) for a padded batch (``collate`` layout)."""
        device = batch["input_ids"].device
        keys = row_keys(batch, self.model.anchor, compute_precision(device))
        missing = [row for row, key in enumerate(keys) if self.store.get(key) is None]
        if missing:
            self.store.put([keys[row] for row in missing], self._compute(batch, missing))
            if time.monotonic() - self.store.last_flush > FLUSH_SECONDS:
                self.store.flush()
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        return torch.stack([self.store.get(key) for key in keys]).to(device)

    def summary(self) -> str:
        """One line for the log: where the rows came from and where they are kept."""
        rejected = f"; {len(self.store.rejected)} damaged file(s) passed over" if self.store.rejected else ""
        return (
            f"mrrml feature cache: {self.hits} rows read from the cache, {self.misses} computed by the backbone; "
            f"{len(self.store)} rows kept in {self.store.directory}{rejected}"
        )

    def _compute(self, batch: dict[str, Any], rows: list[int]) -> Tensor:
        index = torch.tensor(rows, device=batch["input_ids"].device)
        names = ("input_ids", "attention_mask", "prompt_index", "answer_index", "position_ids")
        sub = {name: batch[name].index_select(0, index) for name in names if name in batch}
        with torch.no_grad():
            return embed_batch(self.extractor, sub, packing=self.packing)


class FeatureCacheScorer:
    """``RewardModel.score`` for a frozen-backbone model, its backbone features read from the cache.

    The model's own projection, heads, normalisation and matrix weights turn the cached ``d`` into
    scores, so two models trained on one backbone (other seeds, heads or GPRC weights) share every
    feature: the first to score an answer runs the backbone, the others read the row. Keys are those
    of training (:func:`row_keys` over the model's encoder, :func:`backbone_fingerprint` of the
    loaded weights), so answers a run trained or validated on are hits as well. It offers what
    :func:`mrrml.eval.quality.evaluate` reads (``score``, ``weight_vector``, ``dimensions``,
    ``matrix``)::

        scorer = FeatureCacheScorer(mrrml.load(model_dir), feature_dir)
        report = evaluate(scorer, held_out_prompts, held_out_conditions, train=train_file)

    The fingerprint is taken once, so the backbone must not change while the scorer holds it: a model
    whose backbone has trainable weights is refused (score it with ``model.score``).
    """

    def __init__(self, model: RewardModel, root: str | Path | None = None, packing: Packing = "auto"):
        trainable = [name for name, p in model.backbone.named_parameters() if p.requires_grad]
        if trainable:
            raise ConfigError(
                f"FeatureCacheScorer: the model's backbone is not frozen ({len(trainable)} trainable weight "
                f"tensors, e.g. {trainable[0]}); its features would change as it trains and a cache would "
                "serve stale scores. Score it with model.score(...), or freeze it first "
                "(model.requires_grad_(False); mrrml.load returns a frozen model)"
            )
        self.model = model
        self.cache = CachedFeatures(model, root, packing)

    @property
    def matrix(self) -> StandardsMatrix:
        return self.model.matrix

    @property
    def dimensions(self) -> list[str]:
        return self.model.dimensions

    def weight_vector(self, scenario: str | None = None, discipline: str | None = None) -> Tensor:
        return self.model.weight_vector(scenario, discipline)

    # RewardModel.score's checks, encoding and shaping, over this object's encoder, raw_scores and
    # normalize: only how raw scores are computed differs.
    score = RewardModel.score

    @property
    def encoder(self) -> ConversationEncoder:
        return self.model.encoder

    def normalize(self, raw: Tensor) -> Tensor:
        return self.model.normalize(raw)

    def raw_scores(
        self,
        examples: Sequence[EncodedExample],
        batch_size: int = 16,
        packing: bool = True,
        prune_last_layer: bool = True,
    ) -> Tensor:
        """Raw head outputs [N, D] as ``RewardModel.raw_scores`` gives them, the backbone features read
        from the cache. ``packing`` and ``prune_last_layer`` are accepted for that signature and change
        nothing: a miss is computed on training's path (rows of one prompt share it where that pays, as
        the cache was opened with), whose features give the same scores. New rows are on disk when this
        returns."""
        if batch_size < 1:
            raise ConfigError(f"score: batch_size must be >= 1, got {batch_size}")
        model = self.model
        order = sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids), reverse=True)
        raw = torch.zeros(len(examples), model.heads.num_dimensions)
        self.cache.store.refresh()  # rows other processes wrote since the store was opened
        was_training = model.training
        model.eval()
        try:
            # no_grad, not inference_mode: the rows go to the store, and a training run may read them later.
            with torch.no_grad():
                for start in range(0, len(order), batch_size):
                    rows = order[start : start + batch_size]
                    batch = pad_batch([examples[i] for i in rows], model.tokenizer.pad_token_id, "right")
                    batch = {k: v.to(model.device) for k, v in batch.items()}
                    raw[rows] = model.heads(model.heads.project(self.cache.features(batch))).float().cpu()
        finally:
            model.train(was_training)
            self.cache.store.flush()
        return raw
