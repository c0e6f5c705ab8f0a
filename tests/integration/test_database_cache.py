"""DatabaseCache on SQLite and PostgreSQL: the ``Cache`` contract, as two processes share it.

Two caches on two engines stand for two processes: each has its own connections, so the
atomic operations are atomic by the database's rules, not by one event loop's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from mas.adapters.cache.database import PURGE_EVERY, DatabaseCache, stored_key
from mas.adapters.db.platform.tables import CACHE_KEY_LENGTH, cache_entries
from mas.adapters.db.session import make_engine
from mas.core.platform.ratelimit import RateLimiter
from tests.conftest import Database

# Each cache commits on connections of its own, as a process would.
pytestmark = pytest.mark.committing


class Now:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def now() -> Now:
    return Now()


@pytest.fixture
async def engines(database: Database) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    first, second = make_engine(database.url), make_engine(database.url)
    yield first, second
    await first.dispose()
    await second.dispose()


@pytest.fixture
def caches(engines: tuple[AsyncEngine, AsyncEngine], now: Now) -> tuple[DatabaseCache, ...]:
    return DatabaseCache(engines[0], now=now), DatabaseCache(engines[1], now=now)


async def rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(cache_entries))).scalar())


async def test_set_get_delete_across_processes(caches: tuple[DatabaseCache, ...]) -> None:
    one, other = caches
    assert await other.get("k") is None
    await one.set("k", b"v1", ttl_s=60)
    assert await other.get("k") == b"v1"
    await other.set("k", b"v2", ttl_s=60)
    assert await one.get("k") == b"v2"
    await one.set("empty", b"", ttl_s=60)
    assert await other.get("empty") == b""
    await other.delete("k")
    assert await one.get("k") is None
    await one.delete("k")  # deleting a missing key is fine


async def test_a_value_expires_after_its_ttl(caches: tuple[DatabaseCache, ...], now: Now) -> None:
    one, other = caches
    await one.set("session", b"x", ttl_s=10)
    now.advance(9.9)
    assert await other.get("session") == b"x"
    now.advance(0.1)
    assert await other.get("session") is None
    await one.set("session", b"y", ttl_s=10)  # an expired row is simply overwritten
    assert await other.get("session") == b"y"


async def test_incr_counts_and_keeps_the_first_ttl(
    caches: tuple[DatabaseCache, ...], now: Now
) -> None:
    one, other = caches
    assert await one.incr("hits", ttl_s=10) == 1
    now.advance(6)
    assert await other.incr("hits", ttl_s=10) == 2
    assert await one.get("hits") == b"2"  # the rate limiter reads counters with get
    now.advance(4)  # ten seconds after the first increment, not after the last
    assert await other.get("hits") is None
    assert await one.incr("hits", ttl_s=10) == 1  # an expired counter starts again


async def test_incr_refuses_a_value_that_is_not_a_counter(
    caches: tuple[DatabaseCache, ...],
) -> None:
    one, other = caches
    await one.set("plain", b"text", ttl_s=60)
    with pytest.raises(ValueError, match="does not hold a counter"):
        await other.incr("plain", ttl_s=60)
    assert await one.get("plain") == b"text"


async def test_add_if_absent_stores_once_and_an_expired_row_counts_as_absent(
    caches: tuple[DatabaseCache, ...], now: Now
) -> None:
    one, other = caches
    assert await one.add_if_absent("lock", b"first", ttl_s=5)
    assert not await other.add_if_absent("lock", b"second", ttl_s=5)
    assert await other.get("lock") == b"first"
    now.advance(5)
    assert await other.add_if_absent("lock", b"second", ttl_s=5)
    assert await one.get("lock") == b"second"
    await one.incr("counter", ttl_s=60)
    assert not await one.add_if_absent("counter", b"x", ttl_s=60)
    assert await one.get("counter") == b"1"


async def test_a_ttl_under_one_second_is_refused(caches: tuple[DatabaseCache, ...]) -> None:
    one, _ = caches
    for write in (
        one.set("k", b"v", ttl_s=0),
        one.incr("k", ttl_s=0),
        one.add_if_absent("k", b"v", ttl_s=-1),
    ):
        with pytest.raises(ValueError, match="at least 1 second"):
            await write


@pytest.mark.parametrize(
    "key",
    ["x" * CACHE_KEY_LENGTH, "x" * (CACHE_KEY_LENGTH + 1), "#x", "nul\x00byte", "ünï:cødé"],
)
async def test_any_key_round_trips_in_a_row_of_its_own(
    caches: tuple[DatabaseCache, ...], key: str
) -> None:
    one, other = caches
    assert len(stored_key(key)) <= CACHE_KEY_LENGTH
    neighbours = ["x" * (CACHE_KEY_LENGTH + 2), stored_key(key), key[:-1]]
    for neighbour in neighbours:
        if neighbour != key:
            await one.set(neighbour, b"neighbour", ttl_s=60)
    await one.set(key, b"mine", ttl_s=60)
    assert await other.get(key) == b"mine"
    for neighbour in neighbours:
        if neighbour != key:
            assert await other.get(neighbour) == b"neighbour"


async def test_concurrent_increments_from_two_processes_all_count(
    caches: tuple[DatabaseCache, ...],
) -> None:
    one, other = caches
    results = await asyncio.gather(
        *(cache.incr("busy", ttl_s=60) for _ in range(20) for cache in (one, other))
    )
    assert sorted(results) == list(range(1, 41))
    assert await one.get("busy") == b"40"


async def test_concurrent_add_if_absent_has_one_winner(
    caches: tuple[DatabaseCache, ...],
) -> None:
    one, other = caches
    results = await asyncio.gather(
        *(
            cache.add_if_absent("claim", f"{index}".encode(), ttl_s=60)
            for index in range(10)
            for cache in (one, other)
        )
    )
    assert results.count(True) == 1
    winner = [index for index, won in enumerate(results) if won][0]
    assert await other.get("claim") == f"{winner // 2}".encode()


async def test_expired_rows_are_purged_by_a_later_write(
    caches: tuple[DatabaseCache, ...], engines: tuple[AsyncEngine, AsyncEngine], now: Now
) -> None:
    one, _ = caches
    for index in range(5):
        await one.set(f"short:{index}", b"v", ttl_s=1)
    await one.set("long", b"v", ttl_s=3600)
    assert await rows(engines[0]) == 6
    now.advance(2)
    await one.set("another", b"v", ttl_s=3600)  # within a minute of the last purge: none
    assert await rows(engines[0]) == 7
    now.advance(PURGE_EVERY.total_seconds())
    await one.set("trigger", b"v", ttl_s=3600)
    assert await rows(engines[0]) == 3
    assert await one.get("long") == b"v"
    assert await one.purge_expired() == 0  # purging again finds nothing to do


async def test_a_rate_limit_holds_across_processes(caches: tuple[DatabaseCache, ...]) -> None:
    limiters = [RateLimiter(cache, now=lambda: 1_000_000.0) for cache in caches]
    decisions = [await limiters[attempt % 2].hit("login:ip", 5, 60) for attempt in range(7)]
    assert [decision.allowed for decision in decisions] == [True] * 5 + [False] * 2
