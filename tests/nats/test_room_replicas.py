"""Check 4 of architecture-original.md §c8, the meeting half, with real processes: two
``mas serve`` replicas on one NATS; the student's socket on one, the mentor's on the other;
presence, an offer and its answer cross between them (``mas.rt.room.{slot_id}``), and the
members live in the NATS KV room store both replicas share.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mas.adapters.realtime.nats_kv import NatsRoomStore
from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.mentorship.meetings.model import BookingRequest, PublishSlots, SlotWindow
from mas.core.tokens.wallet.purse import TokenKind, UsageType
from tests.cli.test_serve_workers import until_up
from tests.conftest import make_settings, open_container
from tests.http.conftest import add_user
from tests.nats.nats_test_support import connect_or_skip
from tests.nats.test_realtime_replicas import prefix, replicas

pytestmark = pytest.mark.nats
__all__ = ["prefix", "replicas"]  # fixtures shared with the user-stream replica test

HALF = timedelta(minutes=30)


async def confirmed_meeting(c: Any) -> tuple[User, User, uuid.UUID]:
    student, mentor = await add_user(c, Role.USER), await add_user(c, Role.EXPERT)
    as_student = Caller(user_id=student.id, role=Role.USER, platform=Platform.MY_ANALYTICS_SCHOOL)
    as_mentor = Caller(user_id=mentor.id, role=Role.EXPERT, platform=Platform.MY_ANALYTICS_SCHOOL)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    meetings = c.mentorship.meetings
    await meetings.availability.publish(
        as_mentor, PublishSlots(slots=[SlotWindow(start, start + HALF)])
    )
    async with c.uow() as uow:
        await c.tokens.wallet.purse.credit(
            uow,
            user_id=student.id,
            kind=TokenKind.MENTOR,
            tokens=1,
            usage_type=UsageType.PURCHASE,
            key=f"purchase:{uuid.uuid4()}",
        )
        await uow.commit()
    slot = await meetings.bookings.book(
        as_student,
        BookingRequest(mentor_id=mentor.id, start_date_time=start, end_date_time=start + HALF),
    )
    await meetings.bookings.approve(as_mentor, slot.id)
    return student, mentor, slot.id


async def room_socket(
    http: aiohttp.ClientSession, base: str, token: str, slot_id: uuid.UUID
) -> aiohttp.ClientWebSocketResponse:
    issued = await http.post(
        f"{base}/api/realtime/tickets",
        json={"purpose": "meeting", "resource_id": str(slot_id)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert issued.status == 201, await issued.text()
    ticket = (await issued.json())["ticket"]
    return await http.ws_connect(f"{base}/ws/meetings/{slot_id}?ticket={ticket}")


async def next_of(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), 10)
        if frame["type"] == kind:
            return frame


async def test_signalling_crosses_replicas(replicas: tuple[str, str], tmp_path: Path) -> None:
    c = await open_container(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'mas.db'}", tmp_path))
    try:
        student, mentor, slot_id = await confirmed_meeting(c)
        tokens = [
            c.identity.issuer.access_token(
                user, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
            )
            for user in (student, mentor)
        ]
    finally:
        await c.close()
    for base in replicas:
        await until_up(base, 120)  # a loaded machine starts the app slowly
    on_a, on_b = replicas
    async with aiohttp.ClientSession() as http:
        s = await room_socket(http, on_a, tokens[0], slot_id)
        m = await room_socket(http, on_b, tokens[1], slot_id)
        await s.send_json({"type": "join"})
        await next_of(s, "presence")
        await m.send_json({"type": "join"})
        # The mentor's join on B reaches the student on A.
        for ws in (s, m):
            roles = {x["role"] for x in (await next_of(ws, "presence"))["members"]}
            assert roles == {"STUDENT", "MENTOR"}
        await s.send_json({"type": "signal.offer", "to": str(mentor.id), "sdp": "v=0 offer"})
        offer = await next_of(m, "signal.offer")
        assert (offer["sender"], offer["body"]["sdp"]) == (str(student.id), "v=0 offer")
        await m.send_json({"type": "signal.answer", "to": str(student.id), "sdp": "v=0 answer"})
        assert (await next_of(s, "signal.answer"))["body"]["sdp"] == "v=0 answer"
        await m.send_json({"type": "leave"})
        assert (await next_of(s, "presence"))["members"] == [
            {"user_id": str(student.id), "role": "STUDENT"}
        ]
        await s.close()
        await m.close()
    nc = await connect_or_skip()
    store = NatsRoomStore(nc)
    try:
        for _ in range(100):  # A unseats the student once its socket has closed
            if not await store.members(str(slot_id)):
                break
            await asyncio.sleep(0.05)
        assert await store.members(str(slot_id)) == frozenset()
    finally:
        await store.close()
        await nc.close()
