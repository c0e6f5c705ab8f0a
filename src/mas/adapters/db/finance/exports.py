"""The exports repository over ``finance_exports``: rows become ``FinanceExport`` here, and
every state change is a compare-and-set on the status the service read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.finance.exports_tables import finance_exports as EXPORTS
from mas.core.finance.reports.model import ExportStatus, FinanceExport
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.time import as_utc

_FIELDS = tuple(FinanceExport.__struct_fields__)
_CHANGING = (
    "status",
    "password_enc",
    "key_version",
    "storage_key",
    "row_count",
    "error",
    "expires_at",
    "updated_at",
)


def _export(row: Any) -> FinanceExport:
    fields = {str(name): value for name, value in row._mapping.items()}
    for moment in ("created_at", "updated_at", "expires_at"):
        if fields[moment] is not None:
            fields[moment] = as_utc(fields[moment])
    return msgspec.convert(fields, FinanceExport)


class SqlExportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, export: FinanceExport) -> None:
        values = {name: getattr(export, name) for name in _FIELDS}
        values["kind"] = export.kind.value
        values["status"] = export.status.value
        await self._s.execute(insert(EXPORTS).values(**values))

    async def get(self, export_id: uuid.UUID) -> FinanceExport | None:
        row = (await self._s.execute(select(EXPORTS).where(EXPORTS.c.id == export_id))).first()
        return _export(row) if row else None

    async def save(self, export: FinanceExport, expected: str) -> bool:
        values = {name: getattr(export, name) for name in _CHANGING}
        values["status"] = export.status.value
        done = await self._s.execute(
            update(EXPORTS)
            .where(EXPORTS.c.id == export.id, EXPORTS.c.status == expected)
            .values(**values)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]

    async def count_download(self, export_id: uuid.UUID) -> None:
        await self._s.execute(
            update(EXPORTS)
            .where(EXPORTS.c.id == export_id)
            .values(download_count=EXPORTS.c.download_count + 1)
        )

    async def page(self, requested_by: uuid.UUID | None, req: PageRequest) -> Page[FinanceExport]:
        where = [] if requested_by is None else [EXPORTS.c.requested_by == requested_by]
        total = (
            await self._s.execute(select(func.count()).select_from(EXPORTS).where(*where))
        ).scalar_one()
        rows = (
            await self._s.execute(
                select(EXPORTS)
                .where(*where)
                .order_by(EXPORTS.c.created_at.desc(), EXPORTS.c.id.desc())
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).all()
        return Page(
            items=[_export(r) for r in rows], total=total, page=req.page, page_size=req.page_size
        )

    async def due_to_expire(self, now: datetime, limit: int) -> list[FinanceExport]:
        rows = (
            await self._s.execute(
                select(EXPORTS)
                .where(EXPORTS.c.status == ExportStatus.READY.value, EXPORTS.c.expires_at <= now)
                .order_by(EXPORTS.c.expires_at)
                .limit(limit)
            )
        ).all()
        return [_export(r) for r in rows]

    async def count_ready(self, now: datetime) -> int:
        found = await self._s.execute(
            select(func.count())
            .select_from(EXPORTS)
            .where(EXPORTS.c.status == ExportStatus.READY.value, EXPORTS.c.expires_at > now)
        )
        return int(found.scalar_one())
