"""The room's shared state: the meeting timer and who the non-participants in the room are.

Kept in the ``RoomStore`` state blob (one per room, versioned), so every replica agrees on it:
two members pressing start at once on two replicas cannot both start the timer. Admins and
observers are listed here (``guests``) because the store's member set holds ids only; the
student and the mentor are known from the slot.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Literal

import msgspec

from mas.core.mentorship.room_messages import (
    ClientMessage,
    RoomProtocolError,
    TimerEnded,
    TimerPause,
    TimerResume,
    TimerStart,
)


class TimerPhase(enum.StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


class Timer(msgspec.Struct, frozen=True, kw_only=True):
    phase: TimerPhase = TimerPhase.IDLE
    elapsed_s: float = 0.0
    """Seconds run before ``running_since`` (the pauses excluded)."""
    running_since: datetime | None = None


class RoomSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    timer: Timer = Timer()
    guests: dict[uuid.UUID, Literal["ADMIN", "OBSERVER"]] = {}


FROM: dict[type, tuple[TimerPhase, ...]] = {
    TimerStart: (TimerPhase.IDLE,),
    TimerPause: (TimerPhase.RUNNING,),
    TimerResume: (TimerPhase.PAUSED,),
    TimerEnded: (TimerPhase.IDLE, TimerPhase.RUNNING, TimerPhase.PAUSED),
}


def advance(timer: Timer, message: ClientMessage, now: datetime) -> Timer:
    """The timer after ``message``; ``RoomProtocolError`` (``timer_state``) when it cannot."""
    allowed = FROM[type(message)]
    if timer.phase not in allowed:
        tag = type(message).__struct_config__.tag
        raise RoomProtocolError("timer_state", f"the timer is {timer.phase.value}: no {tag}")
    ran = timer.elapsed_s
    if timer.running_since is not None:
        ran += max(0.0, (now - timer.running_since).total_seconds())
    if isinstance(message, TimerStart | TimerResume):
        return Timer(phase=TimerPhase.RUNNING, elapsed_s=ran, running_since=now)
    if isinstance(message, TimerPause):
        return Timer(phase=TimerPhase.PAUSED, elapsed_s=ran)
    return Timer(phase=TimerPhase.ENDED, elapsed_s=ran)


def decode(data: bytes | None) -> RoomSnapshot:
    return msgspec.json.decode(data, type=RoomSnapshot) if data else RoomSnapshot()


def encode(snapshot: RoomSnapshot) -> bytes:
    return msgspec.json.encode(snapshot)
