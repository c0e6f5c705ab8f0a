"""WhatsApp's records and their rules (communications.md §3, §4): sender configs, the template
mirror, messages, reminders and stored provider credentials.

A message's status only moves forward (``advances``): providers deliver callbacks out of order,
so a late ``delivered`` after ``read`` is ignored, and a FAILED message is never revived (the
failures portal retries it as a new row with ``retry_of_id``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

from mas.core.comms.ports.whatsapp import Provider, TemplateButton, TemplateCategory, TemplateStatus
from mas.core.platform.bounds import schema_extra
from mas.core.platform.errors import InvalidState

Direction = Literal["OUTBOUND", "INBOUND"]
Audience = Literal["LEAD", "CANDIDATE", "STUDENT", "SYSTEM"]
MessageKind = Literal["TEMPLATE", "TEXT", "MEDIA"]
MessageStatus = Literal["QUEUED", "SENT", "DELIVERED", "READ", "FAILED", "RECEIVED"]
SenderStatus = Literal["PENDING", "ACTIVE", "DISABLED"]
ReminderKind = Literal["INTERVIEW", "SESSION"]
ReminderStatus = Literal["SCHEDULED", "SENT", "CANCELLED", "FAILED"]

E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"
Phone = Annotated[str, msgspec.Meta(pattern=E164_PATTERN, max_length=16)]
TemplateName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=512, pattern=r"^[a-z0-9_]{1,512}$")
]
Language = Annotated[
    str, msgspec.Meta(min_length=2, max_length=15, pattern=r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
]
Param = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
PARAM_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 1024}
Params = Annotated[
    list[Param],
    # The document shows the items' bounds too (Litestar drops them from a list's items).
    msgspec.Meta(max_length=20, extra_json_schema=schema_extra(items=PARAM_SCHEMA)),
]
FreeText = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]

WINDOW = timedelta(hours=24)
"""Free text is allowed only this long after the peer's last inbound message (Meta's rule)."""
NOT_CONFIGURED = "not_configured"
"""``error_code`` of a message kept QUEUED because no provider is configured."""

# The order of an outbound message's life; a callback may only move a message up it.
_RANK: dict[str, int] = {"QUEUED": 0, "SENT": 1, "DELIVERED": 2, "READ": 3}
_FAILS_FROM = frozenset({"QUEUED", "SENT", "DELIVERED"})


def advances(current: str, target: str) -> bool:
    """Whether a status callback ``target`` moves a message at ``current`` (else ignored)."""
    if target == "FAILED":
        return current in _FAILS_FROM
    return current in _RANK and target in _RANK and _RANK[target] > _RANK[current]


def predecessors(target: str) -> list[str]:
    """The statuses ``target`` may follow (for a single conditional UPDATE)."""
    return [status for status in (*_RANK, "FAILED") if advances(status, target)]


class StatusUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's status callback for one of our outbound messages."""

    provider: Provider
    provider_message_id: str
    status: MessageStatus
    at: datetime
    error_code: str | None = None
    error_message: str | None = None


class SenderConfig(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    owner_user_id: uuid.UUID | None
    phone_e164: str
    display_name: str
    provider: Provider
    status: SenderStatus
    created_at: datetime
    updated_at: datetime

    def move(self, target: SenderStatus, now: datetime) -> None:
        allowed = {("PENDING", "ACTIVE"), ("ACTIVE", "DISABLED"), ("DISABLED", "ACTIVE")}
        if self.status == target:
            return
        if (self.status, target) not in allowed:
            raise InvalidState("sender config", self.status, target)
        self.status = target
        self.updated_at = now


class Template(msgspec.Struct, kw_only=True):
    """A template as the mirror holds it (unique by provider, name and language)."""

    id: uuid.UUID
    provider: Provider
    name: str
    language: str
    category: TemplateCategory | None
    body: str
    header: str | None = None
    footer: str | None = None
    buttons: list[TemplateButton] = msgspec.field(default_factory=list)
    param_count: int = 0
    provider_status: TemplateStatus = "PENDING"
    rejection_reason: str | None = None
    synced_at: datetime | None = None


class SendRequest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the send task asks the provider, stored as the message's ``request_payload``.

    Kept as the exact JSON text written once, so a retry from the failures portal resends the
    same bytes (a JSON column would be re-serialised by PostgreSQL)."""

    kind: Literal["TEMPLATE", "TEXT"]
    to: str
    template: str | None = None
    language: str | None = None
    params: list[str] = []
    body: str | None = None
    media_url: str | None = None

    def encode(self) -> str:
        return msgspec.json.encode(self).decode()

    @classmethod
    def decode(cls, raw: str) -> SendRequest:
        return msgspec.json.decode(raw, type=cls)


class Message(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    direction: Direction
    audience: Audience
    peer_phone_e164: str
    kind: MessageKind
    provider: Provider
    status: MessageStatus
    created_at: datetime
    status_at: datetime
    raw_lead_id: uuid.UUID | None = None
    candidate_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    sender_config_id: uuid.UUID | None = None
    template_name: str | None = None
    template_language: str | None = None
    params: list[str] = msgspec.field(default_factory=list)
    body: str | None = None
    media_key: str | None = None
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    request_payload: str | None = None
    retry_of_id: uuid.UUID | None = None
    idempotency_key: str | None = None
    sent_by: uuid.UUID | None = None
    send_after: datetime | None = None
    """Quiet hours: the send task runs no earlier (null: at once)."""


class MessageFilter(msgspec.Struct, frozen=True, kw_only=True):
    direction: Direction | None = None
    status: MessageStatus | None = None
    audience: Audience | None = None
    peer_phone: str | None = None
    raw_lead_id: uuid.UUID | None = None
    lead_phone: str | None = None
    """With ``raw_lead_id``: also the inbound messages from this phone (the lead's thread)."""
    sender_config_id: uuid.UUID | None = None


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    peer_phone_e164: str
    messages: int
    last_at: datetime
    last_direction: Direction
    last_body: str | None


class ReminderSpec(msgspec.Struct, frozen=True, kw_only=True):
    """The approved template a reminder sends."""

    to: str
    template: str
    language: str
    params: list[str] = []
    audience: Audience = "STUDENT"
    user_id: uuid.UUID | None = None


class Reminder(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: ReminderKind
    ref_id: uuid.UUID
    send_at: datetime
    message_spec: ReminderSpec
    status: ReminderStatus
    created_at: datetime
    message_id: uuid.UUID | None = None


class StoredCredential(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    provider: Provider
    name: str
    ciphertext: bytes
    key_version: int
    updated_by: uuid.UUID | None
    updated_at: datetime


class WebhookDelivery(msgspec.Struct, kw_only=True):
    """A webhook with a valid signature whose body we could not read, kept for inspection."""

    id: uuid.UUID
    provider: Provider
    received_at: datetime
    error: str
    body: str


class PhoneNumber(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    display_phone_number: str | None = None
    verified_name: str | None = None
    quality_rating: str | None = None


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """The business account at the provider (the manager's ``account`` page)."""

    provider: Provider
    account_id: str | None
    name: str | None
    phone_numbers: list[PhoneNumber] = []


def as_dict(value: msgspec.Struct) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(value)
    return data
