"""GST invoicing end to end on SQLite and PostgreSQL (payments-finance.md §4 GstInvoice, §5 GST
rules, §6 draft / render+email / credit note, §8, §9 checks 1-6 and 16).

Worked examples (GST-inclusive ₹350 = 35000 paise at 1800 bp), checked by hand:
    taxable = round_half_up(35000 × 10000 / 11800) = round_half_up(29661.016…) = 29661
    tax     = 35000 − 29661 = 5339
    intra:  cgst = 5339 // 2 = 2669, sgst (or utgst) = 5339 − 2669 = 2670
    inter:  igst = 5339
The supplier is 29 (Karnataka) unless a test says otherwise; the clock stands in FY 25-26.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, text, update

from mas.adapters.db.finance.audit_tables import gst_audit_log
from mas.adapters.fakes.platform import FakeClock
from mas.core.finance.invoicing.commands import CloseRate, NewRate, StateCodeEdit
from mas.core.finance.invoicing.gstin import check_character
from mas.core.finance.invoicing.model import Customer, InvoiceKind, InvoiceStatus
from mas.core.finance.invoicing.ports import InvoiceFilter
from mas.core.finance.invoicing.state import IssuedInvoices
from mas.core.finance.payments.events import PaymentRefunded, PaymentsCaptured
from mas.core.finance.payments.mirror import PaymentSource
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import (
    Conflict,
    Forbidden,
    NotConfigured,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.payments import PaymentStatus
from tests.conftest import Database, make_settings, open_container
from tests.finance_invoicing_support import add_payment, refund
from tests.support import eventually

SUPPLIER_KA = "29AAGCB7383J1Z4"
NOW = datetime(2025, 10, 2, 5, 0, tzinfo=UTC)
CREDIT_NOTES = InvoiceFilter(kind=InvoiceKind.CREDIT_NOTE)


def gstin_for(state: str) -> str:
    base = f"{state}AAGCB7383J1Z"
    return base + check_character(base)


def finance_user() -> Caller:
    return Caller(user_id=uuid7(), role=Role.FINANCE, platform=Platform.MY_ANALYTICS_SCHOOL)


async def open_finance(database: Database, tmp_path: Path, **settings: Any) -> Any:
    values = {"supplier_gstin": SUPPLIER_KA, **settings}
    c = await open_container(
        make_settings(database.url, tmp_path, **values),
        database=database.joined,
        clock=FakeClock(NOW),
    )
    async with c.uow() as uow:  # PostgreSQL's test database starts emptied of the seeds
        await uow.gst_masters.rates()
        await uow.gst_masters.states()
        await uow.commit()
    return c


@pytest.fixture
async def fin(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    c = await open_finance(database, tmp_path)
    yield c
    await c.close()


def frozen(invoice: Any) -> dict[str, Any]:
    """What issuing froze: all but the document's delivery (PDF key, mail time, version)."""
    data: dict[str, Any] = invoice.snapshot()
    for delivery in ("pdf_storage_key", "emailed_at", "version"):
        data.pop(delivery)
    return data


async def changes(c: Any, invoice_id: uuid.UUID) -> list[str]:
    """The invoice's audit actions in chain order, but the mail's (the render task mails an
    issued invoice in the background: ``EMAILED`` comes whenever it does)."""
    rows = sorted(await audit_rows(c, invoice_id), key=lambda r: r[1])
    return [action for action, _ in rows if action != "EMAILED"]


async def audit_rows(c: Any, invoice_id: uuid.UUID) -> list[tuple[str, int]]:
    page = await c.finance.audit.log.page("INVOICE", str(invoice_id), PageRequest(page_size=100))
    return sorted((r.action, r.seq) for r in page.items)


async def drafted(c: Any, who: Caller, **payment: Any) -> Any:
    paid = await add_payment(c, **payment)
    return await c.finance.invoicing.desk.draft(who, paid.id)


def customer(state: str | None, gstin: str | None = None) -> Customer:
    return Customer(
        customer_name="Asha Rao",
        customer_email="asha@example.com",
        billing_address="12 MG Road",
        customer_gstin=gstin,
        customer_state_code=state,
    )


@pytest.mark.parametrize(
    ("supplier", "state", "regime", "heads"),
    [
        # check 1: Karnataka customer, Karnataka supplier: CGST 2669 + SGST 2670
        (SUPPLIER_KA, "29", "INTRA_SGST", (2669, 2670, 0, 0)),
        # check 2: Maharashtra customer: IGST 5339, no CGST/SGST
        (SUPPLIER_KA, "27", "INTER_IGST", (0, 0, 0, 5339)),
        # check 3: Chandigarh (04, uses UTGST) on both sides: CGST + UTGST, never SGST
        (
            "04AAGCB7383J1Z" + check_character("04AAGCB7383J1Z"),
            "04",
            "INTRA_UTGST",
            (2669, 0, 2670, 0),
        ),
    ],
)
async def test_gst_heads_by_place_of_supply(
    database: Database,
    tmp_path: Path,
    supplier: str,
    state: str,
    regime: str,
    heads: tuple[int, int, int, int],
) -> None:
    c = await open_finance(database, tmp_path, supplier_gstin=supplier)
    try:
        who = finance_user()
        draft = await drafted(c, who)
        # Rule 2: no customer state yet → the place of supply is the supplier's own state.
        assert draft.place_of_supply_state_code == supplier[:2]
        edited = await c.finance.invoicing.desk.edit(
            who, draft.id, customer(state, gstin_for(state))
        )
        assert edited.tax_regime == regime and edited.taxable_value_paise == 29661
        got = (edited.cgst_paise, edited.sgst_paise, edited.utgst_paise, edited.igst_paise)
        assert got == heads
        assert edited.taxable_value_paise + sum(got) == 35000
        assert (await c.finance.invoicing.desk.get(draft.id)) == edited
    finally:
        await c.close()


async def test_numbers_are_consecutive_voids_use_none_cancels_keep_theirs(fin: Any) -> None:
    desk, who = fin.finance.invoicing.desk, finance_user()
    first, second, discarded, third = [await drafted(fin, who) for _ in range(4)]
    one = await desk.issue(who, first.id)
    two = await desk.issue(who, second.id)
    assert (one.invoice_number, two.invoice_number) == ("MAS/25-26/000001", "MAS/25-26/000002")
    voided = await desk.void(who, discarded.id)
    assert voided.status is InvoiceStatus.VOID and voided.invoice_number is None
    three = await desk.issue(who, third.id)
    assert three.invoice_number == "MAS/25-26/000003"
    cancelled = await desk.cancel(who, one.id, "wrong customer billed")
    assert cancelled.status is InvoiceStatus.CANCELLED
    assert cancelled.invoice_number == "MAS/25-26/000001"
    assert cancelled.cancel_reason == "wrong customer billed"
    for refused in (
        desk.issue(who, discarded.id),  # out of VOID
        desk.issue(who, one.id),  # out of CANCELLED
        desk.void(who, two.id),  # ISSUED is not a draft
        desk.cancel(who, first.id, "twice"),
    ):
        with pytest.raises(Conflict):
            await refused


async def test_an_issued_invoice_is_immutable_and_its_trail_unchanged(fin: Any) -> None:
    desk, who = fin.finance.invoicing.desk, finance_user()
    issued = await desk.issue(who, (await drafted(fin, who)).id)
    trail = await audit_rows(fin, issued.id)
    with pytest.raises(Conflict, match="cannot be edited") as refused:
        await desk.edit(who, issued.id, customer("27"))
    assert refused.value.code == "invoice_not_draft"
    assert await audit_rows(fin, issued.id) == trail
    assert frozen(await desk.get(issued.id)) == frozen(issued)


async def test_every_change_writes_exactly_one_audit_row_and_tampering_shows(
    fin: Any, database: Database
) -> None:
    desk, who = fin.finance.invoicing.desk, finance_user()
    draft = await drafted(fin, who)
    await desk.edit(who, draft.id, customer("27"))
    await desk.issue(who, draft.id)
    await desk.cancel(who, draft.id, "duplicate sale")
    assert await changes(fin, draft.id) == ["CREATED", "UPDATED", "ISSUED", "CANCELLED"]
    # A refused edit (422) writes nothing and leaves the draft as it was.
    other = await drafted(fin, who)
    with pytest.raises(ValidationFailed) as bad:
        await desk.edit(who, other.id, customer("27", gstin_for("29")))
    assert bad.value.errors[0].field == "customer_gstin"
    assert [a for a, _ in await audit_rows(fin, other.id)] == ["CREATED"]
    assert await desk.get(other.id) == other
    report = await fin.finance.audit.log.check()
    assert report.intact
    async with fin.uow() as uow:
        session = uow.session
        if database.url.startswith("postgresql"):
            await session.execute(
                text("ALTER TABLE gst_audit_log DISABLE TRIGGER gst_audit_log_append_only")
            )
        updated = await session.execute(
            update(gst_audit_log)
            .where(gst_audit_log.c.entity_id == str(draft.id), gst_audit_log.c.action == "ISSUED")
            .values(after={"invoice_number": "MAS/25-26/999999"})
            .returning(gst_audit_log.c.id)
        )
        forged = updated.scalar_one()
        await uow.commit()
    report = await fin.finance.audit.log.check()
    assert not report.intact and report.first_broken_id == forged


async def test_a_full_refund_drafts_a_credit_note_once(fin: Any) -> None:
    desk, drafting, who = fin.finance.invoicing.desk, fin.finance.invoicing.drafting, finance_user()
    issued = await desk.issue(who, (await drafted(fin, who)).id)
    await refund(fin, issued.global_payment_id, 35000, full=True)
    event = PaymentRefunded(
        payment_id=issued.global_payment_id,
        refunded_paise=35000,
        previously_refunded_paise=0,
        refund_id="rfnd_1",
    )
    note = await drafting.refunded(event)
    assert note is not None
    assert (note.kind, note.status) == (InvoiceKind.CREDIT_NOTE, InvoiceStatus.DRAFT)
    assert note.original_invoice_id == issued.id and note.total_paise == 35000
    assert (note.taxable_value_paise, note.cgst_paise, note.sgst_paise) == (29661, 2669, 2670)
    assert await drafting.refunded(event) is None  # redelivered: the same refund, no second
    numbered = await desk.issue(who, note.id)
    assert numbered.invoice_number == "CN/25-26/000001"
    notes = await desk.page(CREDIT_NOTES, PageRequest())
    assert notes.total == 1
    # Cancelling the refunded invoice credits nothing more: the refund is credited already.
    await desk.cancel(who, issued.id, "refunded in full")
    assert (await desk.page(CREDIT_NOTES, PageRequest())).total == 1


async def test_a_partial_refund_then_cancel_credits_the_rest_of_the_refund(fin: Any) -> None:
    desk, drafting, who = fin.finance.invoicing.desk, fin.finance.invoicing.drafting, finance_user()
    issued = await desk.issue(who, (await drafted(fin, who)).id)
    await refund(fin, issued.global_payment_id, 10000, full=False)
    first = await drafting.refunded(
        PaymentRefunded(
            payment_id=issued.global_payment_id, refunded_paise=10000, previously_refunded_paise=0
        )
    )
    assert first is not None and first.total_paise == 10000
    await refund(fin, issued.global_payment_id, 25000, full=False)
    await desk.cancel(who, issued.id, "course withdrawn")
    credited = await desk.page(CREDIT_NOTES, PageRequest())
    assert sorted(n.total_paise for n in credited.items) == [10000, 15000]


async def test_captured_payments_are_drafted_in_batches_and_token_purchases_issued(
    fin: Any,
) -> None:
    tokens = [await add_payment(fin, source=PaymentSource.TOKEN_PURCHASE) for _ in range(3)]
    other = await add_payment(fin, source=PaymentSource.PAYMENT_LINK)
    pending = await add_payment(fin, gateway_status=PaymentStatus.AUTHORIZED)
    ids = [p.id for p in [*tokens, other, pending]]
    written = await fin.finance.invoicing.drafting.captured(ids)
    by_payment = {i.global_payment_id: i for i in written}
    assert set(by_payment) == {p.id for p in [*tokens, other]}
    assert {by_payment[p.id].status for p in tokens} == {InvoiceStatus.ISSUED}
    assert sorted(by_payment[p.id].invoice_number for p in tokens) == [
        "MAS/25-26/000001",
        "MAS/25-26/000002",
        "MAS/25-26/000003",
    ]
    assert by_payment[other.id].status is InvoiceStatus.DRAFT
    assert await fin.finance.invoicing.drafting.captured(ids) == []  # a second sync: nothing
    for invoice in written:
        issued = invoice.status is InvoiceStatus.ISSUED
        assert await changes(fin, invoice.id) == (["CREATED", "ISSUED"] if issued else ["CREATED"])
    with pytest.raises(Conflict) as again:
        await fin.finance.invoicing.desk.draft(finance_user(), other.id)
    assert again.value.code == "invoice_exists"
    with pytest.raises(Conflict) as uncaptured:
        await fin.finance.invoicing.desk.draft(finance_user(), pending.id)
    assert uncaptured.value.code == "payment_not_captured"


async def test_the_captured_event_drafts_through_the_job_and_mails_the_pdf(fin: Any) -> None:
    paid = await add_payment(fin, source=PaymentSource.TOKEN_PURCHASE, email="buyer@example.com")
    async with fin.uow() as uow:
        uow.record(PaymentsCaptured(payment_ids=[paid.id]))
        await uow.commit()
    desk = fin.finance.invoicing.desk

    async def mailed() -> Any:
        page = await desk.page(InvoiceFilter(payment_id=paid.id), PageRequest())
        found = page.items[0] if page.items else None
        return found if found is not None and found.emailed_at is not None else None

    invoice = await eventually(mailed, what="the invoice rendered and mailed")
    assert invoice.status is InvoiceStatus.ISSUED and invoice.pdf_storage_key is not None
    assert (await fin.storage.get(invoice.pdf_storage_key)).startswith(b"%PDF")
    actions = [a for a, _ in sorted(await audit_rows(fin, invoice.id), key=lambda r: r[1])]
    assert actions == ["CREATED", "ISSUED", "EMAILED"]
    async with fin.uow() as uow:
        sent = await uow.outbox.messages(None, "buyer@example.com", PageRequest())
    [message] = sent.items
    assert message.attachment_keys == [invoice.pdf_storage_key]
    assert invoice.invoice_number in message.subject

    # Delivery (the local mailbox here) read the stored PDF and sent the mail.
    async def sent_status() -> Any:
        async with fin.uow() as uow:
            stored = await uow.outbox.get_message(message.id)
        return stored.status.value == "sent"

    await eventually(sent_status, what="the invoice mail delivered")
    link = await fin.finance.invoicing.documents.pdf_link(invoice.id)
    assert link.invoice_number == invoice.invoice_number and link.url


async def test_pdf_is_409_until_rendered_and_the_payer_sees_only_their_own(fin: Any) -> None:
    desk, docs, who = fin.finance.invoicing.desk, fin.finance.invoicing.documents, finance_user()
    payer = Caller(user_id=uuid7(), role=Role.USER, platform=Platform.MY_ANALYTICS_SCHOOL)
    draft = await drafted(fin, who, user_id=payer.user_id)
    with pytest.raises(Conflict) as early:
        await docs.pdf_link(draft.id)
    assert early.value.code == "pdf_not_ready"
    with pytest.raises(NotFound):  # a draft has no document for the payer
        await docs.pdf_link(draft.id, payer=payer)
    issued = await desk.issue(who, draft.id)
    rendered = await docs.render_and_email(issued.id)
    assert rendered is not None and rendered.pdf_storage_key is not None
    assert (await docs.pdf_link(issued.id, payer=payer)).url
    stranger = Caller(user_id=uuid7(), role=Role.USER, platform=Platform.MY_ANALYTICS_SCHOOL)
    with pytest.raises(NotFound):
        await docs.pdf_link(issued.id, payer=stranger)
    resent = await docs.resend(who, issued.id)
    assert resent.emailed_at is not None


async def test_without_a_supplier_gstin_drafting_and_issuing_are_503(
    fin: Any, database: Database, tmp_path: Path
) -> None:
    """The same database, a process without ``MAS_SUPPLIER_GSTIN``: payments stay mirrored,
    nothing is drafted or issued."""
    draft = await drafted(fin, finance_user())
    bare = await open_finance(database, tmp_path / "bare", supplier_gstin="")
    try:
        paid = await add_payment(bare)
        with pytest.raises(NotConfigured):
            await bare.finance.invoicing.desk.draft(finance_user(), paid.id)
        with pytest.raises(NotConfigured):
            await bare.finance.invoicing.desk.issue(finance_user(), draft.id)
        assert await bare.finance.invoicing.drafting.captured([paid.id]) == []
        assert (await bare.finance.invoicing.desk.get(draft.id)).status is InvoiceStatus.DRAFT
    finally:
        await bare.close()


async def test_rate_master_refuses_overlaps_and_foreign_rates(fin: Any) -> None:
    masters, who = fin.finance.invoicing.masters, finance_user()
    [seed] = await masters.rates("999293")
    assert (seed.gst_rate_bp, seed.effective_from, seed.effective_to) == (
        1800,
        date(2017, 7, 1),
        None,
    )
    with pytest.raises(Conflict) as overlap:
        await masters.add_rate(
            who,
            NewRate(
                code="999293", description="x", gst_rate_bp=500, effective_from=date(2026, 1, 1)
            ),
        )
    assert overlap.value.code == "overlapping_period"
    with pytest.raises(ValidationFailed) as foreign:
        await masters.add_rate(
            who,
            NewRate(
                code="998431", description="x", gst_rate_bp=1000, effective_from=date(2026, 1, 1)
            ),
        )
    assert foreign.value.code == "rate_not_allowed"
    closed = await masters.close_rate(who, CloseRate(id=seed.id, effective_to=date(2025, 12, 31)))
    assert closed.effective_to == date(2025, 12, 31)
    added = await masters.add_rate(
        who,
        NewRate(code="999293", description="new", gst_rate_bp=500, effective_from=date(2026, 1, 1)),
    )
    assert [r.id for r in await masters.rates("999293")] == [seed.id, added.id]
    # A draft captured before the change keeps the rate of its capture date (rule 1).
    draft = await drafted(fin, who)
    assert draft.gst_rate_bp == 1800
    utgst = await masters.edit_state(who, "07", StateCodeEdit(name="NCT of Delhi"))
    assert (utgst.name, utgst.uses_utgst) == ("NCT of Delhi", False)
    with pytest.raises(NotFound):
        await masters.edit_state(who, "99", StateCodeEdit(uses_utgst=True))
    async with fin.uow() as uow:
        rows = await uow.session.scalar(
            select(func.count())
            .select_from(gst_audit_log)
            .where(gst_audit_log.c.entity_type.in_(["HSN_SAC", "STATE_CODE"]))
        )
    assert rows == 3  # one close, one add, one rename: refusals write nothing


async def test_an_impersonation_session_writes_nothing(fin: Any) -> None:
    desk, who = fin.finance.invoicing.desk, finance_user()
    draft = await drafted(fin, who)
    acting = msgspec.structs.replace(who, impersonated_by=uuid7())
    for write in (
        desk.edit(acting, draft.id, customer("27")),
        desk.issue(acting, draft.id),
        desk.void(acting, draft.id),
        fin.finance.invoicing.masters.edit_state(acting, "29", StateCodeEdit(name="KA")),
    ):
        with pytest.raises(Forbidden):
            await write
    assert await changes(fin, draft.id) == ["CREATED"]


async def test_the_payments_part_sees_whether_a_payment_is_invoiced(fin: Any) -> None:
    desk, who, state = fin.finance.invoicing.desk, finance_user(), IssuedInvoices()
    draft = await drafted(fin, who)
    async with fin.uow() as uow:
        assert not await state.has_issued(uow, draft.global_payment_id)
    await desk.issue(who, draft.id)
    async with fin.uow() as uow:
        assert await state.has_issued(uow, draft.global_payment_id)
        assert not await state.has_issued(uow, uuid7())
