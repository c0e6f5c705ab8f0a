"""The telephony port's pure parts (the completion callback parser, the errors) and its fake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mas.adapters.fakes.comms_telephony import FakeTelephony
from mas.core.comms.ports.telephony import (
    IST,
    CallSnapshot,
    CallStatus,
    SmsStatus,
    Telephony,
    TelephonyDisabled,
    TelephonyRejected,
    TelephonyUnavailable,
    parse_call_callback,
)
from mas.core.platform.errors import ExternalUnavailable, Transient, ValidationFailed

BASE = {
    "CallSid": "b6cfaf5f5cef3ca0fc937749ef960e25",
    "DateUpdated": "2026-12-04 10:05:46",
    "Status": "completed",
}


def parse(**fields: str) -> CallSnapshot:
    return parse_call_callback({**BASE, **fields})


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("completed", CallStatus.COMPLETED),
        ("busy", CallStatus.BUSY),
        ("no-answer", CallStatus.NO_ANSWER),
        ("failed", CallStatus.FAILED),
        ("canceled", CallStatus.CANCELED),
        ("cancelled", CallStatus.CANCELED),
        ("in-progress", CallStatus.IN_PROGRESS),
        ("ringing", CallStatus.RINGING),
        ("queued", CallStatus.INITIATED),
        (" Completed ", CallStatus.COMPLETED),
    ],
)
def test_statuses_are_normalised(word: str, status: CallStatus) -> None:
    assert parse(Status=word).status is status


def test_terminal_states() -> None:
    terminal = {s for s in CallStatus if parse(Status=s.value.lower().replace("_", "-")).terminal}
    assert terminal == {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.FAILED,
        CallStatus.CANCELED,
    }


def test_a_full_terminal_callback() -> None:
    snapshot = parse(
        EventType="terminal",
        StartTime="2026-12-04 10:00:00",
        EndTime="2026-12-04 10:05:45",
        ConversationDuration="312",
        RecordingUrl="https://recordings.exotel.com/exotelrecordings/mas1/b6cf.mp3",
        CustomField="0193a5b2-log",
    )
    assert snapshot == CallSnapshot(
        provider_call_id=BASE["CallSid"],
        status=CallStatus.COMPLETED,
        duration_s=312,
        recording_url="https://recordings.exotel.com/exotelrecordings/mas1/b6cf.mp3",
        started_at=datetime(2026, 12, 4, 4, 30, tzinfo=UTC),
        ended_at=datetime(2026, 12, 4, 4, 35, 45, tzinfo=UTC),
        ref="0193a5b2-log",
    )


def test_the_default_callback_has_only_the_basics() -> None:
    snapshot = parse_call_callback(BASE)
    assert snapshot == CallSnapshot(provider_call_id=BASE["CallSid"], status=CallStatus.COMPLETED)


@pytest.mark.parametrize(
    ("fields", "seconds"),
    [
        ({"ConversationDuration": "40", "DialCallDuration": "45", "Duration": "60"}, 40),
        ({"DialCallDuration": "45", "Duration": "60"}, 45),
        ({"Duration": "60"}, 60),
        ({"ConversationDuration": "", "Duration": "60"}, 60),
        ({"ConversationDuration": "null", "Duration": "0"}, 0),
        ({"ConversationDuration": "-3"}, None),
        ({"ConversationDuration": "1.5"}, None),
        ({"ConversationDuration": "٣"}, None),  # a non-ASCII digit is not a duration
        ({}, None),
    ],
)
def test_durations(fields: dict[str, str], seconds: int | None) -> None:
    assert parse(**fields).duration_s == seconds


def test_blank_or_null_recording_and_unreadable_times_are_none() -> None:
    snapshot = parse(RecordingUrl="null", StartTime="yesterday", EndTime="", CustomField=" ")
    assert (snapshot.recording_url, snapshot.started_at, snapshot.ended_at, snapshot.ref) == (
        None,
        None,
        None,
        None,
    )


def test_times_take_the_accounts_zone_unless_they_carry_one() -> None:
    utc_account = parse_call_callback({**BASE, "StartTime": "2026-12-04 10:00:00"}, tz=UTC)
    assert utc_account.started_at == datetime(2026, 12, 4, 10, tzinfo=UTC)
    offset = parse(StartTime="2026-12-04T10:00:00+01:00").started_at
    assert offset == datetime(2026, 12, 4, 10, tzinfo=timezone(timedelta(hours=1)))
    assert parse(StartTime="2026-12-04 10:00:00").started_at == datetime(
        2026, 12, 4, 10, tzinfo=IST
    )


def test_applet_callbacks_name_the_status_differently() -> None:
    form = {"CallSid": "abc", "DialCallStatus": "busy", "DialCallDuration": "0"}
    assert parse_call_callback(form).status is CallStatus.BUSY


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"Status": "completed"}, "CallSid", "missing"),
        ({"CallSid": "  ", "Status": "completed"}, "CallSid", "missing"),
        ({"CallSid": "x" * 129, "Status": "completed"}, "CallSid", "longer than 128"),
        ({"CallSid": "abc"}, "Status", "missing"),
        ({"CallSid": "abc", "Status": "exploded"}, "Status", "unknown call status 'exploded'"),
    ],
)
def test_incomplete_callbacks_name_the_field(
    form: dict[str, str], field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_call_callback(form)
    assert [e.field for e in caught.value.errors] == [field]
    assert message in caught.value.errors[0].message


def test_both_fields_missing_are_both_named() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_call_callback({})
    assert [e.field for e in caught.value.errors] == ["CallSid", "Status"]


def test_error_kinds() -> None:
    disabled = TelephonyDisabled(["MAS_EXOTEL_API_KEY", "MAS_EXOTEL_API_TOKEN"])
    assert isinstance(disabled, ExternalUnavailable)
    assert disabled.code == "telephony_disabled"
    assert disabled.detail == (
        "telephony is disabled: set MAS_EXOTEL_API_KEY, MAS_EXOTEL_API_TOKEN "
        "to enable calls and SMS"
    )
    assert isinstance(TelephonyUnavailable("down"), Transient)
    rejected = TelephonyRejected(http_status=400, provider_code="11001", provider_message="bad To")
    assert not isinstance(rejected, Transient | ExternalUnavailable)
    assert rejected.detail == "the telephony provider refused the request (code 11001): bad To"
    no_code = TelephonyRejected(http_status=403, provider_code=None, provider_message="no")
    assert "(HTTP 403)" in no_code.detail


# --- the fake ------------------------------------------------------------------------------------


async def test_fake_records_and_numbers_deterministically() -> None:
    fake = FakeTelephony()
    assert isinstance(fake, Telephony)
    call = await fake.connect_call(
        agent="+911", lead="+912", caller_id="0800", status_callback="cb", ref="log-1"
    )
    sms = await fake.send_sms(to="+912", body="hi", status_callback="cb2")
    assert (call.provider_call_id, sms.provider_sid) == ("fake-1", "fake-2")
    assert (call.status, sms.status) == (CallStatus.INITIATED, SmsStatus.QUEUED)
    assert [c.ref for c in fake.calls] == ["log-1"]
    assert [(s.to, s.body) for s in fake.sms] == [("+912", "hi")]
    assert (await fake.get_call("fake-1")).status is CallStatus.INITIATED
    done = fake.finish("fake-1")
    assert await fake.get_call("fake-1") == done
    assert (done.status, done.duration_s, done.ref) == (CallStatus.COMPLETED, 42, "log-1")
    with pytest.raises(TelephonyRejected):
        await fake.get_call("fake-99")
    audio = b"".join([chunk async for chunk in fake.open_recording("u")])
    assert audio == fake.recording


async def test_fake_fails_on_demand() -> None:
    fake = FakeTelephony()
    fake.fail_next(2)
    for _ in range(2):
        with pytest.raises(TelephonyUnavailable):
            await fake.send_sms(to="+91", body="x", status_callback="cb")
    fake.fail_next(1, retryable=False)
    with pytest.raises(TelephonyRejected):
        await fake.send_sms(to="+91", body="x", status_callback="cb")
    assert (await fake.send_sms(to="+91", body="x", status_callback="cb")).provider_sid == "fake-1"
    assert len(fake.operations) == 4 and len(fake.sms) == 1


async def test_fake_disabled() -> None:
    fake = FakeTelephony(enabled=False)
    assert not fake.enabled
    with pytest.raises(TelephonyDisabled) as caught:
        await fake.connect_call(agent="a", lead="b", caller_id="c", status_callback="d", ref="e")
    assert "MAS_EXOTEL_API_KEY" in caught.value.detail
    with pytest.raises(TelephonyDisabled):
        async for _ in fake.open_recording("u"):
            pass
    assert fake.calls == []
