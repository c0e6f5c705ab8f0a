"""The GST audit log's entries (payments-finance.md §3 GstAuditLog)."""

from __future__ import annotations

import enum
import uuid
from typing import Any

import msgspec


class AuditEntity(enum.StrEnum):
    INVOICE = "INVOICE"
    HSN_SAC = "HSN_SAC"
    STATE_CODE = "STATE_CODE"
    PAYMENT_MATCH = "PAYMENT_MATCH"
    EXPORT = "EXPORT"


class AuditAction(enum.StrEnum):
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    ISSUED = "ISSUED"
    CANCELLED = "CANCELLED"
    VOIDED = "VOIDED"
    EMAILED = "EMAILED"
    EXPORTED = "EXPORTED"
    RATE_CHANGED = "RATE_CHANGED"
    MATCHED = "MATCHED"
    IGNORED = "IGNORED"
    UNMATCHED = "UNMATCHED"


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """What a use case appends: which entity, what happened, who did it, before and after."""

    entity_type: AuditEntity
    entity_id: str
    action: AuditAction
    actor_id: uuid.UUID | None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    ip: str | None = None


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """The chain check's verdict: how many rows it walked and the first broken one."""

    rows_checked: int
    intact: bool
    first_broken_id: uuid.UUID | None = None
    first_broken_seq: int | None = None
