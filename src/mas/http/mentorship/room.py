"""The live meeting room over HTTP: ``WS /ws/meetings/{slot_id}?ticket=…`` and the recording
bot's ``GET /api/meetings/{meeting_id}/bot-info?ticket=`` (architecture-original §c3,
mentorship.md §5).

The socket is public to the guard: it authenticates by its ticket, not by a cookie or a
header, so no Origin check applies (a ticket is single-use and bound to its user and slot; a
cross-site page cannot obtain one). It is accepted, then admitted or closed with the code
``mas.core.mentorship.room.admission`` documents (4401 bad ticket, 4403 not a participant,
4404 no such meeting, 4409 not confirmed). While open: frames from the client go to its
``RoomSession`` one at a time; frames for the client (relayed, presence, its own errors) go
out through its seat's queue, written by one task; a third task keeps its presence fresh. A
client too slow to read its frames is closed with 1013; a client that sent ``leave`` with
1000. Whatever ends the socket, ``finally`` unseats it and closes its participation row.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Annotated, Any

from litestar import Controller, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath, FromQuery, QueryParameter

from mas.core.mentorship.room import RoomServices
from mas.core.mentorship.room.admission import Refused
from mas.core.mentorship.room.bot_info import BotMeeting
from mas.core.mentorship.room.bot_tickets import MAX_LENGTH
from mas.core.mentorship.room.hub import HEARTBEAT_S, Seat
from mas.core.mentorship.room.session import RoomSession
from mas.core.platform.errors import DomainError
from mas.http.mentorship import Mentorship, MentorshipController

log = logging.getLogger("mas.mentorship.room")

CLOSE_TOO_SLOW = 1013
CLOSE_UNAVAILABLE = 1011
BotTicket = Annotated[
    str | None,
    QueryParameter(max_length=MAX_LENGTH, required=False, description="the bot's ticket"),
]


class MeetingRoomController(Controller):
    path = "/ws/meetings"
    opt = {"public": True}

    @websocket("/{slot_id:uuid}", opt={"public": True})
    async def room(
        self,
        socket: WebSocket[Any, Any, Any],
        mentorship: Mentorship,
        slot_id: FromPath[uuid.UUID],
        ticket: FromQuery[str | None] = None,
    ) -> None:
        services: RoomServices = mentorship.room
        await socket.accept()
        try:
            admitted = await services.admission.admit(slot_id, ticket)
        except Refused as refused:
            await socket.close(code=refused.code, reason=refused.reason[:120])
            return
        session = services.session(admitted)
        writer = asyncio.create_task(_write(socket, session.seat))
        beat = asyncio.create_task(_keep_present(session))
        try:
            await _read(socket, session)
        except DomainError as failed:  # the room store or the bus is down
            log.warning("mentorship.room_unavailable", extra={"error": failed.detail})
            await _close(socket, CLOSE_UNAVAILABLE, "the room is unavailable; reconnect")
        finally:
            beat.cancel()
            try:
                await session.end()
            finally:
                await _stop(writer)
        if session.left:
            await _close(socket, 1000, "left")


class BotInfoController(MentorshipController):
    path = "/api/meetings/{meeting_id:uuid}"
    tags = ["mentorship: meetings"]

    @get(
        "/bot-info",
        operation_id="meetingBotInfo",
        summary="What the recording bot may know of its meeting (its bot ticket required)",
        opt={
            "public": True,
            "rules": {
                "meeting_not_found": "the ticket was minted for this confirmed meeting and "
                "has not expired (every refusal is this one 404)"
            },
            "rules_status": 404,
        },
    )
    async def bot_info(
        self, mentorship: Mentorship, meeting_id: FromPath[uuid.UUID], ticket: BotTicket = None
    ) -> BotMeeting:
        return await mentorship.room.bot_info.of(meeting_id, ticket)


async def _read(socket: WebSocket[Any, Any, Any], session: RoomSession) -> None:
    while not session.left and not session.seat.dropped:
        event = await socket.receive()
        if event["type"] != "websocket.receive":
            return  # disconnected
        frame = event.get("text")
        reply = await session.receive(frame if frame is not None else event.get("bytes") or b"")
        if reply is not None:
            session.seat.offer(reply)


async def _write(socket: WebSocket[Any, Any, Any], seat: Seat) -> None:
    try:
        while (frame := await seat.next()) is not None:
            await socket.send_text(frame)
        # Dropped: the client's receive then ends the reader.
        await _close(socket, CLOSE_TOO_SLOW, "the client fell behind")
    except WebSocketDisconnect:
        return  # the client went away; the reader sees the disconnect


async def _keep_present(session: RoomSession) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        try:
            await session.heartbeat()
        except DomainError as failed:
            log.warning("mentorship.room_heartbeat_failed", extra={"error": failed.detail})


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        log.error("mentorship.room_writer_failed", exc_info=task.exception())


async def _close(socket: WebSocket[Any, Any, Any], code: int, reason: str) -> None:
    if socket.connection_state != "disconnect":
        await socket.close(code=code, reason=reason)
