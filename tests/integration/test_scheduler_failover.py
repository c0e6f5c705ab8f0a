"""The cron leader changing hands (SQLite and PostgreSQL, a clock the test moves): a leader that
dies holding the lease leaves its ticks to the next leader, which fires each of them once; a
leader that stops hands over without a gap; a long gap with no scheduler is caught up only
``scheduler_catchup_s`` back."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.core.platform.job_model import JobFilter, JobStatus
from mas.core.platform.paging import PageRequest
from mas.jobs.scheduler import LEASE, Scheduler
from tests.conftest import Database, make_settings, open_container

START = datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)
EVERY_SECOND = {"platform.noop": "* * * * * *"}


@pytest.fixture
async def world(database: Database, tmp_path: Path) -> AsyncIterator[tuple[Any, FakeClock]]:
    clock = FakeClock(START)
    settings = make_settings(
        database.url, tmp_path, scheduler_lease_s=5.0, scheduler_catchup_s=30.0
    )
    c = await open_container(settings, clock=clock, database=database.joined)
    yield c, clock
    await c.close()


async def fired_ticks(c: Any) -> list[datetime]:
    """The tick of every cron run offered, in order (a tick offered twice appears twice)."""
    page = await c.jobs.page(JobFilter(task="platform.noop"), PageRequest(1, 100))
    return sorted(
        datetime.fromisoformat(run.idempotency_key.removeprefix("cron:platform.noop:"))
        for run in page.items
    )


def seconds(first: int, last: int) -> list[datetime]:
    return [START + timedelta(seconds=n) for n in range(first, last + 1)]


async def step(clock: FakeClock, *schedulers: Scheduler, times: int = 1) -> None:
    for _ in range(times):
        clock.advance(seconds=1)
        for scheduler in schedulers:
            await scheduler.tick()


async def test_the_ticks_of_a_leader_that_died_are_fired_by_the_next_once(
    world: tuple[Any, FakeClock],
) -> None:
    c, clock = world
    leader, follower = Scheduler(c, EVERY_SECOND), Scheduler(c, EVERY_SECOND)
    await step(clock, leader, follower, times=3)
    assert leader.is_leader and not follower.is_leader
    # The leader is killed: no release. Its lease (5 s) lapses while the follower keeps asking.
    await step(clock, follower, times=9)
    assert follower.is_leader

    ticks = await fired_ticks(c)
    assert ticks == seconds(1, 12), "every second once, the dead leader's lease included"
    page = await c.jobs.page(JobFilter(task="platform.noop"), PageRequest(1, 100))
    assert Counter(run.status for run in page.items) == {JobStatus.SUCCEEDED: 12}


async def test_a_leader_that_stops_hands_over_without_a_gap(
    world: tuple[Any, FakeClock],
) -> None:
    c, clock = world
    leader, follower = Scheduler(c, EVERY_SECOND), Scheduler(c, EVERY_SECOND)
    clock.advance(seconds=0.9)
    await leader.tick()
    await follower.tick()
    clock.advance(seconds=1.0)
    await leader.tick()  # 10:00:01.9, fires tick 1
    clock.advance(seconds=0.3)
    await follower.tick()  # 10:00:02.2: tick 2 is due, the leader has not fired it yet
    async with c.uow() as uow:
        await uow.leases.release(LEASE, leader.holder)  # what run() does when it stops
        await uow.commit()
    clock.advance(seconds=0.5)
    await follower.tick()
    assert follower.is_leader
    await step(clock, follower, times=2)
    assert await fired_ticks(c) == seconds(1, 4), "tick 2 fired by the follower"


async def test_a_long_gap_without_a_scheduler_is_caught_up_only_so_far(
    world: tuple[Any, FakeClock],
) -> None:
    c, clock = world
    await step(clock, Scheduler(c, EVERY_SECOND), times=2)
    clock.advance(seconds=600)  # every scheduler was down for ten minutes
    late = Scheduler(c, EVERY_SECOND)
    await late.tick()
    ticks = await fired_ticks(c)
    assert ticks[:2] == seconds(1, 2)
    assert ticks[2:] == seconds(602 - 30 + 1, 602), "the last scheduler_catchup_s seconds"
