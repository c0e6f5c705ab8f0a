"""What the lead-lifecycle services share: their ports, and the caller's scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mas.core.crm.model import Activity, ActivityType
from mas.core.crm.phones import PhoneNormalizer
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.scope import LeadScope, ScopeKind, scope_for
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import Forbidden, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter


@dataclass
class CrmDeps:
    uow: UnitOfWorkFactory[CrmUnitOfWork]
    clock: Clock
    phones: PhoneNormalizer
    cache: Cache
    limiter: RateLimiter
    jobs: Enqueuer
    zone: str = "Asia/Kolkata"
    ip_pepper: str = ""


async def scope_of(uow: CrmUnitOfWork, caller: Caller) -> LeadScope:
    """The caller's lead scope; a sales head's isolation flag is read from their profile."""
    if caller.role is Role.SALES_HEAD:
        return scope_for(
            caller, isolation_enabled=await uow.leads.isolation_enabled(caller.user_id)
        )
    return scope_for(caller)


def is_admin(caller: Caller) -> bool:
    return caller.role in (Role.ADMIN, Role.SUPERADMIN)


def is_head(caller: Caller) -> bool:
    return caller.role is Role.SALES_HEAD


def lead_not_found(lead_id: uuid.UUID) -> NotFound:
    return NotFound(f"no lead {lead_id}", code="lead_not_found")


def pool_for_new_lead(caller: Caller, requested: uuid.UUID | None) -> uuid.UUID | None:
    """A sales head adds into their own pool; an admin into any pool (or none)."""
    if is_admin(caller):
        return requested
    if requested is not None and requested != caller.user_id:
        raise Forbidden("a sales head adds leads to their own pool only", code="other_pool")
    return caller.user_id


def readable_not_writable(scope: LeadScope) -> bool:
    """A sales head with isolation off reads every pool but writes only their own."""
    return scope.kind is ScopeKind.POOL and scope.read_all_pools


def activity(
    lead_id: uuid.UUID,
    kind: ActivityType,
    summary: str,
    now: datetime,
    actor_id: uuid.UUID | None = None,
    **data: Any,
) -> Activity:
    """A journal line; ``data`` holds plain values only."""
    return Activity(
        id=uuid7(),
        raw_lead_id=lead_id,
        type=kind,
        summary=summary[:500],
        occurred_at=now,
        actor_id=actor_id,
        data=data,
    )
