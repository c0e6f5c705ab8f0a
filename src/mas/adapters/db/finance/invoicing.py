"""The invoicing part's repositories (SQLAlchemy Core over ``invoicing_tables``).

* Drafts are inserted in one multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING id``: a
  payment that already has a tax invoice, or a refund already credited, is skipped by the
  unique indexes themselves, whatever another transaction committed meanwhile.
* The sequence step is ``INSERT … ON CONFLICT (year, kind) DO UPDATE SET last_number =
  last_number + n RETURNING last_number``: one statement that creates the year's counter or
  takes its row lock (PostgreSQL) / the write lock (SQLite) until commit.
* Every status change is a compare-and-set on (status, version).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import and_, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.finance.invoicing_tables import gst_invoices as INVOICES
from mas.adapters.db.finance.invoicing_tables import gst_state_codes as STATES
from mas.adapters.db.finance.invoicing_tables import hsn_sac_rates as RATES
from mas.adapters.db.finance.invoicing_tables import invoice_sequences as SEQUENCES
from mas.core.finance.invoicing.invoice import GstInvoice
from mas.core.finance.invoicing.model import InvoiceKind, InvoiceStatus, RateRow, StateCodeRow
from mas.core.finance.invoicing.ports import InvoiceFilter
from mas.core.finance.invoicing.states import DEFAULT_SAC, SEED
from mas.core.finance.payments.model import MirroredPayment
from mas.core.platform.paging import Page, PageRequest

SEED_RATE: dict[str, Any] = {
    "id": uuid.UUID("0190a000-0000-7000-8000-000000999293"),
    "code": DEFAULT_SAC,
    "description": "Commercial training and coaching services",
    "gst_rate_bp": 1800,
    "effective_from": date(2017, 7, 1),
    "effective_to": None,
    "created_by": None,
    "created_at": datetime(2026, 12, 5, tzinfo=UTC),
    "updated_at": datetime(2026, 12, 5, tzinfo=UTC),
}
"""The rate master's seed (migration 0023): SAC 999293 at 18 % since GST began."""

_FIXED = ("id", "kind", "global_payment_id", "original_invoice_id", "refund_key", "created_at")


_SAVE = (
    update(INVOICES)
    .where(
        INVOICES.c.id == bindparam("where_id"),
        INVOICES.c.status == bindparam("where_status"),
        INVOICES.c.version == bindparam("where_version"),
    )
    .values({c.name: bindparam(c.name) for c in INVOICES.c if c.name not in _FIXED})
)
"""The compare-and-set of every change: one statement built once (its cache key is not
recomputed from forty literal values on every save)."""


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _invoice(row: Any) -> GstInvoice:
    return msgspec.convert({str(k): v for k, v in row._mapping.items()}, GstInvoice, strict=False)


def _values(invoice: GstInvoice) -> dict[str, Any]:
    values = msgspec.structs.asdict(invoice)
    for name in ("kind", "status", "tax_regime"):
        values[name] = values[name].value
    return values


class SqlInvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, invoice_id: uuid.UUID, *, lock: bool = False) -> GstInvoice | None:
        query = select(INVOICES).where(INVOICES.c.id == invoice_id)
        if lock and _is_postgres(self._s):
            query = query.with_for_update()
        row = (await self._s.execute(query)).first()
        return _invoice(row) if row is not None else None

    async def add_drafts(self, drafts: list[GstInvoice]) -> list[GstInvoice]:
        if not drafts:
            return []
        make = postgresql.insert if _is_postgres(self._s) else sqlite.insert
        inserted = await self._s.execute(
            make(INVOICES)
            .values([_values(d) for d in drafts])
            .on_conflict_do_nothing()
            .returning(INVOICES.c.id)
        )
        kept = {r.id for r in inserted}
        return [d for d in drafts if d.id in kept]

    async def tax_invoice_of(self, payment_id: uuid.UUID) -> GstInvoice | None:
        found = await self.tax_invoices_of([payment_id])
        return found[0] if found else None

    async def tax_invoices_of(self, payment_ids: list[uuid.UUID]) -> list[GstInvoice]:
        if not payment_ids:
            return []
        rows = await self._s.execute(
            select(INVOICES).where(
                INVOICES.c.kind == InvoiceKind.TAX_INVOICE.value,
                INVOICES.c.global_payment_id.in_(payment_ids),
            )
        )
        return [_invoice(r) for r in rows]

    async def credited_paise(self, original_id: uuid.UUID) -> int:
        total = await self._s.scalar(
            select(func.coalesce(func.sum(INVOICES.c.total_paise), 0)).where(
                INVOICES.c.original_invoice_id == original_id,
                INVOICES.c.status != InvoiceStatus.VOID.value,
            )
        )
        return int(total or 0)

    async def save(self, invoice: GstInvoice, expected: InvoiceStatus) -> bool:
        values = {k: v for k, v in _values(invoice).items() if k not in _FIXED}
        values.update(
            version=invoice.version + 1,
            where_id=invoice.id,
            where_status=expected.value,
            where_version=invoice.version,
        )
        result = await self._s.execute(_SAVE, values)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def page(self, flt: InvoiceFilter, req: PageRequest) -> Page[GstInvoice]:
        where = []
        if flt.status is not None:
            where.append(INVOICES.c.status == flt.status.value)
        if flt.kind is not None:
            where.append(INVOICES.c.kind == flt.kind.value)
        if flt.payment_id is not None:
            where.append(INVOICES.c.global_payment_id == flt.payment_id)
        if flt.financial_year is not None:
            where.append(INVOICES.c.financial_year == flt.financial_year)
        condition = and_(True, *where)
        total = await self._s.scalar(select(func.count()).select_from(INVOICES).where(condition))
        rows = await self._s.execute(
            select(INVOICES)
            .where(condition)
            .order_by(INVOICES.c.created_at.desc(), INVOICES.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_invoice(r) for r in rows],
            total=int(total or 0),
            page=req.page,
            page_size=req.page_size,
        )


class SqlInvoiceSequenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def take(self, financial_year: str, kind: InvoiceKind, count: int = 1) -> int:
        make = postgresql.insert if _is_postgres(self._s) else sqlite.insert
        statement = make(SEQUENCES).values(
            financial_year=financial_year, kind=kind.value, last_number=count
        )
        statement = statement.on_conflict_do_update(
            index_elements=["financial_year", "kind"],
            set_={"last_number": SEQUENCES.c.last_number + count},
        ).returning(SEQUENCES.c.last_number)
        return int((await self._s.execute(statement)).scalar_one())


def _rate(row: Any) -> RateRow:
    return RateRow(
        id=row.id,
        code=row.code,
        description=row.description,
        gst_rate_bp=row.gst_rate_bp,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
    )


class SqlGstMasterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def rates(self, code: str | None = None) -> list[RateRow]:
        query = select(RATES).order_by(RATES.c.code, RATES.c.effective_from)
        if code is not None:
            query = query.where(RATES.c.code == code)
        found = [_rate(r) for r in await self._s.execute(query)]
        if not found and await self._s.scalar(select(func.count()).select_from(RATES)) == 0:
            # The migration seeds the master; a database emptied by hand gets the seed back.
            await self._s.execute(self._insert(RATES).values(**SEED_RATE).on_conflict_do_nothing())
            return await self.rates(code) if code in (None, DEFAULT_SAC) else []
        return found

    def _insert(self, table: Any) -> Any:
        return (postgresql.insert if _is_postgres(self._s) else sqlite.insert)(table)

    async def rate(self, rate_id: uuid.UUID) -> RateRow | None:
        row = (await self._s.execute(select(RATES).where(RATES.c.id == rate_id))).first()
        return _rate(row) if row is not None else None

    async def lock_code(self, code: str) -> None:
        if _is_postgres(self._s):
            await self._s.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"hsn:{code}"}
            )

    async def add_rate(self, row: RateRow, created_by: uuid.UUID | None, now: datetime) -> None:
        await self._s.execute(
            insert(RATES).values(
                **msgspec.structs.asdict(row), created_by=created_by, created_at=now, updated_at=now
            )
        )

    async def close_rate(self, rate_id: uuid.UUID, effective_to: date, now: datetime) -> None:
        await self._s.execute(
            update(RATES)
            .where(RATES.c.id == rate_id)
            .values(effective_to=effective_to, updated_at=now)
        )

    async def states(self) -> dict[str, StateCodeRow]:
        rows = (await self._s.execute(select(STATES))).all()
        if not rows:
            # As for the rates: an emptied master gets the migration's seed back.
            await self._s.execute(
                self._insert(STATES)
                .values([msgspec.structs.asdict(s) for s in SEED])
                .on_conflict_do_nothing()
            )
            return {s.code: s for s in SEED}
        return {
            r.code: StateCodeRow(
                code=r.code,
                name=r.name,
                is_union_territory=r.is_union_territory,
                uses_utgst=r.uses_utgst,
            )
            for r in rows
        }

    async def save_state(self, row: StateCodeRow) -> None:
        await self._s.execute(
            update(STATES)
            .where(STATES.c.code == row.code)
            .values(name=row.name, uses_utgst=row.uses_utgst)
        )


class NoPaymentMirror:
    """``PaymentMirrorReader`` while no payments part registers ``global_payments``: nothing is
    mirrored, so drafting finds no payment (404) and events draft nothing."""

    async def get(self, payment_id: uuid.UUID) -> MirroredPayment | None:
        return None

    async def many(self, payment_ids: list[uuid.UUID]) -> list[MirroredPayment]:
        return []
