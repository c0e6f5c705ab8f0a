"""One segment scan enrolling 100,000 leads on PostgreSQL, against a plain COPY of as many rows.

On a scratch database: --leads leads (default 100,000) are COPYed into ``raw_leads`` (all NEW,
so all match), plus a tenth as many CONTACTED ones that do not; one ACTIVE SEGMENT_SCAN
workflow (filter ``statuses: [NEW]``, ``max_per_scan`` = --leads) is inserted with its
published version. The scan runs in process through the intake service (``Intake.run_scan``:
set-based spans of --span leads, each committed), timed alone (the engine's release is not
called, so no step runs). The reference is a plain COPY of the same number of
enrollment-shaped rows into an unindexed table. Afterwards: the enrollment count, the distinct
leads enrolled (no lead twice), and a second scan (it must enrol nobody, policy NEVER).

    .venv/bin/python benchmarks/workflow_scan.py [--leads 100000] [--span 5000]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import add_published_workflow, scratch_database  # noqa: E402

GRAPH = {
    "nodes": [
        {"id": "t", "type": "trigger", "data": {}},
        {"id": "w", "type": "wait", "data": {"amount": 2, "unit": "days"}},
    ],
    "edges": [{"id": "1", "source": "t", "target": "w"}],
}


def _pg(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


async def seed(url: str, matching: int, others: int) -> uuid.UUID:
    """The leads by COPY, the workflow and its version by INSERT; returns the workflow id."""
    import asyncpg
    from sqlalchemy.ext.asyncio import create_async_engine

    from mas.core.platform.ids import uuid7_bytes_batch

    now = datetime.now(UTC)
    ids = uuid7_bytes_batch(matching + others)
    conn = await asyncpg.connect(_pg(url))
    try:
        await conn.copy_records_to_table(
            "raw_leads",
            columns=[
                "id",
                "name",
                "phone_e164",
                "source",
                "status",
                "extra_data",
                "reinquiry_count",
                "version",
                "created_at",
                "updated_at",
            ],
            records=[
                (
                    uuid.UUID(bytes=lead_id),
                    f"Lead {n}",
                    f"+9198{n:08d}",
                    "CSV",
                    "NEW" if n < matching else "CONTACTED",
                    "{}",
                    0,
                    0,
                    now,
                    now,
                )
                for n, lead_id in enumerate(ids)
            ],
        )
        await conn.execute("ANALYZE raw_leads")
    finally:
        await conn.close()
    engine = create_async_engine(url)
    async with engine.begin() as db:
        workflow_id = await add_published_workflow(
            db,
            GRAPH,
            name="bench scan",
            trigger_type="SEGMENT_SCAN",
            trigger_config={
                "filter": {"statuses": ["NEW"]},
                "interval_minutes": 60,
                "max_per_scan": matching,
            },
        )
    await engine.dispose()
    return workflow_id


async def plain_copy(url: str, rows: int) -> float:
    """Seconds to COPY ``rows`` enrollment-shaped rows into an unindexed scratch table."""
    import asyncpg

    from mas.core.platform.ids import uuid7_bytes_batch

    now = datetime.now(UTC)
    workflow_id, ids = uuid.uuid4(), uuid7_bytes_batch(2 * rows)
    records = [
        (
            uuid.UUID(bytes=ids[2 * n]),
            workflow_id,
            1,
            uuid.UUID(bytes=ids[2 * n + 1]),
            "ACTIVE",
            "w",
            1,
            now,
            "SCAN",
            "{}",
            now,
            now,
            0,
        )
        for n in range(rows)
    ]
    conn = await asyncpg.connect(_pg(url))
    try:
        await conn.execute(
            "CREATE TABLE copy_scratch (id uuid, workflow_id uuid, version int, raw_lead_id uuid,"
            " status text, current_node_id text, attempt int, next_run_at timestamptz,"
            " enrolled_via text, context jsonb, started_at timestamptz, updated_at timestamptz,"
            " lock_version int)"
        )
        started = time.perf_counter()
        await conn.copy_records_to_table("copy_scratch", records=records)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def scan(url: str, workflow_id: uuid.UUID, span: int) -> dict[str, Any]:
    from mas.bootstrap import build_container
    from mas.core.workflow.runs import intake as intake_module
    from mas.core.workflow.runs.intake import Intake
    from mas.settings import load_settings

    intake_module.SCAN_SPAN = span
    folder = Path(tempfile.mkdtemp(prefix="mas-bench-"))
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
    c = await build_container(settings)
    try:
        intake = Intake(uow=c.uow, clock=c.clock)
        started = time.perf_counter()
        first = await intake.run_scan(workflow_id)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = await intake.run_scan(workflow_id)
        second_seconds = time.perf_counter() - started
    finally:
        await c.close()
    return {
        "seconds": seconds,
        "enrolled": first.enrolled,
        "batches": first.batches,
        "second_scan_enrolled": second.enrolled,
        "second_scan_seconds": round(second_seconds, 3),
    }


async def counts(url: str, workflow_id: uuid.UUID) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(_pg(url))
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS enrollments, count(DISTINCT raw_lead_id) AS distinct_leads,"
            " count(*) FILTER (WHERE l.status <> 'NEW') AS non_matching"
            " FROM workflow_enrollments e JOIN raw_leads l ON l.id = e.raw_lead_id"
            " WHERE e.workflow_id = $1",
            workflow_id,
        )
        return dict(row)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--span", type=int, default=5_000, help="leads walked per statement")
    args = parser.parse_args()
    with scratch_database() as url:
        workflow_id = asyncio.run(seed(url, args.leads, args.leads // 10))
        measured = asyncio.run(scan(url, workflow_id, args.span))
        copy_s = asyncio.run(plain_copy(url, args.leads))
        found = asyncio.run(counts(url, workflow_id))
    seconds = measured["seconds"]
    checks = {
        "every_match_enrolled": found["enrollments"] == args.leads,
        "no_lead_twice": found["distinct_leads"] == found["enrollments"],
        "no_non_matching_lead": found["non_matching"] == 0,
        "second_scan_enrols_nobody": measured["second_scan_enrolled"] == 0,
    }
    result = {
        "benchmark": "workflow_scan",
        "database": "postgresql",
        "matching_leads": args.leads,
        "other_leads": args.leads // 10,
        "span": args.span,
        "spans": measured["batches"],
        "scan_seconds": round(seconds, 3),
        "enrolled_per_s": round(measured["enrolled"] / seconds, 1),
        "goal_seconds": 10,
        "copy_seconds": round(copy_s, 3),
        "ratio_to_copy": round(seconds / copy_s, 1),
        "second_scan_seconds": measured["second_scan_seconds"],
        "counts": found,
        "checks": checks,
        "all_checks_pass": all(checks.values()),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
