"""Students asking a mentor to publish slots (``availability_requests``, mentorship.md §3).

At most 3 PENDING requests per student (409); the mentor is mailed in the same unit of work.
A mentor's publish fulfils their PENDING requests; a daily cron expires those older than 14
days (one predicate update each, so a re-run changes nothing).
"""

from __future__ import annotations

import uuid

from mas.core.identity.policy import Caller
from mas.core.mentorship.meetings.mails import AVAILABILITY_REQUEST
from mas.core.mentorship.meetings.model import (
    MAX_AHEAD,
    MAX_PENDING_REQUESTS,
    REQUEST_TTL,
    AvailabilityRequest,
    NewAvailabilityRequest,
    RequestStatus,
)
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork
from mas.core.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory


class AvailabilityRequests:
    def __init__(
        self,
        uow: UnitOfWorkFactory[MeetingsUnitOfWork],
        clock: Clock,
        messenger: Messenger,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._messenger = messenger

    async def ask(
        self, caller: Caller, mentor_id: uuid.UUID, data: NewAvailabilityRequest
    ) -> AvailabilityRequest:
        now = self._clock.now()
        if not now.date() <= data.preferred_date <= (now + MAX_AHEAD).date():
            raise ValidationFailed(
                "the preferred date is between today and 60 days ahead",
                code="preferred_date_out_of_range",
            )
        if mentor_id == caller.user_id:
            raise Forbidden("nobody asks themselves", code="own_slot")
        async with self._uow() as uow:
            mentor = await uow.slots.person(mentor_id)
            if mentor is None or mentor.role != "EXPERT":
                raise NotFound("no such mentor", code="mentor_not_found")
            pending = await uow.availability_requests.pending_of(caller.user_id)
            if pending >= MAX_PENDING_REQUESTS:
                raise Conflict(
                    f"at most {MAX_PENDING_REQUESTS} requests wait at once",
                    code="too_many_pending_requests",
                )
            request = AvailabilityRequest(
                id=uuid7(),
                student_id=caller.user_id,
                mentor_id=mentor_id,
                preferred_date=data.preferred_date,
                note=data.note,
                status=RequestStatus.PENDING,
                created_at=now,
            )
            await uow.availability_requests.add(request)
            student = await uow.slots.person(caller.user_id)
            await self._messenger.email(
                uow,
                template=AVAILABILITY_REQUEST,
                to=mentor.email,
                data={
                    "student_name": student.name if student else "A student",
                    "preferred_date": data.preferred_date.isoformat(),
                    "note": data.note,
                },
                key=f"mentorship.availability_request:{request.id}",
                related=("availability_request", request.id),
            )
            await uow.commit()
        return request

    async def expire(self) -> int:
        now = self._clock.now()
        async with self._uow() as uow:
            count = await uow.availability_requests.expire(now - REQUEST_TTL, now)
            await uow.commit()
        return count
