"""The CRM fakes keep the promises of the SQL adapters they stand in for: a unit of work puts
back what it did not commit, every repository of ``CrmUnitOfWork`` is there, and the unique
keys, version checks and orderings the services rely on hold."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from mas.adapters.fakes.crm import CrmStore, FakeCrmUnitOfWork
from mas.adapters.fakes.platform import FakeClock
from mas.core.crm.assignment_model import (
    Assignment,
    AssignMethod,
    MemberRole,
    SalesHeadProfile,
    Slot,
    TeamMember,
)
from mas.core.crm.events import LeadDeleted
from mas.core.crm.model import (
    FollowUp,
    FollowUpChannel,
    IntakeChannel,
    IntakeOutcome,
    Lead,
    LeadIntake,
    Tag,
)
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.queries import LeadFilter
from mas.core.crm.scope import SYSTEM_SCOPE, LeadScope, ScopeKind
from mas.core.platform.ids import uuid7
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.uow import DuplicateKey

NOW = datetime(2025, 3, 3, 4, 30, tzinfo=UTC)


@pytest.fixture
def store() -> CrmStore:
    return CrmStore(FakeClock(NOW))


def lead(**fields: Any) -> Lead:
    return msgspec.convert(
        {"id": uuid7(), "name": "N", "created_at": NOW, "updated_at": NOW, **fields}, Lead
    )


def crm_uow(store: CrmStore) -> CrmUnitOfWork:
    return FakeCrmUnitOfWork(store)


async def test_every_repository_of_the_unit_is_there(store: CrmStore) -> None:
    uow = crm_uow(store)
    names = [name for name in CrmUnitOfWork.__annotations__ if not name.startswith("_")]
    assert len(names) == 12
    assert all(getattr(uow, name) is not None for name in names)


async def test_a_unit_left_without_commit_puts_every_write_back(store: CrmStore) -> None:
    async with crm_uow(store) as uow:
        await uow.leads.add(lead(phone_e164="+919876500001"))
        await uow.commit()
    committed = copy.deepcopy(store.tables.leads)
    lead_id = next(iter(committed))
    with pytest.raises(RuntimeError):
        async with crm_uow(store) as uow:
            await uow.leads.add_follow_up(
                FollowUp(
                    id=uuid7(),
                    raw_lead_id=lead_id,
                    owner_id=uuid7(),
                    due_at=NOW,
                    channel=FollowUpChannel.CALL,
                    note="",
                    created_at=NOW,
                )
            )
            assert await uow.leads.soft_delete(lead_id, NOW)
            await uow.send(OutboxMessage.email(to="a@x.org", subject="s", body_text="b", now=NOW))
            uow.record(LeadDeleted(lead_id=lead_id, actor_id=None))
            raise RuntimeError("the use case failed")
    assert store.tables.follow_ups == {} and store.platform.messages == {}
    assert store.tables.leads[lead_id].deleted_at is None and store.events == []
    assert store.tables.leads == committed


async def test_events_reach_the_outbox_and_the_store_on_commit(store: CrmStore) -> None:
    lead_id = uuid7()
    async with crm_uow(store) as uow:
        uow.record(LeadDeleted(lead_id=lead_id, actor_id=None))
        assert store.events == [], "nothing before the commit"
        await uow.commit()
    assert store.events == [LeadDeleted(lead_id=lead_id, actor_id=None)]
    assert [(e.subject, e.payload["lead_id"]) for e in store.platform.events] == [
        ("mas.lead.deleted", str(lead_id))
    ]


async def test_one_live_lead_per_phone_and_per_email_without_a_phone(store: CrmStore) -> None:
    async with crm_uow(store) as uow:
        await uow.leads.add(lead(phone_e164="+919876500900", email="a@x.org"))
        with pytest.raises(DuplicateKey):
            await uow.leads.add(lead(phone_e164="+919876500900"))
        await uow.leads.add(lead(phone_e164="+919876500901", email="a@x.org"))
        only_mail = lead(email="b@x.org")
        await uow.leads.add(only_mail)
        with pytest.raises(DuplicateKey):
            await uow.leads.add(lead(email="b@x.org"))
        assert await uow.leads.soft_delete(only_mail.id, NOW)
        await uow.leads.add(lead(email="b@x.org"))  # a deleted lead frees its email
        await uow.commit()
    assert len(store.tables.leads) == 4


async def test_a_save_needs_the_version_it_read_and_bumps_it(store: CrmStore) -> None:
    first = lead(phone_e164="+919876500910")
    async with crm_uow(store) as uow:
        await uow.leads.add(first)
        await uow.leads.add(lead(phone_e164="+919876500911"))
        read = await uow.leads.get(first.id, SYSTEM_SCOPE)
        assert read is not None
        read.city = "Pune"
        assert await uow.leads.save(read) and read.version == 1
        stale = msgspec.structs.replace(read, version=0, city="Goa")
        assert not await uow.leads.save(stale)
        read.phone_e164 = "+919876500911"
        with pytest.raises(DuplicateKey):
            await uow.leads.save(read)
        await uow.commit()
    assert (store.tables.leads[first.id].city, store.tables.leads[first.id].version) == ("Pune", 1)


async def test_reads_hand_out_copies(store: CrmStore) -> None:
    first = lead(phone_e164="+919876500920")
    async with crm_uow(store) as uow:
        await uow.leads.add(first)
        read = await uow.leads.get(first.id, SYSTEM_SCOPE)
        assert read is not None
        read.name = "changed without a save"
        await uow.commit()
    assert store.tables.leads[first.id].name == "N"


async def test_scopes_and_lists_as_the_sql_adapter_reads_them(store: CrmStore) -> None:
    head, seller = uuid7(), uuid7()
    older = lead(phone_e164="+919876500930", owning_sales_head_id=head, assigned_to=seller)
    newer = lead(
        phone_e164="+919876500931", owning_sales_head_id=head, created_at=NOW + timedelta(days=1)
    )
    elsewhere = lead(phone_e164="+919876500932", owning_sales_head_id=uuid7())
    async with crm_uow(store) as uow:
        for item in (older, newer, elsewhere):
            await uow.leads.add(item)
        pool = await uow.leads.page(LeadScope(ScopeKind.POOL, head), LeadFilter(), PageRequest())
        assert [item.id for item in pool.leads] == [newer.id, older.id], "newest first"
        mine = await uow.leads.page(
            LeadScope(ScopeKind.ASSIGNED, seller), LeadFilter(), PageRequest()
        )
        assert [item.id for item in mine.leads] == [older.id]
        open_pools = LeadScope(ScopeKind.POOL, head, read_all_pools=True)
        assert await uow.leads.get(elsewhere.id, open_pools) is not None
        assert await uow.leads.get(elsewhere.id, open_pools, write=True) is None
        nobody = await uow.leads.page(LeadScope(ScopeKind.NONE), LeadFilter(), PageRequest())
        assert nobody.leads == [] and nobody.total == 0
        assert (await uow.leads.count(SYSTEM_SCOPE, LeadFilter(), cap=1)) == 2


async def test_the_other_unique_keys(store: CrmStore) -> None:
    head, user = uuid7(), uuid7()
    async with crm_uow(store) as uow:
        intake = LeadIntake(
            id=uuid7(),
            raw_lead_id=uuid7(),
            channel=IntakeChannel.CSV,
            channel_ref="batch:1:1",
            outcome=IntakeOutcome.CREATED,
            payload={},
            created_at=NOW,
        )
        await uow.leads.add_intake(intake)
        with pytest.raises(DuplicateKey):
            await uow.leads.add_intake(msgspec.structs.replace(intake, id=uuid7()))
        await uow.leads.add_tag(Tag(id=uuid7(), name="hot", created_at=NOW))
        with pytest.raises(DuplicateKey):
            await uow.leads.add_tag(Tag(id=uuid7(), name="hot", created_at=NOW))
        member = TeamMember(
            id=uuid7(),
            sales_head_id=head,
            user_id=user,
            member_role=MemberRole.TELECALLER,
            joined_at=NOW,
        )
        await uow.teams.add_member(member)
        with pytest.raises(DuplicateKey):
            await uow.teams.add_member(msgspec.structs.replace(member, id=uuid7()))
        profile = SalesHeadProfile(user_id=head, display_name="H", created_at=NOW, updated_at=NOW)
        await uow.head_profiles.add(profile)
        with pytest.raises(DuplicateKey):
            await uow.head_profiles.add(profile)
        request_id = uuid7()
        row = Assignment(
            id=uuid7(),
            raw_lead_id=uuid7(),
            slot=Slot.FIRST_LINE,
            method=AssignMethod.BULK,
            reason="r",
            created_at=NOW,
            request_id=request_id,
        )
        await uow.assignments.add_assignments([row])
        with pytest.raises(DuplicateKey):
            await uow.assignments.add_assignments([msgspec.structs.replace(row, id=uuid7())])
