"""The lead lifecycle on SQLite and PostgreSQL: intake and de-duplication, scope, status moves,
the append-only journal, follow-ups and their jobs, tags, campaigns, lists and export."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, text, update

from mas.adapters.db.crm.tables import (
    LeadActivityRow,
    LeadIntakeRow,
    RawLeadRow,
    SalesHeadProfileRow,
    SalesTeamMemberRow,
)
from mas.adapters.db.platform.tables import OutboxEventRow, OutboxMessageRow
from mas.core.crm.campaigns import NewCampaign, Submission
from mas.core.crm.followups import FollowUpAction, FollowUpUpdate, NewFollowUp
from mas.core.crm.intake import LeadIntakeService, NewLead, NewPoolLead
from mas.core.crm.model import (
    ActivityType,
    CampaignLeadStatus,
    FollowUp,
    FollowUpChannel,
    FollowUpStatus,
    IntakeOutcome,
    LeadStatus,
)
from mas.core.crm.queries import FollowUpWindow, LeadFilter
from mas.core.crm.service import LeadChanges, StatusRequest
from mas.core.crm.tagging import BulkTag, NewTag
from mas.core.identity.model import User, UserStage
from mas.core.identity.policy import Caller, Platform, Role
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
from mas.core.platform.ports.uow import DuplicateKey


async def a_user(c: Any, role: Role) -> Caller:
    user = User(
        id=uuid7(),
        email=f"{role.value.lower()}-{uuid.uuid4().hex[:8]}@example.com",
        role=role,
        created_at=c.clock.now(),
    )
    user.advance(UserStage.OTP_VERIFIED)
    async with c.uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    return Caller(user_id=user.id, role=role, platform=Platform.MY_ANALYTICS_SCHOOL)


async def join_team(c: Any, head: Caller, member: Caller) -> None:
    async with c.sessions() as s:
        s.add(
            SalesTeamMemberRow(
                sales_head_id=head.user_id,
                user_id=member.user_id,
                member_role="TELECALLER",
                joined_at=c.clock.now(),
            )
        )
        await s.commit()


async def count(c: Any, model: Any, *where: Any) -> int:
    async with c.sessions() as s:
        return int(
            (await s.execute(select(func.count()).select_from(model).where(*where))).scalar()
        )


async def activities(c: Any, lead_id: uuid.UUID) -> list[ActivityType]:
    async with c.uow() as uow:
        return [a.type for a in await uow.leads.timeline(lead_id, None, 100)]


class Org:
    def __init__(
        self, head: Caller, other_head: Caller, sales: Caller, other: Caller, admin: Caller
    ):
        self.head, self.other_head, self.sales, self.other, self.admin = (
            head,
            other_head,
            sales,
            other,
            admin,
        )


@pytest.fixture
async def org(container: Any) -> Org:
    head = await a_user(container, Role.SALES_HEAD)
    other_head = await a_user(container, Role.SALES_HEAD)
    sales = await a_user(container, Role.SALES)
    other = await a_user(container, Role.SALES)
    admin = await a_user(container, Role.ADMIN)
    await join_team(container, head, sales)
    return Org(head, other_head, sales, other, admin)


# --- intake and de-duplication -------------------------------------------------------------


async def test_a_salesperson_adds_a_lead_assigned_to_them_in_their_heads_pool(
    container: Any, org: Org
) -> None:
    receipt = await container.crm.intake.add_manual(
        org.sales, NewLead(name=" Asha  Rao ", phone="098765 43210", email=" Asha@Example.COM ")
    )
    assert receipt.outcome is IntakeOutcome.CREATED and not receipt.merged
    lead = receipt.lead
    assert lead is not None
    assert lead.name == "Asha Rao" and lead.phone_e164 == "+919876543210"
    assert lead.email == "asha@example.com"
    assert lead.assigned_to == org.sales.user_id
    assert lead.owning_sales_head_id == org.head.user_id
    assert lead.status is LeadStatus.NEW and lead.version == 0
    assert sorted(await activities(container, lead.id)) == [
        ActivityType.ASSIGNED,
        ActivityType.CREATED,
    ]
    async with container.sessions() as s:
        subjects = sorted((await s.execute(select(OutboxEventRow.subject))).scalars())
    assert subjects == ["mas.lead.assigned", "mas.lead.created"]


async def test_a_known_phone_merges_without_moving_the_lead(container: Any, org: Org) -> None:
    first = await container.crm.intake.add_manual(
        org.head, NewPoolLead(name="Asha", phone="+919876543210")
    )
    again = await container.crm.intake.add_manual(
        org.admin, NewLead(name="Someone Else", phone="098765 43210", city="Pune")
    )
    assert again.id == first.id and again.merged and again.outcome is IntakeOutcome.MERGED
    lead = await container.crm.leads.get(org.admin, first.id)
    assert lead.owning_sales_head_id == org.head.user_id and lead.assigned_to is None
    assert lead.name == "Asha" and lead.city == "Pune" and lead.reinquiry_count == 1
    assert ActivityType.INTAKE_MERGED in await activities(container, first.id)
    assert await count(container, LeadIntakeRow, LeadIntakeRow.raw_lead_id == first.id) == 2
    assert await count(container, RawLeadRow) == 1


async def test_a_known_phone_outside_the_callers_leads_is_refused_but_journalled(
    container: Any, org: Org
) -> None:
    """The refusal's journal line is committed although the call raises (issue 8)."""
    first = await container.crm.intake.add_manual(
        org.head, NewPoolLead(name="Asha", phone="+919876543210")
    )
    with pytest.raises(Conflict) as refused:
        await container.crm.intake.add_manual(
            org.other, NewLead(name="Someone Else", phone="098765 43210", city="Pune")
        )
    assert refused.value.code == "lead_exists_elsewhere"
    lead = await container.crm.leads.get(org.admin, first.id)
    assert first.lead is not None
    assert (lead.city, lead.reinquiry_count, lead.version) == (None, 0, first.lead.version)
    assert (await activities(container, first.id))[0] is ActivityType.INTAKE_REFUSED
    assert await count(container, LeadIntakeRow, LeadIntakeRow.raw_lead_id == first.id) == 1


async def test_a_merge_fills_empty_fields_only(container: Any, org: Org) -> None:
    first = await container.crm.intake.add_manual(
        org.admin, NewPoolLead(name="Asha", phone="9876543210", email="asha@example.com")
    )
    await container.crm.intake.add_manual(
        org.admin,
        NewPoolLead(
            name="A. Rao", phone="9876543210", email="other@example.com", city="Pune", tags=[]
        ),
    )
    lead = await container.crm.leads.get(org.admin, first.id)
    assert (lead.name, lead.email, lead.city) == ("Asha", "asha@example.com", "Pune")


async def test_matching_order_phone_then_alternate_then_email(container: Any, org: Org) -> None:
    by_email = await container.crm.intake.add_manual(
        org.admin, NewPoolLead(name="Mail Only", email="m@example.com")
    )
    with_alt = await container.crm.intake.add_manual(
        org.admin, NewPoolLead(name="Two Phones", phone="9876500001", phone_alt="9876500002")
    )
    via_alt = await container.crm.intake.add_manual(
        org.admin, NewPoolLead(name="X", phone="+91 98765 00002")
    )
    assert via_alt.id == with_alt.id
    via_email = await container.crm.intake.add_manual(
        org.admin, NewPoolLead(name="Y", phone="9876500003", email="M@example.com")
    )
    assert via_email.id == by_email.id
    lead = await container.crm.leads.get(org.admin, by_email.id)
    assert lead.phone_e164 == "+919876500003"  # the email-only lead gained the phone


async def test_a_lost_lead_reopens_and_a_converted_one_stays(container: Any, org: Org) -> None:
    lost = await container.crm.intake.add_manual(
        org.admin, NewPoolLead(name="L", phone="9876500010")
    )
    won = await container.crm.intake.add_manual(
        org.admin, NewPoolLead(name="W", phone="9876500011")
    )
    await container.crm.leads.change_status(
        org.admin, lost.id, StatusRequest(to=LeadStatus.NOT_INTERESTED, lost_reason="price")
    )
    for to in (LeadStatus.CONTACTED, LeadStatus.INTERESTED):
        await container.crm.leads.change_status(org.admin, won.id, StatusRequest(to=to))
    await container.crm.leads.change_status(
        org.admin, won.id, StatusRequest(to=LeadStatus.CONVERTED, conversion_ref="pay_1")
    )
    again = await container.crm.intake.add_manual(
        org.admin, NewPoolLead(name="L", phone="9876500010")
    )
    assert again.outcome is IntakeOutcome.REOPENED
    reopened = await container.crm.leads.get(org.admin, lost.id)
    assert reopened.status is LeadStatus.NEW and reopened.reinquiry_count == 1
    assert reopened.lost_reason is None
    assert ActivityType.REOPENED in await activities(container, lost.id)
    await container.crm.intake.add_manual(org.admin, NewPoolLead(name="W", phone="9876500011"))
    assert (await container.crm.leads.get(org.admin, won.id)).status is LeadStatus.CONVERTED


async def test_intake_is_replay_safe_on_its_channel_reference(container: Any, org: Org) -> None:
    data = NewLead(name="Asha", phone="9876500020")
    first = await container.crm.intake.add_manual(org.sales, data, "key-1")
    second = await container.crm.intake.add_manual(org.sales, data, "key-1")
    assert first.id == second.id and second.outcome is IntakeOutcome.CREATED
    assert await count(container, LeadIntakeRow) == 1
    assert await activities(container, first.id) != []
    assert await count(container, LeadActivityRow, LeadActivityRow.type == "INTAKE_MERGED") == 0


async def test_contact_rules(container: Any, org: Org) -> None:
    with pytest.raises(ValidationFailed) as err:
        await container.crm.intake.add_manual(org.sales, NewLead(name="Nobody"))
    assert err.value.code == "contact_required"
    with pytest.raises(ValidationFailed) as err:
        await container.crm.intake.add_manual(org.sales, NewLead(name="A", email="not-an-email"))
    assert [e.field for e in err.value.errors] == ["email"]
    with pytest.raises(ValidationFailed):
        await container.crm.intake.add_manual(
            org.sales, NewLead(name="Unknown", phone="9876500030")
        )
    kept = await container.crm.intake.add_manual(
        org.sales, NewLead(name="Bad Phone", phone="12", email="b@example.com")
    )
    assert kept.warnings and kept.lead is not None
    assert kept.lead.phone_e164 is None and kept.lead.extra_data == {"phone_raw": "12"}


@pytest.mark.committing  # concurrent transactions
async def test_concurrent_intakes_of_one_phone_make_one_lead(container: Any, org: Org) -> None:
    results = await asyncio.gather(
        *[
            container.crm.intake.add_manual(
                org.admin, NewPoolLead(name=f"N{i}", phone="9876500040")
            )
            for i in range(4)
        ]
    )
    assert len({r.id for r in results}) == 1
    assert sorted(r.outcome for r in results).count(IntakeOutcome.CREATED) == 1
    assert await count(container, RawLeadRow) == 1
    assert await count(container, LeadIntakeRow) == 4


async def test_a_lost_race_surfaces_as_duplicate_key_inside_the_unit(
    container: Any, org: Org
) -> None:
    from mas.core.crm.intake import IntakeCommand, run_intake
    from mas.core.crm.model import IncomingLead, IntakeChannel, LeadSource

    def command(ref: str) -> IntakeCommand:
        return IntakeCommand(
            channel=IntakeChannel.CSV,
            channel_ref=ref,
            source=LeadSource.CSV,
            incoming=IncomingLead(name="Race", phone_e164="+919876500050"),
        )

    async with container.uow() as winner:
        await run_intake(winner, command("batch:1"), container.clock.now())
        await winner.commit()
    async with container.uow() as uow:
        stale_match = await uow.leads.find_match("+919876500050", None, None)
        assert stale_match is not None
        from mas.core.crm.model import Lead

        clash = Lead(
            id=uuid7(),
            name="Race",
            created_at=container.clock.now(),
            updated_at=container.clock.now(),
            phone_e164="+919876500050",
        )
        with pytest.raises(DuplicateKey):
            await uow.leads.add(clash)


# --- scope --------------------------------------------------------------------------------


async def test_scope_sales_sees_assigned_head_sees_pool_admin_sees_all(
    container: Any, org: Org
) -> None:
    mine = await container.crm.intake.add_manual(
        org.sales, NewLead(name="Mine", phone="9876500060")
    )
    other_pool = await container.crm.intake.add_manual(
        org.other_head, NewPoolLead(name="Theirs", phone="9876500061")
    )
    assert (await container.crm.leads.get(org.sales, mine.id)).id == mine.id
    with pytest.raises(NotFound):
        await container.crm.leads.get(org.other, mine.id)
    assert (await container.crm.leads.get(org.head, mine.id)).id == mine.id
    with pytest.raises(NotFound):
        await container.crm.leads.get(org.head, other_pool.id)
    assert (await container.crm.leads.get(org.admin, other_pool.id)).id == other_pool.id
    page = await container.crm.leads.page(org.head, LeadFilter(), PageRequest())
    assert [lead.id for lead in page.items] == [mine.id] and page.total == 1
    everything = await container.crm.leads.page(org.admin, LeadFilter(), PageRequest())
    assert everything.total == 2
    with pytest.raises(Forbidden):
        await container.crm.intake.add_manual(
            org.head,
            NewPoolLead(name="X", phone="9876500062", owning_sales_head_id=org.other_head.user_id),
        )


async def test_a_head_without_isolation_reads_every_pool_but_writes_only_their_own(
    container: Any, org: Org
) -> None:
    theirs = await container.crm.intake.add_manual(
        org.other_head, NewPoolLead(name="Theirs", phone="9876500070")
    )
    async with container.sessions() as s:
        s.add(
            SalesHeadProfileRow(user_id=org.head.user_id, display_name="H", isolation_enabled=False)
        )
        await s.commit()
    assert (await container.crm.leads.get(org.head, theirs.id)).id == theirs.id
    with pytest.raises(Forbidden):
        await container.crm.leads.change_status(
            org.head, theirs.id, StatusRequest(to=LeadStatus.CONTACTED)
        )


# --- status, edits, journal ------------------------------------------------------------------


async def test_status_rules_and_events(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(org.sales, NewLead(name="S", phone="9876500080"))
    with pytest.raises(InvalidState) as err:
        await container.crm.leads.change_status(
            org.sales, lead.id, StatusRequest(to=LeadStatus.CONVERTED, conversion_ref="x")
        )
    assert "NEW" in err.value.detail and "CONVERTED" in err.value.detail
    moved = await container.crm.leads.change_status(
        org.sales, lead.id, StatusRequest(to=LeadStatus.CONTACTED)
    )
    assert moved.status is LeadStatus.CONTACTED and moved.version == 1
    same = await container.crm.leads.change_status(
        org.sales, lead.id, StatusRequest(to=LeadStatus.CONTACTED)
    )
    assert same.version == 1
    with pytest.raises(ValidationFailed) as missing:
        await container.crm.leads.change_status(
            org.sales, lead.id, StatusRequest(to=LeadStatus.NOT_INTERESTED)
        )
    assert missing.value.errors[0].field == "lost_reason"
    with pytest.raises(Conflict) as stale:
        await container.crm.leads.change_status(
            org.sales, lead.id, StatusRequest(to=LeadStatus.INTERESTED), expected_version=0
        )
    assert stale.value.code == "stale_version"
    changed = await count(
        container, OutboxEventRow, OutboxEventRow.subject == "mas.lead.status_changed"
    )
    assert changed == 1
    kinds = await activities(container, lead.id)
    assert kinds.count(ActivityType.STATUS_CHANGED) == 1


async def test_edits_need_the_current_version(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(org.sales, NewLead(name="E", phone="9876500090"))
    edited = await container.crm.leads.update(
        org.sales, lead.id, LeadChanges(city="Pune", extra_data={"a": 1}), 0
    )
    assert edited.city == "Pune" and edited.version == 1 and edited.extra_data == {"a": 1}
    with pytest.raises(Conflict) as err:
        await container.crm.leads.update(org.sales, lead.id, LeadChanges(city="Goa"), 0)
    assert err.value.code == "stale_version"
    unchanged = await container.crm.leads.update(org.sales, lead.id, LeadChanges(city="Pune"), 1)
    assert unchanged.version == 1
    cleared = await container.crm.leads.update(
        org.sales, lead.id, LeadChanges(extra_data={"a": None, "b": "x"}), 1
    )
    assert cleared.extra_data == {"b": "x"}
    assert ActivityType.FIELD_UPDATED in await activities(container, lead.id)


async def test_the_journal_is_append_only(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(org.sales, NewLead(name="J", phone="9876500100"))
    note = await container.crm.leads.add_note(org.sales, lead.id, " called, busy ")
    assert note.summary == "called, busy"
    from mas.adapters.db.crm.leads import SqlLeadRepository

    names = [n for n in dir(SqlLeadRepository) if not n.startswith("_")]
    assert not [n for n in names if "activit" in n and any(v in n for v in ("update", "delete"))]
    if container.engine.dialect.name != "postgresql":
        return
    async with container.sessions() as s:
        with pytest.raises(Exception, match="append-only"):
            await s.execute(
                update(LeadActivityRow)
                .where(LeadActivityRow.id == note.id)
                .values(summary="rewritten")
            )
        await s.rollback()
        with pytest.raises(Exception, match="append-only"):
            await s.execute(text("DELETE FROM lead_activities"))


async def test_timeline_newest_first_with_cursor(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(org.sales, NewLead(name="T", phone="9876500110"))
    for i in range(5):
        await container.crm.leads.add_note(org.sales, lead.id, f"note {i}")
    first = await container.crm.leads.timeline(org.sales, lead.id, None, 3)
    assert [a.summary for a in first.items] == ["note 4", "note 3", "note 2"]
    assert first.next_cursor
    rest = await container.crm.leads.timeline(org.sales, lead.id, first.next_cursor, 10)
    assert [a.summary for a in rest.items][:2] == ["note 1", "note 0"]
    assert rest.next_cursor is None
    feed = await container.crm.leads.feed(org.sales, None, 2)
    assert [a.summary for a in feed.items] == ["note 4", "note 3"]
    with pytest.raises(NotFound):
        await container.crm.leads.timeline(org.other, lead.id, None, 3)


# --- follow-ups -------------------------------------------------------------------------------


async def test_follow_ups_schedule_complete_and_window(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(org.sales, NewLead(name="F", phone="9876500120"))
    now = container.clock.now()
    with pytest.raises(ValidationFailed):
        await container.crm.follow_ups.schedule(
            org.sales, lead.id, NewFollowUp(due_at=now - timedelta(hours=1))
        )
    follow_up = await container.crm.follow_ups.schedule(
        org.sales, lead.id, NewFollowUp(due_at=now, note="call back", move_to_follow_up=True)
    )
    detail = await container.crm.leads.get(org.sales, lead.id)
    assert detail.status is LeadStatus.FOLLOW_UP
    assert detail.next_follow_up_at == follow_up.due_at
    assert [f.id for f in detail.open_follow_ups] == [follow_up.id]
    due = await container.crm.leads.page(org.sales, LeadFilter(), PageRequest(), due_follow_up=True)
    assert [lead_.id for lead_ in due.items] == [lead.id]
    overdue = await container.crm.follow_ups.agenda(org.sales, FollowUpWindow.WEEK)
    assert [i.id for i in overdue] == [follow_up.id] and overdue[0].lead_name == "F"
    done = await container.crm.follow_ups.update(
        org.sales, follow_up.id, FollowUpUpdate(action=FollowUpAction.DONE, outcome_note="ok")
    )
    assert done.status is FollowUpStatus.DONE
    with pytest.raises(InvalidState):
        await container.crm.follow_ups.update(
            org.sales, follow_up.id, FollowUpUpdate(action=FollowUpAction.CANCEL)
        )
    assert (await container.crm.leads.get(org.sales, lead.id)).next_follow_up_at is None
    none_due = await container.crm.leads.page(
        org.sales, LeadFilter(), PageRequest(), due_follow_up=True
    )
    assert none_due.items == []
    with pytest.raises(NotFound):
        await container.crm.follow_ups.update(
            org.other, follow_up.id, FollowUpUpdate(action=FollowUpAction.CANCEL)
        )


async def test_follow_ups_reschedule_and_owners(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(org.sales, NewLead(name="R", phone="9876500125"))
    now = container.clock.now()
    first = await container.crm.follow_ups.schedule(
        org.sales, lead.id, NewFollowUp(due_at=now + timedelta(days=2))
    )
    later = now + timedelta(days=3)
    moved = await container.crm.follow_ups.update(
        org.sales, first.id, FollowUpUpdate(action=FollowUpAction.RESCHEDULE, due_at=later)
    )
    assert moved.due_at == later
    assert (await container.crm.leads.get(org.sales, lead.id)).next_follow_up_at == later
    with pytest.raises(ValidationFailed):
        await container.crm.follow_ups.update(
            org.sales, first.id, FollowUpUpdate(action=FollowUpAction.RESCHEDULE)
        )
    with pytest.raises(ValidationFailed) as err:
        await container.crm.follow_ups.schedule(
            org.sales, lead.id, NewFollowUp(due_at=later, owner_id=org.other.user_id)
        )
    assert err.value.errors[0].field == "owner_id"
    for_member = await container.crm.follow_ups.schedule(
        org.head, lead.id, NewFollowUp(due_at=now + timedelta(days=1), owner_id=org.sales.user_id)
    )
    assert for_member.owner_id == org.sales.user_id
    assert (
        await container.crm.leads.get(org.sales, lead.id)
    ).next_follow_up_at == for_member.due_at
    await container.crm.follow_ups.update(
        org.sales, first.id, FollowUpUpdate(action=FollowUpAction.CANCEL)
    )
    with pytest.raises(Conflict):
        await container.crm.follow_ups.update(
            org.sales, first.id, FollowUpUpdate(action=FollowUpAction.RESCHEDULE, due_at=later)
        )


async def test_the_missed_job_marks_once(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(org.sales, NewLead(name="M", phone="9876500130"))
    now = container.clock.now()
    late = FollowUp(
        id=uuid7(),
        raw_lead_id=lead.id,
        owner_id=org.sales.user_id,
        due_at=now - timedelta(hours=3),
        channel=FollowUpChannel.CALL,
        note="",
        created_at=now - timedelta(hours=4),
    )
    recent = msgspec.structs.replace(late, id=uuid7(), due_at=now - timedelta(hours=1))
    async with container.uow() as uow:
        await uow.leads.add_follow_up(late)
        await uow.leads.add_follow_up(recent)
        await uow.commit()
    await container.jobs.enqueue("crm.follow_up_missed", {}, key="t1")
    await container.jobs.enqueue("crm.follow_up_missed", {}, key="t2")
    async with container.uow() as uow:
        assert (await uow.leads.get_follow_up(late.id)).status is FollowUpStatus.MISSED  # type: ignore[union-attr]
        assert (await uow.leads.get_follow_up(recent.id)).status is FollowUpStatus.PENDING  # type: ignore[union-attr]
    kinds = await activities(container, lead.id)
    assert kinds.count(ActivityType.FOLLOW_UP_MISSED) == 1


async def test_the_digest_goes_out_once_a_day(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(
        org.sales, NewLead(name="Digest Lead", phone="9876500140")
    )
    await container.crm.follow_ups.schedule(
        org.sales, lead.id, NewFollowUp(due_at=container.clock.now(), note="call")
    )
    await container.jobs.enqueue("crm.follow_up_digest", {}, key="cron:1")
    await container.jobs.enqueue("crm.follow_up_digest", {}, key="cron:2")
    async with container.sessions() as s:
        mails = (await s.execute(select(OutboxMessageRow))).scalars().all()
    assert len(mails) == 1
    assert mails[0].template == "crm.follow_up_digest" and "Digest Lead" in mails[0].body_text


# --- tags, lists, export ----------------------------------------------------------------------


async def test_tags_attach_filter_and_bulk(container: Any, org: Org) -> None:
    hot = await container.crm.tags.create(org.admin, NewTag(name="Hot Lead"))
    assert hot.name == "hot-lead"
    with pytest.raises(Conflict):
        await container.crm.tags.create(org.admin, NewTag(name="HOT lead"))
    a = await container.crm.intake.add_manual(org.sales, NewLead(name="A", phone="9876500150"))
    b = await container.crm.intake.add_manual(org.head, NewPoolLead(name="B", phone="9876500151"))
    c = await container.crm.intake.add_manual(
        org.other_head, NewPoolLead(name="C", phone="9876500152")
    )
    detail = await container.crm.tags.attach(org.sales, a.id, hot.id)
    assert detail.tags == ["hot-lead"]
    with pytest.raises(NotFound):
        await container.crm.tags.attach(org.sales, b.id, hot.id)
    result = await container.crm.tags.bulk(
        org.head, BulkTag(lead_ids=[a.id, b.id, c.id], add=["hot-lead"])
    )
    assert (result.in_scope, result.added) == (2, 1)
    page = await container.crm.leads.page(org.admin, LeadFilter(tag="hot-lead"), PageRequest())
    assert {lead.id for lead in page.items} == {a.id, b.id}
    assert all(lead.tags == ["hot-lead"] for lead in page.items)
    cold = await container.crm.tags.create(org.admin, NewTag(name="Alpha Batch"))
    await container.crm.tags.attach(org.sales, a.id, cold.id)
    listed = await container.crm.leads.page(org.admin, LeadFilter(), PageRequest())
    tags_of = {lead.id: lead.tags for lead in listed.items}
    assert tags_of[a.id] == ["alpha-batch", "hot-lead"], "a lead's tags come sorted by name"
    assert tags_of[c.id] == []
    await container.crm.tags.delete(hot.id)
    assert (await container.crm.leads.get(org.admin, a.id)).tags == ["alpha-batch"]


async def test_list_filters_and_capped_totals(container: Any, org: Org, monkeypatch: Any) -> None:
    for i in range(5):
        await container.crm.intake.add_manual(
            org.head, NewPoolLead(name=f"Lead {i}", phone=f"98765002{i:02d}")
        )
    await container.crm.intake.add_manual(org.sales, NewLead(name="Assigned", phone="9876500299"))
    unassigned = await container.crm.leads.page(
        org.head, LeadFilter(unassigned=True), PageRequest(1, 2)
    )
    assert unassigned.total == 5 and len(unassigned.items) == 2
    assert unassigned.items[0].name == "Lead 4"
    found = await container.crm.leads.page(org.head, LeadFilter(q="lead 3"), PageRequest())
    assert [lead.name for lead in found.items] == ["Lead 3"]
    by_digits = await container.crm.leads.page(org.head, LeadFilter(q="00203"), PageRequest())
    assert [lead.name for lead in by_digits.items] == ["Lead 3"]
    import mas.adapters.db.crm.leads as repo

    monkeypatch.setattr(repo, "COUNT_CAP", 3)
    capped = await container.crm.leads.page(org.head, LeadFilter(), PageRequest(1, 2))
    assert capped.total == 3 and capped.total_capped and len(capped.items) == 2
    assert capped.has_more and not capped.total_is_estimate
    # A page that shows the end of the list knows its total exactly, cap or not.
    whole = await container.crm.leads.page(org.head, LeadFilter(), PageRequest())
    assert (whole.total, whole.total_capped, len(whole.items)) == (6, False, 6)
    # A page past the end still knows the total (counted on its own, no row carries it).
    new = LeadFilter(statuses=(LeadStatus.NEW,))  # not counted yet
    past = await container.crm.leads.page(org.head, new, PageRequest(9, 5))
    assert past.items == [] and past.total == 3 and past.total_capped
    monkeypatch.setattr(repo, "COUNT_CAP", 1000)
    second = await container.crm.leads.page(org.head, LeadFilter(), PageRequest(2, 4))
    assert (second.total, len(second.items), second.total_capped) == (6, 2, False)


async def test_export_streams_every_row_in_batches(
    container: Any, org: Org, monkeypatch: Any
) -> None:
    import mas.core.crm.analytics as analytics

    monkeypatch.setattr(analytics, "EXPORT_BATCH", 2)
    for i in range(5):
        await container.crm.intake.add_manual(
            org.head, NewPoolLead(name=f"=Lead {i}", phone=f"98765003{i:02d}")
        )
    chunks = [chunk async for chunk in await container.crm.analytics.export(org.head, LeadFilter())]
    body = b"".join(chunks).decode()
    lines = body.strip().splitlines()
    assert lines[0].startswith("id,name,phone_e164") and len(lines) == 6
    assert "'=Lead 0" in body and "+91987650030" in body
    monkeypatch.setattr(analytics, "EXPORT_MAX_ROWS", 4)
    with pytest.raises(ValidationFailed):
        await container.crm.analytics.export(org.head, LeadFilter())


async def test_funnel_counts_in_scope(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(org.sales, NewLead(name="F", phone="9876500400"))
    await container.crm.intake.add_manual(org.other_head, NewPoolLead(name="G", phone="9876500401"))
    await container.crm.leads.change_status(
        org.sales, lead.id, StatusRequest(to=LeadStatus.CONTACTED)
    )
    report = await container.crm.analytics.funnel(org.head, None, None, LeadFilter())
    assert (
        report.total == 1
        and report.by_status["CONTACTED"] == 1
        and report.by_source == {"MANUAL": 1}
    )
    everything = await container.crm.analytics.funnel(org.admin, None, None, LeadFilter())
    assert everything.total == 2
    today = report.date_to
    with pytest.raises(ValidationFailed):
        await container.crm.analytics.funnel(
            org.admin, today - timedelta(days=400), today, LeadFilter()
        )


async def test_soft_delete_hides_the_lead(container: Any, org: Org) -> None:
    lead = await container.crm.intake.add_manual(org.sales, NewLead(name="D", phone="9876500500"))
    await container.crm.leads.delete(org.admin, lead.id)
    with pytest.raises(NotFound):
        await container.crm.leads.get(org.admin, lead.id)
    with pytest.raises(NotFound):
        await container.crm.leads.delete(org.admin, lead.id)
    again = await container.crm.intake.add_manual(org.sales, NewLead(name="D", phone="9876500500"))
    assert again.id != lead.id and again.outcome is IntakeOutcome.CREATED


# --- campaigns --------------------------------------------------------------------------------


async def test_campaign_submissions_promote_into_the_pool(container: Any, org: Org) -> None:
    await container.crm.tags.create(org.admin, NewTag(name="web"))
    campaign = await container.crm.campaigns.create(
        org.admin,
        NewCampaign(
            slug="drone-2025",
            name="Drone 2025",
            programme="drone-tech",
            default_sales_head_id=org.head.user_id,
            default_tags=["web"],
        ),
    )
    await container.crm.campaigns.submit(
        "drone-2025", Submission(name="Ravi", phone="9876500600", utm_source="ig"), "1.2.3.4"
    )
    page = await container.crm.leads.page(org.head, LeadFilter(), PageRequest())
    assert page.total == 1
    lead = page.items[0]
    assert lead.course_interest == "drone-tech" and lead.tags == ["web"]
    assert lead.extra_data["campaign"] == "drone-2025" and lead.extra_data["utm_source"] == "ig"
    submissions = await container.crm.campaigns.submissions(campaign.id, None, PageRequest())
    assert submissions.items[0].status is CampaignLeadStatus.PROMOTED
    assert submissions.items[0].raw_lead_id == lead.id
    await container.crm.campaigns.submit(
        "drone-2025", Submission(name="Bot", phone="9876500601", website="http://spam"), "1.2.3.4"
    )
    rejected = await container.crm.campaigns.submissions(
        campaign.id, CampaignLeadStatus.REJECTED, PageRequest()
    )
    assert rejected.total == 1 and rejected.items[0].reject_reason == "honeypot"
    with pytest.raises(NotFound):
        await container.crm.campaigns.submit("nope", Submission(name="A", phone="9876500602"), None)
    from mas.core.crm.campaigns import CampaignChanges

    await container.crm.campaigns.update(
        campaign.id, CampaignChanges(ends_at=container.clock.now() - timedelta(minutes=1))
    )
    with pytest.raises(Gone):
        await container.crm.campaigns.submit(
            "drone-2025", Submission(name="A", phone="9876500603"), None
        )


async def test_form_rate_limits(container: Any, org: Org) -> None:
    await container.crm.campaigns.create(
        org.admin, NewCampaign(slug="space", name="Space", programme="space-tech")
    )
    for _ in range(3):
        await container.crm.campaigns.submit(
            "space", Submission(name="R", phone="9876500700"), "9.9.9.9"
        )
    with pytest.raises(RateLimited) as err:
        await container.crm.campaigns.submit(
            "space", Submission(name="R", phone="9876500700"), "9.9.9.8"
        )
    assert err.value.retry_after and err.value.retry_after > 0
    for i in range(2):
        await container.crm.campaigns.submit(
            "space", Submission(name="R", email=f"r{i}@x.org"), "9.9.9.9"
        )
    with pytest.raises(RateLimited):
        await container.crm.campaigns.submit(
            "space", Submission(name="R", email="z@x.org"), "9.9.9.9"
        )


async def test_the_sweeper_promotes_what_the_task_missed(container: Any, org: Org) -> None:
    await container.crm.campaigns.create(
        org.admin, NewCampaign(slug="late", name="Late", programme="space-tech")
    )
    from mas.core.crm.model import CampaignLead

    campaign = await container.crm.campaigns.page(PageRequest())
    stuck = CampaignLead(
        id=uuid7(),
        campaign_id=campaign.items[0].id,
        name="Stuck",
        ip_hash="x",
        created_at=container.clock.now() - timedelta(minutes=10),
        phone_raw="9876500800",
    )
    async with container.uow() as uow:
        await uow.leads.add_campaign_lead(stuck)
        await uow.commit()
    await container.jobs.enqueue("crm.sweep_campaign_leads", {}, key="s1")
    assert await count(container, RawLeadRow) == 1
    assert await container.crm.campaigns.promote(stuck.id) is CampaignLeadStatus.PROMOTED
    assert await count(container, LeadIntakeRow) == 1


def test_intake_service_is_built(container: Any) -> None:
    assert isinstance(container.crm.intake, LeadIntakeService)


async def test_a_cursor_walk_with_tied_instants_sees_each_lead_once(
    container: Any, org: Org
) -> None:
    mine = [
        (
            await container.crm.intake.add_manual(
                org.head, NewPoolLead(name=f"Tied {i}", phone=f"98765003{i:02d}")
            )
        ).id
        for i in range(7)
    ]
    theirs = (
        await container.crm.intake.add_manual(
            org.other_head, NewPoolLead(name="Theirs", phone="9876500399")
        )
    ).id
    instant = datetime(2025, 5, 5, 5, 5, 5, 123456, tzinfo=UTC)
    async with container.sessions() as s:  # one instant for all: the id breaks the tie
        tied = RawLeadRow.id.in_([*mine, theirs])
        await s.execute(update(RawLeadRow).where(tied).values(created_at=instant))
        await s.commit()
    seen: list[uuid.UUID] = []
    page = await container.crm.leads.page(org.head, LeadFilter(), PageRequest(1, 3))
    seen += [lead.id for lead in page.items]
    while page.has_more:
        assert page.next_cursor is not None
        page = await container.crm.leads.page(
            org.head, LeadFilter(), PageRequest(1, 3), cursor=page.next_cursor
        )
        seen += [lead.id for lead in page.items]
    assert seen == sorted(mine, reverse=True) and theirs not in seen
    assert page.next_cursor is None and page.total == 7
    offset = [
        lead.id
        for n in (1, 2, 3)
        for lead in (
            await container.crm.leads.page(org.head, LeadFilter(), PageRequest(n, 3))
        ).items
    ]
    assert offset == seen


async def test_a_shared_list_statement_never_runs_with_a_value_left_unbound(
    container: Any, org: Org, monkeypatch: Any
) -> None:
    """The list's statements are built once per shape and shared by every caller: one whose
    scope parameter went unbound would run with the first caller's user id. It fails instead."""
    import mas.adapters.db.crm.leads as repo

    await container.crm.intake.add_manual(org.head, NewPoolLead(name="Own", phone="9876500398"))
    await container.crm.leads.page(org.head, LeadFilter(), PageRequest())  # builds the shape
    monkeypatch.setattr(repo, "scope_values", lambda scope, write=False: {})
    with pytest.raises(RuntimeError, match="scope_user"):
        await container.crm.leads.page(org.other_head, LeadFilter(), PageRequest())
