"""Lead lifecycle tasks: missed follow-ups, the morning digest, campaign form promotion."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING

from mas.jobs.registry import task

if TYPE_CHECKING:
    from mas.bootstrap import Container

DIGEST_TASK = "crm.send_follow_up_digest"


@task("crm.follow_up_missed", attempts=3, backoff_s=60, timeout_s=300)
async def follow_up_missed(c: Container) -> None:
    """PENDING follow-ups more than 2 h past due become MISSED (one journal line each)."""
    await c.crm_follow_ups.mark_missed()


@task("crm.follow_up_digest", attempts=3, backoff_s=60, timeout_s=300)
async def follow_up_digest(c: Container) -> None:
    """Queue one digest per salesperson with follow-ups due today or overdue."""
    day, owners = await c.crm_follow_ups.digest_recipients()
    for owner in owners:
        # Keyed by (person, local day): a second firing on the same day is a skip.
        await c.jobs.enqueue(
            DIGEST_TASK,
            {"user_id": str(owner), "day": day.isoformat()},
            key=f"crm.digest:{owner}:{day.isoformat()}",
        )


@task(DIGEST_TASK, attempts=5, backoff_s=60, timeout_s=60)
async def send_follow_up_digest(c: Container, user_id: str, day: str) -> None:
    """Email one salesperson the list of their follow-ups for the day (through the outbox)."""
    await c.crm_follow_ups.send_digest(uuid.UUID(user_id), date.fromisoformat(day))


@task("crm.promote_campaign_lead", attempts=5, backoff_s=30, timeout_s=60)
async def promote_campaign_lead(c: Container, campaign_lead_id: str) -> None:
    """Fold a website form submission into the lead pool (or reject it)."""
    await c.crm_campaigns.promote(uuid.UUID(campaign_lead_id))


@task("crm.sweep_campaign_leads", attempts=1, timeout_s=300)
async def sweep_campaign_leads(c: Container) -> None:
    """Promote form submissions still waiting two minutes after they arrived."""
    await c.crm_campaigns.sweep()
