"""Admin broadcasts: create (DRAFT, SCHEDULED, or sent right away), send, cancel, list, and
the fan-out the task runs.

The fan-out walks the audience in id order, 1,000 users per transaction; each chunk is a few
set-based statements (``BroadcastRepository.deliver_chunk``), never one per user, and commits its
counts with its progress, so a run that died resumes after the last committed chunk and counts
each recipient once. Every recipient's dedupe key is ``broadcast:{id}``: whatever runs twice,
nobody is notified twice.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from mas.core.comms.notifications.model import (
    MAX_SCHEDULE_AHEAD,
    UNAVAILABLE_AUDIENCES,
    Audience,
    Broadcast,
    BroadcastStatus,
    NewBroadcast,
    check_move,
)
from mas.core.comms.notifications.ports import NotificationUnitOfWork
from mas.core.comms.notifications.tasks import FAN_OUT, BroadcastRef
from mas.core.comms.notifications.unread import UnreadCounts, push_notification
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import Conflict, FieldError, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.events import EventBus
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

CHUNK = 1000
CANCELLABLE = frozenset({BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED})
STARTABLE = frozenset({BroadcastStatus.SCHEDULED})


def _refused(code: str, field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, errors=[FieldError(field, message)])


def check_audience(audience: Audience, ref: str | None) -> None:
    if audience in UNAVAILABLE_AUDIENCES:
        raise _refused(
            "audience_unavailable", "audience", f"{audience.value} needs the LMS (not yet built)"
        )
    if audience is Audience.ROLE:
        if ref not in set(Role):
            raise _refused("audience_ref_invalid", "audience_ref", "a role name, e.g. EXPERT")
    elif ref is not None:
        raise _refused("audience_ref_invalid", "audience_ref", f"{audience.value} takes none")


class BroadcastService:
    def __init__(
        self,
        uow: UnitOfWorkFactory[NotificationUnitOfWork],
        clock: Clock,
        jobs: Enqueuer,
        bus: EventBus,
        unread: UnreadCounts,
        zone: str,
        daily_cap: int,
        chunk: int = CHUNK,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._jobs = jobs
        self._bus = bus
        self._unread = unread
        self._zone = ZoneInfo(zone)
        self._cap = daily_cap
        self.chunk = chunk

    def _today(self, now: datetime) -> date:
        return now.astimezone(self._zone).date()

    async def create(self, caller: Caller, new: NewBroadcast) -> Broadcast:
        check_audience(new.audience, new.audience_ref)
        now = self._clock.now()
        scheduled_at = new.scheduled_at
        if scheduled_at is not None and new.send_now:
            raise _refused("schedule_conflict", "send_now", "give scheduled_at or send_now")
        if scheduled_at is not None and not now < scheduled_at <= now + MAX_SCHEDULE_AHEAD:
            raise _refused(
                "scheduled_at_out_of_range", "scheduled_at", "a future time within a year"
            )
        if new.send_now:
            scheduled_at = now
        broadcast = Broadcast(
            id=uuid7(),
            created_by=caller.user_id,
            audience=new.audience,
            audience_ref=new.audience_ref,
            title=new.title,
            body=new.body,
            link=new.link,
            scheduled_at=scheduled_at,
            status=BroadcastStatus.DRAFT if scheduled_at is None else BroadcastStatus.SCHEDULED,
            created_at=now,
        )
        async with self._uow() as uow:
            await self._require_audience(uow, broadcast)
            await uow.notification_broadcasts.add(broadcast)
            await uow.commit()
        if scheduled_at is not None:
            await self._submit(broadcast.id, scheduled_at, now)
        return broadcast

    async def send(self, broadcast_id: uuid.UUID) -> Broadcast:
        """A DRAFT goes out now."""
        now = self._clock.now()
        async with self._uow() as uow:
            broadcast = await self._get(uow, broadcast_id)
            if broadcast.status is not BroadcastStatus.DRAFT:
                raise Conflict(
                    f"a {broadcast.status.value} broadcast cannot be sent",
                    code="broadcast_not_draft",
                )
            await self._require_audience(uow, broadcast)
            if not await uow.notification_broadcasts.move(
                broadcast_id, frozenset({BroadcastStatus.DRAFT}), BroadcastStatus.SCHEDULED, now
            ):
                raise Conflict("the broadcast changed meanwhile", code="broadcast_not_draft")
            await uow.commit()
        await self._submit(broadcast_id, now, now)
        return await self.get(broadcast_id)

    async def cancel(self, broadcast_id: uuid.UUID) -> Broadcast:
        now = self._clock.now()
        async with self._uow() as uow:
            broadcast = await self._get(uow, broadcast_id)
            if broadcast.status not in CANCELLABLE or not await uow.notification_broadcasts.move(
                broadcast_id, CANCELLABLE, BroadcastStatus.CANCELLED, now
            ):
                raise Conflict(
                    f"a {broadcast.status.value} broadcast cannot be cancelled",
                    code="broadcast_not_cancellable",
                )
            await uow.commit()
        return await self.get(broadcast_id)

    async def get(self, broadcast_id: uuid.UUID) -> Broadcast:
        async with self._uow() as uow:
            return await self._get(uow, broadcast_id)

    async def page(self, req: PageRequest) -> Page[Broadcast]:
        async with self._uow() as uow:
            return await uow.notification_broadcasts.page(req)

    async def fan_out(self, broadcast_id: uuid.UUID) -> None:
        """Deliver a SCHEDULED broadcast (or resume a SENDING one); anything else is left."""
        async with self._uow() as uow:
            broadcast = await uow.notification_broadcasts.get(broadcast_id)
            if broadcast is None or broadcast.status not in (
                BroadcastStatus.SCHEDULED,
                BroadcastStatus.SENDING,
            ):
                return
            if broadcast.status is BroadcastStatus.SCHEDULED:
                check_move(broadcast.status, BroadcastStatus.SENDING)
                if not await uow.notification_broadcasts.move(
                    broadcast_id, STARTABLE, BroadcastStatus.SENDING, self._clock.now()
                ):
                    return  # cancelled meanwhile
                await uow.commit()
        # Each chunk's pushes run while the next chunk is written (the database works, this
        # process publishes); at most one chunk's pushes are pending, and the run ends after
        # the last one's.
        pushing: asyncio.Task[None] | None = None
        try:
            while (delivered := await self._next_chunk(broadcast)) is not None:
                if pushing is not None:
                    await pushing
                pushing = asyncio.create_task(self._after_chunk(broadcast, delivered))
        finally:
            if pushing is not None:
                await pushing

    async def _next_chunk(self, broadcast: Broadcast) -> list[uuid.UUID] | None:
        """One chunk in one transaction: the users it notified; None once the audience is
        exhausted (the broadcast is then SENT)."""
        now = self._clock.now()
        async with self._uow() as uow:
            repo = uow.notification_broadcasts
            after = await repo.progress(broadcast.id)
            chunk = await repo.deliver_chunk(
                broadcast, after, self.chunk, self._today(now), self._cap, now
            )
            if chunk is None:
                await repo.move(
                    broadcast.id,
                    frozenset({BroadcastStatus.SENDING}),
                    BroadcastStatus.SENT,
                    now,
                )
                await uow.commit()
                return None
            tally, delivered, last_user_id = chunk
            await repo.record_chunk(broadcast.id, tally, last_user_id)
            await uow.commit()
        return delivered

    async def _after_chunk(self, broadcast: Broadcast, delivered: list[uuid.UUID]) -> None:
        if not delivered:
            return
        await self._unread.forget_everyone()
        data: dict[str, object] = {
            "broadcast_id": str(broadcast.id),
            "category": "ANNOUNCEMENT",
            "title": broadcast.title,
            "link": broadcast.link,
        }
        now = self._clock.now()
        for user_id in delivered:
            await push_notification(self._bus, user_id, data, now)

    async def _require_audience(self, uow: NotificationUnitOfWork, broadcast: Broadcast) -> None:
        size = await uow.notification_broadcasts.audience_size(
            broadcast.audience, broadcast.audience_ref
        )
        if size == 0:
            raise _refused("empty_audience", "audience", "nobody is in this audience")

    async def _get(self, uow: NotificationUnitOfWork, broadcast_id: uuid.UUID) -> Broadcast:
        broadcast = await uow.notification_broadcasts.get(broadcast_id)
        if broadcast is None:
            raise NotFound(f"broadcast {broadcast_id} not found")
        return broadcast

    async def _submit(self, broadcast_id: uuid.UUID, at: datetime, now: datetime) -> None:
        await self._jobs.submit(
            FAN_OUT, BroadcastRef(broadcast_id), delay=max(at - now, timedelta(0))
        )
