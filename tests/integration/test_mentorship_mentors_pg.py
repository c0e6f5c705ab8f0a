"""The mentors' statistics under real concurrent transactions, and the plan of discovery's
``sortBy=rating`` page over 5,000 mentors, on PostgreSQL (committing: real commits)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, text

from mas.adapters.db.identity.tables import UserRow
from mas.adapters.db.mentorship.mentors_tables import MentorRow, mentor_stats
from mas.core.identity.policy import Role
from mas.core.mentorship.mentors.model import MentorFilter, MentorSort
from mas.core.platform.errors import Conflict
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from tests.conftest import Database, make_settings, open_container
from tests.integration.test_mentorship_mentors import account, read_stats

pytestmark = pytest.mark.committing


@pytest.fixture
async def wide(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks between transactions and the planner: PostgreSQL")
    c = await open_container(make_settings(database.url, tmp_path, db_pool_max=30))
    yield c
    await c.close()


async def test_concurrent_meetings_lose_no_count(wide: Any) -> None:
    mentor_id = (await account(wide)).user_id
    book = wide.mentorship.mentors.stats
    async with wide.uow() as uow:
        await book.adjust_open_slots(uow, mentor_id, 10)
        await uow.commit()
    start = asyncio.Event()

    async def meeting(rating: float) -> None:
        await start.wait()
        async with wide.uow() as uow:
            await book.record_completion(uow, mentor_id)
            await book.record_rating(uow, mentor_id, rating)
            await uow.commit()

    async def take_slot() -> bool:
        await start.wait()
        async with wide.uow() as uow:
            try:
                await book.adjust_open_slots(uow, mentor_id, -1)
            except Conflict:
                return False
            await uow.commit()
            return True

    meetings = [asyncio.create_task(meeting(5.0 if i % 2 else 4.0)) for i in range(30)]
    takers = [asyncio.create_task(take_slot()) for _ in range(25)]
    start.set()
    await asyncio.gather(*meetings)
    taken = await asyncio.gather(*takers)
    read = await read_stats(wide, mentor_id)
    assert (read.completed_meets, read.rating_count, read.rating_sum) == (30, 30, 135.0)
    assert read.avg_rating == 4.5
    assert (taken.count(True), read.open_future_slots) == (10, 0)


async def seed_mentors(c: Any, count: int) -> None:
    """``count`` listed mentors, a third unrated, in three statements."""
    now = datetime.now(UTC)
    users, profiles, stats = [], [], []
    for i in range(count):
        user_id = uuid7()
        users.append(
            {
                "id": user_id,
                "email": f"mentor-{i}-{uuid.uuid4().hex[:6]}@example.com",
                "full_name": f"Mentor {i:05d}",
                "role": Role.EXPERT.value,
                "signup_platform": "my-analytics-school",
                "created_at": now,
                "updated_at": now,
            }
        )
        profiles.append(
            {
                "id": uuid7(),
                "user_id": user_id,
                "company": f"Company {i % 40}",
                "role": "Engineer",
                "institute": "",
                "description": "",
                "category": f"Category {i % 8}",
                "sub_category": "General",
                "expertise": ["SQL", f"Tag {i % 30}"],
                "experience_years": i % 25,
                "image": None,
                "is_listed": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        rated = i % 3 != 0
        average = 1.0 + (i * 7 % 9) / 2 if rated else None
        stats.append(
            {
                "mentor_id": user_id,
                "completed_meets": i % 17,
                "rating_sum": average or 0.0,
                "rating_count": 1 if rated else 0,
                "avg_rating": average,
                "rating_order": average or 0.0,
                "open_future_slots": i % 11,
                "created_at": now,
                "updated_at": now,
            }
        )
    async with c.engine.begin() as conn:
        await conn.execute(insert(UserRow), users)
        await conn.execute(insert(MentorRow), profiles)
        await conn.execute(insert(mentor_stats), stats)
        await conn.execute(text("ANALYZE users, mentors, mentor_stats"))


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in nodes(child))]


async def test_the_rating_page_is_read_off_the_index(wide: Any) -> None:
    await seed_mentors(wide, 5_000)
    seen: list[tuple[str, Any]] = []

    def remember(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "mentor_stats" in statement:
            seen.append((statement, parameters))

    event.listen(wide.engine.sync_engine, "before_cursor_execute", remember)
    try:
        page = await wide.mentorship.mentors.discovery.page(
            MentorFilter(sort=MentorSort.RATING), PageRequest(1, 9)
        )
    finally:
        event.remove(wide.engine.sync_engine, "before_cursor_execute", remember)
    assert (page.total, len(page.items)) == (5_000, 9)
    ratings = [card.avg_rating for card in page.items]
    assert ratings == sorted(ratings, reverse=True) and ratings[0] == 5.0
    assert len(seen) == 1, "one statement: the page, its order and its total"
    statement, parameters = seen[0]
    async with wide.engine.connect() as conn:
        # The plan PostgreSQL keeps for a prepared statement run again and again (asyncpg
        # prepares every statement): generic, the limit unknown at planning time.
        await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        explained = await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        plan = explained.scalar_one()
    tree = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    assert tree["Node Type"] == "Limit"
    used = {n.get("Index Name") for n in nodes(tree)}
    assert "ix_mentor_stats_rating" in used, json.dumps(tree, indent=1)
    # The rows under the limit come in index order: no sort of the 5,000 (the total's count,
    # an init plan, has no sort either).
    assert all(n["Node Type"] not in ("Sort", "Incremental Sort") for n in nodes(tree)), tree
    # The next visitor within the memo's few seconds: the page alone, the total remembered.
    event.listen(wide.engine.sync_engine, "before_cursor_execute", remember)
    try:
        again = await wide.mentorship.mentors.discovery.page(
            MentorFilter(sort=MentorSort.RATING), PageRequest(2, 9)
        )
    finally:
        event.remove(wide.engine.sync_engine, "before_cursor_execute", remember)
    assert (again.total, len(again.items)) == (5_000, 9)
    assert len(seen) == 2 and "count(" not in seen[1][0].lower()
