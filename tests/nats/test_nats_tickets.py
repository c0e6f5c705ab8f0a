"""Realtime tickets on the shared NATS KV cache: issued by one process, redeemed once by any."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from mas.adapters.cache.nats_kv import NatsKvCache
from mas.core.platform.ports.clock import SystemClock
from mas.core.platform.tickets import InvalidTicket, RealtimeTickets
from tests.nats.nats_test_support import connect_or_skip, delete_buckets, unique_prefix

pytestmark = pytest.mark.nats


@pytest.fixture
async def replicas() -> AsyncIterator[list[RealtimeTickets]]:
    """Three processes' ticket services, each on its own connection to one KV cache."""
    prefix = unique_prefix()
    caches = [NatsKvCache(await connect_or_skip(), prefix, owns_connection=True) for _ in range(3)]
    yield [RealtimeTickets(cache, SystemClock()) for cache in caches]
    cleanup = await connect_or_skip()
    await delete_buckets(cleanup.jetstream(), prefix)
    await cleanup.close()
    for cache in caches:
        await cache.close()


async def test_a_ticket_issued_on_one_replica_opens_once_on_any(
    replicas: list[RealtimeTickets],
) -> None:
    issuer, *redeemers = replicas
    user = uuid.uuid4()
    issued = await issuer.issue(user, "meeting", "slot-1")
    results = await asyncio.gather(
        *(replica.redeem(issued.ticket, "meeting", "slot-1") for replica in redeemers * 3),
        return_exceptions=True,
    )
    assert [r for r in results if not isinstance(r, BaseException)] == [user]
    assert all(isinstance(r, InvalidTicket) for r in results if isinstance(r, BaseException))
