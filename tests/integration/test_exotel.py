"""ExotelClient against a fake Exotel speaking its wire format (tests/exotel_fake.py)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from mas.adapters.comms.exotel import ExotelClient
from mas.core.comms.ports.telephony import (
    IST,
    CallHandle,
    CallSnapshot,
    CallStatus,
    SmsStatus,
    Telephony,
    TelephonyDisabled,
    TelephonyRejected,
    TelephonyUnavailable,
    parse_call_callback,
)
from mas.core.platform.errors import NotConfigured, Transient, ValidationFailed
from tests.exotel_fake import (
    EXOPHONE,
    KEY,
    RECORDING_HOST,
    SID,
    STORAGE_HOST,
    SUBDOMAIN,
    TOKEN,
    FakeExotel,
)

AGENT, LEAD = "+919900000001", "+919812345678"
CALLBACK = "https://mas.example.com/api/webhooks/exotel/call-status?token=t"


@pytest.fixture
def exotel() -> FakeExotel:
    return FakeExotel()


@pytest.fixture
async def http(exotel: FakeExotel) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=exotel)) as client:
        yield client


def client_for(http: httpx.AsyncClient, **changes: str) -> ExotelClient:
    settings = {
        "subdomain": SUBDOMAIN,
        "sid": SID,
        "api_key": KEY,
        "api_token": TOKEN,
        "caller_id": EXOPHONE,
    }
    settings.update(changes)
    return ExotelClient(http=http, chunk_bytes=10_000, **settings)


@pytest.fixture
def client(http: httpx.AsyncClient) -> ExotelClient:
    return client_for(http)


async def connect(client: ExotelClient, lead: str = LEAD) -> CallHandle:
    return await client.connect_call(
        agent=AGENT, lead=lead, caller_id=EXOPHONE, status_callback=CALLBACK, ref="call-log-7"
    )


def test_is_a_telephony_port(client: ExotelClient) -> None:
    assert isinstance(client, Telephony)
    assert client.enabled
    assert client.caller_id == EXOPHONE


async def test_connect_call_posts_the_documented_form(
    client: ExotelClient, exotel: FakeExotel
) -> None:
    handle = await connect(client)
    assert handle.status is CallStatus.IN_PROGRESS
    assert handle.provider_call_id in exotel.calls
    seen = exotel.requests[-1]
    assert (seen.method, seen.host) == ("POST", SUBDOMAIN)
    assert seen.path == f"/v1/Accounts/{SID}/Calls/connect.json"
    assert seen.authorization == "Basic " + base64.b64encode(f"{KEY}:{TOKEN}".encode()).decode()
    assert seen.form == {
        "From": AGENT,  # the agent is rung first
        "To": LEAD,
        "CallerId": EXOPHONE,
        "StatusCallback": CALLBACK,
        "StatusCallbackEvents[0]": "terminal",
        "CustomField": "call-log-7",
        "Record": "true",
    }


async def test_get_call_reads_the_call_details(client: ExotelClient, exotel: FakeExotel) -> None:
    handle = await connect(client)
    running = await client.get_call(handle.provider_call_id)
    assert running.status is CallStatus.IN_PROGRESS and not running.terminal
    assert running.duration_s is None and running.recording_url is None

    callback = exotel.complete(handle.provider_call_id, duration=37)
    done = await client.get_call(handle.provider_call_id)
    assert done == CallSnapshot(
        provider_call_id=handle.provider_call_id,
        status=CallStatus.COMPLETED,
        duration_s=37,
        recording_url=f"https://{RECORDING_HOST}/exotelrecordings/{SID}/{handle.provider_call_id}.mp3",
        started_at=datetime(2026, 12, 4, 10, 0, tzinfo=IST),
        ended_at=datetime(2026, 12, 4, 10, 0, 45, tzinfo=IST),
        ref="call-log-7",
    )
    # the completion callback and the call details agree on the outcome
    assert parse_call_callback(callback) == done
    assert exotel.requests[-1].path == f"/v1/Accounts/{SID}/Calls/{handle.provider_call_id}.json"


async def test_unanswered_call_has_no_recording(client: ExotelClient, exotel: FakeExotel) -> None:
    handle = await connect(client)
    exotel.complete(handle.provider_call_id, "no-answer")
    snapshot = await client.get_call(handle.provider_call_id)
    assert (snapshot.status, snapshot.duration_s, snapshot.recording_url) == (
        CallStatus.NO_ANSWER,
        0,
        None,
    )
    assert snapshot.terminal


async def test_unknown_call_is_a_refusal_with_exotels_code(client: ExotelClient) -> None:
    with pytest.raises(TelephonyRejected) as caught:
        await client.get_call("nosuchcall")
    assert (caught.value.http_status, caught.value.provider_code) == (404, "20404")
    assert "Call not found" in caught.value.detail


async def test_get_call_refuses_a_path_in_the_id(client: ExotelClient, exotel: FakeExotel) -> None:
    with pytest.raises(ValidationFailed):
        await client.get_call("../../Sms/send")
    assert exotel.requests == []


async def test_send_sms(client: ExotelClient, exotel: FakeExotel) -> None:
    handle = await client.send_sms(to=LEAD, body="Your demo is at 5 pm", status_callback=CALLBACK)
    assert handle.status is SmsStatus.QUEUED
    assert handle.provider_sid in exotel.sms
    seen = exotel.requests[-1]
    assert seen.path == f"/v1/Accounts/{SID}/Sms/send.json"
    assert seen.form == {
        "From": EXOPHONE,
        "To": LEAD,
        "Body": "Your demo is at 5 pm",
        "StatusCallback": CALLBACK,
    }


async def test_provider_refusals_are_permanent(client: ExotelClient) -> None:
    with pytest.raises(TelephonyRejected) as bad_number:
        await connect(client, lead="not-a-number")
    assert (bad_number.value.http_status, bad_number.value.provider_code) == (400, "11001")
    assert "not a valid phone number" in bad_number.value.provider_message
    assert not isinstance(bad_number.value, Transient)

    with pytest.raises(TelephonyRejected) as dnd:
        await client.send_sms(to="+919800000000", body="hi", status_callback=CALLBACK)
    assert dnd.value.provider_code == "12011"
    assert dnd.value.code == "telephony_rejected"


async def test_wrong_credentials_are_a_refusal(http: httpx.AsyncClient) -> None:
    client = client_for(http, api_token="wrong")
    with pytest.raises(TelephonyRejected) as caught:
        await connect(client)
    assert caught.value.http_status == 401
    assert caught.value.provider_code is None
    assert "Authentication is required" in caught.value.provider_message


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_throttling_and_server_errors_are_retryable(
    client: ExotelClient, exotel: FakeExotel, status: int
) -> None:
    exotel.fail(status, b"<html>busy</html>", {"Retry-After": "7"} if status == 429 else {})
    with pytest.raises(TelephonyUnavailable) as caught:
        await connect(client)
    assert isinstance(caught.value, Transient)
    assert caught.value.retry_after == (7 if status == 429 else None)
    assert exotel.calls == {}  # nothing was placed; trying again is safe
    assert (await connect(client)).provider_call_id in exotel.calls


async def test_a_rest_exception_with_5xx_is_still_retryable(
    client: ExotelClient, exotel: FakeExotel
) -> None:
    exotel.fail(503, b'{"RestException": {"Status": 503, "Message": "Service Unavailable"}}')
    with pytest.raises(TelephonyUnavailable):
        await client.send_sms(to=LEAD, body="hi", status_callback=CALLBACK)


async def test_unexpected_answers_are_retryable(client: ExotelClient, exotel: FakeExotel) -> None:
    exotel.fail(200, b"<html>maintenance</html>")
    with pytest.raises(TelephonyUnavailable, match="not JSON"):
        await connect(client)
    exotel.fail(200, b'{"Call": "nope"}')
    with pytest.raises(TelephonyUnavailable, match="'Call'"):
        await connect(client)


async def test_transport_failures_are_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        client = client_for(http)
        with pytest.raises(TelephonyUnavailable, match="could not be reached"):
            await connect(client)
        with pytest.raises(TelephonyUnavailable):
            async for _ in client.open_recording(f"https://{RECORDING_HOST}/r.mp3"):
                pass


async def test_ref_longer_than_custom_field_is_refused(
    client: ExotelClient, exotel: FakeExotel
) -> None:
    with pytest.raises(ValidationFailed):
        await client.connect_call(
            agent=AGENT, lead=LEAD, caller_id=EXOPHONE, status_callback=CALLBACK, ref="x" * 129
        )
    assert exotel.requests == []


async def test_recording_is_streamed_in_chunks_with_credentials(
    client: ExotelClient, exotel: FakeExotel
) -> None:
    handle = await connect(client)
    url = exotel.complete(handle.provider_call_id)["RecordingUrl"]
    chunks = [chunk async for chunk in client.open_recording(url)]
    assert b"".join(chunks) == exotel.recording
    assert len(chunks) == -(-len(exotel.recording) // 10_000)
    assert all(len(chunk) <= 10_000 for chunk in chunks)
    assert exotel.requests[-1].host == RECORDING_HOST
    assert exotel.requests[-1].authorization is not None


async def test_recording_elsewhere_is_fetched_without_credentials(
    client: ExotelClient, exotel: FakeExotel
) -> None:
    url = f"https://{STORAGE_HOST}/signed/abc.mp3?X-Amz-Signature=s"
    assert b"".join([chunk async for chunk in client.open_recording(url)]) == exotel.recording
    assert exotel.requests[-1].authorization is None


async def test_missing_recording_is_a_refusal(client: ExotelClient) -> None:
    with pytest.raises(TelephonyRejected) as caught:
        async for _ in client.open_recording(f"https://{RECORDING_HOST}/x/nosuchcall.mp3"):
            pass
    assert caught.value.http_status == 404


async def test_recording_url_must_be_http(client: ExotelClient, exotel: FakeExotel) -> None:
    with pytest.raises(ValidationFailed):
        async for _ in client.open_recording("file:///etc/passwd"):
            pass
    assert exotel.requests == []


@pytest.mark.parametrize(
    ("blank", "setting"),
    [
        ("subdomain", "MAS_EXOTEL_SUBDOMAIN"),
        ("sid", "MAS_EXOTEL_SID"),
        ("api_key", "MAS_EXOTEL_API_KEY"),
        ("api_token", "MAS_EXOTEL_API_TOKEN"),
        ("caller_id", "MAS_EXOTEL_CALLER_ID"),
    ],
)
async def test_disabled_when_a_setting_is_missing(
    http: httpx.AsyncClient, exotel: FakeExotel, blank: str, setting: str
) -> None:
    client = client_for(http, **{blank: "  "})
    assert not client.enabled
    assert client.missing_settings == [setting]
    with pytest.raises(TelephonyDisabled) as caught:
        await connect(client)
    assert isinstance(caught.value, NotConfigured)
    assert caught.value.code == "telephony_disabled"
    assert setting in caught.value.detail
    with pytest.raises(TelephonyDisabled):
        await client.send_sms(to=LEAD, body="hi", status_callback=CALLBACK)
    with pytest.raises(TelephonyDisabled):
        await client.get_call("abc")
    with pytest.raises(TelephonyDisabled):
        async for _ in client.open_recording(f"https://{RECORDING_HOST}/r.mp3"):
            pass
    assert exotel.requests == []


async def test_owns_its_http_client_when_given_none() -> None:
    client = ExotelClient(subdomain="", sid="", api_key="", api_token="", caller_id="")
    assert client.missing_settings == [
        "MAS_EXOTEL_SUBDOMAIN",
        "MAS_EXOTEL_SID",
        "MAS_EXOTEL_API_KEY",
        "MAS_EXOTEL_API_TOKEN",
        "MAS_EXOTEL_CALLER_ID",
    ]
    await client.aclose()


class _CutStream(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"ID3-first-bytes"
        raise httpx.ReadError("connection reset by peer")


async def test_a_recording_cut_off_midway_is_retryable() -> None:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_CutStream())

    async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as http:
        client = ExotelClient(
            subdomain=SUBDOMAIN,
            sid=SID,
            api_key=KEY,
            api_token=TOKEN,
            caller_id=EXOPHONE,
            http=http,
            chunk_bytes=len(b"ID3-first-bytes"),
        )
        received: list[bytes] = []
        with pytest.raises(TelephonyUnavailable, match="cut off"):
            async for chunk in client.open_recording(f"https://{RECORDING_HOST}/r.mp3"):
                received.append(chunk)
        assert received == [b"ID3-first-bytes"]


async def test_call_details_with_an_unknown_status_are_unexpected(
    client: ExotelClient, exotel: FakeExotel
) -> None:
    handle = await connect(client)
    exotel.calls[handle.provider_call_id]["Status"] = "exploded"
    with pytest.raises(TelephonyUnavailable, match="no known Status"):
        await client.get_call(handle.provider_call_id)
