"""The lead lifecycle's rules on fakes: intake and de-duplication, scope, the status machine,
versioned edits, the journal, follow-ups and their jobs, tags, campaigns and reports.

The integration suite (``tests/integration/test_crm_leads.py``) runs the same use cases on
SQLite and PostgreSQL; here each rule is held on its own, with a frozen clock.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from mas.core.crm.assignment_model import AssignMethod
from mas.core.crm.campaigns import CampaignChanges, NewCampaign, Submission
from mas.core.crm.events import LeadAssigned, LeadCreated, LeadDeleted, LeadStatusChanged
from mas.core.crm.followups import FollowUpAction, FollowUpUpdate, NewFollowUp
from mas.core.crm.intake import NewLead, NewPoolLead
from mas.core.crm.model import (
    ActivityType,
    CampaignLead,
    CampaignLeadStatus,
    FollowUpStatus,
    IntakeOutcome,
    LeadStatus,
)
from mas.core.crm.queries import FollowUpWindow, LeadFilter
from mas.core.crm.service import LeadChanges, PoolLeadChanges, StatusRequest
from mas.core.crm.tagging import BulkTag, NewTag, TagChanges
from mas.core.identity.policy import Role
from mas.core.platform.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidState,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from tests.unit.crm_world import World, refused


class Org:
    """Two pools: ``head``'s with ``sales`` in it, and ``other_head``'s; ``other`` is in no team."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def build(self) -> Org:
        w = self.world
        floor = await w.floor("North", telecallers=1, counsellors=0)
        self.head, self.sales = floor.head, floor.telecallers[0]
        self.other_head = (await w.floor("South", telecallers=0, counsellors=0)).head
        self.other = await w.person(Role.SALES, "Loner")
        self.admin = await w.person(Role.ADMIN, "Asha Admin")
        return self


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
async def org(world: World) -> Org:
    return await Org(world).build()


def kinds(world: World, lead_id: uuid.UUID) -> list[ActivityType]:
    return [a.type for a in world.tables.activities if a.raw_lead_id == lead_id]


# --- intake and de-duplication ---------------------------------------------------------------


async def test_a_salesperson_adds_a_lead_assigned_to_them_in_their_heads_pool(
    world: World, org: Org
) -> None:
    receipt = await world.crm.intake.add_manual(
        org.sales, NewLead(name=" Asha  Rao ", phone="098765 43210", email=" Asha@Example.COM ")
    )
    lead = receipt.lead
    assert receipt.outcome is IntakeOutcome.CREATED and lead is not None
    assert (lead.name, lead.phone_e164, lead.email) == (
        "Asha Rao",
        "+919876543210",
        "asha@example.com",
    )
    assert (lead.owning_sales_head_id, lead.assigned_to) == (org.head.user_id, org.sales.user_id)
    assert lead.status is LeadStatus.NEW and lead.version == 0
    assert sorted(kinds(world, lead.id)) == [ActivityType.ASSIGNED, ActivityType.CREATED]
    assert [type(e) for e in world.store.events] == [LeadCreated, LeadAssigned]
    assigned = world.events(LeadAssigned)[0]
    assert (assigned.assignee_id, assigned.slot, assigned.method) == (
        org.sales.user_id,
        "FIRST_LINE",
        "MANUAL",
    )
    assert [(a.assignee_id, a.method) for a in world.tables.assignments] == [
        (org.sales.user_id, AssignMethod.MANUAL)
    ]


async def test_a_known_phone_merges_without_moving_the_lead(world: World, org: Org) -> None:
    first = await world.crm.intake.add_manual(
        org.head, NewPoolLead(name="Asha", phone="9876543210")
    )
    again = await world.crm.intake.add_manual(
        org.admin, NewLead(name="Someone Else", phone="+91 98765 43210", city="Pune")
    )
    assert again.id == first.id and again.outcome is IntakeOutcome.MERGED
    lead = world.lead(first.id)
    assert (lead.owning_sales_head_id, lead.assigned_to) == (org.head.user_id, None)
    assert (lead.name, lead.city, lead.reinquiry_count) == ("Asha", "Pune", 1)
    assert len(world.tables.leads) == 1 and len(world.tables.intakes) == 2
    assert ActivityType.INTAKE_MERGED in kinds(world, first.id)
    assert len(world.events(LeadCreated)) == 1, "a merge is no new lead"


async def test_a_known_phone_outside_the_callers_leads_is_refused_and_journalled(
    world: World, org: Org
) -> None:
    """Issue 8: no id, no merge, no change; the lead's journal shows who tried."""
    first = await world.crm.intake.add_manual(
        org.head, NewPoolLead(name="Asha", phone="9876543210")
    )
    before = world.lead(first.id)
    error = await refused(
        world.crm.intake.add_manual(
            org.sales, NewLead(name="Someone Else", phone="+91 98765 43210", city="Pune")
        ),
        Conflict,
        "lead_exists_elsewhere",
    )
    assert str(first.id) not in error.detail
    for who, data in (
        (org.other, NewLead(name="X", phone="9876543210")),
        (org.other_head, NewPoolLead(name="X", phone="9876543210")),
    ):
        await refused(world.crm.intake.add_manual(who, data), Conflict, "lead_exists_elsewhere")
    after = world.lead(first.id)
    assert (after.city, after.reinquiry_count, after.version) == (None, 0, before.version)
    assert len(world.tables.intakes) == 1 and not world.events(LeadStatusChanged)
    tried = [
        a.actor_id
        for a in world.tables.activities
        if a.raw_lead_id == first.id and a.type is ActivityType.INTAKE_REFUSED
    ]
    assert tried == [org.sales.user_id, org.other.user_id, org.other_head.user_id]


async def test_a_merge_fills_only_empty_fields_and_unions_tags(world: World, org: Org) -> None:
    for name in ("hot", "web"):
        await world.crm.tags.create(org.admin, NewTag(name=name))
    first = await world.crm.intake.add_manual(
        org.admin,
        NewPoolLead(name="Asha", phone="9876543210", email="asha@example.com", tags=["hot"]),
    )
    again = await world.crm.intake.add_manual(
        org.admin,
        NewPoolLead(
            name="A. Rao",
            phone="9876543210",
            email="other@example.com",
            city="Pune",
            tags=["web", "no-such-tag"],
        ),
    )
    lead = world.lead(first.id)
    assert (lead.name, lead.email, lead.city) == ("Asha", "asha@example.com", "Pune")
    assert lead.tags == ["hot", "web"]
    assert again.warnings == ["tag 'no-such-tag' does not exist; not attached"]


async def test_matching_order_phone_then_alternate_then_email(world: World, org: Org) -> None:
    by_email = await world.crm.intake.add_manual(
        org.admin, NewPoolLead(name="Mail Only", email="m@example.com")
    )
    with_alt = await world.crm.intake.add_manual(
        org.admin, NewPoolLead(name="Two Phones", phone="9876500001", phone_alt="9876500002")
    )
    via_alt = await world.crm.intake.add_manual(
        org.admin, NewPoolLead(name="X", phone="9876500002")
    )
    assert via_alt.id == with_alt.id
    via_email = await world.crm.intake.add_manual(
        org.admin, NewPoolLead(name="Y", phone="9876500003", email="M@example.com")
    )
    assert via_email.id == by_email.id
    assert world.lead(by_email.id).phone_e164 == "+919876500003", "the email-only lead gained it"


async def test_a_lost_lead_reopens_and_a_converted_one_stays(world: World, org: Org) -> None:
    lost = await world.crm.intake.add_manual(org.admin, NewPoolLead(name="L", phone="9876500010"))
    won = await world.crm.intake.add_manual(org.admin, NewPoolLead(name="W", phone="9876500011"))
    await world.crm.leads.change_status(
        org.admin, lost.id, StatusRequest(to=LeadStatus.NOT_INTERESTED, lost_reason="price")
    )
    for to in (LeadStatus.CONTACTED, LeadStatus.INTERESTED):
        await world.crm.leads.change_status(org.admin, won.id, StatusRequest(to=to))
    await world.crm.leads.change_status(
        org.admin, won.id, StatusRequest(to=LeadStatus.CONVERTED, conversion_ref="pay_1")
    )
    again = await world.crm.intake.add_manual(org.admin, NewPoolLead(name="L", phone="9876500010"))
    assert again.outcome is IntakeOutcome.REOPENED
    reopened = world.lead(lost.id)
    assert (reopened.status, reopened.lost_reason, reopened.reinquiry_count) == (
        LeadStatus.NEW,
        None,
        1,
    )
    assert ActivityType.REOPENED in kinds(world, lost.id)
    moves = [(e.from_status, e.to_status) for e in world.events(LeadStatusChanged)]
    assert moves[-1] == ("NOT_INTERESTED", "NEW")
    same = await world.crm.intake.add_manual(org.admin, NewPoolLead(name="W", phone="9876500011"))
    assert same.outcome is IntakeOutcome.MERGED
    assert world.lead(won.id).status is LeadStatus.CONVERTED


async def test_intake_is_replay_safe_on_its_idempotency_key(world: World, org: Org) -> None:
    data = NewLead(name="Asha", phone="9876500020")
    first = await world.crm.intake.add_manual(org.sales, data, "key-1")
    second = await world.crm.intake.add_manual(org.sales, data, "key-1")
    assert first.id == second.id and second.outcome is IntakeOutcome.CREATED
    assert len(world.tables.intakes) == 1 and world.lead(first.id).reinquiry_count == 0
    assert ActivityType.INTAKE_MERGED not in kinds(world, first.id)
    third = await world.crm.intake.add_manual(org.sales, data, "key-2")
    assert third.outcome is IntakeOutcome.MERGED, "another key is another arrival"


async def test_contact_rules(world: World, org: Org) -> None:
    await refused(
        world.crm.intake.add_manual(org.sales, NewLead(name="Nobody")),
        ValidationFailed,
        "contact_required",
    )
    bad = await refused(
        world.crm.intake.add_manual(org.sales, NewLead(name="A", email="not-an-email")),
        ValidationFailed,
    )
    assert [e.field for e in bad.errors] == ["email"]
    await refused(
        world.crm.intake.add_manual(org.sales, NewLead(name="Unknown", phone="9876500030")),
        ValidationFailed,
    )
    kept = await world.crm.intake.add_manual(
        org.sales, NewLead(name="Bad Phone", phone="12", email="b@example.com")
    )
    assert kept.warnings and kept.lead is not None
    assert kept.lead.phone_e164 is None and kept.lead.extra_data == {"phone_raw": "12"}
    assert len(world.tables.leads) == 1, "refused leads leave nothing behind"


async def test_a_head_adds_into_their_own_pool_an_admin_into_a_real_one(
    world: World, org: Org
) -> None:
    await refused(
        world.crm.intake.add_manual(
            org.head,
            NewPoolLead(name="X", phone="9876500062", owning_sales_head_id=org.other_head.user_id),
        ),
        Forbidden,
        "other_pool",
    )
    not_a_head = await refused(
        world.crm.intake.add_manual(
            org.admin,
            NewPoolLead(name="X", phone="9876500062", owning_sales_head_id=org.sales.user_id),
        ),
        ValidationFailed,
    )
    assert not_a_head.errors[0].field == "owning_sales_head_id"
    placed = await world.crm.intake.add_manual(
        org.admin,
        NewPoolLead(name="X", phone="9876500062", owning_sales_head_id=org.other_head.user_id),
    )
    assert world.lead(placed.id).owning_sales_head_id == org.other_head.user_id


# --- scope ------------------------------------------------------------------------------------


async def test_scope_sales_sees_assigned_head_sees_pool_admin_sees_all(
    world: World, org: Org
) -> None:
    mine = await world.crm.intake.add_manual(org.sales, NewLead(name="Mine", phone="9876500060"))
    theirs = await world.crm.intake.add_manual(
        org.other_head, NewPoolLead(name="Theirs", phone="9876500061")
    )
    assert (await world.crm.leads.get(org.sales, mine.id)).id == mine.id
    await refused(world.crm.leads.get(org.other, mine.id), NotFound, "lead_not_found")
    assert (await world.crm.leads.get(org.head, mine.id)).id == mine.id
    await refused(world.crm.leads.get(org.head, theirs.id), NotFound, "lead_not_found")
    assert (await world.crm.leads.get(org.admin, theirs.id)).id == theirs.id
    page = await world.crm.leads.page(org.head, LeadFilter(), PageRequest())
    assert [lead.id for lead in page.items] == [mine.id] and page.total == 1
    widened = await world.crm.leads.page(
        org.head, LeadFilter(pool=org.other_head.user_id), PageRequest()
    )
    assert widened.items == [], "a filter narrows a scope, never widens it"
    assert (await world.crm.leads.page(org.admin, LeadFilter(), PageRequest())).total == 2
    await refused(
        world.crm.leads.change_status(org.other, mine.id, StatusRequest(to=LeadStatus.CONTACTED)),
        NotFound,
    )


async def test_a_head_without_isolation_reads_every_pool_but_writes_only_their_own(
    world: World, org: Org
) -> None:
    theirs = await world.crm.intake.add_manual(
        org.other_head, NewPoolLead(name="Theirs", phone="9876500070")
    )
    world.tables.profiles[org.head.user_id].isolation_enabled = False
    assert (await world.crm.leads.get(org.head, theirs.id)).id == theirs.id
    await refused(
        world.crm.leads.change_status(org.head, theirs.id, StatusRequest(to=LeadStatus.CONTACTED)),
        Forbidden,
        "other_pool",
    )
    assert world.lead(theirs.id).status is LeadStatus.NEW


# --- status, edits, journal -------------------------------------------------------------------


async def test_status_moves_follow_the_state_machine(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="S", phone="9876500080"))
    illegal = await refused(
        world.crm.leads.change_status(
            org.sales, lead.id, StatusRequest(to=LeadStatus.CONVERTED, conversion_ref="x")
        ),
        InvalidState,
        "illegal_transition",
    )
    assert "NEW" in illegal.detail and "CONVERTED" in illegal.detail
    moved = await world.crm.leads.change_status(
        org.sales, lead.id, StatusRequest(to=LeadStatus.CONTACTED)
    )
    assert moved.status is LeadStatus.CONTACTED and moved.version == 1
    same = await world.crm.leads.change_status(
        org.sales, lead.id, StatusRequest(to=LeadStatus.CONTACTED)
    )
    assert same.version == 1, "the same status is a no-op"
    missing = await refused(
        world.crm.leads.change_status(
            org.sales, lead.id, StatusRequest(to=LeadStatus.NOT_INTERESTED)
        ),
        ValidationFailed,
    )
    assert missing.errors[0].field == "lost_reason"
    qualified = await refused(
        world.crm.leads.change_status(org.sales, lead.id, StatusRequest(to=LeadStatus.QUALIFIED)),
        InvalidState,
    )
    assert "QUALIFIED" in qualified.detail
    assert [(e.from_status, e.to_status, e.version) for e in world.events(LeadStatusChanged)] == [
        ("NEW", "CONTACTED", 1)
    ]
    assert kinds(world, lead.id).count(ActivityType.STATUS_CHANGED) == 1


async def test_a_lost_lead_is_reopened_by_a_head_not_by_a_salesperson(
    world: World, org: Org
) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="R", phone="9876500081"))
    await world.crm.leads.change_status(
        org.sales, lead.id, StatusRequest(to=LeadStatus.CLOSED, lost_reason="no answer")
    )
    assert world.lead(lead.id).lost_reason == "no answer"
    await refused(
        world.crm.leads.change_status(org.sales, lead.id, StatusRequest(to=LeadStatus.NEW)),
        InvalidState,
    )
    back = await world.crm.leads.change_status(org.head, lead.id, StatusRequest(to=LeadStatus.NEW))
    assert back.status is LeadStatus.NEW and back.lost_reason is None
    assert ActivityType.REOPENED in kinds(world, lead.id)


async def test_a_converted_lead_needs_its_reference_and_then_stays(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.head, NewPoolLead(name="C", phone="9876500082"))
    for to in (LeadStatus.CONTACTED, LeadStatus.INTERESTED):
        await world.crm.leads.change_status(org.head, lead.id, StatusRequest(to=to))
    await refused(
        world.crm.leads.change_status(org.head, lead.id, StatusRequest(to=LeadStatus.CONVERTED)),
        ValidationFailed,
    )
    done = await world.crm.leads.change_status(
        org.head, lead.id, StatusRequest(to=LeadStatus.CONVERTED, conversion_ref=" pay_9 ")
    )
    assert done.conversion_ref == "pay_9"
    assert kinds(world, lead.id)[-2:] == [ActivityType.STATUS_CHANGED, ActivityType.CONVERTED]
    await refused(
        world.crm.leads.change_status(org.admin, lead.id, StatusRequest(to=LeadStatus.NEW)),
        InvalidState,
    )


async def test_a_stale_expected_version_is_refused(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="V", phone="9876500083"))
    await world.crm.leads.change_status(org.sales, lead.id, StatusRequest(to=LeadStatus.CONTACTED))
    stale = await refused(
        world.crm.leads.change_status(
            org.sales, lead.id, StatusRequest(to=LeadStatus.INTERESTED), expected_version=0
        ),
        Conflict,
        "stale_version",
    )
    assert "version 1" in stale.detail
    assert world.lead(lead.id).status is LeadStatus.CONTACTED


async def test_a_retried_status_change_with_the_same_key_moves_once(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="K", phone="9876500084"))
    bad = StatusRequest(to=LeadStatus.NOT_INTERESTED)
    await refused(
        world.crm.leads.change_status(org.sales, lead.id, bad, idempotency_key="k1"),
        ValidationFailed,
    )
    good = StatusRequest(to=LeadStatus.NOT_INTERESTED, lost_reason="price")
    first = await world.crm.leads.change_status(org.sales, lead.id, good, idempotency_key="k1")
    again = await world.crm.leads.change_status(org.sales, lead.id, good, idempotency_key="k1")
    assert first.status is LeadStatus.NOT_INTERESTED and again.version == first.version == 1
    assert len(world.events(LeadStatusChanged)) == 1


async def test_edits_need_the_current_version(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="E", phone="9876500090"))
    edited = await world.crm.leads.update(
        org.sales, lead.id, LeadChanges(city=" Pune ", extra_data={"a": 1}), 0
    )
    assert (edited.city, edited.version, edited.extra_data) == ("Pune", 1, {"a": 1})
    await refused(
        world.crm.leads.update(org.sales, lead.id, LeadChanges(city="Goa"), 0),
        Conflict,
        "stale_version",
    )
    unchanged = await world.crm.leads.update(org.sales, lead.id, LeadChanges(city="Pune"), 1)
    assert unchanged.version == 1, "an edit that changes nothing writes nothing"
    cleared = await world.crm.leads.update(
        org.sales, lead.id, LeadChanges(extra_data={"a": None, "b": "x"}), 1
    )
    assert cleared.extra_data == {"b": "x"} and cleared.version == 2
    assert kinds(world, lead.id).count(ActivityType.FIELD_UPDATED) == 2


async def test_an_edit_onto_a_taken_phone_or_without_contact_is_refused(
    world: World, org: Org
) -> None:
    taken = await world.crm.intake.add_manual(org.head, NewPoolLead(name="A", phone="9876500091"))
    lead = await world.crm.intake.add_manual(org.head, NewPoolLead(name="B", phone="9876500092"))
    await refused(
        world.crm.leads.update(org.head, lead.id, PoolLeadChanges(phone="9876500091"), 0),
        Conflict,
        "lead_duplicate",
    )
    await refused(
        world.crm.leads.update(org.head, lead.id, PoolLeadChanges(phone=None), 0),
        ValidationFailed,
        "contact_required",
    )
    after = world.lead(lead.id)
    assert (after.phone_e164, after.version) == ("+919876500092", 0)
    assert world.lead(taken.id).phone_e164 == "+919876500091"
    moved = await world.crm.leads.update(
        org.head, lead.id, PoolLeadChanges(status=LeadStatus.CONTACTED, city="Goa"), 0
    )
    assert (moved.status, moved.city, moved.version) == (LeadStatus.CONTACTED, "Goa", 1)


async def test_notes_and_the_timeline_newest_first_with_cursor(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="T", phone="9876500110"))
    await refused(world.crm.leads.add_note(org.sales, lead.id, "   "), ValidationFailed)
    for i in range(5):
        world.clock.advance(seconds=1)
        await world.crm.leads.add_note(org.sales, lead.id, f" note {i} ")
    assert world.lead(lead.id).last_activity_at == world.clock.now()
    first = await world.crm.leads.timeline(org.sales, lead.id, None, 3)
    assert [a.summary for a in first.items] == ["note 4", "note 3", "note 2"]
    assert first.next_cursor
    rest = await world.crm.leads.timeline(org.sales, lead.id, first.next_cursor, 10)
    assert [a.summary for a in rest.items][:2] == ["note 1", "note 0"]
    assert rest.next_cursor is None
    feed = await world.crm.leads.feed(org.sales, None, 2)
    assert [a.summary for a in feed.items] == ["note 4", "note 3"]
    await refused(world.crm.leads.timeline(org.other, lead.id, None, 3), NotFound)
    await refused(world.crm.leads.add_note(org.other, lead.id, "x"), NotFound)


async def test_a_deleted_lead_disappears_and_frees_its_phone(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="D", phone="9876500500"))
    follow_up = await world.crm.follow_ups.schedule(
        org.sales, lead.id, NewFollowUp(due_at=world.clock.now() + timedelta(days=1))
    )
    await world.crm.leads.delete(org.admin, lead.id)
    await refused(world.crm.leads.get(org.admin, lead.id), NotFound)
    await refused(world.crm.leads.delete(org.admin, lead.id), NotFound)
    assert world.tables.follow_ups[follow_up.id].status is FollowUpStatus.CANCELLED
    assert [e.lead_id for e in world.events(LeadDeleted)] == [lead.id]
    again = await world.crm.intake.add_manual(org.sales, NewLead(name="D", phone="9876500500"))
    assert again.id != lead.id and again.outcome is IntakeOutcome.CREATED


# --- follow-ups -------------------------------------------------------------------------------


async def test_a_follow_up_moves_the_lead_and_sets_its_next_due_time(
    world: World, org: Org
) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="F", phone="9876500120"))
    now = world.clock.now()
    await refused(
        world.crm.follow_ups.schedule(
            org.sales, lead.id, NewFollowUp(due_at=now - timedelta(hours=1))
        ),
        ValidationFailed,
    )
    follow_up = await world.crm.follow_ups.schedule(
        org.sales, lead.id, NewFollowUp(due_at=now, note=" call back ", move_to_follow_up=True)
    )
    assert follow_up.note == "call back"
    detail = await world.crm.leads.get(org.sales, lead.id)
    assert detail.status is LeadStatus.FOLLOW_UP and detail.next_follow_up_at == now
    assert [f.id for f in detail.open_follow_ups] == [follow_up.id]
    due = await world.crm.leads.page(org.sales, LeadFilter(), PageRequest(), due_follow_up=True)
    assert [item.id for item in due.items] == [lead.id]
    done = await world.crm.follow_ups.update(
        org.sales, follow_up.id, FollowUpUpdate(action=FollowUpAction.DONE, outcome_note=" ok ")
    )
    assert (done.status, done.outcome_note, done.completed_at) == (FollowUpStatus.DONE, "ok", now)
    await refused(
        world.crm.follow_ups.update(
            org.sales, follow_up.id, FollowUpUpdate(action=FollowUpAction.CANCEL)
        ),
        InvalidState,
    )
    assert world.lead(lead.id).next_follow_up_at is None
    none_due = await world.crm.leads.page(
        org.sales, LeadFilter(), PageRequest(), due_follow_up=True
    )
    assert none_due.items == []
    await refused(
        world.crm.follow_ups.update(
            org.other, follow_up.id, FollowUpUpdate(action=FollowUpAction.CANCEL)
        ),
        NotFound,
        "follow_up_not_found",
    )


async def test_follow_ups_reschedule_and_owners(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="R", phone="9876500125"))
    now = world.clock.now()
    first = await world.crm.follow_ups.schedule(
        org.sales, lead.id, NewFollowUp(due_at=now + timedelta(days=2))
    )
    later = now + timedelta(days=3)
    moved = await world.crm.follow_ups.update(
        org.sales, first.id, FollowUpUpdate(action=FollowUpAction.RESCHEDULE, due_at=later)
    )
    assert moved.due_at == later and world.lead(lead.id).next_follow_up_at == later
    await refused(
        world.crm.follow_ups.update(
            org.sales, first.id, FollowUpUpdate(action=FollowUpAction.RESCHEDULE)
        ),
        ValidationFailed,
    )
    for_other = await refused(
        world.crm.follow_ups.schedule(
            org.sales, lead.id, NewFollowUp(due_at=later, owner_id=org.other.user_id)
        ),
        ValidationFailed,
    )
    assert for_other.errors[0].field == "owner_id"
    await refused(
        world.crm.follow_ups.schedule(
            org.head, lead.id, NewFollowUp(due_at=later, owner_id=org.other_head.user_id)
        ),
        ValidationFailed,
    )
    for_member = await world.crm.follow_ups.schedule(
        org.head, lead.id, NewFollowUp(due_at=now + timedelta(days=1), owner_id=org.sales.user_id)
    )
    assert for_member.owner_id == org.sales.user_id
    assert world.lead(lead.id).next_follow_up_at == for_member.due_at
    await world.crm.follow_ups.update(
        org.sales, first.id, FollowUpUpdate(action=FollowUpAction.CANCEL)
    )
    await refused(
        world.crm.follow_ups.update(
            org.sales, first.id, FollowUpUpdate(action=FollowUpAction.RESCHEDULE, due_at=later)
        ),
        Conflict,
        "illegal_transition",
    )


async def test_a_follow_up_is_missed_two_hours_after_its_due_time_once(
    world: World, org: Org
) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="M", phone="9876500130"))
    start = world.clock.now()
    late = await world.crm.follow_ups.schedule(org.sales, lead.id, NewFollowUp(due_at=start))
    soon = await world.crm.follow_ups.schedule(
        org.sales, lead.id, NewFollowUp(due_at=start + timedelta(hours=1))
    )
    world.clock.advance(hours=2, minutes=30)
    assert await world.crm.follow_ups.mark_missed() == 1
    assert await world.crm.follow_ups.mark_missed() == 0
    assert world.tables.follow_ups[late.id].status is FollowUpStatus.MISSED
    assert world.tables.follow_ups[soon.id].status is FollowUpStatus.PENDING
    assert kinds(world, lead.id).count(ActivityType.FOLLOW_UP_MISSED) == 1
    assert world.lead(lead.id).next_follow_up_at == soon.due_at
    overdue = await world.crm.follow_ups.agenda(org.sales, FollowUpWindow.OVERDUE)
    assert [item.id for item in overdue] == [late.id, soon.id]
    done = await world.crm.follow_ups.update(
        org.sales, late.id, FollowUpUpdate(action=FollowUpAction.DONE)
    )
    assert done.status is FollowUpStatus.DONE, "a missed follow-up can still be done"


async def test_the_agenda_windows_use_the_local_day(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="A", phone="9876500131"))
    now = world.clock.now()  # 10:00 in Kolkata
    today = await world.crm.follow_ups.schedule(
        org.sales,
        lead.id,
        NewFollowUp(due_at=now + timedelta(hours=13)),  # 23:00 IST
    )
    tomorrow = await world.crm.follow_ups.schedule(
        org.sales,
        lead.id,
        NewFollowUp(due_at=now + timedelta(hours=15)),  # 01:00 IST
    )
    listed = await world.crm.follow_ups.agenda(org.sales, FollowUpWindow.TODAY)
    assert [item.id for item in listed] == [today.id] and listed[0].lead_name == "A"
    week = await world.crm.follow_ups.agenda(org.sales, FollowUpWindow.WEEK)
    assert [item.id for item in week] == [today.id, tomorrow.id]
    assert await world.crm.follow_ups.agenda(org.head, FollowUpWindow.WEEK) == []


async def test_the_digest_lists_today_and_overdue_for_each_owner(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(
        org.sales, NewLead(name="Digest Lead", phone="9876500140")
    )
    await world.crm.follow_ups.schedule(
        org.sales, lead.id, NewFollowUp(due_at=world.clock.now(), note="call")
    )
    day, owners = await world.crm.follow_ups.digest_recipients()
    assert owners == [org.sales.user_id] and day.isoformat() == "2025-03-03"
    assert await world.crm.follow_ups.send_digest(org.sales.user_id, day)
    [mail] = world.mails_to(org.sales, "crm.follow_up_digest")
    assert "1 today, 0 overdue" in mail.subject and "Digest Lead" in mail.body_text
    assert not await world.crm.follow_ups.send_digest(org.head.user_id, day), "nothing due"
    world.change_user(org.sales, is_blocked=True)
    assert not await world.crm.follow_ups.send_digest(org.sales.user_id, day)


# --- tags -------------------------------------------------------------------------------------


async def test_tag_names_are_unique_slugs_and_a_deleted_name_comes_back(
    world: World, org: Org
) -> None:
    hot = await world.crm.tags.create(org.admin, NewTag(name="Hot Lead"))
    assert hot.name == "hot-lead"
    await refused(world.crm.tags.create(org.admin, NewTag(name="HOT lead")), Conflict, "tag_exists")
    cold = await world.crm.tags.create(org.admin, NewTag(name="cold"))
    await refused(
        world.crm.tags.update(cold.id, TagChanges(name="hot lead")), Conflict, "tag_exists"
    )
    await world.crm.tags.delete(hot.id)
    assert [t.name for t in await world.crm.tags.all()] == ["cold"]
    await refused(world.crm.tags.delete(hot.id), NotFound, "tag_not_found")
    back = await world.crm.tags.create(org.admin, NewTag(name="hot-lead", color="#ff0000"))
    assert back.id == hot.id and back.color == "#ff0000"


async def test_tags_attach_within_scope_and_in_bulk(world: World, org: Org) -> None:
    hot = await world.crm.tags.create(org.admin, NewTag(name="hot"))
    a = await world.crm.intake.add_manual(org.sales, NewLead(name="A", phone="9876500150"))
    b = await world.crm.intake.add_manual(org.head, NewPoolLead(name="B", phone="9876500151"))
    c = await world.crm.intake.add_manual(org.other_head, NewPoolLead(name="C", phone="9876500152"))
    assert (await world.crm.tags.attach(org.sales, a.id, hot.id)).tags == ["hot"]
    await refused(world.crm.tags.attach(org.sales, b.id, hot.id), NotFound)
    result = await world.crm.tags.bulk(org.head, BulkTag(lead_ids=[a.id, b.id, c.id], add=["hot"]))
    assert (result.requested, result.in_scope, result.added) == (3, 2, 1)
    await refused(
        world.crm.tags.bulk(org.head, BulkTag(lead_ids=[a.id], add=["nope"])),
        NotFound,
        "tag_not_found",
    )
    page = await world.crm.leads.page(org.admin, LeadFilter(tag="hot"), PageRequest())
    assert {lead.id for lead in page.items} == {a.id, b.id}
    assert (await world.crm.tags.detach(org.sales, a.id, hot.id)).tags == []
    assert kinds(world, a.id).count(ActivityType.TAG_REMOVED) == 1
    await world.crm.tags.delete(hot.id)
    assert world.lead(b.id).tags == [], "a deleted tag leaves every lead"


# --- campaigns --------------------------------------------------------------------------------


async def new_campaign(world: World, org: Org, slug: str = "drone-2025") -> uuid.UUID:
    await world.crm.tags.create(org.admin, NewTag(name="web"))
    campaign = await world.crm.campaigns.create(
        org.admin,
        NewCampaign(
            slug=slug,
            name="Drone 2025",
            programme="drone-tech",
            default_sales_head_id=org.head.user_id,
            default_tags=["web"],
        ),
    )
    return campaign.id


async def test_a_form_submission_is_queued_then_promoted_into_the_pool(
    world: World, org: Org
) -> None:
    campaign_id = await new_campaign(world, org)
    await world.crm.campaigns.submit(
        "drone-2025", Submission(name="Ravi", phone="9876500600", utm_source="ig"), "1.2.3.4"
    )
    [(args, key)] = world.tasks("crm.promote_campaign_lead")
    assert args is not None and key == f"crm.campaign_lead:{args['campaign_lead_id']}"
    assert world.tables.leads == {}, "the form only stores the submission"
    status = await world.crm.campaigns.promote(uuid.UUID(args["campaign_lead_id"]))
    assert status is CampaignLeadStatus.PROMOTED
    [lead] = (await world.crm.leads.page(org.head, LeadFilter(), PageRequest())).items
    assert (lead.course_interest, lead.tags) == ("drone-tech", ["web"])
    assert lead.extra_data["campaign"] == "drone-2025" and lead.extra_data["utm_source"] == "ig"
    [submission] = (await world.crm.campaigns.submissions(campaign_id, None, PageRequest())).items
    assert (submission.status, submission.raw_lead_id) == (CampaignLeadStatus.PROMOTED, lead.id)
    again = await world.crm.campaigns.promote(submission.id)
    assert again is CampaignLeadStatus.PROMOTED and len(world.tables.intakes) == 1


async def test_a_bot_an_unknown_and_a_closed_campaign(world: World, org: Org) -> None:
    campaign_id = await new_campaign(world, org)
    await world.crm.campaigns.submit(
        "drone-2025", Submission(name="Bot", phone="9876500601", website="http://spam"), "1.2.3.4"
    )
    rejected = await world.crm.campaigns.submissions(
        campaign_id, CampaignLeadStatus.REJECTED, PageRequest()
    )
    assert rejected.total == 1 and rejected.items[0].reject_reason == "honeypot"
    assert world.tasks("crm.promote_campaign_lead") == [], "a bot's form is not promoted"
    await refused(
        world.crm.campaigns.submit("nope", Submission(name="A", phone="9876500602"), None),
        NotFound,
        "campaign_not_found",
    )
    await world.crm.campaigns.update(
        campaign_id, CampaignChanges(ends_at=world.clock.now() - timedelta(minutes=1))
    )
    await refused(
        world.crm.campaigns.submit("drone-2025", Submission(name="A", phone="9876500603"), None),
        Gone,
        "campaign_closed",
    )


async def test_campaign_slugs_heads_and_tags_are_checked(world: World, org: Org) -> None:
    await new_campaign(world, org)
    await refused(
        world.crm.campaigns.create(
            org.admin, NewCampaign(slug="drone-2025", name="Again", programme="x")
        ),
        Conflict,
        "campaign_slug_taken",
    )
    await refused(
        world.crm.campaigns.create(
            org.admin,
            NewCampaign(
                slug="other", name="Other", programme="x", default_sales_head_id=org.sales.user_id
            ),
        ),
        ValidationFailed,
    )
    await refused(
        world.crm.campaigns.create(
            org.admin, NewCampaign(slug="other", name="Other", programme="x", default_tags=["z1"])
        ),
        ValidationFailed,
    )


async def test_a_submission_to_a_campaign_closed_before_promotion_is_rejected(
    world: World, org: Org
) -> None:
    campaign_id = await new_campaign(world, org)
    await world.crm.campaigns.submit(
        "drone-2025", Submission(name="Late", phone="9876500604"), None
    )
    [(args, _)] = world.tasks("crm.promote_campaign_lead")
    assert args is not None
    await world.crm.campaigns.update(campaign_id, CampaignChanges(is_active=False))
    status = await world.crm.campaigns.promote(uuid.UUID(args["campaign_lead_id"]))
    assert status is CampaignLeadStatus.REJECTED and world.tables.leads == {}


async def test_form_rate_limits_per_ip_and_per_phone(world: World, org: Org) -> None:
    await world.crm.campaigns.create(
        org.admin, NewCampaign(slug="space", name="Space", programme="space-tech")
    )
    for _ in range(3):
        await world.crm.campaigns.submit(
            "space", Submission(name="R", phone="9876500700"), "9.9.9.9"
        )
    limited = await refused(
        world.crm.campaigns.submit("space", Submission(name="R", phone="9876500700"), "9.9.9.8"),
        RateLimited,
    )
    assert limited.retry_after and limited.retry_after > 0
    for i in range(2):
        await world.crm.campaigns.submit(
            "space", Submission(name="R", email=f"r{i}@x.org"), "9.9.9.9"
        )
    await refused(
        world.crm.campaigns.submit("space", Submission(name="R", email="z@x.org"), "9.9.9.9"),
        RateLimited,
    )
    world.clock.advance(minutes=21)  # the sliding window has moved on
    await world.crm.campaigns.submit("space", Submission(name="R", email="z@x.org"), "9.9.9.9")


async def test_the_sweeper_promotes_what_the_task_missed(world: World, org: Org) -> None:
    campaign_id = await new_campaign(world, org)
    stuck = CampaignLead(
        id=uuid7(),
        campaign_id=campaign_id,
        name="Stuck",
        ip_hash="x",
        created_at=world.clock.now() - timedelta(minutes=10),
        phone_raw="9876500800",
    )
    fresh = msgspec.structs.replace(stuck, id=uuid7(), created_at=world.clock.now())
    async with world.uow() as uow:
        await uow.leads.add_campaign_lead(stuck)
        await uow.leads.add_campaign_lead(fresh)
        await uow.commit()
    assert await world.crm.campaigns.sweep() == 1
    assert world.tables.campaign_leads[stuck.id].status is CampaignLeadStatus.PROMOTED
    assert world.tables.campaign_leads[fresh.id].status is CampaignLeadStatus.RECEIVED
    assert await world.crm.campaigns.sweep() == 0


# --- reports ----------------------------------------------------------------------------------


async def test_the_funnel_counts_in_scope(world: World, org: Org) -> None:
    lead = await world.crm.intake.add_manual(org.sales, NewLead(name="F", phone="9876500400"))
    await world.crm.intake.add_manual(org.other_head, NewPoolLead(name="G", phone="9876500401"))
    await world.crm.leads.change_status(org.sales, lead.id, StatusRequest(to=LeadStatus.CONTACTED))
    report = await world.crm.analytics.funnel(org.head, None, None, LeadFilter())
    assert (report.total, report.by_status["CONTACTED"], report.by_source) == (
        1,
        1,
        {"MANUAL": 1},
    )
    assert (await world.crm.analytics.funnel(org.admin, None, None, LeadFilter())).total == 2
    today = report.date_to
    assert (today - report.date_from).days == 29
    await refused(
        world.crm.analytics.funnel(org.admin, today - timedelta(days=400), today, LeadFilter()),
        ValidationFailed,
    )


async def test_the_export_streams_the_scope_in_batches(
    world: World, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mas.core.crm.analytics as analytics

    monkeypatch.setattr(analytics, "EXPORT_BATCH", 2)
    for i in range(5):
        world.clock.advance(seconds=1)
        await world.crm.intake.add_manual(
            org.head, NewPoolLead(name=f"=Lead {i}", phone=f"98765003{i:02d}")
        )
    await world.crm.intake.add_manual(
        org.other_head, NewPoolLead(name="Hidden", phone="9876500399")
    )
    body = b"".join(
        [chunk async for chunk in await world.crm.analytics.export(org.head, LeadFilter())]
    )
    lines = body.decode().strip().splitlines()
    assert lines[0].startswith("id,name,phone_e164") and len(lines) == 6
    assert "'=Lead 0" in lines[1] and "Hidden" not in body.decode()
    monkeypatch.setattr(analytics, "EXPORT_MAX_ROWS", 4)
    await refused(
        world.crm.analytics.export(org.head, LeadFilter()), ValidationFailed, "export_too_large"
    )
