"""1,000,000 enrollments waiting on a timer cost a worker no memory, and come due on time.

On a scratch PostgreSQL database: one ACTIVE workflow (trigger → wait → end); a `mas worker`
(NATS JetStream) is started on it and its RSS read once it idles. Then --waiting enrollments
(default 1,000,000) WAITING on a timer days away are inserted set-based (one INSERT … SELECT
from generate_series for the leads, one for the enrollments); the worker's RSS is read again
after it has run its release loop for a while (the timers live in the table, so it must not
grow). Then --due of them (default 20,000) are made due spread over --over seconds (default 20)
from now, their due times kept aside, and each one's lag is measured from its due time to the
start of its next node run (the `end` node's run, written by the worker). Prints JSON.

    .venv/bin/python benchmarks/workflow_timers.py [--waiting 1000000] [--due 20000] [--over 20]
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import (  # noqa: E402
    add_published_workflow,
    drop_stream,
    nats_worker_env,
    scratch_database,
    start_mas,
    stop,
)

GRAPH = {
    "nodes": [
        {"id": "t", "type": "trigger", "data": {}},
        {"id": "w", "type": "wait", "data": {"amount": 30, "unit": "days"}},
        {"id": "e", "type": "end", "data": {}},
    ],
    "edges": [{"id": "1", "source": "t", "target": "w"}, {"id": "2", "source": "w", "target": "e"}],
}


def _pg(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


async def add_workflow(url: str) -> uuid.UUID:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as db:
        workflow_id = await add_published_workflow(
            db,
            GRAPH,
            name="bench timers",
            send_window={"start": "00:00", "end": "23:59", "tz": "Asia/Kolkata"},
        )
    await engine.dispose()
    return workflow_id


async def add_waiting(url: str, workflow_id: uuid.UUID, count: int) -> float:
    """``count`` leads and their enrollments WAITING at the end node, due in 30 days."""
    import asyncpg

    conn = await asyncpg.connect(_pg(url))
    started = time.perf_counter()
    try:
        await conn.execute(
            "INSERT INTO raw_leads (id, name, phone_e164, source, status, extra_data,"
            " reinquiry_count, version, created_at, updated_at)"
            " SELECT gen_random_uuid(), 'Lead ' || n, '+91' || (6000000000 + n)::text, 'CSV',"
            " 'NEW', '{}', 0, 0, now(), now() FROM generate_series(1, $1) AS n",
            count,
        )
        await conn.execute(
            "INSERT INTO workflow_enrollments (id, workflow_id, version, raw_lead_id, status,"
            " current_node_id, attempt, next_run_at, waiting_for, enrolled_via, context,"
            " started_at, updated_at, lock_version)"
            " SELECT gen_random_uuid(), $1, 1, id, 'WAITING', 'e', 1,"
            " now() + interval '30 days', 'timer', 'SCAN', '{}', now(), now(), 0"
            " FROM raw_leads",
            workflow_id,
        )
        await conn.execute("ANALYZE raw_leads; ANALYZE workflow_enrollments")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def make_due(url: str, count: int, over: float) -> None:
    """``count`` timers come due spread over the next ``over`` seconds; due times kept aside."""
    import asyncpg

    conn = await asyncpg.connect(_pg(url))
    try:
        await conn.execute(
            "CREATE TABLE bench_due AS SELECT id AS enrollment_id,"
            " clock_timestamp() + interval '2 seconds'"
            " + (row_number() OVER (ORDER BY id) - 1) * ($2::float8 / $1) * interval '1 second'"
            " AS due_at FROM (SELECT id FROM workflow_enrollments ORDER BY id LIMIT $1) AS chosen",
            count,
            over,
        )
        await conn.execute(
            "UPDATE workflow_enrollments AS e SET next_run_at = d.due_at"
            " FROM bench_due AS d WHERE e.id = d.enrollment_id"
        )
    finally:
        await conn.close()


async def lag(url: str) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(_pg(url))
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS ran,"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99, max(lag) AS max"
            " FROM (SELECT extract(epoch FROM r.started_at - d.due_at) AS lag"
            "  FROM bench_due AS d JOIN workflow_node_runs AS r"
            "  ON r.enrollment_id = d.enrollment_id AND r.node_id = 'e') AS lags"
        )
        early = await conn.fetchval(
            "SELECT count(*) FROM bench_due AS d JOIN workflow_node_runs AS r"
            " ON r.enrollment_id = d.enrollment_id WHERE r.started_at < d.due_at"
        )
        others = await conn.fetchval(
            "SELECT count(*) FROM workflow_node_runs AS r WHERE NOT EXISTS"
            " (SELECT 1 FROM bench_due AS d WHERE d.enrollment_id = r.enrollment_id)"
        )
        return {**dict(row), "ran_before_due": early, "node_runs_of_not_due": others}
    finally:
        await conn.close()


async def ran(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(_pg(url))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM workflow_node_runs"))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waiting", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--over", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds before each RSS")
    parser.add_argument(
        "--concurrency", type=int, default=400, help="deliveries in flight (fills step batches)"
    )
    args = parser.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        env = nats_worker_env(url, tmp)
        workflow_id = asyncio.run(add_workflow(url))
        worker = start_mas(
            ["worker", "--concurrency", str(args.concurrency)], env, Path(tmp) / "worker.log"
        )
        try:
            time.sleep(args.settle)
            rss_before = rss_mb(worker.pid)
            insert_s = asyncio.run(add_waiting(url, workflow_id, args.waiting))
            time.sleep(args.settle)
            rss_with = rss_mb(worker.pid)
            asyncio.run(make_due(url, args.due, args.over))
            deadline = time.perf_counter() + args.over + 180
            while time.perf_counter() < deadline and asyncio.run(ran(url)) < args.due:
                time.sleep(1)
            time.sleep(2)
            rss_after = rss_mb(worker.pid)
            measured = asyncio.run(lag(url))
        finally:
            stop(worker)
        asyncio.run(drop_stream(env["MAS_NATS_STREAM"]))
    checks = {
        "every_due_timer_ran": measured["ran"] == args.due,
        "none_ran_before_its_due_time": measured["ran_before_due"] == 0,
        "no_timer_not_due_ran": measured["node_runs_of_not_due"] == 0,
    }
    print(
        json.dumps(
            {
                "benchmark": "workflow_timers",
                "database": "PostgreSQL",
                "broker": "NATS JetStream",
                "waiting_enrollments": args.waiting,
                "insert_seconds": round(insert_s, 1),
                "worker_rss_mb_before": rss_before,
                "worker_rss_mb_with_waiting": rss_with,
                "worker_rss_mb_after_release": rss_after,
                "due": args.due,
                "due_over_seconds": args.over,
                "ran_within_wait": measured["ran"],
                "lag_seconds_p50": round(float(measured["p50"] or 0), 3),
                "lag_seconds_p99": round(float(measured["p99"] or 0), 3),
                "lag_seconds_max": round(float(measured["max"] or 0), 3),
                "checks": checks,
                "all_checks_pass": all(checks.values()),
                "cpus": os.cpu_count(),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
