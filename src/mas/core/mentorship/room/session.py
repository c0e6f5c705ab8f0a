"""One socket's conversation with its room: the frames it sends, checked and relayed.

The socket is admitted (``admission``) before this starts. The member then sends ``join``:
they are seated (presence goes to everyone) and, for the student or the mentor, a
participation row opens. ``leave`` or a dropped socket unseats them and closes the row (the
driver calls ``end`` in a ``finally``). Every other frame is decoded with the one tagged union;
a bad one (too large, unknown, out of bounds, too fast, not allowed to this member) is answered
with an ``error`` frame and the socket stays open.

Observers (the recording bot) may signal and announce recordings; chat, media and the timer
are the people's. Timer frames change the room's shared timer first (a start while running is
refused for everyone, on whichever replica it arrives).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from mas.core.mentorship.room import timer as state
from mas.core.mentorship.room.admission import Admitted
from mas.core.mentorship.room.hub import RoomHub, Seat
from mas.core.mentorship.room.model import ParticipantRole
from mas.core.mentorship.room.ports import ParticipationRecorder
from mas.core.mentorship.room_messages import (
    ADDRESSED,
    ChatMessage,
    ClientMessage,
    Join,
    Leave,
    MediaToggle,
    RoomProtocolError,
    TimerEnded,
    TimerPause,
    TimerResume,
    TimerStart,
    decode_client,
    encode,
    relay,
)
from mas.core.platform.ports.clock import Clock

RATE_PER_S = 40.0
"""Frames a socket may send per second, sustained (ICE candidates come in bursts)."""
BURST = 120.0
PEOPLE_ONLY = (ChatMessage, MediaToggle, TimerStart, TimerPause, TimerResume, TimerEnded)
TIMER = (TimerStart, TimerPause, TimerResume, TimerEnded)
LOGGED = {"STUDENT": ParticipantRole.STUDENT, "MENTOR": ParticipantRole.MENTOR}


class RoomSession:
    def __init__(
        self,
        admitted: Admitted,
        hub: RoomHub,
        log: ParticipationRecorder,
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        slot = admitted.slot
        self.member = admitted.member
        self.seat = Seat(slot.id, self.member, slot.student_id or uuid.UUID(int=0), slot.mentor_id)
        self._hub = hub
        self._log = log
        self._clock = clock
        self._monotonic = monotonic
        self._tokens = BURST
        self._refilled = monotonic()
        self._row: uuid.UUID | None = None
        self.joined = False
        self.left = False

    async def receive(self, frame: bytes | str) -> str | None:
        """Handle one frame; the ``error`` frame to send back, if any. After ``leave``
        (``self.left``) the driver closes the socket."""
        try:
            self._take_token()
            message = decode_client(frame)
            await self._handle(message)
        except RoomProtocolError as refused:
            return encode(refused.frame()).decode()
        return None

    async def end(self) -> None:
        """Unseat and close the participation row (leave, disconnect, server stop)."""
        try:
            if self.joined:
                self.joined = False
                await self._hub.leave(self.seat)
        finally:
            if self._row is not None:
                row, self._row = self._row, None
                await self._log.closed(row)

    async def heartbeat(self) -> None:
        if self.joined:
            await self._hub.heartbeat(self.seat)

    async def _handle(self, message: ClientMessage) -> None:
        if isinstance(message, Join):
            await self._join()
            return
        if not self.joined:
            raise RoomProtocolError("not_joined", "send a join frame first")
        if isinstance(message, Leave):
            self.left = True
            await self.end()
            return
        if self.member.role == "OBSERVER" and isinstance(message, PEOPLE_ONLY):
            raise RoomProtocolError("observer", "an observer may not send this")
        if isinstance(message, TIMER):
            now = self._clock.now()
            await self._hub.change_state(
                self.seat.slot_id,
                lambda s: state.RoomSnapshot(
                    timer=state.advance(s.timer, message, now), guests=s.guests
                ),
            )
        frame = encode(relay(message, self.member.user_id, self._clock.now())).decode()
        if isinstance(message, ADDRESSED):
            members = await self._hub.store.members(str(self.seat.slot_id))
            if message.to not in members or message.to == self.member.user_id:
                raise RoomProtocolError("not_in_room", "the addressee is not in this room")
            await self._hub.publish(self.seat, frame, to=message.to)
        else:
            await self._hub.publish(self.seat, frame)

    async def _join(self) -> None:
        if self.joined:
            await self._hub.publish_presence(self.seat)
            return
        role = LOGGED.get(self.member.role)
        if role is not None and self._row is None:
            self._row = await self._log.opened(self.seat.slot_id, self.member.user_id, role)
        self.joined = True
        await self._hub.enter(self.seat)

    def _take_token(self) -> None:
        now = self._monotonic()
        self._tokens = min(BURST, self._tokens + (now - self._refilled) * RATE_PER_S)
        self._refilled = now
        if self._tokens < 1:
            raise RoomProtocolError("rate_limited", f"at most {RATE_PER_S:g} frames a second")
        self._tokens -= 1
