"""The messenger's SMS writer on an in-memory SMS log: bounds, idempotency, the queued event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.core.comms.telephony.events import SmsQueued
from mas.core.comms.telephony.model import SmsLog
from mas.core.comms.telephony.writer import MAX_MESSENGER_SMS, SmsWriter
from mas.core.platform.errors import ValidationFailed
from mas.core.platform.events import DomainEvent


class MemorySmsLogs:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, SmsLog] = {}
        self.hidden: SmsLog | None = None  # a concurrent winner the reader cannot see yet

    async def by_key(self, key: str) -> SmsLog | None:
        return next((row for row in self.rows.values() if row.idempotency_key == key), None)

    async def add_keyed(self, log: SmsLog) -> uuid.UUID:
        if self.hidden is not None and self.hidden.idempotency_key == log.idempotency_key:
            self.rows[self.hidden.id], self.hidden = self.hidden, None
        known = await self.by_key(log.idempotency_key or "")
        if known is not None:
            return known.id
        self.rows[log.id] = log
        return log.id


class MemoryUow:
    def __init__(self) -> None:
        self.sms_logs = MemorySmsLogs()
        self.events: list[DomainEvent] = []

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)


NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def writer() -> SmsWriter:
    return SmsWriter(FakeClock(NOW))


async def send(writer: SmsWriter, uow: MemoryUow, **given: Any) -> uuid.UUID:
    values: dict[str, Any] = {"to": "+919900000003", "body": "Hello", "key": "k1", **given}
    return await writer.sms(uow, **values)  # type: ignore[arg-type]


async def test_a_queued_row_and_its_event(writer: SmsWriter) -> None:
    uow = MemoryUow()
    lead = uuid.uuid4()
    actor = uuid.uuid4()
    sms_id = await send(writer, uow, related=("raw_lead", lead), sent_by=actor)
    row = uow.sms_logs.rows[sms_id]
    assert (row.status.value, row.attempts, row.created_at, row.status_at) == (
        "QUEUED",
        0,
        NOW,
        NOW,
    )
    assert (row.raw_lead_id, row.related_type, row.related_id, row.user_id) == (
        lead,
        "raw_lead",
        lead,
        actor,
    )
    assert uow.events == [SmsQueued(sms_id=sms_id)]


async def test_the_same_key_answers_the_first_row_and_records_nothing(writer: SmsWriter) -> None:
    uow = MemoryUow()
    first = await send(writer, uow)
    assert await send(writer, uow, body="other", to="+14155550100") == first
    assert len(uow.sms_logs.rows) == 1 and len(uow.events) == 1


async def test_the_loser_of_a_concurrent_insert_answers_the_winner(writer: SmsWriter) -> None:
    uow = MemoryUow()
    winner = SmsLog(
        id=uuid.uuid4(),
        raw_lead_id=None,
        user_id=None,
        to_number="+919900000003",
        body="won",
        status="QUEUED",  # type: ignore[arg-type]
        created_at=NOW,
        status_at=NOW,
        idempotency_key="k1",
    )
    uow.sms_logs.hidden = winner
    assert await send(writer, uow) == winner.id
    assert uow.events == []


@pytest.mark.parametrize(
    ("given", "fields"),
    [
        ({"to": "919900000003"}, ["to"]),
        ({"to": "+919900000003 "}, ["to"]),
        ({"body": "b" * (MAX_MESSENGER_SMS + 1)}, ["body"]),
        ({"body": "   "}, ["body"]),
        ({"body": "a\x00b"}, ["body"]),
        ({"key": ""}, ["key"]),
        ({"to": "x", "body": "", "key": ""}, ["to", "body", "key"]),
        ({"related": ("r" * 41, uuid.uuid4())}, ["related"]),
    ],
)
async def test_bounds(writer: SmsWriter, given: dict[str, Any], fields: list[str]) -> None:
    uow = MemoryUow()
    with pytest.raises(ValidationFailed) as raised:
        await send(writer, uow, **given)
    assert [error.field for error in raised.value.errors] == fields
    assert uow.sms_logs.rows == {} and uow.events == []


async def test_the_limits_themselves_are_accepted(writer: SmsWriter) -> None:
    uow = MemoryUow()
    await send(writer, uow, body="b" * MAX_MESSENGER_SMS, key="k" * 200, to="+1" + "2" * 14)
    assert len(uow.sms_logs.rows) == 1
