"""Holding a meeting: start and complete (mentorship.md §4, §5, §8).

Completion moves ``confirmed -> completed`` and credits the mentor through the tokens domain's
earnings (keyed by slot there) in the same unit of work, so a meeting is credited once or not
completed at all.

Attendance: the rule is "both joined, overlapping ≥ 10 minutes", read from the room's
participation rows. The live room does not write those rows yet, so no attendance can be
verified: the mentor's ``complete`` answers 409 ``attendance_not_verified`` and only an ADMIN
completes, with ``override`` and a reason (logged as ``mentorship.completed_by_override``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from mas.core.identity.policy import Caller
from mas.core.mentorship.meetings.events import MeetingMoved
from mas.core.mentorship.meetings.model import (
    EARLY_START,
    Completion,
    Slot,
    SlotChange,
    SlotProgress,
    SlotStatus,
    check_move,
)
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork, MentorStats
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
    ) -> None:
        self._stats = stats
        self._uow = uow
        self._clock = clock
        self._earnings = earnings

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
            check_move(slot.status, SlotStatus.COMPLETED)
            if not override:
                raise Conflict(
                    "attendance is not verified (no participation was recorded)",
                    code="attendance_not_verified",
                )
            began = slot.actual_start_time or slot.start_date_time
            minutes = max(0, int((now - began).total_seconds() // 60))
            credit = await self._earnings.credit_meeting(uow, slot.id, slot.mentor_id)
            change = SlotChange(
                actual_end_time=now,
                duration_minutes=minutes,
                earnings_credited=credit.credited,
                earnings_credited_at=now if credit.credited else None,
            )
            moved = await uow.slots.move(
                slot.id, slot.status, slot.version, SlotStatus.COMPLETED, change, now
            )
            if moved is None:
                raise Conflict("the meeting changed meanwhile; try again", code="slot_changed")
            uow.record(MeetingMoved.of(slot.status.value, moved))
            await self._stats.record_completion(uow, slot.mentor_id)
            await uow.commit()
        log.info(
            "mentorship.completed_by_override",
            extra={"slot_id": str(slot.id), "actor": str(caller.user_id), "reason": reason},
        )
        return progress(moved)

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
