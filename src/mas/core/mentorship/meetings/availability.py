"""Publishing and removing availability, and reading a mentor's slots (mentorship.md §5, §8).

A publish call is all-or-nothing: every entry is checked (30 minutes exactly, on a :00/:30
boundary, in the future, at most 60 days ahead, not twice in the call, not overlapping a live
row of the mentor) and one bad entry refuses the whole call, listing each bad entry. An entry
identical to an ``open`` row is that row, not a new one. A publish that adds slots fulfils the
mentor's PENDING availability requests. The partial unique index on (mentor,
start) over live rows catches two publishes racing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from mas.core.identity.policy import Caller
from mas.core.mentorship.meetings.model import (
    LIVE,
    MAX_AHEAD,
    SLOT_LENGTH,
    PublishSlots,
    RemovedSlots,
    RemoveSlots,
    Slot,
    SlotStatus,
    SlotView,
)
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork, MentorStats
from mas.core.platform.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory


def window_problem(start: datetime, end: datetime, now: datetime) -> str | None:
    if end - start != SLOT_LENGTH:
        return "a slot lasts exactly 30 minutes"
    if start.second or start.microsecond or start.minute % 30:
        return "a slot starts on the hour or the half hour"
    if start <= now:
        return "the slot is in the past"
    if start > now + MAX_AHEAD:
        return "the slot is more than 60 days ahead"
    return None


class Availability:
    def __init__(
        self, uow: UnitOfWorkFactory[MeetingsUnitOfWork], clock: Clock, stats: MentorStats
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._stats = stats

    async def publish(self, caller: Caller, data: PublishSlots) -> list[SlotView]:
        now = self._clock.now()
        bad: list[FieldError] = []
        seen: set[datetime] = set()
        for index, window in enumerate(data.slots):
            problem = window_problem(window.start_date_time, window.end_date_time, now)
            if problem is None and window.start_date_time in seen:
                problem = "the slot is listed twice"
            seen.add(window.start_date_time)
            if problem is not None:
                bad.append(FieldError(f"slots[{index}]", problem))
        if bad:
            raise ValidationFailed(
                f"{len(bad)} slot(s) refused; nothing was published",
                code="invalid_slots",
                errors=bad,
            )
        async with self._uow() as uow:
            kept: list[Slot] = []
            fresh: list[Slot] = []
            clashes: list[FieldError] = []
            for index, window in enumerate(data.slots):
                start, end = window.start_date_time, window.end_date_time
                live = await uow.slots.live_between(caller.user_id, start, end)
                same = [s for s in live if s.start_date_time == start and s.status in LIVE]
                if len(live) == 1 and same and same[0].status is SlotStatus.OPEN:
                    kept.append(same[0])
                elif live:
                    clashes.append(FieldError(f"slots[{index}]", "overlaps a live slot"))
                else:
                    fresh.append(self._new(caller.user_id, start, end, now))
            if clashes:
                raise Conflict(
                    f"{len(clashes)} slot(s) overlap live slots; nothing was published",
                    code="slot_overlap",
                    errors=clashes,
                )
            if fresh:
                await uow.availability_requests.fulfil(caller.user_id, now)
            try:
                await uow.slots.add_many(fresh)
            except DuplicateKey as error:
                raise Conflict(
                    "another publish wrote one of these slots; nothing was published",
                    code="slot_overlap",
                ) from error
            await self._stats.adjust_open_slots(uow, caller.user_id, len(fresh))
            await uow.commit()
        order = {w.start_date_time: i for i, w in enumerate(data.slots)}
        every = sorted([*kept, *fresh], key=lambda s: order[s.start_date_time])
        return [SlotView.of(slot) for slot in every]

    async def remove(self, caller: Caller, data: RemoveSlots) -> RemovedSlots:
        wanted = list(dict.fromkeys(data.slot_ids))
        async with self._uow() as uow:
            removed = await uow.slots.delete_open(caller.user_id, wanted)
            await self._stats.adjust_open_slots(uow, caller.user_id, -len(removed))
            booked: list[uuid.UUID] = []
            missing: list[uuid.UUID] = []
            for slot_id in wanted:
                if slot_id in removed:
                    continue
                slot = await uow.slots.get(slot_id)
                mine = slot is not None and slot.mentor_id == caller.user_id
                (booked if mine else missing).append(slot_id)
            await uow.commit()
        return RemovedSlots(removed=removed, booked=booked, missing=missing)

    async def open_of(self, mentor_id: uuid.UUID, req: PageRequest) -> Page[SlotView]:
        async with self._uow() as uow:
            mentor = await uow.slots.person(mentor_id)
            if mentor is None or mentor.role != "EXPERT":
                raise NotFound("no such mentor", code="mentor_not_found")
            page = await uow.slots.of_mentor(mentor_id, [SlotStatus.OPEN], self._clock.now(), req)
        return _views(page)

    async def all_of(
        self, caller: Caller, mentor_id: uuid.UUID, req: PageRequest
    ) -> Page[SlotView]:
        async with self._uow() as uow:
            mentor = await uow.slots.person(mentor_id)
            if mentor is None or mentor.role != "EXPERT":
                raise NotFound("no such mentor", code="mentor_not_found")
            if mentor_id != caller.user_id and not caller.is_admin:
                raise Forbidden(
                    "only the mentor or an admin sees these slots", code="not_your_slots"
                )
            page = await uow.slots.of_mentor(mentor_id, None, None, req)
        return _views(page)

    def _new(self, mentor_id: uuid.UUID, start: datetime, end: datetime, now: datetime) -> Slot:
        slot_id = uuid7()
        return Slot(
            id=slot_id,
            mentor_id=mentor_id,
            start_date_time=start,
            end_date_time=end,
            status=SlotStatus.OPEN,
            room_id=slot_id.hex,
            created_at=now,
            updated_at=now,
        )


def _views(page: Page[Slot]) -> Page[SlotView]:
    return Page(
        items=[SlotView.of(s) for s in page.items],
        total=page.total,
        page=page.page,
        page_size=page.page_size,
    )
