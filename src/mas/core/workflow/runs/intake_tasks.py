"""Intake's cron (``workflow.scan``) and its reactions to the CRM's lead events.

The CRM's events are read by subject: the workflow core may not import the CRM (the import
contract), so ``LeadCreatedSeen`` and its siblings name the CRM subjects and the fields used
here, and decoding ignores the rest (``tests/unit/test_workflow_intake.py`` checks they match
the CRM's own Structs).

Each reaction is handled once per key (``workflow_processed_events``): the outbox row's id,
which the relay adds to every payload it publishes (``event_id``; a republished row keeps it).
Without one (an event published by other means) the key is derived from the payload: a status
change by (lead, version) — the CRM moves ``version`` on every save; a creation and a deletion
by the lead (each happens once); an assignment by (lead, slot, assignee, previous assignee,
method), so an identical reassignment repeated later would be taken for a redelivery.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from mas.core.platform.events import DomainEvent
from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.workflow.runs import RunsServices

log = logging.getLogger("mas.workflow.intake")

SCAN = Task(
    "workflow.scan",
    NoArgs,
    TaskPolicy(attempts=2, backoff_s=30.0, max_backoff_s=60.0, timeout_s=600.0),
)

CREATED = "lead.created"
STATUS_CHANGED = "lead.status_changed"
ASSIGNED = "lead.assigned"
EVENTS = (CREATED, STATUS_CHANGED, ASSIGNED)
"""The events a ``LEAD_EVENT`` workflow may listen to."""


class _Seen(DomainEvent, frozen=True, kw_only=True):
    event_id: uuid.UUID | None = None
    """The outbox row's id (added by the relay)."""

    def key(self, derived: str) -> str:
        return f"{self.subject}:{self.event_id or derived}"


class LeadCreatedSeen(_Seen, frozen=True, kw_only=True):
    subject = "mas.lead.created"
    lead_id: uuid.UUID


class LeadStatusChangedSeen(_Seen, frozen=True, kw_only=True):
    subject = "mas.lead.status_changed"
    lead_id: uuid.UUID
    to_status: str
    version: int


class LeadAssignedSeen(_Seen, frozen=True, kw_only=True):
    subject = "mas.lead.assigned"
    lead_id: uuid.UUID
    slot: str
    assignee_id: uuid.UUID | None
    previous_assignee_id: uuid.UUID | None
    method: str


class LeadDeletedSeen(_Seen, frozen=True, kw_only=True):
    subject = "mas.lead.deleted"
    lead_id: uuid.UUID


async def scan(runs: RunsServices, _: NoArgs) -> None:
    """Idempotent: each due workflow is claimed by compare-and-set on ``last_scan_at``, and the
    partial unique index refuses a second live enrollment."""
    reports = await runs.intake.scan_due()
    log.info("workflow.scan_tick", extra={"workflows": len(reports)})


async def lead_created(runs: RunsServices, event: LeadCreatedSeen) -> None:
    await runs.intake.on_lead_event(event.key(str(event.lead_id)), event.lead_id, event=CREATED)


async def lead_status_changed(runs: RunsServices, event: LeadStatusChangedSeen) -> None:
    await runs.intake.on_lead_event(
        event.key(f"{event.lead_id}:{event.version}"),
        event.lead_id,
        event=STATUS_CHANGED,
        status=event.to_status,
    )


async def lead_assigned(runs: RunsServices, event: LeadAssignedSeen) -> None:
    derived = (
        f"{event.lead_id}:{event.slot}:{event.assignee_id}:{event.previous_assignee_id}:"
        f"{event.method}"
    )
    await runs.intake.on_lead_event(event.key(derived), event.lead_id, event=ASSIGNED)


async def lead_deleted(runs: RunsServices, event: LeadDeletedSeen) -> None:
    await runs.intake.on_lead_event(event.key(str(event.lead_id)), event.lead_id, deleted=True)
