"""The GST audit log on SQLite and PostgreSQL: appends chain in the caller's transaction, a
rolled-back append leaves no trace, the check names the first altered row, PostgreSQL refuses
UPDATE and DELETE, and concurrent appends chain one after another (payments-finance.md §3
GstAuditLog, §9 check 6)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from mas.adapters.db.finance.audit_tables import gst_audit_log
from mas.core.finance.audit.chain import GENESIS
from mas.core.finance.audit.model import AuditAction, AuditEntity, AuditEntry
from mas.core.platform.paging import PageRequest
from tests.conftest import Database, make_settings, open_container


def entry(n: int, action: AuditAction = AuditAction.UPDATED) -> AuditEntry:
    return AuditEntry(
        entity_type=AuditEntity.INVOICE,
        entity_id=f"inv-{n}",
        action=action,
        actor_id=uuid.uuid4(),
        before={"customer_name": f"before {n}", "total_paise": 35000},
        after={"customer_name": f"after {n}", "total_paise": 35000},
        ip="203.0.113.7",
    )


async def append(c: Any, n: int, commit: bool = True) -> Any:
    async with c.uow() as uow:
        row = await c.finance.audit.trail.append(uow, entry(n))
        if commit:
            await uow.commit()
    return row


async def test_appends_chain_and_the_check_passes(container: Any) -> None:
    first = await append(container, 1)
    second = await append(container, 2)
    assert (first.seq, first.prev_hash) == (1, GENESIS)
    assert (second.seq, second.prev_hash) == (2, first.row_hash)
    report = await container.finance.audit.log.check()
    assert (report.rows_checked, report.intact) == (2, True)
    page = await container.finance.audit.log.page("INVOICE", "inv-2", PageRequest())
    assert [r.seq for r in page.items] == [2] and page.items[0].after == entry(2).after
    newest = await container.finance.audit.log.page(None, None, PageRequest())
    assert [r.seq for r in newest.items] == [2, 1]


async def test_a_batch_chains_like_single_appends(container: Any) -> None:
    first = await append(container, 1)
    async with container.uow() as uow:
        batch = await container.finance.audit.trail.append_many(
            uow, [entry(n) for n in range(2, 7)]
        )
        assert await container.finance.audit.trail.append_many(uow, []) == []
        await uow.commit()
    last = await append(container, 7)
    assert [r.seq for r in batch] == [2, 3, 4, 5, 6]
    assert batch[0].prev_hash == first.row_hash and last.prev_hash == batch[-1].row_hash
    report = await container.finance.audit.log.check()
    assert (report.rows_checked, report.intact) == (7, True)


async def test_a_rolled_back_append_leaves_no_trace(container: Any) -> None:
    first = await append(container, 1)
    await append(container, 99, commit=False)
    third = await append(container, 3)
    assert (third.seq, third.prev_hash) == (2, first.row_hash)
    assert (await container.finance.audit.log.check()).intact


async def test_the_check_names_the_first_altered_row(container: Any, database: Database) -> None:
    rows = [await append(container, n) for n in range(1, 5)]
    async with container.uow() as uow:
        session = uow.session  # type: ignore[attr-defined]
        if database.url.startswith("postgresql"):
            # What someone with the database's owner rights could do: lift the trigger.
            await session.execute(
                text("ALTER TABLE gst_audit_log DISABLE TRIGGER gst_audit_log_append_only")
            )
        await session.execute(
            update(gst_audit_log)
            .where(gst_audit_log.c.id == rows[2].id)
            .values(after={"customer_name": "forged", "total_paise": 1})
        )
        await uow.commit()
    report = await container.finance.audit.log.check()
    assert not report.intact
    assert (report.first_broken_id, report.first_broken_seq) == (rows[2].id, 3)
    assert report.rows_checked == 2


async def test_postgresql_refuses_update_and_delete(container: Any, database: Database) -> None:
    if not database.url.startswith("postgresql"):
        pytest.skip("the append-only trigger is PostgreSQL's")
    row = await append(container, 1)
    for statement in (
        update(gst_audit_log).where(gst_audit_log.c.id == row.id).values(action="ISSUED"),
        gst_audit_log.delete().where(gst_audit_log.c.id == row.id),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with container.uow() as uow:
                await uow.session.execute(statement)  # type: ignore[attr-defined]


@pytest.fixture
async def wide(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer)")
    c = await open_container(make_settings(database.url, tmp_path, db_pool_max=20))
    yield c
    await c.close()


@pytest.mark.committing
async def test_concurrent_appends_chain_one_after_another(wide: Any) -> None:
    start = asyncio.Event()

    async def one(n: int) -> Any:
        await start.wait()
        return await append(wide, n)

    racers = [asyncio.create_task(one(n)) for n in range(20)]
    start.set()
    rows = await asyncio.gather(*racers)
    assert sorted(r.seq for r in rows) == list(range(1, 21))
    report = await wide.finance.audit.log.check()
    assert (report.rows_checked, report.intact) == (20, True)
