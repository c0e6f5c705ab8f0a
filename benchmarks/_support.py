"""Shared helpers for the benchmark scripts: a throwaway PostgreSQL database, processes, load.

The load generator speaks HTTP/1.1 keep-alive over raw asyncio streams in its own process, so
it costs the server as little CPU as a Python client can.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get(
    "MAS_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
NATS_URL = os.environ.get("MAS_TEST_NATS_URL", "nats://127.0.0.1:4222")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _admin(sql: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@contextmanager
def scratch_database() -> Any:
    """A migrated PostgreSQL database of this run's own, dropped afterwards."""
    from mas.adapters.db import migrate

    name = f"mas_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    try:
        migrate.upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def start_mas(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "mas", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "MAS_LOG_LEVEL": "WARNING", **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_http(port: int, path: str = "/health", timeout: float = 60) -> float:
    """Seconds until GET path answers 200."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(
                    f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
                )
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"no 200 from {path} within {timeout} s")


async def _connection(
    port: int, request: bytes, count: int, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(count):
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            errors.append(status)
    writer.close()


async def _load(port: int, request: bytes, total: int, connections: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[int] = []
    per = total // connections
    started = time.perf_counter()
    await asyncio.gather(
        *(_connection(port, request, per, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "connections": connections,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "non_200": len(errors),
    }


def _load_in_child(port: int, request: bytes, total: int, connections: int, out: Any) -> None:
    out.put(asyncio.run(_load(port, request, total, connections)))


def load(
    port: int, path: str, headers: dict[str, str], total: int, connections: int
) -> dict[str, Any]:
    """Run ``total`` GETs over ``connections`` keep-alive connections from a separate process."""
    lines = [f"GET {path} HTTP/1.1", "Host: bench"] + [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    queue: Any = multiprocessing.Queue()
    child = multiprocessing.Process(
        target=_load_in_child, args=(port, request, total, connections, queue)
    )
    child.start()
    result = queue.get()
    child.join()
    return dict(result)


def nats_worker_env(database_url: str, storage_dir: str) -> dict[str, str]:
    """The environment of a `mas worker` on NATS JetStream, with a stream of its own (drop it
    with ``drop_stream`` afterwards)."""
    tag = uuid.uuid4().hex[:8]
    return {
        "MAS_DATABASE_URL": database_url,
        "MAS_BROKER": "nats",
        "MAS_NATS_URL": NATS_URL,
        "MAS_NATS_STREAM": f"MAS_BENCH_{tag}",
        "MAS_NATS_SUBJECT": f"mas.bench.{tag}",
        "MAS_STORAGE_DIR": storage_dir,
        "MAS_LOG_LEVEL": "WARNING",
    }


async def drop_stream(name: str) -> None:
    import nats

    nc = await nats.connect(NATS_URL)
    try:
        await nc.jetstream().delete_stream(name)
    except Exception as error:  # the stream may not exist if the worker never made it
        print(f"stream {name} not dropped: {error}", file=sys.stderr)
    finally:
        await nc.close()


async def add_published_workflow(
    conn: Any,
    graph: dict[str, Any],
    *,
    name: str,
    trigger_type: str = "MANUAL",
    trigger_config: dict[str, Any] | None = None,
    send_window: dict[str, str] | None = None,
) -> uuid.UUID:
    """An ACTIVE workflow with ``graph`` published as version 1, written straight to the tables
    on ``conn`` (an open SQLAlchemy connection); its id."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from mas.adapters.db.workflow.definitions_tables import workflow_versions, workflows
    from mas.core.workflow.definitions.graph import checksum, parse_graph

    parsed, issues = parse_graph(graph)
    assert parsed is not None, issues
    stored = parsed.to_stored()
    now = datetime.now(UTC)
    workflow_id = uuid.uuid4()
    await conn.execute(
        insert(workflows).values(
            id=workflow_id,
            name=name,
            status="ACTIVE",
            trigger_type=trigger_type,
            trigger_config=trigger_config or {},
            draft_graph=stored,
            published_version=1,
            reenroll_policy="NEVER",
            exit_on_statuses=["CONVERTED"],
            send_window=send_window or {"start": "09:00", "end": "21:00", "tz": "Asia/Kolkata"},
            created_at=now,
            updated_at=now,
        )
    )
    await conn.execute(
        insert(workflow_versions).values(
            workflow_id=workflow_id,
            version=1,
            graph=stored,
            published_at=now,
            checksum=checksum(stored),
        )
    )
    return workflow_id
