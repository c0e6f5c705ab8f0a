"""AI voice calls as every domain sees them: place a call, read its outcome, hear it end.

Mr. Hire's voice domain owns the vendors (Aarya batch calls, ElevenLabs agents) and will
implement ``AiCaller`` and publish ``AiCallCompleted``; the workflow engine places calls
through the port and resumes the enrollment that waits on a call when the event arrives.
``idempotency_key`` makes a repeated placement (a redelivered job) the same call.
"""

from __future__ import annotations

import enum
import uuid
from typing import Protocol

import msgspec

from mas.core.platform.events import DomainEvent


class AiCallOutcome(enum.StrEnum):
    ANSWERED = "ANSWERED"
    NO_ANSWER = "NO_ANSWER"
    BUSY = "BUSY"
    INTERESTED = "INTERESTED"
    NOT_INTERESTED = "NOT_INTERESTED"
    CALLBACK = "CALLBACK"
    TIMEOUT = "TIMEOUT"
    FAILED = "FAILED"


class AiCallHandle(msgspec.Struct, frozen=True, kw_only=True):
    call_id: str


class AiCaller(Protocol):
    async def place_call(
        self,
        *,
        lead_id: uuid.UUID,
        phone_e164: str,
        agent_ref: str,
        variables: dict[str, str],
        idempotency_key: str,
    ) -> AiCallHandle:
        """Place (or, for a known key, find) a call. A vendor outage raises a ``Transient``
        error; a refusal (an unknown agent, a number the vendor rejects) a ``DomainError``."""
        ...

    async def fetch_outcome(self, call_id: str) -> AiCallOutcome | None:
        """The call's outcome, or None while it is still going."""
        ...


class AiCallCompleted(DomainEvent, frozen=True, kw_only=True):
    """A call placed through ``AiCaller`` ended (published by whoever implements the port)."""

    subject = "mas.ai_call.completed"
    call_id: str
    outcome: AiCallOutcome
