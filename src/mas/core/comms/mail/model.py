"""Email templates (the editable ones, communications.md §3) and the send log's view of a mail.

A template belongs to everyone (``GLOBAL``, written by administrators) or to one sales head's
pool (``POOL``). Its ``variables`` are declared: a ``{{ x }}`` the declaration lacks is refused
when the template is saved, and a send without a value for one is refused before anything is
written (both 422, naming the variables).

The send log is the platform outbox (``outbox_messages``): one row per recipient, delivered by
``comms.send_email`` (5 attempts, backoff). Its statuses are the platform's; in the spec's words
(§3 EmailSent):

=================  ======================================================================
platform status    spec status
=================  ======================================================================
``pending``        QUEUED
``failed``         QUEUED again (an attempt failed; the job retries it: SENDING → QUEUED)
``sent``           SENT
``dead``           FAILED (refused for good, or the attempts ran out)
``pending_config`` SUPPRESSED, ``last_error`` "… not configured" (no SMTP transport); the
                   row is kept and sent once a transport is configured
=================  ======================================================================
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mas.core.platform.bounds import schema_extra
from mas.core.platform.messages import OutboxStatus

KEY_PATTERN = r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$"
"""A slug without dots: code templates are named ``domain.name`` (``auth.signup_otp``), so a
database template can never shadow, or be shadowed by, a system mail."""
Key = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=80, pattern=KEY_PATTERN, description="a slug: crm-intro-drone"
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=150)]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
BodyHtml = Annotated[str, msgspec.Meta(min_length=1, max_length=200 * 1024, description="≤ 200 KB")]
BodyText = Annotated[str, msgspec.Meta(max_length=200 * 1024)]
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
VARIABLE_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": VARIABLE_PATTERN}
MAX_VALUE = 5_000
VariableName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=VARIABLE_PATTERN)]
# Litestar drops the bounds of list items and map keys and values: stated again for the document.
Variables = Annotated[
    list[VariableName],
    msgspec.Meta(max_length=100, extra_json_schema=schema_extra(items=VARIABLE_SCHEMA)),
]
Value = Annotated[str, msgspec.Meta(max_length=MAX_VALUE)]
Data = Annotated[
    dict[VariableName, Value],
    msgspec.Meta(
        max_length=100,
        description="a value for each declared variable",
        extra_json_schema=schema_extra(
            max_properties=100,
            property_names=VARIABLE_SCHEMA,
            additional_properties={"type": "string", "maxLength": MAX_VALUE},
        ),
    ),
]
MAX_RECIPIENTS = 50
MAX_KEY = 200


class TemplateCategory(enum.StrEnum):
    CRM = "CRM"
    SYSTEM = "SYSTEM"
    HIRE = "HIRE"


class OwnerScope(enum.StrEnum):
    GLOBAL = "GLOBAL"
    POOL = "POOL"


class EmailTemplate(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    key: str
    name: str
    subject: str
    body_html: str
    body_text: str | None
    variables: list[str]
    category: TemplateCategory
    owner_scope: OwnerScope
    sales_head_id: uuid.UUID | None
    is_active: bool
    created_by: uuid.UUID | None
    updated_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class NewTemplate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new template is active; ``PATCH {"is_active": false}`` retires it."""

    key: Key
    name: Name
    subject: Subject
    body_html: BodyHtml
    body_text: BodyText | None = None
    """None: the text part is derived from the HTML when a mail is rendered."""
    variables: Variables = msgspec.field(default_factory=list)
    category: TemplateCategory = TemplateCategory.CRM
    owner_scope: OwnerScope = OwnerScope.POOL
    sales_head_id: uuid.UUID | None = None
    """The pool of a POOL template: a sales head's own by default; an admin names one."""


class TemplateChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Absent fields stay as they are; ``body_text: null`` returns to the derived text."""

    key: Key | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET
    subject: Subject | msgspec.UnsetType = msgspec.UNSET
    body_html: BodyHtml | msgspec.UnsetType = msgspec.UNSET
    body_text: BodyText | None | msgspec.UnsetType = msgspec.UNSET
    variables: Variables | msgspec.UnsetType = msgspec.UNSET
    category: TemplateCategory | msgspec.UnsetType = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class PreviewRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    data: Data = msgspec.field(default_factory=dict)


class Preview(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    html: str
    text: str


class MailState(enum.StrEnum):
    """The spec's EmailSent status, read off the outbox status (table above)."""

    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"
    SUPPRESSED = "SUPPRESSED"

    @classmethod
    def of(cls, status: OutboxStatus) -> MailState:
        return _STATES[status]


_STATES = {
    OutboxStatus.PENDING: MailState.QUEUED,
    OutboxStatus.FAILED: MailState.QUEUED,
    OutboxStatus.SENT: MailState.SENT,
    OutboxStatus.DEAD: MailState.FAILED,
    OutboxStatus.PENDING_CONFIG: MailState.SUPPRESSED,
}


class SentEmail(msgspec.Struct, frozen=True, kw_only=True):
    """One send-log row (a recipient of one mail)."""

    id: uuid.UUID
    to: str
    subject: str
    template: str | None
    status: OutboxStatus
    state: MailState
    """``status`` in the spec's words."""
    attempts: int
    last_error: str | None
    related_type: str | None
    related_id: uuid.UUID | None
    sent_by: uuid.UUID | None
    queued_at: datetime
    sent_at: datetime | None


class SendLogFilter(msgspec.Struct, frozen=True, kw_only=True):
    related: tuple[str, uuid.UUID] | None = None
    sent_by: uuid.UUID | None = None
    status: OutboxStatus | None = None


class LeadEmail(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    template_key: Key
    data: Data = msgspec.field(default_factory=dict)
    idempotency_key: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")] | None
    ) = None
    """The client's key for this send: a retry with the same key sends nothing more."""


class LeadEmailSent(msgspec.Struct, frozen=True, kw_only=True):
    email_id: uuid.UUID
    lead_id: uuid.UUID
    to: str
    status: OutboxStatus
    duplicate: bool
    """True when the key was used before: this answer is the first send's."""
