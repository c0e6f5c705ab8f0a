"""The call and SMS state machines (communications.md §4) and what a call log shows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mas.core.comms.ports.telephony import (
    TERMINAL_CALL_STATUSES,
    CallSnapshot,
    CallStatus,
    SmsStatus,
)
from mas.core.comms.telephony.model import (
    CALL_MOVES,
    SMS_MOVES,
    CallLog,
    CallSource,
    CallView,
    SmsRequest,
    raw_form,
)

NOW = datetime(2026, 12, 4, 10, tzinfo=UTC)


def call(status: CallStatus = CallStatus.INITIATED, **fields: object) -> CallLog:
    return CallLog(
        id=uuid.uuid4(),
        raw_lead_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        source=CallSource.EXOTEL,
        status=status,
        created_at=NOW,
        provider_call_id="sid-1",
        **fields,  # type: ignore[arg-type]
    )


def snapshot(status: CallStatus, **fields: object) -> CallSnapshot:
    return CallSnapshot(provider_call_id="sid-1", status=status, **fields)  # type: ignore[arg-type]


def test_terminal_call_states_never_move() -> None:
    for status in TERMINAL_CALL_STATUSES:
        assert CALL_MOVES[status] == frozenset()
        for target in CallStatus:
            assert call(status).moved(snapshot(target), {}) is None


def test_the_machine_of_the_spec() -> None:
    assert CALL_MOVES[CallStatus.IN_PROGRESS] == {CallStatus.COMPLETED}
    unanswered = {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED}
    assert unanswered <= CALL_MOVES[CallStatus.INITIATED]
    assert unanswered <= CALL_MOVES[CallStatus.RINGING]
    assert CallStatus.RINGING not in CALL_MOVES[CallStatus.IN_PROGRESS]
    assert call(CallStatus.IN_PROGRESS).moved(snapshot(CallStatus.BUSY), {}) is None


def test_a_completion_fills_the_call() -> None:
    recording = "https://recordings.exotel.com/r.mp3"
    moved = call().moved(
        snapshot(CallStatus.COMPLETED, duration_s=37, recording_url=recording, ended_at=NOW),
        {"CallSid": "sid-1"},
    )
    assert moved is not None
    assert (moved.status, moved.duration_s, moved.recording_url, moved.ended_at) == (
        CallStatus.COMPLETED,
        37,
        recording,
        NOW,
    )
    assert moved.raw_callback == {"CallSid": "sid-1"}
    view = CallView.of(moved)
    assert view.has_recording and not hasattr(view, "recording_url")
    assert moved.moved(snapshot(CallStatus.COMPLETED), {}) is None  # the same callback again


def test_the_same_state_again_changes_nothing() -> None:
    assert call(CallStatus.RINGING).moved(snapshot(CallStatus.RINGING), {}) is None


def test_sms_states_only_move_forward() -> None:
    assert SMS_MOVES[SmsStatus.SENT] == {SmsStatus.DELIVERED, SmsStatus.UNDELIVERED}
    assert SmsStatus.FAILED in SMS_MOVES[SmsStatus.QUEUED]
    for done in (SmsStatus.DELIVERED, SmsStatus.UNDELIVERED, SmsStatus.FAILED):
        assert SMS_MOVES[done] == frozenset()


def test_raw_form_is_bounded_and_without_nul() -> None:
    kept = raw_form({"A\x00": "x\x00y" + "z" * 600, **{f"k{i}": "v" for i in range(100)}})
    assert kept["A"].startswith("xy") and len(kept["A"]) == 500
    assert len(kept) == 60


@pytest.mark.parametrize("body", ["", " \n ", "x" * 1001])
def test_sms_body_bounds(body: str) -> None:
    import msgspec

    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"body": body}, SmsRequest)
    assert msgspec.convert({"body": " hi "}, SmsRequest).body == " hi "


def test_the_webhook_token_is_set_or_derived(tmp_path: Path) -> None:
    from mas.modules.comms.telephony import webhook_token
    from tests.conftest import make_settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'mas.db'}"
    assert webhook_token(make_settings(url, tmp_path, exotel_webhook_token="given")) == "given"
    derived = webhook_token(make_settings(url, tmp_path, encryption_key="k" * 32))
    assert len(derived) == 64 and derived != "k" * 32
    assert derived != webhook_token(make_settings(url, tmp_path, encryption_key="j" * 32))
    # without an encryption key, the JWT secret is the seed (never an empty token)
    assert webhook_token(make_settings(url, tmp_path)) not in ("", derived)
