"""``mas serve`` with two worker processes on the embedded SQLite: a logout reaches both.

The issue's reproduction, with real processes: granian forks two workers, each with its own
container; with the per-process cache 8 of 20 requests after a logout were still served. Every
request opens its own connection, so the kernel spreads them over both workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mas.adapters.db import migrate
from mas.core.identity.policy import Role
from tests.conftest import make_settings, open_container
from tests.http.conftest import PASSWORD, add_user

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def var(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def server(var: Path, tmp_path: Path) -> Iterator[str]:
    """``mas serve --workers 2`` on a migrated SQLite file; its base URL."""
    url = f"sqlite+aiosqlite:///{var / 'mas.db'}"
    migrate.upgrade(url)
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("MAS_")}
    env = {
        **inherited,
        "PYTHONPATH": str(REPO),
        "MAS_ENV": "dev",
        "MAS_DATABASE_URL": url,
        "MAS_STORAGE_DIR": str(tmp_path / "storage"),
        "MAS_LOG_JSON": "false",
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mas", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        print((tmp_path / "serve.log").read_text(errors="replace")[-4000:])


async def get(base: str, path: str, token: str) -> int:
    """One request on a connection of its own."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        return response.status_code


async def until_up(base: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            async with httpx.AsyncClient(base_url=base, timeout=2) as client:
                if (await client.get("/health")).status_code == 200:
                    return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"mas serve did not answer within {seconds:g} s")
        await asyncio.sleep(0.1)


async def test_a_logged_out_token_is_refused_by_every_worker(
    server: str, var: Path, tmp_path: Path
) -> None:
    c = await open_container(make_settings(f"sqlite+aiosqlite:///{var / 'mas.db'}", tmp_path))
    user = await add_user(c, Role.SALES)
    await c.close()
    await until_up(server)
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        signed = await client.post(
            "/api/auth/login", json={"email": user.email, "password": PASSWORD}
        )
    assert signed.status_code == 200, signed.text
    token = signed.json()["access_token"]
    assert [await get(server, "/api/user/profile", token) for _ in range(20)] == [200] * 20

    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        logout = await client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert logout.status_code == 204, logout.text
    assert [await get(server, "/api/user/profile", token) for _ in range(20)] == [401] * 20

    # Signed with the installation's own secret, made once by the server (never a public one).
    secret = var / "jwt-secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) >= 32
