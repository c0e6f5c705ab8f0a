"""Requests/s and p99 of the sales head's lead list with a status filter, 200,000 leads in the pool.

`GET /api/crm/leads?page_size=50&status=…` on PostgreSQL, one `mas serve` process, 64 keep-alive
connections from a separate process. Prints one JSON object.

    .venv/bin/python benchmarks/lead_list.py [--leads N] [--requests N] [--connections C]
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

STATUSES = ["NEW", "CONTACTED", "FOLLOW_UP", "INTERESTED", "NOT_INTERESTED"]


async def seed(env: dict[str, str], count: int) -> str:
    """A sales head with the leads page, ``count`` leads in their pool; returns a token."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, text

    from mas.adapters.db.crm.tables import RawLeadRow
    from mas.bootstrap import build_container
    from mas.cli.users import CONSOLE
    from mas.core.identity.model import AuthMethod
    from mas.core.identity.policy import Platform, Role
    from mas.core.platform.ids import uuid7
    from mas.settings import load_settings

    c = await build_container(load_settings(environ={**env, "MAS_ACCESS_TTL_S": "3600"}))
    try:
        head = (
            await c.identity.accounts.create(
                CONSOLE,
                f"head-{uuid.uuid4().hex[:6]}@example.com",
                Role.SALES_HEAD,
                "Head",
                "bench password 123",
            )
        ).user
        async with c.uow() as uow:
            await uow.users.set_permissions(head.id, ["crm.leads"], head.id)
            await uow.commit()
        now = datetime.now(UTC)
        batch = []
        async with c.engine.begin() as conn:
            for i in range(count):
                batch.append(
                    {
                        "id": uuid7(),
                        "name": f"Lead {i}",
                        "phone_e164": f"+9190{i:08d}",
                        "source": "CSV",
                        "status": STATUSES[i % len(STATUSES)],
                        "owning_sales_head_id": head.id,
                        "extra_data": {},
                        "created_at": now - timedelta(seconds=i),
                        "updated_at": now,
                    }
                )
                if len(batch) == 10_000:
                    await conn.execute(insert(RawLeadRow), batch)
                    batch = []
            if batch:
                await conn.execute(insert(RawLeadRow), batch)
        async with c.engine.connect() as conn:  # what autovacuum would do after a bulk load
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE raw_leads"))
        head = await c.identity.accounts.get(head.id)
        return c.identity.issuer.access_token(
            head, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
        )
    finally:
        await c.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            "MAS_DATABASE_URL": url,
            "MAS_HTTP_PORT": str(port),
            "MAS_STORAGE_DIR": tmp,
            "MAS_JWT_SECRET": "bench-secret-" + "x" * 40,
            "MAS_DB_POOL_MIN": "10",
            "MAS_DB_POOL_MAX": "20",
        }
        started = time.perf_counter()
        token = asyncio.run(seed(env, args.leads))
        seed_s = time.perf_counter() - started
        server = start_mas(["serve"], env, Path(tmp) / "serve.log")
        try:
            wait_http(port)
            auth = {"Authorization": f"Bearer {token}"}
            path = "/api/crm/leads?page_size=50&status=CONTACTED"
            load(port, path, auth, 1_000, args.connections)  # warm up
            result = load(port, path, auth, args.requests, args.connections)
        finally:
            stop(server)
    print(
        json.dumps(
            {
                "route": "GET /api/crm/leads?page_size=50&status=CONTACTED (sales head, own pool)",
                "leads_in_pool": args.leads,
                "seed_seconds": round(seed_s, 1),
                **result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
