"""The messenger's SMS (``Messenger.sms``) on SQLite and PostgreSQL with ``FakeTelephony``: the
row is written in the caller's unit of work, sent by ``comms.sms.send`` after the commit, once
per key; the reconcile sweep resends what the provider did not take; an unconfigured telephony
fails the row without a provider call."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mas.adapters.db.comms.telephony_tables import LeadSmsLogRow
from mas.adapters.fakes.comms_telephony import FakeTelephony
from mas.core.comms.telephony.model import SmsLog
from mas.core.comms.telephony.sms import MAX_ATTEMPTS, NOT_CONFIGURED
from mas.core.platform.errors import ValidationFailed
from mas.modules.comms import telephony as telephony_part
from tests.conftest import Database, make_settings, open_container
from tests.integration.crm_fixtures import add_leads

PHONE = "+919900000002"


async def queue(c: Any, key: str, *, commit: bool = True, **given: Any) -> uuid.UUID:
    values: dict[str, Any] = {"to": PHONE, "body": "Your interview is at 10:00", **given}
    async with c.uow() as uow:
        sms_id: uuid.UUID = await c.messenger.sms(uow, key=key, **values)
        if commit:
            await uow.commit()
    return sms_id


async def logs(c: Any) -> list[SmsLog]:
    async with c.uow() as uow:
        rows = (await uow.session.execute(select(LeadSmsLogRow.id))).scalars().all()
        found = [await uow.sms_logs.get(row) for row in rows]
    return [log for log in found if log is not None]


async def age(c: Any, minutes: int) -> None:
    async with c.uow() as uow:
        for row in (await uow.session.execute(select(LeadSmsLogRow))).scalars().all():
            row.status_at = row.status_at - timedelta(minutes=minutes)
            row.created_at = row.created_at - timedelta(minutes=minutes)
        await uow.commit()


class ClosableFake(FakeTelephony):
    async def aclose(self) -> None:
        return None


@pytest.fixture
def fake() -> FakeTelephony:
    return ClosableFake()


@pytest.fixture
async def c(
    database: Database, tmp_path: Path, fake: FakeTelephony, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """A container built with the fake Exotel (the send task is bound when the container is
    built, so ``telephony_part.install`` afterwards would not reach it)."""
    monkeypatch.setattr(telephony_part, "exotel", lambda settings: fake)
    container = await open_container(
        make_settings(database.url, tmp_path), database=database.joined
    )
    yield container
    await container.close()


async def test_the_same_key_twice_is_one_row_and_one_provider_call(
    c: Any, fake: FakeTelephony
) -> None:
    first = await queue(c, "wf:1:sms:1")
    again = await queue(c, "wf:1:sms:1", body="another body entirely")
    assert again == first
    (log,) = await logs(c)
    assert (log.id, log.status.value, log.provider_sid, log.attempts) == (
        first,
        "SENT",
        "fake-1",
        1,
    )
    assert (log.idempotency_key, log.raw_lead_id, log.related_type) == ("wf:1:sms:1", None, None)
    assert [(sent.to, sent.body) for sent in fake.sms] == [(PHONE, "Your interview is at 10:00")]
    # the delivery report finds it like a lead's SMS
    assert await c.comms.telephony.sms.on_status({"SmsSid": "fake-1", "Status": "sent"})
    # the task again (a redelivery) sends nothing
    await c.comms.telephony.sms.deliver(first)
    assert len(fake.sms) == 1


async def test_a_lead_related_sms_is_filed_under_the_lead(c: Any, fake: FakeTelephony) -> None:
    (lead,) = await add_leads(c, None, 1)
    sent_by = uuid.uuid4()
    sms_id = await queue(c, "lead-sms", related=("raw_lead", lead))
    other = await queue(c, "slot-sms", related=("slot", sent_by))
    by_id = {log.id: log for log in await logs(c)}
    assert (by_id[sms_id].raw_lead_id, by_id[sms_id].related_id) == (lead, lead)
    assert (by_id[other].raw_lead_id, by_id[other].related_type) == (None, "slot")
    assert len(fake.sms) == 2


async def test_nothing_is_written_or_sent_when_the_caller_rolls_back(
    c: Any, fake: FakeTelephony
) -> None:
    await queue(c, "rolled-back", commit=False)
    assert await logs(c) == []
    assert fake.sms == []


@pytest.mark.parametrize(
    ("field", "given"),
    [
        ("to", {"to": "9900000002"}),
        ("to", {"to": "+0123456789"}),
        ("to", {"to": "+91 99000 00002"}),
        ("to", {"to": "+" + "9" * 16}),
        ("body", {"body": "x" * 481}),
        ("body", {"body": " \n\t"}),
        ("body", {"body": ""}),
        ("body", {"body": "nul\x00"}),
        ("key", {"key": ""}),
        ("key", {"key": "k" * 201}),
        ("related", {"related": ("", uuid.uuid4())}),
    ],
)
async def test_bad_input_is_a_422_before_anything_is_written(
    c: Any, fake: FakeTelephony, field: str, given: dict[str, Any]
) -> None:
    values = {"key": "bad", **given}
    with pytest.raises(ValidationFailed) as raised:
        await queue(c, **values)
    assert [error.field for error in raised.value.errors] == [field]
    assert await logs(c) == [] and fake.sms == []


async def test_the_longest_body_is_accepted(c: Any, fake: FakeTelephony) -> None:
    await queue(c, "long", body="y" * 480)
    assert [len(sent.body) for sent in fake.sms] == [480]


async def test_an_outage_leaves_it_queued_for_the_sweep(c: Any, fake: FakeTelephony) -> None:
    fake.fail_next(1)
    sms_id = await queue(c, "outage")
    (log,) = await logs(c)
    assert (log.status.value, log.attempts, log.provider_sid) == ("QUEUED", 1, None)
    sms = c.comms.telephony.sms
    assert await sms.resend() == 0  # tried less than a minute ago
    await age(c, 2)
    assert await sms.resend() == 1
    (log,) = await logs(c)
    assert (log.id, log.status.value, log.attempts) == (sms_id, "SENT", 2)
    assert len(fake.sms) == 1  # the failed try sent nothing


async def test_the_provider_stays_down_the_sms_fails_after_the_last_attempt(
    c: Any, fake: FakeTelephony
) -> None:
    fake.fail_next(MAX_ATTEMPTS)
    await queue(c, "down")
    for _ in range(MAX_ATTEMPTS - 1):
        await age(c, 2)
        await c.comms.telephony.sms.resend()
    (log,) = await logs(c)
    assert (log.status.value, log.attempts) == ("FAILED", MAX_ATTEMPTS)


async def test_a_refusal_fails_it_with_the_providers_word(c: Any, fake: FakeTelephony) -> None:
    fake.fail_next(1, retryable=False)
    await queue(c, "refused")
    (log,) = await logs(c)
    assert log.status.value == "FAILED" and log.error
    await age(c, 2)
    assert await c.comms.telephony.sms.resend() == 0


async def test_unconfigured_telephony_fails_the_row_without_a_provider_call(
    container: Any,
) -> None:
    """The default container has no ``MAS_EXOTEL_*`` settings: the row is written (the
    caller's change is not refused) and its task ends it FAILED."""
    assert not container.comms.telephony.telephony.enabled
    sms_id = await queue(container, "unconfigured")
    (log,) = await logs(container)
    assert (log.id, log.status.value, log.error, log.attempts) == (
        sms_id,
        "FAILED",
        NOT_CONFIGURED,
        0,
    )


async def test_one_attempt_is_claimed_by_one_sender(container: Any) -> None:
    """The send task, the lead route and the sweep claim an attempt before asking the
    provider: of two claims of the same attempt only the first wins."""
    async with container.uow() as uow:  # rolled back below: no task runs
        sms_id = await container.messenger.sms(uow, to=PHONE, body="b", key="claim")
        now = container.clock.now()
        assert await uow.sms_logs.claim(sms_id, 0, now)
        assert not await uow.sms_logs.claim(sms_id, 0, now)
        assert await uow.sms_logs.claim(sms_id, 1, now)
        log = await uow.sms_logs.get(sms_id)
        assert log is not None and log.attempts == 2
        await uow.rollback()


@pytest.mark.committing
async def test_concurrent_sends_with_one_key_write_one_row(c: Any, fake: FakeTelephony) -> None:
    ids = await asyncio.gather(*(queue(c, "raced") for _ in range(4)))
    assert len(set(ids)) == 1
    (log,) = await logs(c)
    assert log.id == ids[0] and log.status.value == "SENT"
    assert len(fake.sms) == 1
