"""Transports that deliver an outbox message: the local mailbox, SMTP."""

from __future__ import annotations

from typing import Protocol

import msgspec


class Attachment(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content_type: str
    data: bytes


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    sender: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None = None
    attachments: list[Attachment] = msgspec.field(default_factory=list)


class TransportError(Exception):
    """A delivery failed. ``permanent`` means retrying cannot help (a 5xx reply, a bad address)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class MailTransport(Protocol):
    name: str

    @property
    def configured(self) -> bool: ...

    async def deliver(self, envelope: Envelope) -> None:
        """Hand the message over; raise ``TransportError`` when that fails."""
        ...
