"""What the payments part needs from storage, and what it offers the other finance parts."""

from __future__ import annotations

import uuid
from typing import Protocol

from mas.core.finance.audit.ports import AuditUnitOfWork
from mas.core.finance.payments.model import MirroredPayment


class PaymentMirrorReader(Protocol):
    """The part of ``global_payments`` the invoicing and reports parts read."""

    async def get(self, payment_id: uuid.UUID) -> MirroredPayment | None: ...

    async def many(self, payment_ids: list[uuid.UUID]) -> list[MirroredPayment]: ...


class InvoiceState(Protocol):
    """Implemented by the invoicing part: whether a payment has an ISSUED tax invoice (a
    match may not be undone then)."""

    async def has_issued(self, uow: AuditUnitOfWork, payment_id: uuid.UUID) -> bool: ...
