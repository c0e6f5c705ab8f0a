"""CRM imports on SQLAlchemy: import batches, their rejected rows, vendor leads; the bulk
intake itself is ``mas.adapters.db.crm.bulk_leads`` on this session's connection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm import bulk_leads
from mas.adapters.db.crm.tables import (
    LeadImportBatchRow,
    LeadImportRowRow,
    LeadTagRow,
    VendorHeadAssignmentRow,
    VendorLeadRow,
)
from mas.adapters.db.identity.tables import VendorApiKeyRow
from mas.core.crm.import_rules import IntakeRow, RejectedRow
from mas.core.crm.model import ImportBatch, ImportStatus
from mas.core.crm.ports.imports import (
    ChunkOutcome,
    IntakeTarget,
    ReceivedVendorLead,
    VendorLeadIn,
)
from mas.core.platform.ids import uuid7

B: Table = LeadImportBatchRow.__table__  # type: ignore[assignment]
R: Table = LeadImportRowRow.__table__  # type: ignore[assignment]
V: Table = VendorLeadRow.__table__  # type: ignore[assignment]
H: Table = VendorHeadAssignmentRow.__table__  # type: ignore[assignment]
TAGS: Table = LeadTagRow.__table__  # type: ignore[assignment]
KEYS: Table = VendorApiKeyRow.__table__  # type: ignore[assignment]
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
        await self._s.execute(insert(B).values(**values, updated_at=batch.created_at))

    async def get(self, batch_id: uuid.UUID) -> ImportBatch | None:
        row = (
            await self._s.execute(
                select(*[B.c[n] for n in _BATCH_FIELDS]).where(B.c.id == batch_id)
            )
        ).first()
        return msgspec.convert(dict(row._mapping), ImportBatch) if row else None

    async def save(self, batch: ImportBatch) -> None:
        values = _values(batch)
        del values["id"], values["created_at"]
        await self._s.execute(
            update(B).where(B.c.id == batch.id).values(**values, updated_at=datetime.now(UTC))
        )

    async def same_file_since(self, sha256: str, since: datetime) -> ImportBatch | None:
        found = (
            await self._s.execute(
                select(B.c.id)
                .where(
                    B.c.file_sha256 == sha256,
                    B.c.created_at >= since,
                    B.c.status != ImportStatus.CANCELLED.value,
                )
                .order_by(B.c.created_at.desc())
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
    ) -> ChunkOutcome:
        conn = await self._s.connection()
        return await bulk_leads.write_chunk(conn, target, rows, rejected, now)

    async def rejected_rows(self, batch_id: uuid.UUID) -> list[RejectedRow]:
        rows = await self._s.execute(
            select(R.c.row_no, R.c.errors, R.c.raw)
            .where(R.c.batch_id == batch_id, R.c.outcome == "REJECTED")
            .order_by(R.c.row_no)
        )
        return [RejectedRow(row_no, list(errors), dict(raw)) for row_no, errors, raw in rows]

    # --- vendor leads ------------------------------------------------------------------------

    async def vendor_head(self, vendor_key_id: uuid.UUID) -> uuid.UUID | None:
        found = await self._s.execute(
            select(H.c.sales_head_id).where(H.c.vendor_key_id == vendor_key_id)
        )
        head: uuid.UUID | None = found.scalar_one_or_none()
        return head

    async def vendors_of_head(self, sales_head_id: uuid.UUID) -> list[uuid.UUID]:
        found = await self._s.execute(
            select(H.c.vendor_key_id)
            .join(KEYS, KEYS.c.id == H.c.vendor_key_id)
            .where(H.c.sales_head_id == sales_head_id, KEYS.c.revoked_at.is_(None))
            .order_by(H.c.created_at)
        )
        return list(found.scalars())

    async def assign_vendor_head(
        self, vendor_key_id: uuid.UUID, sales_head_id: uuid.UUID, actor_id: uuid.UUID
    ) -> None:
        now = datetime.now(UTC)
        statement = self._insert()(H).values(
            id=uuid7(),
            vendor_key_id=vendor_key_id,
            sales_head_id=sales_head_id,
            assigned_by=actor_id,
            created_at=now,
            updated_at=now,
        )
        await self._s.execute(
            statement.on_conflict_do_update(
                index_elements=[H.c.vendor_key_id],
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
                field: value
                for field in ("city", "state", "course_interest", "session_year")
                if (value := getattr(lead, field))
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
            self._insert()(V)
            .values(values)
            .on_conflict_do_nothing(index_elements=[V.c.vendor_key_id, V.c.external_id])
            .returning(V.c.external_id)
        )
        return list((await self._s.execute(statement)).scalars())

    async def received_vendor_leads(
        self, vendor_key_id: uuid.UUID, limit: int
    ) -> list[ReceivedVendorLead]:
        statement = (
            select(V.c.id, V.c.external_id, V.c.name, V.c.phone_raw, V.c.email_raw, V.c.payload)
            .where(V.c.vendor_key_id == vendor_key_id, V.c.status == "RECEIVED")
            .order_by(V.c.created_at, V.c.id)
            .limit(limit)
            # Two pulls of one vendor at once take different leads (PostgreSQL).
            .with_for_update(skip_locked=True)
        )
        rows = await self._s.execute(statement)
        return [msgspec.convert(dict(row._mapping), ReceivedVendorLead) for row in rows]
