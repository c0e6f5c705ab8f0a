"""Who reaches which lead: the caller's scope, and the checks the lead services share."""

from __future__ import annotations

import uuid

from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.scope import LeadScope, ScopeKind, scope_for
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import Forbidden, NotFound


async def scope_of(uow: CrmUnitOfWork, caller: Caller) -> LeadScope:
    """The caller's lead scope; a sales head's isolation flag is read from their profile."""
    if caller.role is Role.SALES_HEAD:
        return scope_for(
            caller, isolation_enabled=await uow.leads.isolation_enabled(caller.user_id)
        )
    return scope_for(caller)


def is_head(caller: Caller) -> bool:
    return caller.role is Role.SALES_HEAD


def lead_not_found(lead_id: uuid.UUID) -> NotFound:
    return NotFound(f"no lead {lead_id}", code="lead_not_found")


def pool_for_new_lead(caller: Caller, requested: uuid.UUID | None) -> uuid.UUID | None:
    """A sales head adds into their own pool; an admin into any pool (or none)."""
    if caller.is_admin:
        return requested
    if requested is not None and requested != caller.user_id:
        raise Forbidden("a sales head adds leads to their own pool only", code="other_pool")
    return caller.user_id


def readable_not_writable(scope: LeadScope) -> bool:
    """A sales head with isolation off reads every pool but writes only their own."""
    return scope.kind is ScopeKind.POOL and scope.read_all_pools
