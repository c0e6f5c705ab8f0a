"""A person's own feed: pages, the unread count, marking read, preferences."""

from __future__ import annotations

import uuid

from mas.core.comms.notifications.model import (
    Notification,
    NotificationPage,
    Preferences,
    PreferenceUpdate,
    ReadAll,
    UnreadCount,
    decode_cursor,
    encode_cursor,
    preference_grid,
    refuse_locked,
)
from mas.core.comms.notifications.ports import NotificationUnitOfWork
from mas.core.comms.notifications.unread import UnreadCounts
from mas.core.identity.policy import Caller
from mas.core.platform.errors import NotFound
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory


class FeedService:
    def __init__(
        self, uow: UnitOfWorkFactory[NotificationUnitOfWork], clock: Clock, unread: UnreadCounts
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._unread = unread

    async def page(
        self, caller: Caller, unread_only: bool, cursor: str | None, limit: int
    ) -> NotificationPage:
        before = decode_cursor(cursor) if cursor else None
        async with self._uow() as uow:
            rows = await uow.notifications.feed(caller.user_id, unread_only, before, limit + 1)
        items = rows[:limit]
        more = len(rows) > limit
        return NotificationPage(items=items, next_cursor=encode_cursor(items[-1]) if more else None)

    async def unread_count(self, caller: Caller) -> UnreadCount:
        cached = await self._unread.cached(caller.user_id)
        if cached is not None:
            return UnreadCount(cached)
        async with self._uow() as uow:
            count = await uow.notifications.unread_count(caller.user_id)
        await self._unread.remember(caller.user_id, count)
        return UnreadCount(count)

    async def mark_read(self, caller: Caller, notification_id: uuid.UUID) -> Notification:
        async with self._uow() as uow:
            read = await uow.notifications.mark_read(
                caller.user_id, notification_id, self._clock.now()
            )
            if read is None:
                raise NotFound(f"notification {notification_id} not found")
            await uow.commit()
        await self._unread.forget(caller.user_id)
        return read

    async def read_all(self, caller: Caller) -> ReadAll:
        async with self._uow() as uow:
            updated = await uow.notifications.mark_all_read(caller.user_id, self._clock.now())
            await uow.commit()
        await self._unread.forget(caller.user_id)
        return ReadAll(updated)

    async def preferences(self, caller: Caller) -> Preferences:
        async with self._uow() as uow:
            disabled = await uow.notifications.disabled(caller.user_id)
        return preference_grid(disabled)

    async def set_preferences(self, caller: Caller, update: PreferenceUpdate) -> Preferences:
        refuse_locked(update)
        async with self._uow() as uow:
            await uow.notifications.set_preferences(caller.user_id, update.items)
            disabled = await uow.notifications.disabled(caller.user_id)
            await uow.commit()
        return preference_grid(disabled)
