"""The room's sessions and fan-out on the in-process bus and room store: what a member's
frames do, what the others receive, and which frames are refused with an ``error``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec
import pytest

from mas.adapters.bus.memory import InProcessBus
from mas.adapters.fakes.platform import FakeClock
from mas.adapters.realtime.memory import MemoryRoomStore
from mas.core.mentorship.meetings.model import Slot, SlotStatus
from mas.core.mentorship.room.admission import Admitted
from mas.core.mentorship.room.hub import QUEUE_SIZE, RoomHub
from mas.core.mentorship.room.model import ParticipantRole
from mas.core.mentorship.room.session import BURST, RoomSession
from mas.core.mentorship.room_messages import Member

START = datetime(2026, 12, 11, 10, 0, tzinfo=UTC)


class Recorder:
    """The participation log, in memory: open rows by id."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, tuple[uuid.UUID, ParticipantRole, bool]] = {}

    async def opened(
        self, slot_id: uuid.UUID, user_id: uuid.UUID, role: ParticipantRole
    ) -> uuid.UUID:
        row = uuid.uuid4()
        self.rows[row] = (user_id, role, True)
        return row

    async def closed(self, row_id: uuid.UUID) -> bool:
        user, role, was_open = self.rows[row_id]
        self.rows[row_id] = (user, role, False)
        return was_open

    def open_for(self, user: uuid.UUID) -> int:
        return sum(1 for who, _, is_open in self.rows.values() if who == user and is_open)


class Room:
    def __init__(self) -> None:
        self.clock = FakeClock(START)
        self.hub = RoomHub(InProcessBus(), MemoryRoomStore())
        self.log = Recorder()
        self.slot = Slot(
            id=uuid.uuid4(),
            mentor_id=uuid.uuid4(),
            student_id=uuid.uuid4(),
            start_date_time=START,
            end_date_time=START + timedelta(minutes=30),
            status=SlotStatus.CONFIRMED,
            created_at=START,
            updated_at=START,
        )
        self.ticks = 0.0

    def session(
        self, role: Literal["STUDENT", "MENTOR", "ADMIN", "OBSERVER"], user: uuid.UUID | None = None
    ) -> RoomSession:
        if user is None:
            user = {"STUDENT": self.slot.student_id, "MENTOR": self.slot.mentor_id}.get(role)
        member = Member(user_id=user or uuid.uuid4(), role=role)
        return RoomSession(
            Admitted(slot=self.slot, member=member),
            self.hub,
            self.log,
            self.clock,
            lambda: self.ticks,
        )


def frames(session: RoomSession) -> list[dict[str, Any]]:
    """What the seat's queue holds for the socket, emptied."""
    found = []
    queue = session.seat._queue
    while not queue.empty():
        frame = queue.get_nowait()
        assert frame is not None
        found.append(msgspec.json.decode(frame))
    return found


async def send(session: RoomSession, message: dict[str, Any]) -> dict[str, Any] | None:
    reply = await session.receive(msgspec.json.encode(message))
    return None if reply is None else msgspec.json.decode(reply)


@pytest.fixture
def room() -> Room:
    return Room()


async def test_join_relay_and_leave(room: Room) -> None:
    student, mentor = room.session("STUDENT"), room.session("MENTOR")
    assert await send(student, {"type": "join"}) is None
    assert await send(mentor, {"type": "join"}) is None
    [presence] = frames(student)[-1:]
    assert presence["type"] == "presence"
    assert {m["role"] for m in presence["members"]} == {"STUDENT", "MENTOR"}
    frames(mentor)

    offer = {"type": "signal.offer", "to": str(mentor.member.user_id), "sdp": "v=0"}
    assert await send(student, offer) is None
    [relayed] = frames(mentor)
    assert relayed["type"] == "signal.offer"
    assert relayed["sender"] == str(student.member.user_id)
    assert relayed["body"]["sdp"] == "v=0"
    assert frames(student) == []  # nothing echoed back

    assert await send(mentor, {"type": "chat.message", "text": "hello"}) is None
    assert [f["body"]["text"] for f in frames(student)] == ["hello"]

    assert room.log.open_for(student.member.user_id) == 1
    assert await send(student, {"type": "leave"}) is None
    assert student.left
    assert room.log.open_for(student.member.user_id) == 0
    [after] = frames(mentor)
    assert [m["role"] for m in after["members"]] == ["MENTOR"]
    await mentor.end()
    assert room.log.open_for(mentor.member.user_id) == 0
    assert room.hub.seats(room.slot.id) == frozenset()


async def test_bad_frames_get_an_error_and_change_nothing(room: Room) -> None:
    student, mentor = room.session("STUDENT"), room.session("MENTOR")
    early = await send(student, {"type": "chat.message", "text": "hi"})
    assert early is not None and early["code"] == "not_joined"
    await send(student, {"type": "join"})
    for bad in (b"not json", b"[]", b'{"type": "nope"}', b'{"type": "chat.message", "text": ""}'):
        reply = await student.receive(bad)
        assert reply is not None and msgspec.json.decode(reply)["code"] == "invalid_message"
    huge = await student.receive(b"x" * (200 * 1024))
    assert huge is not None and msgspec.json.decode(huge)["code"] == "frame_too_large"
    absent = {"type": "signal.offer", "to": str(mentor.member.user_id), "sdp": "v=0"}
    reply = await send(student, absent)
    assert reply is not None and reply["code"] == "not_in_room"
    assert student.joined and not student.left


async def test_an_observer_is_not_logged_and_may_only_signal(room: Room) -> None:
    student, bot = room.session("STUDENT"), room.session("OBSERVER")
    await send(student, {"type": "join"})
    await send(bot, {"type": "join"})
    assert room.log.open_for(bot.member.user_id) == 0
    assert len(room.log.rows) == 1
    presence = frames(student)[-1]
    assert {m["role"] for m in presence["members"]} == {"STUDENT", "OBSERVER"}
    refused = await send(bot, {"type": "chat.message", "text": "hi"})
    assert refused is not None and refused["code"] == "observer"
    offer = {"type": "signal.offer", "to": str(student.member.user_id), "sdp": "v=0"}
    assert await send(bot, offer) is None
    assert frames(student)[-1]["type"] == "signal.offer"
    await bot.end()
    presence = frames(student)[-1]
    assert [m["role"] for m in presence["members"]] == ["STUDENT"]


async def test_the_timer_is_shared_and_moves_by_its_rules(room: Room) -> None:
    mentor, student = room.session("MENTOR"), room.session("STUDENT")
    await send(mentor, {"type": "join"})
    await send(student, {"type": "join"})
    frames(student)
    assert await send(mentor, {"type": "timer.start"}) is None
    assert frames(student)[-1]["type"] == "timer.start"
    again = await send(student, {"type": "timer.start"})
    assert again is not None and again["code"] == "timer_state"
    assert await send(student, {"type": "timer.pause"}) is None
    assert await send(mentor, {"type": "timer.resume"}) is None
    assert await send(mentor, {"type": "timer.ended"}) is None
    late = await send(mentor, {"type": "timer.resume"})
    assert late is not None and late["code"] == "timer_state"


async def test_a_flood_is_refused_then_allowed_again(room: Room) -> None:
    student = room.session("STUDENT")
    await send(student, {"type": "join"})
    replies = [
        await send(student, {"type": "media.toggle", "kind": "audio", "enabled": True})
        for _ in range(int(BURST) + 5)
    ]
    refused = [r for r in replies if r is not None]
    assert refused and {r["code"] for r in refused} == {"rate_limited"}
    room.ticks += 1.0
    assert await send(student, {"type": "media.toggle", "kind": "audio", "enabled": False}) is None


async def test_a_member_who_does_not_read_is_dropped(room: Room) -> None:
    student, mentor = room.session("STUDENT"), room.session("MENTOR")
    await send(student, {"type": "join"})
    await send(mentor, {"type": "join"})
    for i in range(QUEUE_SIZE + 1):
        room.ticks += 1.0
        await send(student, {"type": "chat.message", "text": f"m{i}"})
    assert mentor.seat.dropped
    assert await mentor.seat.next() is None
