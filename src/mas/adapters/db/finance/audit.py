"""The GST audit log's repository: appends chained through the head row, reads in order.

``advance`` increments the head's sequence first: that UPDATE takes PostgreSQL's row lock (and
SQLite's write lock) before anything is read, so a second append in another transaction waits
for the first to commit or roll back and then chains onto what it left. The hash the UPDATE
returns is the head's previous ``last_hash`` (the statement does not change it); ``append``
moves it to the new row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.finance.audit_tables import gst_audit_head as HEAD
from mas.adapters.db.finance.audit_tables import gst_audit_log as LOG
from mas.core.finance.audit.chain import GENESIS, ChainedRow
from mas.core.platform.paging import Page, PageRequest

HEAD_ID = 1


def _row(r: Any) -> ChainedRow:
    return ChainedRow(**r._mapping)


class SqlAuditLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def advance(self, count: int = 1) -> tuple[int, str]:
        found = await self._step(count)
        if found is None:
            # The migration writes the head; a database emptied by hand has none. Writing it
            # back is idempotent under concurrency (ON CONFLICT DO NOTHING), then step again.
            dialect = self._s.bind.dialect.name
            insert_head = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(HEAD)
            await self._s.execute(
                insert_head.values(id=HEAD_ID, seq=0, last_hash=GENESIS).on_conflict_do_nothing()
            )
            found = await self._step(count)
        if found is None:  # pragma: no cover - the row was just written
            raise RuntimeError("the audit chain's head row is missing")
        return found

    async def _step(self, count: int) -> tuple[int, str] | None:
        """Move the head on by ``count``: the first reserved number and the previous hash."""
        found = (
            await self._s.execute(
                update(HEAD)
                .where(HEAD.c.id == HEAD_ID)
                .values(seq=HEAD.c.seq + count)
                .returning(HEAD.c.seq, HEAD.c.last_hash)
            )
        ).first()
        if found is None:
            return None
        return int(found.seq) - count + 1, str(found.last_hash)

    async def append(self, rows: list[ChainedRow]) -> None:
        if not rows:
            return
        await self._s.execute(
            insert(LOG),
            [{name: getattr(row, name) for name in row.__struct_fields__} for row in rows],
        )
        await self._s.execute(
            update(HEAD).where(HEAD.c.id == HEAD_ID).values(last_hash=rows[-1].row_hash)
        )

    async def walk(self, batch: int = 1000) -> AsyncIterator[list[ChainedRow]]:
        after = 0
        while True:
            rows = (
                await self._s.execute(
                    select(LOG).where(LOG.c.seq > after).order_by(LOG.c.seq).limit(batch)
                )
            ).all()
            if not rows:
                return
            yield [_row(r) for r in rows]
            after = rows[-1].seq

    async def page(
        self, entity_type: str | None, entity_id: str | None, req: PageRequest
    ) -> Page[ChainedRow]:
        where = []
        if entity_type is not None:
            where.append(LOG.c.entity_type == entity_type)
        if entity_id is not None:
            where.append(LOG.c.entity_id == entity_id)
        total = (
            await self._s.execute(select(func.count()).select_from(LOG).where(*where))
        ).scalar_one()
        rows = (
            await self._s.execute(
                select(LOG)
                .where(*where)
                .order_by(LOG.c.seq.desc())
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).all()
        return Page(
            items=[_row(r) for r in rows], total=total, page=req.page, page_size=req.page_size
        )
