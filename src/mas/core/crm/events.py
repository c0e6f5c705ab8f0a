"""Events the CRM publishes (subjects ``mas.lead.*``); the workflow engine, WhatsApp and
telephony will consume them. Payloads carry ids and plain values only."""

from __future__ import annotations

import uuid
from datetime import datetime

from mas.core.platform.events import DomainEvent


class LeadCreated(DomainEvent, frozen=True, kw_only=True):
    subject = "mas.lead.created"
    lead_id: uuid.UUID
    source: str
    channel: str
    owning_sales_head_id: uuid.UUID | None
    assigned_to: uuid.UUID | None


class LeadStatusChanged(DomainEvent, frozen=True, kw_only=True):
    subject = "mas.lead.status_changed"
    lead_id: uuid.UUID
    from_status: str
    to_status: str
    version: int
    actor_id: uuid.UUID | None


class LeadAssigned(DomainEvent, frozen=True, kw_only=True):
    subject = "mas.lead.assigned"
    lead_id: uuid.UUID
    slot: str
    assignee_id: uuid.UUID | None
    previous_assignee_id: uuid.UUID | None
    method: str
    reason: str


class LeadDeleted(DomainEvent, frozen=True, kw_only=True):
    """Soft delete by an admin: workflows and syncs let go of the lead."""

    subject = "mas.lead.deleted"
    lead_id: uuid.UUID
    actor_id: uuid.UUID | None


class LeadsImported(DomainEvent, frozen=True, kw_only=True):
    """One event per finished import or vendor pull, not one ``lead.created`` per row: a
    100,000-row file would otherwise put 100,000 events through the outbox and the bus in one
    go. Consumers that react per lead read the batch's intakes (``lead_intakes`` with channel
    ``CSV`` and ``channel_ref`` ``batch:<id>:<row>``, or channel ``VENDOR``)."""

    subject = "mas.lead.imported"
    batch_id: uuid.UUID | None
    channel: str
    pool_head_id: uuid.UUID | None
    created: int
    merged: int
    rejected: int
    vendor_key_id: uuid.UUID | None = None
    """A vendor pull: the key pulled, and when the pull began (its intakes date from then on)."""
    started_at: datetime | None = None
