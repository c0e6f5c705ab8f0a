"""``mentorship.calendar_sync`` (mentorship.md §6): a confirmed meeting is put on the mentor's
Google calendar (their own, else the platform's) with the student as attendee; a cancelled or
expired one is taken off again.

The task carries only the slot id and reconciles the calendar with the slot as it is when the
task runs, so a late retry, a redelivery or runs in any order all end in the same place:

- live (confirmed, cancellation requested) without an event → create it (the event id is
  derived from the slot, so a retried create answers the same event, never a second one) and
  store its id by compare-and-set; when the meeting stopped being live meanwhile, the event
  just made is deleted again;
- cancelled, rejected or expired with an event → delete it on every calendar it may be on
  (404/410 count as deleted) and clear the id; a completed meeting keeps its event.

Calendar failures are the task's to retry (``CalendarUnavailable`` is transient); the meeting
was decided and committed before the task was submitted, so an outage never blocks it (§8).
The 15-minute sweep resubmits confirmed future meetings still without an event and stale ids.
"""

from __future__ import annotations

import logging
import uuid

from mas.core.mentorship.calendar import tasks
from mas.core.mentorship.calendar.accounts import CalendarAccounts
from mas.core.mentorship.calendar.ports import CalendarUnitOfWork
from mas.core.mentorship.meetings.events import MeetingMoved
from mas.core.mentorship.meetings.model import Slot, SlotStatus
from mas.core.mentorship.ports.calendar import CalendarOwner, CalendarPort
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.mentorship.calendar")

ON_CALENDAR = frozenset({SlotStatus.CONFIRMED, SlotStatus.CANCELLATION_REQUESTED})
OFF_CALENDAR = frozenset({SlotStatus.CANCELLED, SlotStatus.REJECTED, SlotStatus.EXPIRED})
SWEEP_BATCH = 200
SWEEP_PERIOD_S = 900


def event_key(slot_id: uuid.UUID) -> str:
    """The idempotency key of a slot's one event (its Google event id derives from it)."""
    return f"mas.slot:{slot_id}"


class CalendarSync:
    def __init__(
        self,
        uow: UnitOfWorkFactory[CalendarUnitOfWork],
        clock: Clock,
        calendar: CalendarPort,
        accounts: CalendarAccounts,
        jobs: Enqueuer,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._calendar = calendar
        self._accounts = accounts
        self._jobs = jobs

    async def on_moved(self, event: MeetingMoved) -> None:
        """A meeting joined or left the calendar: submit its sync, keyed by the move (a
        redelivered event is one run; runs of two moves agree, each reading the slot)."""
        target = SlotStatus(event.status)
        if event.student_id is None:
            return
        if target is SlotStatus.CONFIRMED or target in OFF_CALENDAR:
            await self._jobs.submit(
                tasks.CALENDAR_SYNC,
                tasks.SlotRef(slot_id=event.slot_id),
                key=f"calendar:{event.slot_id}:v{event.version}",
            )

    async def run(self, slot_id: uuid.UUID) -> None:
        async with self._uow() as uow:
            slot = await uow.slots.get(slot_id)
        if slot is None or slot.student_id is None:
            return
        if slot.status in ON_CALENDAR and slot.calendar_event_id is None:
            await self._create(slot)
        elif slot.status in OFF_CALENDAR and slot.calendar_event_id is not None:
            await self._delete(slot, slot.calendar_event_id)

    async def sweep(self) -> int:
        """Resubmit what the events left undone (an exhausted retry, a calendar connected
        later); how many syncs were submitted."""
        now = self._clock.now()
        tick = int(now.timestamp() // SWEEP_PERIOD_S)
        async with self._uow() as uow:
            missing = await uow.calendar_slots.without_event(now, SWEEP_BATCH)
            stale = await uow.calendar_slots.with_stale_event(SWEEP_BATCH)
        if not (await self._accounts.status(None)).connected:
            # Without the platform's account only mentors with their own calendar get events.
            missing = [s for s in missing if (await self._accounts.status(s.mentor_id)).connected]
        for slot in [*missing, *stale]:
            await self._jobs.submit(
                tasks.CALENDAR_SYNC,
                tasks.SlotRef(slot_id=slot.id),
                key=f"calendar:{slot.id}:sweep:{tick}",
            )
        submitted = len(missing) + len(stale)
        log.info("mentorship.calendar_sweep", extra={"submitted": submitted})
        return submitted

    async def _create(self, slot: Slot) -> None:
        owner = await self._accounts.owner_for(slot.mentor_id)
        if owner is None:
            log.info(
                "mentorship.calendar_skipped",
                extra={"slot_id": str(slot.id), "reason": "no calendar connected"},
            )
            return
        async with self._uow() as uow:
            mentor = await uow.slots.person(slot.mentor_id)
            student = await uow.slots.person(slot.student_id) if slot.student_id else None
        if mentor is None or student is None:
            log.warning("mentorship.calendar_skipped", extra={"slot_id": str(slot.id)})
            return
        attendees = [student.email]
        if owner.user_id != slot.mentor_id:
            attendees.append(mentor.email)  # the platform's calendar: invite the mentor too
        event_id = await self._calendar.create_event(
            owner,
            f"Mentorship call: {mentor.name} with {student.name}",
            slot.start_date_time,
            slot.end_date_time,
            attendees,
            event_key(slot.id),
        )
        async with self._uow() as uow:
            attached = await uow.calendar_slots.attach_event(slot.id, event_id)
            await uow.commit()
        if not attached:
            # The meeting left the calendar while its event was being made: take it off.
            await self._calendar.delete_event(owner, event_id)
        log.info(
            "mentorship.calendar_event_created",
            extra={"slot_id": str(slot.id), "event_id": event_id, "kept": attached},
        )

    async def _delete(self, slot: Slot, event_id: str) -> None:
        owners = await self._owners(slot.mentor_id)
        for owner in owners:
            await self._calendar.delete_event(owner, event_id)
        if not owners:
            log.warning(
                "mentorship.calendar_event_unreachable",
                extra={"slot_id": str(slot.id), "event_id": event_id},
            )
        async with self._uow() as uow:
            await uow.calendar_slots.detach_event(slot.id, event_id)
            await uow.commit()
        log.info(
            "mentorship.calendar_event_deleted",
            extra={"slot_id": str(slot.id), "event_id": event_id},
        )

    async def _owners(self, mentor_id: uuid.UUID) -> list[CalendarOwner]:
        """Every calendar the event may be on: the mentor connected theirs after it was made
        on the platform's, or disconnected since; the id is the same on each."""
        found = []
        for owner_id in (mentor_id, None):
            credential = await self._accounts.credential(owner_id)
            if credential is not None:
                found.append(await self._accounts.owner_of(credential))
        return found
