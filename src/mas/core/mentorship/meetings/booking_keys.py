"""``Idempotency-Key`` on ``POST /mentors/slots`` (mentorship.md §5 "Booking rules").

The platform has no shared idempotency store (the CRM keeps its keys in the cache, WhatsApp on
its message rows), so a booking's keys live in ``slot_booking_keys``: (student, key) unique,
the hash of the request, the slot it booked, kept 48 hours (``KEY_TTL``).

The key is claimed first in the booking's own unit of work, before any check: a retry whose
first attempt succeeded answers that slot as it is now (201 again, ``Idempotent-Replayed:
true``) without a second hold, even once the slot is too close to book or already decided. A
first attempt that failed rolled its key back with it, so its retry runs afresh. The same key
with another request (mentor, times or note) is 422 ``idempotency_key_reused``, as the IETF
draft on the header advises. Two identical requests at once: the second's insert waits on the
unique index until the first commits, then finds its row and replays it, so one token is held.

Lapsed keys are dropped when their key is claimed again and by a daily purge.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from typing import TYPE_CHECKING

from mas.core.mentorship.meetings.model import KEY_TTL, BookingKey, BookingRequest, SlotView
from mas.core.mentorship.meetings.ports import MeetingsUnitOfWork
from mas.core.platform.errors import Conflict, ValidationFailed
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

if TYPE_CHECKING:
    from datetime import datetime

    from mas.core.mentorship.meetings import MeetingServices

log = logging.getLogger("mas.mentorship.meetings")

KEY_FORMAT = re.compile(r"[!-~]{1,255}")


def request_hash(data: BookingRequest) -> str:
    """The request a key names: the same instants in another offset are the same request."""
    parts = [
        str(data.mentor_id),
        data.start_date_time.timestamp().hex(),
        data.end_date_time.timestamp().hex(),
        data.note or "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


async def replay(
    uow: MeetingsUnitOfWork,
    student_id: uuid.UUID,
    key: str,
    data: BookingRequest,
    now: datetime,
) -> SlotView | None:
    """Claim ``key`` for this request: None when it is new (the booking goes on and settles
    it); the slot it booked when the student sent this request with it before."""
    if not KEY_FORMAT.fullmatch(key):
        raise ValidationFailed(
            "an Idempotency-Key is 1-255 printable characters without spaces",
            code="invalid_idempotency_key",
        )
    mine = BookingKey(
        student_id=student_id,
        key=key,
        request_hash=request_hash(data),
        slot_id=None,
        created_at=now,
        expires_at=now + KEY_TTL,
    )
    prior = await uow.booking_keys.claim(mine, now)
    if prior is None:
        return None
    if prior.request_hash != mine.request_hash:
        raise ValidationFailed(
            "this Idempotency-Key was used with another booking request",
            code="idempotency_key_reused",
        )
    slot = await uow.slots.get(prior.slot_id) if prior.slot_id else None
    if slot is None:
        raise Conflict(
            "the first request with this key did not finish", code="idempotency_key_in_use"
        )
    return SlotView.of(slot)


class BookingKeyPurge:
    def __init__(self, uow: UnitOfWorkFactory[MeetingsUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def run(self) -> int:
        async with self._uow() as uow:
            purged = await uow.booking_keys.purge(self._clock.now())
            await uow.commit()
        log.info("mentorship.booking_key_purge", extra={"purged": purged})
        return purged


PURGE_BOOKING_KEYS = Task("mentorship.booking_key_purge", NoArgs, TaskPolicy(attempts=2))


async def purge_booking_keys(meetings: MeetingServices, _: NoArgs) -> None:
    """Idempotent: one predicate delete."""
    await meetings.booking_keys.run()
