"""MemoryCache: the embedded cache behind rate limits, locks and dedup keys."""

from __future__ import annotations

import asyncio

import pytest

from mas.adapters.cache.memory import MemoryCache
from mas.adapters.fakes.platform import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)  # seconds of a monotonic clock


@pytest.fixture
def cache(clock: FakeClock) -> MemoryCache:
    return MemoryCache(clock=clock)


async def test_set_get_delete(cache: MemoryCache) -> None:
    assert await cache.get("k") is None
    await cache.set("k", b"v1", ttl_s=60)
    assert await cache.get("k") == b"v1"
    await cache.set("k", b"v2", ttl_s=60)
    assert await cache.get("k") == b"v2"
    await cache.delete("k")
    assert await cache.get("k") is None
    await cache.delete("k")  # deleting a missing key is fine


async def test_value_expires_after_its_ttl(cache: MemoryCache, clock: FakeClock) -> None:
    await cache.set("session", b"x", ttl_s=10)
    clock.advance(seconds=9.9)
    assert await cache.get("session") == b"x"
    clock.advance(seconds=0.1)
    assert await cache.get("session") is None


async def test_set_restarts_the_ttl(cache: MemoryCache, clock: FakeClock) -> None:
    await cache.set("k", b"a", ttl_s=10)
    clock.advance(seconds=8)
    await cache.set("k", b"b", ttl_s=10)
    clock.advance(seconds=8)
    assert await cache.get("k") == b"b"


async def test_incr_counts_and_keeps_the_first_ttl(cache: MemoryCache, clock: FakeClock) -> None:
    assert await cache.incr("hits", ttl_s=10) == 1
    clock.advance(seconds=6)
    assert await cache.incr("hits", ttl_s=10) == 2
    assert await cache.get("hits") == b"2"
    clock.advance(seconds=4)  # ten seconds after the first increment, not the last
    assert await cache.get("hits") is None
    assert await cache.incr("hits", ttl_s=10) == 1


async def test_concurrent_increments_are_not_lost(cache: MemoryCache) -> None:
    results = await asyncio.gather(*(cache.incr("c", ttl_s=60) for _ in range(200)))
    assert sorted(results) == list(range(1, 201))


async def test_incr_refuses_a_non_counter(cache: MemoryCache) -> None:
    await cache.set("name", b"asha", ttl_s=60)
    with pytest.raises(ValueError, match="counter"):
        await cache.incr("name", ttl_s=60)


async def test_add_if_absent_is_true_once_until_expiry(
    cache: MemoryCache, clock: FakeClock
) -> None:
    results = await asyncio.gather(*(cache.add_if_absent("lock", b"me", 5) for _ in range(10)))
    assert results.count(True) == 1
    assert await cache.get("lock") == b"me"
    clock.advance(seconds=5)
    assert await cache.add_if_absent("lock", b"you", 5) is True
    assert await cache.get("lock") == b"you"
    await cache.delete("lock")
    assert await cache.add_if_absent("lock", b"again", 5) is True


@pytest.mark.parametrize("ttl", [0, -1])
async def test_ttl_must_be_positive(cache: MemoryCache, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        await cache.set("k", b"v", ttl)
    with pytest.raises(ValueError, match="ttl_s"):
        await cache.incr("k", ttl)
    with pytest.raises(ValueError, match="ttl_s"):
        await cache.add_if_absent("k", b"v", ttl)


async def test_expired_entries_do_not_pile_up(cache: MemoryCache, clock: FakeClock) -> None:
    for index in range(3000):
        await cache.set(f"short-{index}", b"x", ttl_s=1)
        clock.advance(seconds=0.01)
    # Only entries written in the last second (plus at most one sweep interval) remain.
    assert len(cache._entries) <= 1024 + 100


async def test_close_forgets_everything(cache: MemoryCache) -> None:
    await cache.set("k", b"v", 60)
    await cache.close()
    assert await cache.get("k") is None
