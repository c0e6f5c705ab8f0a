"""The telephony port (communications.md §8): click-to-call, SMS, call details, recordings.

The adapter is Exotel (``mas.adapters.comms.exotel``); ``FakeTelephony`` stands in for it in
tests. Errors a caller must tell apart:

- ``TelephonyDisabled``: the ``MAS_EXOTEL_*`` settings are incomplete (503, the UI falls back
  to ``tel:`` links); nothing was sent.
- ``TelephonyUnavailable``: the provider is down, slow or throttling (429, 5xx, timeouts). It is
  ``Transient``: the task runner retries it.
- ``TelephonyRejected``: the provider refused the request itself (a bad number, a DND-listed
  recipient, bad credentials). Trying again sends the same refusal, so it is a verdict.

``parse_call_callback`` turns the form fields of Exotel's completion callback into a
``CallSnapshot``; the HTTP route hands it the decoded form, so it stays free of HTTP.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

import msgspec

from mas.core.platform.errors import (
    ExternalUnavailable,
    FieldError,
    NotConfigured,
    UpstreamRejected,
    ValidationFailed,
)

IST = timezone(timedelta(hours=5, minutes=30), "IST")
"""Exotel writes its timestamps (``YYYY-MM-DD HH:mm:ss``) in the account's time zone, India's
for the accounts we use; ``parse_call_callback`` takes another zone when that changes."""


class CallStatus(enum.StrEnum):
    INITIATED = "INITIATED"
    RINGING = "RINGING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    BUSY = "BUSY"
    NO_ANSWER = "NO_ANSWER"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


TERMINAL_CALL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.FAILED,
        CallStatus.CANCELED,
    }
)

# Exotel's words for a call's state (Call details and StatusCallback), lower-cased.
PROVIDER_CALL_STATUS: dict[str, CallStatus] = {
    "queued": CallStatus.INITIATED,
    "initiated": CallStatus.INITIATED,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "completed": CallStatus.COMPLETED,
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.NO_ANSWER,
    "failed": CallStatus.FAILED,
    "canceled": CallStatus.CANCELED,
    "cancelled": CallStatus.CANCELED,
}


class SmsStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    UNDELIVERED = "UNDELIVERED"


PROVIDER_SMS_STATUS: dict[str, SmsStatus] = {
    "queued": SmsStatus.QUEUED,
    "sending": SmsStatus.QUEUED,
    "submitted": SmsStatus.SENT,
    "sent": SmsStatus.DELIVERED,  # Exotel's "sent" means the handset acknowledged it
    "delivered": SmsStatus.DELIVERED,
    "failed-dnd": SmsStatus.FAILED,
    "failed": SmsStatus.FAILED,
    "undelivered": SmsStatus.UNDELIVERED,
}


class CallHandle(msgspec.Struct, frozen=True):
    """A call the provider accepted: it is ringing the agent now."""

    provider_call_id: str
    status: CallStatus


class SmsHandle(msgspec.Struct, frozen=True):
    provider_sid: str
    status: SmsStatus


class CallSnapshot(msgspec.Struct, frozen=True):
    """What the provider knows of a call, from its call details or its completion callback.

    ``recording_url`` is the provider's private URL: store it, stream it with
    ``Telephony.open_recording``, never send it to a browser.
    """

    provider_call_id: str
    status: CallStatus
    duration_s: int | None = None
    recording_url: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    ref: str | None = None
    """The ``CustomField`` given to ``connect_call`` (our call log id), when echoed back."""

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_CALL_STATUSES


# --- errors -------------------------------------------------------------------------------------

EXOTEL_SETTINGS = (
    "MAS_EXOTEL_SUBDOMAIN",
    "MAS_EXOTEL_SID",
    "MAS_EXOTEL_API_KEY",
    "MAS_EXOTEL_API_TOKEN",
    "MAS_EXOTEL_CALLER_ID",
)


class TelephonyDisabled(NotConfigured):
    """Telephony is switched off because settings are missing (503 ``telephony_disabled``)."""

    code = "telephony_disabled"
    title = "Telephony is not configured"

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = tuple(missing)
        names = ", ".join(self.missing) or "the MAS_EXOTEL_* settings"
        ExternalUnavailable.__init__(
            self,
            f"telephony is disabled: set {names} to enable calls and SMS",
        )
        self.port = "telephony"


class TelephonyUnavailable(ExternalUnavailable):
    """The provider could not be reached or asked us to come back later; worth retrying."""

    code = "telephony_unavailable"
    title = "Telephony provider unavailable"


class TelephonyRejected(UpstreamRejected):
    """The provider refused the request; the same request would be refused again."""

    code = "telephony_rejected"
    title = "Telephony provider refused the request"

    def __init__(
        self, *, http_status: int, provider_code: str | None, provider_message: str
    ) -> None:
        where = f"code {provider_code}" if provider_code else f"HTTP {http_status}"
        super().__init__(
            f"the telephony provider refused the request ({where}): {provider_message}"
        )
        self.http_status = http_status
        self.provider_code = provider_code
        self.provider_message = provider_message


# --- the port -----------------------------------------------------------------------------------


@runtime_checkable
class Telephony(Protocol):
    @property
    def enabled(self) -> bool:
        """False when the provider is not configured; every call below then raises
        ``TelephonyDisabled``."""
        ...

    async def connect_call(
        self, *, agent: str, lead: str, caller_id: str, status_callback: str, ref: str
    ) -> CallHandle:
        """Ring ``agent`` first, then bridge ``lead``, both seeing ``caller_id`` (the
        ExoPhone). ``ref`` (≤ 128 characters) comes back in the completion callback."""
        ...

    async def send_sms(self, *, to: str, body: str, status_callback: str) -> SmsHandle: ...

    async def get_call(self, provider_call_id: str) -> CallSnapshot: ...

    def open_recording(self, url: str) -> AsyncIterator[bytes]:
        """The recording's bytes in chunks, fetched with the provider's credentials."""
        ...


# --- the completion callback --------------------------------------------------------------------

# The talk time, most precise first: ConversationDuration (StatusCallback with events),
# DialCallDuration (Passthru/Connect applets), Duration (call details).
DURATION_FIELDS = ("ConversationDuration", "DialCallDuration", "Duration")


def call_status(word: str) -> CallStatus | None:
    return PROVIDER_CALL_STATUS.get(word.strip().lower())


def parse_seconds(value: str | None) -> int | None:
    """A non-negative whole number of seconds; anything else (empty, "null", "1.5s") is None."""
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit() or not text.isascii():
        return None
    return int(text)


def parse_provider_time(value: str | None, tz: timezone = IST) -> datetime | None:
    """``YYYY-MM-DD HH:mm:ss`` (or ISO 8601 with an offset) as an aware time; else None."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def parse_call_callback(form: Mapping[str, str], *, tz: timezone = IST) -> CallSnapshot:
    """The completion callback's form fields as a ``CallSnapshot``.

    ``CallSid`` and a known ``Status`` are required (``ValidationFailed`` naming the field);
    the duration, times and recording are optional and left ``None`` when absent or unreadable.
    Exotel may name the status ``DialCallStatus`` or ``CallStatus`` in applet callbacks.
    """
    errors: list[FieldError] = []
    sid = (form.get("CallSid") or "").strip()
    if not sid:
        errors.append(FieldError(field="CallSid", message="the call id is missing"))
    elif len(sid) > 128:
        errors.append(FieldError(field="CallSid", message="the call id is longer than 128"))
    word = next(
        (form[name] for name in ("Status", "DialCallStatus", "CallStatus") if form.get(name)),
        "",
    )
    status = call_status(word) if word else None
    if not word:
        errors.append(FieldError(field="Status", message="the call status is missing"))
    elif status is None:
        errors.append(
            FieldError(field="Status", message=f"unknown call status {word.strip()[:40]!r}")
        )
    if errors or status is None:
        raise ValidationFailed("the call status callback is incomplete", errors=errors)
    duration = next(
        (
            seconds
            for name in DURATION_FIELDS
            if (seconds := parse_seconds(form.get(name))) is not None
        ),
        None,
    )
    recording = (form.get("RecordingUrl") or "").strip()
    ref = (form.get("CustomField") or "").strip()
    return CallSnapshot(
        provider_call_id=sid,
        status=status,
        duration_s=duration,
        recording_url=recording if recording and recording.lower() != "null" else None,
        started_at=parse_provider_time(form.get("StartTime"), tz),
        ended_at=parse_provider_time(form.get("EndTime"), tz),
        ref=ref or None,
    )
