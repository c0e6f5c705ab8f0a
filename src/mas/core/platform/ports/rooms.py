"""Where realtime rooms keep what every replica must agree on: who is in the room, who is
still there (presence, kept alive by heartbeats), and a small state blob (a meeting's timer).

In memory by default; NATS KV buckets ``rt_rooms`` and ``rt_presence`` when several replicas
serve one room's sockets. The state blob is versioned: ``put_state`` succeeds only on the
revision the writer read, so two replicas starting a timer at once cannot both win.
"""

from __future__ import annotations

import re
import uuid
from typing import Protocol

import msgspec

PRESENCE_TTL_S = 30
MAX_STATE_BYTES = 16 * 1024
_ROOM = re.compile(r"[A-Za-z0-9_-]{1,64}")


class RoomState(msgspec.Struct, frozen=True):
    data: bytes
    revision: int
    """Pass it back to ``put_state``; 0 stands for "no state yet"."""


def check_room(room: str) -> str:
    """Room ids are ``[A-Za-z0-9_-]{1,64}`` (a slot id fits): safe as a KV key on any backend."""
    if not _ROOM.fullmatch(room):
        raise ValueError(f"room id {room!r} must match [A-Za-z0-9_-]{{1,64}}")
    return room


def check_state(data: bytes) -> bytes:
    if len(data) > MAX_STATE_BYTES:
        raise ValueError(f"room state is {len(data)} bytes; at most {MAX_STATE_BYTES}")
    return data


class RoomStore(Protocol):
    async def join(self, room: str, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
        """Add a member (and mark them present); the members after the change."""
        ...

    async def leave(self, room: str, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
        """Remove a member and their presence; the members after the change."""
        ...

    async def members(self, room: str) -> frozenset[uuid.UUID]: ...

    async def heartbeat(self, room: str, user_id: uuid.UUID) -> None:
        """``user_id`` is present for the next ``PRESENCE_TTL_S`` seconds."""
        ...

    async def present(self, room: str) -> frozenset[uuid.UUID]:
        """Users whose last heartbeat is younger than the presence TTL."""
        ...

    async def state(self, room: str) -> RoomState | None: ...

    async def put_state(self, room: str, data: bytes, revision: int) -> RoomState | None:
        """Write the blob if the stored revision is still ``revision`` (0: none stored);
        the new state, or None when another writer got there first."""
        ...

    async def drop(self, room: str) -> None:
        """Forget the room: members, presence and state."""
        ...

    async def close(self) -> None: ...
