"""The notifications part's side of the messenger (``Messenger.notify``).

Writes in the *caller's* unit of work, so a notification commits with the change that caused
it. The checks run in the order the outcome reports them: the user's in-app toggle for the
category, the dedupe key, then, for students only (role ``USER``), the daily cap of the IST day:
the count row is taken with one conditional upsert, so two concurrent notifications for a student
at the last slot cannot both pass. The realtime push and the unread-count invalidation follow the
commit (``NotificationCreated``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any, cast
from zoneinfo import ZoneInfo

from mas.core.comms.notifications.events import NotificationCreated
from mas.core.comms.notifications.model import Category, Channel, Notification
from mas.core.comms.notifications.ports import NotificationUnitOfWork
from mas.core.platform.errors import FieldError, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import NotifyOutcome, NotifyResult
from mas.core.platform.ports.uow import UnitOfWork

CAPPED_ROLE = "USER"
"""Students are capped; staff roles receive everything."""


def category_of(raw: str) -> Category:
    try:
        return Category(raw)
    except ValueError:
        raise ValidationFailed(
            f"unknown notification category {raw!r}",
            errors=[FieldError("category", f"one of {', '.join(Category)}")],
        ) from None


class NotificationWriter:
    def __init__(self, clock: Clock, zone: str, daily_cap: int) -> None:
        self._clock = clock
        self._zone = ZoneInfo(zone)
        self._cap = daily_cap

    def today(self) -> date:
        """The IST day (the configured zone's) the cap counts in."""
        return self._clock.now().astimezone(self._zone).date()

    async def notify(
        self,
        uow: UnitOfWork,
        user_id: uuid.UUID,
        category: str,
        title: str,
        body: str,
        *,
        link: str | None = None,
        dedupe_key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> NotifyResult:
        kind = category_of(category)
        repo = cast(NotificationUnitOfWork, uow).notifications
        if not await repo.enabled(user_id, Channel.IN_APP, kind):
            return NotifyResult(outcome=NotifyOutcome.SKIPPED_PREF)
        if dedupe_key is not None and await repo.dedupe_used(user_id, dedupe_key):
            return NotifyResult(outcome=NotifyOutcome.DUPLICATE)
        role = await repo.role_of(user_id)
        if role is None:
            raise NotFound(f"user {user_id} not found")
        day = self.today()
        capped = role == CAPPED_ROLE
        if capped and not await repo.take_daily_slot(user_id, day, self._cap):
            return NotifyResult(outcome=NotifyOutcome.CAPPED)
        notification = Notification(
            id=uuid7(),
            user_id=user_id,
            category=kind,
            title=title[:120],
            body=body[:500],
            link=link[:300] if link else None,
            data=dict(data or {}),
            created_at=self._clock.now(),
        )
        if not await repo.add(notification, dedupe_key):
            # A concurrent writer took the key between the check and the insert.
            if capped:
                await repo.release_daily_slot(user_id, day)
            return NotifyResult(outcome=NotifyOutcome.DUPLICATE)
        uow.record(
            NotificationCreated(
                notification_id=notification.id,
                user_id=user_id,
                category=kind.value,
                title=notification.title,
                link=notification.link,
            )
        )
        return NotifyResult(outcome=NotifyOutcome.DELIVERED, notification_id=notification.id)
