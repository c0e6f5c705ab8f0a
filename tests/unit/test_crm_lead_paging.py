"""The lead list's two ways to page (``page`` offsets, ``cursor`` positions) and its total: exact
when counted or when the page shows the end, else a count at most ``COUNT_TTL_S`` old."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mas.core.crm.model import LeadStatus
from mas.core.crm.queries import COUNT_TTL_S, LeadCounts, LeadFilter, LeadPage, lead_cursor
from mas.core.crm.scope import LeadScope, ScopeKind
from mas.core.crm.service import StatusRequest
from mas.core.crm.teams import ProfileChanges
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import ValidationFailed
from mas.core.platform.paging import PageRequest
from tests.unit.crm_world import World, refused


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


async def walk(world: World, who: Caller, flt: LeadFilter, size: int) -> list[LeadPage]:
    """Every page of the list, each after the previous one's ``next_cursor``."""
    pages = [await world.crm.leads.page(who, flt, PageRequest(1, size))]
    while pages[-1].has_more:
        cursor = pages[-1].next_cursor
        assert cursor is not None, "a page with more after it says where it ends"
        pages.append(await world.crm.leads.page(who, flt, PageRequest(1, size), cursor=cursor))
        assert len(pages) < 50, "the walk ends"
    assert pages[-1].next_cursor is None
    return pages


async def two_pools_of_two(world: World) -> tuple[Caller, Any, Any]:
    """An admin, and two sales floors with two leads each."""
    admin = await world.person(Role.ADMIN)
    north = await world.floor("North", 0, 0)
    south = await world.floor("South", 0, 0)
    await world.add_leads(north.head, 2)
    await world.add_leads(south.head, 2)
    return admin, north, south


async def test_a_cursor_walk_sees_every_lead_once_in_order_with_ties(world: World) -> None:
    north = await world.floor("North", 0, 0)
    south = await world.floor("South", 0, 0)
    # Leads written in one instant tie on created_at: the id breaks the tie.
    tied = await world.add_leads(north.head, 7)
    world.clock.advance(seconds=1)
    later = await world.add_leads(north.head, 5, status=LeadStatus.CONTACTED)
    theirs = await world.add_leads(south.head, 4)
    pages = await walk(world, north.head, LeadFilter(), 3)
    seen = [lead.id for page in pages for lead in page.items]
    assert len(seen) == len(set(seen)) == 12, "no lead twice, none missed"
    assert set(seen) == set(tied) | set(later) and not set(seen) & set(theirs)
    assert seen == sorted(later, reverse=True) + sorted(tied, reverse=True)
    by_offset = [
        lead.id
        for n in range(1, 5)
        for lead in (await world.crm.leads.page(north.head, LeadFilter(), PageRequest(n, 3))).items
    ]
    assert seen == by_offset, "both ways list the same order"
    assert [len(p.items) for p in pages] == [3, 3, 3, 3] and all(p.total == 12 for p in pages)
    contacted = await walk(world, north.head, LeadFilter(statuses=(LeadStatus.CONTACTED,)), 2)
    assert [lead.id for p in contacted for lead in p.items] == sorted(later, reverse=True)


async def test_a_cursor_from_elsewhere_never_widens_the_scope(world: World) -> None:
    north = await world.floor("North", 0, 0)
    south = await world.floor("South", 0, 0)
    await world.add_leads(north.head, 2)
    world.clock.advance(seconds=1)
    theirs = await world.add_leads(south.head, 3)
    # A position taken from another pool's lead (a client can make up any position).
    foreign = lead_cursor(world.lead(theirs[-1]))
    page = await world.crm.leads.page(north.head, LeadFilter(), PageRequest(1, 10), cursor=foreign)
    assert {lead.owning_sales_head_id for lead in page.items} == {north.head.user_id}
    assert len(page.items) == 2


async def test_a_heads_isolation_switch_applies_to_the_next_page(world: World) -> None:
    admin, north, south = await two_pools_of_two(world)
    size = PageRequest(1, 10)
    assert len((await world.crm.leads.page(north.head, LeadFilter(), size)).items) == 2
    await world.crm.teams.update_profile(
        admin, north.head.user_id, ProfileChanges(isolation_enabled=False)
    )
    assert len((await world.crm.leads.page(north.head, LeadFilter(), size)).items) == 4
    await world.crm.teams.update_profile(
        admin, north.head.user_id, ProfileChanges(isolation_enabled=True)
    )
    assert len((await world.crm.leads.page(north.head, LeadFilter(), size)).items) == 2


async def test_a_cursor_excludes_a_page_and_must_be_one_given_out(world: World) -> None:
    north = await world.floor("North", 0, 0)
    await world.add_leads(north.head, 3)
    first = await world.crm.leads.page(north.head, LeadFilter(), PageRequest(1, 2))
    assert first.next_cursor is not None
    await refused(
        world.crm.leads.page(north.head, LeadFilter(), PageRequest(2, 2), cursor=first.next_cursor),
        ValidationFailed,
        "page_with_cursor",
    )
    for bad in ("nonsense", first.next_cursor + "0", first.next_cursor.replace("-", "+")):
        await refused(
            world.crm.leads.page(north.head, LeadFilter(), PageRequest(1, 2), cursor=bad),
            ValidationFailed,
        )


async def test_the_total_is_counted_then_reused_within_the_ttl_and_said_so(world: World) -> None:
    north = await world.floor("North", 0, 0)
    south = await world.floor("South", 0, 0)
    ids = await world.add_leads(north.head, 5)
    await world.add_leads(south.head, 3)
    two = PageRequest(1, 2)
    counted = await world.crm.leads.page(north.head, LeadFilter(), two)
    assert (counted.total, counted.total_is_estimate, counted.has_more) == (5, False, True)
    # Written past the lead service (an import, say): the count is reused until its TTL ends.
    world.clock.advance(seconds=1)
    await world.add_leads(north.head, 2)
    reused = await world.crm.leads.page(north.head, LeadFilter(), two)
    assert (reused.total, reused.total_is_estimate) == (5, True)
    assert [lead.id for lead in reused.items] != [lead.id for lead in counted.items], (
        "the items are always read fresh"
    )
    other = await world.crm.leads.page(south.head, LeadFilter(), two)
    assert (other.total, other.total_is_estimate) == (3, False), "a count is per scope"
    world.clock.advance(seconds=COUNT_TTL_S)
    fresh = await world.crm.leads.page(north.head, LeadFilter(), two)
    assert (fresh.total, fresh.total_is_estimate) == (7, False)
    # A page that shows the end knows the total without a count.
    last = await world.crm.leads.page(north.head, LeadFilter(), PageRequest(4, 2))
    assert (last.total, last.total_is_estimate, last.has_more) == (7, False, False)
    # A change through the lead service drops the counts at once.
    await world.crm.leads.page(north.head, LeadFilter(statuses=(LeadStatus.NEW,)), two)
    await world.crm.leads.change_status(north.head, ids[0], StatusRequest(to=LeadStatus.CONTACTED))
    moved = await world.crm.leads.page(north.head, LeadFilter(statuses=(LeadStatus.NEW,)), two)
    assert (moved.total, moved.total_is_estimate) == (6, False)


async def test_a_reused_total_is_never_below_what_the_page_shows(world: World) -> None:
    north = await world.floor("North", 0, 0)
    await world.add_leads(north.head, 3)
    await world.crm.leads.page(north.head, LeadFilter(), PageRequest(1, 2))  # counts 3
    world.clock.advance(seconds=1)
    await world.add_leads(north.head, 4)
    page = await world.crm.leads.page(north.head, LeadFilter(), PageRequest(3, 2))
    assert page.total_is_estimate and page.has_more
    assert page.total == 7, "page 3 of 2 with more after it: at least 7"


def test_counts_expire_are_bounded_and_cleared() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    scope = LeadScope(ScopeKind.POOL, uuid.uuid4())
    counts = LeadCounts(ttl_s=10, size=2)
    keys = [(scope, LeadFilter(tag=f"t{i}")) for i in range(3)]
    counts.put(keys[0], start, 5, False)
    assert counts.get(keys[0], start + timedelta(seconds=7.9)) == (5, False)
    assert counts.get(keys[0], start + timedelta(seconds=10)) is None
    assert (
        counts.get((LeadScope(ScopeKind.POOL, uuid.uuid4()), LeadFilter(tag="t0")), start) is None
    )
    for key in keys:
        counts.put(key, start, 1, True)
    assert counts.get(keys[0], start) is None, "the oldest entry makes room"
    assert counts.get(keys[2], start) == (1, True)
    counts.clear()
    assert counts.get(keys[2], start) is None


def test_one_caller_renews_a_count_before_it_ends_while_the_others_read_it() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    key = (LeadScope(ScopeKind.POOL, uuid.uuid4()), LeadFilter())
    counts = LeadCounts(ttl_s=10, size=4, refresh_at=0.8)
    counts.put(key, start, 5, False)
    late = start + timedelta(seconds=8)
    assert counts.get(key, late) is None, "the first caller past 80 % of the TTL counts"
    assert [counts.get(key, late) for _ in range(40)] == [(5, False)] * 40, "the others read it"
    counts.put(key, late, 6, False)
    assert counts.get(key, late + timedelta(seconds=7.9)) == (6, False), "renewed"
    assert counts.get(key, late + timedelta(seconds=8)) is None, "and renewed again"
    assert counts.get(key, late + timedelta(seconds=9.9)) == (6, False)
    # A renewal that never lands (the caller failed) leaves the entry to expire as before.
    assert counts.get(key, late + timedelta(seconds=10)) is None
    assert counts.get(key, late + timedelta(seconds=10)) is None


async def test_a_stale_cached_profile_never_widens_a_heads_scope(world: World) -> None:
    admin, north, south = await two_pools_of_two(world)
    size = PageRequest(1, 10)
    await world.crm.teams.update_profile(
        admin, north.head.user_id, ProfileChanges(isolation_enabled=False)
    )
    assert len((await world.crm.leads.page(north.head, LeadFilter(), size)).items) == 4
    # Isolation turned on past the services (no cache entry dropped): the cached profile still
    # says "every pool", and the list confirms that in the database instead of trusting it.
    async with world.uow() as uow:
        profile = await uow.head_profiles.get(north.head.user_id)
        assert profile is not None
        profile.isolation_enabled = True
        await uow.head_profiles.save(profile)
        await uow.commit()
    page = await world.crm.leads.page(north.head, LeadFilter(), size)
    assert {lead.owning_sales_head_id for lead in page.items} == {north.head.user_id}
