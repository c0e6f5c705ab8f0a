"""``earnings.sweep_uncredited`` (tokens-earnings.md §6): the safety net that credits the mentor
of a completed meeting whose earning was not credited (``slots.earnings_credited`` false).

Why it lives here and not in the tokens domain: the sweep reads and writes ``slots``, which is
this domain's table, and the tokens domain may not import mentorship; the other way round is the
declared edge already (a completion credits through ``EarningsServices.credit_meeting``, the
tokens domain's public interface). So it is a mentorship cron that calls that interface, under
the name the spec gives it.

Each meeting is settled in its own unit of work: re-read the slot, credit it
(``credit_meeting``: the earning journal's unique ``slot_id`` makes it once per slot), then set
the flag by compare-and-set on the slot's version. A meeting the journal already holds (an
admin's manual credit) is only flagged. Two sweeps at once: the second one's journal insert
waits for the first transaction and then finds the row (nothing credited), and its CAS finds
the version moved, so it rolls back; a meeting whose booking held no token stays unflagged
(nothing to earn) and is counted. Super-mentor meetings earn nothing and are never listed.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Protocol, cast

import msgspec

from mas.core.mentorship.meetings.model import MeetingType, SlotChange, SlotStatus
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWork, UnitOfWorkFactory
from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.mentorship.meetings import MeetingServices

log = logging.getLogger("mas.mentorship.meetings")

SWEEP_UNCREDITED = Task("earnings.sweep_uncredited", NoArgs, TaskPolicy(attempts=2, timeout_s=900))
BATCH = 100


class UncreditedMeetings(Protocol):
    async def uncredited(self, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
        """Ids of ``completed`` MENTOR_CALL slots with ``earnings_credited`` false, ascending,
        after ``after``."""
        ...


class SweepUnitOfWork(MeetingsUnitOfWork, Protocol):
    uncredited_meetings: UncreditedMeetings


class CreditOutcome(Protocol):
    @property
    def credited(self) -> bool: ...

    @property
    def outcome(self) -> str:
        """``credited``, ``already_credited`` or ``nothing_held``."""
        ...


class SweptEarnings(Protocol):
    """The tokens domain's earnings credit (``EarningsServices.credit_meeting``)."""

    async def credit_meeting(
        self, uow: UnitOfWork, slot_id: uuid.UUID, mentor_id: uuid.UUID
    ) -> CreditOutcome: ...


class SweepReport(msgspec.Struct, frozen=True, kw_only=True):
    credited: int = 0
    """Meetings credited now."""
    flagged: int = 0
    """Meetings the journal held already (an admin's credit): only the flag was set."""
    nothing_held: int = 0
    """Meetings whose booking held no token: nothing to earn, left unflagged."""
    skipped: int = 0
    """Meetings another writer settled meanwhile."""


class EarningsSweep:
    def __init__(
        self,
        uow: UnitOfWorkFactory[MeetingsUnitOfWork],
        clock: Clock,
        earnings: SweptEarnings,
        batch: int = BATCH,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._earnings = earnings
        self._batch = batch

    async def run(self) -> SweepReport:
        tally = {"credited": 0, "flagged": 0, "nothing_held": 0, "skipped": 0}
        after: uuid.UUID | None = None
        while True:
            async with self._uow() as uow:
                found = await cast(SweepUnitOfWork, uow).uncredited_meetings.uncredited(
                    after, self._batch
                )
            for slot_id in found:
                tally[await self._settle(slot_id)] += 1
            if len(found) < self._batch:
                break
            after = found[-1]
        report = SweepReport(**tally)
        log.info("earnings.swept", extra=msgspec.structs.asdict(report))
        return report

    async def _settle(self, slot_id: uuid.UUID) -> str:
        async with self._uow() as uow:
            slot = await uow.slots.get(slot_id)
            if (
                slot is None
                or slot.status is not SlotStatus.COMPLETED
                or slot.meeting_type is not MeetingType.MENTOR_CALL
                or slot.earnings_credited
            ):
                return "skipped"
            credit = await self._earnings.credit_meeting(uow, slot.id, slot.mentor_id)
            if not credit.credited and credit.outcome != "already_credited":
                return "nothing_held"
            now = self._clock.now()
            change = SlotChange(earnings_credited=True, earnings_credited_at=now)
            moved = await uow.slots.move(
                slot.id, slot.status, slot.version, slot.status, change, now
            )
            if moved is None:  # settled meanwhile: this credit rolls back with the unit
                return "skipped"
            await uow.commit()
        return "credited" if credit.credited else "flagged"


async def sweep_uncredited(meetings: MeetingServices, _: NoArgs) -> None:
    """Idempotent: once per slot (the journal's unique slot id, the slot's CAS)."""
    await meetings.sweep.run()
