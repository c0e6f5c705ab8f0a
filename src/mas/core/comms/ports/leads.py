"""What communications needs from the CRM to reach a lead: the CRM's lead scope and journal.

The module wires it to the CRM's public interface (``CrmServices.contacts``); a lead outside
the caller's scope is the CRM's 404, so no channel reveals a lead the caller cannot see.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol

import msgspec

from mas.core.identity.policy import Caller
from mas.core.platform.ports.uow import UnitOfWork


class LeadReach(msgspec.Struct, frozen=True, kw_only=True):
    lead_id: uuid.UUID
    name: str | None
    email: str | None
    phone_e164: str | None
    owning_sales_head_id: uuid.UUID | None
    assigned_to: uuid.UUID | None


class LeadDirectory(Protocol):
    async def reachable(self, caller: Caller, lead_id: uuid.UUID) -> LeadReach:
        """The lead if ``caller`` may see it; ``NotFound`` (404 ``lead_not_found``) otherwise."""
        ...

    async def visible(self, caller: Caller, lead_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``lead_ids`` the caller may see."""
        ...

    async def record_contact(
        self,
        uow: UnitOfWork,
        lead_id: uuid.UUID,
        kind: str,
        summary: str,
        actor_id: uuid.UUID | None,
        **data: Any,
    ) -> None:
        """One CALL / SMS / WHATSAPP / EMAIL line on the lead's journal, in ``uow``'s
        transaction (so the channel's row and the journal line commit together)."""
        ...
