"""CSV imports and the vendor pull through the set-based engine, on SQLite and PostgreSQL.

Counts are read straight from the tables: a user would notice an extra lead, a missing intake
or a second "created" line in a timeline.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from mas.adapters.db.crm.imports import SqlImportRepository
from mas.core.crm.model import ImportStatus, Lead, LeadSource, LeadStatus
from mas.core.crm.ports.imports import VendorLeadIn
from mas.core.crm.tagging import NewTag
from mas.core.identity.model import User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import BadRequest, Conflict, Forbidden, ValidationFailed
from mas.core.platform.ids import uuid7

ADMIN = Caller(user_id=uuid.uuid4(), role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)


async def add_user(c: Any, role: Role) -> User:
    user = User(
        id=uuid7(),
        email=f"{role.value.lower()}-{uuid.uuid4().hex[:6]}@example.com",
        role=role,
        created_at=c.clock.now(),
    )
    async with c.uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


def head_caller(head: User) -> Caller:
    return Caller(
        user_id=head.id,
        role=Role.SALES_HEAD,
        platform=Platform.MY_ANALYTICS_SCHOOL,
        page_permissions=frozenset({"crm.imports"}),
    )


def phone(n: int) -> str:
    return f"98{n:08d}"


def csv_bytes(rows: list[list[str]], header: str = "Name,Mobile,Email,City") -> bytes:
    out = io.StringIO()
    out.write(header + "\n")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


async def count(c: Any, sql: str, **params: Any) -> int:
    async with c.engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


async def totals(c: Any) -> tuple[int, int, int]:
    return (
        await count(c, "SELECT count(*) FROM raw_leads"),
        await count(c, "SELECT count(*) FROM lead_intakes"),
        await count(c, "SELECT count(*) FROM lead_activities"),
    )


async def lead_by_phone(c: Any, number: str) -> Lead:
    async with c.engine.connect() as conn:
        found = (
            await conn.execute(
                text("SELECT id FROM raw_leads WHERE phone_e164 = :p AND deleted_at IS NULL"),
                {"p": number},
            )
        ).all()
    assert len(found) == 1, (number, found)
    raw = found[0][0]
    lead_id = raw if isinstance(raw, uuid.UUID) else uuid.UUID(bytes=raw)
    from mas.core.crm.scope import SYSTEM_SCOPE

    async with c.uow() as uow:
        lead = await uow.leads.get(lead_id, SYSTEM_SCOPE)
    assert lead is not None
    return lead


async def imported(c: Any, caller: Caller, data: bytes, chunk: int = 10_000, **kw: Any) -> Any:
    """Upload and commit; the in-memory broker runs the import inline."""
    c.crm.imports.chunk_rows = chunk
    batch = await c.crm.imports.upload(caller, "leads.csv", data, **kw)
    return await c.crm.imports.commit(caller, batch.id)


async def test_thousand_rows_ten_without_contact(container: Any) -> None:
    """Acceptance check 6: created + merged = 990, 10 rejected, the error CSV has those 10."""
    head = await add_user(container, Role.SALES_HEAD)
    rows = []
    for i in range(1000):
        if i % 100 == 42:
            rows.append([f"Nobody {i}", "", "", "Pune"])
        elif i % 50 == 7:
            rows.append([f"Again {i}", phone(i - 1), "", "Delhi"])  # the row above, again
        else:
            rows.append([f"Lead {i}", phone(i), f"lead{i}@example.com", ""])
    batch = await imported(container, head_caller(head), csv_bytes(rows), chunk=128)

    assert batch.status is ImportStatus.COMPLETED_WITH_ERRORS
    assert batch.created_count + batch.merged_count == 990
    assert (batch.merged_count, batch.rejected_count) == (20, 10)
    assert batch.rejected_by_reason == {"NO_CONTACT": 10}
    assert batch.total_rows == 1000 and batch.finished_at is not None
    assert await totals(container) == (970, 990, 990)
    errors = await container.crm.imports.errors_csv(head_caller(head), batch.id)
    lines = list(csv.reader(io.StringIO(errors.decode("utf-8-sig"))))
    assert lines[0] == ["row_no", "reasons", "Name", "Mobile", "Email", "City"]
    assert [line[0] for line in lines[1:]] == [str(i + 1) for i in range(1000) if i % 100 == 42]
    assert {line[1] for line in lines[1:]} == {"NO_CONTACT"}
    owners = await count(
        container,
        "SELECT count(*) FROM raw_leads WHERE owning_sales_head_id IS NOT NULL AND source = 'CSV'",
    )
    assert owners == 970
    events = await count(
        container, "SELECT count(*) FROM outbox_events WHERE subject = 'mas.lead.imported'"
    )
    assert events == 1


async def test_duplicates_inside_the_file_merge_into_the_first_rows_lead(container: Any) -> None:
    head = await add_user(container, Role.SALES_HEAD)
    rows = [
        ["Ravi", "098765 43210", "", "Pune"],
        ["Ravi K", "+91 98765-43210", "ravi@example.com", "Mumbai"],
        ["Meera", "", "meera@example.com", ""],
        ["Meera S", "", "MEERA@example.com", "Jaipur"],
        ["Anil", "9811111111", "anil@example.com", ""],
        ["Anil (office)", "9822222222", "anil@example.com", ""],
    ]
    batch = await imported(container, head_caller(head), csv_bytes(rows))
    assert (batch.created_count, batch.merged_count) == (3, 3)

    ravi = await lead_by_phone(container, "+919876543210")
    assert (ravi.name, ravi.email, ravi.city, ravi.reinquiry_count) == (
        "Ravi",
        "ravi@example.com",
        "Pune",
        1,
    )
    anil = await lead_by_phone(container, "+919811111111")
    assert anil.phone_alt == "+919822222222" and anil.reinquiry_count == 1
    assert await count(container, "SELECT count(*) FROM raw_leads") == 3
    meera = await count(
        container,
        "SELECT count(*) FROM raw_leads WHERE email = 'meera@example.com' AND city = 'Jaipur'",
    )
    assert meera == 1
    outcomes = await count(
        container,
        "SELECT count(*) FROM lead_intakes WHERE outcome = 'CREATED' AND channel_ref IN "
        "(:r1, :r3, :r5)",
        r1=f"batch:{batch.id}:1",
        r3=f"batch:{batch.id}:3",
        r5=f"batch:{batch.id}:5",
    )
    assert outcomes == 3


async def test_merges_fill_empty_fields_keep_owners_and_reopen_lost_leads(container: Any) -> None:
    owner, importer = (
        await add_user(container, Role.SALES_HEAD),
        await add_user(container, Role.SALES_HEAD),
    )
    seller = await add_user(container, Role.SALES)
    now = container.clock.now()

    def lead(**values: Any) -> Lead:
        base: dict[str, Any] = {
            "id": uuid7(),
            "created_at": now,
            "updated_at": now,
            "source": LeadSource.MANUAL,
            "owning_sales_head_id": owner.id,
            "assigned_to": seller.id,
        }
        return Lead(**{**base, **values})

    lost = lead(
        name="Asha",
        phone_e164="+919876500001",
        email="asha@example.com",
        status=LeadStatus.NOT_INTERESTED,
        lost_reason="price",
    )
    converted = lead(
        name="Bala", phone_e164="+919876500002", status=LeadStatus.CONVERTED, conversion_ref="x"
    )
    emailed = lead(name="Chitra", email="chitra@example.com")
    async with container.uow() as uow:
        for item in (lost, converted, emailed):
            await uow.leads.add(item)
        await uow.commit()

    rows = [
        ["Someone Else", "98765 00001", "other@example.com", "Pune"],
        ["Bala", "9876500002", "", "Kochi"],
        ["Chitra", "9876500003", "chitra@example.com", ""],
    ]
    batch = await imported(container, head_caller(importer), csv_bytes(rows))
    assert (batch.created_count, batch.merged_count, batch.rejected_count) == (0, 3, 0)

    asha = await lead_by_phone(container, "+919876500001")
    assert (asha.name, asha.email, asha.city) == ("Asha", "asha@example.com", "Pune")
    assert (asha.owning_sales_head_id, asha.assigned_to) == (owner.id, seller.id)
    assert (asha.status, asha.lost_reason, asha.reinquiry_count) == (LeadStatus.NEW, None, 1)
    bala = await lead_by_phone(container, "+919876500002")
    assert (bala.status, bala.city) == (LeadStatus.CONVERTED, "Kochi")
    chitra = await lead_by_phone(container, "+919876500003")
    assert chitra.id == emailed.id and chitra.owning_sales_head_id == owner.id
    kinds = await count(
        container,
        "SELECT count(*) FROM lead_activities WHERE raw_lead_id = :id AND type IN "
        "('INTAKE_MERGED', 'REOPENED')",
        id=asha.id if container.engine.dialect.name == "postgresql" else asha.id.bytes,
    )
    assert kinds == 2
    reopened = await count(
        container, "SELECT count(*) FROM lead_intakes WHERE outcome = 'REOPENED'"
    )
    assert reopened == 1


async def test_rerunning_a_batch_creates_nothing(container: Any) -> None:
    """Acceptance check 7, and a rerun from the first row: nothing new, nothing counted twice."""
    head = await add_user(container, Role.SALES_HEAD)
    rows = [[f"Lead {i}", phone(i), "", ""] for i in range(300)] + [["X", "", "", ""]]
    batch = await imported(container, head_caller(head), csv_bytes(rows), chunk=64)
    before = await totals(container)
    assert before == (300, 300, 300)

    again = await container.crm.imports.run(batch.id)
    assert again.status is ImportStatus.COMPLETED_WITH_ERRORS
    assert await totals(container) == before

    async with container.engine.begin() as conn:
        await conn.execute(
            text("UPDATE lead_import_batches SET status = 'RUNNING', resume_row = 0")
        )
    replayed = await container.crm.imports.run(batch.id)
    assert await totals(container) == before
    assert await count(container, "SELECT count(*) FROM lead_import_rows") == 1
    assert (replayed.created_count, replayed.merged_count, replayed.rejected_count) == (300, 0, 1)
    assert replayed.status is ImportStatus.COMPLETED_WITH_ERRORS


async def test_a_run_killed_after_a_chunk_resumes_without_doubles(container: Any) -> None:
    head = await add_user(container, Role.SALES_HEAD)
    rows = [[f"Lead {i}", phone(i % 240), "", ""] for i in range(350)]
    container.crm.imports.chunk_rows = 100
    batch = await container.crm.imports.upload(head_caller(head), "l.csv", csv_bytes(rows))
    async with container.uow() as uow:  # committed without running (as if the worker died)
        queued = await uow.imports.get(batch.id)
        queued.column_map = batch.column_map
        queued.move(ImportStatus.QUEUED)
        await uow.imports.save(queued)
        await uow.commit()

    class Killed(Exception):
        pass

    def die(_: Any) -> None:
        raise Killed

    with pytest.raises(Killed):
        await container.crm.imports.run(batch.id, on_chunk=die)
    halfway = await container.crm.imports.get(head_caller(head), batch.id)
    assert halfway.status is ImportStatus.RUNNING
    assert halfway.created_count == 100 and await totals(container) == (100, 100, 100)

    # A second death inside a chunk, before its commit: the chunk rolls back whole.
    real = SqlImportRepository.write_chunk

    async def write_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
        await real(self, *args, **kwargs)
        raise Killed

    SqlImportRepository.write_chunk = write_then_die  # type: ignore[method-assign]
    try:
        with pytest.raises(Killed):
            await container.crm.imports.run(batch.id)
    finally:
        SqlImportRepository.write_chunk = real  # type: ignore[method-assign]
    assert await totals(container) == (100, 100, 100)

    done = await container.crm.imports.run(batch.id)
    assert done.status is ImportStatus.COMPLETED
    assert (done.created_count, done.merged_count) == (240, 110)
    assert await totals(container) == (240, 350, 350)


async def test_a_dead_import_job_fails_the_batch_and_a_retry_finishes_it(container: Any) -> None:
    head = await add_user(container, Role.SALES_HEAD)
    caller = head_caller(head)
    data = csv_bytes([[f"Lead {i}", phone(i), "", ""] for i in range(5)])
    batch = await container.crm.imports.upload(caller, "d.csv", data)
    await container.storage.delete(batch.file_key)  # the job cannot read its file: it dies
    failed = await container.crm.imports.commit(caller, batch.id)
    assert failed.status is ImportStatus.FAILED
    assert failed.last_error is not None and "no stored file" in failed.last_error
    await container.storage.put(batch.file_key, data)
    retried = await container.crm.imports.retry(caller, batch.id)
    assert (retried.status, retried.created_count, retried.last_error) == (
        ImportStatus.COMPLETED,
        5,
        None,
    )


@pytest.mark.committing  # concurrent transactions
async def test_concurrent_imports_of_one_phone_give_one_lead(container: Any) -> None:
    heads = [await add_user(container, Role.SALES_HEAD) for _ in range(2)]
    container.crm.imports.chunk_rows = 50
    batches = []
    for k, head in enumerate(heads):
        rows = [[f"Lead {k}-{i}", phone(i + 100 * k), "", ""] for i in range(200)]
        batches.append(
            await container.crm.imports.upload(head_caller(head), "c.csv", csv_bytes(rows))
        )
    for batch in batches:
        async with container.uow() as uow:
            queued = await uow.imports.get(batch.id)
            queued.move(ImportStatus.QUEUED)
            await uow.imports.save(queued)
            await uow.commit()

    done = await asyncio.gather(*(container.crm.imports.run(b.id) for b in batches))
    assert sum(b.created_count for b in done) == 300
    assert sum(b.merged_count for b in done) == 100
    assert await totals(container) == (300, 400, 400)
    per_phone = await count(
        container,
        "SELECT count(*) FROM (SELECT phone_e164 FROM raw_leads GROUP BY phone_e164 "
        "HAVING count(*) > 1) AS doubled",
    )
    assert per_phone == 0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("\ufeffName,Mobile\nAsha,9876543210\n".encode(), ("Asha", "+919876543210")),
        ("Name;Mobile\nJosé;9876543210\n".encode("cp1252"), ("José", "+919876543210")),
        (b'Name,Mobile\n"Ravi\nKumar","98765 43210"\n', ("Ravi\nKumar", "+919876543210")),
    ],
    ids=["utf8-bom", "cp1252-semicolons", "quoted-newline"],
)
async def test_csv_dialects(container: Any, data: bytes, expected: tuple[str, str]) -> None:
    head = await add_user(container, Role.SALES_HEAD)
    batch = await imported(container, head_caller(head), data)
    assert (batch.status, batch.created_count) == (ImportStatus.COMPLETED, 1)
    lead = await lead_by_phone(container, expected[1])
    assert lead.name == " ".join(expected[0].split())


async def test_upload_refusals(container: Any) -> None:
    head = await add_user(container, Role.SALES_HEAD)
    caller = head_caller(head)
    with pytest.raises(BadRequest) as not_csv:
        await container.crm.imports.upload(caller, "x.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    assert not_csv.value.code == "not_csv"
    too_many = csv_bytes([[f"P{i}", phone(i)] for i in range(50_001)], "Name,Mobile")
    with pytest.raises(ValidationFailed) as rows:
        await container.crm.imports.upload(caller, "big.csv", too_many)
    assert rows.value.code == "too_many_rows"

    header_only = await container.crm.imports.upload(caller, "h.csv", b"Name,Mobile\n")
    assert (header_only.status, header_only.total_rows) == (ImportStatus.PREVIEWED, 0)
    with pytest.raises(ValidationFailed) as empty:
        await container.crm.imports.commit(caller, header_only.id)
    assert empty.value.code == "empty_file"

    data = csv_bytes([["Asha", phone(1), "", ""]])
    first = await container.crm.imports.upload(caller, "a.csv", data)
    with pytest.raises(Conflict) as same:
        await container.crm.imports.upload(caller, "a.csv", data)
    assert same.value.code == "duplicate_file"
    forced = await container.crm.imports.upload(caller, "a.csv", data, force=True)
    assert forced.id != first.id

    other = await add_user(container, Role.SALES_HEAD)
    with pytest.raises(Forbidden):
        await container.crm.imports.upload(caller, "a.csv", data, target_sales_head_id=other.id)
    with pytest.raises(ValidationFailed):
        await container.crm.imports.upload(ADMIN, "a.csv", data, force=True)


async def test_mapping_edits_and_commit_rules(container: Any) -> None:
    head = await add_user(container, Role.SALES_HEAD)
    caller = head_caller(head)
    data = csv_bytes([["Asha", "x", "asha@example.com", "Pune"]], "Full name,Notes,E,Town")
    batch = await container.crm.imports.upload(caller, "m.csv", data)
    assert batch.column_map == {"Full name": "name", "Town": "city"}
    with pytest.raises(ValidationFailed) as no_contact:
        await container.crm.imports.commit(caller, batch.id)
    assert no_contact.value.code == "no_contact_column"
    with pytest.raises(ValidationFailed):
        await container.crm.imports.set_mapping(caller, batch.id, {"E": "salary"})
    mapped = await container.crm.imports.set_mapping(
        caller, batch.id, {"Full name": "name", "E": "email", "Town": "city"}
    )
    assert mapped.column_map["E"] == "email"
    done = await container.crm.imports.commit(caller, batch.id)
    assert (done.status, done.created_count) == (ImportStatus.COMPLETED, 1)
    with pytest.raises(Conflict):
        await container.crm.imports.set_mapping(caller, batch.id, {"E": "email"})
    with pytest.raises(Conflict):
        await container.crm.imports.cancel(caller, batch.id)
    stranger = head_caller(await add_user(container, Role.SALES_HEAD))
    with pytest.raises(Exception) as hidden:
        await container.crm.imports.get(stranger, batch.id)
    assert getattr(hidden.value, "code", "") == "import_not_found"


async def test_tags_from_the_file_and_for_the_whole_batch(container: Any) -> None:
    head = await add_user(container, Role.SALES_HEAD)
    for name in ("drone-tech", "webinar"):
        await container.crm.tags.create(ADMIN, NewTag(name=name))
    rows = [["Asha", phone(1), "Drone Tech, unknown-tag"], ["Ravi", phone(2), ""]]
    data = csv_bytes(rows, "Name,Mobile,Tags")
    with pytest.raises(ValidationFailed):
        await imported(container, head_caller(head), data, tags=["no-such-tag"])
    await imported(container, head_caller(head), data, tags=["webinar"])
    assert await count(container, "SELECT count(*) FROM raw_lead_tags") == 3


async def test_vendor_pull(container: Any) -> None:
    """Acceptance check 13: an unassigned vendor is 403; an assigned one's RECEIVED leads all
    end IMPORTED, DUPLICATE or REJECTED, and the imported ones know their lead."""
    head, other = (
        await add_user(container, Role.SALES_HEAD),
        await add_user(container, Role.SALES_HEAD),
    )
    admin = await add_user(container, Role.ADMIN)
    issued = await container.identity.vendor_keys.create(
        Caller(user_id=admin.id, role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL),
        "Shiksha",
        ["leads:write"],
    )
    key = issued.key.id
    vendor = container.crm.vendor_leads
    leads = [
        VendorLeadIn(external_id="v1", name="Asha", phone="9876500001", city="Pune"),
        VendorLeadIn(external_id="v2", name="Asha again", phone="+91 98765 00001"),
        VendorLeadIn(external_id="v3", name="Nobody"),
        VendorLeadIn(external_id="v4", name="Ravi", email="ravi@example.com"),
    ]
    pushed = await vendor.push(key, leads)
    assert (pushed.accepted, pushed.duplicates) == (["v1", "v2", "v3", "v4"], [])
    again = await vendor.push(key, leads[:1])
    assert (again.accepted, again.duplicates) == ([], ["v1"])

    with pytest.raises(Forbidden):
        await vendor.request_pull(head_caller(head), key)
    await vendor.assign_head(ADMIN, key, head.id)
    with pytest.raises(Forbidden):
        await vendor.request_pull(head_caller(other), key)
    queued = await vendor.request_pull(head_caller(head), None)
    assert [q.vendor_key_id for q in queued] == [key]

    async with container.engine.connect() as conn:
        found = (
            await conn.execute(
                text(
                    "SELECT external_id, status, raw_lead_id IS NOT NULL, reject_reason "
                    "FROM vendor_leads ORDER BY external_id"
                )
            )
        ).all()
    assert [(a, b, bool(c), d) for a, b, c, d in found] == [
        ("v1", "IMPORTED", True, None),
        ("v2", "DUPLICATE", True, None),
        ("v3", "REJECTED", False, "NO_CONTACT"),
        ("v4", "IMPORTED", True, None),
    ]
    asha = await lead_by_phone(container, "+919876500001")
    assert (asha.source, asha.owning_sales_head_id, asha.city) == (
        LeadSource.VENDOR,
        head.id,
        "Pune",
    )
    assert await count(container, "SELECT count(*) FROM lead_intakes WHERE channel = 'VENDOR'") == 3
    await vendor.pull(key)  # nothing RECEIVED left: a no-op
    assert await totals(container) == (2, 3, 3)
