"""The reports part on SQLite and PostgreSQL: GSTR-1 and revenue over the payments and
invoicing tables (check 14), and the export's whole life (check 13): requested → built by the
job → READY, an AES-256 zip that opens only with the requester's password, the password wiped,
two audit rows, 410 after seven days on a frozen clock, then EXPIRED and the object deleted."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import pyzipper
from sqlalchemy import select, update

from mas.adapters.db.finance.audit_tables import gst_audit_log
from mas.adapters.db.finance.exports_tables import finance_exports
from mas.adapters.fakes.platform import FakeClock
from mas.core.finance.reports.model import ExportKind, ExportStatus, GroupBy, NewExport
from mas.core.identity.model import User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Forbidden, Gone, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from mas.core.tokens.earnings.model import MentorTransaction, PayoutMode, TxnStatus, TxnType
from tests.conftest import Database, make_settings, open_container
from tests.finance_reports_world import seed

NOW = datetime(2026, 4, 2, 6, 0, tzinfo=UTC)
PASSWORD = "march books 2026!"


@pytest.fixture
async def books(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    c = await open_container(
        make_settings(database.url, tmp_path), database=database.joined, clock=FakeClock(NOW)
    )
    await seed(c)
    yield c
    await c.close()


def finance_user(role: Role = Role.FINANCE) -> Caller:
    return Caller(user_id=uuid7(), role=role, platform=Platform.MY_ANALYTICS_SCHOOL)


def march(kind: ExportKind, password: str = PASSWORD) -> NewExport:
    return NewExport(kind=kind, from_=date(2026, 3, 1), to=date(2026, 3, 31), password=password)


async def test_gstr1_of_march_reads_the_invoice_tables(books: Any) -> None:
    report = await books.finance.reports.reports.gstr1("2026-03")
    # Worked by hand in tests/finance_reports_world.py: i1 i2 i3 i4 i7 less c1.
    assert (report.totals.total_paise, report.totals.taxable_value_paise) == (82980, 70322)
    assert (report.totals.cgst_paise, report.totals.sgst_paise, report.totals.igst_paise) == (
        3569,
        3570,
        5519,
    )
    assert report.invoices.total_paise - report.credit_notes_total.total_paise == 82980
    assert [b.invoice_number for b in report.b2b] == ["MAS/25-26/000010"]
    assert [(r.place_of_supply, r.invoices) for r in report.b2cs] == [
        ("07", 1),
        ("27", 2),
        ("29", 1),
    ]
    assert [n.original_invoice_number for n in report.credit_notes] == ["MAS/25-26/000012"]
    assert [(d.total, d.cancelled) for d in report.documents] == [(1, 0), (6, 1)]


async def test_february_and_april_hold_the_documents_across_the_ist_midnights(books: Any) -> None:
    february = await books.finance.reports.reports.gstr1("2026-02")
    april = await books.finance.reports.reports.gstr1("2026-04")
    assert [d.first_number for d in february.documents] == ["MAS/25-26/000009"]
    assert [d.first_number for d in april.documents] == ["MAS/25-26/000016"]


async def test_revenue_by_day_and_by_source(books: Any) -> None:
    reports = books.finance.reports.reports
    by_day = await reports.revenue(date(2026, 3, 1), date(2026, 3, 31), GroupBy.DAY)
    assert [
        (r.key, r.gross_paise, r.refunds_paise, r.tax_paise, r.net_paise) for r in by_day.rows
    ] == [
        ("2026-03-05", 35000, 0, 5339, 29661),
        ("2026-03-06", 11800, 11800, 0, 0),
    ]
    by_source = await reports.revenue(date(2026, 3, 1), date(2026, 4, 30), GroupBy.SOURCE)
    assert [(r.key, r.payments, r.gross_paise) for r in by_source.rows] == [
        ("ENROLLMENT", 1, 11800),
        ("TOKEN_PURCHASE", 2, 44000),
    ]


async def test_dashboard_counts_what_waits(books: Any) -> None:
    board = await books.finance.reports.reports.dashboard()
    # NOW is 2 April IST: p4 (captured 1 April 00:30 IST) is this month's only revenue.
    assert (board.month_to_date.gross_paise, board.today.payments) == (9000, 0)
    assert (board.unmatched_payments, board.draft_invoices, board.exports_ready) == (1, 1, 0)


def opened(data: bytes, password: str) -> openpyxl.Workbook:
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        archive.setpassword(password.encode())
        [name] = archive.namelist()
        return openpyxl.load_workbook(io.BytesIO(archive.read(name)))


async def test_an_export_opens_only_with_its_password_and_is_gone_after_seven_days(
    books: Any,
) -> None:
    exports = books.finance.reports.exports
    requester = finance_user()
    queued = await exports.request(requester, march(ExportKind.PAYMENTS))
    view = await exports.get(requester, queued.id)
    assert view.status is ExportStatus.READY and view.row_count == 3
    assert view.download_url and view.expires_at == NOW + timedelta(days=7)

    async with books.uow() as uow:
        row = (
            await uow.session.execute(
                select(finance_exports).where(finance_exports.c.id == view.id)
            )
        ).one()
        audit = (
            (
                await uow.session.execute(
                    select(gst_audit_log.c.action).where(gst_audit_log.c.entity_id == str(view.id))
                )
            )
            .scalars()
            .all()
        )
    assert row.password_enc is None and row.key_version is None
    assert sorted(audit) == ["CREATED", "EXPORTED"]

    data = await books.storage.get(row.storage_key)
    assert PASSWORD.encode() not in data
    sheet = opened(data, PASSWORD).active
    values = list(sheet.values)
    assert values[0][:3] == ("razorpay_payment_id", "razorpay_order_id", "amount_paise")
    assert sorted(v[0] for v in values[1:]) == ["pay_test0001", "pay_test0002", "pay_test0003"]
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        [info] = archive.infolist()
        assert info.flag_bits & 0x1  # encrypted
        archive.setpassword(b"not the password")
        with pytest.raises(RuntimeError, match="Bad password"):
            archive.read(info.filename)

    books.clock.advance(days=7)
    with pytest.raises(Gone):
        await exports.get(requester, view.id)
    assert await exports.expire() == 1
    assert await exports.expire() == 0
    assert not await books.storage.exists(row.storage_key)
    with pytest.raises(Gone):
        await exports.get(requester, view.id)


async def test_only_the_requester_and_admins_see_an_export(books: Any) -> None:
    exports = books.finance.reports.exports
    requester, colleague = finance_user(), finance_user()
    made = await exports.request(requester, march(ExportKind.INVOICES))
    with pytest.raises(NotFound):
        await exports.get(colleague, made.id)
    seen = await exports.get(finance_user(Role.ADMIN), made.id)
    assert seen.row_count == 7  # i1 i2 i3 i4 i5 i7 c1: March's numbered documents
    assert (await exports.page(colleague, PageRequest())).total == 0
    assert [e.id for e in (await exports.page(None, PageRequest())).items] == [made.id]


async def test_the_gstr1_export_holds_the_summary(books: Any) -> None:
    exports = books.finance.reports.exports
    requester = finance_user()
    made = await exports.get(
        requester, (await exports.request(requester, march(ExportKind.GSTR1_SUMMARY))).id
    )
    async with books.uow() as uow:
        export = await uow.finance_exports.get(made.id)
    book = opened(await books.storage.get(export.storage_key), PASSWORD)
    assert book.sheetnames == ["B2B", "B2CS", "HSN", "Credit notes", "Documents", "Totals"]
    assert list(book["Totals"].values)[-1] == ("net", 70322, 3569, 3570, 0, 5519, 82980)


async def test_a_build_that_gives_up_fails_and_wipes_the_password(books: Any) -> None:
    exports = books.finance.reports.exports
    made = await exports.request(finance_user(), march(ExportKind.PAYMENTS))
    async with books.uow() as uow:
        # Back to RUNNING with a password, as an attempt that crashed mid-way leaves it.
        await uow.session.execute(
            update(finance_exports)
            .where(finance_exports.c.id == made.id)
            .values(status="RUNNING", password_enc=b"sealed", key_version=1)
        )
        await uow.commit()
    assert await exports.fail(made.id)
    assert not await exports.fail(made.id)
    async with books.uow() as uow:
        export = await uow.finance_exports.get(made.id)
    assert export.status is ExportStatus.FAILED and export.password_enc is None
    assert await exports.build(made.id) is ExportStatus.FAILED
    assert await exports.build(uuid.uuid4()) is None


async def test_the_payouts_export_reads_completed_withdrawals_through_tokens(books: Any) -> None:
    mentor = User(id=uuid7(), email="mentor@example.com", role=Role.EXPERT, created_at=NOW)

    def withdrawal(amount: int, status: TxnStatus, done: datetime | None) -> MentorTransaction:
        return MentorTransaction(
            id=uuid7(),
            mentor_id=mentor.id,
            type=TxnType.WITHDRAWAL,
            amount_paise=-amount,
            created_at=datetime(2026, 3, 1, tzinfo=UTC),
            status=status,
            payout_mode=PayoutMode.MANUAL,
            transaction_id="UTR0001" if done else None,
            completed_at=done,
        )

    async with books.uow() as uow:
        await uow.users.add(mentor)
        # Paid in March (IST), paid on 1 April IST, and a cancelled one: only the first counts.
        for txn in (
            withdrawal(50000, TxnStatus.COMPLETED, datetime(2026, 3, 15, 9, tzinfo=UTC)),
            withdrawal(20000, TxnStatus.COMPLETED, datetime(2026, 3, 31, 19, tzinfo=UTC)),
            withdrawal(10000, TxnStatus.CANCELLED, None),
        ):
            assert await uow.mentor_earnings.add_withdrawal(txn)
        await uow.commit()
    exports = books.finance.reports.exports
    requester = finance_user()
    made = await exports.get(
        requester, (await exports.request(requester, march(ExportKind.PAYOUTS))).id
    )
    assert made.row_count == 1
    async with books.uow() as uow:
        export = await uow.finance_exports.get(made.id)
    rows = list(opened(await books.storage.get(export.storage_key), PASSWORD).active.values)
    assert [(r[2], r[3], r[4], r[6]) for r in rows[1:]] == [
        ("mentor@example.com", 50000, "completed", "UTR0001")
    ]


async def test_an_impersonation_session_cannot_request_an_export(books: Any) -> None:
    admin = finance_user(Role.ADMIN)
    posing = Caller(
        user_id=uuid7(),
        role=Role.FINANCE,
        platform=Platform.MY_ANALYTICS_SCHOOL,
        impersonated_by=admin.user_id,
    )
    with pytest.raises(Forbidden) as refused:
        await books.finance.reports.exports.request(posing, march(ExportKind.PAYMENTS))
    assert refused.value.code == "impersonated"
    assert (await books.finance.reports.exports.page(None, PageRequest())).total == 0
