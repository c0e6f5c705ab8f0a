"""GST invoices: PDF rendering per process, and issuing under concurrency on PostgreSQL.

1. Renders one invoice PDF with fpdf2 (``mas.adapters.pdf.invoice_pdf.render_pdf``) --pdfs
   times in this process, on one core: PDFs per second and the bytes of one invoice.
2. On a scratch database (created and dropped; admin URL from ``MAS_TEST_PG_URL``): mirrors
   --invoices captured payments, drafts their tax invoices set-based (``drafting.captured``,
   the ``PaymentsCaptured`` path), then --clients concurrent clients issue them all, each issue
   its own unit of work (the invoice row lock, the (year, kind) counter's row lock, the CAS on
   status, one audit row, the ``InvoicesIssued`` event and its render job). The render jobs
   run in this process on the in-memory broker (the embedded default), so the issue rate is
   measured with rendering and mailing competing for the same core; the time until every
   PDF is stored and mailed is reported too. Afterwards the numbers are checked: 1..N of the
   year, no gap, no duplicate, every invoice rendered, and the audit chain intact.

Prints one JSON object; exits 1 if the numbers are not gapless.

    .venv/bin/python benchmarks/finance_invoices.py [--pdfs 500] [--invoices 1000] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import scratch_database  # noqa: E402

SUPPLIER = "29AAGCB7383J1Z4"
CAPTURED_AT = datetime(2025, 10, 1, 6, 30, tzinfo=UTC)


def sample_invoice() -> Any:
    from mas.core.finance.invoicing import invoice as records
    from mas.core.finance.invoicing.model import (
        Customer,
        InvoiceStatus,
        RateRow,
        Supplier,
    )
    from mas.core.finance.invoicing.states import SEED
    from mas.core.platform.ids import uuid7

    states = {s.code: s for s in SEED}
    rate = RateRow(
        id=uuid7(),
        code="999293",
        description="Commercial training and coaching",
        gst_rate_bp=1800,
        effective_from=datetime(2017, 7, 1).date(),
        effective_to=None,
    )
    draft = records.with_customer(
        records.draft_for_payment(
            uuid7(),
            _payment(uuid7()),
            Supplier(gstin=SUPPLIER, state_code="29"),
            rate,
            states,
            CAPTURED_AT,
        ),
        Customer(
            customer_name="Asha Rao",
            customer_email="asha@example.com",
            billing_address="12 MG Road, Koramangala, Bengaluru 560034",
            customer_gstin=None,
            customer_state_code="27",
        ),
        rate,
        states,
        CAPTURED_AT,
    )
    import msgspec

    return msgspec.structs.replace(
        draft,
        status=InvoiceStatus.ISSUED,
        invoice_number="MAS/25-26/000123",
        issued_at=CAPTURED_AT,
    )


def pdf_rate(count: int) -> dict[str, Any]:
    from mas.adapters.pdf.invoice_pdf import render_pdf

    invoice = sample_invoice()
    one = render_pdf(invoice, "My Analytics School")
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        render_pdf(invoice, "My Analytics School")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "pdfs": count,
        "pdf_seconds": round(seconds, 3),
        "pdfs_per_s_per_process": round(count / seconds, 1),
        "pdf_cpu_ms_each": round(cpu / count * 1000, 3),
        "pdf_bytes": len(one),
    }


def _payment(payment_id: Any) -> Any:
    from mas.core.finance.payments.mirror import PaymentSource, Reconciliation
    from mas.core.finance.payments.model import MirroredPayment
    from mas.core.platform.ports.payments import PaymentStatus

    return MirroredPayment(
        id=payment_id,
        razorpay_payment_id=f"pay_{payment_id.hex[-14:]}",
        razorpay_order_id=None,
        amount_paise=35000,
        amount_refunded_paise=0,
        currency="INR",
        gateway_status=PaymentStatus.CAPTURED,
        method="upi",
        email="payer@example.com",
        contact=None,
        description=None,
        notes={},
        fee_paise=None,
        fee_tax_paise=None,
        gateway_created_at=CAPTURED_AT,
        captured_at=CAPTURED_AT,
        source=PaymentSource.UNKNOWN,
        reconciliation_status=Reconciliation.UNMATCHED,
        matched_entity_type=None,
        matched_entity_id=None,
        user_id=None,
        ignore_reason=None,
        synced_at=CAPTURED_AT,
        created_at=CAPTURED_AT,
        updated_at=CAPTURED_AT,
    )


async def mirror_payments(c: Any, count: int) -> list[Any]:
    """Captured payments written straight into the mirror (what a sync leaves), in batches."""
    from sqlalchemy import insert

    from mas.adapters.db.finance.payments_tables import global_payments
    from mas.core.platform.ids import uuid7

    ids = [uuid7() for _ in range(count)]
    rows = []
    for payment_id in ids:
        p = _payment(payment_id)
        rows.append(
            {
                "id": p.id,
                "razorpay_payment_id": p.razorpay_payment_id,
                "amount_paise": p.amount_paise,
                "amount_refunded_paise": 0,
                "currency": "INR",
                "gateway_status": "captured",
                "method": "upi",
                "email": p.email,
                "notes": {},
                "gateway_created_at": CAPTURED_AT,
                "captured_at": CAPTURED_AT,
                "raw": {},
                "source": "UNKNOWN",
                "reconciliation_status": "UNMATCHED",
                "synced_at": CAPTURED_AT,
                "created_at": CAPTURED_AT,
                "updated_at": CAPTURED_AT,
            }
        )
    async with c.uow() as uow:
        for start in range(0, count, 500):
            await uow.session.execute(insert(global_payments).values(rows[start : start + 500]))
        await uow.gst_masters.rates()  # the scratch database keeps the migration's seed
        await uow.commit()
    return ids


async def issue_all(c: Any, invoice_ids: list[Any], clients: int) -> tuple[float, float]:
    from mas.core.identity.policy import Caller, Platform, Role
    from mas.core.platform.ids import uuid7

    queue: asyncio.Queue[Any] = asyncio.Queue()
    for invoice_id in invoice_ids:
        queue.put_nowait(invoice_id)
    clerk = Caller(user_id=uuid7(), role=Role.FINANCE, platform=Platform.MY_ANALYTICS_SCHOOL)

    async def client() -> None:
        while not queue.empty():
            await c.finance.invoicing.desk.issue(clerk, queue.get_nowait())

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, time.process_time() - cpu


async def wait_rendered(c: Any, count: int, timeout_s: float = 300.0) -> int:
    """How many issued invoices have their PDF stored and mail queued (waits for all)."""
    from sqlalchemy import func, select

    from mas.adapters.db.finance.invoicing_tables import gst_invoices

    deadline = time.perf_counter() + timeout_s
    while True:
        async with c.sessions() as session:
            done = int(
                await session.scalar(
                    select(func.count())
                    .select_from(gst_invoices)
                    .where(gst_invoices.c.emailed_at.is_not(None))
                )
                or 0
            )
        if done >= count or time.perf_counter() > deadline:
            return done
        await asyncio.sleep(0.05)


async def issuing(url: str, invoices: int, clients: int) -> dict[str, Any]:
    from sqlalchemy import select

    from mas.adapters.db.finance.invoicing_tables import gst_invoices
    from mas.adapters.fakes.platform import FakeClock
    from mas.bootstrap import build_container
    from mas.jobs.runner import register_all
    from mas.settings import load_settings

    folder = Path(tempfile.mkdtemp(prefix="mas-bench-"))
    settings = load_settings(
        environ={},
        overrides={
            "env": "test",
            "database_url": url,
            "storage_dir": str(folder / "storage"),
            "log_level": "WARNING",
            "jwt_secret": "bench-only-jwt-secret-0123456789abcdef",
            "db_pool_min": clients,
            "db_pool_max": clients + 4,
            "supplier_gstin": SUPPLIER,
        },
    )
    # The embedded default: the in-memory broker runs each render job in this process, next
    # to the issuers (a worker process would take them in production). The clock stands in
    # FY 25-26.
    c = await build_container(
        settings, inline_tasks=False, clock=FakeClock(datetime(2025, 10, 2, tzinfo=UTC))
    )
    register_all(c.broker, c)
    await c.start_broker()
    try:
        payment_ids = await mirror_payments(c, invoices)
        started = time.perf_counter()
        drafted = await c.finance.invoicing.drafting.captured(payment_ids)
        draft_seconds = time.perf_counter() - started
        started = time.perf_counter()
        seconds, cpu = await issue_all(c, [d.id for d in drafted], clients)
        rendered = await wait_rendered(c, invoices)
        pipeline_seconds = time.perf_counter() - started
        async with c.sessions() as session:
            numbers = (
                await session.scalars(
                    select(gst_invoices.c.invoice_number).where(gst_invoices.c.status == "ISSUED")
                )
            ).all()
        chain = await c.finance.audit.log.check()
    finally:
        await c.close()
    expected = [f"MAS/25-26/{n:06d}" for n in range(1, invoices + 1)]
    return {
        "invoices": invoices,
        "clients": clients,
        "draft_seconds": round(draft_seconds, 3),
        "drafts_per_s": round(len(drafted) / draft_seconds, 1),
        "issue_seconds": round(seconds, 3),
        "issues_per_s": round(invoices / seconds, 1),
        "client_cpu_ms_per_issue": round(cpu / invoices * 1000, 3),
        "issued_rendered_and_mailed_seconds": round(pipeline_seconds, 3),
        "pdfs_rendered": rendered,
        "issued": len(numbers),
        "duplicates": len(numbers) - len(set(numbers)),
        "gapless": sorted(numbers) == expected,
        "audit_chain_intact": chain.intact,
        "audit_rows": chain.rows_checked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdfs", type=int, default=500)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    result = pdf_rate(args.pdfs)
    with scratch_database() as url:
        result |= asyncio.run(issuing(url, args.invoices, args.clients))
    print(json.dumps(result, indent=2))
    if not (
        result["gapless"]
        and result["audit_chain_intact"]
        and result["pdfs_rendered"] == result["invoices"]
    ):
        sys.exit(1)


if __name__ == "__main__":
    main()
