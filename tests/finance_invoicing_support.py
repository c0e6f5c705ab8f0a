"""Helpers of the invoicing tests: mirrored payments written straight into ``global_payments``
(the payments part's table), as the sync or the webhook would leave them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update

from mas.adapters.db.finance.payments_tables import global_payments
from mas.core.finance.payments.mirror import PaymentSource, Reconciliation
from mas.core.finance.payments.model import MirroredPayment
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.payments import PaymentStatus

CAPTURED_AT = datetime(2025, 10, 1, 6, 30, tzinfo=UTC)


def payment(**over: Any) -> MirroredPayment:
    payment_id = over.pop("id", None) or uuid7()
    values: dict[str, Any] = {
        "id": payment_id,
        "razorpay_payment_id": f"pay_{payment_id.hex[-14:]}",
        "razorpay_order_id": None,
        "amount_paise": 35000,
        "amount_refunded_paise": 0,
        "currency": "INR",
        "gateway_status": PaymentStatus.CAPTURED,
        "method": "upi",
        "email": "payer@example.com",
        "contact": None,
        "description": None,
        "notes": {},
        "fee_paise": None,
        "fee_tax_paise": None,
        "gateway_created_at": CAPTURED_AT,
        "captured_at": CAPTURED_AT,
        "source": PaymentSource.UNKNOWN,
        "reconciliation_status": Reconciliation.UNMATCHED,
        "matched_entity_type": None,
        "matched_entity_id": None,
        "user_id": None,
        "ignore_reason": None,
        "synced_at": CAPTURED_AT,
        "created_at": CAPTURED_AT,
        "updated_at": CAPTURED_AT,
    }
    values.update(over)
    return MirroredPayment(**values)


def _row(p: MirroredPayment) -> dict[str, Any]:
    return {
        "id": p.id,
        "razorpay_payment_id": p.razorpay_payment_id,
        "razorpay_order_id": p.razorpay_order_id,
        "razorpay_invoice_id": None,
        "amount_paise": p.amount_paise,
        "amount_refunded_paise": p.amount_refunded_paise,
        "currency": p.currency,
        "gateway_status": p.gateway_status.value,
        "method": p.method,
        "email": p.email,
        "contact": p.contact,
        "description": p.description,
        "notes": p.notes,
        "fee_paise": p.fee_paise,
        "fee_tax_paise": p.fee_tax_paise,
        "gateway_created_at": p.gateway_created_at,
        "captured_at": p.captured_at,
        "raw": {},
        "source": p.source.value,
        "reconciliation_status": p.reconciliation_status.value,
        "matched_entity_type": p.matched_entity_type,
        "matched_entity_id": p.matched_entity_id,
        "user_id": p.user_id,
        "ignore_reason": p.ignore_reason,
        "match_flag": None,
        "synced_at": p.synced_at,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


async def mirror(c: Any, *rows: MirroredPayment) -> list[MirroredPayment]:
    """Write ``rows`` into the mirror in one transaction."""
    async with c.uow() as uow:
        await uow.session.execute(insert(global_payments).values([_row(r) for r in rows]))
        await uow.commit()
    return list(rows)


async def add_payment(c: Any, **over: Any) -> MirroredPayment:
    [row] = await mirror(c, payment(**over))
    return row


async def refund(c: Any, payment_id: uuid.UUID, refunded_paise: int, *, full: bool) -> None:
    async with c.uow() as uow:
        await uow.session.execute(
            update(global_payments)
            .where(global_payments.c.id == payment_id)
            .values(
                amount_refunded_paise=refunded_paise,
                gateway_status="refunded" if full else "captured",
            )
        )
        await uow.commit()
