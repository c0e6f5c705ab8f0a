"""The one path every payment takes into the mirror (payments-finance.md §3 GlobalPayment, §6).

The sync job's pages, a webhook, a checkout's verify and the reconcile sweep all end in
``PaymentMirror.mirror``: one set-based upsert per batch on ``razorpay_payment_id`` that changes
a row only when its status moves forward or its refunded amount grows, so two paths racing for
one payment leave one row, a stale page changes nothing, and mirroring the same batch twice is a
no-op. In the same transaction it applies auto-match verdicts (to rows still UNMATCHED) and
records ``PaymentsCaptured`` for the rows that became captured and ``PaymentRefunded`` for each
refund that grew, so the invoicing part hears of each once per change.

Razorpay's payment entity has no capture time: ``captured_at`` is the payment's creation time
(auto-capture follows within seconds), the same on every path, so the GST rate of the capture
day is the same whoever mirrored the payment first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import msgspec

from mas.core.finance.payments import matching
from mas.core.finance.payments.events import MAX_IDS, PaymentRefunded, PaymentsCaptured
from mas.core.finance.payments.mirror import Reconciliation, source_of
from mas.core.finance.payments.ports import (
    MatchDecision,
    MirrorWrite,
    PaymentsUnitOfWork,
    TokenPurchaseLookup,
    Written,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.payments import GatewayPayment, PaymentStatus
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.finance.payments")

MAX_GATEWAY_ID = 64
TAKEN = frozenset({PaymentStatus.CAPTURED, PaymentStatus.REFUNDED})


class MirrorReport(msgspec.Struct, frozen=True, kw_only=True):
    seen: int = 0
    written: int = 0
    """Rows inserted or moved forward (the rest were already as the gateway says)."""
    captured: int = 0
    refunds: int = 0
    matched: int = 0
    oldest: datetime | None = None
    """The earliest gateway creation time in the batch."""

    def plus(self, other: MirrorReport) -> MirrorReport:
        return MirrorReport(
            seen=self.seen + other.seen,
            written=self.written + other.written,
            captured=self.captured + other.captured,
            refunds=self.refunds + other.refunds,
            matched=self.matched + other.matched,
            oldest=min((t for t in (self.oldest, other.oldest) if t is not None), default=None),
        )


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value is not None else None


def to_write(
    payment: GatewayPayment, now: datetime, match: MatchDecision | None = None
) -> MirrorWrite:
    """A gateway payment as the mirror stores it (free text cut to the columns' sizes)."""
    return MirrorWrite(
        id=uuid7(),
        razorpay_payment_id=payment.id,
        razorpay_order_id=_cut(payment.order_id, MAX_GATEWAY_ID),
        razorpay_invoice_id=None,
        amount_paise=max(0, payment.amount_paise),
        amount_refunded_paise=max(0, payment.amount_refunded_paise),
        currency=payment.currency[:3],
        gateway_status=payment.status,
        method=_cut(payment.method, 32),
        email=_cut(payment.email, 254),
        contact=_cut(payment.contact, 32),
        description=_cut(payment.description, 2000),
        notes=dict(payment.notes),
        fee_paise=payment.fee_paise,
        fee_tax_paise=payment.fee_tax_paise,
        gateway_created_at=payment.created_at,
        captured_at=payment.created_at if payment.status in TAKEN else None,
        raw=msgspec.to_builtins(payment),
        source=source_of(payment),
        synced_at=now,
        match=match,
    )


def events_of(uow: PaymentsUnitOfWork, written: Sequence[Written]) -> tuple[int, int]:
    """Record what changed: (payments newly captured, refunds that grew)."""
    captured = [
        w.id for w in written if w.gateway_status in TAKEN and (w.previous_status not in TAKEN)
    ]
    for start in range(0, len(captured), MAX_IDS):
        uow.record(PaymentsCaptured(payment_ids=captured[start : start + MAX_IDS]))
    refunds = 0
    for w in written:
        if w.amount_refunded_paise > w.previous_refunded_paise:
            refunds += 1
            uow.record(
                PaymentRefunded(
                    payment_id=w.id,
                    refunded_paise=w.amount_refunded_paise,
                    previously_refunded_paise=w.previous_refunded_paise,
                )
            )
    return len(captured), refunds


class PaymentMirror:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[PaymentsUnitOfWork],
        clock: Clock,
        purchases: TokenPurchaseLookup,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._purchases = purchases

    async def mirror(self, payments: Sequence[GatewayPayment]) -> MirrorReport:
        """Upsert one batch (a sync's ten pages: ≤ 1000) in one transaction."""
        latest: dict[str, GatewayPayment] = {}
        for payment in payments:
            if not payment.id or len(payment.id) > MAX_GATEWAY_ID:
                log.error("finance.payment_id_refused", extra={"length": len(payment.id)})
                continue
            latest[payment.id] = payment  # a page that repeats an id: its last word
        if not latest:
            return MirrorReport(seen=len(payments))
        wanted = matching.purchase_ids(latest.values())
        found = await self._purchases.facts(wanted) if wanted else []
        purchases = {p.id: p for p in found}
        decisions = {p.id: matching.decide(p, purchases) for p in latest.values()}
        now = self._clock.now()
        writes = [to_write(p, now, decisions[p.id]) for p in latest.values()]
        async with self._uow() as uow:
            written = await uow.global_payments.upsert(writes)
            inserted = {w.razorpay_payment_id for w in written if w.previous_status is None}
            matched = sum(
                1
                for pid in inserted
                if (d := decisions.get(pid)) is not None
                and d.reconciliation_status is Reconciliation.MATCHED
            )
            # Rows that existed take a verdict only while still UNMATCHED.
            later = [d for pid, d in decisions.items() if d is not None and pid not in inserted]
            if later:
                matched += await uow.global_payments.apply_matches(later, now)
            captured, refunds = events_of(uow, written)
            await uow.commit()
        times = [p.created_at for p in latest.values() if p.created_at is not None]
        return MirrorReport(
            seen=len(payments),
            written=len(written),
            captured=captured,
            refunds=refunds,
            matched=matched,
            oldest=min(times, default=None),
        )
