"""What runs the CRM's tasks and reacts to its events."""

from __future__ import annotations

from typing import Any

from mas.core.crm.events import LeadCreated, LeadsImported
from mas.core.crm.services import CrmServices
from mas.core.crm.tasks import (
    APPLY_BULK_ASSIGNMENT,
    AUTO_ASSIGN,
    AUTO_ASSIGN_BATCH,
    AUTO_ASSIGN_PULL,
    EXPIRE_REQUESTS,
    FOLLOW_UP_DIGEST,
    FOLLOW_UP_MISSED,
    IMPORT_BATCH,
    IMPORT_VENDOR,
    PROMOTE_CAMPAIGN_LEAD,
    ROLLUP_TARGET_ACTUALS,
    SEND_FOLLOW_UP_DIGEST,
    STUCK_REQUESTS,
    SWEEP_CAMPAIGN_LEADS,
    BatchAutoAssign,
    BatchRef,
    CampaignLeadRef,
    DigestFor,
    LeadRef,
    PullAutoAssign,
    RequestRef,
    RollupDay,
    VendorRef,
)
from mas.core.platform.errors import DomainError, Transient
from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, NoArgs, PermanentFailure

# --- imports -----------------------------------------------------------------------------


async def import_batch(crm: CrmServices, message: BatchRef) -> None:
    """Import a committed CSV batch (resumes where a crashed run stopped)."""
    try:
        await crm.imports.run(message.batch_id)
    except DomainError as exc:
        if isinstance(exc, Transient):
            raise
        reason = f"{exc.code}: {exc.detail}"
        await crm.imports.mark_failed(message.batch_id, reason)
        raise PermanentFailure(reason) from exc


async def import_batch_dead(crm: CrmServices, message: BatchRef) -> None:
    await crm.imports.mark_failed(message.batch_id, "the import job failed after its retries")


async def import_vendor(crm: CrmServices, message: VendorRef) -> None:
    """Pull a vendor's RECEIVED leads into the pool of the sales head it is assigned to."""
    await crm.vendor_leads.pull(message.vendor_key_id)


# --- assignment --------------------------------------------------------------------------


async def apply_bulk_assignment(crm: CrmServices, message: RequestRef) -> None:
    """Apply an approved bulk request in chunks of 500; a rerun skips the leads already done."""
    await crm.assignment.apply_request(message.request_id)


async def apply_bulk_assignment_dead(crm: CrmServices, message: RequestRef) -> None:
    await crm.assignment.mark_failed(
        message.request_id, "the apply task ran out of attempts (see its job run)"
    )


async def auto_assign(crm: CrmServices, message: LeadRef) -> None:
    """Give a new pool lead to a telecaller (round-robin or least-loaded), if still unassigned."""
    await crm.auto_assign.auto_assign(message.lead_id)


async def auto_assign_batch(crm: CrmServices, message: BatchAutoAssign) -> None:
    """Auto-assign the leads a CSV import created in an auto-assign pool (500 per step)."""
    await crm.auto_assign.assign_batch(message.head_id, message.batch_id)


async def auto_assign_pull(crm: CrmServices, message: PullAutoAssign) -> None:
    """Auto-assign the leads a vendor pull created in an auto-assign pool (500 per step)."""
    await crm.auto_assign.assign_pull(message.head_id, message.vendor_key_id, message.since)


async def expire_requests(crm: CrmServices, _: NoArgs) -> None:
    """Requests PENDING for 72 hours expire; each requester gets one email."""
    await crm.approvals.expire_due()


async def stuck_requests(crm: CrmServices, _: NoArgs) -> None:
    """Re-queue approved requests whose apply run was lost (idle for 10 minutes)."""
    await crm.approvals.resume_idle()


async def rollup_target_actuals(crm: CrmServices, message: RollupDay) -> None:
    """Recompute and store today's target actuals per salesperson (idempotent)."""
    await crm.targets.rollup(message.day)


# --- lead lifecycle ----------------------------------------------------------------------


async def follow_up_missed(crm: CrmServices, _: NoArgs) -> None:
    """PENDING follow-ups more than 2 h past due become MISSED (one journal line each)."""
    await crm.follow_ups.mark_missed()


async def follow_up_digest(crm: CrmServices, _: NoArgs) -> None:
    """Queue one digest per salesperson with follow-ups due today or overdue."""
    day, owners = await crm.follow_ups.digest_recipients()
    for owner in owners:
        await crm.jobs.submit(SEND_FOLLOW_UP_DIGEST, DigestFor(user_id=owner, day=day))


async def send_follow_up_digest(crm: CrmServices, message: DigestFor) -> None:
    """Email one salesperson the list of their follow-ups for the day (through the outbox)."""
    await crm.follow_ups.send_digest(message.user_id, message.day)


async def promote_campaign_lead(crm: CrmServices, message: CampaignLeadRef) -> None:
    """Fold a website form submission into the lead pool (or reject it)."""
    await crm.campaigns.promote(message.campaign_lead_id)


async def sweep_campaign_leads(crm: CrmServices, _: NoArgs) -> None:
    """Promote form submissions still waiting two minutes after they arrived."""
    await crm.campaigns.sweep()


HANDLERS: list[Handler[CrmServices, Any]] = [
    Handler(IMPORT_BATCH, import_batch, on_dead=import_batch_dead),
    Handler(IMPORT_VENDOR, import_vendor),
    Handler(APPLY_BULK_ASSIGNMENT, apply_bulk_assignment, on_dead=apply_bulk_assignment_dead),
    Handler(AUTO_ASSIGN, auto_assign),
    Handler(AUTO_ASSIGN_BATCH, auto_assign_batch),
    Handler(AUTO_ASSIGN_PULL, auto_assign_pull),
    Handler(EXPIRE_REQUESTS, expire_requests),
    Handler(STUCK_REQUESTS, stuck_requests),
    Handler(ROLLUP_TARGET_ACTUALS, rollup_target_actuals),
    Handler(FOLLOW_UP_MISSED, follow_up_missed),
    Handler(FOLLOW_UP_DIGEST, follow_up_digest),
    Handler(SEND_FOLLOW_UP_DIGEST, send_follow_up_digest),
    Handler(PROMOTE_CAMPAIGN_LEAD, promote_campaign_lead),
    Handler(SWEEP_CAMPAIGN_LEADS, sweep_campaign_leads),
]


# --- events ------------------------------------------------------------------------------


async def lead_created(crm: CrmServices, event: LeadCreated) -> None:
    """A new pool lead may be handed out at once (keyed by the lead: a repeat is a skip)."""
    await crm.auto_assign.on_lead_created(event)


async def leads_imported(crm: CrmServices, event: LeadsImported) -> None:
    await crm.auto_assign.on_leads_imported(event)


SUBSCRIPTIONS: list[Subscription[CrmServices, Any]] = [
    Subscription(LeadCreated, lead_created),
    Subscription(LeadsImported, leads_imported),
]
