"""WhatsApp end to end on SQLite and PostgreSQL, with the in-process provider (``FakeWhatsApp``):
the writer's rules, the send task, the webhooks, the failures portal, reminders, the template
sync and the encrypted fallback credentials (communications.md §10 checks 6-10, 14, 15)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from mas.adapters.db.comms.whatsapp_tables import (
    ProviderCredentialRow,
    WhatsAppMessageRow,
    WhatsAppWebhookEventRow,
)
from mas.adapters.fakes.comms import FakeWhatsApp, signed_webhook, status_event
from mas.adapters.fakes.platform import FakeClock
from mas.core.comms.ports.whatsapp import (
    BadSignature,
    BadWebhookBody,
    ProviderTemplate,
    ProviderUnavailable,
    WhatsAppEvent,
)
from mas.core.comms.whatsapp.errors import (
    AlreadyRetried,
    ParamCountMismatch,
    TemplateNotApproved,
    WindowClosed,
)
from mas.core.comms.whatsapp.manager import MetaCredentials, TemplateDraft
from mas.core.comms.whatsapp.model import Message, MessageFilter, ReminderSpec, Template
from mas.core.comms.whatsapp.senders import Outgoing, TemplateUse
from mas.core.comms.whatsapp.tasks import SEND
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import NotConfigured, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from tests.conftest import Database, make_settings, open_container
from tests.integration.crm_fixtures import activities, add_floor, add_leads, add_person

# 11:30 in India: inside the 09:00-21:00 marketing window.
DAYTIME = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
PEER = "+919812345678"
FIRST_PAGE = PageRequest(1, 20)


def approved(name: str = "welcome", params: int = 1, category: str = "UTILITY") -> ProviderTemplate:
    body = " ".join(f"{{{{{n}}}}}" for n in range(1, params + 1))
    return ProviderTemplate(
        provider_id=f"tpl-{name}",
        name=name,
        language="en",
        category=category,  # type: ignore[arg-type]
        status="APPROVED",
        body=f"Hello {body}",
        param_count=params,
    )


async def open_whatsapp(
    database: Database, tmp_path: Path, clock: FakeClock, **settings: Any
) -> Any:
    values = {"whatsapp_provider": "fake", **settings}
    return await open_container(
        make_settings(database.url, tmp_path, **values), database=database.joined, clock=clock
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DAYTIME)


@pytest.fixture
async def c(database: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Any]:
    container = await open_whatsapp(database, tmp_path, clock)
    yield container
    await container.close()


async def fake_of(c: Any) -> FakeWhatsApp:
    provider = await c.comms.whatsapp.source.current()
    assert isinstance(provider, FakeWhatsApp)
    return provider


async def with_templates(c: Any, *templates: ProviderTemplate) -> FakeWhatsApp:
    fake = await fake_of(c)
    for template in templates:
        fake.templates[(template.name, template.language)] = template
    await c.comms.whatsapp.manager.sync()
    return fake


async def send(c: Any, key: str, *, params: list[str] | None = None, **given: Any) -> uuid.UUID:
    values: dict[str, Any] = {
        "to": PEER,
        "template": "welcome",
        "language": "en",
        "params": ["Asha"] if params is None else params,
        "audience": "SYSTEM",
        "ref": None,
        **given,
    }
    async with c.uow() as uow:
        message_id: uuid.UUID = await c.messenger.whatsapp(uow, key=key, **values)
        await uow.commit()
    return message_id


async def message(c: Any, message_id: uuid.UUID) -> Message:
    async with c.uow() as uow:
        found = await uow.whatsapp_messages.get(message_id)
    assert found is not None
    return found


async def count_messages(c: Any) -> int:
    async with c.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(WhatsAppMessageRow)))


async def inbound(c: Any, provider_id: str, at: datetime, phone: str = PEER) -> None:
    event = WhatsAppEvent(
        kind="message",
        provider_message_id=provider_id,
        status="RECEIVED",
        peer_phone=phone,
        timestamp=at,
        text="hello",
        message_type="text",
    )
    headers, body = signed_webhook([event])
    await c.comms.whatsapp.inbox.receive("META", headers, body)


# --- the writer and the send task -------------------------------------------------------------


async def test_an_approved_template_is_sent_once_per_key(c: Any) -> None:
    fake = await with_templates(c, approved())
    first = await send(c, "welcome:1")
    again = await send(c, "welcome:1")
    assert again == first
    sent = await message(c, first)
    assert (sent.status, sent.provider_message_id) == ("SENT", "fake-1")
    assert sent.body == "Hello Asha"
    assert msgspec.json.decode(sent.request_payload or "") == {
        "kind": "TEMPLATE",
        "to": PEER,
        "template": "welcome",
        "language": "en",
        "params": ["Asha"],
    }
    assert len(fake.sent()) == 1
    assert await count_messages(c) == 1


async def test_unapproved_templates_and_wrong_param_counts_are_refused(c: Any) -> None:
    pending = msgspec.structs.replace(approved("draft"), status="PENDING")
    await with_templates(c, approved(params=3), pending)
    with pytest.raises(TemplateNotApproved):
        await send(c, "a", template="unknown")
    with pytest.raises(TemplateNotApproved, match="PENDING"):
        await send(c, "b", template="draft")
    with pytest.raises(ParamCountMismatch, match="expected 3, got 2"):
        await send(c, "c", params=["x", "y"])
    assert await count_messages(c) == 0


async def test_a_template_deleted_at_the_provider_is_disabled_and_refused(c: Any) -> None:
    """Check 15."""
    fake = await with_templates(c, approved(), approved("other"))
    await send(c, "before")
    del fake.templates[("welcome", "en")]
    result = await c.comms.whatsapp.manager.sync()
    assert (result.upserted, result.disabled) == (1, 1)
    async with c.uow() as uow:
        template = await uow.whatsapp_templates.get("META", "welcome", "en")
    assert template is not None and template.provider_status == "DISABLED"
    with pytest.raises(TemplateNotApproved, match="DISABLED"):
        await send(c, "after")
    assert len(fake.sent()) == 1


async def test_a_provider_verdict_fails_the_message_without_retry(c: Any) -> None:
    fake = await with_templates(c, approved())
    fake.fail_next(retryable=False, code="131026", message="not on WhatsApp")
    failed = await message(c, await send(c, "refused"))
    assert (failed.status, failed.error_code) == ("FAILED", "131026")
    assert len(fake.sent()) == 1


async def test_an_unavailable_provider_is_retried_then_the_message_fails(c: Any) -> None:
    assert SEND.policy.attempts == 4  # the first try and three retries
    fake = await with_templates(c, approved())
    fake.fail_next(4, retryable=True, code="http_503", message="down")
    message_id = await send(c, "down")  # the inline run's first attempt fails
    waiting = await message(c, message_id)
    assert (waiting.status, waiting.error_code) == ("QUEUED", "http_503")
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            await c.comms.whatsapp.sending.send(message_id)
    await c.comms.whatsapp.sending.failed_for_good(message_id)
    failed = await message(c, message_id)
    assert (failed.status, failed.error_code) == ("FAILED", "http_503")
    assert len(fake.sent()) == 4


async def test_a_failed_message_is_retried_byte_for_byte_as_a_new_row(c: Any) -> None:
    """Check 8."""
    fake = await with_templates(c, approved())
    fake.fail_next(retryable=False)
    original = await message(c, await send(c, "to-retry", params=["Ünïcode ✓"]))
    assert original.status == "FAILED"
    admin = uuid7()
    retry = await c.comms.whatsapp.sending.retry(original.id, admin)
    stored = await message(c, retry.id)
    assert stored.id != original.id
    assert stored.retry_of_id == original.id
    assert stored.request_payload is not None
    assert stored.request_payload.encode() == (original.request_payload or "").encode()
    assert (stored.status, stored.sent_by) == ("SENT", admin)
    with pytest.raises(AlreadyRetried):
        await c.comms.whatsapp.sending.retry(original.id, admin)
    page = await c.comms.whatsapp.manager.messages(
        MessageFilter(direction="OUTBOUND", status="FAILED"), FIRST_PAGE
    )
    assert [m.id for m in page.items] == [original.id]


async def test_quiet_hours_hold_marketing_templates_to_leads(c: Any, clock: FakeClock) -> None:
    fake = await with_templates(c, approved("offer", category="MARKETING"), approved())
    clock.set(datetime(2026, 12, 4, 17, 0, tzinfo=UTC))  # 22:30 in India
    lead = uuid7()
    held = await message(c, await send(c, "offer", template="offer", audience="LEAD", ref=lead))
    assert held.status == "QUEUED"
    assert held.send_after == datetime(2026, 12, 5, 3, 30, tzinfo=UTC)  # 09:00 IST
    assert held.raw_lead_id == lead
    utility = await message(c, await send(c, "utility", audience="LEAD", ref=lead))
    assert utility.status == "SENT"
    system = await message(c, await send(c, "sys-offer", template="offer"))
    assert system.status == "SENT"
    assert [call.args["name"] for call in fake.sent()] == ["welcome", "offer"]


async def test_without_a_provider_sends_wait_queued(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    c = await open_whatsapp(database, tmp_path, clock, whatsapp_provider="none")
    try:
        async with c.uow() as uow:
            await uow.whatsapp_templates.upsert(_template_row(approved(), clock.now()))
            await uow.commit()
        waiting = await message(c, await send(c, "none"))
        assert (waiting.status, waiting.error_code) == ("QUEUED", "not_configured")
        assert await c.comms.whatsapp.sending.sweep() == 0
        with pytest.raises(NotConfigured):
            await c.comms.whatsapp.manager.account()
        with pytest.raises(BadSignature):
            await c.comms.whatsapp.inbox.receive("META", {}, b"[]")
    finally:
        await c.close()


def _template_row(held: ProviderTemplate, now: datetime) -> Template:
    return Template(
        id=uuid7(),
        provider="META",
        name=held.name,
        language=held.language,
        category=held.category,
        body=held.body,
        param_count=held.param_count,
        provider_status=held.status,
        synced_at=now,
    )


# --- webhooks ---------------------------------------------------------------------------------


async def test_a_bad_signature_is_refused_and_changes_nothing(c: Any) -> None:
    """Check 6."""
    await with_templates(c, approved())
    sent = await message(c, await send(c, "sig"))
    headers, body = signed_webhook(
        [status_event("fake-1", "READ", peer_phone=PEER, at=DAYTIME)], app_secret="wrong"
    )
    with pytest.raises(BadSignature):
        await c.comms.whatsapp.inbox.receive("META", headers, body)
    assert (await message(c, sent.id)).status == "SENT"
    async with c.uow() as uow:
        kept = await uow.session.scalar(select(func.count()).select_from(WhatsAppWebhookEventRow))
    assert kept == 0


async def test_status_callbacks_never_move_a_message_backwards(c: Any) -> None:
    """Check 7: read, then a late delivered, leaves READ; unknown ids are a no-op."""
    await with_templates(c, approved())
    message_id = await send(c, "order")
    events = [
        status_event("fake-1", "READ", peer_phone=PEER, at=DAYTIME),
        status_event("fake-1", "DELIVERED", peer_phone=PEER, at=DAYTIME + timedelta(seconds=1)),
        status_event("unknown-id", "DELIVERED", peer_phone=PEER, at=DAYTIME),
    ]
    headers, body = signed_webhook(events)
    result = await c.comms.whatsapp.inbox.receive("META", headers, body)
    assert (result.advanced, result.ignored) == (1, 2)
    assert (await message(c, message_id)).status == "READ"
    headers, body = signed_webhook([status_event("fake-1", "FAILED", peer_phone=PEER, at=DAYTIME)])
    await c.comms.whatsapp.inbox.receive("META", headers, body)
    assert (await message(c, message_id)).status == "READ"


async def test_a_delivery_failure_callback_fails_a_sent_message(c: Any) -> None:
    await with_templates(c, approved())
    message_id = await send(c, "fails-later")
    event = msgspec.structs.replace(
        status_event("fake-1", "FAILED", peer_phone=PEER, at=DAYTIME), error_code="131026"
    )
    headers, body = signed_webhook([event])
    await c.comms.whatsapp.inbox.receive("META", headers, body)
    failed = await message(c, message_id)
    assert (failed.status, failed.error_code) == ("FAILED", "131026")


async def test_a_valid_signature_over_a_malformed_body_is_kept(c: Any) -> None:
    body = b'{"not": "events"}'
    headers, _ = signed_webhook([])
    digest = hmac.new(b"fake-app-secret", body, hashlib.sha256).hexdigest()
    headers["X-Hub-Signature-256"] = f"sha256={digest}"
    with pytest.raises(BadWebhookBody):
        await c.comms.whatsapp.inbox.receive("META", headers, body)
    async with c.uow() as uow:
        kept = (await uow.session.execute(select(WhatsAppWebhookEventRow.body))).scalars().all()
    assert kept == [body.decode()]


async def test_inbound_messages_are_stored_once_and_open_the_window(
    c: Any, clock: FakeClock
) -> None:
    """Check 9 (through the writer): free text needs the peer's message in the last 24 h."""
    await with_templates(c, approved())
    with pytest.raises(WindowClosed):
        async with c.uow() as uow:
            await c.comms.whatsapp.writer.text(
                uow, to=PEER, body="hi", audience="LEAD", ref=None, key="t1"
            )
    await send(c, "template-outside-window")  # an approved template needs no window
    await inbound(c, "wamid.in-1", clock.now())
    await inbound(c, "wamid.in-1", clock.now())  # redelivered
    async with c.uow() as uow:
        text_id = await c.comms.whatsapp.writer.text(
            uow, to=PEER, body="hi", audience="LEAD", ref=None, key="t2"
        )
        await uow.commit()
    assert (await message(c, text_id)).status == "SENT"
    assert await count_messages(c) == 3
    clock.advance(hours=25)
    with pytest.raises(WindowClosed):
        async with c.uow() as uow:
            await c.comms.whatsapp.writer.text(
                uow, to=PEER, body="late", audience="LEAD", ref=None, key="t3"
            )


# --- reminders --------------------------------------------------------------------------------


async def test_a_cancelled_reminder_sends_nothing(c: Any, clock: FakeClock) -> None:
    """Check 10, through the reminder service (an interview domain will call it)."""
    fake = await with_templates(c, approved())
    reminders = c.comms.whatsapp.reminders
    interview, session = uuid7(), uuid7()
    spec = ReminderSpec(to=PEER, template="welcome", language="en", params=["Asha"])
    at = clock.now() + timedelta(hours=1)
    cancelled = await reminders.schedule("INTERVIEW", interview, at, spec)
    assert await reminders.schedule("INTERVIEW", interview, at, spec) == cancelled
    kept = await reminders.schedule("SESSION", session, at, spec)
    assert await reminders.cancel("INTERVIEW", interview) == 1
    await reminders.run(cancelled)
    assert fake.sent() == []
    assert (await reminders.get(cancelled)).status == "CANCELLED"
    await reminders.run(kept)
    done = await reminders.get(kept)
    assert done.status == "SENT" and done.message_id is not None
    assert (await message(c, done.message_id)).status == "SENT"
    assert len(fake.sent()) == 1


# --- credentials ------------------------------------------------------------------------------


async def test_fallback_credentials_are_sealed_and_build_the_meta_provider(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    key = "k" * 40
    c = await open_whatsapp(database, tmp_path, clock, whatsapp_provider="meta", encryption_key=key)
    try:
        assert await c.comms.whatsapp.source.current() is None
        admin = Caller(user_id=uuid7(), role=Role.SUPERADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)
        receipt = await c.comms.whatsapp.manager.put_credentials(
            admin,
            MetaCredentials(access_token="EAAG-secret-token", phone_number_id="123", waba_id="456"),
        )
        assert receipt.fields == ["access_token", "phone_number_id", "waba_id"]
        assert "EAAG" not in msgspec.json.encode(receipt).decode()
        async with c.uow() as uow:
            sealed, version = (
                await uow.session.execute(
                    select(ProviderCredentialRow.ciphertext, ProviderCredentialRow.key_version)
                )
            ).one()
        assert b"EAAG-secret-token" not in sealed and version == 1
        provider = await c.comms.whatsapp.source.current()
        assert provider is not None and provider.name == "META"
    finally:
        await c.close()
    other = await open_whatsapp(
        database, tmp_path, clock, whatsapp_provider="meta", encryption_key="o" * 40
    )
    try:  # sealed under another key: unreadable, so unconfigured (never a crash)
        assert await other.comms.whatsapp.source.current() is None
    finally:
        await other.close()


# --- leads ------------------------------------------------------------------------------------


async def test_whatsapp_to_a_lead_stays_within_scope_and_is_journaled(c: Any) -> None:
    """Check 14 (WhatsApp), and the journal line in the same unit of work."""
    await with_templates(c, approved())
    floor = await add_floor(c, "North", telecallers=2, counsellors=0)
    mine, theirs = floor.telecallers[0], floor.telecallers[1]
    [lead] = await add_leads(c, floor.head.id, 1, assigned_to=mine.id)
    stranger = await add_person(c, Role.SALES, "Stranger")
    leads = c.comms.whatsapp.leads
    data = Outgoing(template=TemplateUse(name="welcome", language="en", params=["Asha"]))
    outsider = Caller(user_id=stranger.id, role=Role.SALES, platform=Platform.MY_ANALYTICS_SCHOOL)
    with pytest.raises(NotFound):
        await leads.send(outsider, lead, data, None)
    other = Caller(user_id=theirs.id, role=Role.SALES, platform=Platform.MY_ANALYTICS_SCHOOL)
    with pytest.raises(NotFound):
        await leads.thread(other, lead, FIRST_PAGE)
    caller = Caller(user_id=mine.id, role=Role.SALES, platform=Platform.MY_ANALYTICS_SCHOOL)
    sent = await leads.send(caller, lead, data, "k1")
    assert (await leads.send(caller, lead, data, "k1")).id == sent.id
    assert sent.raw_lead_id == lead and sent.audience == "LEAD"
    journal = await activities(c, "WHATSAPP", [lead])
    assert len(journal) == 1 and journal[0].actor_id == mine.id
    thread = await leads.thread(caller, lead, FIRST_PAGE)
    assert [m.id for m in thread.items] == [sent.id]


async def test_aisensy_webhooks_use_the_shared_secret_and_templates_are_registered(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    c = await open_whatsapp(
        database,
        tmp_path,
        clock,
        whatsapp_provider="aisensy",
        whatsapp_aisensy_api_key="api-key",
        whatsapp_aisensy_webhook_secret="hook-secret",
    )
    try:
        manager = c.comms.whatsapp.manager
        assert (await manager.sync()).skipped is not None  # no template API: skipped
        draft = TemplateDraft(name="welcome", language="en", category="UTILITY", body="Hi {{1}}")
        registered = await manager.create_template(draft)
        assert (registered.provider, registered.provider_status) == ("AISENSY", "APPROVED")
        body = msgspec.json.encode(
            {
                "topic": "message.sender.user",
                "created_at": "2026-12-04T06:00:00+00:00",
                "data": {
                    "message": {
                        "id": "ai-1",
                        "phone_number": "919812345678",
                        "message_content": {"text": "hi"},
                    }
                },
            }
        )
        inbox = c.comms.whatsapp.inbox
        with pytest.raises(BadSignature):
            await inbox.receive("AISENSY", {"X-Webhook-Key": "wrong"}, body)
        with pytest.raises(BadSignature):  # the Meta route is not this installation's provider
            await inbox.receive("META", {}, body)
        result = await inbox.receive("AISENSY", {"X-Webhook-Key": "hook-secret"}, body)
        assert result.received == 1
    finally:
        await c.close()


async def test_the_sweeper_sends_what_waited_for_a_provider(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    idle = await open_whatsapp(database, tmp_path, clock, whatsapp_provider="none")
    try:
        async with idle.uow() as uow:
            await uow.whatsapp_templates.upsert(_template_row(approved(), clock.now()))
            await uow.commit()
        waiting = await send(idle, "waits")
    finally:
        await idle.close()
    c = await open_whatsapp(database, tmp_path, clock)
    try:
        fake = await fake_of(c)
        assert await c.comms.whatsapp.sending.sweep() == 0  # too recent: its task may yet run
        clock.advance(minutes=3)
        assert await c.comms.whatsapp.sending.sweep() == 1
        assert (await message(c, waiting)).status == "SENT"
        assert len(fake.sent()) == 1
        assert await c.comms.whatsapp.sending.sweep() == 0
    finally:
        await c.close()


async def test_retention_drops_old_payloads_and_kept_bodies(c: Any, clock: FakeClock) -> None:
    await with_templates(c, approved())
    old = await send(c, "old")
    headers, _ = signed_webhook([])
    body = b"[1]"
    headers["X-Hub-Signature-256"] = (
        "sha256=" + hmac.new(b"fake-app-secret", body, hashlib.sha256).hexdigest()
    )
    with pytest.raises(BadWebhookBody):
        await c.comms.whatsapp.inbox.receive("META", headers, body)
    clock.advance(days=181)
    recent = await send(c, "recent")
    dropped = await c.comms.whatsapp.retention.run()
    assert (dropped.payloads, dropped.webhooks) == (1, 1)
    assert (await message(c, old)).request_payload is None
    assert (await message(c, recent)).request_payload is not None


async def test_a_reminder_whose_template_is_refused_fails(c: Any, clock: FakeClock) -> None:
    fake = await with_templates(c, approved())
    spec = ReminderSpec(to=PEER, template="welcome", language="en", params=[])  # needs one
    reminder = await c.comms.whatsapp.reminders.schedule(
        "SESSION", uuid7(), clock.now() + timedelta(minutes=5), spec
    )
    await c.comms.whatsapp.reminders.run(reminder)
    assert (await c.comms.whatsapp.reminders.get(reminder)).status == "FAILED"
    assert fake.sent() == []
