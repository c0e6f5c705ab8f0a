"""Requests/s, p50 and p99 of the sales head's lead list with a status filter, 200,000 leads in
the pool, measured with ``wrk`` against ``/health`` in the same run.

`GET /api/crm/leads?page_size=50&status=…` on PostgreSQL, one `mas serve` process. The load
comes from ``wrk`` (a native load generator: a Python one caps ``/health`` near 4,000 req/s on
two cores), one thread and 64 keep-alive connections for a fixed duration: first ``/health``,
then the lead list (offset paging, page 1), then the lead list walked with ``cursor``. The
figure that matters is the ratio of the lead list to ``/health`` measured in the same run: the
machine's cores are shared, so absolute numbers drift. Prints one JSON object.

    .venv/bin/python benchmarks/lead_list.py [--leads N] [--seconds S] [--connections C]
        [--keep STATE.json | --reuse STATE.json] [--src DIR]

``--keep`` leaves the seeded database in place and writes its URL and a token to STATE.json;
``--reuse`` runs against it again without seeding (drop it with ``--drop STATE.json``).
``--src`` serves from another ``src/`` directory (a copy of the tree before a change), so a
before/after pair runs in the same minute on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import (  # noqa: E402
    PG_ADMIN,
    _admin,
    free_port,
    scratch_database,
    start_mas,
    stop,
    wait_http,
)

STATUSES = ["NEW", "CONTACTED", "FOLLOW_UP", "INTERESTED", "NOT_INTERESTED"]
JWT_SECRET = "bench-secret-" + "x" * 40
LIST = "/api/crm/leads?page_size=50&status=CONTACTED"

# wrk's `done` hook: the figures as one JSON line (latencies in microseconds).
REPORT_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
    .. '"max_us":%d,"non_2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,'
    .. '"timeouts":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
"""
# Walks the list page after page with next_cursor, starting over at the end (or every 20
# pages, so the run stays on the first pages a person actually reads).
CURSOR_LUA = """
local path = "%s"
local cursor = nil
local depth = 0
request = function()
  if cursor ~= nil and depth < 20 then
    return wrk.format(nil, path .. "&cursor=" .. cursor)
  end
  depth = 0
  return wrk.format(nil, path)
end
response = function(status, headers, body)
  local found = body and string.match(body, '"next_cursor":"([^"]+)"')
  cursor = found
  depth = depth + 1
end
"""


async def seed(env: dict[str, str], count: int) -> str:
    """A sales head with the leads page, ``count`` leads in their pool; returns a token."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert, text

    from mas.adapters.db.crm.tables import RawLeadRow
    from mas.bootstrap import build_container
    from mas.cli.users import CONSOLE
    from mas.core.crm.teams import NewProfile
    from mas.core.identity.model import AuthMethod
    from mas.core.identity.policy import Platform, Role
    from mas.core.platform.ids import uuid7
    from mas.settings import load_settings

    c = await build_container(load_settings(environ={**env, "MAS_ACCESS_TTL_S": "86400"}))
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
        # The CRM side of the page: a profile with the leads page on (without it, a 403).
        await c.crm.teams.create_profile(
            CONSOLE, NewProfile(user_id=head.id, display_name="Head", page_flags={"leads": True})
        )
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


def wrk(
    port: int, path: str, token: str | None, seconds: int, connections: int, script: str = ""
) -> dict[str, Any]:
    """One wrk run (one thread); its figures from the `done` hook."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + REPORT_LUA)
    cmd = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", lua.name]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    )
    Path(lua.name).unlink()
    line = next(x for x in out.stdout.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return {
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": raw["non_2xx"]
        + raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["timeouts"],
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children so far (Linux /proc): the server's cost
    per request, which the other load on a shared machine does not inflate the way it does
    wall-clock rates."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def timed(pid: int, run: Any) -> dict[str, Any]:
    """A wrk run with the server's CPU milliseconds per request added."""
    before = cpu_seconds(pid)
    figures: dict[str, Any] = run()
    spent = cpu_seconds(pid) - before
    figures["server_cpu_ms_per_request"] = round(spent * 1000 / max(figures["requests"], 1), 3)
    return figures


def check(port: int, token: str) -> None:
    """One request first: a load of 403s would measure the wrong thing."""
    import urllib.request

    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{LIST}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as answer:
        body = json.loads(answer.read())
    if len(body["items"]) != 50:
        raise SystemExit(f"the lead list answered {len(body['items'])} items, not 50")


def measure(url: str, token: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            "MAS_DATABASE_URL": url,
            "MAS_HTTP_PORT": str(port),
            "MAS_STORAGE_DIR": tmp,
            "MAS_JWT_SECRET": JWT_SECRET,
            "MAS_DB_POOL_MIN": "10",
            "MAS_DB_POOL_MAX": "20",
        }
        if args.src:  # another source tree (e.g. the code before a change), same everything else
            env["PYTHONPATH"] = str(args.src.resolve())
        server = start_mas(["serve"], env, Path(tmp) / "serve.log")
        print(f"mas serve pid {server.pid} on port {port}", file=sys.stderr, flush=True)
        try:
            wait_http(port)
            check(port, token)
            wrk(port, LIST, token, 3, args.connections)  # warm up
            pid = server.pid
            health = timed(pid, lambda: wrk(port, "/health", None, args.seconds, args.connections))
            offset = timed(pid, lambda: wrk(port, LIST, token, args.seconds, args.connections))
            cursor = timed(
                pid,
                lambda: wrk(port, LIST, token, args.seconds, args.connections, CURSOR_LUA % LIST),
            )
        finally:
            stop(server)
    ratio = round(offset["requests_per_s"] / health["requests_per_s"], 3)
    return {
        "route": f"GET {LIST} (sales head, own pool)",
        "load": f"wrk -t1 -c{args.connections} -d{args.seconds}s",
        "health": health,
        "lead_list": {**offset, "ratio_to_health": ratio},
        "lead_list_cursor_walk": {
            **cursor,
            "ratio_to_health": round(cursor["requests_per_s"] / health["requests_per_s"], 3),
        },
        "goal": {
            "ratio_to_health": 0.1,
            "p99_ms": 150,
            "met": ratio >= 0.1 and offset["p99_ms"] <= 150 and offset["errors"] == 0,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--src", type=Path, help="run `mas serve` from this src/ directory")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--keep", type=Path, help="keep the seeded database; its state here")
    state.add_argument("--reuse", type=Path, help="run against a database kept with --keep")
    state.add_argument("--drop", type=Path, help="drop a database kept with --keep")
    args = parser.parse_args()
    if args.drop or args.reuse:
        kept = json.loads((args.drop or args.reuse).read_text())
        if args.drop:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{kept["name"]}" WITH (FORCE)'))
            args.drop.unlink()
            return
        from mas.adapters.db import migrate

        migrate.upgrade(kept["url"])  # the code may have moved on since it was kept
        result = measure(kept["url"], kept["token"], args)
        print(json.dumps({"leads_in_pool": kept["leads"], **result}, indent=2))
        return
    if args.keep:
        from mas.adapters.db import migrate

        name = f"mas_bench_kept_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
        migrate.upgrade(url)
        token = asyncio.run(
            seed({"MAS_DATABASE_URL": url, "MAS_JWT_SECRET": JWT_SECRET}, args.leads)
        )
        args.keep.write_text(
            json.dumps({"name": name, "url": url, "token": token, "leads": args.leads})
        )
        print(json.dumps({"kept": str(args.keep), "database": name}))
        return
    with scratch_database() as url:
        env = {"MAS_DATABASE_URL": url, "MAS_JWT_SECRET": JWT_SECRET}
        started = time.perf_counter()
        token = asyncio.run(seed(env, args.leads))
        seed_s = time.perf_counter() - started
        result = measure(url, token, args)
    print(
        json.dumps(
            {"leads_in_pool": args.leads, "seed_seconds": round(seed_s, 1), **result}, indent=2
        )
    )


if __name__ == "__main__":
    main()
