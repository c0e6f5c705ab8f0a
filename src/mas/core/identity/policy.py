"""Who may pass which guard: the one policy table of mas.

Every HTTP route names a guard of the ``PolicyTable`` (identity's role guards in ``POLICY`` plus
those the domains declare); the route-grid tests are generated from it.
``ADMIN`` passes every role guard except the SUPERADMIN-only ones; ``SUPERADMIN`` passes all.
"""

from __future__ import annotations

import enum
import uuid

import msgspec

from mas.core.platform.errors import Forbidden


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


ADMIN_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.SUPERADMIN})
"""The administrators: they pass every role guard but the SUPERADMIN-only ones."""


def is_admin(role: Role) -> bool:
    return role in ADMIN_ROLES


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

    @property
    def is_admin(self) -> bool:
        return is_admin(self.role)

    def has_page(self, key: str) -> bool:
        """SALES_HEAD page permission; ADMIN and SUPERADMIN have every page."""
        if self.is_admin:
            return True
        return self.role is Role.SALES_HEAD and key in self.page_permissions

    def passes_page(self, key: str) -> bool:
        """A route's page gates SALES_HEAD callers only: ADMIN and SUPERADMIN pass, and so does
        any other role the route's policy admits (a SALES user on ``/api/sales/crm``)."""
        return self.role is not Role.SALES_HEAD or key in self.page_permissions


class Guard(msgspec.Struct, frozen=True):
    """``roles`` pass; ``admin_passes`` lets ADMIN through as well (SUPERADMIN always passes)."""

    roles: frozenset[Role]
    admin_passes: bool = True

    def admits(self, role: Role) -> bool:
        if role is Role.SUPERADMIN:
            return True
        if role is Role.ADMIN and self.admin_passes:
            return True
        return role in self.roles


ANY_ROLE = frozenset(Role)

# The role guards identity owns; a domain declares its own (the CRM's ``sales``) in its module,
# and ``PolicyTable`` holds them all.
POLICY: dict[str, Guard] = {
    "authenticated": Guard(ANY_ROLE),
    "admin": Guard(frozenset({Role.ADMIN})),
    "superadmin": Guard(frozenset({Role.SUPERADMIN}), admin_passes=False),
    "finance": Guard(frozenset({Role.FINANCE})),
    "expert": Guard(frozenset({Role.EXPERT})),
    "student": Guard(frozenset({Role.USER})),
    "hr": Guard(frozenset({Role.EXTERNAL_HR})),
    "community": Guard(frozenset({Role.COMMUNITY_MANAGER, Role.BATCH_LEAD})),
}


class PolicyTable:
    """Every route policy of every domain: the one table the HTTP guard and the route grid
    read. A name declared twice is refused."""

    def __init__(self, *declared: dict[str, Guard]) -> None:
        self.guards: dict[str, Guard] = {}
        for policies in declared:
            for name, guard in policies.items():
                if name in self.guards:
                    raise ValueError(f"route policy {name!r} is declared twice")
                self.guards[name] = guard

    def allows(self, guard_name: str, role: Role) -> bool:
        """Whether ``role`` passes; an unknown name is a programming error (``KeyError``)."""
        return self.guards[guard_name].admits(role)

    def roles_passing(self, guard_name: str) -> frozenset[Role]:
        """Every role that passes ``guard_name`` (used by the route grid)."""
        return frozenset(role for role in Role if self.allows(guard_name, role))


def platform_allows(platform: Platform, role: Role) -> bool:
    """``mr-hire`` is for recruiters and admins only; the other platforms take everyone."""
    if platform is Platform.MR_HIRE:
        return role is Role.EXTERNAL_HR or is_admin(role)
    return True


def check_platform(request_platform: Platform, caller: Caller) -> None:
    """The ``mr-hire`` rule for a request: its token must have been issued for ``mr-hire`` and
    its role must be one ``mr-hire`` takes. Raises ``Forbidden`` (``platform_forbidden``)."""
    if request_platform is Platform.MR_HIRE and caller.platform is not Platform.MR_HIRE:
        raise Forbidden("this token was not issued for mr-hire", code="platform_forbidden")
    if not platform_allows(request_platform, caller.role):
        raise Forbidden(
            f"{caller.role.value} may not use {request_platform.value}",
            code="platform_forbidden",
        )
