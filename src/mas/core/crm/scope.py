"""Who sees which leads: one rule, applied by the lead repository to every query.

Out-of-scope single leads answer 404 (their existence is not revealed); a filter can narrow a
scope but never widen it.
"""

from __future__ import annotations

import enum
import uuid

import msgspec

from mas.core.identity.policy import Caller, Role


class ScopeKind(enum.StrEnum):
    ALL = "ALL"  # ADMIN, SUPERADMIN
    POOL = "POOL"  # a SALES_HEAD: leads owned by their pool
    ASSIGNED = "ASSIGNED"  # a SALES: leads assigned to them (first or second line)
    NONE = "NONE"


class LeadScope(msgspec.Struct, frozen=True):
    kind: ScopeKind
    user_id: uuid.UUID | None = None
    # A SALES_HEAD with isolation off reads every pool but still writes only their own.
    read_all_pools: bool = False


def scope_for(caller: Caller, *, isolation_enabled: bool = True) -> LeadScope:
    if caller.is_admin:
        return LeadScope(ScopeKind.ALL)
    if caller.role is Role.SALES_HEAD:
        return LeadScope(ScopeKind.POOL, caller.user_id, read_all_pools=not isolation_enabled)
    if caller.role is Role.SALES:
        return LeadScope(ScopeKind.ASSIGNED, caller.user_id)
    return LeadScope(ScopeKind.NONE)


SYSTEM_SCOPE = LeadScope(ScopeKind.ALL)
