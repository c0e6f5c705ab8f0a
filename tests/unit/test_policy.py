"""The policy table: which role passes which guard, and who may use which platform."""

from __future__ import annotations

import pytest

from mas.core.identity.policy import Platform, Role, platform_allows
from mas.modules import POLICY, allows, roles_passing

# Written out by hand so a change to POLICY has to be made twice, on purpose.
OWN_ROLES: dict[str, set[Role]] = {
    "authenticated": set(Role),
    "admin": set(),
    "superadmin": set(),
    "finance": {Role.FINANCE},
    "sales": {Role.SALES, Role.SALES_HEAD},
    "sales_head": {Role.SALES_HEAD},
    "expert": {Role.EXPERT},
    "student": {Role.USER},
    "hr": {Role.EXTERNAL_HR},
    "community": {Role.COMMUNITY_MANAGER, Role.BATCH_LEAD},
}
ADMINS = {Role.ADMIN, Role.SUPERADMIN}
GUARDS = sorted(POLICY)


def test_every_guard_is_covered_here() -> None:
    assert set(POLICY) == set(OWN_ROLES)


@pytest.mark.parametrize("guard", GUARDS)
def test_superadmin_passes_every_guard(guard: str) -> None:
    assert allows(guard, Role.SUPERADMIN)


@pytest.mark.parametrize("guard", GUARDS)
def test_admin_passes_every_guard_but_superadmin(guard: str) -> None:
    assert allows(guard, Role.ADMIN) is (guard != "superadmin")


@pytest.mark.parametrize("guard", GUARDS)
@pytest.mark.parametrize("role", list(Role))
def test_each_guard_admits_exactly_its_roles_and_the_admins(guard: str, role: Role) -> None:
    admitted = OWN_ROLES[guard] | ADMINS
    if guard == "superadmin":
        admitted = {Role.SUPERADMIN}
    assert allows(guard, role) is (role in admitted)


@pytest.mark.parametrize("guard", GUARDS)
def test_roles_passing_lists_the_admitted_roles(guard: str) -> None:
    expected = {Role.SUPERADMIN} if guard == "superadmin" else OWN_ROLES[guard] | ADMINS
    assert roles_passing(guard) == frozenset(expected)


def test_roles_passing_examples() -> None:
    assert roles_passing("superadmin") == {Role.SUPERADMIN}
    assert roles_passing("finance") == {Role.FINANCE, Role.ADMIN, Role.SUPERADMIN}
    assert roles_passing("authenticated") == set(Role)


def test_an_unknown_guard_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        allows("no_such_guard", Role.SUPERADMIN)


@pytest.mark.parametrize("role", list(Role))
def test_mr_hire_takes_recruiters_and_admins_only(role: Role) -> None:
    expected = role in {Role.EXTERNAL_HR, Role.ADMIN, Role.SUPERADMIN}
    assert platform_allows(Platform.MR_HIRE, role) is expected


@pytest.mark.parametrize("platform", [Platform.MY_ANALYTICS_SCHOOL, Platform.MR_MENTOR])
@pytest.mark.parametrize("role", list(Role))
def test_the_other_platforms_take_everyone(platform: Platform, role: Role) -> None:
    assert platform_allows(platform, role) is True


def test_the_platforms_are_the_three_known_ones() -> None:
    assert {p.value for p in Platform} == {"my-analytics-school", "mr-mentor", "mr-hire"}
