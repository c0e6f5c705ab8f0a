"""One ALL_STUDENTS broadcast to 100,000 students, end to end on PostgreSQL, against a plain COPY.

On a scratch database (created and dropped; admin URL from ``MAS_BENCH_PG_URL``): --students
students are loaded with COPY; 0.5 % of them turned announcements off and 1 % already received
their 3 notifications today (IST), so the fan-out has to filter both. Then, in this process, the
admin's ``create(send_now=True)`` runs the whole path: the broadcast row, the job ledger run of
``comms.notify.broadcast`` (the in-memory broker runs it inline), the set-based chunks of 1,000
(daily-count upsert with the cap, notification inserts, counters, progress) and the realtime
pushes, until the broadcast is SENT. For reference, the same run then COPYs as many rows of the
notifications' shape into a scratch table without indexes. Prints one JSON object: seconds,
rows/s, the broadcast's counters, the COPY's seconds and the ratio. Asserts nothing.

    .venv/bin/python benchmarks/broadcast_fanout.py [--students 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_ADMIN = os.environ.get(
    "MAS_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
PREFS_OFF = 0.005
AT_CAP = 0.01


async def admin_sql(sql: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


def raw(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


async def seed(url: str, students: int, zone: str) -> tuple[uuid.UUID, dict[str, int]]:
    """The admin and the students (COPY), some preferences off, some students at the cap."""
    import asyncpg

    from mas.core.platform.ids import uuid7

    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(zone)).date()
    admin_id = uuid7()
    ids = [uuid7() for _ in range(students)]
    columns = [
        "id", "email", "role", "is_super_mentor", "is_verified", "is_profile_complete",
        "stage", "signup_platform", "is_blocked", "token_version", "created_at", "updated_at",
    ]  # fmt: skip

    def user(user_id: uuid.UUID, email: str, role: str) -> tuple[Any, ...]:
        return (
            user_id,
            email,
            role,
            False,
            True,
            True,
            2,
            "my-analytics-school",
            False,
            0,
            now,
            now,
        )

    conn = await asyncpg.connect(raw(url))
    try:
        await conn.copy_records_to_table(
            "users",
            records=[user(admin_id, "bench-admin@example.com", "ADMIN")]
            + [user(i, f"student{n}@example.com", "USER") for n, i in enumerate(ids)],
            columns=columns,
        )
        off = ids[:: int(1 / PREFS_OFF)]
        capped = ids[1 :: int(1 / AT_CAP)]
        await conn.copy_records_to_table(
            "notification_preferences",
            records=[(i, "IN_APP", "ANNOUNCEMENT", False) for i in off],
            columns=["user_id", "channel", "category", "enabled"],
        )
        await conn.copy_records_to_table(
            "notification_daily_counts",
            records=[(i, today, 3) for i in capped],
            columns=["user_id", "ist_date", "count"],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return admin_id, {"students": students, "preferences_off": len(off), "at_cap": len(capped)}


async def fan_out(url: str, admin_id: uuid.UUID, folder: Path) -> tuple[float, dict[str, Any]]:
    from mas.bootstrap import build_container
    from mas.core.comms.notifications.model import Audience, NewBroadcast
    from mas.core.identity.policy import Caller, Platform, Role
    from mas.jobs.runner import register_all
    from mas.settings import load_settings

    settings = load_settings(
        environ={},
        overrides={
            "env": "test",
            "database_url": url,
            "storage_dir": str(folder / "storage"),
            "log_level": "WARNING",
            "jwt_secret": "bench-only-jwt-secret-0123456789abcdef",
        },
    )
    c = await build_container(settings, inline_tasks=True)
    register_all(c.broker, c)
    await c.start_broker()
    try:
        caller = Caller(user_id=admin_id, role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)
        new = NewBroadcast(
            audience=Audience.ALL_STUDENTS,
            title="Exams moved",
            body="The mid-term exams move to next Friday.",
            link="/exams",
            send_now=True,
        )
        started = time.perf_counter()
        created = await c.comms.notifications.broadcasts.create(caller, new)
        seconds = time.perf_counter() - started
        done = await c.comms.notifications.broadcasts.get(created.id)
        return seconds, {
            "status": done.status.value,
            "recipients": done.recipients,
            "delivered": done.delivered,
            "capped": done.capped,
            "skipped_pref": done.skipped_pref,
            "duplicates": done.duplicates,
        }
    finally:
        await c.close()


async def plain_copy(url: str, rows: int) -> float:
    """Seconds to COPY ``rows`` notification-shaped rows into a scratch table (no indexes)."""
    import asyncpg

    from mas.core.platform.ids import uuid7

    now = datetime.now(UTC)
    broadcast = uuid7()
    records = [
        (uuid7(), uuid7(), "ANNOUNCEMENT", "Exams moved", "The mid-term exams move.", "/exams",
         "{}", broadcast, f"broadcast:{broadcast}", False, now, now)
        for _ in range(rows)
    ]  # fmt: skip
    conn = await asyncpg.connect(raw(url))
    try:
        await conn.execute(
            "CREATE TABLE copy_scratch (id uuid, user_id uuid, category varchar(16), "
            "title varchar(120), body varchar(500), link varchar(300), data jsonb, "
            "broadcast_id uuid, dedupe_key varchar(150), is_read boolean, "
            "created_at timestamptz, updated_at timestamptz)"
        )
        started = time.perf_counter()
        await conn.copy_records_to_table("copy_scratch", records=records)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def run(students: int) -> dict[str, Any]:
    from mas.adapters.db import migrate

    name = f"mas_bench_{uuid.uuid4().hex[:10]}"
    await admin_sql(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        admin_id, seeded = await seed(url, students, "Asia/Kolkata")
        with tempfile.TemporaryDirectory(prefix="mas-fanout-") as folder:
            seconds, counters = await fan_out(url, admin_id, Path(folder))
        copy_s = await plain_copy(url, counters["delivered"] or students)
    finally:
        await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "benchmark": "broadcast_fanout",
        "database": "postgresql",
        "students": students,
        "seeded": seeded,
        "fan_out_seconds": round(seconds, 3),
        "recipients_per_s": round(students / seconds, 1),
        "delivered_rows_per_s": round(counters["delivered"] / seconds, 1),
        "broadcast": counters,
        "copy_rows": counters["delivered"] or students,
        "copy_seconds": round(copy_s, 3),
        "copy_rows_per_s": round((counters["delivered"] or students) / copy_s, 1),
        "ratio_to_copy": round(seconds / copy_s, 1),
        "goal_seconds": 10,
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.students)), indent=2))


if __name__ == "__main__":
    main()
