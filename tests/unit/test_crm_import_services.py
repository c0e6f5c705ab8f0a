"""CSV imports and vendor leads on fakes: upload, mapping, commit, the run and its resume point,
rejected rows, the vendor push and pull.

The fake intake writer applies rows one after the other with the declared merge rule; the
set-based SQL that must agree with it is held to the same rule by
``tests/integration/test_crm_merge_rule.py`` and exercised in ``test_crm_import.py``.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from mas.core.crm.events import LeadsImported
from mas.core.crm.model import (
    ActivityType,
    ImportStatus,
    IntakeOutcome,
    Lead,
    LeadSource,
    LeadStatus,
)
from mas.core.crm.ports.imports import VendorLeadIn
from mas.core.crm.tagging import NewTag
from mas.core.identity.model import VendorKey
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import Conflict, Forbidden, InvalidState, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from tests.unit.crm_world import World, refused


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def csv_bytes(rows: list[list[str]], header: str = "Name,Mobile,Email,City") -> bytes:
    out = io.StringIO()
    out.write(header + "\n")
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def phone(n: int) -> str:
    return f"98{n:08d}"


def by_phone(world: World, number: str) -> Lead:
    [found] = [
        lead
        for lead in world.tables.leads.values()
        if lead.phone_e164 == number and lead.deleted_at is None
    ]
    return world.lead(found.id)


def totals(world: World) -> tuple[int, int, int]:
    t = world.tables
    return len(t.leads), len(t.intakes), len(t.activities)


async def committed_and_run(world: World, head: Caller, data: bytes, **kw: object) -> uuid.UUID:
    batch = await world.crm.imports.upload(head, "leads.csv", data, **kw)  # type: ignore[arg-type]
    await world.crm.imports.commit(head, batch.id)
    await world.crm.imports.run(batch.id)
    return batch.id


# --- upload, mapping, commit ------------------------------------------------------------------


async def test_an_upload_is_stored_and_previewed_with_a_proposed_mapping(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    data = csv_bytes([["Asha", phone(1), "", "Pune"], ["Ravi", phone(2), "r@x.org", ""]])
    batch = await world.crm.imports.upload(head, "leads.csv", data)
    assert (batch.status, batch.total_rows, batch.target_sales_head_id) == (
        ImportStatus.PREVIEWED,
        2,
        head.user_id,
    )
    assert batch.column_map == {"Name": "name", "Mobile": "phone", "Email": "email", "City": "city"}
    assert batch.preview[0] == {"Name": "Asha", "Mobile": phone(1), "Email": "", "City": "Pune"}
    assert world.tables.batches[batch.id].file_sha256 == batch.file_sha256
    again = await refused(
        world.crm.imports.upload(head, "leads.csv", data), Conflict, "duplicate_file"
    )
    assert str(batch.id) in again.detail
    world.clock.advance(hours=25)
    later = await world.crm.imports.upload(head, "leads.csv", data)
    assert later.id != batch.id, "the same file a day later is a new upload"


async def test_who_imports_into_which_pool(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    other = await world.person(Role.SALES_HEAD, "Other")
    admin = await world.person(Role.ADMIN, "Admin")
    sales = await world.person(Role.SALES, "Sales")
    data = csv_bytes([["Asha", phone(1), "", ""]])
    await refused(
        world.crm.imports.upload(head, "a.csv", data, target_sales_head_id=other.user_id),
        Forbidden,
        "other_pool",
    )
    await refused(world.crm.imports.upload(sales, "a.csv", data), Forbidden, "role_forbidden")
    await refused(world.crm.imports.upload(admin, "a.csv", data), ValidationFailed)
    await refused(
        world.crm.imports.upload(admin, "a.csv", data, target_sales_head_id=sales.user_id),
        ValidationFailed,
    )
    await refused(
        world.crm.imports.upload(head, "a.csv", data, tags=["no-such-tag"]),
        ValidationFailed,
        "unknown_tag",
    )
    placed = await world.crm.imports.upload(
        admin, "a.csv", data, target_sales_head_id=other.user_id
    )
    assert placed.target_sales_head_id == other.user_id
    await refused(world.crm.imports.get(head, placed.id), NotFound, "import_not_found")
    assert (await world.crm.imports.get(other, placed.id)).id == placed.id


async def test_the_mapping_is_edited_then_commit_queues_the_run(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    data = csv_bytes([["Asha", "x", "asha@example.com", "Pune"]], "Full name,Notes,E,Town")
    batch = await world.crm.imports.upload(head, "m.csv", data)
    assert batch.column_map == {"Full name": "name", "Town": "city"}
    await refused(world.crm.imports.commit(head, batch.id), ValidationFailed, "no_contact_column")
    await refused(
        world.crm.imports.set_mapping(head, batch.id, {"E": "salary"}),
        ValidationFailed,
        "bad_mapping",
    )
    mapped = await world.crm.imports.set_mapping(
        head, batch.id, {"Full name": "name", "E": "email", "Town": "city"}
    )
    assert mapped.column_map == {"Full name": "name", "E": "email", "Town": "city"}
    queued = await world.crm.imports.commit(head, batch.id)
    assert queued.status is ImportStatus.QUEUED and queued.committed_at == world.clock.now()
    assert world.tasks("crm.import_batch") == [
        ({"batch_id": str(batch.id)}, f"{batch.id}@{world.clock.now().isoformat()}")
    ]
    await refused(world.crm.imports.commit(head, batch.id), InvalidState)
    await refused(world.crm.imports.set_mapping(head, batch.id, {"E": "email"}), InvalidState)
    await refused(world.crm.imports.cancel(head, batch.id), InvalidState)


async def test_a_cancelled_upload_goes_nowhere(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    data = csv_bytes([["Asha", phone(1), "", ""]])
    batch = await world.crm.imports.upload(head, "c.csv", data)
    cancelled = await world.crm.imports.cancel(head, batch.id)
    assert cancelled.status is ImportStatus.CANCELLED and cancelled.finished_at is not None
    await refused(world.crm.imports.commit(head, batch.id), InvalidState)
    again = await world.crm.imports.upload(head, "c.csv", data)
    assert again.id != batch.id, "a cancelled upload does not block the same file"


# --- the run ----------------------------------------------------------------------------------


async def test_a_run_imports_rejects_and_announces_once(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    await world.crm.tags.create(await world.person(Role.ADMIN, "Admin"), NewTag(name="webinar"))
    rows = [
        ["Asha", phone(1), "asha@example.com", ""],
        ["Nobody", "", "", "Pune"],
        ["Ravi", phone(2), "not-an-email", ""],
        ["Meera", "", "meera@example.com", "Jaipur"],
    ]
    batch_id = await committed_and_run(world, head, csv_bytes(rows), tags=["webinar"])
    batch = world.tables.batches[batch_id]
    assert batch.status is ImportStatus.COMPLETED_WITH_ERRORS and batch.finished_at is not None
    assert (batch.created_count, batch.merged_count, batch.rejected_count) == (2, 0, 2)
    assert batch.rejected_by_reason == {"NO_CONTACT": 1, "BAD_EMAIL": 1}
    asha = by_phone(world, "+919800000001")
    assert (asha.source, asha.source_detail, asha.owning_sales_head_id) == (
        LeadSource.CSV,
        "leads.csv",
        head.user_id,
    )
    assert asha.tags == ["webinar"]
    assert [i.channel_ref for i in world.tables.intakes] == [
        f"batch:{batch_id}:1",
        f"batch:{batch_id}:4",
    ]
    [event] = world.events(LeadsImported)
    assert (event.batch_id, event.created, event.merged, event.rejected) == (batch_id, 2, 0, 2)
    errors = await world.crm.imports.errors_csv(head, batch_id)
    lines = list(csv.reader(io.StringIO(errors.decode("utf-8-sig"))))
    assert lines[0] == ["row_no", "reasons", "Name", "Mobile", "Email", "City"]
    assert [(line[0], line[1]) for line in lines[1:]] == [("2", "NO_CONTACT"), ("3", "BAD_EMAIL")]
    assert batch.error_file_key is not None
    again = await world.crm.imports.run(batch_id)
    assert again.status is ImportStatus.COMPLETED_WITH_ERRORS and len(world.store.events) == 1


async def test_duplicates_inside_the_file_merge_into_the_first_rows_lead(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    rows = [
        ["Ravi", "098765 43210", "", "Pune"],
        ["Ravi K", "+91 98765-43210", "ravi@example.com", "Mumbai"],
        ["Meera", "", "meera@example.com", ""],
        ["Meera S", "", "MEERA@example.com", "Jaipur"],
        ["Anil", "9811111111", "anil@example.com", ""],
        ["Anil (office)", "9822222222", "anil@example.com", ""],
    ]
    batch_id = await committed_and_run(world, head, csv_bytes(rows))
    batch = world.tables.batches[batch_id]
    assert (batch.created_count, batch.merged_count) == (3, 3)
    ravi = by_phone(world, "+919876543210")
    assert (ravi.name, ravi.email, ravi.city, ravi.reinquiry_count) == (
        "Ravi",
        "ravi@example.com",
        "Pune",
        1,
    )
    anil = by_phone(world, "+919811111111")
    assert (anil.phone_alt, anil.reinquiry_count) == ("+919822222222", 1)
    assert len(world.tables.leads) == 3
    created = [i.channel_ref for i in world.tables.intakes if i.outcome is IntakeOutcome.CREATED]
    assert created == [f"batch:{batch_id}:{row}" for row in (1, 3, 5)]


async def test_merges_keep_owners_and_reopen_lost_leads(world: World) -> None:
    owner = await world.floor("Owner", telecallers=1, counsellors=0)
    importer = await world.person(Role.SALES_HEAD, "Importer")
    seller = owner.telecallers[0]
    [lost] = await world.add_leads(
        owner.head, 1, status=LeadStatus.NOT_INTERESTED, assigned_to=seller
    )
    [won] = await world.add_leads(owner.head, 1, status=LeadStatus.CONVERTED)
    lost_phone = world.tables.leads[lost].phone_e164
    won_phone = world.tables.leads[won].phone_e164
    assert lost_phone is not None and won_phone is not None
    world.tables.leads[lost].lost_reason = "price"
    rows = [
        ["Someone Else", lost_phone, "other@example.com", "Pune"],
        ["Bala", won_phone, "", "Kochi"],
    ]
    batch_id = await committed_and_run(world, importer, csv_bytes(rows))
    batch = world.tables.batches[batch_id]
    assert (batch.created_count, batch.merged_count, batch.rejected_count) == (0, 2, 0)
    reopened = world.lead(lost)
    assert (reopened.name, reopened.email, reopened.city) == ("Lead 1", "other@example.com", "Pune")
    assert (reopened.owning_sales_head_id, reopened.assigned_to) == (
        owner.head.user_id,
        seller.user_id,
    )
    assert (reopened.status, reopened.lost_reason, reopened.reinquiry_count) == (
        LeadStatus.NEW,
        None,
        1,
    )
    kinds = [a.type for a in world.tables.activities if a.raw_lead_id == lost]
    assert kinds == [ActivityType.INTAKE_MERGED, ActivityType.REOPENED]
    assert (world.lead(won).status, world.lead(won).city) == (LeadStatus.CONVERTED, "Kochi")
    assert [i.outcome for i in world.tables.intakes] == [
        IntakeOutcome.REOPENED,
        IntakeOutcome.MERGED,
    ]


async def test_a_rerun_from_the_first_row_creates_and_counts_nothing(world: World) -> None:
    """A run resumed before rows that are written already (a window whose parts did not all
    commit) replays them: nothing new, nothing counted twice, rejected rows included."""
    head = await world.person(Role.SALES_HEAD, "Head")
    world.crm.imports.chunk_rows = 4
    rows = [[f"Lead {i}", phone(i), "", ""] for i in range(10)] + [["X", "", "", ""]]
    batch_id = await committed_and_run(world, head, csv_bytes(rows))
    before = totals(world)
    assert before == (10, 10, 10)
    stored = world.tables.batches[batch_id]
    assert stored.resume_row == 11
    stored.status, stored.resume_row = ImportStatus.RUNNING, 0
    again = await world.crm.imports.run(batch_id)
    assert again.status is ImportStatus.COMPLETED_WITH_ERRORS
    assert totals(world) == before, "every row's intake was there already: a replay"
    assert len(world.tables.rejected_rows[batch_id]) == 1
    assert (again.created_count, again.merged_count, again.rejected_count) == (10, 0, 1)
    assert again.rejected_by_reason == {"NO_CONTACT": 1}


async def test_a_run_killed_after_a_chunk_resumes_without_doubles(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    world.crm.imports.chunk_rows = 4
    rows = [[f"Lead {i}", phone(i % 8), "", ""] for i in range(10)]
    batch = await world.crm.imports.upload(head, "k.csv", csv_bytes(rows))
    await world.crm.imports.commit(head, batch.id)

    class Killed(Exception):
        pass

    def die(_: object) -> None:
        raise Killed

    with pytest.raises(Killed):
        await world.crm.imports.run(batch.id, on_chunk=die)
    halfway = await world.crm.imports.get(head, batch.id)
    assert halfway.status is ImportStatus.RUNNING and halfway.created_count == 4
    assert totals(world) == (4, 4, 4)
    done = await world.crm.imports.run(batch.id)
    assert done.status is ImportStatus.COMPLETED
    assert (done.created_count, done.merged_count) == (8, 2)
    assert totals(world) == (8, 10, 10)


async def test_a_dead_run_fails_the_batch_and_a_retry_queues_it_again(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    batch = await world.crm.imports.upload(head, "d.csv", csv_bytes([["A", phone(1), "", ""]]))
    await world.crm.imports.commit(head, batch.id)
    await refused(world.crm.imports.retry(head, batch.id), Conflict, "illegal_transition")
    await world.crm.imports.mark_failed(batch.id, "the worker died")
    failed = await world.crm.imports.get(head, batch.id)
    assert (failed.status, failed.last_error) == (ImportStatus.FAILED, "the worker died")
    world.clock.advance(minutes=5)
    retried = await world.crm.imports.retry(head, batch.id)
    assert retried.status is ImportStatus.QUEUED and retried.last_error is None
    keys = [key for _, key in world.tasks("crm.import_batch")]
    assert len(keys) == 2 and keys[0] != keys[1], "a retry is a new run of the task"
    done = await world.crm.imports.run(batch.id)
    assert (done.status, done.created_count) == (ImportStatus.COMPLETED, 1)


# --- vendor leads -------------------------------------------------------------------------------


async def vendor_key(world: World, name: str = "Shiksha") -> uuid.UUID:
    key = VendorKey(
        id=uuid7(),
        vendor_name=name,
        key_prefix=f"vk_{uuid.uuid4().hex[:8]}",
        secret_hash="x",
        scopes=["leads:write"],
        created_at=world.clock.now(),
    )
    async with world.uow() as uow:
        await uow.vendor_keys.add(key)
        await uow.commit()
    return key.id


async def test_a_vendor_push_is_idempotent_on_the_external_id(world: World) -> None:
    key = await vendor_key(world)
    leads = [
        VendorLeadIn(external_id="v1", name="Asha", phone="9876500001", city="Pune"),
        VendorLeadIn(external_id="v1 ", name="Asha twice", phone="9876500001"),
        VendorLeadIn(external_id="v2", name="Ravi", email="ravi@example.com"),
    ]
    pushed = await world.crm.vendor_leads.push(key, leads)
    assert (pushed.accepted, pushed.duplicates) == (["v1", "v2"], [])
    assert len(world.tables.vendor_leads) == 2, "one push names an external id once"
    again = await world.crm.vendor_leads.push(key, leads[:1])
    assert (again.accepted, again.duplicates) == ([], ["v1"])
    await refused(world.crm.vendor_leads.push(key, [leads[0]] * 501), ValidationFailed)
    assert {v.payload.get("city") for v in world.tables.vendor_leads.values()} == {"Pune", None}


async def test_only_the_head_a_vendor_feeds_pulls_it(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    other = await world.person(Role.SALES_HEAD, "Other")
    admin = await world.person(Role.ADMIN, "Admin")
    key = await vendor_key(world)
    await refused(world.crm.vendor_leads.request_pull(head, key), Forbidden, "vendor_not_assigned")
    await refused(
        world.crm.vendor_leads.request_pull(admin, key), ValidationFailed, "vendor_not_assigned"
    )
    await refused(world.crm.vendor_leads.assign_head(admin, uuid7(), head.user_id), NotFound)
    await refused(world.crm.vendor_leads.assign_head(admin, key, admin.user_id), ValidationFailed)
    await world.crm.vendor_leads.assign_head(admin, key, head.user_id)
    await refused(world.crm.vendor_leads.request_pull(other, key), Forbidden)
    await refused(world.crm.vendor_leads.request_pull(admin, None), ValidationFailed)
    queued = await world.crm.vendor_leads.request_pull(head, None)
    assert [q.vendor_key_id for q in queued] == [key]
    assert world.tasks("crm.import_vendor") == [
        ({"vendor_key_id": str(key)}, f"{key}@{world.clock.now().isoformat()}")
    ]
    assert await world.crm.vendor_leads.request_pull(other, None) == []


async def test_a_pull_brings_every_received_lead_into_the_pool(world: World) -> None:
    head = await world.person(Role.SALES_HEAD, "Head")
    admin = await world.person(Role.ADMIN, "Admin")
    key = await vendor_key(world)
    await world.crm.vendor_leads.assign_head(admin, key, head.user_id)
    await world.crm.vendor_leads.push(
        key,
        [
            VendorLeadIn(external_id="v1", name="Asha", phone="9876500001", city="Pune"),
            VendorLeadIn(external_id="v2", name="Asha again", phone="+91 98765 00001"),
            VendorLeadIn(external_id="v3", name="Nobody"),
            VendorLeadIn(external_id="v4", name="Ravi", email="ravi@example.com"),
        ],
    )
    summary = await world.crm.vendor_leads.pull(key)
    assert (summary.imported, summary.duplicates, summary.rejected) == (2, 1, 1)
    outcomes = sorted(
        (v.external_id, v.status, v.raw_lead_id is not None, v.reject_reason)
        for v in world.tables.vendor_leads.values()
    )
    assert outcomes == [
        ("v1", "IMPORTED", True, None),
        ("v2", "DUPLICATE", True, None),
        ("v3", "REJECTED", False, "NO_CONTACT"),
        ("v4", "IMPORTED", True, None),
    ]
    asha = by_phone(world, "+919876500001")
    assert (asha.source, asha.source_detail, asha.owning_sales_head_id, asha.city) == (
        LeadSource.VENDOR,
        "Shiksha",
        head.user_id,
        "Pune",
    )
    [event] = world.events(LeadsImported)
    assert (event.channel, event.vendor_key_id, event.created) == ("VENDOR", key, 2)
    assert event.started_at == world.clock.now()
    world.clock.advance(seconds=timedelta(minutes=1).total_seconds())
    nothing = await world.crm.vendor_leads.pull(key)
    assert (nothing.imported, nothing.duplicates, nothing.rejected) == (0, 0, 0)
    assert len(world.events(LeadsImported)) == 1, "an empty pull announces nothing"
    assert totals(world) == (2, 3, 3)
