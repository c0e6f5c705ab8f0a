"""Communications: the notifications part (communications.md §3, §4, §5, §7). Built by its
manifest part, ``mas.modules.comms.notifications``.

The messenger's ``notify`` (``writer.NotificationWriter``) writes in the caller's transaction;
``feed.FeedService`` serves a person's own feed, unread count and preferences;
``broadcasts.BroadcastService`` an admin's broadcasts and their fan-out task
(``comms.notify.broadcast``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.comms.notifications.broadcasts import BroadcastService
from mas.core.comms.notifications.events import NotificationCreated
from mas.core.comms.notifications.feed import FeedService
from mas.core.comms.notifications.ports import NotificationUnitOfWork
from mas.core.comms.notifications.tasks import FAN_OUT, BroadcastRef
from mas.core.comms.notifications.unread import UnreadCounts, push_notification
from mas.core.platform.events import Subscription
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.events import EventBus
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class NotificationPorts:
    uow: UnitOfWorkFactory[NotificationUnitOfWork]
    clock: Clock
    cache: Cache
    bus: EventBus
    jobs: Enqueuer
    zone: str
    daily_cap: int


@dataclass(frozen=True)
class NotificationServices:
    feed: FeedService
    broadcasts: BroadcastService
    unread: UnreadCounts
    bus: EventBus
    clock: Clock


def build_notifications(ports: NotificationPorts) -> NotificationServices:
    unread = UnreadCounts(ports.cache)
    return NotificationServices(
        feed=FeedService(ports.uow, ports.clock, unread),
        broadcasts=BroadcastService(
            ports.uow, ports.clock, ports.jobs, ports.bus, unread, ports.zone, ports.daily_cap
        ),
        unread=unread,
        bus=ports.bus,
        clock=ports.clock,
    )


async def fan_out(notifications: NotificationServices, message: BroadcastRef) -> None:
    """Deliver a broadcast in chunks of 1,000 (cap, preferences, dedupe per recipient)."""
    await notifications.broadcasts.fan_out(message.broadcast_id)


async def notification_created(
    notifications: NotificationServices, event: NotificationCreated
) -> None:
    """After the writer's commit: drop the cached unread count, push the realtime event."""
    await notifications.unread.forget(event.user_id)
    await push_notification(
        notifications.bus,
        event.user_id,
        {
            "notification_id": str(event.notification_id),
            "category": event.category,
            "title": event.title,
            "link": event.link,
        },
        notifications.clock.now(),
    )


HANDLERS: Sequence[Handler[NotificationServices, Any]] = (Handler(FAN_OUT, fan_out),)
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[NotificationServices, Any]] = (
    Subscription(NotificationCreated, notification_created),
)
