"""Moving leads between pools (ADMIN only): one transaction, one OWNERSHIP_TRANSFERRED activity
per lead. Cleared assignees get a TRANSFER history row and a ``lead.assigned`` event each, but
no separate UNASSIGNED activity: the transfer activity names them."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from mas.core.crm import notices
from mas.core.crm.assignment_access import record_changes, sales_head
from mas.core.crm.assignment_model import (
    MAX_BULK_LEADS,
    AssignMethod,
    OwnershipTransfer,
    Slot,
    SlotChange,
    offending_ids,
)
from mas.core.crm.model import Activity, ActivityType
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.identity.policy import Caller
from mas.core.platform.errors import FieldError, Forbidden, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory


class TransferCommand(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    to_head_id: uuid.UUID
    lead_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_BULK_LEADS)]
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500)]
    from_head_id: uuid.UUID | None = None  # when given, every lead must be in this pool
    clear_assignees: bool = True


class OwnershipTransfers:
    def __init__(
        self, *, uow: UnitOfWorkFactory[CrmUnitOfWork], clock: Clock, messenger: Messenger
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._messenger = messenger

    async def transfer(self, actor: Caller, cmd: TransferCommand) -> OwnershipTransfer:
        if not actor.is_admin:
            raise Forbidden("only an ADMIN moves leads between pools", code="role_forbidden")
        if cmd.from_head_id == cmd.to_head_id:
            raise ValidationFailed(
                "the leads are already in that pool",
                code="same_head",
                errors=[FieldError("to_head_id", "must differ from from_head_id")],
            )
        lead_ids = list(dict.fromkeys(cmd.lead_ids))
        now = self._clock.now()
        transfer = OwnershipTransfer(
            id=uuid7(),
            from_head_id=cmd.from_head_id,
            to_head_id=cmd.to_head_id,
            lead_ids=lead_ids,
            lead_count=len(lead_ids),
            clear_assignees=cmd.clear_assignees,
            reason=cmd.reason.strip(),
            performed_by=actor.user_id,
            created_at=now,
        )
        async with self._uow() as uow:
            target = await sales_head(uow, cmd.to_head_id, "to_head_id")
            if cmd.from_head_id is not None:
                await sales_head(uow, cmd.from_head_id, "from_head_id")
            leads = await uow.assignments.lead_slots(lead_ids, lock=True)
            bad = [
                i
                for i in lead_ids
                if (lead := leads.get(i)) is None
                or lead.deleted
                or lead.owning_sales_head_id == cmd.to_head_id
                or (cmd.from_head_id is not None and lead.owning_sales_head_id != cmd.from_head_id)
            ]
            if bad:
                raise ValidationFailed(
                    f"{len(bad)} of these leads are unknown, deleted, already in the target pool "
                    "or not in from_head_id's pool",
                    code="leads_not_movable",
                    errors=[FieldError("lead_ids", offending_ids(bad))],
                )
            why = f"ownership transfer {transfer.id} to {target.label}: {transfer.reason}"[:500]
            cleared = [
                SlotChange(
                    lead_id=lead.id,
                    slot=slot,
                    assignee_id=None,
                    previous_assignee_id=holder,
                    method=AssignMethod.TRANSFER,
                    reason=why,
                    assigned_by=actor.user_id,
                )
                for lead in leads.values()
                for slot in Slot
                if cmd.clear_assignees and (holder := lead.holder(slot)) is not None
            ]
            was: dict[uuid.UUID, dict[str, str]] = {}
            for c in cleared:
                was.setdefault(c.lead_id, {})[c.slot.value] = str(c.previous_assignee_id)
            await uow.assignments.move_to_pool(lead_ids, cmd.to_head_id, cmd.clear_assignees, now)
            await record_changes(uow, cleared, {}, now, write_leads=False, activities=False)
            await uow.assignments.add_activities(
                [
                    Activity(
                        id=uuid7(),
                        raw_lead_id=lead_id,
                        type=ActivityType.OWNERSHIP_TRANSFERRED,
                        summary=f"Moved to the pool of {target.label}"[:500],
                        occurred_at=now,
                        actor_id=actor.user_id,
                        data=_data(
                            transfer, leads[lead_id].owning_sales_head_id, was.get(lead_id, {})
                        ),
                    )
                    for lead_id in lead_ids
                ]
            )
            await uow.assignments.add_transfer(transfer)
            await notices.pool_received(
                self._messenger,
                uow,
                f"crm.transfer:{transfer.id}",
                target,
                len(lead_ids),
                transfer.reason,
            )
            await uow.commit()
        return transfer


def _data(
    transfer: OwnershipTransfer, from_head: uuid.UUID | None, cleared: dict[str, str]
) -> dict[str, object]:
    return {
        "transfer_id": str(transfer.id),
        "from_head_id": str(from_head) if from_head else None,
        "to_head_id": str(transfer.to_head_id),
        "reason": transfer.reason,
        "cleared": cleared,
    }
