"""Cron firing with a leader lease, and the loop that releases due "run at" work.

Only the process holding the ``scheduler`` lease (a database row, so every process that shares
the database agrees) fires crons. Each firing is enqueued with the key ``cron:<task>:<tick>``,
so even two leaders around a lease hand-over give one run per tick. The leader records how far
it has fired (the lease's watermark); a process taking the lease over fires from there, so the
ticks that fell due while a dead leader's lease ran out are fired late rather than lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from mas import modules
from mas.modules.base import Module
from mas.modules.container import Container

log = logging.getLogger("mas.scheduler")

LEASE = "scheduler"


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def due_ticks(expr: str, after: datetime, until: datetime, zone: str) -> list[datetime]:
    """Cron ticks in (after, until], computed in ``zone`` and returned as aware times."""
    tz = ZoneInfo(zone)
    itr = croniter(expr, after.astimezone(tz))
    ticks = []
    while True:
        tick = itr.get_next(datetime)
        if tick > until.astimezone(tz):
            return ticks
        ticks.append(tick)


class Scheduler:
    def __init__(self, c: Container, crons: dict[str, str]) -> None:
        self._c = c
        self._crons = crons
        self.holder = holder_name()
        self.is_leader = False
        self._last = c.clock.now()

    async def _hold_lease(self, now: datetime) -> bool:
        settings = self._c.settings
        async with self._c.uow() as uow:
            held = await uow.leases.acquire(LEASE, self.holder, now, settings.scheduler_lease_s)
            if held and not self.is_leader:
                # Taking over: resume where the last leader stopped firing, not where this
                # process last looked; the ticks of a dead leader's lease are due now.
                fired_until = await uow.leases.watermark(LEASE)
                if fired_until is not None:
                    oldest = now - timedelta(seconds=settings.scheduler_catchup_s)
                    self._last = min(max(fired_until, oldest), now)
            await uow.commit()
        if held != self.is_leader:
            log.info(
                "scheduler.leadership",
                extra={"holder": self.holder, "leader": held, "resumes_after": str(self._last)},
            )
        self.is_leader = held
        return held

    async def tick(self) -> int:
        """Fire every cron tick since the last firing (when leader); returns how many fired."""
        now = self._c.clock.now()
        if not await self._hold_lease(now):
            self._last = now
            return 0
        fired = 0
        for task, expr in self._crons.items():
            for tick in due_ticks(expr, self._last, now, self._c.settings.timezone):
                key = f"cron:{task}:{tick.isoformat()}"
                await self._c.jobs.enqueue(task, {}, key=key)
                fired += 1
        # Recorded at once, so a leader killed from here on leaves nothing to fire twice.
        async with self._c.uow() as uow:
            await uow.leases.set_watermark(LEASE, self.holder, now)
            await uow.commit()
        self._last = now
        return fired

    async def run(self, stop: asyncio.Event, interval_s: float = 0.5) -> None:
        log.info("scheduler.started", extra={"holder": self.holder, "crons": self._crons})
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:  # noqa: BLE001 - a database blip must not end the scheduler
                    log.exception("scheduler.tick_failed")
                await _sleep_or_stop(stop, interval_s)
        finally:
            async with self._c.uow() as uow:
                await uow.leases.release(LEASE, self.holder)
                await uow.commit()


def effective_crons(
    overrides: dict[str, str], extra: tuple[Module[Any], ...] = ()
) -> dict[str, str]:
    """The domains' crons with ``MAS_CRON_OVERRIDES`` applied (an ``"off"`` entry drops one).

    croniter's optional sixth field is seconds, which the tests use."""
    merged = {**modules.crons(modules.MODULES + extra), **overrides}
    return {name: expr for name, expr in merged.items() if expr.strip().lower() != "off"}


async def release_due_loop(c: Container, stop: asyncio.Event) -> None:
    """Send retries and delayed runs when their time comes, and run every domain's due-time
    releaser (``Module.releasers``) (every worker runs this, and the server on the in-memory
    broker). A releaser that filled its batch is called again at once, so a backlog drains at
    the speed of the releaser rather than one batch per interval."""
    while not stop.is_set():
        try:
            await c.jobs.release_due()
        except Exception:  # noqa: BLE001 - keep releasing after a transient failure
            log.exception("jobs.release_failed")
        for release in c.releasers:
            await _release_domain(release, stop)
        await _sleep_or_stop(stop, c.settings.release_interval_s)


async def _release_domain(release: Callable[[], Awaitable[int]], stop: asyncio.Event) -> None:
    for _ in range(RELEASE_ROUNDS):
        try:
            released = await release()
        except Exception:  # noqa: BLE001 - keep releasing after a transient failure
            log.exception("jobs.domain_release_failed")
            return
        if released < RELEASE_FULL or stop.is_set():
            return


RELEASE_FULL = 500
"""A domain releaser that released this many (its batch) is called again in the same turn."""
RELEASE_ROUNDS = 20


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
