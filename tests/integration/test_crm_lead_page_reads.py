"""The lead list's read through asyncpg (``lead_page_reads``) returns exactly what SQLAlchemy's
returns for the same scope, filters and position, in autocommit and inside a transaction."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, event, func, literal_column, select, text, update

import mas.adapters.db.crm.leads as repo
from mas.adapters.db.crm.lead_page_reads import fetch_page
from mas.adapters.db.crm.tables import RawLeadRow
from mas.adapters.db.session import make_engine, make_sessionmaker
from mas.core.crm.intake import NewLead, NewPoolLead
from mas.core.crm.model import LeadSource, LeadStatus
from mas.core.crm.queries import LeadFilter, LeadSlice, lead_cursor
from mas.core.crm.scope import LeadScope, ScopeKind
from mas.core.crm.service import StatusRequest
from mas.core.crm.tagging import NewTag
from mas.core.identity.policy import Role
from mas.core.platform.paging import PageRequest
from tests.integration.test_crm_leads import a_user, join_team

pytestmark = pytest.mark.committing  # sessions on the engine: the list's autocommit read too


async def _page(
    c: Any,
    scope: LeadScope,
    flt: LeadFilter,
    req: PageRequest,
    after: tuple[datetime, uuid.UUID] | None,
    count: bool,
    *,
    begun: bool,
) -> LeadSlice:
    async with c.sessions() as session:
        if begun:  # a statement before the list: the read joins the unit's transaction
            await session.execute(text("SELECT 1"))
        return await repo.SqlLeadStore(session).page(scope, flt, req, after=after, count=count)


async def test_the_asyncpg_read_matches_sqlalchemys(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = await a_user(container, Role.SALES_HEAD)
    other_head = await a_user(container, Role.SALES_HEAD)
    sales = await a_user(container, Role.SALES)
    admin = await a_user(container, Role.ADMIN)
    await join_team(container, head, sales)
    ids = [
        (
            await container.crm.intake.add_manual(
                head, NewPoolLead(name=f"Pool Lead {i}", phone=f"98765101{i:02d}")
            )
        ).id
        for i in range(6)
    ]
    ids.append(
        (
            await container.crm.intake.add_manual(
                sales, NewLead(name="Mine", phone="9876510190", email="mine@example.com")
            )
        ).id
    )
    ids.append(
        (
            await container.crm.intake.add_manual(
                other_head, NewPoolLead(name="Theirs", phone="9876510191")
            )
        ).id
    )
    hot = await container.crm.tags.create(admin, NewTag(name="Hot Lead"))
    cold = await container.crm.tags.create(admin, NewTag(name="Alpha Batch"))
    for lead_id in ids[:3]:
        await container.crm.tags.attach(admin, lead_id, hot.id)
    await container.crm.tags.attach(admin, ids[1], cold.id)
    await container.crm.leads.change_status(
        admin, ids[2], StatusRequest(to=LeadStatus.CONTACTED), None, None
    )
    tied = datetime(2025, 5, 5, 5, 5, 5, 123456, tzinfo=UTC)
    due = datetime(2025, 6, 1, tzinfo=UTC)
    async with container.sessions() as s:
        await s.execute(
            update(RawLeadRow).where(RawLeadRow.id.in_(ids[3:5])).values(created_at=tied)
        )
        await s.execute(
            update(RawLeadRow).where(RawLeadRow.id == ids[0]).values(next_follow_up_at=due)
        )
        await s.commit()

    used: list[bool] = []

    async def spied(*args: Any, **kwargs: Any) -> Any:
        rows = await fetch_page(*args, **kwargs)
        used.append(rows is not None)
        return rows

    async def refused(*args: Any, **kwargs: Any) -> None:
        return None

    scopes = [
        LeadScope(ScopeKind.POOL, head.user_id),
        LeadScope(ScopeKind.POOL, head.user_id, read_all_pools=True),
        LeadScope(ScopeKind.ASSIGNED, sales.user_id),
        LeadScope(ScopeKind.ALL),
        LeadScope(ScopeKind.NONE),
    ]
    filters = [
        LeadFilter(),
        LeadFilter(statuses=(LeadStatus.NEW,)),
        LeadFilter(statuses=(LeadStatus.NEW, LeadStatus.CONTACTED)),
        LeadFilter(tag="hot-lead"),
        LeadFilter(q="pool lead 3"),
        LeadFilter(q="510190"),
        LeadFilter(unassigned=True),
        LeadFilter(assigned_to=sales.user_id),
        LeadFilter(source=LeadSource.MANUAL),
        LeadFilter(pool=other_head.user_id),
        LeadFilter(created_from=tied, created_before=tied + timedelta(days=3650)),
        LeadFilter(follow_up_due_before=due + timedelta(days=1)),
    ]
    compared = 0
    for scope in scopes:
        for flt in filters:
            for req, count in ((PageRequest(1, 3), True), (PageRequest(2, 2), False)):
                monkeypatch.setattr(repo, "fetch_page", refused)
                expected = await _page(container, scope, flt, req, None, count, begun=False)
                after = None
                if expected.leads:
                    last = expected.leads[min(len(expected.leads), req.page_size) - 1]
                    cursor_of = lead_cursor(last).partition("-")
                    after = (
                        datetime(1970, 1, 1, tzinfo=UTC)
                        + timedelta(microseconds=int(cursor_of[0])),
                        uuid.UUID(hex=cursor_of[2]),
                    )
                expected_after = await _page(container, scope, flt, req, after, count, begun=False)
                monkeypatch.setattr(repo, "fetch_page", spied)
                for begun in (False, True):  # the pooled read, the transaction's
                    got = await _page(container, scope, flt, req, None, count, begun=begun)
                    assert got == expected, (scope, flt, req, count, begun)
                    got_after = await _page(container, scope, flt, req, after, count, begun=begun)
                    assert got_after == expected_after, (scope, flt, req, count, begun, after)
                    compared += 2
    assert compared == len(scopes) * len(filters) * 2 * 4
    on_postgres = container.settings.database_url.startswith("postgresql")
    assert used and all(used) if on_postgres else not any(used)
    # The comparisons were not of empty pages only.
    every = await _page(
        container, scopes[3], LeadFilter(), PageRequest(1, 50), None, True, begun=False
    )
    assert len(every.leads) == len(ids) and every.total == len(ids)
    assert sorted(next(x for x in every.leads if x.id == ids[1]).tags) == [
        "alpha-batch",
        "hot-lead",
    ]


async def test_a_cancelled_read_leaves_the_pool_whole_and_usable(
    container: Any, database: Any
) -> None:
    if not database.url.startswith("postgresql"):
        pytest.skip("the asyncpg read runs on PostgreSQL only")
    engine = make_engine(database.url, pool_min=1, pool_max=1)
    sessions = make_sessionmaker(engine)
    slow = select(func.pg_sleep(5), literal_column("1").label("one"))
    try:
        async with sessions() as session:
            reading = asyncio.ensure_future(fetch_page(session, ("slow",), slow, {}))
            await asyncio.sleep(0.3)
            reading.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reading
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        quick: Select[Any] = select(literal_column("1").label("one"))
        async with sessions() as session:
            rows = await asyncio.wait_for(fetch_page(session, ("quick",), quick, {}), 2)
        assert rows is not None and [r["one"] for r in rows] == [1]
    finally:
        await engine.dispose()


async def test_reads_take_the_steady_pool_in_turn_and_open_no_overflow(
    container: Any, database: Any
) -> None:
    """Eight reads at once on a pool of two (eight more allowed as overflow): they queue for
    the two, first come first served, instead of racing the pool's queue or opening more."""
    if not database.url.startswith("postgresql"):
        pytest.skip("the asyncpg read runs on PostgreSQL only")
    engine = make_engine(database.url, pool_min=2, pool_max=10)
    sessions = make_sessionmaker(engine)
    nap = select(func.pg_sleep(0.05), literal_column("1").label("one"))
    most = 0
    served: list[int] = []

    async def read(number: int) -> None:
        nonlocal most
        async with sessions() as session:
            rows = await fetch_page(session, ("nap",), nap, {})
            assert rows is not None and [r["one"] for r in rows] == [1]
        served.append(number)

    def checked_out(*_: Any) -> None:
        nonlocal most
        most = max(most, engine.pool.checkedout())  # type: ignore[attr-defined]

    event.listen(engine.sync_engine, "checkout", checked_out)
    try:
        await asyncio.gather(*(read(n) for n in range(8)))
        assert most == 2, "the reads stayed within the steady pool"
        assert engine.pool.overflow() <= 0  # type: ignore[attr-defined]
        assert sorted(served[:2]) == [0, 1] and sorted(served) == list(range(8))
    finally:
        await engine.dispose()
