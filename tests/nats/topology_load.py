"""The load of the topology fault test (``tests/nats/topology.py``) and what it records.

Every request is a ``Sent`` with its start, end, the API port it went to and its outcome. The
``Balancer`` does what the proxy of ``deploy/Caddyfile`` does: round-robin, and a refused
connection tried on the other API (the request never reached a server), so clients see an error
only for a request already inside an API process when it died.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HEAD_PASSWORD = "topology password 123"


@dataclass
class Sent:
    """One request (or task sent): its outcome and ``value``, what to look for afterwards."""

    kind: str
    started: float
    ended: float = 0.0
    port: int | None = None
    status: int | None = None
    error: str | None = None
    value: Any = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Kill:
    """A process killed (its group, with SIGKILL) and when its role worked again."""

    role: str
    name: str
    pid: int
    at: float
    port: int | None = None
    recovered_at: float | None = None


@dataclass
class Run:
    """What happened, in wall-clock seconds (``time.time()``), for the report."""

    started: float = 0.0
    sent: list[Sent] = field(default_factory=list)
    kills: dict[str, Kill] = field(default_factory=dict)
    rerouted: int = 0
    events_published: list[str] = field(default_factory=list)
    events_received: list[str] = field(default_factory=list)


class Balancer:
    """Round-robin over the API processes; a refused connection goes to the next one (the
    request never reached a server), for up to 5 s, as the production proxy does."""

    def __init__(self, ports: list[int], run: Run) -> None:
        self._ports = ports
        self._run = run
        self._next = 0
        self._down_until: dict[int, float] = {}
        self._clients = {
            port: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=15)
            for port in ports
        }

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    def _pick(self) -> int:
        now = time.time()
        for _ in self._ports:
            port = self._ports[self._next % len(self._ports)]
            self._next += 1
            if self._down_until.get(port, 0.0) <= now:
                return port
        return self._ports[self._next % len(self._ports)]

    async def send(
        self, kind: str, method: str, path: str, *, local_address: str | None = None, **kw: Any
    ) -> tuple[Sent, httpx.Response | None]:
        record = Sent(kind, started=time.time())
        self._run.sent.append(record)
        give_up = time.time() + 5
        while True:
            port = self._pick()
            record.port = port
            try:
                if local_address is None:
                    response = await self._clients[port].request(method, path, **kw)
                else:
                    transport = httpx.AsyncHTTPTransport(local_address=local_address)
                    async with httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{port}", transport=transport, timeout=15
                    ) as client:
                        response = await client.request(method, path, **kw)
            except httpx.ConnectError:
                self._down_until[port] = time.time() + 0.5
                self._run.rerouted += 1
                if time.time() < give_up:
                    await asyncio.sleep(0.02)
                    continue
                record.error = "no API accepted the connection for 5 s"
            except httpx.HTTPError as exc:  # sent, and no answer: in flight when a server died
                record.error = f"{type(exc).__name__}: {exc}"
            else:
                record.status = response.status_code
                record.ended = time.time()
                if not record.accepted:
                    record.error = f"{response.status_code}: {response.text[:200]}"
                return record, response
            record.ended = time.time()
            return record, None


# --- the world the load acts on -------------------------------------------------------------


@dataclass
class World:
    c: Any
    database_url: str
    head_id: uuid.UUID
    head_email: str
    token: str
    effects: Path


async def make_world(c: Any, database_url: str, effects: Path) -> World:
    """A SALES_HEAD with every page (sign-ins, leads, imports, the event stream)."""
    from mas.core.crm.pages import SALES_HEAD_PAGES
    from mas.core.identity.model import AuthMethod, User, UserStage
    from mas.core.identity.policy import Platform, Role
    from mas.core.platform.ids import uuid7
    from tests.integration.crm_fixtures import add_profile

    email = f"head-{uuid.uuid4().hex[:6]}@example.com"
    user = User(
        id=uuid7(),
        email=email,
        role=Role.SALES_HEAD,
        created_at=c.clock.now(),
        password_hash=c.identity.hasher.hash(HEAD_PASSWORD),
    )
    user.advance(UserStage.OTP_VERIFIED)
    async with c.uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    async with c.uow() as uow:
        await uow.users.set_permissions(user.id, sorted(SALES_HEAD_PAGES), user.id)
        await uow.commit()
    await add_profile(c, user.id)
    token = c.identity.issuer.access_token(
        user, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
    )
    return World(c, database_url, user.id, email, token, effects)


def _auth(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.token}"}


async def every(
    interval_s: float, stop: asyncio.Event, action: Callable[[int], Awaitable[None]]
) -> None:
    """Start ``action(n)`` every ``interval_s`` (without waiting for the last to end)."""
    pending: set[asyncio.Task[None]] = set()
    n = 0
    next_at = time.monotonic()
    while not stop.is_set():
        task = asyncio.create_task(action(n))
        pending.add(task)
        task.add_done_callback(pending.discard)
        n += 1
        next_at += interval_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.monotonic()))
    if pending:
        await asyncio.gather(*pending)


def sign_in(world: World, balancer: Balancer) -> Callable[[int], Awaitable[None]]:
    async def one(n: int) -> None:
        # Sign-ins are throttled per client address: each comes from its own loopback address.
        address = f"127.0.{10 + n // 200}.{1 + n % 200}"
        record, response = await balancer.send(
            "sign_in",
            "POST",
            "/api/auth/login",
            local_address=address,
            json={"email": world.head_email, "password": HEAD_PASSWORD},
        )
        if response is not None and record.accepted:
            record.value = response.json()["refresh_token"]

    return one


def add_lead(world: World, balancer: Balancer) -> Callable[[int], Awaitable[None]]:
    async def one(n: int) -> None:
        record, response = await balancer.send(
            "lead",
            "POST",
            "/api/crm/leads",
            json={"name": f"Topology Lead {n}", "phone": f"96{n:08d}"},
            headers={**_auth(world), "Idempotency-Key": f"topology-{n}"},
        )
        if response is not None and record.accepted:
            record.value = response.json()["id"]

    return one


def import_csv(world: World, balancer: Balancer, rows: int) -> Callable[[int], Awaitable[None]]:
    async def one(n: int) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["Student Name", "Mobile"])
        phones = [f"95{n:03d}{row:05d}" for row in range(rows)]
        for row, phone in enumerate(phones):
            writer.writerow([f"Imported {n}-{row}", phone])
        uploaded, response = await balancer.send(
            "import_upload",
            "POST",
            "/api/crm/imports",
            files={"file": (f"leads-{n}.csv", out.getvalue().encode(), "text/csv")},
            headers=_auth(world),
        )
        if response is None or not uploaded.accepted:
            return
        batch_id = response.json()["id"]
        committed, _ = await balancer.send(
            "import_commit", "POST", f"/api/crm/imports/{batch_id}/commit", headers=_auth(world)
        )
        committed.value = (batch_id, phones)

    return one


def enqueue(world: World, run: Run, sleep_s: float) -> Callable[[int], Awaitable[None]]:
    async def one(n: int) -> None:
        key = f"effect-{n}"
        record = Sent("job", started=time.time())
        run.sent.append(record)
        try:
            await world.c.jobs.enqueue(
                "probe.effect",
                {"path": str(world.effects), "key": key, "sleep_s": sleep_s},
                key=key,
            )
        except Exception as exc:  # noqa: BLE001 - counted as a client error in the report
            record.error = f"{type(exc).__name__}: {exc}"
        else:
            record.status = 202  # in the ledger and on the stream: accepted
            record.value = key
        record.ended = time.time()

    return one


def publish(world: World, run: Run) -> Callable[[int], Awaitable[None]]:
    from mas.core.platform.realtime import user_event

    async def one(n: int) -> None:
        event = user_event("topology.tick", {"n": n}, datetime.now(UTC))
        run.events_published.append(event.id)
        await world.c.bus.publish_user(world.head_id, event)

    return one


@contextlib.asynccontextmanager
async def event_stream(world: World, port: int, run: Run) -> AsyncIterator[None]:
    """The head's ``GET /api/events/stream`` on one API, its event ids collected in ``run``."""
    connected = asyncio.Event()

    async def read() -> None:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=None) as client,
            client.stream("GET", "/api/events/stream", headers=_auth(world)) as stream,
        ):
            async for line in stream.aiter_lines():
                if line == ": connected":
                    connected.set()
                elif line.startswith("id: "):
                    run.events_received.append(line[4:])

    reader = asyncio.create_task(read())
    try:
        await asyncio.wait_for(connected.wait(), 20)
        yield
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await reader
