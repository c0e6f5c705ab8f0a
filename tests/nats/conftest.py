"""Real NATS JetStream + PostgreSQL + ``mas worker`` / ``mas scheduler`` subprocesses."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    NATS_URL,
    TEST_JWT_SECRET,
    missing_service,
    open_container,
    truncate_pg,
)

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.nats


async def nats_reachable(url: str) -> bool:
    import nats

    try:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    await nc.close()
    return True


@pytest.fixture
async def nats_url() -> str:
    if not NATS_URL or not await nats_reachable(NATS_URL):
        missing_service("NATS JetStream (MAS_TEST_NATS_URL)")
    return NATS_URL


@pytest.fixture
async def stack_env(
    nats_url: str, pg_url: str | None, tmp_path: Path
) -> AsyncIterator[dict[str, str]]:
    """Settings shared by this test and its subprocesses: own stream, own subject, PostgreSQL."""
    if pg_url is None:
        missing_service("PostgreSQL (MAS_TEST_PG_URL)")
    assert pg_url is not None
    await truncate_pg(pg_url)
    tag = uuid.uuid4().hex[:10]
    env = {
        "MAS_ENV": "test",
        "MAS_JWT_SECRET": TEST_JWT_SECRET,
        "MAS_DATABASE_URL": pg_url,
        "MAS_BROKER": "nats",
        "MAS_NATS_URL": nats_url,
        "MAS_NATS_STREAM": f"MAS_TEST_{tag}",
        "MAS_NATS_SUBJECT": f"mas.test.{tag}",
        "MAS_NATS_ACK_WAIT_S": "2",
        "MAS_RELEASE_INTERVAL_S": "0.1",
        "MAS_STORAGE_DIR": str(tmp_path / "storage"),
        "MAS_LOG_JSON": "false",
        "MAS_CRON_OVERRIDES": (
            '{"comms.dispatch_outbox": "off", "events.relay_outbox": "off", '
            '"jobs.reap_stuck": "off"}'
        ),
    }
    yield env
    import nats

    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_stream(env["MAS_NATS_STREAM"])
    except Exception as exc:  # noqa: BLE001 - the stream may never have been created
        print(f"stream cleanup: {exc}")
    await nc.close()
    await truncate_pg(pg_url)


@pytest.fixture
async def producer(stack_env: dict[str, str], tmp_path: Path) -> AsyncIterator[Any]:
    """This test process's own container on the same stream and database (it only sends)."""
    from mas.settings import load_settings
    from tests.nats.probe_tasks import MODULE  # the producer must know the probe policies

    settings = load_settings(environ={**stack_env})
    c = await open_container(settings, inline_tasks=False, extra=(MODULE,))
    yield c
    await c.close()


class Processes:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, name: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "mas", *args],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started.append(proc)
        return proc

    def worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self.start("worker", "--import", "tests.nats.probe_tasks", name=name)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mas", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_of(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


@pytest.fixture
def procs(stack_env: dict[str, str], tmp_path: Path) -> Iterator[Processes]:
    processes = Processes(stack_env, tmp_path)
    yield processes
    processes.stop_all()


async def wait_for(
    check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1, what: str = ""
) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(interval)
