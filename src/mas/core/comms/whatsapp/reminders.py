"""Reminders other domains schedule (an interview, a session): a template sent at ``send_at``.

``schedule`` writes a SCHEDULED row (unique by kind, ref and time: scheduling twice is one
reminder) in the caller's unit of work when given one; after the commit its event submits the
delayed ``comms.whatsapp.reminder`` task. ``cancel`` moves the ref's SCHEDULED reminders to
CANCELLED, and the task then sends nothing. A reminder whose template is refused when it is due
(no longer approved, wrong parameters) becomes FAILED rather than retrying.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import cast

from mas.core.comms.whatsapp.events import ReminderScheduled
from mas.core.comms.whatsapp.model import Reminder, ReminderKind, ReminderSpec
from mas.core.comms.whatsapp.ports import WhatsAppUnitOfWork
from mas.core.comms.whatsapp.tasks import REMINDER, ReminderRef
from mas.core.comms.whatsapp.writer import WhatsAppMessageWriter
from mas.core.platform.errors import DomainError, Transient
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWork, UnitOfWorkFactory


class ReminderService:
    def __init__(
        self,
        uow: UnitOfWorkFactory[WhatsAppUnitOfWork],
        clock: Clock,
        jobs: Enqueuer,
        writer: WhatsAppMessageWriter,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._jobs = jobs
        self._writer = writer

    async def schedule(
        self,
        kind: ReminderKind,
        ref_id: uuid.UUID,
        send_at: datetime,
        spec: ReminderSpec,
        uow: UnitOfWork | None = None,
    ) -> uuid.UUID:
        """The reminder's id (the existing one's for the same kind, ref and time)."""
        if uow is not None:
            return await self._schedule(cast(WhatsAppUnitOfWork, uow), kind, ref_id, send_at, spec)
        async with self._uow() as own:
            reminder_id = await self._schedule(own, kind, ref_id, send_at, spec)
            await own.commit()
        return reminder_id

    async def _schedule(
        self,
        uow: WhatsAppUnitOfWork,
        kind: ReminderKind,
        ref_id: uuid.UUID,
        send_at: datetime,
        spec: ReminderSpec,
    ) -> uuid.UUID:
        known = await uow.whatsapp_reminders.find(kind, ref_id, send_at)
        if known is not None:
            return known.id
        reminder = Reminder(
            id=uuid7(),
            kind=kind,
            ref_id=ref_id,
            send_at=send_at,
            message_spec=spec,
            status="SCHEDULED",
            created_at=self._clock.now(),
        )
        try:
            await uow.whatsapp_reminders.add(reminder)
        except DuplicateKey:
            winner = await uow.whatsapp_reminders.find(kind, ref_id, send_at)
            if winner is None:
                raise
            return winner.id
        uow.record(ReminderScheduled(reminder_id=reminder.id, send_at=send_at))
        return reminder.id

    async def cancel(
        self, kind: ReminderKind, ref_id: uuid.UUID, uow: UnitOfWork | None = None
    ) -> int:
        """Cancel the ref's SCHEDULED reminders; how many were."""
        if uow is not None:
            return await cast(WhatsAppUnitOfWork, uow).whatsapp_reminders.cancel(kind, ref_id)
        async with self._uow() as own:
            count = await own.whatsapp_reminders.cancel(kind, ref_id)
            await own.commit()
        return count

    async def get(self, reminder_id: uuid.UUID) -> Reminder | None:
        async with self._uow() as uow:
            return await uow.whatsapp_reminders.get(reminder_id)

    async def submit(self, reminder_id: uuid.UUID, send_at: datetime) -> None:
        wait = send_at - self._clock.now()
        await self._jobs.submit(
            REMINDER, ReminderRef(reminder_id), delay=wait if wait > timedelta(0) else None
        )

    async def run(self, reminder_id: uuid.UUID) -> None:
        """Send the reminder unless it was cancelled (or already sent)."""
        async with self._uow() as uow:
            reminder = await uow.whatsapp_reminders.get(reminder_id)
            if reminder is None or reminder.status != "SCHEDULED":
                return
            spec = reminder.message_spec
            try:
                message_id = await self._writer.whatsapp(
                    uow,
                    to=spec.to,
                    template=spec.template,
                    language=spec.language,
                    params=list(spec.params),
                    audience=spec.audience,
                    ref=spec.user_id,
                    key=f"reminder:{reminder.id}",
                )
            except DomainError as exc:
                if isinstance(exc, Transient):
                    raise
                await uow.rollback()
                await self._mark_failed(reminder)
                return
            reminder.status = "SENT"
            reminder.message_id = message_id
            await uow.whatsapp_reminders.save(reminder)
            await uow.commit()

    async def _mark_failed(self, reminder: Reminder) -> None:
        async with self._uow() as uow:
            current = await uow.whatsapp_reminders.get(reminder.id)
            if current is not None and current.status == "SCHEDULED":
                current.status = "FAILED"
                await uow.whatsapp_reminders.save(current)
                await uow.commit()
