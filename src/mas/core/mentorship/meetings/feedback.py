"""Feedback on a completed meeting: one per side (the student rates the mentor, the mentor
the student); a second one, or one before completion, is 409."""

from __future__ import annotations

import uuid

from mas.core.identity.policy import Caller
from mas.core.mentorship.meetings.model import (
    AuthorRole,
    Feedback,
    NewFeedback,
    SlotStatus,
)
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork, MentorStats
from mas.core.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory


class Feedbacks:
    def __init__(
        self, uow: UnitOfWorkFactory[MeetingsUnitOfWork], clock: Clock, stats: MentorStats
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._stats = stats

    async def give(
        self, caller: Caller, user_id: uuid.UUID, slot_id: uuid.UUID, data: NewFeedback
    ) -> Feedback:
        if user_id != caller.user_id:
            raise Forbidden("feedback is given in one's own name", code="not_your_meetings")
        async with self._uow() as uow:
            slot = await uow.slots.get(slot_id)
            if slot is None or slot.student_id is None:
                raise NotFound("no such meeting", code="meeting_not_found")
            if caller.user_id == slot.student_id:
                role = AuthorRole.STUDENT
            elif caller.user_id == slot.mentor_id:
                role = AuthorRole.MENTOR
            else:
                raise Forbidden("only a participant gives feedback", code="not_participant")
            if slot.status is not SlotStatus.COMPLETED:
                raise Conflict("the meeting is not completed", code="meeting_not_completed")
            if role is AuthorRole.STUDENT and data.is_mentor_joined_on_time is None:
                raise ValidationFailed(
                    "say whether the mentor joined on time", code="joined_on_time_required"
                )
            feedback = Feedback(
                id=uuid7(),
                slot_id=slot.id,
                author_role=role,
                rating=data.rating,
                experience=data.experience,
                is_mentor_joined_on_time=data.is_mentor_joined_on_time,
                comments=data.comments,
                created_at=self._clock.now(),
            )
            try:
                await uow.slot_feedback.add(feedback)
            except DuplicateKey as error:
                raise Conflict("this side already gave feedback", code="feedback_exists") from error
            if role is AuthorRole.STUDENT:
                await self._stats.record_rating(uow, slot.mentor_id, data.rating)
            await uow.commit()
        return feedback
