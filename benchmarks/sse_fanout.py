"""1,000 concurrent SSE streams on one `mas serve` process: an event published for every one of
them (from another process, over NATS, as a worker publishes) reaches every stream; p99
delivery latency, and the server's RSS per open stream.

One `mas serve` (granian, 1 worker) on the embedded SQLite database with the NATS event bus;
1,000 accounts, one stream each (the worst case: one bus subscription per user). The streams
are read by this process over raw asyncio sockets; a separate process publishes one event per
user per round (``EventBus.publish_user`` on NATS) stamped with its publish time. Latency is
"received by the client" minus "published" (one machine, one clock). Prints one JSON object.

    .venv/bin/python benchmarks/sse_fanout.py [--streams N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import NATS_URL, free_port, start_mas, stop, wait_http  # noqa: E402


async def seed_tokens(env: dict[str, str], count: int) -> list[tuple[str, str]]:
    """``count`` USER accounts written directly (no password hashing) → (user id, token)."""
    from mas.bootstrap import build_container
    from mas.core.identity.model import AuthMethod, User, UserStage
    from mas.core.identity.policy import Platform, Role
    from mas.core.platform.ids import uuid7
    from mas.settings import load_settings

    c = await build_container(load_settings(environ={**env, "MAS_ACCESS_TTL_S": "3600"}))
    try:
        users = []
        async with c.uow() as uow:
            for i in range(count):
                user = User(
                    id=uuid7(),
                    email=f"sse-{i}-{uuid.uuid4().hex[:6]}@example.com",
                    role=Role.USER,
                    created_at=c.clock.now(),
                    password_hash="!",
                )
                user.advance(UserStage.OTP_VERIFIED)
                await uow.users.add(user)
                users.append(user)
            await uow.commit()
        return [
            (
                str(user.id),
                c.identity.issuer.access_token(
                    user, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
                ),
            )
            for user in users
        ]
    finally:
        await c.close()


def rss_kib(pid: int) -> int:
    """The resident set of ``pid`` and its children (granian's worker is a child)."""
    import os

    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        if not os.path.exists(f"/proc/{p}/status"):
            continue
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


class Stream:
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.received: dict[int, float] = {}  # round → receive time (epoch seconds)
        self.connected = asyncio.Event()

    async def run(self, port: int, token: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            (
                "GET /api/events/stream HTTP/1.1\r\nHost: bench\r\n"
                f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head[:200].decode())
        buffer = b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\r\n\r\n" in buffer:
                    frame, buffer = buffer.split(b"\r\n\r\n", 1)
                    if b"connected" in frame:
                        self.connected.set()
                    for line in frame.split(b"\r\n"):
                        if line.startswith(b"data: ") and b'"bench"' in line:
                            event = json.loads(line[6:])
                            self.received[event["data"]["round"]] = time.time()
        finally:
            writer.close()


def publisher(users: list[str], rounds: int, gap_s: float, stamps: Any) -> None:
    """In its own process: one event per user per round, each round stamped when it starts."""

    async def publish() -> None:
        from datetime import UTC, datetime

        import nats
        from mas.adapters.bus.nats import NatsEventBus
        from mas.core.platform.realtime import user_event

        nc = await nats.connect(NATS_URL)
        bus = NatsEventBus(nc)
        for r in range(rounds):
            stamps[r] = time.time()
            at = datetime.now(UTC)
            for user in users:
                await bus.publish_user(
                    uuid.UUID(user), user_event("bench", {"round": r, "bench": True}, at)
                )
            await nc.flush()
            await asyncio.sleep(gap_s)
        await nc.drain()

    asyncio.run(publish())


async def run(port: int, tokens: list[tuple[str, str]], server_pid: int, rounds: int) -> Any:
    rss_before = rss_kib(server_pid)
    streams = [Stream(user) for user, _ in tokens]
    tasks = []
    opened = time.perf_counter()
    for stream, (_, token) in zip(streams, tokens, strict=True):
        tasks.append(asyncio.create_task(stream.run(port, token)))
        if len(tasks) % 100 == 0:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in streams)), 120)
    open_s = time.perf_counter() - opened
    await asyncio.sleep(1.0)
    rss_open = rss_kib(server_pid)

    manager = multiprocessing.Manager()
    stamps = manager.dict()
    proc = multiprocessing.Process(
        target=publisher, args=([s.user_id for s in streams], rounds, 2.0, stamps)
    )
    proc.start()
    deadline = time.time() + 30 + rounds * 5
    while time.time() < deadline:
        if all(len(s.received) == rounds for s in streams):
            break
        await asyncio.sleep(0.1)
    proc.join(30)
    latencies = sorted(
        s.received[r] - stamps[r] for s in streams for r in range(rounds) if r in s.received
    )
    missing = len(streams) * rounds - len(latencies)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 3)

    return {
        "streams": len(streams),
        "rounds": rounds,
        "events_expected": len(streams) * rounds,
        "events_missing": missing,
        "open_all_streams_s": round(open_s, 2),
        "delivery_latency_s": {"p50": pct(0.5), "p99": pct(0.99), "max": round(latencies[-1], 3)},
        "server_rss_mib": {
            "before_streams": round(rss_before / 1024, 1),
            "with_streams": round(rss_open / 1024, 1),
        },
        "rss_per_stream_kib": round((rss_open - rss_before) / len(streams), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            "MAS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "MAS_HTTP_PORT": str(port),
            "MAS_JWT_SECRET": "bench-secret-" + "x" * 40,
            "MAS_STORAGE_DIR": tmp,
            "MAS_EVENT_BUS": "nats",
            "MAS_NATS_URL": NATS_URL,
            "MAS_SSE_KEEPALIVE_S": "15",
            "MAS_SSE_MAX_LIFETIME_S": "900",
        }
        from mas.adapters.db import migrate

        migrate.upgrade(env["MAS_DATABASE_URL"])
        tokens = asyncio.run(seed_tokens(env, args.streams))
        server = start_mas(["serve"], env, Path(tmp) / "serve.log")
        try:
            wait_http(port)
            result = asyncio.run(run(port, tokens, server.pid, args.rounds))
        finally:
            stop(server)
    result["server"] = "mas serve (granian, 1 worker process), SQLite, NATS event bus"
    result["goal"] = "p99 delivery <= 1 s for 1,000 streams"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
