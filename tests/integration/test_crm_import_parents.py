"""The import's foreign keys checked once per chunk (``mas.adapters.db.crm.bulk_parents``), on
PostgreSQL: the same rows, rejections and merges as with the per-row triggers, a refused chunk
that loses nothing and doubles nothing, and the triggers kept where they cannot be skipped.

Each test runs with the per-chunk check (``skip``) and with the triggers (the role may not set
``session_replication_role``): both must give the same tables.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from mas.adapters.db.crm import bulk_parents
from mas.core.crm.import_engine import ImportBusy
from mas.core.crm.model import ImportStatus, Lead, LeadSource, LeadStatus
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7
from tests.integration.test_crm_import import (
    add_user,
    count,
    csv_bytes,
    head_caller,
    lead_by_phone,
    phone,
    totals,
)


@pytest.fixture(params=["per_chunk", "per_row"])
def skip(request: pytest.FixtureRequest, container: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Whether the chunks skip the per-row triggers; counts the chunks that did."""
    if container.engine.dialect.name != "postgresql":
        pytest.skip("the per-chunk check is PostgreSQL's")
    if request.param == "per_row":

        async def may_not(conn: Any) -> bool:
            return False

        monkeypatch.setattr(bulk_parents, "may_skip_triggers", may_not)
    seen = {"skipped": 0, "kept": 0}
    real = bulk_parents.triggers_skipped

    def counting(conn: Any, skip: bool) -> Any:
        seen["skipped" if skip else "kept"] += 1
        return real(conn, skip)

    monkeypatch.setattr(bulk_parents, "triggers_skipped", counting)
    return request.param, seen


async def queued(c: Any, caller: Any, data: bytes, chunk: int) -> Any:
    """An uploaded batch, QUEUED but not run (the test runs it)."""
    c.crm.imports.chunk_rows = chunk
    batch = await c.crm.imports.upload(caller, "leads.csv", data)
    async with c.uow() as uow:
        found = await uow.imports.get(batch.id)
        found.move(ImportStatus.QUEUED)
        await uow.imports.save(found)
        await uow.commit()
    return batch


async def test_rejections_and_duplicates_across_chunks(container: Any, skip: Any) -> None:
    mode, seen = skip
    head = await add_user(container, Role.SALES_HEAD)
    now = container.clock.now()
    lost = Lead(
        id=uuid7(),
        created_at=now,
        updated_at=now,
        source=LeadSource.MANUAL,
        owning_sales_head_id=head.id,
        name="Existing",
        phone_e164="+91" + phone(700),
        status=LeadStatus.NOT_INTERESTED,
        lost_reason="price",
    )
    emailed = Lead(
        id=uuid7(),
        created_at=now,
        updated_at=now,
        source=LeadSource.MANUAL,
        owning_sales_head_id=head.id,
        name="Mailed",
        email="mailed@example.com",
    )
    async with container.uow() as uow:
        await uow.leads.add(lost)
        await uow.leads.add(emailed)
        await uow.commit()
    rows: list[list[str]] = []
    for i in range(120):  # three chunks of 40
        if i % 30 == 3:
            rows.append([f"Nobody {i}", "", "", "Pune"])  # NO_CONTACT
        elif i % 30 == 4:
            rows.append([f"Typo {i}", "", "not-an-email", ""])  # BAD_EMAIL
        elif i in (50, 90):
            rows.append([f"Again {i}", phone(i - 45), "", "Delhi"])  # a row of an earlier chunk
        elif i == 60:
            rows.append(["Back", f"0{phone(700)}", "", "Kochi"])  # the lost lead, reopened
        elif i == 100:
            rows.append(["Mailed again", phone(500), "mailed@example.com", "Jaipur"])
        else:
            rows.append([f"Lead {i}", phone(i), f"lead{i}@example.com", ""])
    batch = await queued(container, head_caller(head), csv_bytes(rows), chunk=40)
    done = await container.crm.imports.run(batch.id)

    assert done.status is ImportStatus.COMPLETED_WITH_ERRORS
    assert (done.created_count, done.merged_count, done.rejected_count) == (108, 4, 8)
    assert done.rejected_by_reason == {"NO_CONTACT": 4, "BAD_EMAIL": 4}
    assert await totals(container) == (110, 112, 113)  # + the reopening's activity
    rejected = await count(
        container,
        "SELECT count(*) FROM lead_import_rows WHERE outcome = 'REJECTED' "
        "AND row_no IN (4, 5, 34, 35, 64, 65, 94, 95)",
    )
    assert rejected == 8
    again = await lead_by_phone(container, "+91" + phone(5))
    assert (again.name, again.email, again.city, again.reinquiry_count) == (
        "Lead 5",
        "lead5@example.com",
        "Delhi",
        1,
    )
    back = await lead_by_phone(container, "+91" + phone(700))
    assert (back.id, back.status, back.city, back.reinquiry_count) == (
        lost.id,
        LeadStatus.NEW,
        "Kochi",
        1,
    )
    mailed = await lead_by_phone(container, "+91" + phone(500))
    assert (mailed.id, mailed.name, mailed.city) == (emailed.id, "Mailed", "Jaipur")
    orphans = await count(
        container,
        "SELECT count(*) FROM lead_intakes AS intake LEFT JOIN raw_leads AS lead "
        "ON lead.id = intake.raw_lead_id WHERE lead.id IS NULL",
    )
    assert orphans == 0
    if mode == "per_chunk":
        assert seen == {"skipped": 6, "kept": 0}  # leads and journal, in each of 3 chunks
    else:
        assert seen == {"skipped": 0, "kept": 6}


async def test_a_refused_chunk_loses_and_doubles_nothing(container: Any, skip: Any) -> None:
    """The second of three chunks breaks a constraint: the first stays, the second leaves no
    row behind; once the constraint is gone a rerun writes each row exactly once."""
    head = await add_user(container, Role.SALES_HEAD)
    rows = [[f"Lead {i}", phone(i % 130), "", ""] for i in range(150)]
    rows[75] = ["Poison", phone(900), "", ""]
    batch = await queued(container, head_caller(head), csv_bytes(rows), chunk=50)
    async with container.engine.begin() as conn:
        await conn.execute(
            text("ALTER TABLE raw_leads ADD CONSTRAINT ck_test_poison CHECK (name <> 'Poison')")
        )
    with pytest.raises(ImportBusy):
        await container.crm.imports.run(batch.id)
    halfway = await container.crm.imports.get(head_caller(head), batch.id)
    assert (halfway.created_count, halfway.merged_count) == (50, 0)
    assert await totals(container) == (50, 50, 50)

    async with container.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE raw_leads DROP CONSTRAINT ck_test_poison"))
    done = await container.crm.imports.run(batch.id)
    assert done.status is ImportStatus.COMPLETED
    assert (done.created_count, done.merged_count) == (130, 20)
    assert await totals(container) == (130, 150, 150)
    doubled = await count(
        container,
        "SELECT count(*) FROM (SELECT channel_ref FROM lead_intakes GROUP BY channel_ref "
        "HAVING count(*) > 1) AS twice",
    )
    assert doubled == 0


async def test_an_insert_trigger_of_its_own_keeps_the_triggers_on(
    container: Any, skip: Any
) -> None:
    """A table's own INSERT trigger (here an audit count) must fire for every row."""
    _, seen = skip
    head = await add_user(container, Role.SALES_HEAD)
    async with container.engine.begin() as conn:
        for statement in (
            "CREATE TABLE test_audit (n integer NOT NULL)",
            "CREATE FUNCTION test_audit_row() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN INSERT INTO test_audit VALUES (1); RETURN NEW; END $$",
            "CREATE TRIGGER test_audit AFTER INSERT ON lead_activities "
            "FOR EACH ROW EXECUTE FUNCTION test_audit_row()",
        ):
            await conn.execute(text(statement))
        assert not await bulk_parents.may_skip_triggers(conn)
    try:
        rows = [[f"Lead {i}", phone(i), "", ""] for i in range(30)]
        batch = await queued(container, head_caller(head), csv_bytes(rows), chunk=10)
        done = await container.crm.imports.run(batch.id)
        assert done.created_count == 30
        assert await count(container, "SELECT count(*) FROM test_audit") == 30
        assert seen["skipped"] == 0
    finally:
        async with container.engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER test_audit ON lead_activities"))
            await conn.execute(text("DROP FUNCTION test_audit_row()"))
            await conn.execute(text("DROP TABLE test_audit"))


async def test_the_parents_are_checked(container: Any) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("the per-chunk check is PostgreSQL's")
    head = await add_user(container, Role.SALES_HEAD)
    async with container.engine.begin() as conn:
        assert await bulk_parents.head_locked(conn, head.id)
        assert not await bulk_parents.head_locked(conn, uuid7())
        assert await bulk_parents.head_locked(conn, None)
        assert await bulk_parents.may_skip_triggers(conn)  # the test role is a superuser
