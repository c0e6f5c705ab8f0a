"""Meeting-room signalling across replicas: one room, the student's socket on one `mas serve`
process and the mentor's on another, both on one NATS; N signal messages relayed between
them (``mas.rt.room.{slot_id}``); one-way delivery latency p50/p99.

Two `mas serve` (granian, 1 worker each) on one SQLite file with the NATS event bus (so the
NATS KV room store and cache). One confirmed meeting is seeded directly. This process holds
both sockets (aiohttp, one clock): the student sends ``signal.offer`` and the mentor
``signal.answer`` in turn, each sent when the previous one has arrived, paced to stay under a
socket's frame-rate limit (``RoomSession.RATE_PER_S``); latency is "received by the peer's
client" minus "sent by the sender's client", so it includes both servers, NATS and the
clients. Prints one JSON object.

    .venv/bin/python benchmarks/room_signalling.py [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import NATS_URL, free_port, start_mas, stop, wait_http  # noqa: E402

PACE_S = 1 / 30  # each socket sends at most 15 frames a second, far under its limit


async def seed(env: dict[str, str]) -> tuple[str, str, str, str, str]:
    """A confirmed meeting → (slot id, student id, student token, mentor id, mentor token)."""
    from mas.bootstrap import build_container
    from mas.core.identity.model import AuthMethod, User, UserStage
    from mas.core.identity.policy import Caller, Platform, Role
    from mas.core.mentorship.meetings.model import BookingRequest, PublishSlots, SlotWindow
    from mas.core.platform.ids import uuid7
    from mas.core.tokens.wallet.purse import TokenKind, UsageType
    from mas.settings import load_settings

    # The booking's mails wait in the outbox (no worker runs here): their deferral is no news.
    logging.getLogger("mas.outbox").disabled = True
    c = await build_container(load_settings(environ={**env, "MAS_ACCESS_TTL_S": "3600"}))
    try:
        people = []
        async with c.uow() as uow:
            for role in (Role.USER, Role.EXPERT):
                user = User(
                    id=uuid7(),
                    email=f"room-{role.value.lower()}-{uuid.uuid4().hex[:6]}@example.com",
                    role=role,
                    created_at=c.clock.now(),
                    password_hash="!",
                )
                user.advance(UserStage.OTP_VERIFIED)
                await uow.users.add(user)
                people.append(user)
            await c.tokens.wallet.purse.credit(
                uow,
                user_id=people[0].id,
                kind=TokenKind.MENTOR,
                tokens=1,
                usage_type=UsageType.PURCHASE,
                key=f"purchase:{uuid.uuid4()}",
            )
            await uow.commit()
        student, mentor = (
            Caller(user_id=p.id, role=p.role, platform=Platform.MY_ANALYTICS_SCHOOL) for p in people
        )
        start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        end = start + timedelta(minutes=30)
        meetings = c.mentorship.meetings
        await meetings.availability.publish(mentor, PublishSlots(slots=[SlotWindow(start, end)]))
        slot = await meetings.bookings.book(
            student,
            BookingRequest(mentor_id=mentor.user_id, start_date_time=start, end_date_time=end),
        )
        await meetings.bookings.approve(mentor, slot.id)
        token = c.identity.issuer.access_token
        plt, pwd = Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD
        return (
            str(slot.id),
            str(people[0].id),
            token(people[0], plt, pwd, None),
            str(people[1].id),
            token(people[1], plt, pwd, None),
        )
    finally:
        await c.close()


async def connect(http: Any, port: int, token: str, slot_id: str) -> Any:
    base = f"http://127.0.0.1:{port}"
    issued = await http.post(
        f"{base}/api/realtime/tickets",
        json={"purpose": "meeting", "resource_id": slot_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    if issued.status != 201:
        raise RuntimeError(await issued.text())
    ticket = (await issued.json())["ticket"]
    ws = await http.ws_connect(f"{base}/ws/meetings/{slot_id}?ticket={ticket}")
    await ws.send_json({"type": "join"})
    return ws


async def until(ws: Any, kind: str, check: Any = None) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), 10)
        if frame["type"] == kind and (check is None or check(frame)):
            return frame


async def run(ports: tuple[int, int], seeded: tuple[str, str, str, str, str], n: int) -> Any:
    import aiohttp

    slot_id, student_id, student_token, mentor_id, mentor_token = seeded
    async with aiohttp.ClientSession() as http:
        student = await connect(http, ports[0], student_token, slot_id)
        await until(student, "presence")
        mentor = await connect(http, ports[1], mentor_token, slot_id)
        both = {student_id, mentor_id}
        for ws in (student, mentor):  # both see each other: the room spans the replicas
            await until(ws, "presence", lambda f: {m["user_id"] for m in f["members"]} == both)
        latencies = []
        started = time.perf_counter()
        for i in range(n):
            sender, receiver, kind, to = (
                (student, mentor, "signal.offer", mentor_id)
                if i % 2 == 0
                else (mentor, student, "signal.answer", student_id)
            )
            sent = time.perf_counter()
            await sender.send_json({"type": kind, "to": to, "sdp": f"v=0 {i} " + "a" * 2000})
            await until(receiver, kind, lambda f, i=i: f["body"]["sdp"].startswith(f"v=0 {i} "))
            latencies.append(time.perf_counter() - sent)
            await asyncio.sleep(max(0.0, PACE_S - (time.perf_counter() - sent)))
        elapsed = time.perf_counter() - started
        await student.close()
        await mentor.close()
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "messages": n,
        "seconds": round(elapsed, 2),
        "sdp_bytes": 2000,
        "one_way_latency_ms": {
            "p50": pct(0.5),
            "p99": pct(0.99),
            "max": round(latencies[-1] * 1000, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "MAS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "MAS_JWT_SECRET": "bench-secret-" + "x" * 40,
            "MAS_STORAGE_DIR": tmp,
            "MAS_EVENT_BUS": "nats",
            "MAS_NATS_URL": NATS_URL,
            "MAS_NATS_KV_PREFIX": f"bench_room_{uuid.uuid4().hex[:8]}",
        }
        from mas.adapters.db import migrate

        migrate.upgrade(env["MAS_DATABASE_URL"])
        seeded = asyncio.run(seed(env))
        ports = (free_port(), free_port())
        servers = [
            start_mas(
                ["serve"], {**env, "MAS_HTTP_PORT": str(port)}, Path(tmp) / f"serve-{port}.log"
            )
            for port in ports
        ]
        try:
            for port in ports:
                wait_http(port)
            result = asyncio.run(run(ports, seeded, args.messages))
        finally:
            for server in servers:
                stop(server)
    result["server"] = "2 x mas serve (granian, 1 worker each), SQLite, NATS bus + KV room store"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
