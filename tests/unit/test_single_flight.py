"""Concurrent cache misses share one load (``SingleFlight``), in the guard's two caches too."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from mas.adapters.cache.memory import MemoryCache
from mas.core.crm.assignment_model import SalesHeadProfile
from mas.core.crm.page_switches import PageSwitches
from mas.core.identity.access import AccessGuard
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7
from mas.core.platform.single_flight import SingleFlight

CALLERS = 32
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Gate:
    """A load that counts its runs and waits until the test opens it (so every caller has
    missed before the first load ends)."""

    def __init__(self, value: Any = "loaded", error: Exception | None = None) -> None:
        self.value, self.error = value, error
        self.runs = 0
        self.open = asyncio.Event()

    async def load(self) -> Any:
        self.runs += 1
        await self.open.wait()
        if self.error is not None:
            raise self.error
        return self.value


async def started(*calls: Any) -> list[asyncio.Task[Any]]:
    tasks = [asyncio.ensure_future(call) for call in calls]
    for _ in range(5):  # let each reach its await
        await asyncio.sleep(0)
    return tasks


async def test_concurrent_misses_share_one_load() -> None:
    flight: SingleFlight[str, Any] = SingleFlight()
    gate = Gate()
    tasks = await started(*(flight.run("k", gate.load) for _ in range(CALLERS)))
    assert gate.runs == 1 and flight.running() == 1
    gate.open.set()
    assert await asyncio.gather(*tasks) == ["loaded"] * CALLERS
    assert flight.running() == 0
    assert await flight.run("k", gate.load) == "loaded" and gate.runs == 2, "not a cache"


async def test_other_keys_load_on_their_own() -> None:
    flight: SingleFlight[str, Any] = SingleFlight()
    gate = Gate()
    tasks = await started(flight.run("a", gate.load), flight.run("b", gate.load))
    assert gate.runs == 2
    gate.open.set()
    await asyncio.gather(*tasks)


async def test_an_error_in_the_load_reaches_every_waiter() -> None:
    flight: SingleFlight[str, Any] = SingleFlight()
    broken = ConnectionError("database gone")
    gate = Gate(error=broken)
    tasks = await started(*(flight.run("k", gate.load) for _ in range(CALLERS)))
    gate.open.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes == [broken] * CALLERS and gate.runs == 1
    assert flight.running() == 0, "the next miss tries again"


async def test_a_cancelled_caller_leaves_the_load_to_the_others() -> None:
    flight: SingleFlight[str, Any] = SingleFlight()
    gate = Gate()
    first, second = await started(flight.run("k", gate.load), flight.run("k", gate.load))
    first.cancel()
    await asyncio.sleep(0)
    gate.open.set()
    assert await second == "loaded"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_after_forget_a_new_caller_loads_afresh() -> None:
    flight: SingleFlight[str, Any] = SingleFlight()
    old, new = Gate("before the change"), Gate("after the change")
    (waiter,) = await started(flight.run("k", old.load))
    flight.forget("k")
    (late,) = await started(flight.run("k", new.load))
    old.open.set()
    new.open.set()
    assert await waiter == "before the change" and await late == "after the change"


# --- the guard's caches ------------------------------------------------------------------------


class Reads:
    """A unit of work whose repository reads wait at the gate and are counted."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.users = self.head_profiles = self

    async def get(self, _id: uuid.UUID) -> Any:
        return await self.gate.load()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Reads]:
        yield self


async def test_the_account_is_read_once_for_concurrent_misses() -> None:
    user = User(id=uuid7(), email="a@example.com", role=Role.USER, created_at=NOW)
    gate = Gate(user)
    guard = AccessGuard(codec=None, cache=MemoryCache(), uow=Reads(gate), access_ttl_s=900)  # type: ignore[arg-type]
    tasks = await started(*(guard.user(user.id) for _ in range(CALLERS)))
    gate.open.set()
    found = await asyncio.gather(*tasks)
    assert gate.runs == 1
    assert all(u == user for u in found)
    assert len({id(u) for u in found}) == CALLERS, "each caller has its own copy"


async def test_an_account_read_error_reaches_every_request() -> None:
    gate = Gate(error=ConnectionError("database gone"))
    guard = AccessGuard(codec=None, cache=MemoryCache(), uow=Reads(gate), access_ttl_s=900)  # type: ignore[arg-type]
    tasks = await started(*(guard.user(uuid.UUID(int=7)) for _ in range(CALLERS)))
    gate.open.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(o, ConnectionError) for o in outcomes) and gate.runs == 1


async def test_a_heads_profile_is_read_once_for_concurrent_misses() -> None:
    head = uuid7()
    profile = SalesHeadProfile(
        user_id=head, display_name="North", created_at=NOW, updated_at=NOW, isolation_enabled=False
    )
    gate = Gate(profile)
    switches = PageSwitches(uow=Reads(gate), cache=MemoryCache())  # type: ignore[arg-type]
    tasks = await started(*(switches.isolation_enabled(head) for _ in range(CALLERS)))
    gate.open.set()
    assert await asyncio.gather(*tasks) == [False] * CALLERS
    assert gate.runs == 1
    assert await switches.isolation_enabled(head) is False and gate.runs == 1, "then cached"
