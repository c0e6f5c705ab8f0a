"""Assignment tasks: apply a bulk request, auto-assign a new pool lead, expire and resume
requests, roll up target actuals."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from mas.jobs.registry import task

if TYPE_CHECKING:
    from mas.bootstrap import Container


async def _apply_dead(c: Container, request_id: str) -> None:
    await c.crm_assignment.mark_failed(
        uuid.UUID(request_id), "the apply task ran out of attempts (see its job run)"
    )


@task(
    "crm.apply_bulk_assignment",
    attempts=3,
    backoff_s=30,
    timeout_s=900,
    on_dead=_apply_dead,
)
async def apply_bulk_assignment(c: Container, request_id: str) -> None:
    """Apply an approved bulk request in chunks of 500; a rerun skips the leads already done."""
    await c.crm_assignment.apply_request(uuid.UUID(request_id))


@task("crm.auto_assign", attempts=3, backoff_s=10, timeout_s=60)
async def auto_assign(c: Container, lead_id: str) -> None:
    """Give a new pool lead to a telecaller (round-robin or least-loaded), if still unassigned."""
    await c.crm_auto_assign.auto_assign(uuid.UUID(lead_id))


@task("crm.auto_assign_batch", attempts=3, backoff_s=30, timeout_s=900)
async def auto_assign_batch(c: Container, head_id: str, batch_id: str) -> None:
    """Auto-assign the leads a CSV import created in an auto-assign pool (500 per step)."""
    await c.crm_auto_assign.assign_batch(uuid.UUID(head_id), uuid.UUID(batch_id))


@task("crm.auto_assign_pull", attempts=3, backoff_s=30, timeout_s=900)
async def auto_assign_pull(c: Container, head_id: str, vendor_key_id: str, since: str) -> None:
    """Auto-assign the leads a vendor pull created in an auto-assign pool (500 per step)."""
    await c.crm_auto_assign.assign_pull(
        uuid.UUID(head_id), uuid.UUID(vendor_key_id), datetime.fromisoformat(since)
    )


@task("crm.expire_requests", attempts=1, timeout_s=300)
async def expire_requests(c: Container) -> None:
    """Requests PENDING for 72 hours expire; each requester gets one email."""
    await c.crm_approvals.expire_due()


@task("crm.stuck_requests", attempts=1, timeout_s=120)
async def stuck_requests(c: Container) -> None:
    """Re-queue approved requests whose apply run was lost (idle for 10 minutes)."""
    await c.crm_approvals.resume_idle()


@task("crm.rollup_target_actuals", attempts=3, backoff_s=60, timeout_s=600)
async def rollup_target_actuals(c: Container, day: str | None = None) -> None:
    """Recompute and store today's target actuals per salesperson (idempotent)."""
    await c.crm_targets.rollup(date.fromisoformat(day) if day else None)
