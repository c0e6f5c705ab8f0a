"""What every ``RoomStore`` adapter must do; run on memory (tests/unit) and NATS KV (tests/nats).

A test module defines a ``rooms`` fixture giving ``(store, clock)`` where ``clock`` is the
``FakeClock`` the store reads presence time from, and imports these tests.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from mas.core.platform.ports.rooms import MAX_STATE_BYTES, PRESENCE_TTL_S

Rooms = tuple[Any, Any]


def room() -> str:
    return f"slot-{uuid.uuid4().hex[:12]}"


async def test_members_join_and_leave(rooms: Rooms) -> None:
    store, _ = rooms
    name, alice, bob = room(), uuid.uuid4(), uuid.uuid4()
    assert await store.members(name) == frozenset()
    assert await store.join(name, alice) == {alice}
    assert await store.join(name, bob) == {alice, bob}
    assert await store.join(name, bob) == {alice, bob}
    assert await store.leave(name, alice) == {bob}
    assert await store.members(name) == {bob}
    assert await store.members(room()) == frozenset()


async def test_concurrent_joins_lose_nobody(rooms: Rooms) -> None:
    store, _ = rooms
    name = room()
    users = [uuid.uuid4() for _ in range(8)]
    await asyncio.gather(*(store.join(name, user) for user in users))
    assert await store.members(name) == frozenset(users)


async def test_presence_lasts_the_heartbeat_ttl(rooms: Rooms) -> None:
    store, clock = rooms
    name, alice, bob = room(), uuid.uuid4(), uuid.uuid4()
    await store.join(name, alice)
    await store.heartbeat(name, bob)
    assert await store.present(name) == {alice, bob}
    clock.advance(seconds=PRESENCE_TTL_S - 1)
    await store.heartbeat(name, bob)
    assert await store.present(name) == {alice, bob}
    clock.advance(seconds=1)
    assert await store.present(name) == {bob}
    assert await store.members(name) == {alice}  # membership does not age
    await store.leave(name, bob)
    assert await store.present(name) == frozenset()


async def test_state_is_compare_and_set(rooms: Rooms) -> None:
    store, _ = rooms
    name = room()
    assert await store.state(name) is None
    first = await store.put_state(name, b'{"timer":"running"}', 0)
    assert first is not None and first.data == b'{"timer":"running"}'
    assert await store.put_state(name, b"late", 0) is None
    second = await store.put_state(name, b'{"timer":"paused"}', first.revision)
    assert second is not None and second.revision != first.revision
    assert await store.put_state(name, b"stale", first.revision) is None
    assert await store.state(name) == second


async def test_drop_forgets_the_room(rooms: Rooms) -> None:
    store, _ = rooms
    name, alice = room(), uuid.uuid4()
    await store.join(name, alice)
    await store.put_state(name, b"x", 0)
    await store.drop(name)
    assert await store.members(name) == frozenset()
    assert await store.present(name) == frozenset()
    assert await store.state(name) is None
    assert await store.put_state(name, b"again", 0) is not None


@pytest.mark.parametrize("bad", ["", "a.b", "a b", "x" * 65, "../etc"])
async def test_room_ids_are_checked(rooms: Rooms, bad: str) -> None:
    store, _ = rooms
    with pytest.raises(ValueError, match="room id"):
        await store.members(bad)


async def test_state_is_small(rooms: Rooms) -> None:
    store, _ = rooms
    with pytest.raises(ValueError, match="at most"):
        await store.put_state(room(), b"x" * (MAX_STATE_BYTES + 1), 0)
