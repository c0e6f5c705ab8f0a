"""Assignment use cases on SQLite and PostgreSQL: bulk apply and its replays, skips, transfers,
team hand-over, auto-assign from the lead.created event, expiry, target rollups."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from mas.adapters.db.crm.tables import (
    BulkAssignmentRequestRow,
    DailyTargetActualRow,
    RawLeadRow,
    SalesTeamMemberRow,
)
from mas.core.crm.assignment_model import (
    AssignMethod,
    AutoStrategy,
    BulkStrategy,
    RequestStatus,
    Slot,
)
from mas.core.crm.bulk_assignment import BulkCommand
from mas.core.crm.events import LeadCreated, LeadsImported
from mas.core.crm.ports.imports import VendorLeadIn
from mas.core.crm.teams import MemberChanges
from mas.core.crm.transfers import TransferCommand
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict, ValidationFailed
from mas.core.platform.job_model import JobFilter
from mas.core.platform.paging import PageRequest
from tests.integration.crm_fixtures import (
    Floor,
    activities,
    add_activity,
    add_floor,
    add_import_intakes,
    add_leads,
    add_member,
    add_person,
    count_assignments,
    lead_rows,
    set_lead,
)


def caller(user: Any) -> Caller:
    return Caller(user_id=user.id, role=user.role, platform=Platform.MY_ANALYTICS_SCHOOL)


async def emails_to(c: Any, address: str) -> list[Any]:
    return (await c.platform.delivery.mailbox(None, address, PageRequest(1, 100))).items


async def pending_request(c: Any, floor: Floor, count: int = 30) -> tuple[Any, list[uuid.UUID]]:
    leads = await add_leads(c, floor.head.id, count)
    outcome = await c.crm.assignment.bulk(
        caller(floor.head),
        BulkCommand(
            slot=Slot.FIRST_LINE,
            strategy=BulkStrategy.EVEN_SPLIT,
            lead_ids=leads,
            assignee_ids=[u.id for u in floor.telecallers],
            reason="spring intake",
        ),
    )
    assert not outcome.applied and outcome.request.status is RequestStatus.PENDING
    return outcome.request, leads


async def test_apply_replays_write_no_duplicate_rows_or_activities(container: Any) -> None:
    c = container
    floor = await add_floor(c, "North")
    admin = await add_person(c, Role.ADMIN, "Asha Admin")
    request, leads = await pending_request(c, floor, 30)
    assert await count_assignments(c) == 0, "nothing moves before approval"

    approved = await c.crm.approvals.approve(caller(admin), request.id)
    assert approved.status is RequestStatus.APPLIED
    assert (approved.applied_count, approved.skipped_count) == (30, 0)
    rows = await lead_rows(c, leads)
    firsts = [u.id for u in floor.telecallers]
    assert [rows[i].assigned_to for i in leads] == [firsts[0]] * 15 + [firsts[1]] * 15

    # A redelivered run, a crash that left it APPLYING, and the task sent again with a new key.
    await c.crm.assignment.apply_request(request.id)
    async with c.uow() as uow:
        await uow.session.execute(
            update(BulkAssignmentRequestRow)
            .where(BulkAssignmentRequestRow.id == request.id)
            .values(status="APPLYING")
        )
        await uow.commit()
    again = await c.crm.assignment.apply_request(request.id)
    await c.jobs.enqueue(
        "crm.apply_bulk_assignment", {"request_id": str(request.id)}, key="replay-by-hand"
    )
    assert again.status is RequestStatus.APPLIED and again.applied_count == 30
    assert await count_assignments(c, request_id=request.id) == 30
    assert await count_assignments(c, method=AssignMethod.BULK.value) == 30
    assert len(await activities(c, "ASSIGNED", leads)) == 30
    row = (await activities(c, "ASSIGNED", leads[:1]))[0]
    assert row.data["reason"].startswith(f"bulk request {request.id} approved by Asha Admin: ")
    assert row.actor_id == floor.head.id
    # One notice per assignee for the whole request, not one per lead.
    for person in floor.telecallers:
        notices = [
            m for m in await emails_to(c, person.email) if m.template == "crm.leads_assigned"
        ]
        assert len(notices) == 1 and "15 leads were assigned" in notices[0].body_text
    assert len(await emails_to(c, floor.head.email)) == 1  # "approved"


async def test_a_lead_converted_or_moved_before_approval_is_skipped_and_counted(
    container: Any,
) -> None:
    c = container
    floor = await add_floor(c, "East")
    other = await add_floor(c, "West", telecallers=0, counsellors=0)
    admin = await add_person(c, Role.ADMIN, "Admin")
    request, leads = await pending_request(c, floor, 30)
    await set_lead(c, leads[0], status="CONVERTED")
    await set_lead(c, leads[1], owning_sales_head_id=other.head.id)
    await set_lead(c, leads[2], deleted_at=datetime.now(UTC))

    done = await c.crm.approvals.approve(caller(admin), request.id)
    assert (done.status, done.applied_count, done.skipped_count) == (RequestStatus.APPLIED, 27, 3)
    rows = await lead_rows(c, leads[:3])
    assert all(rows[i].assigned_to is None for i in leads[:3])
    assert await count_assignments(c, request_id=request.id) == 27


async def test_a_large_request_applies_in_chunks_and_reports_its_counts(container: Any) -> None:
    c = container
    floor = await add_floor(c, "Big", telecallers=3)
    admin = await add_person(c, Role.ADMIN, "Admin")
    leads = await add_leads(c, floor.head.id, 1100)
    outcome = await c.crm.assignment.bulk(
        caller(admin),
        BulkCommand(
            slot=Slot.FIRST_LINE,
            strategy=BulkStrategy.ROUND_ROBIN,
            lead_ids=leads,
            assignee_ids=[u.id for u in floor.telecallers],
            reason="admin spreads the backlog",
            pool_head_id=floor.head.id,
        ),
    )
    assert not outcome.applied, "more than one chunk goes to the task (202)"
    async with c.uow() as uow:
        final = await uow.bulk_requests.get(outcome.request.id)
    assert final is not None
    assert (final.status, final.applied_count, final.skipped_count) == (
        RequestStatus.APPLIED,
        1100,
        0,
    )
    per = await lead_rows(c, leads)
    counts = {
        u.id: sum(1 for r in per.values() if r.assigned_to == u.id) for u in floor.telecallers
    }
    assert sorted(counts.values()) == [366, 367, 367]


async def test_a_failed_apply_is_retried_by_an_admin(container: Any) -> None:
    c = container
    floor = await add_floor(c, "South")
    admin = await add_person(c, Role.ADMIN, "Admin")
    request, leads = await pending_request(c, floor, 26)
    async with c.uow() as uow:
        r = await uow.bulk_requests.get(request.id, lock=True)
        r.decide(RequestStatus.APPROVED, admin.id, c.clock.now(), None)
        await uow.bulk_requests.save(r)
        await uow.commit()
    await c.crm.assignment.mark_failed(request.id, "database went away")
    async with c.uow() as uow:
        failed = await uow.bulk_requests.get(request.id)
    assert failed.status is RequestStatus.FAILED and failed.last_error == "database went away"
    with pytest.raises(Conflict):
        await c.crm.approvals.approve(caller(admin), request.id)
    retried = await c.crm.approvals.retry(caller(admin), request.id)
    assert (retried.status, retried.applied_count) == (RequestStatus.APPLIED, 26)
    with pytest.raises(Conflict) as again:
        await c.crm.approvals.retry(caller(admin), request.id)
    assert "APPLIED" in again.value.detail


async def test_an_ownership_transfer_moves_clears_and_writes_one_activity_per_lead(
    container: Any,
) -> None:
    c = container
    north = await add_floor(c, "North")
    south = await add_floor(c, "South", telecallers=0, counsellors=0)
    admin = await add_person(c, Role.ADMIN, "Admin")
    caller_one, counsellor = north.telecallers[0], north.counsellors[0]
    leads = await add_leads(
        c, north.head.id, 4, assigned_to=caller_one.id, assigned_counsellor=counsellor.id
    )
    transfer = await c.crm.transfers.transfer(
        caller(admin),
        TransferCommand(
            to_head_id=south.head.id,
            from_head_id=north.head.id,
            lead_ids=leads,
            reason="North is closing",
        ),
    )
    assert transfer.lead_count == 4
    rows = await lead_rows(c, leads)
    assert {
        (r.owning_sales_head_id, r.assigned_to, r.assigned_counsellor) for r in rows.values()
    } == {(south.head.id, None, None)}
    moved = await activities(c, "OWNERSHIP_TRANSFERRED", leads)
    assert sorted(a.raw_lead_id for a in moved) == sorted(leads)
    assert moved[0].data["cleared"] == {
        "FIRST_LINE": str(caller_one.id),
        "SECOND_LINE": str(counsellor.id),
    }
    assert await activities(c, "UNASSIGNED", leads) == []
    assert await count_assignments(c, method="TRANSFER") == 8
    assert len(await emails_to(c, south.head.email)) == 1
    with pytest.raises(ValidationFailed) as again:
        await c.crm.transfers.transfer(
            caller(admin),
            TransferCommand(to_head_id=south.head.id, lead_ids=leads[:1], reason="twice"),
        )
    assert str(leads[0]) in again.value.errors[0].message


async def test_leaving_the_team_with_open_leads_needs_reassign_to(container: Any) -> None:
    c = container
    floor = await add_floor(c, "Team", telecallers=2)
    admin = await add_person(c, Role.ADMIN, "Admin")
    leaving, staying = floor.telecallers
    open_leads = await add_leads(c, floor.head.id, 3, assigned_to=leaving.id)
    closed = await add_leads(c, floor.head.id, 1, status="CONVERTED", assigned_to=leaving.id)
    member_id = floor.members[leaving.id].id

    with pytest.raises(Conflict) as refused:
        await c.crm.teams.update_member(caller(admin), member_id, MemberChanges(active=False))
    assert refused.value.code == "has_open_leads"
    assert (await lead_rows(c, open_leads))[open_leads[0]].assigned_to == leaving.id

    left = await c.crm.teams.update_member(
        caller(admin), member_id, MemberChanges(active=False, reassign_to=staying.id)
    )
    assert not left.active and left.left_at is not None
    rows = await lead_rows(c, open_leads + closed)
    assert [rows[i].assigned_to for i in open_leads] == [staying.id] * 3
    assert rows[closed[0]].assigned_to == leaving.id, "a converted lead keeps its history"
    assert await count_assignments(c, method="TRANSFER") == 3
    assert len(await activities(c, "ASSIGNED", open_leads)) == 3
    team = await c.crm.teams.team(caller(floor.head), None)
    assert {(t.user_id, t.open_leads) for t in team} >= {(staying.id, 3)}
    assert leaving.id not in {t.user_id for t in team}


async def test_auto_assign_follows_the_lead_created_event(container: Any) -> None:
    c = container
    floor = await add_floor(c, "Auto", telecallers=3, auto_assign_enabled=True)
    first, second, third = floor.telecallers
    async with c.uow() as uow:
        await uow.session.execute(
            update(SalesTeamMemberRow)
            .where(SalesTeamMemberRow.user_id == second.id)
            .values(available=False)
        )
        await uow.commit()
    leads = await add_leads(c, floor.head.id, 3)
    for lead in leads:  # one commit each: events of one commit may share a millisecond
        async with c.uow() as uow:
            uow.record(
                LeadCreated(
                    lead_id=lead,
                    source="MANUAL",
                    channel="MANUAL",
                    owning_sales_head_id=floor.head.id,
                    assigned_to=None,
                )
            )
            await uow.commit()
    rows = await lead_rows(c, leads)
    assert [rows[i].assigned_to for i in leads] == [first.id, third.id, first.id]
    reasons = [a.data["reason"] for a in await activities(c, "ASSIGNED", leads)]
    assert "round-robin: next after Auto Caller 3" in reasons
    assert any("skipped Auto Caller 2: unavailable" in r for r in reasons)
    # Already assigned (a racing manual assignment): the conditional update leaves it alone.
    assert await c.crm.auto_assign.auto_assign(leads[0]) is None
    assert await count_assignments(c, method="ROUND_ROBIN") == 3
    runs = await c.jobs.page(JobFilter(task="crm.auto_assign"), PageRequest())
    assert runs.total == 3


async def test_least_loaded_auto_assign_and_daily_capacity(container: Any) -> None:
    c = container
    floor = await add_floor(
        c,
        "Load",
        telecallers=0,
        counsellors=0,
        auto_assign_enabled=True,
        assignment_strategy=AutoStrategy.LEAST_LOADED,
    )
    busy = await add_member(c, floor, "Busy Caller")
    capped = await add_member(c, floor, "Capped Caller", daily_capacity=1)
    await add_leads(c, floor.head.id, 2, assigned_to=busy.id)
    leads = await add_leads(c, floor.head.id, 3)
    for lead in leads:
        await c.crm.auto_assign.auto_assign(lead)
    rows = await lead_rows(c, leads)
    assert [rows[i].assigned_to for i in leads] == [capped.id, busy.id, busy.id]
    reasons = [a.data["reason"] for a in await activities(c, "ASSIGNED", leads)]
    assert "least-loaded: 0 open leads" in reasons
    assert any("Capped Caller: at daily capacity 1" in r for r in reasons)


async def test_expiry_sends_exactly_one_email(container: Any) -> None:
    c = container
    floor = await add_floor(c, "Slow")
    request, _ = await pending_request(c, floor, 26)
    async with c.uow() as uow:
        await uow.session.execute(
            update(BulkAssignmentRequestRow)
            .where(BulkAssignmentRequestRow.id == request.id)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        await uow.commit()
    assert await c.crm.approvals.expire_due() == 1
    assert await c.crm.approvals.expire_due() == 0
    async with c.uow() as uow:
        expired = await uow.bulk_requests.get(request.id)
    assert expired.status is RequestStatus.EXPIRED
    mails = await emails_to(c, floor.head.email)
    assert [m.template for m in mails] == ["crm.request_expired"]


async def test_rollup_counts_only_own_calls_of_that_local_day_and_reruns_agree(
    container: Any,
) -> None:
    c = container
    floor = await add_floor(c, "Calls", telecallers=2)
    me, colleague = floor.telecallers
    lead = (await add_leads(c, floor.head.id, 1, assigned_to=me.id))[0]
    day = datetime(2025, 3, 3).date()
    noon_ist = datetime(2025, 3, 3, 6, 30, tzinfo=UTC)
    for minute in range(3):
        await add_activity(c, lead, "CALL", me.id, noon_ist + timedelta(minutes=minute))
    await add_activity(c, lead, "CALL", me.id, noon_ist, {"status": "COMPLETED", "duration_s": 40})
    await add_activity(c, lead, "CALL", colleague.id, noon_ist)  # not mine
    await add_activity(c, lead, "CALL", None, noon_ist)  # a system line
    await add_activity(c, lead, "NOTE", me.id, noon_ist)  # not a call
    await add_activity(c, lead, "CALL", me.id, datetime(2025, 3, 2, 18, 29, tzinfo=UTC))  # 2nd IST
    await add_activity(c, lead, "CALL", me.id, datetime(2025, 3, 3, 18, 30, tzinfo=UTC))  # 4th IST
    await add_activity(c, lead, "STATUS_CHANGED", me.id, noon_ist, {"to": "INTERESTED"})

    async def stored() -> list[tuple[Any, ...]]:
        async with c.uow() as uow:
            rows = await uow.session.execute(
                select(DailyTargetActualRow).where(DailyTargetActualRow.target_date == day)
            )
            return sorted(
                (
                    r.salesperson_id,
                    r.calls_done,
                    r.connected_calls,
                    r.follow_ups_done,
                    r.moved_to_interested,
                    r.conversions,
                )
                for r in rows.scalars()
            )

    await c.crm.targets.rollup(day)
    first = await stored()
    await c.crm.targets.rollup(day)
    assert await stored() == first
    mine = next(r for r in first if r[0] == me.id)
    assert mine[1:] == (4, 1, 0, 1, 0)
    theirs = next(r for r in first if r[0] == colleague.id)
    assert theirs[1] == 1


async def test_approval_refuses_an_assignee_who_left_the_team(container: Any) -> None:
    c = container
    floor = await add_floor(c, "Gone")
    admin = await add_person(c, Role.ADMIN, "Admin")
    request, leads = await pending_request(c, floor, 30)
    await c.crm.teams.update_member(
        caller(admin), floor.members[floor.telecallers[1].id].id, MemberChanges(active=False)
    )
    with pytest.raises(Conflict) as refused:
        await c.crm.approvals.approve(caller(admin), request.id)
    assert refused.value.code == "assignee_inactive"
    assert refused.value.errors[0].field == "assignee_ids[1]"
    async with c.uow() as uow:
        still = await uow.bulk_requests.get(request.id)
    assert still.status is RequestStatus.PENDING, "the refused approval changed nothing"
    assert await count_assignments(c) == 0


async def test_moving_a_member_to_another_team_hands_their_leads_over(container: Any) -> None:
    c = container
    north = await add_floor(c, "North", telecallers=2)
    south = await add_floor(c, "South", telecallers=0, counsellors=0)
    admin = await add_person(c, Role.ADMIN, "Admin")
    moving, staying = north.telecallers
    leads = await add_leads(c, north.head.id, 2, assigned_to=moving.id)
    member_id = north.members[moving.id].id
    with pytest.raises(Conflict):
        await c.crm.teams.update_member(
            caller(admin), member_id, MemberChanges(sales_head_id=south.head.id)
        )
    with pytest.raises(ValidationFailed) as outsider:
        await c.crm.teams.update_member(
            caller(admin),
            member_id,
            MemberChanges(sales_head_id=south.head.id, reassign_to=uuid.uuid4()),
        )
    assert outsider.value.errors[0].field == "reassign_to"
    moved = await c.crm.teams.update_member(
        caller(admin),
        member_id,
        MemberChanges(sales_head_id=south.head.id, reassign_to=staying.id),
    )
    assert (moved.sales_head_id, moved.active) == (south.head.id, True)
    assert moved.id != member_id, "the old membership stays as history"
    rows = await lead_rows(c, leads)
    assert {r.assigned_to for r in rows.values()} == {staying.id}
    north_team = await c.crm.teams.team(caller(north.head), None, include_inactive=True)
    assert {(t.user_id, t.active) for t in north_team} >= {(moving.id, False)}
    handover = [m for m in await emails_to(c, staying.email) if m.template == "crm.leads_assigned"]
    assert len(handover) == 1 and "2 leads were assigned" in handover[0].body_text


async def test_every_assignment_publishes_lead_assigned_after_commit(container: Any) -> None:
    c = container
    floor = await add_floor(c, "Events")
    received: list[dict[str, Any]] = []

    async def on_assigned(subject: str, payload: dict[str, Any]) -> None:
        received.append(payload)

    await c.bus.subscribe("mas.lead.assigned", on_assigned)
    lead = (await add_leads(c, floor.head.id, 1))[0]
    who = floor.telecallers[0].id
    await c.crm.assignment.assign(caller(floor.head), lead, Slot.FIRST_LINE, who)
    await c.crm.assignment.assign(caller(floor.head), lead, Slot.FIRST_LINE, who)  # no change
    await c.crm.assignment.unassign(caller(floor.head), lead, Slot.FIRST_LINE)
    assert [(p["lead_id"], p["assignee_id"], p["method"]) for p in received] == [
        (str(lead), str(who), "MANUAL"),
        (str(lead), None, "MANUAL"),
    ]
    assert received[0]["reason"] == "manual: assigned by Events Head (SALES_HEAD)"
    assert received[1]["previous_assignee_id"] == str(who)
    assert await count_assignments(c) == 2
    assert len(await activities(c, "UNASSIGNED", [lead])) == 1


async def test_an_approved_request_whose_run_was_lost_is_resumed(container: Any) -> None:
    c = container
    floor = await add_floor(c, "Lost")
    admin = await add_person(c, Role.ADMIN, "Admin")
    request, leads = await pending_request(c, floor, 26)
    long_ago = datetime.now(UTC) - timedelta(minutes=11)
    async with c.uow() as uow:
        await uow.session.execute(
            update(BulkAssignmentRequestRow)
            .where(BulkAssignmentRequestRow.id == request.id)
            .values(status="APPROVED", decided_by=admin.id, updated_at=long_ago)
        )
        await uow.commit()
    assert await c.crm.approvals.resume_idle() == 1
    async with c.uow() as uow:
        done = await uow.bulk_requests.get(request.id)
    assert (done.status, done.applied_count) == (RequestStatus.APPLIED, 26)
    assert await c.crm.approvals.resume_idle() == 0


async def test_a_csv_import_into_an_auto_assign_pool_is_handed_out(container: Any) -> None:
    c = container
    floor = await add_floor(c, "Import", telecallers=2, auto_assign_enabled=True)
    batch = uuid.uuid4()
    created = await add_leads(c, floor.head.id, 7)
    merged = await add_leads(c, floor.head.id, 1)
    taken = await add_leads(c, floor.head.id, 1, assigned_to=floor.telecallers[0].id)
    await add_import_intakes(c, batch, created + taken)
    await add_import_intakes(c, batch, merged, outcome="MERGED", first_row=100)
    async with c.uow() as uow:
        uow.record(
            LeadsImported(
                batch_id=batch,
                channel="CSV",
                pool_head_id=floor.head.id,
                created=8,
                merged=1,
                rejected=0,
            )
        )
        await uow.commit()
    rows = await lead_rows(c, created + merged)
    counts = {u.id: sum(r.assigned_to == u.id for r in rows.values()) for u in floor.telecallers}
    assert sorted(counts.values()) == [3, 4]
    assert rows[merged[0]].assigned_to is None, "a merged re-inquiry keeps its owner"
    assert await count_assignments(c, method="ROUND_ROBIN") == 7
    for person in floor.telecallers:
        mails = [m for m in await emails_to(c, person.email) if m.template == "crm.leads_assigned"]
        assert len(mails) == 1, "one notice per assignee for the whole import"
    # The same event again (a redelivery) queues nothing new: the task is keyed by the batch.
    assert await c.crm.auto_assign.assign_batch(floor.head.id, batch) == 0


async def test_a_vendor_pull_into_an_auto_assign_pool_is_handed_out(container: Any) -> None:
    c = container
    floor = await add_floor(c, "Vendor", telecallers=2, auto_assign_enabled=True)
    waiting = await add_leads(c, floor.head.id, 2)  # unassigned before the pull: left alone
    admin = await add_person(c, Role.ADMIN, "Admin")
    issued = await c.identity.vendor_keys.create(caller(admin), "Shiksha", ["leads:write"])
    key = issued.key.id
    await c.crm.vendor_leads.assign_head(caller(admin), key, floor.head.id)
    await c.crm.vendor_leads.push(
        key,
        [
            VendorLeadIn(external_id=f"v{n}", name=f"Lead {n}", phone=f"98765{n:05d}")
            for n in range(5)
        ]
        + [VendorLeadIn(external_id="again", name="Lead 0 again", phone="9876500000")],
    )
    await c.crm.vendor_leads.request_pull(caller(floor.head), key)
    async with c.uow() as uow:
        pulled = (
            (await uow.session.execute(select(RawLeadRow.id).where(RawLeadRow.source == "VENDOR")))
            .scalars()
            .all()
        )
    rows = await lead_rows(c, [*pulled, *waiting])
    assert len(pulled) == 5
    assert all(rows[lead].assigned_to is not None for lead in pulled)
    assert all(rows[lead].assigned_to is None for lead in waiting)
    counts = {u.id: sum(r.assigned_to == u.id for r in rows.values()) for u in floor.telecallers}
    assert sorted(counts.values()) == [2, 3]
    for person in floor.telecallers:
        mails = [m for m in await emails_to(c, person.email) if m.template == "crm.leads_assigned"]
        assert len(mails) == 1, "one notice per assignee for the whole pull"
