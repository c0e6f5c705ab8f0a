"""This process's room sockets and their fan-out across replicas (architecture-original §c3).

Every frame a member sends to others is published on ``mas.rt.room.{slot_id}``; every process
holding sockets of that room subscribes once (not once per socket) while it holds one, and
hands the frame to its own sockets: the addressee's for a signal, every socket but the
sender's otherwise. So two peers on two replicas talk through NATS, and two on one replica
through the in-process bus the same way.

Members and presence live in the ``RoomStore`` (shared by the replicas); each seat re-joins
every ``HEARTBEAT_S`` so its presence stays fresh and the member set heals if a sibling seat
of the same user elsewhere left it. Each seat has a bounded queue: a client that does not read
is dropped (the socket is closed) rather than allowed to grow this process's memory.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mas.core.mentorship.room import timer as state
from mas.core.mentorship.room_messages import Member, Presence, encode
from mas.core.platform.ports.events import EventBus, EventHandler, Unsubscribe
from mas.core.platform.ports.rooms import RoomStore

log = logging.getLogger("mas.mentorship.room")

HEARTBEAT_S = 10.0
QUEUE_SIZE = 256
STATE_ATTEMPTS = 16


def room_subject(slot_id: uuid.UUID) -> str:
    return f"mas.rt.room.{slot_id}"


class Seat:
    """One open socket in a room: who holds it and the frames waiting to be sent to it."""

    def __init__(
        self, slot_id: uuid.UUID, member: Member, student: uuid.UUID, mentor: uuid.UUID
    ) -> None:
        self.id = uuid.uuid4()
        self.slot_id = slot_id
        self.member = member
        self.student = student
        self.mentor = mentor
        self.dropped = False
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=QUEUE_SIZE)

    def offer(self, frame: str) -> None:
        if self.dropped:
            return
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.drop()

    def drop(self) -> None:
        """End the seat: what is queued is discarded, ``next`` answers None."""
        self.dropped = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next(self) -> str | None:
        """The next frame to send; None once the seat is dropped."""
        return await self._queue.get()


@dataclass(eq=False)
class _LocalRoom:
    seats: set[Seat] = field(default_factory=set)
    unsubscribe: Unsubscribe | None = None


class RoomHub:
    def __init__(self, bus: EventBus, store: RoomStore) -> None:
        self._bus = bus
        self._store = store
        self._rooms: dict[uuid.UUID, _LocalRoom] = {}
        self._lock = asyncio.Lock()

    @property
    def store(self) -> RoomStore:
        return self._store

    def seats(self, slot_id: uuid.UUID) -> frozenset[Seat]:
        room = self._rooms.get(slot_id)
        return frozenset(room.seats) if room else frozenset()

    async def enter(self, seat: Seat) -> None:
        """Seat the member: subscribe this process to the room, join the store, tell everyone."""
        room = await self._attach(seat.slot_id)
        room.seats.add(seat)
        try:
            role = seat.member.role
            if role == "ADMIN" or role == "OBSERVER":
                await self.change_state(seat.slot_id, lambda s: _with_guest(s, seat, role))
            await self._store.join(str(seat.slot_id), seat.member.user_id)
        except BaseException:
            await self.leave(seat)
            raise
        await self.publish_presence(seat)

    async def leave(self, seat: Seat) -> None:
        """Unseat: leave the store (unless another seat of the user is here), tell the others,
        end this process's subscription when its last seat of the room left."""
        room = self._rooms.get(seat.slot_id)
        if room is None or seat not in room.seats:
            return
        room.seats.discard(seat)
        try:
            if not any(s.member.user_id == seat.member.user_id for s in room.seats):
                await self._store.leave(str(seat.slot_id), seat.member.user_id)
                if seat.member.role in ("ADMIN", "OBSERVER"):
                    await self.change_state(seat.slot_id, lambda s: _without_guest(s, seat))
            await self.publish_presence(seat)
        finally:
            await self._detach(seat.slot_id, room)

    async def heartbeat(self, seat: Seat) -> None:
        await self._store.join(str(seat.slot_id), seat.member.user_id)

    async def publish(self, seat: Seat, frame: str, to: uuid.UUID | None = None) -> None:
        """Send ``frame`` to the room's other sockets (or to ``to``'s), on every replica."""
        payload = {"from": str(seat.id), "to": str(to) if to else None, "frame": frame}
        await self._bus.publish(room_subject(seat.slot_id), payload)

    async def publish_presence(self, seat: Seat) -> None:
        members = await self.roster(seat)
        frame = encode(Presence(members=members)).decode()
        await self._bus.publish(room_subject(seat.slot_id), {"from": None, "frame": frame})

    async def roster(self, seat: Seat) -> list[Member]:
        room = str(seat.slot_id)
        # Present too: a member a crashed replica never unseated ages out with its heartbeat.
        ids = await self._store.members(room) & await self._store.present(room)
        stored = await self._store.state(room)
        guests = state.decode(stored.data if stored else None).guests
        members = []
        for user_id in sorted(ids):
            if user_id == seat.student:
                members.append(Member(user_id=user_id, role="STUDENT"))
            elif user_id == seat.mentor:
                members.append(Member(user_id=user_id, role="MENTOR"))
            elif user_id in guests:
                members.append(Member(user_id=user_id, role=guests[user_id]))
        return members

    async def change_state(
        self, slot_id: uuid.UUID, change: Callable[[state.RoomSnapshot], state.RoomSnapshot]
    ) -> state.RoomSnapshot:
        """Apply ``change`` (snapshot → snapshot; it may raise) by compare-and-set."""
        room = str(slot_id)
        for _ in range(STATE_ATTEMPTS):
            stored = await self._store.state(room)
            current = state.decode(stored.data if stored else None)
            updated = change(current)
            revision = stored.revision if stored else 0
            if await self._store.put_state(room, state.encode(updated), revision) is not None:
                return updated
        raise RuntimeError(f"room {slot_id} state is too contended to update")

    async def close(self) -> None:
        """Drop every seat (the server is stopping: clients reconnect elsewhere)."""
        for room in list(self._rooms.values()):
            for seat in list(room.seats):
                seat.drop()

    async def _attach(self, slot_id: uuid.UUID) -> _LocalRoom:
        async with self._lock:
            room = self._rooms.get(slot_id)
            if room is None:
                room = self._rooms[slot_id] = _LocalRoom()
            if room.unsubscribe is None:
                room.unsubscribe = await self._bus.subscribe(
                    room_subject(slot_id), self._deliverer(slot_id)
                )
            return room

    async def _detach(self, slot_id: uuid.UUID, room: _LocalRoom) -> None:
        async with self._lock:
            if room.seats or self._rooms.get(slot_id) is not room:
                return
            del self._rooms[slot_id]
            if room.unsubscribe is not None:
                await room.unsubscribe()

    def _deliverer(self, slot_id: uuid.UUID) -> EventHandler:
        async def deliver(subject: str, payload: dict[str, Any]) -> None:
            room = self._rooms.get(slot_id)
            frame = payload.get("frame")
            if room is None or not isinstance(frame, str):
                return
            sender, to = payload.get("from"), payload.get("to")
            for seat in list(room.seats):
                if to is not None:
                    if str(seat.member.user_id) == to:
                        seat.offer(frame)
                elif str(seat.id) != sender:
                    seat.offer(frame)

        return deliver


def _with_guest(
    snapshot: state.RoomSnapshot, seat: Seat, role: Literal["ADMIN", "OBSERVER"]
) -> state.RoomSnapshot:
    guests = {**snapshot.guests, seat.member.user_id: role}
    return state.RoomSnapshot(timer=snapshot.timer, guests=guests)


def _without_guest(snapshot: state.RoomSnapshot, seat: Seat) -> state.RoomSnapshot:
    guests = {k: v for k, v in snapshot.guests.items() if k != seat.member.user_id}
    return state.RoomSnapshot(timer=snapshot.timer, guests=guests)
