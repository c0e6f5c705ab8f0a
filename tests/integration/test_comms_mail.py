"""The mail part on SQLite and PostgreSQL: the send log is the outbox, keyed by the sender.

Acceptance check 1 (the same key twice is one row and one provider call), the messenger's
refusals before anything is written, database templates rendered with escaped values, and a
mail to a lead written with its journal line in one transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from mas.adapters.db.platform.tables import OutboxMessageRow
from mas.core.comms.mail.model import LeadEmail, NewTemplate, OwnerScope, TemplateChanges
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict, NotFound, ValidationFailed
from mas.core.platform.job_model import JobFilter
from mas.core.platform.messages import OutboxStatus
from mas.core.platform.paging import PageRequest
from tests.integration.crm_fixtures import activities, add_floor, add_leads, set_lead

ALERT = {"subject": "Heads up", "body": "Something happened"}


def caller(user: Any, role: Role | None = None) -> Caller:
    return Caller(user_id=user.id, role=role or user.role, platform=Platform.MY_ANALYTICS_SCHOOL)


def admin() -> Caller:
    return Caller(user_id=uuid.uuid4(), role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)


async def rows(c: Any, **where: Any) -> list[Any]:
    async with c.uow() as uow:
        table = OutboxMessageRow.__table__
        stmt = select(table).order_by(table.c.created_at, table.c.id)
        for name, value in where.items():
            stmt = stmt.where(table.c[name] == value)
        return list(await uow.session.execute(stmt))


async def email(c: Any, key: str, **fields: Any) -> uuid.UUID:
    fields = {"template": "auth.alert", "to": "ops@example.com", "data": ALERT, **fields}
    async with c.uow() as uow:
        kept: uuid.UUID = await c.messenger.email(uow, key=key, **fields)
        await uow.commit()
    return kept


async def test_the_same_key_twice_is_one_row_and_one_provider_call(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivered: list[str] = []
    deliver = container.mail.deliver

    async def counting(envelope: Any) -> None:
        delivered.append(envelope.recipient)
        await deliver(envelope)

    monkeypatch.setattr(container.mail, "deliver", counting)
    first = await email(container, "alert:1")
    again = await email(container, "alert:1", data={"subject": "Other", "body": "other"})
    assert again == first
    async with container.uow() as uow:  # twice in one unit of work too
        assert (
            await container.messenger.email(
                uow, template="auth.alert", to="ops@example.com", data=ALERT, key="alert:1"
            )
            == first
        )
        await uow.commit()
    [row] = await rows(container, idempotency_key="alert:1")
    assert (row.id, row.subject, row.status) == (first, "Heads up", OutboxStatus.SENT.value)
    assert delivered == ["ops@example.com"]
    runs = await container.jobs.page(JobFilter(task="comms.send_email"), PageRequest())
    assert runs.total == 1


async def test_nothing_is_written_for_a_bad_address_or_missing_data(container: Any) -> None:
    async with container.uow() as uow:
        with pytest.raises(ValidationFailed) as bad:
            await container.messenger.email(
                uow,
                template="auth.alert",
                to=["ok@example.com", "not an address"],
                data=ALERT,
                key="k",
            )
        assert (bad.value.code, bad.value.errors[0].field) == ("invalid_address", "to[1]")
        with pytest.raises(ValidationFailed) as many:
            await container.messenger.email(
                uow,
                template="auth.alert",
                to=[f"p{n}@example.com" for n in range(51)],
                data=ALERT,
                key="k",
            )
        assert many.value.code == "invalid_address" and "50" in many.value.detail
        with pytest.raises(ValidationFailed) as missing:
            await container.messenger.email(
                uow, template="auth.alert", to="a@example.com", data={"subject": "s"}, key="k"
            )
        assert missing.value.code == "missing_variables"
        assert [e.field for e in missing.value.errors] == ["data.body"]
        with pytest.raises(NotFound) as unknown:
            await container.messenger.email(
                uow, template="no-such-template", to="a@example.com", data={}, key="k"
            )
        assert unknown.value.code == "template_not_found"
        await uow.commit()
    assert await rows(container) == []


async def test_several_recipients_get_one_row_each_with_derived_keys(container: Any) -> None:
    to = ["A@Example.com", "b@example.com", "a@example.com", "c@example.com"]
    first = await email(container, "team:1", to=to)
    assert await email(container, "team:1", to=to) == first
    # One call stamps its rows with one time, and UUIDv7 ids within a millisecond are random:
    # the recipients' order is their keys'.
    found = sorted(await rows(container), key=lambda r: r.idempotency_key)
    assert [(r.recipient, r.idempotency_key) for r in found] == [
        ("a@example.com", "team:1"),
        ("b@example.com", "team:1:2"),
        ("c@example.com", "team:1:3"),
    ]
    assert found[0].id == first


async def template(c: Any, key: str = "course-intro", **fields: Any) -> Any:
    values: dict[str, Any] = {
        "key": key,
        "name": "Course intro",
        "subject": "About {{ course }}, {{ name }}",
        "body_html": "<p>Dear {{ name }},</p><p>see <a href='https://x.in/c'>{{ course }}</a></p>",
        "variables": ["name", "course"],
        "owner_scope": OwnerScope.GLOBAL,
        **fields,
    }
    return await c.comms.mail.templates.create(admin(), NewTemplate(**values))


async def test_a_database_template_is_rendered_escaped_with_a_derived_text_part(
    container: Any,
) -> None:
    await template(container)
    data = {"name": "<b>Asha</b> & co", "course": "Data 101"}
    await email(container, "intro:1", template="course-intro", data=data, to="asha@example.com")
    [row] = await rows(container)
    assert row.subject == "About Data 101, <b>Asha</b> & co"
    assert "Dear &lt;b&gt;Asha&lt;/b&gt; &amp; co," in row.body_html
    assert row.body_text == "Dear <b>Asha</b> & co,\n\nsee Data 101 (https://x.in/c)"
    assert row.template == "course-intro"


async def test_an_inactive_template_is_refused(container: Any) -> None:
    made = await template(container)
    await container.comms.mail.templates.update(admin(), made.id, TemplateChanges(is_active=False))
    with pytest.raises(Conflict) as refused:
        await email(
            container, "intro:2", template="course-intro", data={"name": "a", "course": "b"}
        )
    assert refused.value.code == "template_inactive"
    assert await rows(container) == []


async def test_mailing_a_lead_writes_the_row_and_the_journal_line_together(
    container: Any,
) -> None:
    floor = await add_floor(container, "North", telecallers=2, counsellors=0)
    seller, other = floor.telecallers
    [lead] = await add_leads(container, floor.head.id, 1, assigned_to=seller.id)
    await set_lead(container, lead, email="Lead@Example.com")
    await template(container)
    request = LeadEmail(
        template_key="course-intro", data={"name": "Ravi", "course": "SQL"}, idempotency_key="x1"
    )
    sent = await container.comms.mail.lead_mail.send(caller(seller), lead, request)
    assert (sent.to, sent.status, sent.duplicate) == (
        "lead@example.com",
        OutboxStatus.PENDING,
        False,
    )
    again = await container.comms.mail.lead_mail.send(caller(seller), lead, request)
    assert (again.email_id, again.duplicate) == (sent.email_id, True)
    [row] = await rows(container, related_id=lead)
    assert (row.related_type, row.sent_by, row.idempotency_key) == (
        "raw_lead",
        seller.id,
        f"lead-email:{lead}:x1",
    )
    [journal] = await activities(container, "EMAIL", [lead])
    assert journal.actor_id == seller.id and journal.data["email_id"] == str(sent.email_id)
    with pytest.raises(NotFound):  # another salesperson's lead: out of scope
        await container.comms.mail.lead_mail.send(caller(other), lead, request)
    log = await container.comms.mail.send_log.page(caller(seller), PageRequest(), lead_id=lead)
    assert [m.id for m in log.items] == [sent.email_id]
    assert (await container.comms.mail.send_log.page(caller(other), PageRequest())).total == 0
    with pytest.raises(NotFound):
        await container.comms.mail.send_log.page(caller(other), PageRequest(), lead_id=lead)


@pytest.mark.committing
async def test_two_concurrent_units_with_one_key_keep_one_row(
    container: Any, database: Any
) -> None:
    if not database.url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: there is no concurrent insert to race")
    first_sent = asyncio.Event()
    first_may_commit = asyncio.Event()

    async def first() -> uuid.UUID:
        async with container.uow() as uow:
            kept: uuid.UUID = await container.messenger.email(
                uow, template="auth.alert", to="a@example.com", data=ALERT, key="race"
            )
            first_sent.set()
            await first_may_commit.wait()
            await uow.commit()
        return kept

    async def second() -> uuid.UUID:
        await first_sent.wait()
        async with container.uow() as uow:
            waiting = asyncio.create_task(
                container.messenger.email(
                    uow, template="auth.alert", to="a@example.com", data=ALERT, key="race"
                )
            )
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the second insert waits for the first transaction"
            first_may_commit.set()
            kept: uuid.UUID = await waiting
            await uow.commit()
        return kept

    one, two = await asyncio.gather(first(), second())
    assert one == two
    async with container.uow() as uow:
        count = (
            await uow.session.execute(
                select(func.count())
                .select_from(OutboxMessageRow)
                .where(OutboxMessageRow.idempotency_key == "race")
            )
        ).scalar_one()
    assert count == 1
    runs = await container.jobs.page(JobFilter(task="comms.send_email"), PageRequest())
    assert runs.total == 1
