"""The Meta Cloud API adapter against ``FakeGraph`` (Graph's wire format, errors included).

Reached through ``httpx.ASGITransport``: the adapter's own httpx client serialises each request
and parses each answer; only the socket is missing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from mas.adapters.comms.whatsapp.meta import MetaCloudProvider
from mas.core.comms.ports.whatsapp import (
    BadSignature,
    BadWebhookBody,
    ProviderRejected,
    ProviderUnavailable,
    TemplateButton,
    TemplateSpec,
    WhatsAppEvent,
)
from mas.core.platform.errors import Forbidden, Transient
from tests.whatsapp_fakes import FakeGraph, graph_error, json_answer, meta_signature, meta_webhook

SECRET = "app-secret"
VERIFY = "verify-me"


@pytest.fixture
def graph() -> FakeGraph:
    fake = FakeGraph()
    fake.add_template("interview_reminder", "en", body="Hi {{1}}, your interview is at {{2}}")
    return fake


@pytest.fixture
async def meta(graph: FakeGraph) -> AsyncIterator[MetaCloudProvider]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=graph)) as http:
        yield MetaCloudProvider(
            access_token=graph.token,
            phone_number_id=graph.phone_number_id,
            waba_id=graph.waba_id,
            app_secret=SECRET,
            verify_token=VERIFY,
            graph_version=graph.version,
            http=http,
        )


async def test_send_template_wire_format(meta: MetaCloudProvider, graph: FakeGraph) -> None:
    sent = await meta.send_template(
        to="+919812345678",
        name="interview_reminder",
        language="en",
        params=["Asha", "10:00"],
        media_url="https://cdn.example.com/offer.pdf?sig=1",
    )
    assert sent.provider_message_id.startswith("wamid.")
    request = graph.requests[-1]
    assert request.method == "POST"
    assert request.path == f"/v21.0/{graph.phone_number_id}/messages"
    assert request.headers["authorization"] == "Bearer meta-token"
    payload = request.json()
    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "919812345678",
        "type": "template",
        "template": {
            "name": "interview_reminder",
            "language": {"code": "en"},
            "components": [
                {
                    "type": "header",
                    "parameters": [
                        {
                            "type": "document",
                            "document": {"link": "https://cdn.example.com/offer.pdf?sig=1"},
                        }
                    ],
                },
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Asha"},
                        {"type": "text", "text": "10:00"},
                    ],
                },
            ],
        },
    }
    assert sent.request_payload == request.body


async def test_send_text(meta: MetaCloudProvider, graph: FakeGraph) -> None:
    sent = await meta.send_text(to="+919812345678", body="See you at 10")
    payload = graph.requests[-1].json()
    assert payload["type"] == "text"
    assert payload["text"] == {"preview_url": False, "body": "See you at 10"}
    assert sent.provider_message_id != ""


async def test_unknown_template_is_a_permanent_refusal(meta: MetaCloudProvider) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await meta.send_template(to="+911", name="nope", language="en", params=[], media_url=None)
    assert caught.value.provider_code == "132001"
    assert "does not exist" in caught.value.provider_message
    assert not isinstance(caught.value, Transient)


async def test_number_not_on_whatsapp(meta: MetaCloudProvider, graph: FakeGraph) -> None:
    graph.not_on_whatsapp.add("919800000000")
    with pytest.raises(ProviderRejected) as caught:
        await meta.send_text(to="+919800000000", body="hello")
    assert caught.value.provider_code == "131026"


async def test_bad_token_is_permanent(meta: MetaCloudProvider, graph: FakeGraph) -> None:
    graph.token = "rotated"
    with pytest.raises(ProviderRejected) as caught:
        await meta.send_text(to="+919812345678", body="hello")
    assert caught.value.provider_code == "190"
    assert caught.value.http_status == 401


async def test_throttling_is_retryable_with_retry_after(
    meta: MetaCloudProvider, graph: FakeGraph
) -> None:
    status, body, headers = graph_error(429, 130429, "(#130429) Rate limit hit")
    graph.fail_with.append((status, body, {**headers, "Retry-After": "17"}))
    with pytest.raises(ProviderUnavailable) as caught:
        await meta.send_text(to="+919812345678", body="hello")
    assert isinstance(caught.value, Transient)
    assert caught.value.retry_after == 17
    assert caught.value.provider_code == "130429"


async def test_server_errors_and_garbage_are_retryable(
    meta: MetaCloudProvider, graph: FakeGraph
) -> None:
    graph.fail_with += [
        (502, b"<html>Bad Gateway</html>", {"content-type": "text/html"}),
        graph_error(500, 1, "An unknown error occurred", kind="OAuthException"),
        # A transient Graph code under a 400 status: throttled per-pair (131056-like 80007).
        graph_error(400, 80007, "Rate limit issues"),
    ]
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await meta.send_text(to="+919812345678", body="hello")
    sent = await meta.send_text(to="+919812345678", body="hello")
    assert sent.provider_message_id.startswith("wamid.")


async def test_an_unreadable_success_is_not_retried(
    meta: MetaCloudProvider, graph: FakeGraph
) -> None:
    # Graph may have sent the message: retrying could send it twice.
    graph.fail_with += [
        json_answer(200, ["not", "an", "object"]),
        json_answer(200, {"messages": []}),
    ]
    for _ in range(2):
        with pytest.raises(ProviderRejected) as caught:
            await meta.send_text(to="+919812345678", body="hello")
        assert caught.value.provider_code == "unreadable_answer"


async def test_transport_failure_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        meta = MetaCloudProvider(
            access_token="t",
            phone_number_id="1",
            waba_id="2",
            app_secret=SECRET,
            verify_token=VERIFY,
            http=http,
        )
        with pytest.raises(ProviderUnavailable):
            await meta.send_text(to="+1", body="x")


async def test_list_templates_follows_cursors(meta: MetaCloudProvider, graph: FakeGraph) -> None:
    for i in range(150):
        graph.add_template(f"t{i:03d}", "hi", status="REJECTED" if i == 7 else "APPROVED")
    templates = await meta.list_templates()
    assert len(templates) == 151
    gets = [r for r in graph.requests if r.method == "GET"]
    assert len(gets) == 2 and gets[1].query["after"] == "100"
    reminder = next(t for t in templates if t.name == "interview_reminder")
    assert reminder.status == "APPROVED" and reminder.param_count == 2
    assert reminder.category == "UTILITY" and reminder.provider_id is not None
    assert next(t for t in templates if t.name == "t007").status == "REJECTED"


async def test_upsert_creates_then_edits(meta: MetaCloudProvider, graph: FakeGraph) -> None:
    spec = TemplateSpec(
        name="offer_letter",
        language="en",
        category="UTILITY",
        header="Your offer",
        body="Dear {{1}}, your offer for {{2}} is ready",
        footer="MAS",
        buttons=[TemplateButton(kind="URL", text="Open", url="https://mas.example/o")],
        examples=["Asha", "Engineer"],
    )
    created = await meta.upsert_template(spec)
    assert created.status == "PENDING" and created.param_count == 2
    stored = graph.templates[("offer_letter", "en")]
    assert stored["id"] == created.provider_id
    assert [c["type"] for c in stored["components"]] == ["HEADER", "BODY", "FOOTER", "BUTTONS"]
    assert stored["components"][1]["example"] == {"body_text": [["Asha", "Engineer"]]}

    edited = await meta.upsert_template(
        TemplateSpec(name="offer_letter", language="en", category="UTILITY", body="Hi {{1}}")
    )
    assert edited.provider_id == created.provider_id
    assert graph.requests[-1].path == f"/v21.0/{created.provider_id}"
    assert graph.templates[("offer_letter", "en")]["components"] == [
        {"type": "BODY", "text": "Hi {{1}}"}
    ]


async def test_delete_template(meta: MetaCloudProvider, graph: FakeGraph) -> None:
    await meta.delete_template("interview_reminder")
    assert graph.templates == {}
    assert graph.requests[-1].method == "DELETE"
    assert graph.requests[-1].query == {"name": "interview_reminder"}
    with pytest.raises(ProviderRejected) as caught:
        await meta.delete_template("interview_reminder")
    assert caught.value.provider_code == "100/2593002"


# --- webhooks ----------------------------------------------------------------------------------

STATUS = {
    "id": "wamid.HBgM000001",
    "status": "read",
    "timestamp": "1749416400",
    "recipient_id": "919812345678",
}


def test_verify_subscription(meta: MetaCloudProvider) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    assert meta.verify_subscription(query) == "1158201444"
    for bad in (
        {**query, "hub.verify_token": "wrong"},
        {**query, "hub.mode": "unsubscribe"},
        {k: v for k, v in query.items() if k != "hub.challenge"},
        {k: v for k, v in query.items() if k != "hub.verify_token"},
    ):
        with pytest.raises(Forbidden):
            meta.verify_subscription(bad)


def test_status_and_inbound_parsing(meta: MetaCloudProvider) -> None:
    failed = {
        "id": "wamid.HBgM000002",
        "status": "failed",
        "timestamp": "1749416401",
        "recipient_id": "919800000000",
        "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Undeliverable"}],
    }
    inbound = {
        "from": "919812345678",
        "id": "wamid.IN1",
        "timestamp": "1749416383",
        "type": "text",
        "text": {"body": "Does it come in another color?"},
    }
    image = {"from": "919812345678", "id": "wamid.IN2", "timestamp": "1749416384", "type": "image"}
    headers, body = meta_webhook(
        SECRET,
        statuses=[STATUS, failed, {**STATUS, "id": "wamid.X", "status": "deleted"}],
        messages=[inbound, image],
        contacts=[{"profile": {"name": "Sheena"}, "wa_id": "919812345678"}],
        extra_changes=[{"field": "message_template_status_update", "value": {"event": "APPROVED"}}],
    )
    events = meta.verify_and_parse(headers, body)
    assert events == [
        WhatsAppEvent(
            kind="message",
            provider_message_id="wamid.IN1",
            status="RECEIVED",
            peer_phone="+919812345678",
            timestamp=datetime.fromtimestamp(1749416383, UTC),
            text="Does it come in another color?",
            peer_name="Sheena",
            message_type="text",
        ),
        WhatsAppEvent(
            kind="message",
            provider_message_id="wamid.IN2",
            status="RECEIVED",
            peer_phone="+919812345678",
            timestamp=datetime.fromtimestamp(1749416384, UTC),
            peer_name="Sheena",
            message_type="image",
        ),
        WhatsAppEvent(
            kind="status",
            provider_message_id="wamid.HBgM000001",
            status="READ",
            peer_phone="+919812345678",
            timestamp=datetime.fromtimestamp(1749416400, UTC),
        ),
        WhatsAppEvent(
            kind="status",
            provider_message_id="wamid.HBgM000002",
            status="FAILED",
            peer_phone="+919800000000",
            timestamp=datetime.fromtimestamp(1749416401, UTC),
            error_code="131026",
            error_message="Undeliverable",
        ),
    ]


def test_bad_signature_and_tampered_body(meta: MetaCloudProvider) -> None:
    headers, body = meta_webhook(SECRET, statuses=[STATUS])
    with pytest.raises(BadSignature):
        meta.verify_and_parse(
            {**headers, "X-Hub-Signature-256": meta_signature("other", body)}, body
        )
    with pytest.raises(BadSignature):
        meta.verify_and_parse(headers, body.replace(b'"read"', b'"sent"'))
    with pytest.raises(BadSignature):
        meta.verify_and_parse({"content-type": "application/json"}, body)
    with pytest.raises(BadSignature):
        meta.verify_and_parse({"x-hub-signature-256": "md5=abc"}, body)
    # Any casing of the header name is found.
    lower = {"x-hub-signature-256": headers["X-Hub-Signature-256"]}
    assert len(meta.verify_and_parse(lower, body)) == 1


def test_signature_is_checked_before_parsing(meta: MetaCloudProvider) -> None:
    with pytest.raises(BadSignature):
        meta.verify_and_parse({"X-Hub-Signature-256": "sha256=00"}, b"{not json")


def test_malformed_and_oversized_bodies(meta: MetaCloudProvider) -> None:
    for body in (b"{not json", b"[]", json.dumps({"object": "x"}).encode()):
        with pytest.raises(BadWebhookBody):
            meta.verify_and_parse({"X-Hub-Signature-256": meta_signature(SECRET, body)}, body)
    bad_status = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"statuses": [{}]}}]}],
        }
    ).encode()
    with pytest.raises(BadWebhookBody):
        meta.verify_and_parse(
            {"X-Hub-Signature-256": meta_signature(SECRET, bad_status)}, bad_status
        )
    for oversized in ({**STATUS, "id": "w" * 257}, {**STATUS, "recipient_id": "9" * 33}):
        headers, body = meta_webhook(SECRET, statuses=[oversized])
        with pytest.raises(BadWebhookBody):
            meta.verify_and_parse(headers, body)
    big = b" " * 1_000_001
    with pytest.raises(BadWebhookBody):
        meta.verify_and_parse({"X-Hub-Signature-256": meta_signature(SECRET, big)}, big)


def test_too_many_events(meta: MetaCloudProvider) -> None:
    statuses = [{**STATUS, "id": f"wamid.{i}"} for i in range(1_001)]
    headers, body = meta_webhook(SECRET, statuses=statuses)
    with pytest.raises(BadWebhookBody):
        meta.verify_and_parse(headers, body)
    headers, body = meta_webhook(SECRET, statuses=statuses[:1_000])
    assert len(meta.verify_and_parse(headers, body)) == 1_000


async def test_no_app_secret_accepts_nothing(graph: FakeGraph) -> None:
    unset = MetaCloudProvider(
        access_token="t", phone_number_id="1", waba_id="2", app_secret="", verify_token=""
    )
    headers, body = meta_webhook("", statuses=[STATUS])
    with pytest.raises(BadSignature):
        unset.verify_and_parse(headers, body)
    with pytest.raises(Forbidden):
        unset.verify_subscription({"hub.mode": "subscribe", "hub.verify_token": ""})


def test_other_objects_are_ignored(meta: MetaCloudProvider) -> None:
    body = json.dumps({"object": "page", "entry": []}).encode()
    assert meta.verify_and_parse({"X-Hub-Signature-256": meta_signature(SECRET, body)}, body) == []
