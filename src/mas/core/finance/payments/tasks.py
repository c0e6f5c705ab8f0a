"""The payments part's tasks: the sync (cron every 30 minutes, and on demand) and mirroring one
payment a checkout's verify saw by id only (fetched from the gateway first)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import msgspec

from mas.core.finance.payments.sync import SyncWindow
from mas.core.platform.ports.payments import GatewayPaymentSeen
from mas.core.platform.tasking import Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.finance.payments import PaymentServices

log = logging.getLogger("mas.finance.payments")

SYNC = Task(
    "finance.sync_global_payments",
    SyncWindow,
    TaskPolicy(attempts=3, backoff_s=60.0, max_backoff_s=900.0, timeout_s=1800.0),
)


class PaymentRef(msgspec.Struct, frozen=True, kw_only=True):
    payment_id: str


MIRROR_PAYMENT = Task(
    "finance.mirror_payment",
    PaymentRef,
    TaskPolicy(attempts=3, backoff_s=60.0, max_backoff_s=900.0, timeout_s=60.0),
    key=lambda ref: ref.payment_id,
)


async def sync_global_payments(payments: PaymentServices, window: SyncWindow) -> None:
    """Page the gateway's payments into the mirror (idempotent: an upsert per page)."""
    report = await payments.sync.run(window)
    log.info("finance.sync_report", extra={"status": report.status, "pages": report.pages})


async def mirror_payment(payments: PaymentServices, ref: PaymentRef) -> None:
    """Fetch one payment from the gateway and mirror it (idempotent: the upsert)."""
    gateway = payments.gateway()
    if gateway is None:
        log.warning("finance.mirror_pending_config", extra={"payment_id": ref.payment_id})
        return
    await payments.mirror.mirror([await gateway.fetch_payment(ref.payment_id)])


async def on_payment_seen(payments: PaymentServices, event: GatewayPaymentSeen) -> None:
    """Mirror what another domain saw; a bare id is fetched by ``finance.mirror_payment``."""
    if event.payment is not None:
        await payments.mirror.mirror([event.payment])
        return
    await payments.jobs.submit(MIRROR_PAYMENT, PaymentRef(payment_id=event.payment_id))
