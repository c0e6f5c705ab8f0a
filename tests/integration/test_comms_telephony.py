"""Telephony's services on SQLite and PostgreSQL with ``FakeTelephony``: the call and SMS logs,
the state machines as stored, the agent's one active call, the reconcile sweep and the SMS
resend."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from mas.adapters.db.comms.telephony import USERS
from mas.adapters.db.comms.telephony_tables import LeadCallLogRow, LeadSmsLogRow
from mas.adapters.db.crm.tables import LeadActivityRow
from mas.adapters.fakes.comms_telephony import FakeTelephony
from mas.core.comms.ports.telephony import (
    CallStatus,
    SmsStatus,
    TelephonyDisabled,
    TelephonyRejected,
    TelephonyUnavailable,
)
from mas.core.comms.telephony.model import SmsRequest
from mas.core.comms.telephony.services import TelephonyServices
from mas.core.comms.telephony.sms import MAX_ATTEMPTS
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from mas.core.platform.paging import PageRequest
from mas.modules.comms import telephony as telephony_part
from tests.integration.crm_fixtures import add_leads, add_person


def caller_of(user: Any, role: Role = Role.SALES) -> Caller:
    return Caller(user_id=user.id, role=role, platform=Platform.MY_ANALYTICS_SCHOOL)


async def set_phone(c: Any, user_id: uuid.UUID, phone: str | None) -> None:
    async with c.uow() as uow:
        await uow.session.execute(update(USERS).where(USERS.c.id == user_id).values(phone=phone))
        await uow.commit()


async def rows(c: Any, table: Any) -> list[Any]:
    async with c.sessions() as session:
        return list((await session.execute(select(table))).scalars().all())


async def age(c: Any, table: Any, minutes: int) -> None:
    """Move every row of ``table`` ``minutes`` into the past (as the sweep sees time)."""
    async with c.uow() as uow:
        for row in (await uow.session.execute(select(table))).scalars().all():
            row.created_at = row.created_at - timedelta(minutes=minutes)
            if hasattr(row, "status_at"):  # the SMS resend goes by the last attempt
                row.status_at = row.status_at - timedelta(minutes=minutes)
        await uow.commit()


class Setup:
    def __init__(self, c: Any, fake: FakeTelephony, tel: TelephonyServices) -> None:
        self.c, self.fake, self.tel = c, fake, tel


@pytest.fixture
async def setup(container: Any) -> Setup:
    fake = FakeTelephony()
    tel = telephony_part.install(container, fake)
    return Setup(container, fake, tel)


async def agent_with_lead(
    s: Setup, phone: str | None = "+919900000001"
) -> tuple[Caller, uuid.UUID]:
    agent = await add_person(s.c, Role.SALES, "Agent")
    if phone is not None:
        await set_phone(s.c, agent.id, phone)
    (lead,) = await add_leads(s.c, None, 1, assigned_to=agent.id)
    return caller_of(agent), lead


async def test_a_call_is_logged_with_one_journal_line(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    view = await setup.tel.calls.place(caller, lead)
    (placed,) = setup.fake.calls
    assert (placed.agent, placed.ref) == ("+919900000001", str(view.id))
    assert placed.status_callback.endswith(
        "/api/webhooks/exotel/call-status?token=" + setup.tel.webhook_token
    )
    (row,) = await rows(setup.c, LeadCallLogRow)
    assert (row.status, row.source, row.provider_call_id) == ("INITIATED", "EXOTEL", "fake-1")
    journal = [a for a in await rows(setup.c, LeadActivityRow) if a.type == "CALL"]
    assert len(journal) == 1 and journal[0].data == {"call_id": str(view.id)}


async def test_the_callback_moves_a_call_once(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    view = await setup.tel.calls.place(caller, lead)
    form = {
        "CallSid": "fake-1",
        "Status": "completed",
        "ConversationDuration": "40",
        "RecordingUrl": "https://recordings.exotel.com/r.mp3",
        "CustomField": str(view.id),
    }
    assert await setup.tel.calls.on_callback(form)
    assert not await setup.tel.calls.on_callback(form)
    assert not await setup.tel.calls.on_callback({**form, "Status": "failed"})
    (row,) = await rows(setup.c, LeadCallLogRow)
    assert (row.status, row.duration_s) == ("COMPLETED", 40)
    page = await setup.tel.calls.for_lead(caller, lead, PageRequest())
    assert page.total == 1 and page.items[0].has_recording


async def test_a_callback_before_the_provider_id_is_stored_finds_the_call_by_ref(
    setup: Setup,
) -> None:
    caller, lead = await agent_with_lead(setup)
    setup.fake.fail_next(1)  # the provider took nothing: the log has no provider id
    with pytest.raises(TelephonyUnavailable):
        await setup.tel.calls.place(caller, lead)
    (row,) = await rows(setup.c, LeadCallLogRow)
    form = {"CallSid": "late-sid", "Status": "no-answer", "CustomField": str(row.id)}
    assert await setup.tel.calls.on_callback(form)
    (row,) = await rows(setup.c, LeadCallLogRow)
    assert (row.status, row.provider_call_id) == ("NO_ANSWER", "late-sid")
    # a ref naming a call that already has a provider id is not trusted
    assert not await setup.tel.calls.on_callback({**form, "CallSid": "other"})


async def test_one_active_call_per_agent(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    await setup.tel.calls.place(caller, lead)
    with pytest.raises(Conflict) as busy:
        await setup.tel.calls.place(caller, lead)
    assert busy.value.code == "call_already_active"
    await age(setup.c, LeadCallLogRow, 31)  # the sweep's business now, not a block
    await setup.tel.calls.place(caller, lead)


async def test_an_unconfirmed_call_blocks_for_two_minutes_only(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    setup.fake.fail_next(1)
    with pytest.raises(TelephonyUnavailable):
        await setup.tel.calls.place(caller, lead)
    with pytest.raises(Conflict):
        await setup.tel.calls.place(caller, lead)
    await age(setup.c, LeadCallLogRow, 3)
    await setup.tel.calls.place(caller, lead)


async def test_refusals_and_missing_phones(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    setup.fake.fail_next(1, retryable=False)
    with pytest.raises(TelephonyRejected):
        await setup.tel.calls.place(caller, lead)
    (row,) = await rows(setup.c, LeadCallLogRow)
    assert row.status == "FAILED"

    phoneless, other_lead = await agent_with_lead(setup, phone=None)
    with pytest.raises(ValidationFailed) as no_phone:
        await setup.tel.calls.place(phoneless, other_lead)
    assert no_phone.value.code == "agent_has_no_phone"
    with pytest.raises(NotFound):
        await setup.tel.calls.place(phoneless, lead)  # someone else's lead


async def test_disabled_telephony_writes_nothing(container: Any) -> None:
    tel = telephony_part.install(container, FakeTelephony(enabled=False))
    agent = await add_person(container, Role.SALES, "Agent")
    await set_phone(container, agent.id, "+919900000001")
    (lead,) = await add_leads(container, None, 1, assigned_to=agent.id)
    assert not tel.status().enabled
    with pytest.raises(TelephonyDisabled):
        await tel.calls.place(caller_of(agent), lead)
    with pytest.raises(TelephonyDisabled):
        await tel.sms.send(caller_of(agent), lead, SmsRequest(body="hi"))
    assert await rows(container, LeadCallLogRow) == []
    assert await rows(container, LeadSmsLogRow) == []
    assert await tel.calls.reconcile() == 0


async def test_reconcile(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    view = await setup.tel.calls.place(caller, lead)
    assert await setup.tel.calls.reconcile() == 0  # too young
    setup.fake.finish("fake-1", CallStatus.COMPLETED, duration_s=9)
    await age(setup.c, LeadCallLogRow, 31)
    assert await setup.tel.calls.reconcile() == 1
    assert await setup.tel.calls.reconcile() == 0
    (row,) = await rows(setup.c, LeadCallLogRow)
    assert (row.id, row.status, row.duration_s) == (view.id, "COMPLETED", 9)
    assert ("get_call", "fake-1") in setup.fake.operations


async def test_reconcile_fails_a_call_the_provider_does_not_know(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    await setup.tel.calls.place(caller, lead)
    setup.fake.snapshots.clear()
    await age(setup.c, LeadCallLogRow, 31)
    assert await setup.tel.calls.reconcile() == 1
    (row,) = await rows(setup.c, LeadCallLogRow)
    assert row.status == "FAILED"


async def test_reconcile_waits_out_an_outage(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    await setup.tel.calls.place(caller, lead)
    await age(setup.c, LeadCallLogRow, 31)
    setup.fake.fail_next(1)
    assert await setup.tel.calls.reconcile() == 0
    (row,) = await rows(setup.c, LeadCallLogRow)
    assert row.status == "INITIATED"


async def test_sms_flow_and_resend(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    sent = await setup.tel.sms.send(caller, lead, SmsRequest(body="Hello"))
    assert sent.status is SmsStatus.SENT
    assert await setup.tel.sms.on_status({"SmsSid": "fake-1", "Status": "delivered"})
    assert not await setup.tel.sms.on_status({"SmsSid": "fake-1", "Status": "submitted"})

    setup.fake.fail_next(1)
    queued = await setup.tel.sms.send(caller, lead, SmsRequest(body="Again"))
    assert queued.status is SmsStatus.QUEUED
    assert await setup.tel.sms.resend() == 0  # not a minute old yet
    await age(setup.c, LeadSmsLogRow, 2)
    assert await setup.tel.sms.resend() == 1
    assert await setup.tel.sms.resend() == 0
    statuses = sorted(row.status for row in await rows(setup.c, LeadSmsLogRow))
    assert statuses == ["DELIVERED", "SENT"]
    journal = [a for a in await rows(setup.c, LeadActivityRow) if a.type == "SMS"]
    assert len(journal) == 2


async def test_sms_the_provider_never_takes_fails_after_the_last_attempt(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    setup.fake.fail_next(MAX_ATTEMPTS)
    assert (await setup.tel.sms.send(caller, lead, SmsRequest(body="x"))).status is SmsStatus.QUEUED
    for _ in range(MAX_ATTEMPTS):
        await age(setup.c, LeadSmsLogRow, 2)
        await setup.tel.sms.resend()
    (row,) = await rows(setup.c, LeadSmsLogRow)
    assert (row.status, row.attempts) == ("FAILED", MAX_ATTEMPTS)
    assert row.error == "the SMS provider could not be reached"


async def test_webhook_token(setup: Setup) -> None:
    setup.tel.check_token(setup.tel.webhook_token)
    for wrong in (None, "", setup.tel.webhook_token + "x"):
        with pytest.raises(Unauthorized):
            setup.tel.check_token(wrong)


async def test_log_retention_forgets_old_raw_callbacks_only(setup: Setup) -> None:
    caller, lead = await agent_with_lead(setup)
    old = await setup.tel.calls.place(caller, lead)
    await setup.tel.calls.on_callback(
        {"CallSid": "fake-1", "Status": "completed", "CustomField": str(old.id)}
    )
    await age(setup.c, LeadCallLogRow, 181 * 24 * 60)
    recent_caller, recent_lead = await agent_with_lead(setup, "+919900000002")
    recent = await setup.tel.calls.place(recent_caller, recent_lead)
    await setup.tel.calls.on_callback(
        {"CallSid": "fake-2", "Status": "busy", "CustomField": str(recent.id)}
    )
    assert await setup.tel.calls.drop_raw_callbacks(timedelta(days=180)) == 1
    kept = {row.id: row for row in await rows(setup.c, LeadCallLogRow)}
    assert kept[old.id].raw_callback is None and kept[old.id].status == "COMPLETED"
    assert kept[recent.id].raw_callback is not None
    assert await setup.tel.calls.drop_raw_callbacks(timedelta(days=180)) == 0  # idempotent
