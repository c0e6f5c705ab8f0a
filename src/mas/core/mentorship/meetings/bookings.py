"""Booking a slot and every decision on it (mentorship.md §4, §5, §8).

Each move is one unit of work: the compare-and-set on (id, status, version) and its token
effect (``TokenHolds``: the tokens domain's purse) commit together or not at all. Two students
racing for one slot both try ``open -> tentative``; PostgreSQL makes the second wait on the row
and then finds it no longer ``open`` (0 rows: 409), so one token moves. A booking takes the
student's wallet lock before it checks the student's other bookings, so two overlapping
bookings by one student are serialized there and the second sees the first. A booking sent
with an ``Idempotency-Key`` claims it first (``booking_keys``): a retry answers the first
booking and holds nothing more. A super-mentor meeting is never booked here and its moves
refund nothing (``settles_tokens``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

import msgspec

from mas.core.identity.policy import Caller, Platform, Role
from mas.core.mentorship.meetings import booking_keys, links
from mas.core.mentorship.meetings.events import MeetingMoved
from mas.core.mentorship.meetings.mails import (
    BOOKING_REQUEST,
    CANCELLATION_NOTICE,
    MEETING_UPDATE,
)
from mas.core.mentorship.meetings.model import (
    MIN_NOTICE,
    BookingRequest,
    EmailAction,
    Slot,
    SlotChange,
    SlotStatus,
    SlotView,
    check_move,
    refunds,
    settles_tokens,
)
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork, MentorStats
from mas.core.platform.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWork, UnitOfWorkFactory


class TokenHolds(Protocol):
    """The part of the tokens domain's ``Purse`` a meeting uses (in the caller's unit of work,
    keyed ``book:<slot>`` / ``refund:<slot>``; ``InsufficientTokens`` is a 402)."""

    async def hold_for_meeting(
        self, uow: UnitOfWork, student_id: uuid.UUID, slot_id: uuid.UUID
    ) -> object: ...

    async def refund_meeting(
        self, uow: UnitOfWork, student_id: uuid.UUID, slot_id: uuid.UUID, reason: str
    ) -> object: ...


Rule = Callable[[Caller, Slot], bool]


class Booked(msgspec.Struct, frozen=True, kw_only=True):
    slot: SlotView
    replayed: bool
    """The answer of an earlier request with the same ``Idempotency-Key``."""


def _student(caller: Caller, slot: Slot) -> bool:
    return caller.user_id == slot.student_id


def _mentor(caller: Caller, slot: Slot) -> bool:
    return caller.user_id == slot.mentor_id


def _mentor_or_admin(caller: Caller, slot: Slot) -> bool:
    return caller.is_admin or _mentor(caller, slot)


class Bookings:
    def __init__(
        self,
        uow: UnitOfWorkFactory[MeetingsUnitOfWork],
        clock: Clock,
        holds: TokenHolds,
        messenger: Messenger,
        link_secret: bytes,
        base_url: str,
        stats: MentorStats,
    ) -> None:
        self._stats = stats
        self._uow = uow
        self._clock = clock
        self._holds = holds
        self._messenger = messenger
        self._secret = link_secret
        self._base_url = base_url

    async def book(
        self, caller: Caller, data: BookingRequest, idempotency_key: str | None = None
    ) -> SlotView:
        return (await self.book_once(caller, data, idempotency_key)).slot

    async def book_once(
        self, caller: Caller, data: BookingRequest, idempotency_key: str | None
    ) -> Booked:
        """Book; with an ``idempotency_key`` the student sent before with this request, the
        slot it booked then (``replayed``), holding nothing more (``booking_keys``)."""
        now = self._clock.now()
        start, end = data.start_date_time, data.end_date_time
        async with self._uow() as uow:
            if idempotency_key is not None:
                first = await booking_keys.replay(uow, caller.user_id, idempotency_key, data, now)
                if first is not None:
                    return Booked(slot=first, replayed=True)
            if start - now < MIN_NOTICE:
                raise ValidationFailed(
                    "a slot is booked at least 2 hours before it starts", code="too_late_to_book"
                )
            if data.mentor_id == caller.user_id:
                raise Forbidden("a mentor cannot book their own slot", code="own_slot")
            live = await uow.slots.live_between(data.mentor_id, start, end)
            slot = next(
                (s for s in live if s.start_date_time == start and s.end_date_time == end), None
            )
            if slot is None:
                raise NotFound("the mentor has no slot at that time", code="slot_not_found")
            if slot.status is not SlotStatus.OPEN:
                raise Conflict("the slot is already taken", code="slot_taken")
            nonce = links.new_nonce()
            change = SlotChange(
                student_id=caller.user_id,
                is_available=False,
                booking_note=data.note,
                requested_at=now,
                email_action_nonce=nonce,
            )
            moved = await uow.slots.move(
                slot.id, slot.status, slot.version, SlotStatus.TENTATIVE, change, now
            )
            if moved is None:
                raise Conflict("the slot is already taken", code="slot_taken")
            uow.record(MeetingMoved.of(slot.status.value, moved))
            await self._holds.hold_for_meeting(uow, caller.user_id, slot.id)
            await self._stats.adjust_open_slots(uow, slot.mentor_id, -1)
            if await uow.slots.booked_overlapping(caller.user_id, start, end, slot.id):
                raise Conflict(
                    "you already have a booking at that time", code="overlapping_booking"
                )
            await self._ask_mentor(uow, moved, nonce)
            if idempotency_key is not None:
                await uow.booking_keys.settle(caller.user_id, idempotency_key, slot.id)
            await uow.commit()
        return Booked(slot=SlotView.of(moved), replayed=False)

    async def approve(self, caller: Caller, slot_id: uuid.UUID) -> SlotView:
        return await self._decide(caller, slot_id, SlotStatus.TENTATIVE, SlotStatus.CONFIRMED)

    async def reject(self, caller: Caller, slot_id: uuid.UUID, reason: str | None) -> SlotView:
        return await self._decide(
            caller, slot_id, SlotStatus.TENTATIVE, SlotStatus.REJECTED, reason=reason
        )

    async def check_link(self, slot_id: uuid.UUID, action: EmailAction, token: str) -> Slot:
        """The slot the mail's link decides, changing nothing: a token that does not match the
        slot's current nonce (used, the meeting decided in the app, forged) or a slot already
        started is 410."""
        async with self._uow() as uow:
            slot = await uow.slots.get(slot_id)
        fresh = slot is not None and links.verify(
            self._secret, slot_id, action, slot.email_action_nonce, token
        )
        if slot is None or not fresh:
            raise Gone("this link was used or is no longer valid", code="link_used")
        if self._clock.now() >= slot.start_date_time:
            raise Gone("this link expired when the slot started", code="link_expired")
        return slot

    async def email_action(self, slot_id: uuid.UUID, action: EmailAction, token: str) -> SlotView:
        """Decide by the mail's link (the page's button, never the link itself: a mail scanner
        opening links must not decide). Refused as ``check_link`` refuses."""
        slot = await self.check_link(slot_id, action, token)
        target = SlotStatus.CONFIRMED if action is EmailAction.APPROVE else SlotStatus.REJECTED
        mentor = Caller(
            user_id=slot.mentor_id, role=Role.EXPERT, platform=Platform.MY_ANALYTICS_SCHOOL
        )
        return await self._decide(mentor, slot_id, SlotStatus.TENTATIVE, target)

    async def request_cancellation(
        self, caller: Caller, slot_id: uuid.UUID, reason: str | None
    ) -> SlotView:
        return await self._decide(
            caller,
            slot_id,
            SlotStatus.CONFIRMED,
            SlotStatus.CANCELLATION_REQUESTED,
            reason=reason,
            allowed=_student,
        )

    async def approve_cancellation(self, caller: Caller, slot_id: uuid.UUID) -> SlotView:
        return await self._decide(
            caller,
            slot_id,
            SlotStatus.CANCELLATION_REQUESTED,
            SlotStatus.CANCELLED,
            allowed=_mentor_or_admin,
        )

    async def decline_cancellation(self, caller: Caller, slot_id: uuid.UUID) -> SlotView:
        return await self._decide(
            caller, slot_id, SlotStatus.CANCELLATION_REQUESTED, SlotStatus.CONFIRMED
        )

    async def cancel(self, caller: Caller, slot_id: uuid.UUID, reason: str | None) -> SlotView:
        """The student withdraws a request still waiting for a decision; the mentor or an admin
        cancels a confirmed meeting."""
        async with self._uow() as uow:
            slot = await self._slot(uow, slot_id)
        if _student(caller, slot) and not caller.is_admin:
            expected = SlotStatus.TENTATIVE
        elif _mentor_or_admin(caller, slot):
            expected = SlotStatus.CONFIRMED
        else:
            raise Forbidden("only a participant or an admin cancels", code="not_participant")
        return await self._decide(
            caller,
            slot_id,
            expected,
            SlotStatus.CANCELLED,
            reason=reason,
            allowed=lambda _c, _s: True,
        )

    async def _decide(
        self,
        caller: Caller,
        slot_id: uuid.UUID,
        expected: SlotStatus,
        target: SlotStatus,
        *,
        reason: str | None = None,
        allowed: Rule = _mentor,
    ) -> SlotView:
        now = self._clock.now()
        async with self._uow() as uow:
            slot = await self._slot(uow, slot_id)
            if not allowed(caller, slot):
                raise Forbidden("this meeting is not yours to decide", code="not_participant")
            if slot.status is not expected:
                raise InvalidState("meeting", slot.status.value, target.value)
            check_move(slot.status, target, slot.meeting_type)
            cancelling = target in (SlotStatus.CANCELLED, SlotStatus.CANCELLATION_REQUESTED)
            change = SlotChange(
                decided_at=now if expected is SlotStatus.TENTATIVE else None,
                cancelled_by=caller.user_id if cancelling else None,
                cancel_reason=reason if cancelling else None,
                clear_nonce=True,
            )
            moved = await uow.slots.move(slot.id, slot.status, slot.version, target, change, now)
            if moved is None:
                raise Conflict("the meeting changed meanwhile; try again", code="slot_changed")
            uow.record(MeetingMoved.of(slot.status.value, moved))
            refund = refunds(slot.status, target) and settles_tokens(slot.meeting_type)
            if refund and slot.student_id is not None:
                await self._holds.refund_meeting(uow, slot.student_id, slot.id, target.value)
            await self._tell(uow, moved, reason)
            await uow.commit()
        return SlotView.of(moved)

    async def _tell(self, uow: MeetingsUnitOfWork, slot: Slot, reason: str | None) -> None:
        """Mail the people a move concerns, in the move's unit of work (delivered after it
        commits, keyed by slot and version so a retried move mails once)."""
        key = f"{slot.id}:{slot.version}"
        when = slot.start_date_time.isoformat()
        if slot.status is SlotStatus.CANCELLATION_REQUESTED:
            mentor = await uow.slots.person(slot.mentor_id)
            student = await uow.slots.person(slot.student_id) if slot.student_id else None
            # One mail per person: no recipient sees the others' addresses, and any number of
            # admins is fine (a mail has at most 50 recipients).
            people = [p.email for p in [mentor, *await uow.slots.admins()] if p is not None]
            for address in dict.fromkeys(people):
                await self._messenger.email(
                    uow,
                    template=CANCELLATION_NOTICE,
                    to=address,
                    data={
                        "student_name": student.name if student else "The student",
                        "start": when,
                        "reason": reason or "",
                    },
                    key=f"{CANCELLATION_NOTICE}:{key}:{address}",
                    related=("slot", slot.id),
                )
            return
        ids = [slot.student_id, slot.mentor_id if slot.status is SlotStatus.CANCELLED else None]
        for user_id in ids:
            person = await uow.slots.person(user_id) if user_id else None
            if person is None:
                continue
            await self._messenger.email(
                uow,
                template=MEETING_UPDATE,
                to=person.email,
                data={"status": slot.status.value, "start": when},
                key=f"{MEETING_UPDATE}:{key}:{person.id}",
                related=("slot", slot.id),
            )

    async def _slot(self, uow: MeetingsUnitOfWork, slot_id: uuid.UUID) -> Slot:
        slot = await uow.slots.get(slot_id)
        if slot is None or slot.student_id is None:
            raise NotFound("no such meeting", code="meeting_not_found")
        return slot

    async def _ask_mentor(self, uow: MeetingsUnitOfWork, slot: Slot, nonce: str) -> None:
        mentor = await uow.slots.person(slot.mentor_id)
        student = await uow.slots.person(slot.student_id) if slot.student_id else None
        if mentor is None:
            raise NotFound("no such mentor", code="mentor_not_found")
        urls = {
            f"{action.value}_url": links.action_url(
                self._base_url,
                slot.id,
                action,
                links.sign(self._secret, slot.id, action, nonce),
            )
            for action in EmailAction
        }
        await self._messenger.email(
            uow,
            template=BOOKING_REQUEST,
            to=mentor.email,
            data={
                "student_name": student.name if student else "A student",
                "start": slot.start_date_time.isoformat(),
                "note": slot.booking_note or "",
                **urls,
            },
            key=f"mentorship.booking_request:{slot.id}:{nonce}",
            related=("slot", slot.id),
        )
