"""Workflow node executions/s per worker process: PostgreSQL + NATS JetStream, one `mas worker`.

N leads (default 20,000) are enrolled in one ACTIVE workflow, trigger → branch (lead.status eq
NEW) → update_lead (add a tag) → send_email (delivered to the local mailbox) → end, with the
enrollments inserted due (as the enrollment part inserts them) before the worker starts. The
worker's release loop claims them in batches; each node is one `workflow.step` message through
JetStream. The rate is the node runs over the time from the first node run's start to the last
one's end (the node runs' own timestamps). Afterwards everything is counted: enrollments
COMPLETED, node runs (exactly 4 per enrollment, one per (enrollment, node)), email rows (exactly
one per enrollment, key `wf:{enrollment}:mail:1`), WORKFLOW_STEP journal lines, tags.

    .venv/bin/python benchmarks/workflow_steps.py [--leads N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
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

WINDOW = {"start": "00:00", "end": "23:59", "tz": "Asia/Kolkata"}


def graph() -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "t", "type": "trigger", "data": {}},
            {
                "id": "b",
                "type": "branch",
                "data": {"conditions": [{"field": "lead.status", "op": "eq", "value": "NEW"}]},
            },
            {"id": "u", "type": "update_lead", "data": {"add_tags": ["nurtured"]}},
            {"id": "mail", "type": "send_email", "data": {"template_key": "bench.hello"}},
            {"id": "end", "type": "end", "data": {}},
        ],
        "edges": [
            {"id": "1", "source": "t", "target": "b"},
            {"id": "2", "source": "b", "target": "u", "sourceHandle": "yes"},
            {"id": "3", "source": "b", "target": "end", "sourceHandle": "no"},
            {"id": "4", "source": "u", "target": "mail"},
            {"id": "5", "source": "mail", "target": "end"},
        ],
    }


async def seed(url: str, count: int) -> uuid.UUID:
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from mas.adapters.db.comms.mail_tables import EmailTemplateRow
    from mas.adapters.db.crm.tables import LeadTagRow, RawLeadRow
    from mas.adapters.db.workflow.runs_tables import workflow_enrollments
    from mas.core.platform.ids import uuid7

    engine = create_async_engine(url)
    now = datetime.now(UTC)
    lead_ids = [uuid7() for _ in range(count)]
    async with engine.begin() as conn:
        await conn.execute(
            insert(EmailTemplateRow.__table__).values(
                id=uuid7(),
                key="bench.hello",
                name="Bench hello",
                subject="Hello",
                body_html="<p>Hello</p>",
                body_text="Hello",
                variables=[],
                category="CRM",
                owner_scope="GLOBAL",
                is_active=True,
                created_at=now,
                updated_at=now,
            )
        )
        await conn.execute(
            insert(LeadTagRow.__table__).values(
                id=uuid7(), name="nurtured", created_at=now, updated_at=now
            )
        )
        workflow_id = await add_published_workflow(conn, graph(), name="bench", send_window=WINDOW)
        for start in range(0, count, 5000):
            part = lead_ids[start : start + 5000]
            await conn.execute(
                insert(RawLeadRow.__table__),
                [
                    {
                        "id": lead_id,
                        "name": f"Lead {n}",
                        "email": f"lead{start + n}@example.com",
                        "phone_e164": f"+9199{start + n:08d}",
                        "source": "MANUAL",
                        "status": "NEW",
                        "extra_data": {},
                        "reinquiry_count": 0,
                        "version": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n, lead_id in enumerate(part)
                ],
            )
            await conn.execute(
                insert(workflow_enrollments),
                [
                    {
                        "id": uuid7(),
                        "workflow_id": workflow_id,
                        "version": 1,
                        "raw_lead_id": lead_id,
                        "status": "ACTIVE",
                        "current_node_id": "b",
                        "attempt": 1,
                        "next_run_at": now,
                        "enrolled_via": "MANUAL",
                        "context": {},
                        "started_at": now,
                        "updated_at": now,
                        "lock_version": 0,
                    }
                    for lead_id in part
                ],
            )
    await engine.dispose()
    return workflow_id


COUNTS = {
    "enrollments_completed": (
        "SELECT count(*) FROM workflow_enrollments WHERE status = 'COMPLETED'"
    ),
    "enrollments_not_completed": (
        "SELECT count(*) FROM workflow_enrollments WHERE status <> 'COMPLETED'"
    ),
    "node_runs": "SELECT count(*) FROM workflow_node_runs",
    "node_runs_succeeded": "SELECT count(*) FROM workflow_node_runs WHERE status = 'SUCCEEDED'",
    "distinct_enrollment_nodes": (
        "SELECT count(*) FROM (SELECT DISTINCT enrollment_id, node_id FROM workflow_node_runs) x"
    ),
    "enrollments_with_other_than_4_runs": (
        "SELECT count(*) FROM (SELECT enrollment_id FROM workflow_node_runs "
        "GROUP BY enrollment_id HAVING count(*) <> 4) x"
    ),
    "emails": "SELECT count(*) FROM outbox_messages WHERE idempotency_key LIKE 'wf:%'",
    "distinct_email_keys": (
        "SELECT count(DISTINCT idempotency_key) FROM outbox_messages "
        "WHERE idempotency_key LIKE 'wf:%:mail:1'"
    ),
    "emails_sent": (
        "SELECT count(*) FROM outbox_messages WHERE idempotency_key LIKE 'wf:%' AND status = 'sent'"
    ),
    "workflow_step_journal_lines": (
        "SELECT count(*) FROM lead_activities WHERE type = 'WORKFLOW_STEP'"
    ),
    "leads_tagged": "SELECT count(*) FROM raw_lead_tags",
}


HOPS = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gap),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY gap)
FROM (
  SELECT extract(epoch FROM started_at - lag(finished_at) OVER (
    PARTITION BY enrollment_id ORDER BY started_at, id)) AS gap
  FROM workflow_node_runs
) gaps WHERE gap IS NOT NULL
"""


async def scalar(engine: Any, sql: str) -> Any:
    from sqlalchemy import text

    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()


async def run(
    env: dict[str, str], count: int, tmp: Path, concurrency: int, deadline_s: float
) -> dict[str, Any]:
    from sqlalchemy.ext.asyncio import create_async_engine

    url = env["MAS_DATABASE_URL"]
    await seed(url, count)
    engine = create_async_engine(url)
    log = Path(env.get("BENCH_WORKER_LOG", tmp / "worker.log"))
    worker = start_mas(["worker", "--concurrency", str(concurrency)], env, log)
    started = time.perf_counter()
    try:
        deadline = started + deadline_s
        while time.perf_counter() < deadline:
            done = await scalar(
                engine, "SELECT count(*) FROM workflow_enrollments WHERE status = 'COMPLETED'"
            )
            if done >= count:
                break
            await asyncio.sleep(0.5)
        wall = time.perf_counter() - started
        # Let the email deliveries (ledger tasks after each send's commit) drain a little.
        for _ in range(60):
            pending = await scalar(
                engine,
                "SELECT count(*) FROM outbox_messages WHERE idempotency_key LIKE 'wf:%' "
                "AND status <> 'sent'",
            )
            if pending == 0:
                break
            await asyncio.sleep(0.5)
        stop(worker)  # counted at rest: nothing moves while the counts are taken
        first, last = await _row(
            engine, "SELECT min(started_at), max(finished_at) FROM workflow_node_runs"
        )
        counts = {name: await scalar(engine, sql) for name, sql in COUNTS.items()}
        hops = await _row(engine, HOPS)
    finally:
        stop(worker)
        await engine.dispose()
    window = (last - first).total_seconds()
    runs = counts["node_runs"]
    checks = {
        "every_enrollment_completed": counts["enrollments_completed"] == count,
        "exactly_4_node_runs_each": runs == 4 * count
        and counts["distinct_enrollment_nodes"] == runs
        and counts["enrollments_with_other_than_4_runs"] == 0,
        "exactly_one_email_each": counts["emails"] == count
        and counts["distinct_email_keys"] == count,
        "one_journal_line_per_node_run": counts["workflow_step_journal_lines"] == runs,
        "every_lead_tagged_once": counts["leads_tagged"] == count,
    }
    return {
        "enrollments": count,
        "worker_concurrency": concurrency,
        "node_executions": runs,
        "seconds_first_node_start_to_last_node_end": round(window, 3),
        "node_executions_per_s": round(runs / window, 1),
        "enrollments_per_s": round(count / window, 1),
        "wall_seconds_worker_start_to_all_completed": round(wall, 1),
        "step_to_next_step_ms_p50_p99": [round(h * 1000, 1) for h in hops],
        "counts": counts,
        "checks": checks,
        "all_checks_pass": all(checks.values()),
    }


async def _row(engine: Any, sql: str) -> Any:
    from sqlalchemy import text

    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).one()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=20_000)
    # A worker batches the steps in flight (group commit): 400 lets its batches fill.
    parser.add_argument("--concurrency", type=int, default=400)
    parser.add_argument("--worker-log", default="", help="keep the worker's log at this path")
    parser.add_argument("--deadline", type=float, default=3600.0, help="give up after (s)")
    args = parser.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        env = nats_worker_env(url, tmp)
        if args.worker_log:
            env["BENCH_WORKER_LOG"] = args.worker_log
        result = asyncio.run(run(env, args.leads, Path(tmp), args.concurrency, args.deadline))
        asyncio.run(drop_stream(env["MAS_NATS_STREAM"]))
    print(
        json.dumps(
            {
                "broker": "NATS JetStream (work queue, pull consumer)",
                "database": "PostgreSQL",
                "graph": "trigger → branch → update_lead → send_email (local mailbox) → end",
                **result,
            },
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
