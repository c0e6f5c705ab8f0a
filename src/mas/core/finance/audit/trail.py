"""Appending to the GST audit log and checking its chain (payments-finance.md §3, §6
``finance.verify_audit_chain``, §9 check 6).

``AuditTrail.append`` runs in the caller's unit of work, so an audit row commits with the
change it describes or not at all. Appends take the chain's head first, so two transactions
never chain onto the same row; a rolled-back append leaves the head as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mas.core.finance.audit import chain
from mas.core.finance.audit.model import AuditEntry, ChainReport
from mas.core.finance.audit.ports import AuditUnitOfWork
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.finance.audit")


class AuditTrail:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def append(self, uow: AuditUnitOfWork, entry: AuditEntry) -> chain.ChainedRow:
        return (await self.append_many(uow, [entry]))[0]

    async def append_many(
        self, uow: AuditUnitOfWork, entries: list[AuditEntry]
    ) -> list[chain.ChainedRow]:
        """Append ``entries`` in order: one head step and one insert for all of them (a page
        of drafted invoices costs two round trips, not two per invoice)."""
        if not entries:
            return []
        seq, prev_hash = await uow.gst_audit_log.advance(len(entries))
        now = self._clock.now()
        rows = []
        for offset, entry in enumerate(entries):
            row = chain.seal(
                chain.ChainedRow(
                    id=uuid7(),
                    seq=seq + offset,
                    entity_type=entry.entity_type.value,
                    entity_id=entry.entity_id,
                    action=entry.action.value,
                    actor_id=entry.actor_id,
                    before=entry.before,
                    after=entry.after,
                    ip=entry.ip,
                    created_at=now,
                    prev_hash="",
                    row_hash="",
                ),
                prev_hash,
            )
            rows.append(row)
            prev_hash = row.row_hash
        await uow.gst_audit_log.append(rows)
        return rows


class AuditLog:
    """The trail as FINANCE reads it, and the chain check."""

    def __init__(self, uow: UnitOfWorkFactory[AuditUnitOfWork]) -> None:
        self._uow: Callable[[], AuditUnitOfWork] = uow

    async def page(
        self, entity_type: str | None, entity_id: str | None, req: PageRequest
    ) -> Page[chain.ChainedRow]:
        """Newest first; each row with its hash and its predecessor's, so a reader can check
        the links of what they see."""
        async with self._uow() as uow:
            return await uow.gst_audit_log.page(entity_type, entity_id, req)

    async def check(self) -> ChainReport:
        """Walk the chain from its first row; the first row whose links or content no longer
        match is reported (and logged as an error: the daily job is the alarm)."""
        checked = 0
        prev_hash = chain.GENESIS
        expected_seq = 1
        async with self._uow() as uow:
            async for batch in uow.gst_audit_log.walk():
                for row in batch:
                    broken = row.seq != expected_seq or chain.first_broken([row], prev_hash)
                    if broken:
                        log.error(
                            "finance.audit_chain_broken",
                            extra={"row_id": str(row.id), "seq": row.seq, "checked": checked},
                        )
                        return ChainReport(
                            rows_checked=checked,
                            intact=False,
                            first_broken_id=row.id,
                            first_broken_seq=row.seq,
                        )
                    checked += 1
                    prev_hash = row.row_hash
                    expected_seq += 1
        return ChainReport(rows_checked=checked, intact=True)
