"""WhatsApp through the whole app (SQLite, the in-process provider): the webhooks' signature and
handshake, an HR recruiter's sender from registration to approval, the WhatsApp Manager, the
failures portal, write-only credentials and a lead's WhatsApp (communications.md §6)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from mas.adapters.db.comms.whatsapp_tables import WhatsAppMessageRow
from mas.adapters.fakes.comms import FakeWhatsApp, signed_webhook, status_event
from mas.core.comms.ports.whatsapp import ProviderTemplate, WhatsAppEvent
from mas.core.comms.whatsapp.model import Audience, Direction, MessageStatus, SenderStatus
from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Platform, Role
from mas.http.comms.whatsapp_admin import (
    AudienceChoice,
    DirectionChoice,
    MessageStatusChoice,
    SenderStatusChoice,
)
from tests.conftest import make_settings, open_container
from tests.http.conftest import add_user, http_client
from tests.integration.crm_fixtures import activities, add_floor, add_leads

Client = AsyncTestClient[Any]
PEER = "+919812345678"
VERIFY_TOKEN = "verify-token-0123"
WELCOME = ProviderTemplate(
    provider_id="tpl-1",
    name="welcome",
    language="en",
    category="UTILITY",
    status="APPROVED",
    body="Hello {{1}}",
    param_count=1,
)


class World:
    def __init__(self, c: Any, client: Client, fake: FakeWhatsApp) -> None:
        self.c = c
        self.client = client
        self.fake = fake
        self.users: dict[str, User] = {}

    def auth(self, who: str | User) -> dict[str, str]:
        user = self.users[who] if isinstance(who, str) else who
        token = self.c.identity.issuer.access_token(
            user, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
        )
        return {
            "Authorization": f"Bearer {token}",
            "X-Platform": Platform.MY_ANALYTICS_SCHOOL.value,
        }

    async def messages(self) -> int:
        async with self.c.uow() as uow:
            found = await uow.session.scalar(select(func.count()).select_from(WhatsAppMessageRow))
        return int(found or 0)


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = make_settings(
        sqlite_url, tmp_path, whatsapp_provider="fake", whatsapp_meta_verify_token=VERIFY_TOKEN
    )
    c = await open_container(settings)
    fake = await c.comms.whatsapp.source.current()
    fake.templates[("welcome", "en")] = WELCOME
    await c.comms.whatsapp.manager.sync()
    async with http_client(c) as client:
        w = World(c, client, fake)
        for name, role in (
            ("expert", Role.EXPERT),
            ("admin", Role.ADMIN),
            ("superadmin", Role.SUPERADMIN),
        ):
            w.users[name] = await add_user(c, role)
        yield w
    await c.close()


async def test_the_meta_handshake_echoes_the_challenge_for_the_right_token(world: World) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
    answer = await world.client.get("/api/webhooks/whatsapp/meta", params=query)
    assert (answer.status_code, answer.text) == (200, "42")
    query["hub.verify_token"] = "wrong"
    answer = await world.client.get("/api/webhooks/whatsapp/meta", params=query)
    assert (answer.status_code, answer.json()["code"]) == (403, "bad_verify_token")


async def test_webhooks_check_the_signature_before_storing(world: World) -> None:
    event = WhatsAppEvent(
        kind="message",
        provider_message_id="wamid.1",
        status="RECEIVED",
        peer_phone=PEER,
        timestamp=world.c.clock.now(),
        text="hi",
    )
    headers, body = signed_webhook([event], app_secret="forged")
    answer = await world.client.post("/api/webhooks/whatsapp/meta", content=body, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "bad_signature")
    assert await world.messages() == 0
    headers, body = signed_webhook([event])
    answer = await world.client.post("/api/webhooks/whatsapp/meta", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["received"] == 1
    assert await world.messages() == 1
    # The AiSensy route is not the configured provider's: nothing can check it.
    answer = await world.client.post("/api/webhooks/whatsapp/aisensy?key=x", content=b"{}")
    assert answer.status_code == 401


async def test_a_recruiter_sends_only_once_an_admin_approves(world: World) -> None:
    expert, admin = world.auth("expert"), world.auth("admin")
    config = {"phone_e164": "+919800000001", "display_name": "Acme hiring"}
    created = await world.client.post("/api/hr/whatsapp/config", json=config, headers=expert)
    assert created.status_code == 201 and created.json()["status"] == "PENDING"
    again = await world.client.post("/api/hr/whatsapp/config", json=config, headers=expert)
    assert (again.status_code, again.json()["code"]) == (409, "sender_config_exists")
    bad = {**config, "phone_e164": "98000"}
    assert (
        await world.client.post("/api/hr/whatsapp/config", json=bad, headers=expert)
    ).status_code == 422
    own = await world.client.get("/api/hr/whatsapp/config", headers=expert)
    assert own.json()["id"] == created.json()["id"]

    outgoing = {"to": PEER, "template": {"name": "welcome", "language": "en", "params": ["A"]}}
    refused = await world.client.post("/api/hr/whatsapp/send", json=outgoing, headers=expert)
    assert (refused.status_code, refused.json()["code"]) == (403, "sender_not_active")

    listed = await world.client.get("/api/admin/whatsapp/configs?status=PENDING", headers=admin)
    assert [c["id"] for c in listed.json()["items"]] == [created.json()["id"]]
    path = f"/api/admin/whatsapp/configs/{created.json()['id']}"
    assert (await world.client.patch(path, json={"status": "ACTIVE"}, headers=admin)).json()[
        "status"
    ] == "ACTIVE"

    sent = await world.client.post("/api/hr/whatsapp/send", json=outgoing, headers=expert)
    assert sent.status_code == 201, sent.text
    assert sent.json()["sender_config_id"] == created.json()["id"]
    free = {"to": PEER, "text": "are you free tomorrow?"}
    closed = await world.client.post("/api/hr/whatsapp/send", json=free, headers=expert)
    assert (closed.status_code, closed.json()["code"]) == (409, "window_closed")
    both = {**outgoing, "text": "x"}
    mixed = await world.client.post("/api/hr/whatsapp/send", json=both, headers=expert)
    assert (mixed.status_code, mixed.json()["code"]) == (422, "template_or_text")

    # The candidate replies: it is filed under the recruiter, and free text is allowed.
    reply = WhatsAppEvent(
        kind="message",
        provider_message_id="wamid.reply",
        status="RECEIVED",
        peer_phone=PEER,
        timestamp=world.c.clock.now(),
        text="yes",
    )
    headers, body = signed_webhook([reply])
    await world.client.post("/api/webhooks/whatsapp/meta", content=body, headers=headers)
    free_ok = await world.client.post("/api/hr/whatsapp/send", json=free, headers=expert)
    assert free_ok.status_code == 201
    threads = await world.client.get("/api/hr/whatsapp/conversations", headers=expert)
    [thread] = threads.json()["items"]
    assert (thread["peer_phone_e164"], thread["messages"]) == (PEER, 3)
    one = await world.client.get(f"/api/hr/whatsapp/conversations/{PEER}", headers=expert)
    assert [m["direction"] for m in one.json()["items"]] == ["OUTBOUND", "INBOUND", "OUTBOUND"]
    every = await world.client.get("/api/admin/whatsapp/messages?direction=INBOUND", headers=admin)
    assert every.json()["total"] == 1


async def test_the_manager_handles_templates_and_the_account(world: World) -> None:
    admin = world.auth("admin")
    account = await world.client.get("/api/admin/mas/whatsapp-manager/account", headers=admin)
    assert account.status_code == 200 and account.json()["account_id"] == "fake-waba"
    draft = {
        "name": "offer",
        "language": "en",
        "category": "MARKETING",
        "body": "Hi {{1}}, {{2}} off",
        "examples": ["Asha", "10%"],
    }
    base = "/api/admin/mas/whatsapp-manager/templates"
    created = await world.client.post(base, json=draft, headers=admin)
    assert created.status_code == 201, created.text
    assert (created.json()["provider_status"], created.json()["param_count"]) == ("PENDING", 2)
    assert (await world.client.post(base, json=draft, headers=admin)).status_code == 409
    preview = {"to": PEER, "language": "en", "params": ["A", "B"]}
    pending = await world.client.post(f"{base}/offer/preview", json=preview, headers=admin)
    assert (pending.status_code, pending.json()["code"]) == (409, "template_not_approved")
    listed = await world.client.get(base, headers=admin)
    assert {t["name"] for t in listed.json()["items"]} == {"offer", "welcome"}
    ok = await world.client.post(
        f"{base}/welcome/preview", json={**preview, "params": ["A"]}, headers=admin
    )
    assert ok.status_code == 201 and ok.json()["status"] == "QUEUED"  # sent after the commit
    assert [(call.args["to"], call.args["name"]) for call in world.fake.sent()] == [
        (PEER, "welcome")
    ]
    changes = {"language": "en", "category": "UTILITY", "body": "Hello {{1}}!"}
    edited = await world.client.patch(f"{base}/welcome", json=changes, headers=admin)
    assert edited.status_code == 200 and edited.json()["body"] == "Hello {{1}}!"
    gone = await world.client.delete(f"{base}/offer", headers=admin)
    assert gone.status_code == 200 and gone.json()[0]["provider_status"] == "DISABLED"
    assert (await world.client.delete(f"{base}/nothing", headers=admin)).status_code == 404
    del world.fake.templates[("welcome", "en")]  # deleted in the provider's console already
    caught_up = await world.client.delete(f"{base}/welcome", headers=admin)
    assert caught_up.status_code == 200 and caught_up.json()[0]["provider_status"] == "DISABLED"


async def test_the_failures_portal_retries_once(world: World) -> None:
    admin = world.auth("admin")
    world.fake.fail_next(retryable=False, code="131026")
    async with world.c.uow() as uow:
        message_id = await world.c.messenger.whatsapp(
            uow,
            to=PEER,
            template="welcome",
            language="en",
            params=["A"],
            audience="SYSTEM",
            ref=None,
            key="fails",
        )
        await uow.commit()
    failures = await world.client.get("/api/admin/mas/whatsapp-manager/failures", headers=admin)
    [failed] = failures.json()["items"]
    assert (failed["id"], failed["error_code"]) == (str(message_id), "131026")
    path = f"/api/admin/mas/whatsapp-manager/failures/{message_id}/retry"
    retried = await world.client.post(path, headers=admin)
    assert retried.status_code == 201
    assert retried.json()["retry_of_id"] == str(message_id)
    assert retried.json()["request_payload"] == failed["request_payload"]
    again = await world.client.post(path, headers=admin)
    assert (again.status_code, again.json()["code"]) == (409, "already_retried")
    missing = f"/api/admin/mas/whatsapp-manager/failures/{uuid.uuid4()}/retry"
    assert (await world.client.post(missing, headers=admin)).status_code == 404


async def test_credentials_are_write_only_and_for_superadmins(world: World) -> None:
    path = "/api/admin/mas/whatsapp-manager/credentials"
    body = {"access_token": "EAAG-very-secret", "phone_number_id": "1", "waba_id": "2"}
    refused = await world.client.put(path, json=body, headers=world.auth("admin"))
    assert refused.status_code == 403
    stored = await world.client.put(path, json=body, headers=world.auth("superadmin"))
    assert stored.status_code == 200
    assert "EAAG-very-secret" not in stored.text
    assert stored.json()["fields"] == ["access_token", "phone_number_id", "waba_id"]
    blank = await world.client.put(
        path, json={**body, "access_token": ""}, headers=world.auth("superadmin")
    )
    assert blank.status_code == 422


async def test_a_lead_gets_whatsapp_within_scope(world: World) -> None:
    floor = await add_floor(world.c, "East", telecallers=2, counsellors=0)
    mine, other = floor.telecallers
    [lead] = await add_leads(world.c, floor.head.id, 1, assigned_to=mine.id)
    path = f"/api/sales/crm/leads/{lead}/whatsapp"
    body = {"template": {"name": "welcome", "language": "en", "params": ["A"]}}
    assert (await world.client.post(path, json=body, headers=world.auth(other))).status_code == 404
    sent = await world.client.post(path, json=body, headers=world.auth(mine))
    assert sent.status_code == 201 and sent.json()["raw_lead_id"] == str(lead)
    closed = await world.client.post(path, json={"text": "hi"}, headers=world.auth(mine))
    assert (closed.status_code, closed.json()["code"]) == (409, "window_closed")
    wrong = {"template": {"name": "welcome", "language": "en", "params": []}}
    bad = await world.client.post(path, json=wrong, headers=world.auth(mine))
    assert (bad.status_code, bad.json()["detail"].endswith("expected 1, got 0")) == (422, True)
    thread = await world.client.get(path, headers=world.auth(mine))
    assert [m["id"] for m in thread.json()["items"]] == [sent.json()["id"]]
    assert len(await activities(world.c, "WHATSAPP", [lead])) == 1
    by_lead = await world.client.get(
        f"/api/admin/whatsapp/messages?lead_id={lead}", headers=world.auth("admin")
    )
    assert [m["id"] for m in by_lead.json()["items"]] == [sent.json()["id"]]
    headers, raw = signed_webhook(
        [status_event("fake-1", "DELIVERED", peer_phone=PEER, at=world.c.clock.now())]
    )
    delivered = await world.client.post("/api/webhooks/whatsapp/meta", content=raw, headers=headers)
    assert msgspec.json.decode(delivered.content)["advanced"] == 1


def test_the_query_choices_are_the_models_values() -> None:
    for choice, values in (
        (SenderStatusChoice, SenderStatus),
        (DirectionChoice, Direction),
        (MessageStatusChoice, MessageStatus),
        (AudienceChoice, Audience),
    ):
        assert [c.value for c in choice] == list(get_args(values))
