"""Requests/s and p99 of GET /health and of a database-backed read, on PostgreSQL; startup time.

One `mas serve` process (granian, 1 worker) on loopback; the load comes from a separate process
(20,000 requests over 64 keep-alive connections by default). Prints one JSON object.

    .venv/bin/python benchmarks/http_throughput.py [--requests N] [--connections C]
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

from benchmarks._support import free_port, load, scratch_database, start_mas, stop, wait_http  # noqa: E402


def token(secret: str) -> str:
    import jwt

    now = int(time.time())
    return jwt.encode(
        {"sub": str(uuid.uuid4()), "role": "ADMIN", "plt": "my-analytics-school", "tv": 0,
         "sid": str(uuid.uuid4()), "jti": uuid.uuid4().hex, "iat": now, "exp": now + 3600},
        secret,
        algorithm="HS256",
    )


async def seed_runs(url: str, count: int) -> None:
    """Fill the job ledger so the read pages through a realistic table."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from mas.adapters.db.models import JobRunRow
    from mas.core.shared.ids import uuid7

    engine = create_async_engine(url)
    now = datetime.now(UTC)
    rows = [
        {"id": uuid7(), "task": "platform.noop", "idempotency_key": f"seed-{i}", "status": "succeeded",
         "args": {}, "attempts": 1, "max_attempts": 1, "version": 2,
         "enqueued_at": now - timedelta(seconds=i)}
        for i in range(count)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(JobRunRow), rows)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    secret = "bench-secret-" + "x" * 40
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(seed_runs(url, 10_000))
        port = free_port()
        env = {"MAS_DATABASE_URL": url, "MAS_HTTP_PORT": str(port), "MAS_JWT_SECRET": secret,
               "MAS_STORAGE_DIR": tmp, "MAS_DB_POOL_MIN": "10", "MAS_DB_POOL_MAX": "20"}
        started = time.perf_counter()
        server = start_mas(["serve"], env, Path(tmp) / "serve.log")
        try:
            startup_s = wait_http(port) + 0  # from process start to the first 200
            startup_s = time.perf_counter() - started
            load(port, "/health", {}, 2_000, args.connections)  # warm up
            health = load(port, "/health", {}, args.requests, args.connections)
            auth = {"Authorization": f"Bearer {token(secret)}"}
            load(port, "/api/admin/jobs?page_size=20", auth, 2_000, args.connections)
            db_read = load(port, "/api/admin/jobs?page_size=20", auth, args.requests, args.connections)
        finally:
            stop(server)
    print(json.dumps({
        "server": "mas serve (granian, 1 worker process), PostgreSQL",
        "startup_to_health_200_s": round(startup_s, 3),
        "health": health,
        "db_read_admin_jobs_page_20_of_10000": db_read,
    }, indent=2))


if __name__ == "__main__":
    main()
