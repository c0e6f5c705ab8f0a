"""The CRM's background tasks: their messages, policies and idempotency keys.

The handlers that run them are in ``mas.core.crm.handlers``; services enqueue them with
``Enqueuer.submit(TASK, Message(...))``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy


class BatchRef(msgspec.Struct, frozen=True):
    batch_id: uuid.UUID


class VendorRef(msgspec.Struct, frozen=True):
    vendor_key_id: uuid.UUID


class RequestRef(msgspec.Struct, frozen=True):
    request_id: uuid.UUID


class LeadRef(msgspec.Struct, frozen=True):
    lead_id: uuid.UUID


class CampaignLeadRef(msgspec.Struct, frozen=True):
    campaign_lead_id: uuid.UUID


class BatchAutoAssign(msgspec.Struct, frozen=True):
    head_id: uuid.UUID
    batch_id: uuid.UUID


class PullAutoAssign(msgspec.Struct, frozen=True):
    head_id: uuid.UUID
    vendor_key_id: uuid.UUID
    since: datetime


class DigestFor(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    day: date


class RollupDay(msgspec.Struct, frozen=True):
    day: date | None = None


# --- imports -----------------------------------------------------------------------------

IMPORT_BATCH = Task(
    "crm.import_batch", BatchRef, TaskPolicy(attempts=3, backoff_s=30, timeout_s=1800)
)
IMPORT_VENDOR = Task(
    "crm.import_vendor", VendorRef, TaskPolicy(attempts=3, backoff_s=30, timeout_s=1800)
)

# --- assignment --------------------------------------------------------------------------

APPLY_BULK_ASSIGNMENT = Task(
    "crm.apply_bulk_assignment", RequestRef, TaskPolicy(attempts=3, backoff_s=30, timeout_s=900)
)
AUTO_ASSIGN = Task(
    "crm.auto_assign",
    LeadRef,
    TaskPolicy(attempts=3, backoff_s=10, timeout_s=60),
    key=lambda m: str(m.lead_id),
)
AUTO_ASSIGN_BATCH = Task(
    "crm.auto_assign_batch",
    BatchAutoAssign,
    TaskPolicy(attempts=3, backoff_s=30, timeout_s=900),
    key=lambda m: str(m.batch_id),
)
AUTO_ASSIGN_PULL = Task(
    "crm.auto_assign_pull", PullAutoAssign, TaskPolicy(attempts=3, backoff_s=30, timeout_s=900)
)
EXPIRE_REQUESTS = Task("crm.expire_requests", NoArgs, TaskPolicy(attempts=1, timeout_s=300))
STUCK_REQUESTS = Task("crm.stuck_requests", NoArgs, TaskPolicy(attempts=1, timeout_s=120))
ROLLUP_TARGET_ACTUALS = Task(
    "crm.rollup_target_actuals", RollupDay, TaskPolicy(attempts=3, backoff_s=60, timeout_s=600)
)

# --- lead lifecycle ----------------------------------------------------------------------

FOLLOW_UP_MISSED = Task(
    "crm.follow_up_missed", NoArgs, TaskPolicy(attempts=3, backoff_s=60, timeout_s=300)
)
FOLLOW_UP_DIGEST = Task(
    "crm.follow_up_digest", NoArgs, TaskPolicy(attempts=3, backoff_s=60, timeout_s=300)
)
SEND_FOLLOW_UP_DIGEST = Task(
    "crm.send_follow_up_digest",
    DigestFor,
    TaskPolicy(attempts=5, backoff_s=60, timeout_s=60),
    # One digest per person and local day: a second firing on the same day is a skip.
    key=lambda m: f"crm.digest:{m.user_id}:{m.day.isoformat()}",
)
PROMOTE_CAMPAIGN_LEAD = Task(
    "crm.promote_campaign_lead",
    CampaignLeadRef,
    TaskPolicy(attempts=5, backoff_s=30, timeout_s=60),
    key=lambda m: f"crm.campaign_lead:{m.campaign_lead_id}",
)
SWEEP_CAMPAIGN_LEADS = Task(
    "crm.sweep_campaign_leads", NoArgs, TaskPolicy(attempts=1, timeout_s=300)
)

CRONS: dict[Task[NoArgs] | Task[RollupDay], str] = {
    FOLLOW_UP_MISSED: "*/15 * * * *",
    FOLLOW_UP_DIGEST: "30 8 * * *",
    SWEEP_CAMPAIGN_LEADS: "*/5 * * * *",
    EXPIRE_REQUESTS: "7 * * * *",
    STUCK_REQUESTS: "*/10 * * * *",
    ROLLUP_TARGET_ACTUALS: "*/15 * * * *",
}
