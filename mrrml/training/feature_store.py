"""The on-disk store of frozen-backbone features: verified, append-only shards that need no lock.

One directory per backbone fingerprint (:mod:`mrrml.training.feature_cache` says what keys a row)::

    <root>/<fingerprint>/backbone.json             what the features came from (for a person; not read)
    <root>/<fingerprint>/<checksum>.safetensors     keys [N, 16] uint8, features [N, H] float32

Every shard carries ``format``, ``fingerprint`` and ``checksum`` (sha256 of the fingerprint and both
tensors' bytes) as safetensors metadata, and the checksum is also its file name. The rules that make
the store safe without a lock:

* a shard is written whole to a temporary sibling, fsynced and renamed into place
  (:func:`mrrml.io.atomic_write_bytes`), so a reader sees a complete shard or none; a killed writer
  leaves a ``.*.tmp`` file that no reader opens (removed once it is an hour old);
* a shard is never modified after the rename; two processes (DDP ranks) write different names, or the
  same bytes under the same name;
* a reader recomputes the checksum and checks format, fingerprint and shapes before it trusts a row:
  a damaged, truncated or foreign file is passed over with a warning, and its rows count as misses.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..io import atomic_write_bytes, atomic_write_json

log = logging.getLogger(__name__)

STORE_FORMAT = 1
STALE_TEMPORARY_SECONDS = 3600.0  # a temporary file this old belongs to a killed writer, not a live one
DESCRIPTION_FILE = "backbone.json"


def tensor_bytes(tensor: Tensor) -> memoryview:
    """The raw bytes of a tensor (any dtype, any device), for hashing."""
    flat = tensor.detach().reshape(-1).contiguous().cpu()
    return memoryview(flat.view(torch.uint8).numpy())


def shard_checksum(fingerprint: str, keys: Tensor, features: Tensor) -> str:
    digest = hashlib.sha256(fingerprint.encode())
    digest.update(tensor_bytes(keys))
    digest.update(tensor_bytes(features))
    return digest.hexdigest()


class FeatureStore:
    """The features of one backbone: verified shards on disk, every trusted row in memory.

    Rows are added with :meth:`put` and written as one new shard by :meth:`flush`; :meth:`refresh` reads
    the shards other processes (DDP ranks, earlier runs) wrote since. ``rejected`` lists the files that
    failed verification.
    """

    KEY_BYTES = 16

    def __init__(self, root: str | Path, fingerprint: str, width: int, description: dict[str, Any] | None = None):
        self.directory = Path(root) / fingerprint
        self.fingerprint = fingerprint
        self.width = width
        self.rejected: list[Path] = []
        self._rows: dict[bytes, Tensor] = {}
        self._pending: dict[bytes, Tensor] = {}
        self._read_names: set[str] = set()
        self.last_flush = time.monotonic()
        self.directory.mkdir(parents=True, exist_ok=True)
        if description is not None and not (self.directory / DESCRIPTION_FILE).exists():
            atomic_write_json(self.directory / DESCRIPTION_FILE, {"fingerprint": fingerprint, **description})
        self.refresh()

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def pending(self) -> int:
        """Rows added since the last flush (not on disk yet)."""
        return len(self._pending)

    def get(self, key: bytes) -> Tensor | None:
        return self._rows.get(key)

    def put(self, keys: Sequence[bytes], features: Tensor) -> None:
        """Remember new rows (kept as fp32 on the CPU); they reach the disk with the next :meth:`flush`."""
        features = features.detach().float().cpu()
        if tuple(features.shape) != (len(keys), self.width):
            raise ValueError(
                f"feature store: expected {len(keys)} rows of width {self.width}, got {tuple(features.shape)}"
            )
        for key, row in zip(keys, features):
            if len(key) != self.KEY_BYTES:
                raise ValueError(f"feature store: keys are {self.KEY_BYTES} bytes, got {len(key)}")
            if key not in self._rows:
                self._rows[key] = row
                self._pending[key] = row

    def flush(self) -> Path | None:
        """Write the rows added since the last flush as one shard; None when there were none."""
        from safetensors.torch import save

        self.last_flush = time.monotonic()
        if not self._pending:
            return None
        keys = torch.frombuffer(bytearray(b"".join(self._pending)), dtype=torch.uint8).reshape(-1, self.KEY_BYTES)
        features = torch.stack(list(self._pending.values())).contiguous()
        checksum = shard_checksum(self.fingerprint, keys, features)
        path = self.directory / f"{checksum}.safetensors"
        metadata = {"format": str(STORE_FORMAT), "fingerprint": self.fingerprint, "checksum": checksum}
        atomic_write_bytes(path, save({"keys": keys, "features": features}, metadata=metadata))
        self._read_names.add(path.name)
        self._pending.clear()
        return path

    def refresh(self) -> int:
        """Read the shards not read yet; returns how many rows were new."""
        before = len(self._rows)
        for path in sorted(self.directory.glob("*.safetensors")):
            if path.name in self._read_names:
                continue
            self._read_names.add(path.name)
            shard = self._read(path)
            if shard is None:
                self.rejected.append(path)
                continue
            keys, features = shard
            for key, row in zip(keys.numpy(), features):
                self._rows.setdefault(key.tobytes(), row)
        self._remove_stale_temporaries()
        return len(self._rows) - before

    def _read(self, path: Path) -> tuple[Tensor, Tensor] | None:
        """A shard's (keys, features) if every check passes, else None (logged; its rows are recomputed)."""
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as shard:
                metadata = shard.metadata() or {}
                keys, features = shard.get_tensor("keys"), shard.get_tensor("features")
        except (SafetensorError, OSError, ValueError, KeyError, RuntimeError) as error:
            log.warning(
                "mrrml feature cache: %s is unreadable (%s); not used, its rows are computed again", path, error
            )
            return None
        problem = None
        if metadata.get("format") != str(STORE_FORMAT) or metadata.get("fingerprint") != self.fingerprint:
            problem = (
                f"format {metadata.get('format')!r} / fingerprint {metadata.get('fingerprint')!r} are not this store's"
            )
        elif keys.dtype != torch.uint8 or keys.dim() != 2 or keys.shape[1] != self.KEY_BYTES:
            problem = f"keys tensor is {keys.dtype} {tuple(keys.shape)}"
        elif features.dtype != torch.float32 or tuple(features.shape) != (keys.shape[0], self.width):
            problem = f"features tensor is {features.dtype} {tuple(features.shape)}, expected width {self.width}"
        else:
            checksum = shard_checksum(self.fingerprint, keys, features)
            if checksum != metadata.get("checksum") or checksum != path.stem:
                problem = "its content does not match its checksum (damaged or altered)"
        if problem:
            log.warning("mrrml feature cache: %s is not trusted: %s; its rows are computed again", path, problem)
            return None
        return keys, features

    def _remove_stale_temporaries(self) -> None:
        cutoff = time.time() - STALE_TEMPORARY_SECONDS
        for temporary in self.directory.glob(".*.tmp"):
            try:
                if temporary.stat().st_mtime < cutoff:
                    temporary.unlink()
            except FileNotFoundError:
                pass  # another process removed it first
