"""The meeting room's wire protocol: the tagged union in and out, bounds, addressing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from mas.core.mentorship.room_messages import (
    MAX_FRAME_BYTES,
    ChatMessage,
    Join,
    MediaToggle,
    Member,
    Presence,
    RoomProtocolError,
    SignalIce,
    SignalOffer,
    TimerPause,
    decode_client,
    encode,
    recipients,
    relay,
)

A, B, C = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        ({"type": "join"}, Join),
        ({"type": "signal.offer", "to": str(B), "sdp": "v=0"}, SignalOffer),
        ({"type": "signal.ice", "to": str(B), "candidate": "c", "sdp_mline_index": 0}, SignalIce),
        ({"type": "media.toggle", "kind": "video", "enabled": False}, MediaToggle),
        ({"type": "timer.pause"}, TimerPause),
        ({"type": "chat.message", "text": "hello"}, ChatMessage),
    ],
)
def test_each_client_kind_decodes_to_its_struct(frame: dict[str, object], kind: type) -> None:
    assert isinstance(decode_client(json.dumps(frame)), kind)


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b"[]",
        b'{"type": "presence", "members": []}',  # a server kind is not the client's to send
        b'{"type": "nope"}',
        b'{"type": "chat.message", "text": ""}',
        b'{"type": "chat.message", "text": "hi", "extra": 1}',
        b'{"type": "media.toggle", "kind": "smell", "enabled": true}',
        b'{"type": "signal.offer", "to": "not-a-uuid", "sdp": "v=0"}',
        b'{"type": "signal.ice", "to": "'
        + str(B).encode()
        + b'", "candidate": "c", "sdp_mline_index": -1}',
    ],
)
def test_anything_else_is_a_protocol_error_not_an_exception(frame: bytes) -> None:
    with pytest.raises(RoomProtocolError) as refused:
        decode_client(frame)
    assert refused.value.code == "invalid_message"
    assert refused.value.frame().code == "invalid_message"


def test_an_oversized_frame_is_refused_before_parsing() -> None:
    frame = json.dumps({"type": "chat.message", "text": "x" * MAX_FRAME_BYTES})
    with pytest.raises(RoomProtocolError) as refused:
        decode_client(frame)
    assert refused.value.code == "frame_too_large"


def test_a_relayed_message_names_its_sender_and_round_trips() -> None:
    sent = relay(ChatMessage(text="hello"), A, AT)
    wire = json.loads(encode(sent))
    assert wire == {
        "type": "chat.message",
        "sender": str(A),
        "at": "2026-12-04T10:00:00Z",
        "body": {"type": "chat.message", "text": "hello"},
    }
    presence = json.loads(encode(Presence(members=[Member(user_id=A, role="MENTOR")])))
    assert presence == {"type": "presence", "members": [{"user_id": str(A), "role": "MENTOR"}]}


def test_signals_go_to_their_addressee_and_the_rest_to_everyone_else() -> None:
    members = {A, B, C}
    assert recipients(SignalOffer(to=B, sdp="v=0"), members, A) == {B}
    assert recipients(ChatMessage(text="hi"), members, A) == {B, C}
    for stranger in (uuid.uuid4(), A):
        with pytest.raises(RoomProtocolError) as refused:
            recipients(SignalOffer(to=stranger, sdp="v=0"), members, A)
        assert refused.value.code == "not_in_room"


def test_the_union_is_closed() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"type": "join", "x": 1}, Join)
