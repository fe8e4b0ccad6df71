"""Dynamic micro-batching: many concurrent callers, one model call per batch.

A reward model is far cheaper per row in a batch of 32 than in 32 calls of one row, and an RL
trainer's rollout workers send many small requests at once. The batcher owns one worker thread,
the only thread that ever calls the model (so the model needs no locking): it takes the first
waiting job, keeps collecting jobs until the batch holds ``max_batch`` rows or ``max_wait_ms``
has passed since that first job, calls the batch function once on all rows, and hands each caller
its own slice through a :class:`concurrent.futures.Future`.

Closing is graceful: :meth:`MicroBatcher.close` refuses new jobs but finishes every job already
accepted, so a server shutting down never drops a request it has taken. A job whose future is
cancelled before the model starts on it (its request timed out) is dropped from its batch unscored.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..errors import MrrmlError

Item = TypeVar("Item")
Result = TypeVar("Result")


class BatcherClosed(MrrmlError):
    """A job was submitted after :meth:`MicroBatcher.close` began; the server answers 503."""


@dataclass
class BatcherStats:
    """Counters read by ``/health`` and by tests that check batching really happens."""

    jobs: int = 0
    rows: int = 0
    calls: int = 0
    failed_calls: int = 0
    largest_call: int = 0


@dataclass
class _Job(Generic[Item, Result]):
    items: list[Item]
    future: Future = field(default_factory=Future)


_STOP = object()


class MicroBatcher(Generic[Item, Result]):
    """Collects jobs from many threads into batches for one ``batch_fn`` call each.

    When a shared call fails, each job of that batch is retried alone, so a request that breaks
    the model fails by itself instead of failing every request that happened to share its batch.

    ``batch_fn(items) -> results`` must return exactly one result per item, in order. A job larger
    than ``max_batch`` is run alone (it is never split or refused here; the server bounds job size
    through its request-size limit).
    """

    def __init__(
        self,
        batch_fn: Callable[[list[Item]], Sequence[Result]],
        *,
        max_batch: int = 32,
        max_wait_ms: float = 5.0,
        name: str = "mrrml-batcher",
    ):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        self._batch_fn = batch_fn
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self.stats = BatcherStats()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def submit(self, items: Sequence[Item]) -> Future[list[Result]]:
        """Queue ``items`` as one job; the future resolves to their results (or the batch's error)."""
        job: _Job = _Job(list(items))
        if not job.items:
            job.future.set_result([])
            return job.future
        with self._lock:  # the same lock as close(): no job can slip in behind the stop marker
            if self._closed:
                raise BatcherClosed("the reward server is shutting down; no new requests are accepted")
            self._queue.put(job)
        return job.future

    def close(self, timeout: float | None = None) -> bool:
        """Refuse new jobs, finish every accepted job, stop the worker. True when it stopped in time."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        """The batch that starts with ``first``, and whether the stop marker was reached. Jobs whose
        future was cancelled are left out; the others' futures are marked running (no longer cancellable)."""
        batch = [first] if first.future.set_running_or_notify_cancel() else []
        rows = sum(len(job.items) for job in batch)
        deadline = time.monotonic() + self.max_wait_s
        while rows < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                return batch, True
            if job.future.set_running_or_notify_cancel():
                batch.append(job)
                rows += len(job.items)
        return batch, False

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stop = self._collect(first)
            if batch:
                self._execute(batch)
            if stop:
                return

    def _call(self, items: list[Item]) -> list[Result]:
        self.stats.calls += 1
        self.stats.largest_call = max(self.stats.largest_call, len(items))
        results = list(self._batch_fn(items))
        if len(results) != len(items):
            raise RuntimeError(f"batch function returned {len(results)} results for {len(items)} items")
        return results

    def _execute(self, batch: list[_Job]) -> None:
        items = [item for job in batch for item in job.items]
        self.stats.jobs += len(batch)
        self.stats.rows += len(items)
        try:
            results = self._call(items)
        except Exception as error:  # every waiting caller must learn of the failure
            self.stats.failed_calls += 1
            if len(batch) == 1:
                batch[0].future.set_exception(error)
                return
            # Rows of many clients share a call: retry job by job so one bad job fails alone.
            for job in batch:
                self._execute_alone(job)
            return
        start = 0
        for job in batch:
            job.future.set_result(results[start : start + len(job.items)])
            start += len(job.items)

    def _execute_alone(self, job: _Job) -> None:
        try:
            job.future.set_result(self._call(job.items))
        except Exception as error:
            self.stats.failed_calls += 1
            job.future.set_exception(error)
