"""Requests/s and p99 of GET /health, of an authenticated GET /api/user/profile and of a
database-backed read (a page of the job ledger), on PostgreSQL; and the startup time.

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


async def admin_token(env: dict[str, str]) -> str:
    """A real ADMIN account in the database and an access token for it (valid 1 hour)."""
    from mas.bootstrap import build_container
    from mas.cli.users import CONSOLE
    from mas.core.identity.model import AuthMethod
    from mas.core.identity.policy import Platform, Role
    from mas.settings import load_settings

    c = await build_container(load_settings(environ={**env, "MAS_ACCESS_TTL_S": "3600"}))
    try:
        created = await c.identity.accounts.create(
            CONSOLE,
            f"bench-{uuid.uuid4().hex[:6]}@example.com",
            Role.ADMIN,
            "Bench",
            "bench password 123",
        )
        return c.identity.issuer.access_token(
            created.user, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
        )
    finally:
        await c.close()


async def seed_runs(url: str, count: int) -> None:
    """Fill the job ledger so the read pages through a realistic table."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from mas.adapters.db.platform.tables import JobRunRow
    from mas.core.platform.ids import uuid7

    engine = create_async_engine(url)
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid7(),
            "task": "platform.noop",
            "idempotency_key": f"seed-{i}",
            "status": "succeeded",
            "args": {},
            "attempts": 1,
            "max_attempts": 1,
            "version": 2,
            "enqueued_at": now - timedelta(seconds=i),
        }
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
        env = {
            "MAS_DATABASE_URL": url,
            "MAS_HTTP_PORT": str(port),
            "MAS_JWT_SECRET": secret,
            "MAS_STORAGE_DIR": tmp,
            "MAS_DB_POOL_MIN": "10",
            "MAS_DB_POOL_MAX": "20",
        }
        started = time.perf_counter()
        server = start_mas(["serve"], env, Path(tmp) / "serve.log")
        try:
            wait_http(port)
            startup_s = time.perf_counter() - started  # from process start to the first 200
            load(port, "/health", {}, 2_000, args.connections)  # warm up
            health = load(port, "/health", {}, args.requests, args.connections)
            auth = {"Authorization": f"Bearer {asyncio.run(admin_token(env))}"}
            load(port, "/api/user/profile", auth, 2_000, args.connections)
            profile = load(port, "/api/user/profile", auth, args.requests, args.connections)
            load(port, "/api/admin/jobs?page_size=20", auth, 2_000, args.connections)
            db_read = load(
                port, "/api/admin/jobs?page_size=20", auth, args.requests, args.connections
            )
        finally:
            stop(server)
    print(
        json.dumps(
            {
                "server": "mas serve (granian, 1 worker process), PostgreSQL",
                "startup_to_health_200_s": round(startup_s, 3),
                "health": health,
                "authenticated_user_profile": profile,
                "profile_to_health_ratio": round(
                    profile["requests_per_s"] / health["requests_per_s"], 2
                ),
                "db_read_admin_jobs_page_20_of_10000": db_read,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
