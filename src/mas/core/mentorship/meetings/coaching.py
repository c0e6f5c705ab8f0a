"""Super-mentor coaching (mentorship.md §2, §4, §5; §9 check 16).

A super mentor (an EXPERT with ``is_super_mentor``) schedules a token-free 1:1 meeting for a
student assigned to them: the row is written straight away as ``confirmed`` with
``meeting_type`` SUPER_MENTOR, on the publishing grid (30 minutes from :00 or :30, future,
within 60 days), and no ledger row. Its moves are ``confirmed -> completed|cancelled|expired``
(``COACHING_TRANSITIONS``); the shared paths skip refunds and earnings for it
(``settles_tokens``).

Who is assigned lives behind ``CoachingRoster`` (the spec's ``Batches.is_assigned``): an ADMIN
assigns and unassigns here until the LMS owns batches. The super mentor's flag and the student's
role are read from the account row (not the caller's cached snapshot), so a flag an ADMIN just
removed stops the next schedule.

A clash is a live row of the mentor overlapping the window (an open slot too: the mentor is
busy then) or a live booking of the student; the partial unique index on (mentor, start)
catches two schedules of one mentor racing. Two schedules of one student by two super mentors
at the same instant are not serialized (no lock is shared between them); the window is narrow
and both meetings stay visible to an ADMIN.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any

from mas.core.identity.policy import Caller, Role
from mas.core.mentorship.meetings.availability import window_problem
from mas.core.mentorship.meetings.events import MeetingMoved
from mas.core.mentorship.meetings.model import (
    Assignment,
    MeetingType,
    NewAssignment,
    NewCoachingMeeting,
    Slot,
    SlotStatus,
    SlotView,
)
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork, Person
from mas.core.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger, RenderedEmail
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory

COACHING_SCHEDULED = "mentorship.coaching_scheduled"
AGENDA_WORDS = {
    "ONBOARDING": "onboarding",
    "PROGRESS_REVIEW": "a progress review",
    "MOCK_INTERVIEW_PREP": "mock-interview preparation",
}


def coaching_scheduled(data: Mapping[str, Any]) -> RenderedEmail:
    mentor, when = str(data["mentor_name"]), str(data["start"])
    agenda = AGENDA_WORDS.get(str(data["agenda"]), str(data["agenda"]))
    text = f"{mentor} scheduled a coaching session ({agenda}) with you on {when}."
    if data.get("note"):
        text += f"\nNote: {data['note']}"
    return RenderedEmail(
        subject=f"Coaching session with {mentor}", text=text, html=f"<p>{escape(text)}</p>"
    )


def _is_super_mentor(person: Person | None) -> bool:
    return person is not None and person.role == Role.EXPERT.value and person.is_super_mentor


class Coaching:
    def __init__(
        self, uow: UnitOfWorkFactory[MeetingsUnitOfWork], clock: Clock, messenger: Messenger
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._messenger = messenger

    async def schedule(self, caller: Caller, data: NewCoachingMeeting) -> SlotView:
        mentor_id = self._mentor_of(caller, data.mentor_id)
        now = self._clock.now()
        start, end = data.start_date_time, data.end_date_time
        problem = window_problem(start, end, now)
        if problem is not None:
            raise ValidationFailed(problem, code="invalid_slot")
        async with self._uow() as uow:
            mentor = await uow.slots.person(mentor_id)
            if not _is_super_mentor(mentor):
                raise Forbidden("only a super mentor holds coaching", code="not_super_mentor")
            assert mentor is not None
            if not await uow.coaching_roster.is_assigned(mentor_id, data.student_id):
                raise Forbidden(
                    "the student is not assigned to this super mentor", code="student_not_assigned"
                )
            student = await uow.slots.person(data.student_id)
            if student is None:
                raise NotFound("no such student", code="user_not_found")
            slot = self._new(mentor_id, data, now)
            if await uow.slots.live_between(mentor_id, start, end):
                raise Conflict("the super mentor is busy at that time", code="mentor_busy")
            if await uow.slots.booked_overlapping(data.student_id, start, end, slot.id):
                raise Conflict("the student has a meeting at that time", code="student_busy")
            try:
                await uow.slots.add_many([slot])
            except DuplicateKey as error:
                raise Conflict(
                    "the super mentor is busy at that time", code="mentor_busy"
                ) from error
            uow.record(MeetingMoved.of("new", slot))
            await self._messenger.email(
                uow,
                template=COACHING_SCHEDULED,
                to=student.email,
                data={
                    "mentor_name": mentor.name,
                    "agenda": data.agenda.value,
                    "start": start.isoformat(),
                    "note": data.note or "",
                },
                key=f"{COACHING_SCHEDULED}:{slot.id}",
                related=("slot", slot.id),
            )
            await uow.commit()
        return SlotView.of(slot)

    async def meetings(
        self,
        caller: Caller,
        mentor_id: uuid.UUID | None,
        status: SlotStatus | None,
        req: PageRequest,
    ) -> Page[SlotView]:
        """A mentor's own coaching meetings (none for a mentor who never was a super mentor);
        an ADMIN's: everyone's, or one mentor's."""
        async with self._uow() as uow:
            if not caller.is_admin:
                if mentor_id not in (None, caller.user_id):
                    raise Forbidden(
                        "a super mentor lists their own meetings", code="not_your_meetings"
                    )
                mentor_id = caller.user_id
            page = await uow.slot_queries.of_type(MeetingType.SUPER_MENTOR, mentor_id, status, req)
        return Page(
            items=[SlotView.of(s) for s in page.items],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )

    async def assign(
        self, caller: Caller, super_mentor_id: uuid.UUID, data: NewAssignment
    ) -> Assignment:
        async with self._uow() as uow:
            await self._check_pair(uow, super_mentor_id, data.student_id)
            assignment = Assignment(
                id=uuid7(),
                super_mentor_id=super_mentor_id,
                student_id=data.student_id,
                assigned_by=caller.user_id,
                assigned_at=self._clock.now(),
            )
            try:
                await uow.coaching_roster.assign(assignment)
            except DuplicateKey as error:
                raise Conflict(
                    "the student is assigned to this super mentor already",
                    code="already_assigned",
                ) from error
            await uow.commit()
        return assignment

    async def unassign(self, super_mentor_id: uuid.UUID, student_id: uuid.UUID) -> None:
        """Future coaching meetings already scheduled stay (an ADMIN cancels them)."""
        async with self._uow() as uow:
            if not await uow.coaching_roster.unassign(super_mentor_id, student_id):
                raise NotFound("the student is not assigned to them", code="not_assigned")
            await uow.commit()

    async def students(self, super_mentor_id: uuid.UUID, req: PageRequest) -> Page[Assignment]:
        """A mentor whose flag was removed still lists who was assigned to them."""
        async with self._uow() as uow:
            if await uow.slots.person(super_mentor_id) is None:
                raise NotFound("no such super mentor", code="super_mentor_not_found")
            return await uow.coaching_roster.students_of(super_mentor_id, req)

    def _mentor_of(self, caller: Caller, named: uuid.UUID | None) -> uuid.UUID:
        if caller.is_admin:
            if named is None:
                raise ValidationFailed("an admin names the super mentor", code="mentor_required")
            return named
        if named not in (None, caller.user_id):
            raise Forbidden("a super mentor schedules for themselves", code="not_super_mentor")
        return caller.user_id

    async def _check_pair(
        self, uow: MeetingsUnitOfWork, super_mentor_id: uuid.UUID, student_id: uuid.UUID
    ) -> None:
        mentor = await uow.slots.person(super_mentor_id)
        if mentor is None:
            raise NotFound("no such super mentor", code="super_mentor_not_found")
        if not _is_super_mentor(mentor):
            raise ValidationFailed(
                "that user is not an EXPERT with the super-mentor flag", code="not_super_mentor"
            )
        student = await uow.slots.person(student_id)
        if student is None:
            raise NotFound("no such student", code="user_not_found")
        if student.role != Role.USER.value:
            raise ValidationFailed("only a student (USER) is coached", code="not_a_student")

    def _new(self, mentor_id: uuid.UUID, data: NewCoachingMeeting, now: datetime) -> Slot:
        slot_id = uuid7()
        return Slot(
            id=slot_id,
            mentor_id=mentor_id,
            student_id=data.student_id,
            start_date_time=data.start_date_time,
            end_date_time=data.end_date_time,
            status=SlotStatus.CONFIRMED,
            is_available=False,
            meeting_type=MeetingType.SUPER_MENTOR,
            agenda=data.agenda.value,
            booking_note=data.note,
            requested_at=now,
            decided_at=now,
            room_id=slot_id.hex,
            created_at=now,
            updated_at=now,
        )
