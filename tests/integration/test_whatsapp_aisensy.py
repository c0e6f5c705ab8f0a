"""The AiSensy adapter against ``FakeAiSensy`` (the campaign API's wire format, errors included)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from mas.adapters.comms.whatsapp.aisensy import AiSensyProvider
from mas.core.comms.ports.whatsapp import (
    BadSignature,
    BadWebhookBody,
    ProviderRejected,
    ProviderUnavailable,
    ProviderUnsupported,
    TemplateSpec,
    WhatsAppEvent,
)
from mas.core.platform.errors import Transient
from tests.whatsapp_fakes import FakeAiSensy, aisensy_webhook, json_answer

SECRET = "hook-secret"


@pytest.fixture
def server() -> FakeAiSensy:
    return FakeAiSensy(campaigns={"interview_reminder": 2, "welcome": 0})


@pytest.fixture
async def aisensy(server: FakeAiSensy) -> AsyncIterator[AiSensyProvider]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server)) as http:
        yield AiSensyProvider(
            api_key=server.api_key,
            webhook_secret=SECRET,
            user_name="Asha",
            base_url="https://backend.aisensy.com",
            http=http,
        )


async def test_send_template_wire_format(aisensy: AiSensyProvider, server: FakeAiSensy) -> None:
    sent = await aisensy.send_template(
        to="+919812345678",
        name="interview_reminder",
        language="en",
        params=["Asha", "10:00"],
        media_url="https://cdn.example.com/files/offer.pdf?sig=1",
    )
    assert sent.provider_message_id == "aisensy-1"
    request = server.requests[-1]
    assert (request.method, request.path) == ("POST", "/campaign/t1/api/v2")
    assert request.json() == {
        "apiKey": "aisensy-key",
        "campaignName": "interview_reminder",
        "destination": "+919812345678",
        "userName": "Asha",
        "templateParams": ["Asha", "10:00"],
        "media": {"url": "https://cdn.example.com/files/offer.pdf?sig=1", "filename": "offer.pdf"},
    }
    # The kept payload is the request minus the API key.
    kept = json.loads(sent.request_payload)
    assert "apiKey" not in kept and kept["campaignName"] == "interview_reminder"


async def test_refusals_are_permanent(aisensy: AiSensyProvider, server: FakeAiSensy) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await aisensy.send_template(
            to="+91", name="interview_reminder", language="en", params=["x"], media_url=None
        )
    assert "does not match" in caught.value.provider_message
    assert caught.value.http_status == 400 and not isinstance(caught.value, Transient)
    with pytest.raises(ProviderRejected) as unknown:
        await aisensy.send_template(to="+91", name="nope", language="en", params=[], media_url=None)
    assert "Campaign does not exist" in unknown.value.provider_message
    server.api_key = "rotated"
    with pytest.raises(ProviderRejected) as key:
        await aisensy.send_template(
            to="+91", name="welcome", language="en", params=[], media_url=None
        )
    assert key.value.http_status == 401


async def test_throttling_and_outages_are_retryable(
    aisensy: AiSensyProvider, server: FakeAiSensy
) -> None:
    server.fail_with += [
        json_answer(429, {"success": False, "message": "Too many requests"}, {"Retry-After": "30"}),
        (503, b"<html>Service Unavailable</html>", {"content-type": "text/html"}),
    ]
    with pytest.raises(ProviderUnavailable) as throttled:
        await aisensy.send_template(
            to="+91", name="welcome", language="en", params=[], media_url=None
        )
    assert throttled.value.retry_after == 30 and isinstance(throttled.value, Transient)
    with pytest.raises(ProviderUnavailable):
        await aisensy.send_template(
            to="+91", name="welcome", language="en", params=[], media_url=None
        )
    sent = await aisensy.send_template(
        to="+91", name="welcome", language="en", params=[], media_url=None
    )
    assert sent.provider_message_id == "aisensy-1"


async def test_an_explicit_or_unreadable_success_is_not_retried(
    aisensy: AiSensyProvider, server: FakeAiSensy
) -> None:
    server.fail_with += [
        json_answer(200, {"success": False, "message": "Campaign is paused"}),
        json_answer(200, {"success": "true"}),
        (200, b"OK", {"content-type": "text/plain"}),
    ]
    for _ in range(3):
        with pytest.raises(ProviderRejected):
            await aisensy.send_template(
                to="+91", name="welcome", language="en", params=[], media_url=None
            )


async def test_unsupported_operations(aisensy: AiSensyProvider, server: FakeAiSensy) -> None:
    spec = TemplateSpec(name="x", language="en", category="UTILITY", body="Hi")
    for call in (
        aisensy.send_text(to="+91", body="hello"),
        aisensy.list_templates(),
        aisensy.upsert_template(spec),
        aisensy.delete_template("x"),
    ):
        with pytest.raises(ProviderUnsupported):
            await call
    assert server.requests == []


# --- webhooks ----------------------------------------------------------------------------------


def status_document(status: str, **message: object) -> dict[str, object]:
    return {
        "id": "evt-1",
        "topic": "message.status.updated",
        "created_at": "2026-12-04T10:00:00.000Z",
        "data": {
            "message": {
                "id": "aisensy-1",
                "phone_number": "919812345678",
                "status": status,
                **message,
            }
        },
    }


def test_status_and_inbound_parsing(aisensy: AiSensyProvider) -> None:
    at = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert aisensy.verify_and_parse(*aisensy_webhook(SECRET, status_document("DELIVERED"))) == [
        WhatsAppEvent(
            kind="status",
            provider_message_id="aisensy-1",
            status="DELIVERED",
            peer_phone="+919812345678",
            timestamp=at,
        )
    ]
    failed = status_document(
        "FAILED", failureResponse={"code": 131026, "reason": "Message undeliverable"}
    )
    [event] = aisensy.verify_and_parse(*aisensy_webhook(SECRET, failed))
    assert (event.status, event.error_code, event.error_message) == (
        "FAILED",
        "131026",
        "Message undeliverable",
    )
    inbound = {
        "topic": "message.sender.user",
        "created_at": 1764842400000,
        "data": {
            "message": {
                "messageId": "in-1",
                "phone_number": "919812345678",
                "type": "text",
                "message_content": {"text": "Yes, I'll be there"},
            }
        },
    }
    [message] = aisensy.verify_and_parse(*aisensy_webhook(SECRET, inbound))
    assert message.kind == "message" and message.status == "RECEIVED"
    assert message.text == "Yes, I'll be there" and message.provider_message_id == "in-1"
    assert message.timestamp == datetime.fromtimestamp(1764842400, UTC)


def test_unknown_topics_and_statuses_are_ignored(aisensy: AiSensyProvider) -> None:
    contact = {"topic": "contact.created", "created_at": "2026-12-04T10:00:00Z", "data": {}}
    assert aisensy.verify_and_parse(*aisensy_webhook(SECRET, contact)) == []
    assert aisensy.verify_and_parse(*aisensy_webhook(SECRET, status_document("QUEUED"))) == []


def test_wrong_or_missing_secret(aisensy: AiSensyProvider) -> None:
    headers, body = aisensy_webhook("guess", status_document("READ"))
    with pytest.raises(BadSignature):
        aisensy.verify_and_parse(headers, body)
    with pytest.raises(BadSignature):
        aisensy.verify_and_parse({"content-type": "application/json"}, body)
    with pytest.raises(BadSignature):  # checked before the body is read
        aisensy.verify_and_parse({"X-Webhook-Key": "guess"}, b"{not json")


def test_malformed_and_oversized_bodies(aisensy: AiSensyProvider) -> None:
    for document in (
        {"no": "topic"},
        {"topic": "message.status.updated", "created_at": "2026-12-04T10:00:00Z", "data": {}},
        {**status_document("READ"), "created_at": "yesterday"},
    ):
        with pytest.raises(BadWebhookBody):
            aisensy.verify_and_parse(*aisensy_webhook(SECRET, document))
    with pytest.raises(BadWebhookBody):
        aisensy.verify_and_parse({"X-Webhook-Key": SECRET}, b"{not json")
    with pytest.raises(BadWebhookBody):
        aisensy.verify_and_parse({"X-Webhook-Key": SECRET}, b" " * 1_000_001)
