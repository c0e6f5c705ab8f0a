"""Holding a meeting: start and complete (mentorship.md §4, §5, §8).

Completion moves ``confirmed -> completed`` and credits the mentor through the tokens domain's
earnings (keyed by slot there) in the same unit of work, so a meeting is credited once or not
completed at all.

Attendance: the rule is "both joined, overlapping ≥ ``MAS_MIN_VERIFIED_MINUTES`` inside the
slot", read from the room's participation rows (``AttendanceLog``). Without it the mentor's
``complete`` answers 409 ``attendance_not_verified``; an ADMIN completes anyway with
``override`` and a reason (logged as ``mentorship.completed_by_override``).

``auto_complete`` is the 5-minute cron ``mentorship.auto_complete``: confirmed meetings 30
minutes past their end whose attendance is verified are completed the same way (the cleanup
expires the others). Both paths end in ``_finish``: the earnings credit keyed by slot and the
compare-and-set on (id, status, version) in one unit of work, so a meeting is credited once
however many times, and by whichever path, it is completed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Protocol

from mas.core.identity.policy import Caller
from mas.core.mentorship.meetings.cleanup import BATCH, GRACE
from mas.core.mentorship.meetings.events import MeetingMoved
from mas.core.mentorship.meetings.model import (
    EARLY_START,
    Completion,
    MeetingType,
    Slot,
    SlotChange,
    SlotProgress,
    SlotStatus,
    check_move,
    settles_tokens,
)
from mas.core.mentorship.meetings.ports import AttendanceLog, MeetingsUnitOfWork, MentorStats
from mas.core.platform.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("mas.mentorship.meetings")


class Credited(Protocol):
    @property
    def credited(self) -> bool: ...

    @property
    def outcome(self) -> str:
        """``credited``, ``already_credited`` or ``nothing_held`` (the earnings sweep reads it)."""
        ...


class MeetingEarnings(Protocol):
    """The tokens domain's earnings credit (``EarningsServices.credit_meeting``)."""

    async def credit_meeting(
        self, uow: UnitOfWork, slot_id: uuid.UUID, mentor_id: uuid.UUID
    ) -> Credited: ...


def progress(slot: Slot) -> SlotProgress:
    return SlotProgress(
        id=slot.id,
        status=slot.status,
        actual_start_time=slot.actual_start_time,
        actual_end_time=slot.actual_end_time,
        duration_minutes=slot.duration_minutes,
        earnings_credited=slot.earnings_credited,
        earnings_credited_at=slot.earnings_credited_at,
    )


class Conduct:
    def __init__(
        self,
        uow: UnitOfWorkFactory[MeetingsUnitOfWork],
        clock: Clock,
        earnings: MeetingEarnings,
        stats: MentorStats,
        attendance: AttendanceLog,
    ) -> None:
        self._stats = stats
        self._uow = uow
        self._clock = clock
        self._earnings = earnings
        self._attendance = attendance

    async def start(self, caller: Caller, slot_id: uuid.UUID) -> SlotProgress:
        now = self._clock.now()
        async with self._uow() as uow:
            slot = await _participant_slot(uow, caller, slot_id)
            if slot.status is not SlotStatus.CONFIRMED:
                raise InvalidState("meeting", slot.status.value, "started")
            if slot.actual_start_time is not None:
                raise Conflict("the meeting has already started", code="already_started")
            if now < slot.start_date_time - EARLY_START:
                raise ValidationFailed(
                    "a meeting starts at most 10 minutes early", code="too_early"
                )
            moved = await uow.slots.move(
                slot.id,
                slot.status,
                slot.version,
                slot.status,
                SlotChange(actual_start_time=now),
                now,
            )
            if moved is None:
                raise Conflict("the meeting changed meanwhile; try again", code="slot_changed")
            await uow.commit()
        return progress(moved)

    async def complete(
        self, caller: Caller, slot_id: uuid.UUID, data: Completion | None
    ) -> SlotProgress:
        override = data is not None and data.override
        reason = data.reason if data is not None else None
        if override and not caller.is_admin:
            raise Forbidden("only an admin completes without attendance", code="override_admin")
        if override and not reason:
            raise ValidationFailed("an override needs a reason", code="override_reason")
        now = self._clock.now()
        async with self._uow() as uow:
            slot = await _participant_slot(uow, caller, slot_id)
            if slot.student_id == caller.user_id and not caller.is_admin:
                raise Forbidden("only the mentor or an admin completes", code="not_participant")
            check_move(slot.status, SlotStatus.COMPLETED, slot.meeting_type)
        # Read outside the move's transaction; the move's compare-and-set on the version read
        # here refuses it if the meeting changed meanwhile.
        if not override and not (await self._attendance.of(slot)).verified:
            raise Conflict(
                "attendance is not verified: the student and the mentor were not in the "
                "meeting's room together for the minimum",
                code="attendance_not_verified",
            )
        async with self._uow() as uow:
            moved = await self._finish(uow, slot, now, ended=now)
            if moved is None:
                raise Conflict("the meeting changed meanwhile; try again", code="slot_changed")
            await uow.commit()
        if override:
            log.info(
                "mentorship.completed_by_override",
                extra={"slot_id": str(slot.id), "actor": str(caller.user_id), "reason": reason},
            )
        return progress(moved)

    async def auto_complete(self) -> int:
        """Complete every confirmed meeting 30 minutes past its end whose attendance is
        verified; how many this run completed."""
        completed = 0
        while True:
            now = self._clock.now()
            async with self._uow() as uow:
                due = await uow.slots.due(now, now - GRACE, BATCH)
            done = 0
            for slot in due:
                if slot.status is not SlotStatus.CONFIRMED:
                    continue  # the cleanup's
                if not (await self._attendance.of(slot)).verified:
                    continue  # the cleanup expires it
                async with self._uow() as uow:
                    moved = await self._finish(uow, slot, now, ended=slot.end_date_time)
                    if moved is None:
                        continue  # completed or expired meanwhile (another run, the cleanup)
                    await uow.commit()
                done += 1
            completed += done
            if len(due) < BATCH or done == 0:
                break
        log.info("mentorship.auto_complete", extra={"completed": completed})
        return completed

    async def _finish(
        self, uow: MeetingsUnitOfWork, slot: Slot, now: datetime, ended: datetime
    ) -> Slot | None:
        """``confirmed -> completed`` with its duration and the mentor's credit (keyed by slot);
        None, with nothing to commit, when the row moved since ``slot`` was read."""
        began = slot.actual_start_time or slot.start_date_time
        minutes = max(0, int((ended - began).total_seconds() // 60))
        credited = False
        if settles_tokens(slot.meeting_type):  # a super-mentor meeting earns nothing
            credited = (await self._earnings.credit_meeting(uow, slot.id, slot.mentor_id)).credited
        change = SlotChange(
            actual_end_time=ended,
            duration_minutes=minutes,
            earnings_credited=credited,
            earnings_credited_at=now if credited else None,
        )
        moved = await uow.slots.move(
            slot.id, slot.status, slot.version, SlotStatus.COMPLETED, change, now
        )
        if moved is None:
            return None
        uow.record(MeetingMoved.of(slot.status.value, moved))
        if slot.meeting_type is MeetingType.MENTOR_CALL:  # coaching is not on the leaderboard
            await self._stats.record_completion(uow, slot.mentor_id)
        return moved

    async def details(self, caller: Caller, slot_id: uuid.UUID) -> SlotProgress:
        async with self._uow() as uow:
            slot = await _participant_slot(uow, caller, slot_id)
        return progress(slot)


async def _participant_slot(uow: MeetingsUnitOfWork, caller: Caller, slot_id: uuid.UUID) -> Slot:
    slot = await uow.slots.get(slot_id)
    if slot is None or slot.student_id is None:
        raise NotFound("no such meeting", code="meeting_not_found")
    if caller.user_id not in (slot.mentor_id, slot.student_id) and not caller.is_admin:
        raise Forbidden("only a participant or an admin", code="not_participant")
    return slot
