"""``PUT /mentors/users/{userId}/meetings/{meetingId}/status`` (mentorship.md §5): the original
clients' one status route, kept as a facade over the explicit moves.

``move_for`` maps (current status, wanted status) onto one of the moves of ``Bookings`` or
``Conduct``; the move itself applies its own role rules and state checks, so there is one
policy. The facade adds only what the original route said: ``{userId}`` is the caller unless
ADMIN, a student may only ask for ``cancellation_requested`` (anything else is 409
``illegal_transition``, as in the original), and a status no move reaches (``open``,
``expired``) is 422 ``unsupported_status``. ``completed`` runs the mentor's complete without an
override (an ADMIN overriding uses ``/slots/{id}/complete``).
"""

from __future__ import annotations

import enum
import uuid

from mas.core.identity.policy import Caller
from mas.core.mentorship.meetings.bookings import Bookings
from mas.core.mentorship.meetings.conduct import Conduct
from mas.core.mentorship.meetings.model import SlotStatus, SlotView, StatusChange
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork
from mas.core.platform.errors import Forbidden, InvalidState, NotFound, ValidationFailed
from mas.core.platform.ports.uow import UnitOfWorkFactory


class Move(enum.Enum):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CANCELLATION = "request_cancellation"
    APPROVE_CANCELLATION = "approve_cancellation"
    DECLINE_CANCELLATION = "decline_cancellation"
    CANCEL = "cancel"
    COMPLETE = "complete"


S = SlotStatus


def move_for(current: SlotStatus, target: SlotStatus) -> Move | None:
    """The explicit move that reaches ``target``; None for a status no move reaches."""
    pending = current is S.CANCELLATION_REQUESTED
    return {
        S.CONFIRMED: Move.DECLINE_CANCELLATION if pending else Move.APPROVE,
        S.REJECTED: Move.REJECT,
        S.CANCELLATION_REQUESTED: Move.REQUEST_CANCELLATION,
        S.CANCELLED: Move.APPROVE_CANCELLATION if pending else Move.CANCEL,
        S.COMPLETED: Move.COMPLETE,
    }.get(target)


class StatusFacade:
    def __init__(
        self, uow: UnitOfWorkFactory[MeetingsUnitOfWork], bookings: Bookings, conduct: Conduct
    ) -> None:
        self._uow = uow
        self._bookings = bookings
        self._conduct = conduct

    async def set_status(
        self, caller: Caller, user_id: uuid.UUID, meeting_id: uuid.UUID, data: StatusChange
    ) -> SlotView:
        if user_id != caller.user_id and not caller.is_admin:
            raise Forbidden("you may change only your own meetings", code="not_your_meetings")
        async with self._uow() as uow:
            slot = await uow.slots.get(meeting_id)
        if slot is None or slot.student_id is None:
            raise NotFound("no such meeting", code="meeting_not_found")
        if caller.user_id not in (slot.mentor_id, slot.student_id) and not caller.is_admin:
            raise Forbidden("only a participant or an admin", code="not_participant")
        move = move_for(slot.status, data.status)
        if move is None:
            raise ValidationFailed(f"no move sets '{data.status.value}'", code="unsupported_status")
        as_student = caller.user_id == slot.student_id and not caller.is_admin
        if as_student and move is not Move.REQUEST_CANCELLATION:
            raise InvalidState("meeting", slot.status.value, data.status.value)
        return await self._run(caller, meeting_id, move, data.reason)

    async def _run(
        self, caller: Caller, meeting_id: uuid.UUID, move: Move, reason: str | None
    ) -> SlotView:
        bookings = self._bookings
        match move:
            case Move.APPROVE:
                return await bookings.approve(caller, meeting_id)
            case Move.REJECT:
                return await bookings.reject(caller, meeting_id, reason)
            case Move.REQUEST_CANCELLATION:
                return await bookings.request_cancellation(caller, meeting_id, reason)
            case Move.APPROVE_CANCELLATION:
                return await bookings.approve_cancellation(caller, meeting_id)
            case Move.DECLINE_CANCELLATION:
                return await bookings.decline_cancellation(caller, meeting_id)
            case Move.CANCEL:
                return await bookings.cancel(caller, meeting_id, reason)
            case Move.COMPLETE:
                await self._conduct.complete(caller, meeting_id, None)
        async with self._uow() as uow:
            done = await uow.slots.get(meeting_id)
        assert done is not None  # completed rows are never deleted
        return SlotView.of(done)
