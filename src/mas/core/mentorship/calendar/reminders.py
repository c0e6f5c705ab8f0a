"""``mentorship.reminders`` (mentorship.md §6): 24 hours and 15 minutes before a confirmed
meeting, the student and the mentor each get a mail and an in-app notification.

Every reminder is one unit of work: the compare-and-set that stamps ``reminder_<kind>_sent_at``
(only while it is empty and the meeting confirmed) and the messages, which the messenger
writes in the same transaction. A second run, or two schedulers at once, finds the stamp set
and sends nothing; a failed send rolls the stamp back with it. The messages' keys repeat the
slot and kind, so even a replayed transaction is one mail per person.
"""

from __future__ import annotations

import logging

from mas.core.mentorship.calendar.mails import MEETING_REMINDER, reminder_text
from mas.core.mentorship.calendar.model import ReminderKind, window
from mas.core.mentorship.calendar.ports import CalendarUnitOfWork
from mas.core.mentorship.meetings.model import Slot
from mas.core.mentorship.meetings.ports import Person
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.mentorship.calendar")

BATCH = 200
CATEGORY = "MEETING"


class Reminders:
    def __init__(
        self, uow: UnitOfWorkFactory[CalendarUnitOfWork], clock: Clock, messenger: Messenger
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._messenger = messenger

    async def run(self) -> int:
        """Send every due reminder; how many meetings were reminded."""
        sent = 0
        for kind in ReminderKind:
            while True:
                after, until = window(kind, self._clock.now())
                async with self._uow() as uow:
                    due = await uow.calendar_slots.reminders_due(kind, after, until, BATCH)
                done = [await self._remind(slot, kind) for slot in due]
                sent += sum(done)
                if len(due) < BATCH or not any(done):
                    break
        log.info("mentorship.reminders", extra={"sent": sent})
        return sent

    async def _remind(self, slot: Slot, kind: ReminderKind) -> bool:
        async with self._uow() as uow:
            if not await uow.calendar_slots.mark_reminded(slot.id, kind, self._clock.now()):
                return False
            mentor = await uow.slots.person(slot.mentor_id)
            student = await uow.slots.person(slot.student_id) if slot.student_id else None
            for person, other in [(student, mentor), (mentor, student)]:
                if person is not None:
                    await self._tell(uow, slot, kind, person, other)
            await uow.commit()
        return True

    async def _tell(
        self,
        uow: CalendarUnitOfWork,
        slot: Slot,
        kind: ReminderKind,
        person: Person,
        other: Person | None,
    ) -> None:
        data = {
            "kind": kind.value,
            "start": slot.start_date_time.isoformat(),
            "with_name": other.name if other is not None else "your mentorship partner",
        }
        key = f"{MEETING_REMINDER}:{slot.id}:{kind.value}:{person.id}"
        await self._messenger.email(
            uow,
            template=MEETING_REMINDER,
            to=person.email,
            data=data,
            key=key,
            related=("slot", slot.id),
        )
        title, body = reminder_text(data)
        await self._messenger.notify(
            uow, person.id, CATEGORY, title, body, dedupe_key=key, data={"slot_id": str(slot.id)}
        )
