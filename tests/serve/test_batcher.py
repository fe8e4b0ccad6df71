"""The micro-batcher on its own, with a plain Python batch function (no model needed)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from mrrml.serve.batcher import BatcherClosed, MicroBatcher


class Squares:
    """A real batch function that records the size of every call it receives."""

    def __init__(self, fail_on: int | None = None, delay: float = 0.0, gate: threading.Event | None = None):
        self.calls: list[int] = []
        self.fail_on = fail_on
        self.delay = delay
        self.gate = gate  # when given, every call waits for it (holds the worker)

    def __call__(self, items: list[int]) -> list[int]:
        self.calls.append(len(items))
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"cannot square {self.fail_on}")
        return [x * x for x in items]


def test_results_go_back_to_their_callers_in_order():
    fn = Squares()
    batcher = MicroBatcher(fn, max_batch=8, max_wait_ms=50)
    futures = [batcher.submit([i, i + 100]) for i in range(10)]
    assert [f.result(10) for f in futures] == [[i * i, (i + 100) ** 2] for i in range(10)]
    assert batcher.close(10)
    assert sum(fn.calls) == 20 and len(fn.calls) < 10
    assert all(size <= 8 for size in fn.calls)
    assert batcher.submit([]).result(1) == []


def test_a_failing_job_fails_alone():
    fn = Squares(fail_on=13)
    batcher = MicroBatcher(fn, max_batch=64, max_wait_ms=100)
    good, bad, also_good = batcher.submit([1, 2]), batcher.submit([13]), batcher.submit([3])
    assert good.result(10) == [1, 4] and also_good.result(10) == [9]
    with pytest.raises(ValueError, match="13"):
        bad.result(10)
    assert batcher.stats.failed_calls >= 1
    batcher.close(10)


def test_close_drains_accepted_jobs_and_refuses_new_ones():
    fn = Squares(delay=0.05)
    batcher = MicroBatcher(fn, max_batch=1, max_wait_ms=0)
    futures = [batcher.submit([i]) for i in range(5)]
    closer = threading.Thread(target=batcher.close)
    closer.start()
    closer.join(10)
    assert [f.result(0) for f in futures] == [[i * i] for i in range(5)]
    with pytest.raises(BatcherClosed):
        batcher.submit([1])


def test_wrong_result_count_is_an_error():
    batcher = MicroBatcher(lambda items: items[:-1], max_batch=4, max_wait_ms=0)
    with pytest.raises(RuntimeError, match="2 items"):
        batcher.submit([1, 2]).result(10)
    batcher.close(10)


@pytest.mark.parametrize("kwargs", [{"max_batch": 0}, {"max_wait_ms": -1}])
def test_invalid_settings(kwargs):
    with pytest.raises(ValueError):
        MicroBatcher(Squares(), **kwargs)


def test_a_job_cancelled_before_its_batch_is_not_scored():
    gate = threading.Event()
    fn = Squares(gate=gate)
    batcher = MicroBatcher(fn, max_batch=1, max_wait_ms=0)
    first, second = batcher.submit([2]), batcher.submit([3])
    assert second.cancel()  # still queued behind the first (its request timed out)
    gate.set()
    assert first.result(10) == [4]
    assert batcher.close(10)
    assert fn.calls == [1] and second.cancelled()


def test_submit_async_wakes_the_loop_once_per_batch():
    """Every result of a batch reaches the event loop in one hand-over: each wake-up of a loop from
    another thread costs an interpreter-lock hand-over, so one per request would stall both threads."""
    batcher = MicroBatcher(Squares(), max_batch=64, max_wait_ms=100)

    async def main() -> tuple[list[list[int]], int]:
        loop = asyncio.get_running_loop()
        wakeups = 0
        original = loop.call_soon_threadsafe

        def counted(*args, **kwargs):
            nonlocal wakeups
            wakeups += 1
            return original(*args, **kwargs)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        results = await asyncio.gather(*(batcher.submit_async([i]) for i in range(8)))
        return results, wakeups

    results, wakeups = asyncio.run(main())
    assert results == [[i * i] for i in range(8)]
    assert batcher.stats.calls == 1 and wakeups == 1
    batcher.close(10)


def test_submit_async_timeout_withdraws_the_job():
    gate = threading.Event()
    fn = Squares(gate=gate)
    batcher = MicroBatcher(fn, max_batch=1, max_wait_ms=0)

    async def main() -> list[int]:
        running = batcher.submit_async([2])  # holds the worker until the gate opens
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(batcher.submit_async([3]), 0.05)
        gate.set()
        return await running

    assert asyncio.run(main()) == [4]
    assert batcher.close(10)
    assert fn.calls == [1]  # the timed-out job never reached the model
