"""Token governance tells people, on SQLite and PostgreSQL: the batch lead of a new request, the
student of the decision (approved, rejected) and of an expiry — one in-app notification and one
email each, written in the deciding transaction, never twice (tokens-earnings.md §6)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from mas.adapters.db.comms.notifications_tables import NotificationRow
from mas.adapters.db.platform.tables import OutboxMessageRow
from mas.adapters.db.tokens.wallet_tables import AllotmentRequestRow
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import Conflict
from mas.core.platform.ids import uuid7
from mas.core.tokens.wallet.model import Decision
from mas.core.tokens.wallet.notices import DECIDED, REQUESTED
from tests.integration.test_tokens_wallet import FakeBatches, ask, governance, person

__all__ = ["governance"]  # the fixture, imported for this module's tests


async def notices(c: Any, user: Caller) -> list[tuple[str, str | None]]:
    async with c.sessions() as session:
        rows = await session.execute(
            select(NotificationRow.title, NotificationRow.dedupe_key)
            .where(NotificationRow.user_id == user.user_id)
            .order_by(NotificationRow.id)
        )
        return [(r.title, r.dedupe_key) for r in rows]


async def mails(c: Any, request_id: uuid.UUID) -> list[tuple[str | None, str, str]]:
    async with c.sessions() as session:
        rows = await session.execute(
            select(OutboxMessageRow.template, OutboxMessageRow.recipient, OutboxMessageRow.subject)
            .where(OutboxMessageRow.related_id == request_id)
            .order_by(OutboxMessageRow.id)
        )
        return [(r.template, r.recipient, r.subject) for r in rows]


async def email_of(c: Any, user: Caller) -> str:
    found: str = (await c.identity.accounts.get(user.user_id)).email
    return found


async def setup(c: Any, batches: FakeBatches) -> tuple[Caller, Caller, uuid.UUID]:
    student, lead = await person(c), await person(c, Role.BATCH_LEAD)
    batch = uuid7()
    batches.leads[batch] = lead.user_id
    batches.members.add((student.user_id, batch))
    return student, lead, batch


async def test_the_lead_hears_of_a_request_and_the_student_of_the_approval_once(
    container: Any, governance: FakeBatches
) -> None:
    student, lead, batch = await setup(container, governance)
    allotments = container.tokens.wallet.allotments
    request = await allotments.raise_request(student, ask(batch))
    key = f"{REQUESTED}:{request.id}:PENDING"
    assert await notices(container, lead) == [("New token request", key)]
    assert await notices(container, student) == []
    lead_mail = await email_of(container, lead)
    assert [m[:2] for m in await mails(container, request.id)] == [(REQUESTED, lead_mail)]
    assert "asks for 3 mentor tokens" in (await mails(container, request.id))[0][2]

    await allotments.approve(lead, request.id)
    with pytest.raises(Conflict):
        await allotments.approve(lead, request.id)
    with pytest.raises(Conflict):
        await allotments.reject(lead, request.id, Decision(note="late"))
    decided = f"{DECIDED}:{request.id}:APPROVED"
    assert await notices(container, student) == [("Token request approved", decided)]
    assert len(await notices(container, lead)) == 1
    sent = await mails(container, request.id)
    assert [m[:2] for m in sent] == [
        (REQUESTED, lead_mail),
        (DECIDED, await email_of(container, student)),
    ]
    assert sent[1][2] == "Your request for 3 mentor tokens was approved"


async def test_a_rejection_and_an_expiry_reach_the_student_a_withdrawal_no_one(
    container: Any, governance: FakeBatches
) -> None:
    student, lead, batch = await setup(container, governance)
    allotments = container.tokens.wallet.allotments
    first = await allotments.raise_request(student, ask(batch))
    await allotments.reject(lead, first.id, Decision(note="ask next month"))
    assert await notices(container, student) == [
        ("Token request rejected", f"{DECIDED}:{first.id}:REJECTED")
    ]
    rejected = await mails(container, first.id)
    assert [m[0] for m in rejected] == [REQUESTED, DECIDED]

    second = await allotments.raise_request(student, ask(batch, 1))
    await allotments.withdraw(student, second.id)
    assert [m[0] for m in await mails(container, second.id)] == [REQUESTED]

    third = await allotments.raise_request(student, ask(batch, 2))
    async with container.sessions() as session:
        await session.execute(
            update(AllotmentRequestRow)
            .where(AllotmentRequestRow.id == third.id)
            .values(created_at=container.clock.now() - timedelta(days=15))
        )
        await session.commit()
    assert await allotments.expire() == 1
    assert await allotments.expire() == 0
    assert (await notices(container, student))[-1] == (
        "Token request expired",
        f"{DECIDED}:{third.id}:EXPIRED",
    )
    assert [m[0] for m in await mails(container, third.id)] == [REQUESTED, DECIDED]
    assert len(await notices(container, student)) == 2


async def test_a_batch_without_a_lead_notifies_no_one(
    container: Any, governance: FakeBatches
) -> None:
    student = await person(container)
    batch = uuid7()
    governance.members.add((student.user_id, batch))
    request = await container.tokens.wallet.allotments.raise_request(student, ask(batch))
    assert request.batch_lead_id is None
    assert await mails(container, request.id) == []
