"""Vendor leads: a vendor pushes them (idempotent on its external id), an admin names the sales
head whose pool a vendor feeds, and that head (or an admin) pulls the RECEIVED ones into the
pool through the same set-based intake as a CSV import (channel VENDOR, ref = vendor lead id).

Every pulled lead ends IMPORTED (it created a lead), DUPLICATE (it merged into one) or REJECTED
with a reason, with ``raw_lead_id`` set unless rejected (spec §7 ``crm.import_vendor``, §10.13).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import msgspec

from mas.core.crm.events import LeadsImported
from mas.core.crm.import_engine import CHUNK_ROWS, write_with_retry
from mas.core.crm.import_rules import IntakeRow, RejectedRow, RowRules
from mas.core.crm.model import IntakeChannel, LeadSource
from mas.core.crm.phones import PhoneNormalizer
from mas.core.crm.ports.imports import (
    VENDOR_PAYLOAD_FIELDS,
    ChunkOutcome,
    IntakeTarget,
    ReceivedVendorLead,
    VendorLeadIn,
)
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.tasks import IMPORT_VENDOR, VendorRef
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import FieldError, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.crm.vendor")

MAX_PUSH = 500


class PushResult(msgspec.Struct, frozen=True):
    accepted: list[str]
    duplicates: list[str]


class VendorPool(msgspec.Struct, frozen=True):
    vendor_key_id: uuid.UUID
    sales_head_id: uuid.UUID


class PullRequested(msgspec.Struct, frozen=True):
    vendor_key_id: uuid.UUID
    run_id: uuid.UUID


class PullSummary(msgspec.Struct, frozen=True):
    vendor_key_id: uuid.UUID
    imported: int
    duplicates: int
    rejected: int


def to_row(rules: RowRules, row_no: int, lead: ReceivedVendorLead) -> IntakeRow | RejectedRow:
    values = {"name": lead.name, "phone": lead.phone_raw or "", "email": lead.email_raw or ""}
    for field in VENDOR_PAYLOAD_FIELDS:
        value = lead.payload.get(field)
        if isinstance(value, str) and value.strip():
            values[field] = value.strip()
    extra = {
        str(k): str(v)[:500] for k, v in (lead.payload.get("extra") or {}).items() if v is not None
    }
    submitted = {"external_id": lead.external_id, **values, **extra}
    return rules.build(row_no, str(lead.id), values, extra, submitted, source_id=lead.id)


class VendorLeadService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[CrmUnitOfWork],
        clock: Clock,
        phones: PhoneNormalizer,
        jobs: Enqueuer,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._phones = phones
        self._jobs = jobs
        self.chunk_rows = chunk_rows
        """Vendor leads per transaction of a pull."""

    async def push(self, vendor_key_id: uuid.UUID, leads: list[VendorLeadIn]) -> PushResult:
        """Store a vendor's leads as RECEIVED; an external id seen before is left untouched."""
        if not 1 <= len(leads) <= MAX_PUSH:
            raise ValidationFailed(
                f"from 1 to {MAX_PUSH} leads per request",
                errors=[FieldError("body", f"1 to {MAX_PUSH} items")],
            )
        unique: dict[str, VendorLeadIn] = {}
        for lead in leads:
            unique.setdefault(lead.external_id.strip(), lead)
        async with self._uow() as uow:
            accepted = await uow.imports.add_vendor_leads(vendor_key_id, list(unique.values()))
            await uow.commit()
        new = set(accepted)
        return PushResult(
            accepted=[e for e in unique if e in new],
            duplicates=[e.external_id for e in leads if e.external_id.strip() not in new],
        )

    async def assign_head(
        self, actor: Caller, vendor_key_id: uuid.UUID, sales_head_id: uuid.UUID
    ) -> VendorPool:
        async with self._uow() as uow:
            if await uow.vendor_keys.get(vendor_key_id) is None:
                raise NotFound("no such vendor key", code="vendor_key_not_found")
            head = await uow.users.get(sales_head_id)
            if head is None or head.role is not Role.SALES_HEAD or head.is_deleted:
                raise ValidationFailed(
                    "sales_head_id is not a sales head",
                    code="not_sales_head",
                    errors=[FieldError("sales_head_id", "not a sales head")],
                )
            await uow.imports.assign_vendor_head(vendor_key_id, sales_head_id, actor.user_id)
            await uow.commit()
        return VendorPool(vendor_key_id, sales_head_id)

    async def request_pull(
        self, caller: Caller, vendor_key_id: uuid.UUID | None
    ) -> list[PullRequested]:
        """Queue a pull per vendor: the one named (it must feed the caller's pool, unless the
        caller is an admin), or every vendor feeding the calling head's pool."""
        admin = caller.is_admin
        async with self._uow() as uow:
            if vendor_key_id is None:
                if admin:
                    raise ValidationFailed(
                        "name the vendor: vendor_key_id",
                        code="vendor_key_required",
                        errors=[FieldError("vendor_key_id", "required for an admin")],
                    )
                keys = await uow.imports.vendors_of_head(caller.user_id)
            else:
                head = await uow.imports.vendor_head(vendor_key_id)
                if head is None and admin:
                    raise ValidationFailed(
                        "this vendor feeds no pool yet: assign it to a sales head first",
                        code="vendor_not_assigned",
                        errors=[FieldError("vendor_key_id", "not assigned to a sales head")],
                    )
                if not admin and head != caller.user_id:
                    raise Forbidden(
                        "this vendor is not assigned to your pool", code="vendor_not_assigned"
                    )
                keys = [vendor_key_id]
        now = self._clock.now()
        queued = []
        for key in keys:
            run = await self._jobs.submit(
                IMPORT_VENDOR, VendorRef(key), key=f"{key}@{now.isoformat()}"
            )
            queued.append(PullRequested(key, run.id))
        return queued

    async def pull(self, vendor_key_id: uuid.UUID) -> PullSummary:
        """Bring every RECEIVED lead of the vendor into its head's pool, a chunk at a time."""
        async with self._uow() as uow:
            head = await uow.imports.vendor_head(vendor_key_id)
            key = await uow.vendor_keys.get(vendor_key_id)
        if key is None or head is None:
            raise NotFound("no vendor key feeding a pool", code="vendor_not_assigned")
        target = IntakeTarget(
            channel=IntakeChannel.VENDOR,
            source=LeadSource.VENDOR,
            source_detail=key.vendor_name[:200],
            pool_head_id=head,
            actor_id=None,
            label=f"vendor {key.vendor_name}"[:200],
        )
        rules = RowRules([], {}, self._phones)
        total = ChunkOutcome()
        started = self._clock.now()
        while True:

            async def work(uow: CrmUnitOfWork) -> ChunkOutcome | None:
                received = await uow.imports.received_vendor_leads(vendor_key_id, self.chunk_rows)
                if not received:
                    return None
                parsed = [to_row(rules, n, lead) for n, lead in enumerate(received, start=1)]
                rows = [p for p in parsed if isinstance(p, IntakeRow)]
                rejected = [p for p in parsed if isinstance(p, RejectedRow)]
                await uow.imports.refresh_statistics(replay=False)  # one writer: in its unit
                return await uow.imports.write_chunk(target, rows, rejected, self._clock.now())

            outcome = await write_with_retry(self._uow, work)
            if outcome is None:
                break
            total.created += outcome.created
            total.merged += outcome.merged
            for reason, count in outcome.rejected.items():
                total.rejected[reason] = total.rejected.get(reason, 0) + count
        summary = PullSummary(
            vendor_key_id, total.created, total.merged, sum(total.rejected.values())
        )
        if summary.imported or summary.duplicates or summary.rejected:
            await self._announce(head, summary, started)
        log.info("crm.vendor_pulled", extra=msgspec.to_builtins(summary))
        return summary

    async def _announce(self, head: uuid.UUID, summary: PullSummary, started: datetime) -> None:
        async with self._uow() as uow:
            uow.record(
                LeadsImported(
                    batch_id=None,
                    channel=IntakeChannel.VENDOR.value,
                    pool_head_id=head,
                    created=summary.imported,
                    merged=summary.duplicates,
                    rejected=summary.rejected,
                    vendor_key_id=summary.vendor_key_id,
                    started_at=started,
                )
            )
            await uow.commit()
