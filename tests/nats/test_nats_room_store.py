"""``NatsRoomStore`` against the shared contract, on real NATS KV (buckets of its own)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.adapters.realtime.nats_kv import NatsRoomStore
from tests.nats.nats_test_support import connect_or_skip
from tests.room_store_contract import *  # noqa: F403 - the contract's tests run here

pytestmark = pytest.mark.nats


@pytest.fixture
async def rooms() -> AsyncIterator[tuple[Any, FakeClock]]:
    nc = await connect_or_skip()
    tag = uuid.uuid4().hex[:10]
    clock = FakeClock()
    store = NatsRoomStore(
        nc, rooms_bucket=f"rt_rooms_{tag}", presence_bucket=f"rt_presence_{tag}", clock=clock
    )
    yield store, clock
    js = nc.jetstream()
    for bucket in (f"rt_rooms_{tag}", f"rt_presence_{tag}"):
        try:
            await js.delete_key_value(bucket)
        except Exception:  # noqa: BLE001, S110 - a test that never created it
            pass
    await store.close()
    await nc.close()


async def test_the_default_buckets_carry_the_presence_ttl() -> None:
    nc = await connect_or_skip()
    store = NatsRoomStore(nc)
    name = f"slot-{uuid.uuid4().hex[:8]}"
    try:
        await store.join(name, uuid.uuid4())
        presence = await (await nc.jetstream().key_value("rt_presence")).status()
        assert presence.ttl == 30
        rooms = await (await nc.jetstream().key_value("rt_rooms")).status()
        assert rooms.ttl == 24 * 3600
        await store.drop(name)
    finally:
        await nc.close()
