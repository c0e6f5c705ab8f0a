"""Leads, intakes, activities, follow-ups, tags and campaigns: entities and pure rules."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from mas.core.crm.contact import LeadContact
from mas.core.platform.bounds import schema_extra
from mas.core.platform.errors import FieldError, InvalidState, ValidationFailed
from mas.core.platform.ids import uuid7


class LeadStatus(enum.StrEnum):
    NEW = "NEW"
    CONTACTED = "CONTACTED"
    FOLLOW_UP = "FOLLOW_UP"
    INTERESTED = "INTERESTED"
    QUALIFIED = "QUALIFIED"
    CONVERTED = "CONVERTED"
    NOT_INTERESTED = "NOT_INTERESTED"
    CLOSED = "CLOSED"
    INVALID = "INVALID"


OPEN = frozenset(
    {
        LeadStatus.NEW,
        LeadStatus.CONTACTED,
        LeadStatus.FOLLOW_UP,
        LeadStatus.INTERESTED,
        LeadStatus.QUALIFIED,
    }
)
LOST = frozenset({LeadStatus.NOT_INTERESTED, LeadStatus.CLOSED})

_S = LeadStatus
TRANSITIONS: dict[LeadStatus, frozenset[LeadStatus]] = {
    _S.NEW: frozenset({_S.CONTACTED, _S.INVALID, _S.FOLLOW_UP, _S.NOT_INTERESTED, _S.CLOSED}),
    _S.CONTACTED: frozenset({_S.FOLLOW_UP, _S.INTERESTED, _S.NOT_INTERESTED, _S.CLOSED}),
    _S.FOLLOW_UP: frozenset(
        {_S.INTERESTED, _S.CONVERTED, _S.CONTACTED, _S.NOT_INTERESTED, _S.CLOSED}
    ),
    _S.INTERESTED: frozenset({_S.QUALIFIED, _S.CONVERTED, _S.NOT_INTERESTED, _S.CLOSED}),
    _S.QUALIFIED: frozenset({_S.CONVERTED, _S.NOT_INTERESTED, _S.CLOSED}),
    _S.NOT_INTERESTED: frozenset({_S.NEW}),
    _S.CLOSED: frozenset({_S.NEW}),
    _S.INVALID: frozenset({_S.NEW}),
    _S.CONVERTED: frozenset(),
}


class LeadSource(enum.StrEnum):
    CSV = "CSV"
    VENDOR = "VENDOR"
    CAMPAIGN = "CAMPAIGN"
    MANUAL = "MANUAL"
    WORKFLOW = "WORKFLOW"
    OTHER = "OTHER"


class IntakeChannel(enum.StrEnum):
    CSV = "CSV"
    VENDOR = "VENDOR"
    CAMPAIGN = "CAMPAIGN"
    MANUAL = "MANUAL"


class IntakeOutcome(enum.StrEnum):
    CREATED = "CREATED"
    MERGED = "MERGED"
    REOPENED = "REOPENED"


class ActivityType(enum.StrEnum):
    CREATED = "CREATED"
    INTAKE_MERGED = "INTAKE_MERGED"
    # Someone tried to add this lead again from outside its scope: nothing was merged.
    INTAKE_REFUSED = "INTAKE_REFUSED"
    REOPENED = "REOPENED"
    STATUS_CHANGED = "STATUS_CHANGED"
    ASSIGNED = "ASSIGNED"
    UNASSIGNED = "UNASSIGNED"
    OWNERSHIP_TRANSFERRED = "OWNERSHIP_TRANSFERRED"
    NOTE = "NOTE"
    CALL = "CALL"
    SMS = "SMS"
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    FOLLOW_UP_SCHEDULED = "FOLLOW_UP_SCHEDULED"
    FOLLOW_UP_DONE = "FOLLOW_UP_DONE"
    FOLLOW_UP_MISSED = "FOLLOW_UP_MISSED"
    TAG_ADDED = "TAG_ADDED"
    TAG_REMOVED = "TAG_REMOVED"
    FIELD_UPDATED = "FIELD_UPDATED"
    CONVERTED = "CONVERTED"
    WORKFLOW_STEP = "WORKFLOW_STEP"


class IncomingLead(LeadContact, kw_only=True):
    """A lead as it arrives through any door, already normalised: phones in E.164, the extra
    data the door had no field for, and the names of its tags."""

    phone_e164: str | None = None
    phone_alt: str | None = None
    extra_data: dict[str, Any] = {}
    tags: list[str] = []


class Lead(IncomingLead, kw_only=True):
    """What arrived (merged over every re-inquiry) and the lead's life in the CRM."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    source: LeadSource = LeadSource.MANUAL
    source_detail: str | None = None
    status: LeadStatus = LeadStatus.NEW
    owning_sales_head_id: uuid.UUID | None = None
    assigned_to: uuid.UUID | None = None
    assigned_counsellor: uuid.UUID | None = None
    lost_reason: str | None = None
    conversion_ref: str | None = None
    next_follow_up_at: datetime | None = None
    last_activity_at: datetime | None = None
    reinquiry_count: int = 0
    version: int = 0
    deleted_at: datetime | None = None


class StatusChange(msgspec.Struct, frozen=True, kw_only=True):
    to: LeadStatus
    lost_reason: str | None = None
    conversion_ref: str | None = None


def check_transition(lead: Lead, change: StatusChange, *, is_admin: bool, is_head: bool) -> bool:
    """Validate a status change; False means "same status: nothing to do"."""
    current, target = lead.status, change.to
    if current is target:
        return False
    if target not in TRANSITIONS[current]:
        raise InvalidState("lead", current.value, target.value)
    if current is LeadStatus.INVALID and not is_admin:
        raise InvalidState("lead", current.value, target.value)
    if current in LOST and target is LeadStatus.NEW and not (is_admin or is_head):
        raise InvalidState("lead", current.value, target.value)
    if target in LOST and not (change.lost_reason or "").strip():
        raise ValidationFailed(
            f"moving to {target.value} needs a lost_reason",
            code="lost_reason_required",
            errors=[FieldError("lost_reason", "required for this status")],
        )
    if target is LeadStatus.CONVERTED and not (change.conversion_ref or "").strip():
        raise ValidationFailed(
            "moving to CONVERTED needs a conversion_ref",
            code="conversion_ref_required",
            errors=[FieldError("conversion_ref", "required for CONVERTED")],
        )
    if target is LeadStatus.QUALIFIED and lead.assigned_counsellor is None:
        raise ValidationFailed(
            "a qualified lead needs a counsellor first",
            code="counsellor_required",
            errors=[FieldError("to", "assign a counsellor before QUALIFIED")],
        )
    return True


def apply_transition(lead: Lead, change: StatusChange) -> None:
    lead.status = change.to
    if change.to in LOST:
        lead.lost_reason = (change.lost_reason or "").strip()[:300]
    if change.to is LeadStatus.CONVERTED:
        lead.conversion_ref = (change.conversion_ref or "").strip()[:100]
    if change.to is LeadStatus.NEW:
        lead.lost_reason = None


class LeadIntake(msgspec.Struct, kw_only=True, frozen=True):
    id: uuid.UUID
    raw_lead_id: uuid.UUID
    channel: IntakeChannel
    channel_ref: str
    outcome: IntakeOutcome
    payload: dict[str, Any]
    created_at: datetime


class Activity(msgspec.Struct, kw_only=True, frozen=True):
    """A line of the append-only journal: never updated, never deleted."""

    id: uuid.UUID
    raw_lead_id: uuid.UUID
    type: ActivityType
    summary: str
    occurred_at: datetime
    actor_id: uuid.UUID | None = None
    data: dict[str, Any] = {}


def activity(
    lead_id: uuid.UUID,
    kind: ActivityType,
    summary: str,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    **data: Any,
) -> Activity:
    """A journal line; ``data`` holds plain values only."""
    return Activity(
        id=uuid7(),
        raw_lead_id=lead_id,
        type=kind,
        summary=summary[:500],
        occurred_at=now,
        actor_id=actor_id,
        data=data,
    )


class FollowUpStatus(enum.StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"
    MISSED = "MISSED"
    CANCELLED = "CANCELLED"


FOLLOW_UP_TRANSITIONS = {
    FollowUpStatus.PENDING: frozenset(
        {FollowUpStatus.DONE, FollowUpStatus.CANCELLED, FollowUpStatus.MISSED}
    ),
    FollowUpStatus.MISSED: frozenset({FollowUpStatus.DONE}),
    FollowUpStatus.DONE: frozenset(),
    FollowUpStatus.CANCELLED: frozenset(),
}


class FollowUpChannel(enum.StrEnum):
    CALL = "CALL"
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    VISIT = "VISIT"
    OTHER = "OTHER"


class FollowUp(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    raw_lead_id: uuid.UUID
    owner_id: uuid.UUID
    due_at: datetime
    channel: FollowUpChannel
    note: str
    created_at: datetime
    status: FollowUpStatus = FollowUpStatus.PENDING
    outcome_note: str | None = None
    completed_at: datetime | None = None

    def move(self, target: FollowUpStatus) -> None:
        if target not in FOLLOW_UP_TRANSITIONS[self.status]:
            raise InvalidState("follow-up", self.status.value, target.value)
        self.status = target


MISSED_GRACE_HOURS = 2


class Tag(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    created_at: datetime
    color: str | None = None
    description: str | None = None
    created_by: uuid.UUID | None = None
    deleted_at: datetime | None = None


TAG_NAME_PATTERN = r"^[A-Za-z0-9](?:[ _.-]?[A-Za-z0-9])+$"
"""A tag name as a person types it where tags are named (``Hot Lead``, ``hot-lead``): letters and
digits with one space, dash, dot or underscore between them. ``slugify_tag`` turns such a name
of 2-40 characters into a slug of the same length, so the pattern and the bound are the whole
rule, and the document can state it."""
TAG_NAME_MAX = 40
TagName = Annotated[
    str, msgspec.Meta(min_length=2, max_length=TAG_NAME_MAX, pattern=TAG_NAME_PATTERN)
]
TAG_NAME_SCHEMA = {
    "type": "string",
    "minLength": 2,
    "maxLength": TAG_NAME_MAX,
    "pattern": TAG_NAME_PATTERN,
}
"""``TagName`` as JSON Schema, for the lists of names (the document does not show the bounds of
a list's items by itself)."""


def tag_name_list(max_items: int) -> msgspec.Meta:
    """The bound of a list of ``TagName`` and what the document says of its items."""
    return msgspec.Meta(max_length=max_items, extra_json_schema=schema_extra(items=TAG_NAME_SCHEMA))


def slugify_tag(raw: str) -> str:
    out = []
    for ch in raw.strip().lower():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch in " -_." and out and out[-1] != "-":
            out.append("-")
    slug = "".join(out).strip("-")
    if not (2 <= len(slug) <= 40) or not slug[0].isalnum():
        raise ValidationFailed(
            f"'{raw}' is not a usable tag name",
            code="bad_tag_name",
            errors=[FieldError("name", "2-40 letters, digits or dashes")],
        )
    return slug


class Campaign(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    slug: str
    name: str
    programme: str
    created_at: datetime
    session_year: str | None = None
    default_sales_head_id: uuid.UUID | None = None
    default_tags: list[str] = []
    is_active: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    created_by: uuid.UUID | None = None


class CampaignLeadStatus(enum.StrEnum):
    RECEIVED = "RECEIVED"
    PROMOTED = "PROMOTED"
    REJECTED = "REJECTED"


class CampaignLead(msgspec.Struct, kw_only=True):
    """A website form submission as typed; promoted into the pool (or rejected) by a task."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    name: str
    ip_hash: str
    created_at: datetime
    phone_raw: str | None = None
    email_raw: str | None = None
    answers: dict[str, Any] = {}
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    status: CampaignLeadStatus = CampaignLeadStatus.RECEIVED
    reject_reason: str | None = None
    raw_lead_id: uuid.UUID | None = None


class ImportStatus(enum.StrEnum):
    UPLOADED = "UPLOADED"
    PREVIEWED = "PREVIEWED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


_I = ImportStatus
IMPORT_TRANSITIONS: dict[ImportStatus, frozenset[ImportStatus]] = {
    _I.UPLOADED: frozenset({_I.PREVIEWED, _I.CANCELLED}),
    _I.PREVIEWED: frozenset({_I.PREVIEWED, _I.QUEUED, _I.CANCELLED}),
    _I.QUEUED: frozenset({_I.RUNNING}),
    _I.RUNNING: frozenset({_I.RUNNING, _I.COMPLETED, _I.COMPLETED_WITH_ERRORS, _I.FAILED}),
    _I.FAILED: frozenset({_I.QUEUED}),
    _I.COMPLETED: frozenset(),
    _I.COMPLETED_WITH_ERRORS: frozenset(),
    _I.CANCELLED: frozenset(),
}


def check_import_transition(current: ImportStatus, target: ImportStatus) -> None:
    if target not in IMPORT_TRANSITIONS[current]:
        raise InvalidState("import batch", current.value, target.value)


COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "fullname", "student name", "lead name", "candidate"),
    "phone": (
        "phone",
        "mobile",
        "phone number",
        "mobile number",
        "contact",
        "whatsapp",
        "contact number",
        "phone_e164",
    ),
    "email": ("email", "e-mail", "email address", "mail", "email id"),
    "phone_alt": ("alternate phone", "alt phone", "phone 2", "phone2", "secondary phone"),
    "city": ("city", "town", "location"),
    "state": ("state", "province", "region"),
    "course_interest": ("course", "course interest", "programme", "program", "interest"),
    "session_year": ("session", "session year", "batch year", "year"),
    "tags": ("tags", "tag", "labels"),
}
"""The lead fields a CSV column can fill (a manual add's fields less ``extra_data``), each with
the header spellings ``propose_mapping`` recognises."""
LEAD_FIELDS = tuple(COLUMN_ALIASES)


class RejectReason(enum.StrEnum):
    NO_CONTACT = "NO_CONTACT"
    BAD_EMAIL = "BAD_EMAIL"
    BAD_PHONE = "BAD_PHONE"
    NO_NAME = "NO_NAME"
    ROW_TOO_LONG = "ROW_TOO_LONG"


class ImportBatch(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    uploaded_by: uuid.UUID | None
    target_sales_head_id: uuid.UUID | None
    file_key: str
    file_sha256: str
    file_name: str
    status: ImportStatus
    created_at: datetime
    column_map: dict[str, str] = {}
    default_tags: list[str] = []
    headers: list[str] = []
    preview: list[dict[str, str]] = []
    total_rows: int = 0
    resume_row: int = 0
    """A run resumes after this many rows: every row up to it is written (and counted)."""
    created_count: int = 0
    merged_count: int = 0
    rejected_count: int = 0
    rejected_by_reason: dict[str, int] = {}
    error_file_key: str | None = None
    committed_at: datetime | None = None
    finished_at: datetime | None = None
    last_error: str | None = None

    def move(self, target: ImportStatus) -> None:
        check_import_transition(self.status, target)
        self.status = target


def propose_mapping(headers: list[str]) -> dict[str, str]:
    """Guess which CSV column holds which lead field, by common header spellings."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        key = " ".join(header.strip().lower().replace("_", " ").split())
        for field, names in COLUMN_ALIASES.items():
            if field not in taken and key in names:
                mapping[header] = field
                taken.add(field)
                break
    return mapping
