"""Telephony through the whole app, Exotel played by its wire-format fake (``tests/exotel_fake``
reached through ``httpx.ASGITransport``): communications.md §10 checks 11-14 for calls and SMS,
the webhooks' token, the recording proxy and the reconcile cron."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from mas.adapters.comms.exotel import ExotelClient
from mas.adapters.db.comms.telephony import USERS
from mas.adapters.db.comms.telephony_tables import LeadCallLogRow, LeadSmsLogRow
from mas.adapters.db.crm.tables import LeadActivityRow
from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Platform, Role
from mas.modules.comms import telephony as telephony_part
from tests.conftest import make_settings, open_container
from tests.exotel_fake import EXOPHONE, KEY, RECORDING_HOST, SID, SUBDOMAIN, TOKEN, FakeExotel
from tests.http.conftest import Auth, add_user, http_client
from tests.integration.crm_fixtures import add_leads, set_lead

Client = AsyncTestClient[Any]
HOOK_TOKEN = "hook-secret-0123456789"
AGENT_PHONE = "+919900000001"


class World:
    def __init__(self, c: Any, exotel: FakeExotel, users: dict[str, User]) -> None:
        self.c = c
        self.exotel = exotel
        self.users = users

    def auth(self, who: str) -> dict[str, str]:
        token = self.c.identity.issuer.access_token(
            self.users[who], Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
        )
        return {
            "Authorization": f"Bearer {token}",
            "X-Platform": Platform.MY_ANALYTICS_SCHOOL.value,
        }


async def set_phone(c: Any, user_id: uuid.UUID, phone: str | None) -> None:
    async with c.sessions() as s:
        await s.execute(update(USERS).where(USERS.c.id == user_id).values(phone=phone))
        await s.commit()


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path) -> AsyncIterator[World]:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        exotel_subdomain=SUBDOMAIN,
        exotel_sid=SID,
        exotel_api_key=KEY,
        exotel_api_token=TOKEN,
        exotel_caller_id=EXOPHONE,
        exotel_webhook_token=HOOK_TOKEN,
        public_base_url="https://mas.example.com/",
    )
    c = await open_container(settings)
    assert c.comms.telephony.status().enabled  # the manifest built Exotel from the settings
    exotel = FakeExotel()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=exotel))
    client = ExotelClient(
        subdomain=SUBDOMAIN, sid=SID, api_key=KEY, api_token=TOKEN, caller_id=EXOPHONE, http=http
    )
    telephony_part.install(c, client)
    users = {
        "sales": await add_user(c, Role.SALES),
        "other": await add_user(c, Role.SALES),
        "admin": await add_user(c, Role.ADMIN),
    }
    await set_phone(c, users["sales"].id, "+91 99000 00001")
    await set_phone(c, users["admin"].id, "+919900000009")
    yield World(c, exotel, users)
    await http.aclose()
    await c.close()


@pytest.fixture
async def api(world: World) -> AsyncIterator[Client]:
    async with http_client(world.c) as client:
        yield client


async def my_lead(world: World) -> uuid.UUID:
    (lead,) = await add_leads(world.c, None, 1, assigned_to=world.users["sales"].id)
    return lead


async def activities(c: Any, lead_id: uuid.UUID, kind: str) -> list[Any]:
    async with c.sessions() as s:
        rows = await s.execute(
            select(LeadActivityRow).where(
                LeadActivityRow.raw_lead_id == lead_id, LeadActivityRow.type == kind
            )
        )
        return list(rows.scalars())


async def call_row(c: Any, call_id: str) -> LeadCallLogRow:
    async with c.sessions() as s:
        row = await s.get(LeadCallLogRow, uuid.UUID(call_id))
        assert row is not None
        return row


def hook(path: str, form: dict[str, str], token: str = HOOK_TOKEN) -> dict[str, Any]:
    return {
        "url": f"/api/webhooks/exotel/{path}",
        "params": {"token": token},
        "content": str(httpx.QueryParams(form)),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }


# --- check 11: telephony off -------------------------------------------------------------------


async def test_disabled_without_exotel_settings(
    client: Client, auth: Auth, sqlite_container: Any, accounts: dict[Role, User]
) -> None:
    answer = await client.get("/api/sales/crm/telephony/status", headers=auth(Role.SALES))
    assert answer.status_code == 200
    assert answer.json() == {"enabled": False, "sms_enabled": False}
    (lead,) = await add_leads(sqlite_container, None, 1, assigned_to=accounts[Role.SALES].id)
    await set_phone(sqlite_container, accounts[Role.SALES].id, AGENT_PHONE)
    call = await client.post(f"/api/sales/crm/leads/{lead}/call", headers=auth(Role.SALES))
    assert call.status_code == 503
    assert call.json()["code"] == "telephony_disabled"
    sms = await client.post(
        f"/api/sales/crm/leads/{lead}/sms", headers=auth(Role.SALES), json={"body": "hi"}
    )
    assert (sms.status_code, sms.json()["code"]) == (503, "telephony_disabled")
    async with sqlite_container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(LeadCallLogRow)) == 0
        assert await s.scalar(select(func.count()).select_from(LeadSmsLogRow)) == 0
    assert await activities(sqlite_container, lead, "CALL") == []


# --- check 12: a call from click to completion -------------------------------------------------


async def test_click_to_call_and_its_completion(api: Client, world: World) -> None:
    lead = await my_lead(world)
    status = await api.get("/api/sales/crm/telephony/status", headers=world.auth("sales"))
    assert status.json() == {"enabled": True, "sms_enabled": True}

    answer = await api.post(f"/api/sales/crm/leads/{lead}/call", headers=world.auth("sales"))
    assert answer.status_code == 201, answer.text
    view = answer.json()
    assert (view["status"], view["source"], view["has_recording"]) == (
        "INITIATED",
        "EXOTEL",
        False,
    )
    assert "recording_url" not in view

    # Exotel was asked to ring the agent (their own phone, cleaned) first, then the lead.
    connect = world.exotel.requests[-1]
    assert connect.form["From"] == AGENT_PHONE
    assert connect.form["CallerId"] == EXOPHONE
    assert connect.form["CustomField"] == view["id"]
    assert connect.form["StatusCallback"] == (
        f"https://mas.example.com/api/webhooks/exotel/call-status?token={HOOK_TOKEN}"
    )
    row = await call_row(world.c, view["id"])
    assert row.provider_call_id in world.exotel.calls
    assert len(await activities(world.c, lead, "CALL")) == 1

    form = world.exotel.complete(row.provider_call_id, duration=37)
    done = await api.post(**hook("call-status", form))
    assert done.status_code == 200, done.text
    assert done.json() == {"applied": True}
    row = await call_row(world.c, view["id"])
    assert (row.status, row.duration_s) == ("COMPLETED", 37)
    assert row.recording_url == form["RecordingUrl"]
    assert row.raw_callback is not None and row.raw_callback["CallSid"] == row.provider_call_id
    updated_at = row.updated_at

    again = await api.post(**hook("call-status", form))
    assert again.json() == {"applied": False}
    late = await api.post(**hook("call-status", {**form, "Status": "busy"}))
    assert late.json() == {"applied": False}  # a finished call never changes
    row = await call_row(world.c, view["id"])
    assert (row.status, row.duration_s, row.updated_at) == ("COMPLETED", 37, updated_at)
    assert len(await activities(world.c, lead, "CALL")) == 1

    listed = await api.get(f"/api/sales/crm/leads/{lead}/calls", headers=world.auth("sales"))
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert (item["status"], item["duration_s"], item["has_recording"]) == ("COMPLETED", 37, True)
    assert RECORDING_HOST not in listed.text


async def test_webhooks_refuse_a_wrong_token(api: Client, world: World) -> None:
    lead = await my_lead(world)
    view = (await api.post(f"/api/sales/crm/leads/{lead}/call", headers=world.auth("sales"))).json()
    row = await call_row(world.c, view["id"])
    form = world.exotel.complete(row.provider_call_id)
    for token in ("wrong", ""):
        refused = await api.post(**hook("call-status", form, token=token))
        assert (refused.status_code, refused.json()["code"]) == (401, "bad_webhook_token")
    missing = await api.post("/api/webhooks/exotel/sms-status", content=b"SmsSid=x&Status=sent")
    assert missing.status_code == 401
    assert (await call_row(world.c, view["id"])).status == "INITIATED"


async def test_unknown_and_malformed_callbacks(api: Client, world: World) -> None:
    unknown = await api.post(**hook("call-status", {"CallSid": "nosuch", "Status": "completed"}))
    assert (unknown.status_code, unknown.json()) == (200, {"applied": False})
    bad = await api.post(**hook("call-status", {"CallSid": "x", "Status": "exploded"}))
    assert bad.status_code == 422
    sms = await api.post(**hook("sms-status", {"SmsSid": "nosuch", "Status": "sent"}))
    assert (sms.status_code, sms.json()) == (200, {"applied": False})


async def test_one_active_call_per_agent(api: Client, world: World) -> None:
    first, second = await add_leads(world.c, None, 2, assigned_to=world.users["sales"].id)
    placed = await api.post(f"/api/sales/crm/leads/{first}/call", headers=world.auth("sales"))
    assert placed.status_code == 201
    busy = await api.post(f"/api/sales/crm/leads/{second}/call", headers=world.auth("sales"))
    assert (busy.status_code, busy.json()["code"]) == (409, "call_already_active")
    # once the first call ends, the agent may call again
    row = await call_row(world.c, placed.json()["id"])
    await api.post(**hook("call-status", world.exotel.complete(row.provider_call_id, "no-answer")))
    again = await api.post(f"/api/sales/crm/leads/{second}/call", headers=world.auth("sales"))
    assert again.status_code == 201


async def test_an_agent_without_a_phone_cannot_call(api: Client, world: World) -> None:
    lead = await my_lead(world)
    await set_phone(world.c, world.users["sales"].id, None)
    answer = await api.post(f"/api/sales/crm/leads/{lead}/call", headers=world.auth("sales"))
    assert (answer.status_code, answer.json()["code"]) == (422, "agent_has_no_phone")
    assert world.exotel.requests == []


async def test_a_refused_call_is_failed_and_502(api: Client, world: World) -> None:
    lead = await my_lead(world)
    world.exotel.fail(
        400, b'{"RestException": {"Status": 400, "Message": "bad To", "Code": "11001"}}'
    )
    answer = await api.post(f"/api/sales/crm/leads/{lead}/call", headers=world.auth("sales"))
    assert (answer.status_code, answer.json()["code"]) == (502, "telephony_rejected")
    async with world.c.sessions() as s:
        (row,) = (await s.execute(select(LeadCallLogRow))).scalars()
    assert row.status == "FAILED" and row.provider_call_id is None
    assert row.raw_callback == {"ProviderError": "bad To"}
    # a refused call does not block the agent
    assert (
        await api.post(f"/api/sales/crm/leads/{lead}/call", headers=world.auth("sales"))
    ).status_code == 201


async def test_an_unreachable_provider_leaves_the_call_for_reconcile(
    api: Client, world: World
) -> None:
    lead = await my_lead(world)
    world.exotel.fail(503)
    answer = await api.post(f"/api/sales/crm/leads/{lead}/call", headers=world.auth("sales"))
    assert (answer.status_code, answer.json()["code"]) == (503, "telephony_unavailable")
    async with world.c.sessions() as s:
        (row,) = (await s.execute(select(LeadCallLogRow))).scalars()
    assert (row.status, row.provider_call_id) == ("INITIATED", None)
    assert len(await activities(world.c, lead, "CALL")) == 1


# --- check 13: recordings only to those who see the lead ---------------------------------------


async def test_recording_is_streamed_to_those_who_see_the_lead(api: Client, world: World) -> None:
    lead = await my_lead(world)
    view = (await api.post(f"/api/sales/crm/leads/{lead}/call", headers=world.auth("sales"))).json()
    path = f"/api/sales/crm/calls/{view['id']}/recording"
    none_yet = await api.get(path, headers=world.auth("sales"))
    assert (none_yet.status_code, none_yet.json()["code"]) == (404, "recording_not_found")

    row = await call_row(world.c, view["id"])
    await api.post(**hook("call-status", world.exotel.complete(row.provider_call_id)))
    audio = await api.get(path, headers=world.auth("sales"))
    assert audio.status_code == 200
    assert audio.headers["content-type"].startswith("audio/mpeg")
    assert audio.content == world.exotel.recording
    assert RECORDING_HOST not in str(audio.headers)
    assert (await api.get(path, headers=world.auth("admin"))).status_code == 200

    hidden = await api.get(path, headers=world.auth("other"))
    assert (hidden.status_code, hidden.json()["code"]) == (404, "lead_not_found")
    nosuch = await api.get(
        f"/api/sales/crm/calls/{uuid.uuid4()}/recording", headers=world.auth("sales")
    )
    assert (nosuch.status_code, nosuch.json()["code"]) == (404, "call_not_found")
    calls = await api.get(f"/api/sales/crm/leads/{lead}/calls", headers=world.auth("other"))
    assert calls.status_code == 404


async def test_recording_the_provider_refuses_is_502(api: Client, world: World) -> None:
    lead = await my_lead(world)
    view = (await api.post(f"/api/sales/crm/leads/{lead}/call", headers=world.auth("sales"))).json()
    row = await call_row(world.c, view["id"])
    await api.post(**hook("call-status", world.exotel.complete(row.provider_call_id)))
    world.exotel.calls[row.provider_call_id]["RecordingUrl"] = None  # gone at the provider
    answer = await api.get(
        f"/api/sales/crm/calls/{view['id']}/recording", headers=world.auth("sales")
    )
    assert (answer.status_code, answer.json()["code"]) == (502, "telephony_rejected")
    assert RECORDING_HOST not in answer.text


# --- SMS, and check 14 -------------------------------------------------------------------------


async def test_sms_is_sent_and_its_delivery_recorded(api: Client, world: World) -> None:
    lead = await my_lead(world)
    answer = await api.post(
        f"/api/sales/crm/leads/{lead}/sms",
        headers=world.auth("sales"),
        json={"body": "Your demo is at 5 pm"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "SENT"
    sent = world.exotel.requests[-1]
    assert sent.form["Body"] == "Your demo is at 5 pm"
    assert sent.form["StatusCallback"].endswith(
        f"/api/webhooks/exotel/sms-status?token={HOOK_TOKEN}"
    )
    (sid,) = world.exotel.sms
    assert len(await activities(world.c, lead, "SMS")) == 1

    delivered = await api.post(**hook("sms-status", {"SmsSid": sid, "Status": "sent"}))
    assert delivered.json() == {"applied": True}
    late = await api.post(**hook("sms-status", {"SmsSid": sid, "Status": "submitted"}))
    assert late.json() == {"applied": False}  # monotonic: DELIVERED stays
    async with world.c.sessions() as s:
        (row,) = (await s.execute(select(LeadSmsLogRow))).scalars()
    assert (row.status, row.provider_sid) == ("DELIVERED", sid)


async def test_sms_refused_by_the_provider_is_failed(api: Client, world: World) -> None:
    (lead,) = await add_leads(world.c, None, 1, assigned_to=world.users["sales"].id)
    await set_lead(world.c, lead, phone_e164="+919800000000")  # DND in the fake
    answer = await api.post(
        f"/api/sales/crm/leads/{lead}/sms", headers=world.auth("sales"), json={"body": "hi"}
    )
    assert answer.status_code == 201
    assert (answer.json()["status"], answer.json()["error"]) == (
        "FAILED",
        "The number is DND registered",
    )


@pytest.mark.parametrize("body", ["", "   ", "x" * 1001])
async def test_sms_body_is_checked(api: Client, world: World, body: str) -> None:
    lead = await my_lead(world)
    answer = await api.post(
        f"/api/sales/crm/leads/{lead}/sms", headers=world.auth("sales"), json={"body": body}
    )
    assert answer.status_code == 422
    assert world.exotel.requests == []


async def test_channels_to_a_lead_outside_scope_are_404(api: Client, world: World) -> None:
    lead = await my_lead(world)
    for path, body in (("call", None), ("sms", {"body": "hi"})):
        answer = await api.post(
            f"/api/sales/crm/leads/{lead}/{path}", headers=world.auth("other"), json=body
        )
        assert (answer.status_code, answer.json()["code"]) == (404, "lead_not_found")
    assert world.exotel.requests == []
    async with world.c.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(LeadSmsLogRow)) == 0


# --- the reconcile cron ------------------------------------------------------------------------


async def test_reconcile_resolves_calls_without_a_callback(api: Client, world: World) -> None:
    first, second = await add_leads(world.c, None, 2, assigned_to=world.users["sales"].id)
    view = (
        await api.post(f"/api/sales/crm/leads/{first}/call", headers=world.auth("sales"))
    ).json()
    row = await call_row(world.c, view["id"])
    world.exotel.complete(row.provider_call_id, duration=12)  # its callback never arrives
    world.exotel.fail(503)
    unconfirmed = await api.post(f"/api/sales/crm/leads/{second}/call", headers=world.auth("admin"))
    assert unconfirmed.status_code == 503

    handler = world.c.tasks["comms.exotel.reconcile"]
    await handler.handler.run(handler.services, handler.handler.task.message())
    assert (await call_row(world.c, view["id"])).status == "INITIATED"  # not 30 minutes yet

    async with world.c.sessions() as s:
        for placed in (await s.execute(select(LeadCallLogRow))).scalars().all():
            placed.created_at = placed.created_at - timedelta(minutes=31)
        await s.commit()
    await handler.handler.run(handler.services, handler.handler.task.message())
    done = await call_row(world.c, view["id"])
    assert (done.status, done.duration_s) == ("COMPLETED", 12)
    assert done.recording_url is not None
    async with world.c.sessions() as s:
        rows = (await s.execute(select(LeadCallLogRow))).scalars().all()
    never = next(r for r in rows if r.id != done.id)
    assert never.status == "FAILED"
    # idempotent: a second run changes nothing, and a late callback does not rewrite the end
    await handler.handler.run(handler.services, handler.handler.task.message())
    late = world.exotel.complete(done.provider_call_id, "busy")
    assert (await api.post(**hook("call-status", late))).json() == {"applied": False}
    assert (await call_row(world.c, view["id"])).status == "COMPLETED"
