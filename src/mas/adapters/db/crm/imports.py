"""CRM imports on SQLAlchemy: import batches, their rejected rows, vendor leads; the bulk
intake itself is ``mas.adapters.db.crm.bulk_leads`` on this session's connection."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm import bulk_leads
from mas.adapters.db.crm.journal import table
from mas.adapters.db.crm.tables import (
    LeadImportBatchRow,
    LeadImportOutcomeRow,
    LeadTagRow,
    VendorHeadAssignmentRow,
    VendorLeadRow,
)
from mas.adapters.db.identity.tables import VendorApiKeyRow
from mas.core.crm.import_rules import IntakeRow, RejectedRow
from mas.core.crm.model import ImportBatch, ImportStatus
from mas.core.crm.ports.imports import (
    VENDOR_PAYLOAD_FIELDS,
    ChunkOutcome,
    IntakeTarget,
    LeadKeys,
    ReceivedVendorLead,
    VendorLeadIn,
)
from mas.core.platform.ids import uuid7

BATCHES = table(LeadImportBatchRow)
IMPORT_OUTCOMES = table(LeadImportOutcomeRow)
VENDOR_LEADS = table(VendorLeadRow)
VENDOR_HEADS = table(VendorHeadAssignmentRow)
TAGS = table(LeadTagRow)
VENDOR_KEYS = table(VendorApiKeyRow)
_BATCH_FIELDS = [f.name for f in msgspec.structs.fields(ImportBatch)]


def _values(batch: ImportBatch) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(batch, name) for name in _BATCH_FIELDS}
    values["status"] = batch.status.value
    return values


class SqlImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    def _insert(self) -> Any:
        postgres = self._s.get_bind().dialect.name == "postgresql"
        return postgresql.insert if postgres else sqlite.insert

    # --- batches -----------------------------------------------------------------------------

    async def add(self, batch: ImportBatch) -> None:
        values = _values(batch)
        await self._s.execute(insert(BATCHES).values(**values, updated_at=batch.created_at))

    async def get(self, batch_id: uuid.UUID, *, for_update: bool = False) -> ImportBatch | None:
        query = select(*[BATCHES.c[n] for n in _BATCH_FIELDS]).where(BATCHES.c.id == batch_id)
        row = (await self._s.execute(query.with_for_update() if for_update else query)).first()
        return msgspec.convert(dict(row._mapping), ImportBatch) if row else None

    async def save(self, batch: ImportBatch) -> None:
        values = _values(batch)
        del values["id"], values["created_at"]
        await self._s.execute(
            update(BATCHES)
            .where(BATCHES.c.id == batch.id)
            .values(**values, updated_at=datetime.now(UTC))
        )

    async def same_file_since(self, sha256: str, since: datetime) -> ImportBatch | None:
        found = (
            await self._s.execute(
                select(BATCHES.c.id)
                .where(
                    BATCHES.c.file_sha256 == sha256,
                    BATCHES.c.created_at >= since,
                    BATCHES.c.status != ImportStatus.CANCELLED.value,
                )
                .order_by(BATCHES.c.created_at.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return await self.get(found) if found else None

    async def missing_tags(self, names: list[str]) -> list[str]:
        found = (
            await self._s.execute(
                select(TAGS.c.name).where(TAGS.c.name.in_(names), TAGS.c.deleted_at.is_(None))
            )
        ).scalars()
        return sorted(set(names) - set(found))

    async def write_chunk(
        self,
        target: IntakeTarget,
        rows: list[IntakeRow],
        rejected: list[RejectedRow],
        now: datetime,
        gate: Awaitable[None] | None = None,
    ) -> ChunkOutcome:
        conn = await self._s.connection()
        return await bulk_leads.write_chunk(conn, target, rows, rejected, now, gate)

    async def refresh_statistics(self, replay: bool) -> None:
        await bulk_leads.refresh_statistics(await self._s.connection(), replay)

    async def linked_leads(self, phones: list[str], emails: list[str]) -> list[LeadKeys]:
        conn = await self._s.connection()
        return await bulk_leads.linked_leads(conn, phones, emails)

    async def rejected_rows(self, batch_id: uuid.UUID) -> list[RejectedRow]:
        rows = await self._s.execute(
            select(IMPORT_OUTCOMES.c.row_no, IMPORT_OUTCOMES.c.errors, IMPORT_OUTCOMES.c.raw)
            .where(IMPORT_OUTCOMES.c.batch_id == batch_id, IMPORT_OUTCOMES.c.outcome == "REJECTED")
            .order_by(IMPORT_OUTCOMES.c.row_no)
        )
        return [RejectedRow(row_no, list(errors), dict(raw)) for row_no, errors, raw in rows]

    # --- vendor leads ------------------------------------------------------------------------

    async def vendor_head(self, vendor_key_id: uuid.UUID) -> uuid.UUID | None:
        found = await self._s.execute(
            select(VENDOR_HEADS.c.sales_head_id).where(
                VENDOR_HEADS.c.vendor_key_id == vendor_key_id
            )
        )
        head: uuid.UUID | None = found.scalar_one_or_none()
        return head

    async def vendors_of_head(self, sales_head_id: uuid.UUID) -> list[uuid.UUID]:
        found = await self._s.execute(
            select(VENDOR_HEADS.c.vendor_key_id)
            .join(VENDOR_KEYS, VENDOR_KEYS.c.id == VENDOR_HEADS.c.vendor_key_id)
            .where(
                VENDOR_HEADS.c.sales_head_id == sales_head_id, VENDOR_KEYS.c.revoked_at.is_(None)
            )
            .order_by(VENDOR_HEADS.c.created_at)
        )
        return list(found.scalars())

    async def assign_vendor_head(
        self, vendor_key_id: uuid.UUID, sales_head_id: uuid.UUID, actor_id: uuid.UUID
    ) -> None:
        now = datetime.now(UTC)
        statement = self._insert()(VENDOR_HEADS).values(
            id=uuid7(),
            vendor_key_id=vendor_key_id,
            sales_head_id=sales_head_id,
            assigned_by=actor_id,
            created_at=now,
            updated_at=now,
        )
        await self._s.execute(
            statement.on_conflict_do_update(
                index_elements=[VENDOR_HEADS.c.vendor_key_id],
                set_={"sales_head_id": sales_head_id, "assigned_by": actor_id, "updated_at": now},
            )
        )

    async def add_vendor_leads(
        self, vendor_key_id: uuid.UUID, leads: list[VendorLeadIn]
    ) -> list[str]:
        if not leads:
            return []
        now = datetime.now(UTC)
        values = []
        for position, lead in enumerate(leads):
            payload: dict[str, Any] = {
                field: value for field in VENDOR_PAYLOAD_FIELDS if (value := getattr(lead, field))
            }
            if lead.extra:
                payload["extra"] = lead.extra
            values.append(
                {
                    "id": uuid7(),
                    "vendor_key_id": vendor_key_id,
                    "external_id": lead.external_id.strip()[:100],
                    "name": lead.name.strip()[:200],
                    "phone_raw": (lead.phone or "").strip()[:40] or None,
                    "email_raw": (lead.email or "").strip()[:254] or None,
                    "payload": payload,
                    "status": "RECEIVED",
                    # The pull takes them oldest first: keep the order they were sent in.
                    "created_at": now + timedelta(microseconds=position),
                    "updated_at": now,
                }
            )
        statement = (
            self._insert()(VENDOR_LEADS)
            .values(values)
            .on_conflict_do_nothing(
                index_elements=[VENDOR_LEADS.c.vendor_key_id, VENDOR_LEADS.c.external_id]
            )
            .returning(VENDOR_LEADS.c.external_id)
        )
        return list((await self._s.execute(statement)).scalars())

    async def received_vendor_leads(
        self, vendor_key_id: uuid.UUID, limit: int
    ) -> list[ReceivedVendorLead]:
        statement = (
            select(
                VENDOR_LEADS.c.id,
                VENDOR_LEADS.c.external_id,
                VENDOR_LEADS.c.name,
                VENDOR_LEADS.c.phone_raw,
                VENDOR_LEADS.c.email_raw,
                VENDOR_LEADS.c.payload,
            )
            .where(
                VENDOR_LEADS.c.vendor_key_id == vendor_key_id, VENDOR_LEADS.c.status == "RECEIVED"
            )
            .order_by(VENDOR_LEADS.c.created_at, VENDOR_LEADS.c.id)
            .limit(limit)
            # Two pulls of one vendor at once take different leads (PostgreSQL).
            .with_for_update(skip_locked=True)
        )
        rows = await self._s.execute(statement)
        return [msgspec.convert(dict(row._mapping), ReceivedVendorLead) for row in rows]
