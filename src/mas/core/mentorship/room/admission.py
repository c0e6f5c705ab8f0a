"""Who may open a meeting's room socket (architecture-original §c3, §c8 check 14).

A user opens ``WS /ws/meetings/{slot_id}?ticket=…`` with a realtime ticket (purpose
``meeting``, resource = the slot id; single-use, 60 s); a recording bot with its bot ticket
(``bot_tickets``: ``<meeting id>.<expiry>.<mac>``; a user ticket never holds a dot). The
refusals become close codes, checked in this order so an outsider learns nothing about a
meeting's state:

=====  ====================================================================================
4401   no ticket, or an unknown, used, expired or misdirected one
4404   the ticket is good but the slot is no booked meeting
4403   the user is neither the booked student, the mentor, nor an ADMIN/SUPERADMIN
4409   the meeting is not ``confirmed`` (not yet approved, cancelled, over)
=====  ====================================================================================
"""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

from mas.core.mentorship.meetings.model import Slot, SlotStatus
from mas.core.mentorship.room import bot_tickets
from mas.core.mentorship.room.ports import RoomUnitOfWork
from mas.core.mentorship.room_messages import Member
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tickets import InvalidTicket, RealtimeTickets

PURPOSE = "meeting"
"""The realtime-ticket purpose of a meeting room (``resource_id`` = the slot id)."""
ADMIN_ROLES = frozenset({"ADMIN", "SUPERADMIN"})

CLOSE_INVALID_TICKET = 4401
CLOSE_NOT_PARTICIPANT = 4403
CLOSE_NO_MEETING = 4404
CLOSE_NOT_CONFIRMED = 4409


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Admitted(msgspec.Struct, frozen=True, kw_only=True):
    slot: Slot
    member: Member


class Admission:
    def __init__(
        self,
        uow: UnitOfWorkFactory[RoomUnitOfWork],
        clock: Clock,
        tickets: RealtimeTickets,
        bot_key: bytes,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._tickets = tickets
        self._bot_key = bot_key

    async def admit(self, slot_id: uuid.UUID, ticket: str | None) -> Admitted:
        """The member this ticket lets into the room; ``Refused`` with the close code else."""
        if ticket and "." in ticket:
            return await self._admit_bot(slot_id, ticket)
        try:
            user_id = await self._tickets.redeem(ticket or "", PURPOSE, str(slot_id))
        except InvalidTicket as exc:
            raise Refused(CLOSE_INVALID_TICKET, exc.detail) from None
        async with self._uow() as uow:
            slot = await uow.slots.get(slot_id)
            if slot is None or slot.student_id is None:
                raise Refused(CLOSE_NO_MEETING, "no such meeting")
            role: Literal["STUDENT", "MENTOR", "ADMIN"]
            if user_id == slot.student_id:
                role = "STUDENT"
            elif user_id == slot.mentor_id:
                role = "MENTOR"
            else:
                person = await uow.slots.person(user_id)
                if person is None or person.role not in ADMIN_ROLES:
                    raise Refused(CLOSE_NOT_PARTICIPANT, "not a participant of this meeting")
                role = "ADMIN"
        _check_confirmed(slot)
        return Admitted(slot=slot, member=Member(user_id=user_id, role=role))

    async def _admit_bot(self, slot_id: uuid.UUID, ticket: str) -> Admitted:
        if not bot_tickets.verify(self._bot_key, ticket, slot_id, self._clock.now()):
            raise Refused(CLOSE_INVALID_TICKET, "the bot ticket is not valid for this meeting")
        async with self._uow() as uow:
            slot = await uow.slots.get(slot_id)
        if slot is None or slot.student_id is None:
            raise Refused(CLOSE_NO_MEETING, "no such meeting")
        _check_confirmed(slot)
        # A bot is no user: a fresh id per connection makes it addressable for signalling.
        return Admitted(slot=slot, member=Member(user_id=uuid.uuid4(), role="OBSERVER"))


def _check_confirmed(slot: Slot) -> None:
    if slot.status is not SlotStatus.CONFIRMED:
        raise Refused(CLOSE_NOT_CONFIRMED, f"the meeting is {slot.status.value}, not confirmed")
