"""The live meeting room over HTTP (architecture-original §c3, §c8 check 14; mentorship.md §5,
§9 checks 10 and 14): ``WS /ws/meetings/{slot_id}`` with realtime and bot tickets, the
participation rows it writes, the mentor's completion that reads them, and ``bot-info``."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import AsyncTestClient

from mas.core.identity.model import User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.mentorship.meetings.model import BookingRequest, PublishSlots, SlotWindow
from mas.core.mentorship.room import bot_tickets
from mas.core.mentorship.room.model import ParticipantRole, Participation
from mas.core.platform.ids import uuid7
from tests.http.conftest import Auth, add_user
from tests.http.test_mentorship_meetings import give

Client = AsyncTestClient[Any]
HALF = timedelta(minutes=30)
STARTS = itertools.count(1)


def caller(user: User) -> Caller:
    return Caller(user_id=user.id, role=user.role, platform=Platform.MY_ANALYTICS_SCHOOL)


async def booked(
    c: Any, accounts: dict[Role, User], approve: bool = True, student_user: User | None = None
) -> Any:
    """A meeting of this test's USER (or ``student_user``) with its EXPERT, in the next days."""
    day = datetime.now(UTC) + timedelta(days=2)
    start = day.replace(minute=0, second=0, microsecond=0) + next(STARTS) * 2 * HALF
    mentor = caller(accounts[Role.EXPERT])
    student = caller(student_user or accounts[Role.USER])
    meetings = c.mentorship.meetings
    await meetings.availability.publish(
        mentor, PublishSlots(slots=[SlotWindow(start, start + HALF)])
    )
    await give(c, student_user or accounts[Role.USER], 1)
    slot = await meetings.bookings.book(
        student,
        BookingRequest(mentor_id=mentor.user_id, start_date_time=start, end_date_time=start + HALF),
    )
    if approve:
        await meetings.bookings.approve(mentor, slot.id)
    return slot


async def ticket(client: Client, headers: dict[str, str], slot_id: Any) -> str:
    issued = await client.post(
        "/api/realtime/tickets",
        json={"purpose": "meeting", "resource_id": str(slot_id)},
        headers=headers,
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["ticket"])


def room_path(slot_id: Any) -> str:
    return f"/ws/meetings/{slot_id}"


async def close_code(client: Client, slot_id: Any, ticket_text: str) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        with await client.websocket_connect(
            room_path(slot_id), params={"ticket": ticket_text}
        ) as ws:
            ws.receive_json()
    return closed.value.code


def next_of(ws: Any, kind: str) -> dict[str, Any]:
    """The next frame of ``kind`` (presence frames of others' joins may come first)."""
    for _ in range(20):
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


async def rows(c: Any, slot_id: Any) -> list[Participation]:
    return list(await c.mentorship.room.participation.rows(slot_id))


async def until_closed(c: Any, slot_id: Any, count: int) -> list[Participation]:
    """The rows once ``count`` of them are closed (the server's ``finally`` runs after the
    client has gone)."""
    for _ in range(200):
        found = await rows(c, slot_id)
        if sum(r.left_at is not None for r in found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError("the participation rows were not closed")


async def test_participants_join_signal_and_leave(
    client: Client, sqlite_container: Any, accounts: dict[Role, User], auth: Auth
) -> None:
    slot = await booked(sqlite_container, accounts)
    student, mentor = accounts[Role.USER], accounts[Role.EXPERT]
    as_student = await ticket(client, auth(Role.USER), slot.id)
    as_mentor = await ticket(client, auth(Role.EXPERT), slot.id)
    with await client.websocket_connect(room_path(slot.id), params={"ticket": as_student}) as s:
        s.send_json({"type": "join"})
        assert next_of(s, "presence")["members"] == [
            {"user_id": str(student.id), "role": "STUDENT"}
        ]
        with await client.websocket_connect(room_path(slot.id), params={"ticket": as_mentor}) as m:
            m.send_json({"type": "join"})
            roles = {x["role"] for x in next_of(m, "presence")["members"]}
            assert roles == {"STUDENT", "MENTOR"}
            s.send_json({"type": "signal.offer", "to": str(mentor.id), "sdp": "v=0 offer"})
            offer = next_of(m, "signal.offer")
            assert (offer["sender"], offer["body"]["sdp"]) == (str(student.id), "v=0 offer")
            m.send_json({"type": "signal.answer", "to": str(student.id), "sdp": "v=0 answer"})
            assert next_of(s, "signal.answer")["body"]["sdp"] == "v=0 answer"
            s.send_text("{not json")
            assert next_of(s, "error")["code"] == "invalid_message"
            s.send_json({"type": "chat.message", "text": "still here"})  # the socket stayed open
            assert next_of(m, "chat.message")["body"]["text"] == "still here"
            m.send_json({"type": "leave"})
            with pytest.raises(WebSocketDisconnect) as left:
                m.receive_json()
            assert left.value.code == 1000
            assert [x["role"] for x in next_of(s, "presence")["members"]] == ["STUDENT"]
    # The student's socket dropped without a leave: its row is closed all the same.
    found = await until_closed(sqlite_container, slot.id, 2)
    assert sorted((r.role, r.user_id) for r in found) == sorted(
        [(ParticipantRole.STUDENT, student.id), (ParticipantRole.MENTOR, mentor.id)]
    )
    assert await sqlite_container.platform.rooms.members(str(slot.id)) == frozenset()


async def test_who_may_not_join_and_with_which_code(
    client: Client, sqlite_container: Any, accounts: dict[Role, User], auth: Auth
) -> None:
    slot = await booked(sqlite_container, accounts)
    assert (
        await close_code(client, slot.id, await ticket(client, auth(Role.SALES), slot.id)) == 4403
    )
    assert (
        await close_code(client, slot.id, await ticket(client, auth(Role.EXPERT), uuid.uuid4()))
        == 4401
    )
    assert await close_code(client, slot.id, "no-such-ticket") == 4401
    assert await close_code(client, slot.id, "") == 4401
    used = await ticket(client, auth(Role.USER), slot.id)
    with await client.websocket_connect(room_path(slot.id), params={"ticket": used}) as ws:
        ws.send_json({"type": "join"})
        next_of(ws, "presence")
    assert await close_code(client, slot.id, used) == 4401  # single use
    nowhere = uuid.uuid4()
    assert await close_code(client, nowhere, await ticket(client, auth(Role.USER), nowhere)) == 4404
    # An admin joins any meeting, and is not logged.
    admin = await ticket(client, auth(Role.ADMIN), slot.id)
    with await client.websocket_connect(room_path(slot.id), params={"ticket": admin}) as ws:
        ws.send_json({"type": "join"})
        assert next_of(ws, "presence")["members"][0]["role"] == "ADMIN"
    assert {r.role for r in await until_closed(sqlite_container, slot.id, 1)} == {
        ParticipantRole.STUDENT
    }


async def test_a_meeting_not_confirmed_is_closed_4409(
    client: Client, sqlite_container: Any, accounts: dict[Role, User], auth: Auth
) -> None:
    slot = await booked(sqlite_container, accounts, approve=False)
    assert await close_code(client, slot.id, await ticket(client, auth(Role.USER), slot.id)) == 4409
    # An outsider learns nothing about the state: still 4403.
    assert (
        await close_code(client, slot.id, await ticket(client, auth(Role.SALES), slot.id)) == 4403
    )


async def test_the_recording_bot_joins_as_an_observer_and_is_not_logged(
    client: Client, sqlite_container: Any, accounts: dict[Role, User], auth: Auth
) -> None:
    slot = await booked(sqlite_container, accounts)
    key = bot_tickets.key_of(sqlite_container.settings.effective_jwt_secret)
    bot = bot_tickets.mint(key, slot.id, slot.end_date_time)
    student = await ticket(client, auth(Role.USER), slot.id)
    with await client.websocket_connect(room_path(slot.id), params={"ticket": student}) as s:
        s.send_json({"type": "join"})
        next_of(s, "presence")
        with await client.websocket_connect(room_path(slot.id), params={"ticket": bot}) as b:
            b.send_json({"type": "join"})
            members = next_of(b, "presence")["members"]
            assert sorted(x["role"] for x in members) == ["OBSERVER", "STUDENT"]
            b.send_json({"type": "chat.message", "text": "beep"})
            assert next_of(b, "error")["code"] == "observer"
            b.send_json({"type": "recording.started", "recording_id": str(uuid.uuid4())})
            assert next_of(s, "recording.started")["sender"] != str(accounts[Role.USER].id)
    found = await until_closed(sqlite_container, slot.id, 1)
    assert [r.role for r in found] == [ParticipantRole.STUDENT]
    other = bot_tickets.mint(key, uuid.uuid4(), slot.end_date_time)
    assert await close_code(client, slot.id, other) == 4401
    expired = bot_tickets.mint(key, slot.id, datetime.now(UTC) - timedelta(hours=1))
    assert await close_code(client, slot.id, expired) == 4401


async def test_the_mentor_completes_once_attendance_is_verified(
    client: Client, sqlite_container: Any, accounts: dict[Role, User], auth: Auth
) -> None:
    slot = await booked(sqlite_container, accounts)
    complete = f"/api/slots/{slot.id}/complete"
    # A short stay in the room is logged but verifies nothing.
    for role in (Role.USER, Role.EXPERT):
        stay = await ticket(client, auth(role), slot.id)
        with await client.websocket_connect(room_path(slot.id), params={"ticket": stay}) as ws:
            ws.send_json({"type": "join"})
            next_of(ws, "presence")
    await until_closed(sqlite_container, slot.id, 2)
    refused = await client.post(complete, headers=auth(Role.EXPERT))
    assert (refused.status_code, refused.json()["code"]) == (409, "attendance_not_verified")
    async with sqlite_container.uow() as uow:
        for user, role in ((accounts[Role.USER], "STUDENT"), (accounts[Role.EXPERT], "MENTOR")):
            await uow.meeting_participants.add(
                Participation(
                    id=uuid7(),
                    slot_id=slot.id,
                    user_id=user.id,
                    role=ParticipantRole(role),
                    joined_at=slot.start_date_time,
                    left_at=slot.start_date_time + timedelta(minutes=12),
                )
            )
        await uow.commit()
    done = await client.post(complete, headers=auth(Role.EXPERT))
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["earnings_credited"]) == ("completed", True)
    again = await client.post(complete, headers=auth(Role.EXPERT))
    assert again.status_code == 409


async def test_bot_info_answers_only_a_valid_ticket_for_a_confirmed_meeting(
    client: Client, sqlite_container: Any, accounts: dict[Role, User]
) -> None:
    slot = await booked(sqlite_container, accounts)
    key = bot_tickets.key_of(sqlite_container.settings.effective_jwt_secret)
    path = f"/api/meetings/{slot.id}/bot-info"
    good = bot_tickets.mint(key, slot.id, slot.end_date_time)
    found = await client.get(path, params={"ticket": good})
    assert found.status_code == 200, found.text
    assert found.json() == {
        "meeting_id": str(slot.id),
        "room_id": slot.room_id,
        "start": slot.start_date_time.isoformat().replace("+00:00", "Z"),
        "end": slot.end_date_time.isoformat().replace("+00:00", "Z"),
        "status": "confirmed",
    }
    someone = await add_user(sqlite_container, Role.USER)
    other = await booked(sqlite_container, accounts, approve=False, student_user=someone)
    refusals = [
        await client.get(path),
        await client.get(
            path,
            params={
                "ticket": bot_tickets.mint(key, slot.id, datetime.now(UTC) - timedelta(hours=1))
            },
        ),
        await client.get(
            path, params={"ticket": bot_tickets.mint(key, other.id, other.end_date_time)}
        ),
        await client.get(path, params={"ticket": "x" * 150}),
        await client.get(
            f"/api/meetings/{other.id}/bot-info",
            params={"ticket": bot_tickets.mint(key, other.id, other.end_date_time)},
        ),
    ]
    bodies = {(r.status_code, r.json()["code"], r.json()["detail"]) for r in refusals}
    assert bodies == {(404, "meeting_not_found", "no such meeting")}
