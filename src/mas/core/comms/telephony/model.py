"""Telephony's records: a lead's call log and SMS log, their state machines and their views.

A call's states come from the provider (its completion callback, or its call details when the
callback never came). Exotel reports only a call's end (``StatusCallbackEvents=terminal``), so
a move may skip steps (INITIATED → COMPLETED: it rang and was answered). Terminal states never
change: a callback that would move a finished call is ignored, which also makes the same
callback twice a no-op.

The provider's recording URL is private (it opens with our API credentials): the views carry
``has_recording`` only, and the audio is streamed through our API.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mas.core.comms.ports.telephony import (
    TERMINAL_CALL_STATUSES,
    CallSnapshot,
    CallStatus,
    SmsStatus,
)


class CallSource(enum.StrEnum):
    EXOTEL = "EXOTEL"
    AARYA = "AARYA"
    ELEVENLABS = "ELEVENLABS"
    MANUAL = "MANUAL"


_ENDS_UNANSWERED = {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED}

CALL_MOVES: dict[CallStatus, frozenset[CallStatus]] = {
    CallStatus.INITIATED: frozenset(
        {CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.COMPLETED, *_ENDS_UNANSWERED}
    ),
    CallStatus.RINGING: frozenset(
        {CallStatus.IN_PROGRESS, CallStatus.COMPLETED, *_ENDS_UNANSWERED}
    ),
    CallStatus.IN_PROGRESS: frozenset({CallStatus.COMPLETED}),
    **{status: frozenset() for status in TERMINAL_CALL_STATUSES},
}
"""Where each call state may go (communications.md §4)."""

SMS_MOVES: dict[SmsStatus, frozenset[SmsStatus]] = {
    SmsStatus.QUEUED: frozenset(
        {SmsStatus.SENT, SmsStatus.DELIVERED, SmsStatus.UNDELIVERED, SmsStatus.FAILED}
    ),
    SmsStatus.SENT: frozenset({SmsStatus.DELIVERED, SmsStatus.UNDELIVERED}),
    SmsStatus.DELIVERED: frozenset(),
    SmsStatus.UNDELIVERED: frozenset(),
    SmsStatus.FAILED: frozenset(),
}
"""SMS states only move forward; a late "submitted" after "delivered" is ignored."""

MAX_SMS_CHARS = 1000
MAX_RAW_FIELDS = 60
MAX_RAW_VALUE = 500


def raw_form(form: dict[str, str]) -> dict[str, str]:
    """A provider's form as kept on the row: bounded, and without NUL (PostgreSQL refuses it)."""
    kept = list(form.items())[:MAX_RAW_FIELDS]
    return {
        key.replace("\x00", "")[:80]: value.replace("\x00", "")[:MAX_RAW_VALUE]
        for key, value in kept
    }


class CallLog(msgspec.Struct, kw_only=True):
    """One call with a lead (``lead_call_logs``)."""

    id: uuid.UUID
    raw_lead_id: uuid.UUID
    user_id: uuid.UUID | None
    source: CallSource
    status: CallStatus
    created_at: datetime
    provider_call_id: str | None = None
    agent_number: str | None = None
    lead_number: str | None = None
    caller_id: str | None = None
    duration_s: int | None = None
    recording_url: str | None = None
    outcome: str | None = None
    note: str | None = None
    raw_callback: dict[str, str] | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_CALL_STATUSES

    def can_move(self, target: CallStatus) -> bool:
        return target in CALL_MOVES[self.status]

    def moved(self, snapshot: CallSnapshot, raw: dict[str, str]) -> CallLog | None:
        """This call after the provider's ``snapshot``; None when it changes nothing (the same
        state again, or a move the machine does not allow, a finished call's above all)."""
        if not self.can_move(snapshot.status):
            return None
        return msgspec.structs.replace(
            self,
            status=snapshot.status,
            provider_call_id=self.provider_call_id or snapshot.provider_call_id,
            duration_s=snapshot.duration_s if snapshot.duration_s is not None else self.duration_s,
            recording_url=snapshot.recording_url or self.recording_url,
            started_at=snapshot.started_at or self.started_at,
            ended_at=snapshot.ended_at or self.ended_at,
            raw_callback=raw_form(raw),
        )


class SmsLog(msgspec.Struct, kw_only=True):
    """One SMS (``lead_sms_logs``): to a lead from the CRM, or any SMS another domain queues
    through the messenger (``idempotency_key`` set; ``raw_lead_id`` only when it is a lead's)."""

    id: uuid.UUID
    raw_lead_id: uuid.UUID | None
    user_id: uuid.UUID | None
    to_number: str
    body: str
    status: SmsStatus
    created_at: datetime
    status_at: datetime
    provider_sid: str | None = None
    error: str | None = None
    attempts: int = 0
    idempotency_key: str | None = None
    related_type: str | None = None
    related_id: uuid.UUID | None = None

    def can_move(self, target: SmsStatus) -> bool:
        return target in SMS_MOVES[self.status]


# --- what the API shows -------------------------------------------------------------------------

Short = Annotated[str, msgspec.Meta(max_length=40)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Seconds = Annotated[int, msgspec.Meta(ge=0, le=10**7)]


class TelephonyStatus(msgspec.Struct, frozen=True):
    """Whether calls and SMS work; when not, clients fall back to ``tel:`` links."""

    enabled: bool
    sms_enabled: bool


class CallView(msgspec.Struct, frozen=True, kw_only=True):
    """A call as the API shows it: never the provider's recording URL."""

    id: uuid.UUID
    lead_id: uuid.UUID
    user_id: uuid.UUID | None
    source: CallSource
    status: CallStatus
    duration_s: Seconds | None
    has_recording: bool
    outcome: Short | None
    note: Text | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, log: CallLog) -> CallView:
        return cls(
            id=log.id,
            lead_id=log.raw_lead_id,
            user_id=log.user_id,
            source=log.source,
            status=log.status,
            duration_s=log.duration_s,
            has_recording=log.recording_url is not None,
            outcome=log.outcome,
            note=log.note,
            started_at=log.started_at,
            ended_at=log.ended_at,
            created_at=log.created_at,
        )


class SmsView(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    lead_id: uuid.UUID | None
    user_id: uuid.UUID | None
    body: Annotated[str, msgspec.Meta(max_length=MAX_SMS_CHARS)]
    status: SmsStatus
    error: Annotated[str, msgspec.Meta(max_length=300)] | None
    created_at: datetime
    status_at: datetime

    @classmethod
    def of(cls, log: SmsLog) -> SmsView:
        return cls(
            id=log.id,
            lead_id=log.raw_lead_id,
            user_id=log.user_id,
            body=log.body,
            status=log.status,
            error=log.error,
            created_at=log.created_at,
            status_at=log.status_at,
        )


class SmsRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A transactional SMS to a lead: 1 to 1 000 characters, not only blanks."""

    body: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_SMS_CHARS, pattern=r"\S")]
