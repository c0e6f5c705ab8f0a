"""Lead import tasks: a committed CSV batch, a vendor's received leads.

Both are idempotent: a batch resumes after the rows its counters hold and a replayed row is a
no-op (intake unique on channel and ref); a vendor pull takes only RECEIVED leads.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from mas.core.crm.imports import IMPORT_TASK
from mas.core.crm.vendor_intake import VENDOR_TASK
from mas.core.platform.errors import DomainError
from mas.jobs.registry import PermanentFailure, task

if TYPE_CHECKING:
    from mas.bootstrap import Container

RETRYABLE = frozenset({"import_busy", "external_unavailable"})


async def _batch_dead(c: Container, batch_id: str) -> None:
    await c.crm_imports.mark_failed(uuid.UUID(batch_id), "the import job failed after its retries")


@task(IMPORT_TASK, attempts=3, backoff_s=30, timeout_s=1800, on_dead=_batch_dead)
async def import_batch(c: Container, batch_id: str) -> None:
    """Import a committed CSV batch (resumes where a crashed run stopped)."""
    try:
        await c.crm_imports.run(uuid.UUID(batch_id))
    except DomainError as exc:
        if exc.code in RETRYABLE:
            raise
        reason = f"{exc.code}: {exc.detail}"
        await c.crm_imports.mark_failed(uuid.UUID(batch_id), reason)
        raise PermanentFailure(reason) from exc


@task(VENDOR_TASK, attempts=3, backoff_s=30, timeout_s=1800)
async def import_vendor(c: Container, vendor_key_id: str) -> None:
    """Pull a vendor's RECEIVED leads into the pool of the sales head it is assigned to."""
    await c.crm_vendor_leads.pull(uuid.UUID(vendor_key_id))
