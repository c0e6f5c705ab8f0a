"""The meeting room's wire protocol (architecture-original §c3): one msgspec tagged union.

Every frame is a JSON object whose ``type`` names its kind. A client sends ``ClientMessage``s;
the server relays them to the other members stamped with the sender (``Relayed``), and sends
``Presence`` and ``RoomError`` of its own. Signalling (``signal.*``) is addressed to one member
(``to``); everything else goes to the whole room. No media passes through the socket: recordings
are uploaded to storage (multipart, presigned parts) and the socket only says that they started
or stopped.

``decode_client`` is the one way in: it refuses anything that is not one of the client kinds,
too large, or out of bounds, with a ``RoomProtocolError`` carrying a stable code the server sends
back as an ``error`` frame (the socket stays open: one bad frame is not a reason to drop a call).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

MAX_FRAME_BYTES = 128 * 1024
"""A WebRTC offer with many codecs and candidates stays well under this."""

Sdp = Annotated[str, msgspec.Meta(min_length=1, max_length=100_000)]
Candidate = Annotated[str, msgspec.Meta(max_length=2_000)]
ChatText = Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]
Code = Annotated[str, msgspec.Meta(max_length=64)]


class _Message(msgspec.Struct, kw_only=True, tag_field="type", forbid_unknown_fields=True):
    pass


# --- what a client sends -------------------------------------------------------------------


class Join(_Message, tag="join"):
    """Sent once the socket is open: the member is in the room (presence follows)."""


class Leave(_Message, tag="leave"):
    """The member is leaving (closing the socket says the same)."""


class SignalOffer(_Message, tag="signal.offer"):
    to: uuid.UUID
    sdp: Sdp


class SignalAnswer(_Message, tag="signal.answer"):
    to: uuid.UUID
    sdp: Sdp


class SignalIce(_Message, tag="signal.ice"):
    to: uuid.UUID
    candidate: Candidate
    sdp_mid: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    sdp_mline_index: Annotated[int, msgspec.Meta(ge=0, le=64)] | None = None


class MediaToggle(_Message, tag="media.toggle"):
    kind: Literal["audio", "video", "screen"]
    enabled: bool


class TimerStart(_Message, tag="timer.start"):
    pass


class TimerPause(_Message, tag="timer.pause"):
    pass


class TimerResume(_Message, tag="timer.resume"):
    pass


class TimerEnded(_Message, tag="timer.ended"):
    pass


class RecordingStarted(_Message, tag="recording.started"):
    recording_id: uuid.UUID


class RecordingStopped(_Message, tag="recording.stopped"):
    recording_id: uuid.UUID


class ChatMessage(_Message, tag="chat.message"):
    text: ChatText


ClientMessage = (
    Join
    | Leave
    | SignalOffer
    | SignalAnswer
    | SignalIce
    | MediaToggle
    | TimerStart
    | TimerPause
    | TimerResume
    | TimerEnded
    | RecordingStarted
    | RecordingStopped
    | ChatMessage
)
ADDRESSED = (SignalOffer, SignalAnswer, SignalIce)
"""Kinds delivered to one member (``to``) rather than the room."""


# --- what the server sends -----------------------------------------------------------------


class Member(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID
    role: Literal["STUDENT", "MENTOR", "ADMIN", "OBSERVER"]


class Presence(_Message, tag="presence"):
    members: list[Member]


class RoomError(_Message, tag="error"):
    code: Code
    message: Annotated[str, msgspec.Meta(max_length=500)]


class Relayed(msgspec.Struct, frozen=True, kw_only=True):
    """A client's message as the other members receive it: who sent it, and when."""

    type: str
    sender: uuid.UUID
    at: datetime
    body: ClientMessage


class RoomProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def frame(self) -> RoomError:
        return RoomError(code=self.code, message=self.message[:500])


_decoder: msgspec.json.Decoder[ClientMessage] = msgspec.json.Decoder(ClientMessage)
_encoder = msgspec.json.Encoder()


def decode_client(frame: bytes | str) -> ClientMessage:
    """One client frame; ``RoomProtocolError`` (``frame_too_large``, ``invalid_message``) else."""
    raw = frame.encode() if isinstance(frame, str) else frame
    if len(raw) > MAX_FRAME_BYTES:
        raise RoomProtocolError(
            "frame_too_large", f"a frame is at most {MAX_FRAME_BYTES} bytes, got {len(raw)}"
        )
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise RoomProtocolError("invalid_message", str(exc)) from None
    except msgspec.DecodeError:
        raise RoomProtocolError("invalid_message", "the frame is not a JSON object") from None


def relay(message: ClientMessage, sender: uuid.UUID, at: datetime) -> Relayed:
    tag = type(message).__struct_config__.tag
    return Relayed(type=str(tag), sender=sender, at=at, body=message)


def encode(message: Relayed | Presence | RoomError) -> bytes:
    return _encoder.encode(message)


def recipients(
    message: ClientMessage, members: set[uuid.UUID], sender: uuid.UUID
) -> set[uuid.UUID]:
    """Who receives ``message``: its addressee (if in the room), or every other member.

    ``RoomProtocolError`` (``not_in_room``) when a signal names someone who is not there."""
    if isinstance(message, ADDRESSED):
        if message.to not in members or message.to == sender:
            raise RoomProtocolError("not_in_room", "the addressee is not in this room")
        return {message.to}
    return members - {sender}
