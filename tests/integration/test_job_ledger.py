"""The job ledger on SQLite and PostgreSQL, with tasks run inline by the in-memory broker."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.core.platform.errors import ExternalUnavailable, NotFound
from mas.core.platform.job_model import JobFilter, JobStatus
from mas.core.platform.paging import PageRequest
from mas.core.platform.tasking import Handler
from tests.support import eventually
from tests.taskprobe import probe, probe_module

CALLS: dict[str, list[str]] = {}


class Tagged(msgspec.Struct, frozen=True):
    tag: str


@probe("test.record", Tagged, attempts=2, backoff_s=0.01, timeout_s=5)
async def record(_: Any, message: Tagged) -> None:
    """Append the tag to CALLS (the side effect we count)."""
    CALLS.setdefault(message.tag, []).append("ran")


@probe("test.always_fails", Tagged, attempts=3, backoff_s=0.05, max_backoff_s=10, timeout_s=5)
async def always_fails(_: Any, message: Tagged) -> None:
    """Fails every time."""
    CALLS.setdefault(message.tag, []).append("attempt")
    raise RuntimeError(f"boom {message.tag}")


@probe("test.slow", attempts=1, timeout_s=0.05)
async def slow(_: Any, __: Any) -> None:
    """Outlives its timeout."""
    await asyncio.sleep(5)


async def refused_dead(_: Any, message: Tagged) -> None:
    CALLS.setdefault(message.tag, []).append("on_dead")


@probe("test.refused", Tagged, attempts=3, backoff_s=0.01, timeout_s=5)
async def refused(_: Any, message: Tagged) -> None:
    """A verdict, not a hiccup: a domain error that no retry can change."""
    CALLS.setdefault(message.tag, []).append("attempt")
    raise NotFound(f"no such thing as {message.tag}")


@probe("test.transient", Tagged, attempts=2, backoff_s=0.01, timeout_s=5)
async def transient(_: Any, message: Tagged) -> None:
    """An outside system that is down: retried."""
    CALLS.setdefault(message.tag, []).append("attempt")
    raise ExternalUnavailable("the vendor is down")


TASKS_MODULE = probe_module(
    "test_job_ledger",
    record,
    always_fails,
    slow,
    Handler(refused.task, refused.run, on_dead=refused_dead),
    transient,
)


def stop_the_ledger_clock(container: Any) -> FakeClock:
    """The ledger's clock, stopped where it is: a test moves it instead of sleeping."""
    clock = FakeClock(container.clock.now())
    container.jobs._clock = clock
    return clock


async def test_a_task_runs_and_succeeds(container: Any) -> None:
    tag = uuid.uuid4().hex
    run = await container.jobs.enqueue("test.record", {"tag": tag})
    done = await container.jobs.get(run.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.attempts == 1
    assert CALLS[tag] == ["ran"]


async def test_the_same_key_twice_runs_once(container: Any) -> None:
    tag = uuid.uuid4().hex
    first = await container.jobs.enqueue("test.record", {"tag": tag}, key=f"k-{tag}")
    second = await container.jobs.enqueue("test.record", {"tag": tag}, key=f"k-{tag}")
    assert CALLS[tag] == ["ran"]
    assert second.status is JobStatus.SKIPPED
    assert second.duplicate_of == first.id
    page = await container.jobs.page(JobFilter(task="test.record"), PageRequest(1, 10))
    statuses = sorted(r.status.value for r in page.items if r.args.get("tag") == tag)
    assert statuses == ["skipped", "succeeded"]


async def test_failing_task_backs_off_then_dies_and_can_be_retried(container: Any) -> None:
    tag = uuid.uuid4().hex
    clock = stop_the_ledger_clock(container)
    run = await container.jobs.enqueue("test.always_fails", {"tag": tag})
    delays = []
    for _ in range(40):
        current = await container.jobs.get(run.id)
        if current.status is JobStatus.DEAD:
            break
        if current.status is JobStatus.FAILED and current.next_attempt_at:
            gap = (current.next_attempt_at - current.finished_at).total_seconds()
            if not delays or gap != delays[-1]:
                delays.append(gap)
            clock.set(current.next_attempt_at)  # the retry is due
        await container.jobs.release_due()
    dead = await container.jobs.get(run.id)
    assert dead.status is JobStatus.DEAD
    assert dead.attempts == 3
    assert CALLS[tag] == ["attempt"] * 3
    assert "boom" in (dead.last_error or "")
    assert len(delays) == 2 and delays[1] > delays[0], delays

    again = await container.jobs.retry(run.id)
    assert again.status is JobStatus.QUEUED
    await eventually(lambda: len(CALLS[tag]) == 4, what="the retried run")
    assert len(CALLS[tag]) == 4


async def test_a_domain_verdict_ends_the_run_at_once_and_calls_on_dead(container: Any) -> None:
    tag = uuid.uuid4().hex
    run = await container.jobs.enqueue("test.refused", {"tag": tag})
    dead = await container.jobs.get(run.id)
    assert dead.status is JobStatus.DEAD
    assert dead.attempts == 1
    assert "NotFound" in (dead.last_error or "")
    assert CALLS[tag] == ["attempt", "on_dead"]


async def test_a_transient_error_is_retried(container: Any) -> None:
    tag = uuid.uuid4().hex
    run = await container.jobs.enqueue("test.transient", {"tag": tag})
    failed = await container.jobs.get(run.id)
    assert failed.status is JobStatus.FAILED, "waits for its next attempt"
    assert failed.attempts == 1


async def test_arguments_that_do_not_fit_the_message_end_the_run(container: Any) -> None:
    run = await container.jobs.enqueue("test.record", {"tag": 42, "extra": "x"})
    dead = await container.jobs.get(run.id)
    assert dead.status is JobStatus.DEAD
    assert "bad arguments" in (dead.last_error or "")


async def test_a_timeout_counts_as_a_failed_attempt(container: Any) -> None:
    run = await container.jobs.enqueue("test.slow")
    done = await container.jobs.get(run.id)
    assert done.status is JobStatus.DEAD
    assert "timed out" in (done.last_error or "")


async def test_delayed_work_waits_for_its_time(container: Any) -> None:
    tag = uuid.uuid4().hex
    clock = stop_the_ledger_clock(container)
    run = await container.jobs.enqueue("test.record", {"tag": tag}, delay=timedelta(seconds=0.3))
    assert await container.jobs.release_due() == 0
    assert (await container.jobs.get(run.id)).status is JobStatus.QUEUED
    clock.advance(seconds=0.35)
    assert await container.jobs.release_due() == 1
    assert (await container.jobs.get(run.id)).status is JobStatus.SUCCEEDED
    assert await container.jobs.release_due() == 0


@pytest.mark.committing  # concurrent transactions
async def test_due_rows_are_claimed_once_by_concurrent_releasers(container: Any) -> None:
    now = container.clock.now()
    async with container.uow() as uow:
        for _ in range(30):
            await uow.jobs.schedule(uuid.uuid4(), "test.record", now - timedelta(seconds=1))
        await uow.commit()

    async def claim() -> list[Any]:
        async with container.uow() as uow:
            rows = await uow.jobs.claim_due(container.clock.now(), 20)
            await asyncio.sleep(0.05)  # hold the transaction while the other one claims
            await uow.commit()
            return rows

    first, second = await asyncio.gather(claim(), claim())
    ids = [r[1] for r in first + second]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    async with container.uow() as uow:
        assert await uow.jobs.claim_due(container.clock.now(), 50) == [], "claims are held"
    later = container.clock.now() + timedelta(seconds=61)
    async with container.uow() as uow:
        reclaimed = await uow.jobs.claim_due(later, 50)
        await uow.commit()
    assert len(reclaimed) == 30, "a releaser that died leaves its claims to lapse"


async def test_a_lease_has_one_holder_until_it_lapses(container: Any) -> None:
    now = container.clock.now()
    async with container.uow() as uow:
        assert await uow.leases.acquire("scheduler", "a", now, 10)
        assert not await uow.leases.acquire("scheduler", "b", now, 10)
        assert await uow.leases.acquire("scheduler", "a", now, 10), "the holder renews"
        await uow.commit()
    later = now + timedelta(seconds=11)
    async with container.uow() as uow:
        assert await uow.leases.acquire("scheduler", "b", later, 10)
        assert not await uow.leases.acquire("scheduler", "a", later, 10)
        await uow.commit()


async def test_a_run_whose_delivery_was_lost_is_sent_again(container: Any) -> None:
    tag = uuid.uuid4().hex
    sent: list[Any] = []

    class LostQueue:
        async def send(self, task: str, run_id: Any) -> None:
            sent.append(run_id)  # the broker "accepted" it, but nobody will ever run it

    real_queue = container.jobs._queue
    container.jobs._queue = LostQueue()
    run = await container.jobs.enqueue("test.record", {"tag": tag})
    delayed = await container.jobs.enqueue("test.record", {"tag": tag}, delay=timedelta(hours=1))
    container.jobs._queue = real_queue
    assert await container.jobs.reap_stuck() == 0, "not stale yet"
    later = container.clock.now() + timedelta(minutes=11)
    container.jobs._clock = type("Later", (), {"now": staticmethod(lambda: later)})()
    assert await container.jobs.reap_stuck() == 1, "the delayed run is waiting, not lost"
    assert (await container.jobs.get(run.id)).status is JobStatus.SUCCEEDED
    assert (await container.jobs.get(delayed.id)).status is JobStatus.QUEUED
    assert CALLS[tag] == ["ran"]
