"""Who may pass which guard: the one policy table of mas.

Every HTTP route names a guard from ``POLICY``; the route-grid tests are generated from it.
``ADMIN`` passes every role guard except the SUPERADMIN-only ones; ``SUPERADMIN`` passes all.
"""

from __future__ import annotations

import enum
import uuid

import msgspec


class Role(enum.StrEnum):
    USER = "USER"
    EXPERT = "EXPERT"
    ADMIN = "ADMIN"
    SUPERADMIN = "SUPERADMIN"
    FINANCE = "FINANCE"
    SALES = "SALES"
    SALES_HEAD = "SALES_HEAD"
    COMMUNITY_MANAGER = "COMMUNITY_MANAGER"
    EXTERNAL_HR = "EXTERNAL_HR"
    BATCH_LEAD = "BATCH_LEAD"


class Platform(enum.StrEnum):
    MY_ANALYTICS_SCHOOL = "my-analytics-school"
    MR_MENTOR = "mr-mentor"
    MR_HIRE = "mr-hire"


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated principal of a request, job or CLI call."""

    user_id: uuid.UUID
    role: Role
    platform: Platform
    session_id: uuid.UUID | None = None
    token_version: int = 0
    is_super_mentor: bool = False
    page_permissions: frozenset[str] = frozenset()
    auth_method: str = "pwd"
    impersonated_by: uuid.UUID | None = None

    def has_page(self, key: str) -> bool:
        """SALES_HEAD page permission; ADMIN and SUPERADMIN have every page."""
        if self.role in (Role.ADMIN, Role.SUPERADMIN):
            return True
        return self.role is Role.SALES_HEAD and key in self.page_permissions


class Guard(msgspec.Struct, frozen=True):
    """``roles`` pass; ``admin_passes`` lets ADMIN through as well (SUPERADMIN always passes)."""

    roles: frozenset[Role]
    admin_passes: bool = True


ANY_ROLE = frozenset(Role)

POLICY: dict[str, Guard] = {
    "authenticated": Guard(ANY_ROLE),
    "admin": Guard(frozenset({Role.ADMIN})),
    "superadmin": Guard(frozenset({Role.SUPERADMIN}), admin_passes=False),
    "finance": Guard(frozenset({Role.FINANCE})),
    "sales": Guard(frozenset({Role.SALES, Role.SALES_HEAD})),
    "sales_head": Guard(frozenset({Role.SALES_HEAD})),
    "expert": Guard(frozenset({Role.EXPERT})),
    "student": Guard(frozenset({Role.USER})),
    "hr": Guard(frozenset({Role.EXTERNAL_HR})),
    "community": Guard(frozenset({Role.COMMUNITY_MANAGER, Role.BATCH_LEAD})),
}


def allows(guard_name: str, role: Role) -> bool:
    guard = POLICY[guard_name]
    if role is Role.SUPERADMIN:
        return True
    if role is Role.ADMIN and guard.admin_passes:
        return True
    return role in guard.roles


def roles_passing(guard_name: str) -> frozenset[Role]:
    """Every role that passes ``guard_name`` (used by the route grid)."""
    return frozenset(role for role in Role if allows(guard_name, role))


def platform_allows(platform: Platform, role: Role) -> bool:
    """``mr-hire`` is for recruiters and admins only; the other platforms take everyone."""
    if platform is Platform.MR_HIRE:
        return role in (Role.EXTERNAL_HR, Role.ADMIN, Role.SUPERADMIN)
    return True
