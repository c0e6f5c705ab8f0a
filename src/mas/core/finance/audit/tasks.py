"""The audit part's task: the daily chain check (read-only; a broken chain is logged as an
error naming the first altered row)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.finance.audit import AuditServices

VERIFY_CHAIN = Task("finance.verify_audit_chain", NoArgs, TaskPolicy(attempts=1, timeout_s=1800))


async def verify_chain(audit: AuditServices, _: NoArgs) -> None:
    """Walk the GST audit chain; a broken link is logged as an error naming the first altered
    row (read-only: nothing is repaired)."""
    await audit.log.check()
