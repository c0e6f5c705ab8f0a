"""``mentorship.slot_cleanup`` (mentorship.md §6): rows whose start has passed undecided.

``tentative`` → ``expired`` (NO_DECISION, refund); ``cancellation_requested`` → ``cancelled``
(refund); ``open`` → ``expired``; ``confirmed`` 30 minutes after its end without verified
attendance → ``expired`` with the reason the room's attendance gives (NOBODY_JOINED and
MENTOR_NO_SHOW refund, STUDENT_NO_SHOW does not; a verified meeting is left for completion).
Each row is its own unit of work with a compare-and-set on
(id, status, version), and the refund is keyed ``refund:<slot>``: a second run, or two workers
at once, finds the row moved (or the key used) and refunds nothing more.

Attendance comes from the room's participation rows (``ParticipationLog``): only the mentor
joined → STUDENT_NO_SHOW; only the student → MENTOR_NO_SHOW; nobody, or both but together for
less than the minimum → NOBODY_JOINED (refunded: neither side is shown to have stood the other
up). Lost realtime events leave no rows, so such a meeting expires NOBODY_JOINED with a refund
(mentorship.md §8). A verified one is completed by ``mentorship.auto_complete`` (``conduct``).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from mas.core.mentorship.meetings.bookings import TokenHolds
from mas.core.mentorship.meetings.events import MeetingMoved
from mas.core.mentorship.meetings.model import (
    ExpiryReason,
    Slot,
    SlotChange,
    SlotStatus,
    check_move,
    refunds,
    settles_tokens,
)
from mas.core.mentorship.meetings.ports import (
    Attendance,
    AttendanceLog,
    MeetingsUnitOfWork,
    MentorStats,
)
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.mentorship.meetings")

BATCH = 200
GRACE = timedelta(minutes=30)
TARGET = {
    SlotStatus.OPEN: SlotStatus.EXPIRED,
    SlotStatus.TENTATIVE: SlotStatus.EXPIRED,
    SlotStatus.CANCELLATION_REQUESTED: SlotStatus.CANCELLED,
    SlotStatus.CONFIRMED: SlotStatus.EXPIRED,
}


def no_show(attendance: Attendance) -> ExpiryReason | None:
    """Why a confirmed meeting expires; None when attendance is verified (not expired)."""
    if attendance.verified:
        return None
    if attendance.mentor_joined and not attendance.student_joined:
        return ExpiryReason.STUDENT_NO_SHOW
    if attendance.student_joined and not attendance.mentor_joined:
        return ExpiryReason.MENTOR_NO_SHOW
    return ExpiryReason.NOBODY_JOINED


class SlotCleanup:
    def __init__(
        self,
        uow: UnitOfWorkFactory[MeetingsUnitOfWork],
        clock: Clock,
        holds: TokenHolds,
        attendance: AttendanceLog,
        stats: MentorStats,
    ) -> None:
        self._stats = stats
        self._uow = uow
        self._clock = clock
        self._holds = holds
        self._attendance = attendance

    async def run(self) -> int:
        """Move every due row; how many this run moved."""
        moved = 0
        while True:
            async with self._uow() as uow:
                now = self._clock.now()
                due = await uow.slots.due(now, now - GRACE, BATCH)
            done = 0
            for slot in due:
                done += await self._settle(slot)
            moved += done
            if len(due) < BATCH or done == 0:
                break
        log.info("mentorship.slot_cleanup", extra={"moved": moved})
        return moved

    async def _settle(self, slot: Slot) -> int:
        target = TARGET[slot.status]
        check_move(slot.status, target)
        reason = ExpiryReason.NO_DECISION if slot.status is SlotStatus.TENTATIVE else None
        if slot.status is SlotStatus.CONFIRMED:
            reason = no_show(await self._attendance.of(slot))
            if reason is None:
                return 0
        change = SlotChange(expiry_reason=reason, clear_nonce=True)
        now = self._clock.now()
        async with self._uow() as uow:
            moved = await uow.slots.move(slot.id, slot.status, slot.version, target, change, now)
            if moved is None:
                return 0
            uow.record(MeetingMoved.of(slot.status.value, moved))
            if slot.status is SlotStatus.OPEN:
                await self._stats.adjust_open_slots(uow, slot.mentor_id, -1)
            refund = refunds(slot.status, target, reason) and settles_tokens(slot.meeting_type)
            if refund and slot.student_id is not None:
                await self._holds.refund_meeting(uow, slot.student_id, slot.id, "slot_cleanup")
            await uow.commit()
        return 1
