"""Dynamic micro-batching: many concurrent callers, one model call per batch.

A reward model is far cheaper per row in a batch of 32 than in 32 calls of one row, and an RL
trainer's rollout workers send many small requests at once. The batcher owns one worker thread,
the only thread that ever calls the model (so the model needs no locking): once a job is waiting,
it keeps collecting jobs until the batch holds ``max_batch`` rows or ``max_wait_ms`` has passed,
calls the batch function once on all rows, and hands each caller its own slice through a
:class:`concurrent.futures.Future` (:meth:`MicroBatcher.submit`, for threads) or an
:class:`asyncio.Future` (:meth:`MicroBatcher.submit_async`, for an event loop).

The worker and its callers share one interpreter lock, and every wake-up of a thread that is
waiting for it costs a hand-over (up to the switch interval, 5 ms, when the other thread is busy).
So the worker is woken once per batch, not once per job (submitters notify it only for a job that
starts a batch or fills one), and an event loop is woken once per batch with every result of that
batch, not once per job (each wake-up of a loop from another thread is a write to its self-pipe).

Closing is graceful: :meth:`MicroBatcher.close` refuses new jobs but finishes every job already
accepted, so a server shutting down never drops a request it has taken. A job whose future is
cancelled before the model starts on it (its request timed out) is dropped unscored.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
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


def _settle(handed: list[tuple[asyncio.Future, Future]]) -> None:
    """On the event loop: give each waiter the outcome of its finished job (unless it gave up waiting)."""
    for waiter, done in handed:
        if waiter.done():
            continue
        if done.cancelled():
            waiter.cancel()
        elif (error := done.exception()) is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(done.result())


class MicroBatcher(Generic[Item, Result]):
    """Collects jobs from many callers into batches for one ``batch_fn`` call each.

    When a shared call fails, each job of that batch is retried alone, so a request that breaks
    the model fails by itself instead of failing every request that happened to share its batch.

    ``batch_fn(items) -> results`` must return exactly one result per item, in order. A job larger
    than ``max_batch`` is run alone (it is never split or refused here; the server bounds job size
    through its request limits).
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
        self._wake = threading.Condition()  # guards the queue, its row count and the closed flag
        self._queue: deque[_Job] = deque()
        self._queued_rows = 0
        self._closed = False
        self._handed_lock = threading.Lock()
        self._handed: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Future]]] = {}
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
        with self._wake:
            if self._closed:
                raise BatcherClosed("the reward server is shutting down; no new requests are accepted")
            self._queue.append(job)
            self._queued_rows += len(job.items)
            if len(self._queue) == 1 or self._queued_rows >= self.max_batch:
                self._wake.notify()
        return job.future

    def submit_async(self, items: Sequence[Item]) -> asyncio.Future[list[Result]]:
        """:meth:`submit` for a caller on a running event loop: the returned future resolves on that loop.
        Cancelling it (a timeout) withdraws the job unless the model has already started on it."""
        loop = asyncio.get_running_loop()
        future = self.submit(items)
        waiter: asyncio.Future[list[Result]] = loop.create_future()

        def withdraw(waited: asyncio.Future) -> None:
            if waited.cancelled():
                future.cancel()

        def hand_over(done: Future) -> None:
            with self._handed_lock:
                self._handed.setdefault(loop, []).append((waiter, done))
            if threading.current_thread() is not self._thread:  # not inside a batch (cancelled, empty)
                self._flush()

        waiter.add_done_callback(withdraw)
        future.add_done_callback(hand_over)
        return waiter

    def _flush(self) -> None:
        """Wake each waiting event loop once, with every result handed over since the last flush."""
        with self._handed_lock:
            handed, self._handed = self._handed, {}
        for loop, results in handed.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits there any more
                loop.call_soon_threadsafe(_settle, results)

    def close(self, timeout: float | None = None) -> bool:
        """Refuse new jobs, finish every accepted job, stop the worker. True when it stopped in time."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _next_batch(self) -> list[_Job] | None:
        """Wait for a batch (``None`` once closed and drained). Jobs whose future was cancelled are
        dropped; the others' futures are marked running (no longer cancellable)."""
        with self._wake:
            while not self._queue:
                if self._closed:
                    return None
                self._wake.wait()
            deadline = time.monotonic() + self.max_wait_s
            while self._queued_rows < self.max_batch and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.wait(remaining)
            batch: list[_Job] = []
            rows = 0
            while self._queue and (not batch or rows + len(self._queue[0].items) <= self.max_batch):
                job = self._queue.popleft()
                self._queued_rows -= len(job.items)
                if job.future.set_running_or_notify_cancel():
                    batch.append(job)
                    rows += len(job.items)
            return batch

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            if batch:
                self._execute(batch)
                self._flush()

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
