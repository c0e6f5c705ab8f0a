"""``finance.sync_global_payments`` on PostgreSQL: 100,000 payments from the fake Razorpay server
(``tests/razorpay_fake.py``, paged as Razorpay pages: ``count`` = 100 with ``skip``, newest
first) through the real Razorpay adapter into the mirror, against a plain COPY of the same rows.

In one process: a migrated scratch database, the container with the Razorpay adapter reaching
the fake server over ``httpx.ASGITransport`` (so the fake's JSON and the adapter's decoding are
in the figure), then one cron-style run over the seeded window (every payment new), a second
run over the same window (every payment already mirrored: the idempotent re-run), and a COPY of
the same rows (every ``global_payments`` column, no index) into a scratch table. A tenth of the
payments carry a ``tokenPurchaseId`` note, so auto-matching looks purchases up once per page.
The events each page records (``PaymentsCaptured``, ``PaymentRefunded``) are written to the
outbox in the batch's transaction and counted; relaying them, and the invoicing work they start,
is not in the figure (the relay is told to leave them for the sweeper). ``fetch_seconds`` is the
time spent in ``list_payments`` (the fake server and the adapter, in this process): the sync
fetches the next ten pages while a batch is written, so it overlaps the writes and is not to be
subtracted. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import scratch_database  # noqa: E402


async def run(url: str, count: int, folder: Path) -> dict[str, Any]:
    import httpx
    from sqlalchemy import text
    from tests.razorpay_fake import KEY_ID, KEY_SECRET, FakeRazorpay, payment_document

    from mas.adapters.fakes.platform import FakeClock
    from mas.adapters.payments.razorpay import RazorpayGateway
    from mas.bootstrap import build_container
    from mas.core.finance.payments.mirroring import to_write
    from mas.core.finance.payments.sync import SyncWindow
    from mas.modules.tokens.purchases import install
    from mas.settings import load_settings

    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(hours=20)
    fake = FakeRazorpay()
    step = (20 * 3600) / count
    for n in range(count):
        notes = {"tokenPurchaseId": str(uuid.uuid4())} if n % 10 == 0 else None
        fake.add_payment(
            payment_document(
                f"pay_{n:014d}",
                int(start.timestamp() + n * step),
                order_id=f"order_{n:012d}",
                notes=notes,
                refunded=5000 if n % 50 == 0 else 0,
            )
        )
    settings = load_settings(
        environ={},
        overrides={
            "env": "test",
            "jwt_secret": "bench-only-jwt-secret-0123456789abcdef",
            "database_url": url,
            "storage_dir": str(folder / "storage"),
            "log_json": False,
            "log_level": "WARNING",
        },
    )
    c = await build_container(settings, clock=FakeClock(now), inline_tasks=True)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake))
    gateway = RazorpayGateway(
        key_id=KEY_ID, key_secret=KEY_SECRET, base_url="http://razorpay.test", http=http
    )
    install(c, gateway)

    async def outbox_only(event_ids: list[Any], message_ids: list[Any]) -> None:
        """Events stay in the outbox for the relay (in production a NATS publish; here the
        invoicing part's drafting would run inline in this process and be timed too)."""

    c.relay.after_commit = outbox_only
    fetch_s = 0.0
    original = gateway.list_payments

    async def timed(from_ts: int, to_ts: int, skip: int, size: int) -> Any:
        nonlocal fetch_s
        began = time.perf_counter()
        try:
            return await original(from_ts, to_ts, skip, size)
        finally:
            fetch_s += time.perf_counter() - began

    gateway.list_payments = timed  # type: ignore[method-assign]
    try:
        began = time.perf_counter()
        first = await c.finance.payments.sync.run(SyncWindow())
        first_s = time.perf_counter() - began
        first_fetch_s, fetch_s = fetch_s, 0.0
        began = time.perf_counter()
        second = await c.finance.payments.sync.run(SyncWindow())
        second_s = time.perf_counter() - began
        second_fetch_s = fetch_s
        async with c.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM global_payments"))).scalar_one()
            events = (await conn.execute(text("SELECT count(*) FROM outbox_events"))).scalar_one()
        # The same rows, as the mirror writes them, for the COPY.
        payments = [p.view() for p in _documents(fake)]
        writes = [to_write(p, now) for p in payments]
    finally:
        await c.close()
        await http.aclose()
    copy_s = await plain_copy(url, writes)
    return {
        "benchmark": "finance_sync",
        "database": "postgresql",
        "payments": count,
        "pages": first.pages,
        "first_run": {
            "seconds": round(first_s, 3),
            "payments_per_s": round(count / first_s, 1),
            "fetch_seconds": round(first_fetch_s, 3),
            "written": first.mirrored.written,
            "captured": first.mirrored.captured,
            "refunds": first.mirrored.refunds,
        },
        "second_run_same_window": {
            "seconds": round(second_s, 3),
            "payments_per_s": round(count / second_s, 1),
            "fetch_seconds": round(second_fetch_s, 3),
            "written": second.mirrored.written,
        },
        "rows": rows,
        "outbox_events": events,
        "copy_seconds": round(copy_s, 3),
        "copy_rows_per_s": round(count / copy_s, 1),
        "ratio_to_copy": round(first_s / copy_s, 1),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def _documents(fake: Any) -> list[Any]:
    import msgspec

    from mas.adapters.payments.razorpay_wire import RazorpayPayment

    return [msgspec.convert(p, RazorpayPayment) for p in fake.payments.values()]


async def plain_copy(url: str, writes: list[Any]) -> float:
    """Seconds to COPY the rows into a scratch table with global_payments' columns (no index)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(
            "CREATE TABLE copy_scratch (LIKE global_payments INCLUDING DEFAULTS EXCLUDING INDEXES)"
        )
        records = [
            (
                w.id,
                w.razorpay_payment_id,
                w.razorpay_order_id,
                w.razorpay_invoice_id,
                w.amount_paise,
                w.amount_refunded_paise,
                w.currency,
                w.gateway_status.value,
                w.method,
                w.email,
                w.contact,
                w.description,
                json.dumps(w.notes),
                w.fee_paise,
                w.fee_tax_paise,
                w.gateway_created_at,
                w.captured_at,
                json.dumps(w.raw, default=str),
                w.source.value,
                "UNMATCHED",
                None,
                None,
                None,
                None,
                None,
                w.synced_at,
                w.synced_at,
                w.synced_at,
            )
            for w in writes
        ]
        columns = [
            r["attname"]
            for r in await conn.fetch(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'copy_scratch'::regclass "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
            )
        ]
        started = time.perf_counter()
        await conn.copy_records_to_table("copy_scratch", records=records, columns=columns)
        return time.perf_counter() - started
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=100_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mas-finance-sync-"))
    with scratch_database() as url:
        result = asyncio.run(run(url, args.payments, folder))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
