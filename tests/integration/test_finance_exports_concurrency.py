"""Two deliveries of one ``finance.build_export`` run at once (JetStream is at-least-once): on
PostgreSQL, with real concurrent transactions, the export ends READY once, with one EXPORTED
audit row, and expires once when two sweeps race."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from mas.adapters.db.finance.audit_tables import gst_audit_log
from mas.adapters.fakes.platform import FakeClock
from mas.core.finance.reports.model import ExportKind, ExportStatus, FinanceExport
from mas.core.platform.ids import uuid7
from tests.conftest import Database, make_settings, open_container
from tests.finance_reports_world import seed

pytestmark = pytest.mark.committing  # concurrent transactions, real commits

NOW = datetime(2026, 4, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
async def books(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks between transactions: PostgreSQL (SQLite has one writer)")
    c = await open_container(make_settings(database.url, tmp_path), clock=FakeClock(NOW))
    await seed(c)
    yield c
    await c.close()


async def queued(c: Any) -> FinanceExport:
    box = c.secret_box
    assert box is not None
    sealed, version = box.seal(b"a race of two builds")
    export = FinanceExport(
        id=uuid7(),
        kind=ExportKind.GSTR1_SUMMARY,
        period_from=date(2026, 3, 1),
        period_to=date(2026, 3, 31),
        status=ExportStatus.QUEUED,
        requested_by=uuid7(),
        created_at=NOW,
        updated_at=NOW,
        password_enc=sealed,
        key_version=version,
    )
    async with c.uow() as uow:
        await uow.finance_exports.add(export)
        await uow.commit()
    return export


async def test_two_builds_at_once_make_one_ready_export(books: Any) -> None:
    exports = books.finance.reports.exports
    export = await queued(books)
    outcomes = await asyncio.gather(*(exports.build(export.id) for _ in range(4)))
    assert outcomes.count(ExportStatus.READY) == 1
    async with books.sessions() as session:
        exported = await session.scalar(
            select(func.count())
            .select_from(gst_audit_log)
            .where(
                gst_audit_log.c.entity_id == str(export.id), gst_audit_log.c.action == "EXPORTED"
            )
        )
    assert exported == 1
    async with books.uow() as uow:
        ready = await uow.finance_exports.get(export.id)
    assert ready.status is ExportStatus.READY and ready.password_enc is None

    books.clock.advance(days=8)
    swept = await asyncio.gather(exports.expire(), exports.expire())
    assert sorted(swept) == [0, 1]
    assert not await books.storage.exists(ready.storage_key)
