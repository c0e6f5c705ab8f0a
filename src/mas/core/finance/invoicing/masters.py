"""The GST masters FINANCE keeps (payments-finance.md §3 HsnSacRate, GstStateCode; §5 routes):
rate rows per HSN/SAC code that never overlap in time, and the state-code list.

A rate change never rewrites an issued invoice: drafts pick the new rate up on their next edit
(§8). Every change writes one audit row in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import msgspec

from mas.core.finance.audit.model import AuditAction, AuditEntity, AuditEntry
from mas.core.finance.audit.trail import AuditTrail
from mas.core.finance.invoicing.commands import CloseRate, NewRate, StateCodeEdit
from mas.core.finance.invoicing.desk import refuse_impersonation
from mas.core.finance.invoicing.gst import ALLOWED_RATES_BP
from mas.core.finance.invoicing.model import RateRow, StateCodeRow, overlaps
from mas.core.finance.invoicing.ports import InvoicingUnitOfWork
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, FieldError, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock


class GstMasters:
    def __init__(
        self, uow: Callable[[], InvoicingUnitOfWork], clock: Clock, trail: AuditTrail
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._trail = trail

    async def rates(self, code: str | None = None) -> list[RateRow]:
        async with self._uow() as uow:
            return await uow.gst_masters.rates(code)

    async def add_rate(self, caller: Caller, cmd: NewRate) -> RateRow:
        refuse_impersonation(caller)
        if cmd.gst_rate_bp not in ALLOWED_RATES_BP:
            allowed = ", ".join(str(r) for r in sorted(ALLOWED_RATES_BP))
            raise ValidationFailed(
                f"{cmd.gst_rate_bp} bp is not a GST rate",
                code="rate_not_allowed",
                errors=[FieldError("gst_rate_bp", f"one of {allowed}")],
            )
        if cmd.effective_to is not None and cmd.effective_to < cmd.effective_from:
            raise ValidationFailed(
                "a rate cannot end before it starts",
                code="invalid_period",
                errors=[FieldError("effective_to", "on or after effective_from")],
            )
        row = RateRow(
            id=uuid7(),
            code=cmd.code,
            description=cmd.description,
            gst_rate_bp=cmd.gst_rate_bp,
            effective_from=cmd.effective_from,
            effective_to=cmd.effective_to,
        )
        async with self._uow() as uow:
            await uow.gst_masters.lock_code(cmd.code)
            clash = overlaps(
                await uow.gst_masters.rates(cmd.code), cmd.effective_from, cmd.effective_to
            )
            if clash:
                raise Conflict(
                    f"HSN/SAC {cmd.code} already has a rate from "
                    f"{clash[0].effective_from.isoformat()}: close that row first",
                    code="overlapping_period",
                )
            now = self._clock.now()
            await uow.gst_masters.add_rate(row, caller.user_id, now)
            await self._audit(uow, caller, row.id, AuditAction.CREATED, None, row)
            await uow.commit()
        return row

    async def close_rate(self, caller: Caller, cmd: CloseRate) -> RateRow:
        refuse_impersonation(caller)
        async with self._uow() as uow:
            row = await uow.gst_masters.rate(cmd.id)
            if row is None:
                raise NotFound("no such HSN/SAC rate row", code="rate_not_found")
            await uow.gst_masters.lock_code(row.code)
            if cmd.effective_to < row.effective_from:
                raise ValidationFailed(
                    "a rate cannot end before it starts",
                    code="invalid_period",
                    errors=[FieldError("effective_to", "on or after the row's effective_from")],
                )
            if row.effective_to is not None and cmd.effective_to > row.effective_to:
                # Stretching a closed row could make it overlap its successor.
                others = [r for r in await uow.gst_masters.rates(row.code) if r.id != row.id]
                start = row.effective_to + timedelta(days=1)
                if overlaps(others, start, cmd.effective_to):
                    raise Conflict(
                        f"HSN/SAC {row.code} has another rate in that period",
                        code="overlapping_period",
                    )
            closed = msgspec.structs.replace(row, effective_to=cmd.effective_to)
            await uow.gst_masters.close_rate(row.id, cmd.effective_to, self._clock.now())
            await self._audit(uow, caller, row.id, AuditAction.RATE_CHANGED, row, closed)
            await uow.commit()
        return closed

    async def states(self) -> list[StateCodeRow]:
        async with self._uow() as uow:
            found = await uow.gst_masters.states()
        return sorted(found.values(), key=lambda s: s.code)

    async def edit_state(self, caller: Caller, code: str, cmd: StateCodeEdit) -> StateCodeRow:
        refuse_impersonation(caller)
        async with self._uow() as uow:
            before = (await uow.gst_masters.states()).get(code)
            if before is None:
                raise NotFound(f"no GST state code {code[:8]}", code="state_code_not_found")
            after = msgspec.structs.replace(
                before,
                name=cmd.name if cmd.name is not None else before.name,
                uses_utgst=cmd.uses_utgst if cmd.uses_utgst is not None else before.uses_utgst,
            )
            await uow.gst_masters.save_state(after)
            await self._trail.append(
                uow,
                AuditEntry(
                    entity_type=AuditEntity.STATE_CODE,
                    entity_id=code,
                    action=AuditAction.UPDATED,
                    actor_id=caller.user_id,
                    before=msgspec.to_builtins(before),
                    after=msgspec.to_builtins(after),
                ),
            )
            await uow.commit()
        return after

    async def _audit(
        self,
        uow: InvoicingUnitOfWork,
        caller: Caller,
        rate_id: uuid.UUID,
        action: AuditAction,
        before: RateRow | None,
        after: RateRow,
    ) -> None:
        await self._trail.append(
            uow,
            AuditEntry(
                entity_type=AuditEntity.HSN_SAC,
                entity_id=str(rate_id),
                action=action,
                actor_id=caller.user_id,
                before=msgspec.to_builtins(before) if before is not None else None,
                after=msgspec.to_builtins(after),
            ),
        )
