"""Outbox messages and their delivery states. Pure."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import msgspec

from mas.core.platform.errors import InvalidState
from mas.core.platform.ids import uuid7


class Channel(enum.StrEnum):
    EMAIL = "email"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    PENDING_CONFIG = "pending_config"  # no transport configured yet; kept, never dropped
    FAILED = "failed"  # an attempt failed; the job retries it
    SENT = "sent"
    DEAD = "dead"  # the transport refused it for good, or attempts ran out


_TRANSITIONS: dict[OutboxStatus, frozenset[OutboxStatus]] = {
    OutboxStatus.PENDING: frozenset(
        {OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DEAD, OutboxStatus.PENDING_CONFIG}
    ),
    OutboxStatus.PENDING_CONFIG: frozenset(
        {OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DEAD, OutboxStatus.PENDING_CONFIG}
    ),
    OutboxStatus.FAILED: frozenset(
        {OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DEAD, OutboxStatus.PENDING_CONFIG}
    ),
    OutboxStatus.SENT: frozenset(),
    OutboxStatus.DEAD: frozenset({OutboxStatus.PENDING}),
}


class OutboxMessage(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    channel: Channel
    recipient: str
    subject: str
    body_text: str
    created_at: datetime
    status: OutboxStatus = OutboxStatus.PENDING
    body_html: str | None = None
    sender: str | None = None
    template: str | None = None
    transport: str | None = None
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    idempotency_key: str | None = None
    """The sender's key (``otp:{id}``): a second message with the same key is not written."""
    related_type: str | None = None
    """What the message is about (``raw_lead``), with ``related_id``; the send log filters it."""
    related_id: uuid.UUID | None = None
    sent_by: uuid.UUID | None = None
    """The person who sent it (a salesperson mailing a lead); None for system mail."""
    attachment_keys: list[str] | None = None
    """Storage keys of stored files that delivery attaches (an invoice's PDF)."""

    @classmethod
    def email(
        cls,
        *,
        to: str,
        subject: str,
        body_text: str,
        now: datetime,
        body_html: str | None = None,
        template: str | None = None,
        key: str | None = None,
        related: tuple[str, uuid.UUID] | None = None,
        sent_by: uuid.UUID | None = None,
        attachment_keys: list[str] | None = None,
    ) -> OutboxMessage:
        return cls(
            id=uuid7(),
            channel=Channel.EMAIL,
            recipient=to.strip().lower(),
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            template=template,
            created_at=now,
            idempotency_key=key,
            related_type=related[0] if related else None,
            related_id=related[1] if related else None,
            sent_by=sent_by,
            attachment_keys=attachment_keys or None,
        )

    def _move(self, target: OutboxStatus) -> None:
        if target not in _TRANSITIONS[self.status]:
            raise InvalidState("outbox message", self.status.value, target.value)
        self.status = target

    def mark_sent(self, transport: str, now: datetime) -> None:
        self._move(OutboxStatus.SENT)
        self.transport = transport
        self.sent_at = now
        self.attempts += 1
        self.last_error = None

    def mark_waiting_for_config(self, transport: str) -> None:
        self._move(OutboxStatus.PENDING_CONFIG)
        self.transport = transport
        self.last_error = f"{transport} transport is not configured"

    def mark_failed(self, transport: str, error: str, *, permanent: bool) -> None:
        self._move(OutboxStatus.DEAD if permanent else OutboxStatus.FAILED)
        self.transport = transport
        self.attempts += 1
        self.last_error = error[:2000]

    def give_up(self) -> None:
        self._move(OutboxStatus.DEAD)
