"""The CRM's public interface for the channels that reach a lead (email, WhatsApp, calls, SMS).

Communications owns the channels; the CRM decides who may reach which lead (its lead scope:
SALES their own leads, a SALES_HEAD the pool, ADMIN all) and keeps the lead's journal. A lead
outside the caller's scope is a 404, exactly as on the lead routes, so no channel reveals a lead
the caller cannot see.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import msgspec

from mas.core.crm.lead_access import lead_not_found, scope_of
from mas.core.crm.model import ActivityType, activity
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.identity.policy import Caller
from mas.core.platform.errors import ValidationFailed
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWork, UnitOfWorkFactory

CONTACT_KINDS = frozenset(
    {ActivityType.CALL, ActivityType.SMS, ActivityType.WHATSAPP, ActivityType.EMAIL}
)


class LeadReach(msgspec.Struct, frozen=True, kw_only=True):
    """What a channel needs to reach a lead."""

    lead_id: uuid.UUID
    name: str | None
    email: str | None
    phone_e164: str | None
    owning_sales_head_id: uuid.UUID | None
    assigned_to: uuid.UUID | None


class LeadContacts:
    def __init__(self, uow: UnitOfWorkFactory[CrmUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def reachable(self, caller: Caller, lead_id: uuid.UUID) -> LeadReach:
        """The lead if ``caller`` may see it; 404 ``lead_not_found`` otherwise."""
        async with self._uow() as uow:
            lead = await uow.leads.get(lead_id, await scope_of(uow, caller))
        if lead is None:
            raise lead_not_found(lead_id)
        return LeadReach(
            lead_id=lead.id,
            name=lead.name,
            email=lead.email,
            phone_e164=lead.phone_e164,
            owning_sales_head_id=lead.owning_sales_head_id,
            assigned_to=lead.assigned_to,
        )

    async def visible(self, caller: Caller, lead_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``lead_ids`` the caller may see."""
        async with self._uow() as uow:
            scope = await scope_of(uow, caller)
            return {lid for lid in lead_ids if await uow.leads.get(lid, scope) is not None}

    async def record_contact(
        self,
        uow: UnitOfWork,
        lead_id: uuid.UUID,
        kind: str,
        summary: str,
        actor_id: uuid.UUID | None,
        **data: Any,
    ) -> None:
        """One journal line (CALL, SMS, WHATSAPP or EMAIL) in the *caller's* transaction, so
        the channel's own row and the lead's journal commit together."""
        try:
            activity_type = ActivityType(kind)
        except ValueError:
            activity_type = None
        if activity_type not in CONTACT_KINDS:
            raise ValidationFailed(f"'{kind}' is not a contact kind", code="invalid_contact_kind")
        # Every unit of work has every domain's repositories (the adapter builds them by name).
        crm_uow = cast(CrmUnitOfWork, uow)
        await crm_uow.leads.append(
            activity(lead_id, activity_type, summary, self._clock.now(), actor_id, **data)
        )
