"""The telephony part's side of the messenger (``Messenger.sms``): validate, then queue.

Everything is checked before anything is written: the number (E.164), the body (1 to 480
characters, not only blanks: three SMS segments, the longest a workflow step may send) and the
key; each is a 422 naming its field. The SMS log row (QUEUED, ``idempotency_key``) and an
``SmsQueued`` event are written in the *caller's* unit of work: the message commits, or not,
with the change that caused it. After the commit the event's subscription submits
``comms.sms.send`` (``SmsService.deliver``); the reconcile cron (``comms.exotel.reconcile``,
every ten minutes) sends again what that task left QUEUED.

``key`` makes a send idempotent: the same key again answers the first row's id and writes
nothing, even against a concurrent transaction (the key is unique; the loser of the insert
reads the winner's row). The insert is ``ON CONFLICT DO NOTHING``, never a caught error, so the
caller's transaction survives it on PostgreSQL, and no savepoint commits it early on SQLite.
"""

from __future__ import annotations

import re
import uuid
from typing import cast

from mas.core.comms.ports.telephony import SmsStatus
from mas.core.comms.telephony.events import SmsQueued
from mas.core.comms.telephony.model import SmsLog
from mas.core.comms.telephony.ports import TelephonyUnitOfWork
from mas.core.platform.errors import FieldError, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWork

MAX_MESSENGER_SMS = 480
MAX_KEY = 200
MAX_RELATED_TYPE = 40
LEAD = "raw_lead"
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


class SmsWriter:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def sms(
        self,
        uow: UnitOfWork,
        *,
        to: str,
        body: str,
        key: str,
        related: tuple[str, uuid.UUID] | None = None,
        sent_by: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Queue an SMS; the log row's id (the first one's for a known key)."""
        _check(to, body, key, related)
        telephony = cast(TelephonyUnitOfWork, uow)
        known = await telephony.sms_logs.by_key(key)
        if known is not None:
            return known.id
        now = self._clock.now()
        related_type, related_id = related if related is not None else (None, None)
        sms = SmsLog(
            id=uuid7(),
            raw_lead_id=related_id if related_type == LEAD else None,
            user_id=sent_by,
            to_number=to,
            body=body,
            status=SmsStatus.QUEUED,
            created_at=now,
            status_at=now,
            idempotency_key=key,
            related_type=related_type,
            related_id=related_id,
        )
        kept = await telephony.sms_logs.add_keyed(sms)
        if kept == sms.id:  # else a concurrent send with the same key won the insert
            telephony.record(SmsQueued(sms_id=sms.id))
        return kept


def _check(to: str, body: str, key: str, related: tuple[str, uuid.UUID] | None) -> None:
    errors: list[FieldError] = []
    if not _E164.fullmatch(to):
        errors.append(FieldError("to", "a phone number in E.164 form, e.g. +919900000001"))
    if not body.strip() or len(body) > MAX_MESSENGER_SMS:
        errors.append(FieldError("body", f"1 to {MAX_MESSENGER_SMS} characters, not only blanks"))
    elif "\x00" in body:
        errors.append(FieldError("body", "no NUL characters"))
    if not key or len(key) > MAX_KEY:
        errors.append(FieldError("key", f"1 to {MAX_KEY} characters"))
    if related is not None and not 0 < len(related[0]) <= MAX_RELATED_TYPE:
        errors.append(FieldError("related", f"a type of 1 to {MAX_RELATED_TYPE} characters"))
    if errors:
        raise ValidationFailed("the SMS cannot be queued", code="invalid_sms", errors=errors)
