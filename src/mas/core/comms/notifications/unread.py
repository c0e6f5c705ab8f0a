"""The unread count cache and the realtime push, shared by the feed, the writer's subscription
and the broadcast fan-out.

Each user's count is cached for 30 s under a key that carries a *generation*: a single
notification (or a read) deletes the user's key after its commit; a broadcast chunk, which
reaches up to 1,000 users at once, starts a new generation instead (one cache write instead of
a thousand deletes), so every cached count is recomputed on its next read.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from mas.core.platform.ids import uuid7
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.events import EventBus
from mas.core.platform.realtime import user_event

TTL_S = 30
GENERATION_KEY = "notifications:unread:generation"
GENERATION_TTL_S = 7 * 24 * 3600
NOTIFICATION_EVENT = "notification"


class UnreadCounts:
    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    async def _key(self, user_id: uuid.UUID) -> str:
        generation = await self._cache.get(GENERATION_KEY)
        return f"notifications:unread:{(generation or b'0').decode()}:{user_id}"

    async def cached(self, user_id: uuid.UUID) -> int | None:
        raw = await self._cache.get(await self._key(user_id))
        return int(raw) if raw is not None else None

    async def remember(self, user_id: uuid.UUID, count: int) -> None:
        await self._cache.set(await self._key(user_id), str(count).encode(), TTL_S)

    async def forget(self, user_id: uuid.UUID) -> None:
        await self._cache.delete(await self._key(user_id))

    async def forget_everyone(self) -> None:
        await self._cache.set(GENERATION_KEY, uuid7().hex.encode(), GENERATION_TTL_S)


async def push_notification(
    bus: EventBus, user_id: uuid.UUID, data: dict[str, object], at: datetime
) -> None:
    await bus.publish_user(user_id, user_event(NOTIFICATION_EVENT, dict(data), at))
