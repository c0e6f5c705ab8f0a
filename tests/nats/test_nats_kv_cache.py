"""NatsKvCache against a real NATS JetStream server, as two processes would share it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError, BucketNotFoundError

from mas.adapters.cache.nats_kv import NatsKvCache, kv_key
from mas.core.platform.errors import RateLimited
from mas.core.platform.ratelimit import RateLimiter
from tests.nats.nats_test_support import connect_or_skip, delete_buckets, unique_prefix

pytestmark = pytest.mark.nats


@pytest.fixture
async def connections() -> AsyncIterator[tuple[Client, Client]]:
    first = await connect_or_skip()
    second = await connect_or_skip()
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
async def caches(
    connections: tuple[Client, Client],
) -> AsyncIterator[tuple[NatsKvCache, NatsKvCache]]:
    """Two caches on two connections with one prefix: two processes sharing NATS."""
    prefix = unique_prefix()
    first = NatsKvCache(connections[0], prefix)
    second = NatsKvCache(connections[1].jetstream(), prefix)
    yield first, second
    await first.close()
    await second.close()
    await delete_buckets(connections[0].jetstream(), prefix)


@pytest.mark.parametrize(
    "key",
    ["rl:login:1.2.3.4:28333333", "user@example.com", "a b", "ünï/cødé", "", "=3A", ".", "x" * 600],
)
def test_kv_key_is_valid_and_keeps_keys_apart(key: str) -> None:
    encoded = kv_key(key)
    assert encoded and len(encoded) <= 480
    assert all(ch.isascii() and (ch.isalnum() or ch in "-/_=") for ch in encoded)
    others = ["rl:login:1.2.3.4:28333333", "rl=3Alogin", "=3A", ":", "", "x" * 601]
    assert all(kv_key(other) != encoded for other in others if other != key)


async def test_values_written_by_one_process_are_read_and_deleted_by_another(
    caches: tuple[NatsKvCache, NatsKvCache],
) -> None:
    first, second = caches
    assert await second.get("course:42") is None  # second learns the (empty) bucket list
    await first.set("course:42", b'{"title": "SQL"}', ttl_s=30)  # creates a new bucket
    assert await second.get("course:42") == b'{"title": "SQL"}'
    await first.set("empty", b"", ttl_s=30)
    assert await second.get("empty") == b""
    await second.delete("course:42")
    assert await first.get("course:42") is None
    await second.delete("never-set")


async def test_a_counter_incremented_from_two_processes_reaches_the_sum(
    caches: tuple[NatsKvCache, NatsKvCache],
) -> None:
    first, second = caches
    results = await asyncio.gather(
        *(cache.incr("hits", ttl_s=60) for cache in [first, second] * 15)
    )
    assert sorted(results) == list(range(1, 31))
    assert await first.get("hits") == b"30"
    assert await second.incr("hits", ttl_s=60) == 31


async def test_add_if_absent_succeeds_once_across_processes(
    caches: tuple[NatsKvCache, NatsKvCache],
) -> None:
    first, second = caches
    results = await asyncio.gather(
        *(cache.add_if_absent("lock:sync:graphy", b"worker", 30) for cache in [first, second] * 5)
    )
    assert results.count(True) == 1
    await first.delete("lock:sync:graphy")
    assert await second.add_if_absent("lock:sync:graphy", b"again", 30) is True


async def test_processes_creating_one_bucket_at_once_all_succeed(
    connections: tuple[Client, Client], caches: tuple[NatsKvCache, NatsKvCache]
) -> None:
    prefix = caches[0]._prefix
    many = [NatsKvCache(connections[n % 2], prefix) for n in range(8)]
    await asyncio.gather(*(cache.set(f"k{n}", b"v", ttl_s=77) for n, cache in enumerate(many)))
    assert [await caches[1].get(f"k{n}") for n in range(8)] == [b"v"] * 8


class RacingJetStream(JetStreamContext):
    """Another process creates the bucket between our lookup and our create (NATS 2.9 then
    answers "subjects overlap with an existing stream")."""

    def __init__(self) -> None:
        self.lookups = 0

    async def key_value(self, bucket: str) -> Any:
        self.lookups += 1
        if self.lookups == 1:
            raise BucketNotFoundError
        return f"bound:{bucket}"

    async def create_key_value(self, config: Any = None, **params: Any) -> Any:
        raise BadRequestError(
            code=400, err_code=10065, description="subjects overlap with an existing stream"
        )


async def test_losing_the_race_to_create_a_bucket_binds_to_the_winner() -> None:
    cache = NatsKvCache(RacingJetStream(), "race")
    assert await cache._bucket(30) == "bound:race_30s"


async def test_entries_expire_with_their_bucket_ttl(
    caches: tuple[NatsKvCache, NatsKvCache],
) -> None:
    first, second = caches
    await first.set("otp:asha", b"123456", ttl_s=1)
    assert await first.add_if_absent("lock", b"x", 1) is True
    assert await first.incr("count", ttl_s=1) == 1
    assert await second.get("otp:asha") == b"123456"
    deadline = time.monotonic() + 5
    while await second.get("otp:asha") is not None:
        assert time.monotonic() < deadline, "the 1 s entry did not expire"
        await asyncio.sleep(0.2)
    assert await second.add_if_absent("lock", b"y", 1) is True
    assert await second.incr("count", ttl_s=1) == 1


async def test_a_rate_limit_is_shared_between_processes(
    caches: tuple[NatsKvCache, NatsKvCache],
) -> None:
    first, second = (RateLimiter(cache, now=lambda: 1_700_000_020.0) for cache in caches)
    await first.check("login:ip:10.0.0.1", limit=3, window_s=60)
    await second.check("login:ip:10.0.0.1", limit=3, window_s=60)
    await first.check("login:ip:10.0.0.1", limit=3, window_s=60)
    with pytest.raises(RateLimited) as caught:
        await second.check("login:ip:10.0.0.1", limit=3, window_s=60)
    assert caught.value.retry_after == 50


async def test_a_bucket_deleted_underneath_is_recreated(
    caches: tuple[NatsKvCache, NatsKvCache], connections: tuple[Client, Client]
) -> None:
    first, second = caches
    await first.set("k", b"1", ttl_s=45)
    await connections[1].jetstream().delete_key_value(first.bucket_name(45))
    assert await second.get("k") is None
    await first.set("k", b"2", ttl_s=45)
    assert await second.get("k") == b"2"


async def test_incr_refuses_a_non_counter(caches: tuple[NatsKvCache, NatsKvCache]) -> None:
    first, _ = caches
    await first.set("name", b"asha", ttl_s=30)
    with pytest.raises(ValueError, match="counter"):
        await first.incr("name", ttl_s=30)
