"""Tasks/s through taskiq on NATS JetStream: no-op tasks, one `mas worker` process, PostgreSQL.

Every task goes through the job ledger (a `job_runs` row claimed and finished per run). The
runs are sent first with no worker running; then one worker starts, and the rate is the number
of runs over the time between the first start and the last finish recorded in the ledger.

    .venv/bin/python benchmarks/task_throughput.py [--tasks N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import NATS_URL, scratch_database, start_mas, stop  # noqa: E402


async def send_and_measure(
    env: dict[str, str], count: int, tmp: Path, concurrency: int
) -> dict[str, object]:
    from sqlalchemy import func, select

    from mas.adapters.db.platform.tables import JobRunRow
    from mas.bootstrap import build_container
    from mas.jobs.runner import register_all
    from mas.settings import load_settings

    c = await build_container(load_settings(environ=env))
    register_all(c.broker, c)
    await c.start_broker()
    sent_started = time.perf_counter()
    for start in range(0, count, 200):
        await asyncio.gather(
            *(c.jobs.enqueue("platform.noop") for _ in range(start, min(start + 200, count)))
        )
    send_s = time.perf_counter() - sent_started

    worker = start_mas(["worker", "--concurrency", str(concurrency)], env, tmp / "worker.log")
    try:
        deadline = time.perf_counter() + 600
        while time.perf_counter() < deadline:
            async with c.sessions() as session:
                done = (
                    await session.execute(
                        select(func.count()).where(JobRunRow.status == "succeeded")
                    )
                ).scalar_one()
            if done >= count:
                break
            await asyncio.sleep(0.5)
        async with c.sessions() as session:
            first, last = (
                await session.execute(
                    select(func.min(JobRunRow.started_at), func.max(JobRunRow.finished_at))
                )
            ).one()
    finally:
        stop(worker)
        await c.close()
    window = (last - first).total_seconds()
    return {
        "tasks": count,
        "succeeded": done,
        "worker_concurrency": concurrency,
        "seconds_first_start_to_last_finish": round(window, 3),
        "tasks_per_s": round(count / window, 1),
        "enqueue_per_s_from_one_producer": round(count / send_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        env = {
            "MAS_DATABASE_URL": url,
            "MAS_BROKER": "nats",
            "MAS_NATS_URL": NATS_URL,
            "MAS_NATS_STREAM": f"MAS_BENCH_{tag}",
            "MAS_NATS_SUBJECT": f"mas.bench.{tag}",
            "MAS_STORAGE_DIR": tmp,
            "MAS_LOG_LEVEL": "WARNING",
        }
        result = asyncio.run(send_and_measure(env, args.tasks, Path(tmp), args.concurrency))
        asyncio.run(_drop_stream(env["MAS_NATS_STREAM"]))
    print(
        json.dumps(
            {
                "broker": "NATS JetStream (work queue, pull consumer)",
                "database": "PostgreSQL",
                "ledger": "job_runs row per task",
                **result,
            },
            indent=2,
        )
    )


async def _drop_stream(name: str) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    await nc.jetstream().delete_stream(name)
    await nc.close()


if __name__ == "__main__":
    main()
