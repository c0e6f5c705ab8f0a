"""The in-process room store: the embedded default and the contract tests' reference.

Each method reads and writes without awaiting, so on one event loop every call is atomic.
Presence uses a monotonic clock (a wall-clock jump cannot revive or expire anyone).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from mas.core.platform.ports.rooms import PRESENCE_TTL_S, RoomState, check_room, check_state


class MemoryRoomStore:
    def __init__(
        self, clock: Callable[[], float] = time.monotonic, presence_ttl_s: float = PRESENCE_TTL_S
    ) -> None:
        self._clock = clock
        self._ttl = presence_ttl_s
        self._members: dict[str, set[uuid.UUID]] = {}
        self._seen: dict[str, dict[uuid.UUID, float]] = {}
        self._states: dict[str, RoomState] = {}

    async def join(self, room: str, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
        self._members.setdefault(check_room(room), set()).add(user_id)
        self._seen.setdefault(room, {})[user_id] = self._clock()
        return frozenset(self._members[room])

    async def leave(self, room: str, user_id: uuid.UUID) -> frozenset[uuid.UUID]:
        members = self._members.get(check_room(room), set())
        members.discard(user_id)
        self._seen.get(room, {}).pop(user_id, None)
        if not members:
            self._members.pop(room, None)
        return frozenset(members)

    async def members(self, room: str) -> frozenset[uuid.UUID]:
        return frozenset(self._members.get(check_room(room), ()))

    async def heartbeat(self, room: str, user_id: uuid.UUID) -> None:
        self._seen.setdefault(check_room(room), {})[user_id] = self._clock()

    async def present(self, room: str) -> frozenset[uuid.UUID]:
        seen = self._seen.get(check_room(room), {})
        now = self._clock()
        for user_id in [user for user, at in seen.items() if now - at >= self._ttl]:
            del seen[user_id]
        return frozenset(seen)

    async def state(self, room: str) -> RoomState | None:
        return self._states.get(check_room(room))

    async def put_state(self, room: str, data: bytes, revision: int) -> RoomState | None:
        current = self._states.get(check_room(room))
        if (current.revision if current else 0) != revision:
            return None
        stored = RoomState(check_state(data), revision + 1)
        self._states[room] = stored
        return stored

    async def drop(self, room: str) -> None:
        check_room(room)
        self._members.pop(room, None)
        self._seen.pop(room, None)
        self._states.pop(room, None)

    async def close(self) -> None:
        self._members.clear()
        self._seen.clear()
        self._states.clear()
