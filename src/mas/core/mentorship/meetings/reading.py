"""Reading meetings: a user's list (self or ADMIN) and one meeting's details (participant or
ADMIN)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from mas.core.identity.policy import Caller, Role
from mas.core.mentorship.meetings.model import Feedback, SlotStatus, SlotView
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork, Person
from mas.core.platform.errors import Forbidden, NotFound
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWorkFactory


class PersonCard(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str


class MeetingDetails(msgspec.Struct, frozen=True, kw_only=True):
    meeting: SlotView
    mentor: PersonCard | None
    student: PersonCard | None
    feedback: list[Feedback]


def _card(person: Person | None) -> PersonCard | None:
    return PersonCard(id=person.id, name=person.name) if person else None


class Meetings:
    def __init__(self, uow: UnitOfWorkFactory[MeetingsUnitOfWork]) -> None:
        self._uow = uow

    async def of_user(
        self,
        caller: Caller,
        user_id: uuid.UUID,
        status: SlotStatus | None,
        start_from: datetime | None,
        start_to: datetime | None,
        req: PageRequest,
    ) -> Page[SlotView]:
        async with self._uow() as uow:
            person = await uow.slots.person(user_id)
            if person is None:
                raise NotFound("no such user", code="user_not_found")
            if user_id != caller.user_id and not caller.is_admin:
                raise Forbidden("you may list only your own meetings", code="not_your_meetings")
            as_mentor = person.role == Role.EXPERT.value
            page = await uow.slots.of_user(user_id, as_mentor, status, start_from, start_to, req)
        return Page(
            items=[SlotView.of(s) for s in page.items],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )

    async def details(self, caller: Caller, slot_id: uuid.UUID) -> MeetingDetails:
        async with self._uow() as uow:
            slot = await uow.slots.get(slot_id)
            if slot is None or slot.student_id is None:
                raise NotFound("no such meeting", code="meeting_not_found")
            if caller.user_id not in (slot.mentor_id, slot.student_id) and not caller.is_admin:
                raise Forbidden("only a participant or an admin", code="not_participant")
            mentor = await uow.slots.person(slot.mentor_id)
            student = await uow.slots.person(slot.student_id)
            feedback = await uow.slot_feedback.of_slot(slot.id)
        return MeetingDetails(
            meeting=SlotView.of(slot),
            mentor=_card(mentor),
            student=_card(student),
            feedback=feedback,
        )
