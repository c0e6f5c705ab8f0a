"""What the notifications part needs from storage, and its view of the unit of work."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Protocol

from mas.core.comms.notifications.model import (
    Audience,
    Broadcast,
    BroadcastStatus,
    Category,
    Channel,
    ChunkTally,
    Notification,
    PreferenceToggle,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork


class NotificationRepository(Protocol):
    async def enabled(self, user_id: uuid.UUID, channel: Channel, category: Category) -> bool:
        """The user's toggle (a missing row is enabled)."""
        ...

    async def dedupe_used(self, user_id: uuid.UUID, dedupe_key: str) -> bool: ...

    async def role_of(self, user_id: uuid.UUID) -> str | None:
        """The user's role (``users.role``), None for an unknown or deleted user."""
        ...

    async def take_daily_slot(self, user_id: uuid.UUID, day: date, cap: int) -> bool:
        """Add one to the user's count of ``day`` unless it reached ``cap``: one atomic
        statement, so two concurrent takers of the last slot cannot both pass."""
        ...

    async def release_daily_slot(self, user_id: uuid.UUID, day: date) -> None: ...

    async def add(self, notification: Notification, dedupe_key: str | None) -> bool:
        """Insert; False when (user, dedupe key) is taken (nothing written)."""
        ...

    async def feed(
        self,
        user_id: uuid.UUID,
        unread_only: bool,
        before: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Notification]:
        """Newest first, older than ``before`` (instant, id)."""
        ...

    async def unread_count(self, user_id: uuid.UUID) -> int: ...

    async def mark_read(
        self, user_id: uuid.UUID, notification_id: uuid.UUID, now: datetime
    ) -> Notification | None:
        """The user's notification, read (None when it is not theirs)."""
        ...

    async def mark_all_read(self, user_id: uuid.UUID, now: datetime) -> int: ...

    async def disabled(self, user_id: uuid.UUID) -> set[tuple[Channel, Category]]: ...

    async def set_preferences(
        self, user_id: uuid.UUID, toggles: list[PreferenceToggle]
    ) -> None: ...


class BroadcastRepository(Protocol):
    async def add(self, broadcast: Broadcast) -> None: ...

    async def get(self, broadcast_id: uuid.UUID) -> Broadcast | None: ...

    async def page(self, req: PageRequest) -> Page[Broadcast]:
        """Newest first."""
        ...

    async def move(
        self,
        broadcast_id: uuid.UUID,
        sources: frozenset[BroadcastStatus],
        target: BroadcastStatus,
        at: datetime,
    ) -> bool:
        """Set ``target`` (and its timestamp) if the status is one of ``sources``; one
        conditional UPDATE, so a cancel and a start cannot both win."""
        ...

    async def audience_size(self, audience: Audience, ref: str | None) -> int: ...

    async def progress(self, broadcast_id: uuid.UUID) -> uuid.UUID | None:
        """The last user id of the last committed chunk."""
        ...

    async def deliver_chunk(
        self,
        broadcast: Broadcast,
        after: uuid.UUID | None,
        limit: int,
        day: date,
        cap: int,
        now: datetime,
    ) -> tuple[ChunkTally, list[uuid.UUID], uuid.UUID] | None:
        """Notify the next ``limit`` users of the audience (in id order, after ``after``),
        set-based: users who turned announcements off, already have this broadcast, or
        (students) reached ``cap`` on ``day`` are counted, not notified. Returns the tally, the
        users notified and the chunk's last user id; None when no user is left."""
        ...

    async def record_chunk(
        self, broadcast_id: uuid.UUID, tally: ChunkTally, last_user_id: uuid.UUID
    ) -> None:
        """Add the chunk's counts to the broadcast and move its progress to ``last_user_id``."""
        ...


class NotificationUnitOfWork(UnitOfWork, Protocol):
    notifications: NotificationRepository
    notification_broadcasts: BroadcastRepository
