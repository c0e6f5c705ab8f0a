"""The CRM profile's page flags as the HTTP guard asks for them (``PageSwitches.require``): one
declaration per route (its page, or its own flag), cached per head and dropped on a change."""

from __future__ import annotations

from pathlib import Path

import pytest

from mas.core.crm.assignment_model import PAGE_FLAGS
from mas.core.crm.page_switches import PROFILE_TTL_S
from mas.core.crm.pages import PAGE_DEFAULT_FLAG, SALES_HEAD_PAGES, flag_of
from mas.core.crm.teams import NewProfile, ProfileChanges
from mas.core.identity.policy import Role
from mas.core.platform.errors import Forbidden
from tests.unit.crm_world import World, refused


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_every_page_declares_its_flag_and_every_flag_is_a_profile_flag() -> None:
    assert set(PAGE_DEFAULT_FLAG) == SALES_HEAD_PAGES
    assert {f for f in PAGE_DEFAULT_FLAG.values() if f is not None} <= PAGE_FLAGS
    assert flag_of("crm.leads") == "leads"
    assert flag_of("crm.leads", "export") == "export", "a route's own flag wins"
    assert flag_of("crm.team") is None


async def test_a_head_needs_the_routes_flag(world: World) -> None:
    floor = await world.floor("North", 0, 0, flags={"leads": True})
    pages = world.crm.pages
    await pages.require(floor.head, "crm.leads")
    await refused(pages.require(floor.head, "crm.leads", "export"), Forbidden, "page_disabled")
    await refused(pages.require(floor.head, "crm.analytics"), Forbidden, "page_disabled")
    await pages.require(floor.head, "crm.team")  # the team page has no flag


async def test_a_head_without_a_profile_is_refused_others_are_not_gated(world: World) -> None:
    head = await world.person(Role.SALES_HEAD)
    await refused(world.crm.pages.require(head, "crm.leads"), Forbidden, "page_disabled")
    for role in (Role.ADMIN, Role.SUPERADMIN, Role.SALES):
        await world.crm.pages.require(await world.person(role), "crm.leads", "export")


async def test_a_change_by_an_admin_applies_at_once_a_change_elsewhere_within_the_ttl(
    world: World,
) -> None:
    admin = await world.person(Role.ADMIN)
    head = await world.person(Role.SALES_HEAD)
    pages = world.crm.pages
    await refused(pages.require(head, "crm.leads"), Forbidden, "page_disabled")
    await world.crm.teams.create_profile(
        admin, NewProfile(user_id=head.user_id, display_name="North", page_flags={"leads": True})
    )
    await pages.require(head, "crm.leads")
    await world.crm.teams.update_profile(
        admin, head.user_id, ProfileChanges(page_flags={"leads": False})
    )
    await refused(pages.require(head, "crm.leads"), Forbidden, "page_disabled")

    # Written behind the service's back (another process): the cached answer stands until its
    # TTL runs out.
    async with world.uow() as uow:
        profile = await uow.head_profiles.get(head.user_id)
        assert profile is not None
        profile.page_flags = {"leads": True}
        await uow.head_profiles.save(profile)
        await uow.commit()
    await refused(pages.require(head, "crm.leads"), Forbidden, "page_disabled")
    world.clock.advance(seconds=PROFILE_TTL_S + 1)
    await pages.require(head, "crm.leads")
