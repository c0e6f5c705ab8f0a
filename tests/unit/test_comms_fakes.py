"""``FakeWhatsApp``: recorded calls, deterministic ids, forced failures, signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from mas.adapters.fakes.comms import FakeWhatsApp, signed_webhook, status_event
from mas.core.comms.ports.whatsapp import (
    BadSignature,
    BadWebhookBody,
    ProviderRejected,
    ProviderUnavailable,
    TemplateSpec,
    WhatsAppProvider,
)
from mas.core.platform.errors import Transient

AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def as_port(fake: FakeWhatsApp) -> WhatsAppProvider:
    return fake


async def test_records_calls_with_deterministic_ids() -> None:
    fake = FakeWhatsApp()
    provider = as_port(fake)
    first = await provider.send_template(
        to="+919812345678", name="welcome", language="en", params=["Asha"], media_url=None
    )
    second = await provider.send_text(to="+919812345678", body="hello")
    assert (first.provider_message_id, second.provider_message_id) == ("fake-1", "fake-2")
    assert [c.method for c in fake.sent()] == ["send_template", "send_text"]
    assert fake.calls[0].args["params"] == ["Asha"]


async def test_fail_next_retryable_then_permanent() -> None:
    fake = FakeWhatsApp()
    fake.fail_next(2, retryable=True, retry_after=5)
    fake.fail_next(1, retryable=False, code="131026")
    for _ in range(2):
        with pytest.raises(ProviderUnavailable) as caught:
            await fake.send_text(to="+91", body="x")
        assert isinstance(caught.value, Transient) and caught.value.retry_after == 5
    with pytest.raises(ProviderRejected) as rejected:
        await fake.send_text(to="+91", body="x")
    assert rejected.value.provider_code == "131026"
    sent = await fake.send_text(to="+91", body="x")
    assert sent.provider_message_id == "fake-1"  # failures consume no id
    assert len(fake.calls) == 4


async def test_template_catalogue() -> None:
    fake = FakeWhatsApp()
    spec = TemplateSpec(name="welcome", language="en", category="UTILITY", body="Hi {{1}}")
    created = await fake.upsert_template(spec)
    again = await fake.upsert_template(spec)
    assert created.provider_id == again.provider_id and created.param_count == 1
    assert [t.name for t in await fake.list_templates()] == ["welcome"]
    await fake.delete_template("welcome")
    assert await fake.list_templates() == []
    with pytest.raises(ProviderRejected):
        await fake.delete_template("welcome")


def test_signed_webhook_round_trip_and_tampering() -> None:
    fake = FakeWhatsApp()
    events = [status_event("fake-1", "READ", peer_phone="+919812345678", at=AT)]
    headers, body = signed_webhook(events)
    assert fake.verify_and_parse(headers, body) == events
    with pytest.raises(BadSignature):
        fake.verify_and_parse(headers, body.replace(b"READ", b"SENT"))
    with pytest.raises(BadSignature):
        fake.verify_and_parse(*signed_webhook(events, app_secret="other"))
    assert fake.verify_and_parse(*signed_webhook([])) == []
    # The signature of another body does not carry over.
    other_headers, _ = signed_webhook([])
    with pytest.raises(BadSignature):
        fake.verify_and_parse(other_headers, body)


def test_signed_garbage_is_a_bad_body() -> None:
    fake = FakeWhatsApp(app_secret="s")
    body = b"{nope"
    signature = "sha256=" + hmac.new(b"s", body, hashlib.sha256).hexdigest()
    with pytest.raises(BadWebhookBody):
        fake.verify_and_parse({"X-Hub-Signature-256": signature}, body)
