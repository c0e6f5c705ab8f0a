"""Check 4 of architecture-original.md §c8, with real processes: two ``mas serve`` replicas on
one NATS, and a third process (this test, as a worker would) publishing a user event. The
user's stream open on either replica receives it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from mas.adapters.bus.nats import NatsEventBus
from mas.adapters.db import migrate
from mas.core.identity.model import AuthMethod
from mas.core.identity.policy import Platform, Role
from mas.core.platform.ports.clock import SystemClock
from mas.core.platform.realtime import UserEvent, user_event
from tests.cli.test_serve_workers import free_port, until_up
from tests.conftest import TEST_JWT_SECRET, make_settings, open_container
from tests.http.conftest import add_user
from tests.nats.nats_test_support import NATS_URL, connect_or_skip, delete_buckets

pytestmark = pytest.mark.nats

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def prefix() -> str:
    return f"mastest_rt_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def replicas(tmp_path: Path, prefix: str) -> Iterator[tuple[str, str]]:
    """Two ``mas serve`` processes on one SQLite file, one NATS bus and one NATS KV cache."""
    database = f"sqlite+aiosqlite:///{tmp_path / 'mas.db'}"
    migrate.upgrade(database)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MAS_")}
    env = {
        **inherited,
        "PYTHONPATH": str(REPO),
        "MAS_ENV": "test",
        "MAS_JWT_SECRET": TEST_JWT_SECRET,
        "MAS_DATABASE_URL": database,
        "MAS_STORAGE_DIR": str(tmp_path / "storage"),
        "MAS_LOG_JSON": "false",
        "MAS_EVENT_BUS": "nats",
        "MAS_CACHE": "nats",
        "MAS_NATS_URL": NATS_URL,
        "MAS_NATS_KV_PREFIX": prefix,
    }
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    bases = []
    for name in ("a", "b"):
        port = free_port()
        log_path = tmp_path / f"serve-{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mas", "serve", "--port", str(port)],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append((proc, log_path))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        yield bases[0], bases[1]
    finally:
        for proc, _ in started:
            proc.send_signal(signal.SIGTERM)
        for proc, log_path in started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            print(log_path.read_text(errors="replace")[-3000:])


@pytest.fixture
async def worker(prefix: str) -> AsyncIterator[NatsEventBus]:
    """The third process's bus (a worker publishes through the same port)."""
    bus = NatsEventBus(await connect_or_skip(), owns_connection=True)
    yield bus
    await delete_buckets(bus.connection.jetstream(), prefix)
    await bus.close()


async def next_event(lines: AsyncIterator[str]) -> dict[str, str]:
    """The next SSE frame that carries data, as field → value."""
    fields: dict[str, str] = {}
    async for line in lines:
        if not line:
            if "data" in fields:
                return fields
            fields = {}
            continue
        if not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    raise AssertionError("the stream ended before an event")


async def until_connected(lines: AsyncIterator[str]) -> None:
    async for line in lines:
        if line == ": connected":
            return
    raise AssertionError("the stream ended before it was connected")


async def test_an_event_published_elsewhere_reaches_the_stream_on_either_replica(
    replicas: tuple[str, str], worker: NatsEventBus, tmp_path: Path
) -> None:
    c = await open_container(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'mas.db'}", tmp_path))
    user = await add_user(c, Role.USER)
    token = c.identity.issuer.access_token(
        user, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
    )
    await c.close()
    headers = {"Authorization": f"Bearer {token}"}
    for base in replicas:
        await until_up(base)

    async with (
        httpx.AsyncClient(base_url=replicas[0], timeout=10) as on_a,
        httpx.AsyncClient(base_url=replicas[1], timeout=10) as on_b,
        on_a.stream("GET", "/api/events/stream", headers=headers) as stream_a,
        on_b.stream("GET", "/api/events/stream", headers=headers) as stream_b,
    ):
        assert stream_a.status_code == stream_b.status_code == 200
        lines_a, lines_b = stream_a.aiter_lines(), stream_b.aiter_lines()
        await asyncio.wait_for(until_connected(lines_a), 10)
        await asyncio.wait_for(until_connected(lines_b), 10)

        sent = user_event("notification.created", {"title": "hello"}, SystemClock().now())
        await worker.publish_user(user.id, sent)
        await worker.publish_user(uuid.uuid4(), user_event("other", {}, SystemClock().now()))

        for lines in (lines_a, lines_b):
            frame = await asyncio.wait_for(next_event(lines), 10)
            assert frame["id"] == sent.id
            assert msgspec.json.decode(frame["data"], type=UserEvent) == sent
