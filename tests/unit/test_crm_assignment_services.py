"""Assignment's rules on fakes: one lead by hand, bulk behind the approval gate, approvals and
their jobs, auto-assignment, teams and profiles, transfers between pools, targets and the
system config.

``tests/integration/test_crm_assignment.py`` runs the heavy paths (chunked apply, replays) on
SQLite and PostgreSQL; here each rule is held on its own, with a frozen clock and a fake queue
(a queued task is recorded, not run: the test runs its body when it wants to).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from mas.core.crm.assignment_model import (
    AssignMethod,
    AutoStrategy,
    BulkStrategy,
    MemberRole,
    RequestStatus,
    Slot,
)
from mas.core.crm.bulk_assignment import BulkCommand
from mas.core.crm.config import BULK_ASSIGN_THRESHOLD
from mas.core.crm.events import LeadAssigned, LeadCreated, LeadsImported
from mas.core.crm.model import ActivityType, IntakeChannel, IntakeOutcome, LeadIntake, LeadStatus
from mas.core.crm.targets_model import TargetInput
from mas.core.crm.teams import MemberChanges, NewMember, NewProfile, ProfileChanges
from mas.core.crm.transfers import TransferCommand
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from tests.unit.crm_world import Floor, World, refused


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def bulk(floor: Floor, leads: list[uuid.UUID], **fields: object) -> BulkCommand:
    values: dict[str, object] = {
        "slot": Slot.FIRST_LINE,
        "strategy": BulkStrategy.EVEN_SPLIT,
        "lead_ids": leads,
        "assignee_ids": [c.user_id for c in floor.telecallers],
        "reason": "spring intake",
        **fields,
    }
    return BulkCommand(**values)  # type: ignore[arg-type]


def holders(world: World, leads: list[uuid.UUID]) -> list[uuid.UUID | None]:
    return [world.tables.leads[i].assigned_to for i in leads]


def reasons(world: World, leads: list[uuid.UUID]) -> list[str]:
    wanted = set(leads)
    return [
        str(a.data["reason"])
        for a in world.tables.activities
        if a.raw_lead_id in wanted and a.type is ActivityType.ASSIGNED
    ]


async def pending(world: World, floor: Floor, count: int = 30) -> tuple[uuid.UUID, list[uuid.UUID]]:
    leads = await world.add_leads(floor.head, count)
    outcome = await world.crm.assignment.bulk(floor.head, bulk(floor, leads))
    assert not outcome.applied and outcome.request.status is RequestStatus.PENDING
    return outcome.request.id, leads


# --- one lead -------------------------------------------------------------------------------------


async def test_a_head_assigns_a_lead_of_their_pool_to_a_member(world: World) -> None:
    floor = await world.floor("North")
    [lead] = await world.add_leads(floor.head, 1)
    who = floor.telecallers[0]
    done = await world.crm.assignment.assign(floor.head, lead, Slot.FIRST_LINE, who.user_id)
    assert done.changed and done.reason == "manual: assigned by North Head (SALES_HEAD)"
    assert world.tables.leads[lead].assigned_to == who.user_id
    assert world.tables.leads[lead].version == 1, "a slot write bumps the version"
    [event] = world.events(LeadAssigned)
    assert (event.assignee_id, event.previous_assignee_id, event.method) == (
        who.user_id,
        None,
        "MANUAL",
    )
    assert [a.method for a in world.tables.assignments] == [AssignMethod.MANUAL]
    assert len(world.mails_to(who, "crm.leads_assigned")) == 1
    again = await world.crm.assignment.assign(floor.head, lead, Slot.FIRST_LINE, who.user_id)
    assert not again.changed and len(world.events(LeadAssigned)) == 1
    gone = await world.crm.assignment.unassign(floor.head, lead, Slot.FIRST_LINE)
    assert gone.changed and gone.previous_assignee_id == who.user_id
    assert world.tables.leads[lead].assigned_to is None
    assert [a.type for a in world.tables.activities][-1] is ActivityType.UNASSIGNED
    assert not (await world.crm.assignment.unassign(floor.head, lead, Slot.FIRST_LINE)).changed


async def test_a_head_assigns_only_in_their_own_pool(world: World) -> None:
    north, south = await world.floor("North"), await world.floor("South")
    [theirs] = await world.add_leads(south.head, 1)
    who = north.telecallers[0].user_id
    await refused(
        world.crm.assignment.assign(north.head, theirs, Slot.FIRST_LINE, who),
        NotFound,
        "lead_not_found",
    )
    world.tables.profiles[north.head.user_id].isolation_enabled = False
    await refused(
        world.crm.assignment.assign(north.head, theirs, Slot.FIRST_LINE, who),
        Forbidden,
        "not_your_pool",
    )
    admin = await world.person(Role.ADMIN, "Admin")
    await world.crm.assignment.assign(admin, theirs, Slot.FIRST_LINE, south.telecallers[0].user_id)
    assert world.tables.leads[theirs].assigned_to == south.telecallers[0].user_id


async def test_the_assignee_must_fit_the_pool_and_the_slot(world: World) -> None:
    north, south = await world.floor("North"), await world.floor("South")
    [lead] = await world.add_leads(north.head, 1)
    await refused(
        world.crm.assignment.assign(
            north.head, lead, Slot.FIRST_LINE, south.telecallers[0].user_id
        ),
        ValidationFailed,
        "not_in_team",
    )
    await refused(
        world.crm.assignment.assign(
            north.head, lead, Slot.SECOND_LINE, north.telecallers[0].user_id
        ),
        ValidationFailed,
        "wrong_member_role",
    )
    counsellor = north.counsellors[0]
    await world.crm.assignment.assign(north.head, lead, Slot.SECOND_LINE, counsellor.user_id)
    assert world.tables.leads[lead].assigned_counsellor == counsellor.user_id
    [converted] = await world.add_leads(north.head, 1, status=LeadStatus.CONVERTED)
    await refused(
        world.crm.assignment.assign(
            north.head, converted, Slot.FIRST_LINE, north.telecallers[0].user_id
        ),
        InvalidState,
    )
    admin = await world.person(Role.ADMIN, "Admin")
    [poolless] = await world.add_leads(None, 1)
    await refused(
        world.crm.assignment.assign(admin, poolless, Slot.FIRST_LINE, north.telecallers[0].user_id),
        Conflict,
        "lead_has_no_pool",
    )


async def test_the_pages_of_a_head_and_the_roles_that_assign(world: World) -> None:
    floor = await world.floor("Off", flags={"assign": False})
    [lead] = await world.add_leads(floor.head, 1)
    who = floor.telecallers[0].user_id
    await refused(
        world.crm.assignment.assign(floor.head, lead, Slot.FIRST_LINE, who),
        Forbidden,
        "page_disabled",
    )
    await refused(
        world.crm.assignment.assign(floor.telecallers[0], lead, Slot.FIRST_LINE, who),
        Forbidden,
        "role_forbidden",
    )
    no_profile = await world.person(Role.SALES_HEAD, "New Head")
    await refused(
        world.crm.approvals.page(no_profile, None, None, PageRequest()), Forbidden, "page_disabled"
    )


# --- bulk and the approval gate -------------------------------------------------------------------


async def test_a_bulk_at_or_below_the_threshold_applies_at_once(world: World) -> None:
    floor = await world.floor("North")
    leads = await world.add_leads(floor.head, 25)
    outcome = await world.crm.assignment.bulk(floor.head, bulk(floor, leads))
    request = outcome.request
    assert outcome.applied and request.status is RequestStatus.APPLIED
    assert request.decided_by is None, "the gate decided, not a person"
    assert (request.applied_count, request.skipped_count) == (25, 0)
    first, second = (c.user_id for c in floor.telecallers)
    assert holders(world, leads) == [first] * 13 + [second] * 12
    assert reasons(world, leads)[0].startswith(
        f"bulk request {request.id} applied immediately (25 leads <= threshold 25): even split"
    )
    for person, count in zip(floor.telecallers, (13, 12), strict=True):
        [mail] = world.mails_to(person, "crm.leads_assigned")
        assert f"{count} leads were assigned" in mail.body_text, "one notice per assignee"
    assert world.tasks("crm.apply_bulk_assignment") == []


async def test_a_bulk_above_the_threshold_waits_for_an_admin(world: World) -> None:
    floor = await world.floor("North")
    admins = [await world.person(Role.ADMIN, "A1"), await world.person(Role.SUPERADMIN, "A2")]
    request_id, leads = await pending(world, floor, 26)
    request = world.tables.requests[request_id]
    assert request.expires_at == world.clock.now() + timedelta(hours=72)
    assert request.decision_note is None and holders(world, leads) == [None] * 26
    assert world.tables.assignments == [] and world.events(LeadAssigned) == []
    for admin in admins:
        [mail] = world.mails_to(admin, "crm.request_filed")
        assert "26 leads" in mail.subject


async def test_the_threshold_comes_from_the_profile_else_the_system_config(world: World) -> None:
    floor = await world.floor("North")
    admin = await world.person(Role.ADMIN, "Admin")
    assert (await world.crm.config.get(BULK_ASSIGN_THRESHOLD)).value == 25
    await world.crm.config.set(admin, BULK_ASSIGN_THRESHOLD, 5)
    six = await world.add_leads(floor.head, 6)
    assert not (await world.crm.assignment.bulk(floor.head, bulk(floor, six))).applied
    world.tables.profiles[floor.head.user_id].bulk_approval_threshold = 6
    again = await world.add_leads(floor.head, 6)
    assert (await world.crm.assignment.bulk(floor.head, bulk(floor, again))).applied
    world.tables.profiles[floor.head.user_id].bulk_approval_required = False
    many = await world.add_leads(floor.head, 40)
    assert (await world.crm.assignment.bulk(floor.head, bulk(floor, many))).applied


async def test_a_bulk_names_leads_of_the_pool_and_members_of_its_team(world: World) -> None:
    north, south = await world.floor("North"), await world.floor("South")
    mine = await world.add_leads(north.head, 2)
    theirs = await world.add_leads(south.head, 1)
    outside = await refused(
        world.crm.assignment.bulk(north.head, bulk(north, mine + theirs)),
        ValidationFailed,
        "leads_outside_pool",
    )
    assert str(theirs[0]) in outside.errors[0].message
    stranger = await refused(
        world.crm.assignment.bulk(
            north.head, bulk(north, mine, assignee_ids=[south.telecallers[0].user_id])
        ),
        ValidationFailed,
        "not_in_team",
    )
    assert stranger.errors[0].field == "assignee_ids[0]"
    await refused(
        world.crm.assignment.bulk(north.head, bulk(north, mine, pool_head_id=south.head.user_id)),
        Forbidden,
        "not_your_pool",
    )
    admin = await world.person(Role.ADMIN, "Admin")
    await refused(world.crm.assignment.bulk(admin, bulk(north, mine)), ValidationFailed)
    explicit = await world.crm.assignment.bulk(
        admin,
        bulk(
            north,
            [],
            assignee_ids=[],
            strategy=BulkStrategy.EXPLICIT,
            explicit_map={mine[0]: north.counsellors[0].user_id},
            slot=Slot.SECOND_LINE,
            pool_head_id=north.head.user_id,
        ),
    )
    assert explicit.applied and explicit.request.decided_by == admin.user_id
    assert world.tables.leads[mine[0]].assigned_counsellor == north.counsellors[0].user_id


async def test_more_than_one_chunk_is_left_to_the_task(world: World) -> None:
    floor = await world.floor("Big", telecallers=3)
    admin = await world.person(Role.ADMIN, "Admin")
    leads = await world.add_leads(floor.head, 501)
    outcome = await world.crm.assignment.bulk(
        admin,
        bulk(floor, leads, strategy=BulkStrategy.ROUND_ROBIN, pool_head_id=floor.head.user_id),
    )
    request_id = outcome.request.id
    assert not outcome.applied and outcome.request.status is RequestStatus.APPROVED
    assert world.tasks("crm.apply_bulk_assignment") == [
        ({"request_id": str(request_id)}, str(request_id))
    ]
    assert holders(world, leads) == [None] * 501, "queued, not yet run"
    done = await world.crm.assignment.apply_request(request_id)
    assert done is not None and (done.status, done.applied_count) == (RequestStatus.APPLIED, 501)
    counts = sorted(holders(world, leads).count(c.user_id) for c in floor.telecallers)
    assert counts == [167, 167, 167]


async def test_an_admin_approves_and_the_apply_is_queued_once_per_request(world: World) -> None:
    floor = await world.floor("North")
    admin = await world.person(Role.ADMIN, "Asha Admin")
    request_id, leads = await pending(world, floor)
    await refused(world.crm.approvals.approve(floor.head, request_id), Forbidden, "own_request")
    approved = await world.crm.approvals.approve(admin, request_id, " fine ")
    assert (approved.status, approved.decided_by, approved.decision_note) == (
        RequestStatus.APPROVED,
        admin.user_id,
        "fine",
    )
    assert world.tasks("crm.apply_bulk_assignment") == [
        ({"request_id": str(request_id)}, str(request_id))
    ]
    [mail] = world.mails_to(floor.head, "crm.request_approved")
    assert "was approved" in mail.body_text
    done = await world.crm.assignment.apply_request(request_id)
    assert done is not None and done.status is RequestStatus.APPLIED
    assert reasons(world, leads)[0].startswith(f"bulk request {request_id} approved by Asha Admin")
    replay = await world.crm.assignment.apply_request(request_id)
    assert replay is not None and replay.applied_count == 30
    assert len(world.tables.assignments) == 30, "a replay writes nothing twice"
    await refused(world.crm.approvals.approve(admin, request_id), InvalidState)


async def test_a_rejection_needs_a_note_and_tells_the_requester(world: World) -> None:
    floor = await world.floor("North")
    admin = await world.person(Role.ADMIN, "Admin")
    request_id, leads = await pending(world, floor)
    await refused(world.crm.approvals.reject(admin, request_id, "  "), ValidationFailed)
    rejected = await world.crm.approvals.reject(admin, request_id, "too many at once")
    assert rejected.status is RequestStatus.REJECTED
    [mail] = world.mails_to(floor.head, "crm.request_rejected")
    assert "too many at once" in mail.body_text
    await refused(world.crm.approvals.approve(admin, request_id), InvalidState)
    assert world.tasks("crm.apply_bulk_assignment") == [] and holders(world, leads) == [None] * 30


async def test_only_the_requester_or_the_pool_head_cancels(world: World) -> None:
    floor = await world.floor("North")
    other = await world.floor("South")
    request_id, _ = await pending(world, floor)
    await refused(world.crm.approvals.cancel(other.head, request_id), NotFound, "request_not_found")
    admin = await world.person(Role.ADMIN, "Admin")
    await refused(world.crm.approvals.cancel(admin, request_id), Forbidden, "not_requester")
    cancelled = await world.crm.approvals.cancel(floor.head, request_id)
    assert cancelled.status is RequestStatus.CANCELLED


async def test_a_head_lists_the_requests_of_their_own_pool(world: World) -> None:
    north, south = await world.floor("North"), await world.floor("South")
    mine, _ = await pending(world, north)
    await pending(world, south)
    listed = await world.crm.approvals.page(north.head, None, None, PageRequest())
    assert [r.id for r in listed.items] == [mine] and listed.items[0].lead_ids == []
    other = await world.crm.approvals.page(north.head, None, south.head.user_id, PageRequest())
    assert other.total == 0
    admin = await world.person(Role.ADMIN, "Admin")
    assert (await world.crm.approvals.page(admin, None, None, PageRequest())).total == 2
    detail = await world.crm.approvals.get(north.head, mine)
    assert [s.lead_count for s in detail.distribution] == [15, 15]
    await refused(world.crm.approvals.get(south.head, mine), NotFound)


async def test_an_approval_refuses_an_assignee_who_left_the_team(world: World) -> None:
    floor = await world.floor("North")
    admin = await world.person(Role.ADMIN, "Admin")
    request_id, _ = await pending(world, floor)
    leaving = floor.members[floor.telecallers[1].user_id]
    await world.crm.teams.update_member(admin, leaving.id, MemberChanges(active=False))
    refusal = await refused(
        world.crm.approvals.approve(admin, request_id), Conflict, "assignee_inactive"
    )
    assert refusal.errors[0].field == "assignee_ids[1]"
    assert world.tables.requests[request_id].status is RequestStatus.PENDING


async def test_a_request_expires_after_72_hours_with_one_email(world: World) -> None:
    floor = await world.floor("North")
    request_id, _ = await pending(world, floor)
    world.clock.advance(hours=71)
    assert await world.crm.approvals.expire_due() == 0
    world.clock.advance(hours=1)
    assert await world.crm.approvals.expire_due() == 1
    assert await world.crm.approvals.expire_due() == 0
    assert world.tables.requests[request_id].status is RequestStatus.EXPIRED
    assert [m.template for m in world.mails_to(floor.head)] == ["crm.request_expired"]


async def test_a_leads_converted_or_moved_before_the_apply_are_skipped(world: World) -> None:
    floor, other = await world.floor("East"), await world.floor("West")
    admin = await world.person(Role.ADMIN, "Admin")
    request_id, leads = await pending(world, floor)
    world.tables.leads[leads[0]].status = LeadStatus.CONVERTED
    world.tables.leads[leads[1]].owning_sales_head_id = other.head.user_id
    world.tables.leads[leads[2]].deleted_at = world.clock.now()
    await world.crm.approvals.approve(admin, request_id)
    done = await world.crm.assignment.apply_request(request_id)
    assert done is not None
    assert (done.status, done.applied_count, done.skipped_count) == (RequestStatus.APPLIED, 27, 3)
    assert holders(world, leads[:3]) == [None] * 3


async def test_a_failed_apply_is_retried_by_an_admin_with_a_new_key(world: World) -> None:
    floor = await world.floor("South")
    admin = await world.person(Role.ADMIN, "Admin")
    request_id, _ = await pending(world, floor, 26)
    await world.crm.approvals.approve(admin, request_id)
    await world.crm.assignment.mark_failed(request_id, "database went away")
    failed = world.tables.requests[request_id]
    assert (failed.status, failed.last_error) == (RequestStatus.FAILED, "database went away")
    await refused(world.crm.approvals.approve(admin, request_id), Conflict)
    retried = await world.crm.approvals.retry(admin, request_id)
    assert retried.status is RequestStatus.APPLYING and retried.last_error is None
    keys = [key for _, key in world.tasks("crm.apply_bulk_assignment")]
    assert keys[0] == str(request_id) and keys[1] is not None
    assert keys[1].startswith(f"{request_id}:retry:")
    done = await world.crm.assignment.apply_request(request_id)
    assert done is not None and (done.status, done.applied_count) == (RequestStatus.APPLIED, 26)
    again = await refused(world.crm.approvals.retry(admin, request_id), Conflict)
    assert "APPLIED" in again.detail


async def test_an_approved_request_nobody_touched_for_ten_minutes_is_resumed(world: World) -> None:
    floor = await world.floor("Lost")
    admin = await world.person(Role.ADMIN, "Admin")
    request_id, _ = await pending(world, floor, 26)
    await world.crm.approvals.approve(admin, request_id)
    world.clock.advance(minutes=9)
    assert await world.crm.approvals.resume_idle() == 0
    world.clock.advance(minutes=2)
    assert await world.crm.approvals.resume_idle() == 1
    _, key = world.tasks("crm.apply_bulk_assignment")[-1]
    assert key is not None and key.startswith(f"{request_id}:resume:")


# --- auto-assign ----------------------------------------------------------------------------------


async def test_round_robin_passes_over_the_unavailable_and_keeps_its_turn(world: World) -> None:
    floor = await world.floor("Auto", telecallers=3, counsellors=1, auto_assign_enabled=True)
    first, second, third = floor.telecallers
    world.tables.members[floor.members[second.user_id].id].available = False
    leads = await world.add_leads(floor.head, 3)
    changes = [await world.crm.auto_assign.auto_assign(lead) for lead in leads]
    assert holders(world, leads) == [first.user_id, third.user_id, first.user_id]
    assert all(c is not None and c.method is AssignMethod.ROUND_ROBIN for c in changes)
    assert "round-robin: next after Auto Caller 3" in reasons(world, leads)
    assert any("skipped Auto Caller 2: unavailable" in r for r in reasons(world, leads))
    assert world.tables.profiles[floor.head.user_id].rr_cursor == 1
    assert await world.crm.auto_assign.auto_assign(leads[0]) is None, "already assigned"
    assert len(world.mails_to(first, "crm.leads_assigned")) == 2


async def test_least_loaded_and_daily_capacity(world: World) -> None:
    floor = await world.floor(
        "Load",
        telecallers=0,
        counsellors=0,
        auto_assign_enabled=True,
        assignment_strategy=AutoStrategy.LEAST_LOADED,
    )
    busy = await world.member(floor, "Busy Caller")
    capped = await world.member(floor, "Capped Caller", daily_capacity=1)
    await world.add_leads(floor.head, 2, assigned_to=busy)
    leads = await world.add_leads(floor.head, 3)
    for lead in leads:
        await world.crm.auto_assign.auto_assign(lead)
    assert holders(world, leads) == [capped.user_id, busy.user_id, busy.user_id]
    assert "least-loaded: 0 open leads" in reasons(world, leads)
    assert any("Capped Caller: at daily capacity 1" in r for r in reasons(world, leads))


async def test_nobody_free_leaves_the_lead_unassigned(world: World) -> None:
    floor = await world.floor("Full", telecallers=0, counsellors=1, auto_assign_enabled=True)
    await world.member(floor, "Tired", daily_capacity=0)
    [lead] = await world.add_leads(floor.head, 1)
    assert await world.crm.auto_assign.auto_assign(lead) is None
    assert world.tables.leads[lead].assigned_to is None, "a counsellor takes no new leads"


async def test_events_queue_auto_assign_only_for_pools_that_want_it(world: World) -> None:
    auto = await world.floor("Auto", auto_assign_enabled=True)
    manual = await world.floor("Manual")
    lead_id = uuid7()

    def created(head: Floor, assigned_to: uuid.UUID | None = None) -> LeadCreated:
        return LeadCreated(
            lead_id=lead_id,
            source="MANUAL",
            channel="MANUAL",
            owning_sales_head_id=head.head.user_id,
            assigned_to=assigned_to,
        )

    await world.crm.auto_assign.on_lead_created(created(manual))
    await world.crm.auto_assign.on_lead_created(created(auto, auto.telecallers[0].user_id))
    assert world.tasks("crm.auto_assign") == []
    await world.crm.auto_assign.on_lead_created(created(auto))
    assert world.tasks("crm.auto_assign") == [({"lead_id": str(lead_id)}, str(lead_id))]
    batch, key_id, started = uuid7(), uuid7(), world.clock.now()

    def imported(channel: str, created_count: int = 3) -> LeadsImported:
        return LeadsImported(
            batch_id=batch if channel == "CSV" else None,
            channel=channel,
            pool_head_id=auto.head.user_id,
            created=created_count,
            merged=0,
            rejected=0,
            vendor_key_id=key_id if channel == "VENDOR" else None,
            started_at=started if channel == "VENDOR" else None,
        )

    await world.crm.auto_assign.on_leads_imported(imported("CSV", created_count=0))
    await world.crm.auto_assign.on_leads_imported(imported("CSV"))
    await world.crm.auto_assign.on_leads_imported(imported("VENDOR"))
    assert [key for _, key in world.tasks("crm.auto_assign_batch")] == [str(batch)]
    assert [key for _, key in world.tasks("crm.auto_assign_pull")] == [
        f"{key_id}@{started.isoformat()}"
    ]


async def test_an_import_batch_hands_out_only_the_leads_it_created(world: World) -> None:
    floor = await world.floor("Import", telecallers=2, auto_assign_enabled=True)
    batch = uuid7()
    created = await world.add_leads(floor.head, 7)
    merged = await world.add_leads(floor.head, 1)
    other_batch = await world.add_leads(floor.head, 1)
    intakes = [
        (lead, f"batch:{batch}:{row}", IntakeOutcome.CREATED)
        for row, lead in enumerate(created, start=1)
    ]
    intakes += [
        (merged[0], f"batch:{batch}:100", IntakeOutcome.MERGED),
        (other_batch[0], f"batch:{uuid7()}:1", IntakeOutcome.CREATED),
    ]
    async with world.uow() as uow:
        for lead, ref, outcome in intakes:
            await uow.leads.add_intake(
                LeadIntake(
                    id=uuid7(),
                    raw_lead_id=lead,
                    channel=IntakeChannel.CSV,
                    channel_ref=ref,
                    outcome=outcome,
                    payload={},
                    created_at=world.clock.now(),
                )
            )
        await uow.commit()
    assert await world.crm.auto_assign.assign_batch(floor.head.user_id, batch) == 7
    counts = sorted(holders(world, created).count(c.user_id) for c in floor.telecallers)
    assert counts == [3, 4]
    assert holders(world, merged + other_batch) == [None, None]
    for person in floor.telecallers:
        assert len(world.mails_to(person, "crm.leads_assigned")) == 1, "one notice per import"
    assert await world.crm.auto_assign.assign_batch(floor.head.user_id, batch) == 0


# --- teams and profiles ---------------------------------------------------------------------------


async def test_a_salesperson_is_in_one_team_at_a_time(world: World) -> None:
    north, south = await world.floor("North"), await world.floor("South")
    admin = await world.person(Role.ADMIN, "Admin")
    member = north.telecallers[0]
    await refused(
        world.crm.teams.add_member(
            admin,
            NewMember(
                sales_head_id=south.head.user_id,
                user_id=member.user_id,
                member_role=MemberRole.TELECALLER,
            ),
        ),
        Conflict,
        "already_in_team",
    )
    await refused(
        world.crm.teams.add_member(
            admin,
            NewMember(
                sales_head_id=south.head.user_id,
                user_id=north.head.user_id,
                member_role=MemberRole.TELECALLER,
            ),
        ),
        ValidationFailed,
        "not_sales",
    )
    newcomer = await world.person(Role.SALES, "New")
    await refused(
        world.crm.teams.add_member(
            admin,
            NewMember(
                sales_head_id=newcomer.user_id,
                user_id=newcomer.user_id,
                member_role=MemberRole.TELECALLER,
            ),
        ),
        ValidationFailed,
        "not_a_sales_head",
    )
    added = await world.crm.teams.add_member(
        admin,
        NewMember(
            sales_head_id=south.head.user_id,
            user_id=newcomer.user_id,
            member_role=MemberRole.COUNSELLOR,
            daily_capacity=5,
        ),
    )
    team = await world.crm.teams.team(south.head, None)
    assert added.user_id in {line.user_id for line in team}
    assert await world.crm.teams.team(south.head, north.head.user_id) == []


async def test_leaving_the_team_with_open_leads_needs_reassign_to(world: World) -> None:
    floor = await world.floor("Team", telecallers=2)
    admin = await world.person(Role.ADMIN, "Admin")
    leaving, staying = floor.telecallers
    open_leads = await world.add_leads(floor.head, 3, assigned_to=leaving)
    [closed] = await world.add_leads(
        floor.head, 1, status=LeadStatus.CONVERTED, assigned_to=leaving
    )
    member_id = floor.members[leaving.user_id].id
    await refused(
        world.crm.teams.update_member(admin, member_id, MemberChanges(active=False)),
        Conflict,
        "has_open_leads",
    )
    await refused(
        world.crm.teams.update_member(
            admin, member_id, MemberChanges(active=False, reassign_to=leaving.user_id)
        ),
        ValidationFailed,
        "not_in_team",
    )
    assert holders(world, open_leads) == [leaving.user_id] * 3, "refusals change nothing"
    left = await world.crm.teams.update_member(
        admin, member_id, MemberChanges(active=False, reassign_to=staying.user_id)
    )
    assert not left.active and left.left_at == world.clock.now()
    assert holders(world, open_leads) == [staying.user_id] * 3
    assert world.tables.leads[closed].assigned_to == leaving.user_id
    assert [a.method for a in world.tables.assignments] == [AssignMethod.TRANSFER] * 3
    [mail] = world.mails_to(staying, "crm.leads_assigned")
    assert "3 leads were assigned" in mail.body_text
    team = {line.user_id: line for line in await world.crm.teams.team(floor.head, None)}
    assert team[staying.user_id].open_leads == 3 and leaving.user_id not in team
    await refused(
        world.crm.teams.update_member(admin, member_id, MemberChanges(available=False)),
        InvalidState,
    )
    await refused(
        world.crm.teams.update_member(
            admin, floor.members[staying.user_id].id, MemberChanges(active=True)
        ),
        ValidationFailed,
    )


async def test_moving_a_member_keeps_the_old_membership_as_history(world: World) -> None:
    north, south = await world.floor("North"), await world.floor("South", telecallers=0)
    admin = await world.person(Role.ADMIN, "Admin")
    moving, staying = north.telecallers
    leads = await world.add_leads(north.head, 2, assigned_to=moving)
    member_id = north.members[moving.user_id].id
    moved = await world.crm.teams.update_member(
        admin,
        member_id,
        MemberChanges(sales_head_id=south.head.user_id, reassign_to=staying.user_id),
    )
    assert (moved.sales_head_id, moved.active) == (south.head.user_id, True)
    assert moved.id != member_id and not world.tables.members[member_id].active
    assert holders(world, leads) == [staying.user_id] * 2
    north_team = await world.crm.teams.team(north.head, None, include_inactive=True)
    assert (moving.user_id, False) in {(line.user_id, line.active) for line in north_team}


async def test_profiles_are_one_per_head_and_flags_are_known_ones(world: World) -> None:
    admin = await world.person(Role.ADMIN, "Admin")
    head = await world.person(Role.SALES_HEAD, "Head")
    sales = await world.person(Role.SALES, "Sales")
    await refused(
        world.crm.teams.create_profile(admin, NewProfile(user_id=sales.user_id, display_name="S")),
        ValidationFailed,
        "not_sales_head",
    )
    await refused(
        world.crm.teams.create_profile(
            admin, NewProfile(user_id=head.user_id, display_name="H", page_flags={"nope": True})
        ),
        ValidationFailed,
    )
    made = await world.crm.teams.create_profile(
        admin, NewProfile(user_id=head.user_id, display_name=" H ", page_flags={"leads": True})
    )
    assert made.display_name == "H" and made.isolation_enabled
    await refused(
        world.crm.teams.create_profile(admin, NewProfile(user_id=head.user_id, display_name="H")),
        Conflict,
        "profile_exists",
    )
    changed = await world.crm.teams.update_profile(
        admin, head.user_id, ProfileChanges(page_flags={"assign": True}, auto_assign_enabled=True)
    )
    assert changed.page_flags == {"leads": True, "assign": True} and changed.auto_assign_enabled
    assert (await world.crm.teams.profile(head.user_id)).updated_by == admin.user_id
    await refused(world.crm.teams.profile(sales.user_id), NotFound, "profile_not_found")


# --- transfers ------------------------------------------------------------------------------------


async def test_a_transfer_moves_clears_and_journals_one_line_per_lead(world: World) -> None:
    north, south = await world.floor("North"), await world.floor("South", telecallers=0)
    admin = await world.person(Role.ADMIN, "Admin")
    caller_one, counsellor = north.telecallers[0], north.counsellors[0]
    leads = await world.add_leads(
        north.head, 4, assigned_to=caller_one, assigned_counsellor=counsellor
    )
    command = TransferCommand(
        to_head_id=south.head.user_id,
        from_head_id=north.head.user_id,
        lead_ids=leads,
        reason="North is closing",
    )
    await refused(world.crm.transfers.transfer(north.head, command), Forbidden, "role_forbidden")
    transfer = await world.crm.transfers.transfer(admin, command)
    assert transfer.lead_count == 4
    rows = [world.tables.leads[i] for i in leads]
    assert {(r.owning_sales_head_id, r.assigned_to, r.assigned_counsellor) for r in rows} == {
        (south.head.user_id, None, None)
    }
    moved = [a for a in world.tables.activities if a.type is ActivityType.OWNERSHIP_TRANSFERRED]
    assert sorted(a.raw_lead_id for a in moved) == sorted(leads)
    assert moved[0].data["cleared"] == {
        "FIRST_LINE": str(caller_one.user_id),
        "SECOND_LINE": str(counsellor.user_id),
    }
    assert not any(a.type is ActivityType.UNASSIGNED for a in world.tables.activities)
    assert len(world.events(LeadAssigned)) == 8 and len(world.tables.transfers) == 1
    assert len(world.mails_to(south.head, "crm.pool_received")) == 1
    twice = await refused(
        world.crm.transfers.transfer(
            admin,
            TransferCommand(to_head_id=south.head.user_id, lead_ids=leads[:1], reason="twice"),
        ),
        ValidationFailed,
        "leads_not_movable",
    )
    assert str(leads[0]) in twice.errors[0].message


# --- targets --------------------------------------------------------------------------------------


def target(person: Caller, day: date, calls: int = 10) -> TargetInput:
    return TargetInput(salesperson_id=person.user_id, date=day, calls_target=calls)


async def test_a_head_sets_targets_for_their_own_team_only(world: World) -> None:
    north, south = await world.floor("North"), await world.floor("South")
    admin = await world.person(Role.ADMIN, "Admin")
    today = date(2025, 3, 3)
    mine, theirs = north.telecallers[0], south.telecallers[0]
    await refused(
        world.crm.targets.upsert(north.head, [target(theirs, today)]), Forbidden, "not_in_team"
    )
    await refused(world.crm.targets.upsert(admin, [target(north.head, today)]), ValidationFailed)
    await refused(
        world.crm.targets.upsert(north.head, [target(mine, today + timedelta(days=40))]),
        ValidationFailed,
    )
    [first] = await world.crm.targets.upsert(north.head, [target(mine, today, 10)])
    world.clock.advance(minutes=5)
    [second] = await world.crm.targets.upsert(admin, [target(mine, today, 20)])
    assert (second.id, second.created_at, second.calls_target) == (first.id, first.created_at, 20)
    assert len(world.tables.targets) == 1 and second.set_by == admin.user_id


async def test_the_rollup_counts_own_calls_of_the_local_day_and_reruns_agree(
    world: World,
) -> None:
    floor = await world.floor("Calls")
    me, colleague = floor.telecallers
    [lead] = await world.add_leads(floor.head, 1, assigned_to=me)
    day = date(2025, 3, 3)
    noon = datetime.fromisoformat("2025-03-03T06:30:00+00:00")
    from mas.core.crm.model import activity

    lines = [
        activity(lead, ActivityType.CALL, "call", noon + timedelta(minutes=m), me.user_id)
        for m in range(3)
    ]
    lines += [
        activity(
            lead, ActivityType.CALL, "ok", noon, me.user_id, status="COMPLETED", duration_s=40
        ),
        activity(lead, ActivityType.CALL, "not mine", noon, colleague.user_id),
        activity(lead, ActivityType.CALL, "system", noon, None),
        activity(lead, ActivityType.NOTE, "not a call", noon, me.user_id),
        activity(
            lead,
            ActivityType.CALL,
            "2nd IST",
            datetime.fromisoformat("2025-03-02T18:29:00+00:00"),
            me.user_id,
        ),
        activity(
            lead,
            ActivityType.CALL,
            "4th IST",
            datetime.fromisoformat("2025-03-03T18:30:00+00:00"),
            me.user_id,
        ),
        activity(lead, ActivityType.STATUS_CHANGED, "moved", noon, me.user_id, to="INTERESTED"),
    ]
    async with world.uow() as uow:
        await uow.leads.append(*lines)
        await uow.commit()

    def stored() -> dict[uuid.UUID, tuple[int, ...]]:
        return {
            person: (a.calls_done, a.connected_calls, a.follow_ups_done, a.moved_to_interested)
            for (person, on), a in world.tables.actuals.items()
            if on == day
        }

    assert await world.crm.targets.rollup(day) == 3, "every active team member gets a row"
    first = stored()
    await world.crm.targets.rollup(day)
    assert stored() == first
    assert first[me.user_id] == (4, 1, 0, 1)
    assert first[colleague.user_id][0] == 1


async def test_today_is_live_and_the_leaderboard_ranks_the_team(world: World) -> None:
    floor = await world.floor("Board")
    first, second = floor.telecallers
    [lead] = await world.add_leads(floor.head, 1)
    from mas.core.crm.model import activity

    async with world.uow() as uow:
        await uow.leads.append(
            activity(lead, ActivityType.CALL, "c", world.clock.now(), second.user_id),
            activity(lead, ActivityType.CONVERTED, "won", world.clock.now(), second.user_id),
        )
        await uow.commit()
    today = date(2025, 3, 3)
    await world.crm.targets.upsert(floor.head, [target(second, today, 5)])
    sheet = await world.crm.targets.today(second)
    assert sheet.target is not None and sheet.target.calls_target == 5
    assert (sheet.actual.calls_done, sheet.actual.conversions) == (1, 1)
    page = await world.crm.targets.sheet(floor.head, None, None, None, None, PageRequest())
    assert [(line.salesperson_id, line.live) for line in page.items] == [(second.user_id, True)]
    board = await world.crm.targets.leaderboard(floor.head, None, None, None)
    assert [(s.rank, s.salesperson_id) for s in board][:2] == [
        (1, second.user_id),
        (2, first.user_id),
    ]


# --- system config --------------------------------------------------------------------------------


async def test_system_config_answers_defaults_and_checks_values(world: World) -> None:
    admin = await world.person(Role.ADMIN, "Admin")
    default = await world.crm.config.get(BULK_ASSIGN_THRESHOLD)
    assert (default.value, default.is_default, default.updated_by) == (25, True, None)
    await refused(world.crm.config.get("crm.nope"), NotFound, "unknown_config_key")
    for bad in (0, True, "40", 2_000_000):
        await refused(world.crm.config.set(admin, BULK_ASSIGN_THRESHOLD, bad), ValidationFailed)
    stored = await world.crm.config.set(admin, BULK_ASSIGN_THRESHOLD, 40)
    assert (stored.value, stored.is_default, stored.updated_by) == (40, False, admin.user_id)
    assert stored.updated_at == world.clock.now()
