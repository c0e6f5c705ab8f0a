"""A month of finance documents with hand-worked figures, shared by the reports' unit,
integration and HTTP tests (payments-finance.md §9 check 14).

March 2026 in IST, supplier state 29 (Karnataka), SAC 999293 at 18 % (1800 bp), prices
GST-inclusive (taxable = round_half_up(total × 10000 / 11800), tax = total − taxable):

doc  number            status     issued (UTC)  GSTIN POS total taxable cgst sgst igst
i1   MAS/25-26/000010  ISSUED     03-05 04:00   yes   29  35000 29661   2669 2670 0
i2   MAS/25-26/000011  ISSUED     03-06 06:00   -     27  35000 29661   0    0    5339
i3   MAS/25-26/000012  ISSUED     03-05 21:00   -     27  11800 10000   0    0    1800
i4   MAS/25-26/000013  ISSUED     03-10 10:00   -     29  11800 10000   900  900  0
i5   MAS/25-26/000014  CANCELLED  03-11 10:00   -     29  5900  5000    450  450  0
i7   MAS/25-26/000015  ISSUED     03-31 18:29   -     07  1180  1000    0    0    180
c1   CN/25-26/000001   ISSUED     03-20 10:00   -     27  11800 10000   0    0    1800 (on i3)
i6   MAS/25-26/000009  ISSUED     02-28 18:29   -     29  1180  (Feb 28 23:59 IST: February)
i8   MAS/25-26/000016  ISSUED     03-31 18:30   -     29  1180  (Apr 1 00:00 IST: April)
d1   -                 DRAFT      -             -     29  2360  (no number: in no report)

(i7 is 31 March 23:59 IST.)

ISSUED tax invoices of March (i1 i2 i3 i4 i7): total 35000+35000+11800+11800+1180 = 94780;
taxable 29661+29661+10000+10000+1000 = 80322; cgst 2669+900 = 3569; sgst 2670+900 = 3570;
igst 5339+1800+180 = 7319 (80322+3569+3570+7319 = 94780).
Credit notes: total 11800, taxable 10000, igst 1800.
Net (the GSTR-1 totals): total 82980, taxable 70322, cgst 3569, sgst 3570, igst 5519
(70322+3569+3570+5519 = 82980).
B2CS: (07, 1800) 1 invoice 1000 + igst 180; (27, 1800) 2 invoices 39661 + igst 7139;
(29, 1800) 1 invoice 10000 + 900 + 900. Documents: MAS/25-26 000010..000015, 6 used, 1
cancelled; CN/25-26 000001, 1 used.

Payments (revenue, captured in March, IST days): p1 (i1) captured 03-05 04:00 UTC = 03-05 IST,
35000, TOKEN_PURCHASE, tax 5339; p2 (i3, refunded by c1) captured 03-05 20:00 UTC = 03-06 01:30
IST, 11800 refunded in full, ENROLLMENT, tax 1800 − 1800 = 0; p3 failed (created in March, not
revenue); p4 captured 04-01 IST (not March).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mas.core.finance.reports.model import InvoiceLine
from mas.core.platform.ids import uuid7

SUPPLIER_GSTIN = "29AAACM1234A1Z5"
B2B_GSTIN = "29ABCDE1234F1Z5"


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


P1, P2, P3, P4 = (uuid7() for _ in range(4))
I3 = uuid7()

# (key, kind, status, number, issued_at, gstin, pos, total, taxable, cgst, sgst, igst, payment)
DOCUMENTS: list[tuple[Any, ...]] = [
    (
        "i1",
        "TAX_INVOICE",
        "ISSUED",
        "MAS/25-26/000010",
        at(3, 5, 4),
        B2B_GSTIN,
        "29",
        35000,
        29661,
        2669,
        2670,
        0,
        P1,
    ),
    (
        "i2",
        "TAX_INVOICE",
        "ISSUED",
        "MAS/25-26/000011",
        at(3, 6, 6),
        None,
        "27",
        35000,
        29661,
        0,
        0,
        5339,
        None,
    ),
    (
        "i3",
        "TAX_INVOICE",
        "ISSUED",
        "MAS/25-26/000012",
        at(3, 5, 21),
        None,
        "27",
        11800,
        10000,
        0,
        0,
        1800,
        P2,
    ),
    (
        "i4",
        "TAX_INVOICE",
        "ISSUED",
        "MAS/25-26/000013",
        at(3, 10, 10),
        None,
        "29",
        11800,
        10000,
        900,
        900,
        0,
        None,
    ),
    (
        "i5",
        "TAX_INVOICE",
        "CANCELLED",
        "MAS/25-26/000014",
        at(3, 11, 10),
        None,
        "29",
        5900,
        5000,
        450,
        450,
        0,
        None,
    ),
    (
        "i7",
        "TAX_INVOICE",
        "ISSUED",
        "MAS/25-26/000015",
        at(3, 31, 18, 29),
        None,
        "07",
        1180,
        1000,
        0,
        0,
        180,
        None,
    ),
    (
        "c1",
        "CREDIT_NOTE",
        "ISSUED",
        "CN/25-26/000001",
        at(3, 20, 10),
        None,
        "27",
        11800,
        10000,
        0,
        0,
        1800,
        P2,
    ),
    (
        "i6",
        "TAX_INVOICE",
        "ISSUED",
        "MAS/25-26/000009",
        at(2, 28, 18, 29),
        None,
        "29",
        1180,
        1000,
        90,
        90,
        0,
        None,
    ),
    (
        "i8",
        "TAX_INVOICE",
        "ISSUED",
        "MAS/25-26/000016",
        at(3, 31, 18, 30),
        None,
        "29",
        1180,
        1000,
        90,
        90,
        0,
        None,
    ),
    ("d1", "TAX_INVOICE", "DRAFT", None, None, None, "29", 2360, 2000, 180, 180, 0, None),
]
IDS = {doc[0]: (I3 if doc[0] == "i3" else uuid7()) for doc in DOCUMENTS}
MARCH_KEYS = ("i1", "i2", "i3", "i4", "i5", "i7", "c1")


def invoice_lines(keys: tuple[str, ...] = MARCH_KEYS) -> list[InvoiceLine]:
    """The March documents as the report source answers them."""
    found = []
    for (
        key,
        kind,
        status,
        number,
        issued,
        gstin,
        pos,
        total,
        taxable,
        cgst,
        sgst,
        igst,
        pay,
    ) in DOCUMENTS:
        if key not in keys:
            continue
        found.append(
            InvoiceLine(
                id=IDS[key],
                kind=kind,
                status=status,
                invoice_number=number,
                issued_at=issued,
                customer_name=f"Customer {key}",
                customer_gstin=gstin,
                place_of_supply=pos,
                hsn_sac_code="999293",
                quantity=1,
                gst_rate_bp=1800,
                total_paise=total,
                taxable_value_paise=taxable,
                cgst_paise=cgst,
                sgst_paise=sgst,
                utgst_paise=0,
                igst_paise=igst,
                original_invoice_number="MAS/25-26/000012" if kind == "CREDIT_NOTE" else None,
                global_payment_id=pay,
            )
        )
    return found


def invoice_rows() -> list[dict[str, Any]]:
    """Every document as a ``gst_invoices`` row."""
    rows = []
    for (
        key,
        kind,
        status,
        number,
        issued,
        gstin,
        pos,
        total,
        taxable,
        cgst,
        sgst,
        igst,
        pay,
    ) in DOCUMENTS:
        regime = "INTER_IGST" if igst else "INTRA_SGST"
        rows.append(
            {
                "id": IDS[key],
                "kind": kind,
                "global_payment_id": pay or uuid7(),
                "original_invoice_id": I3 if kind == "CREDIT_NOTE" else None,
                "refund_key": "rfnd_c1" if kind == "CREDIT_NOTE" else None,
                "status": status,
                "invoice_number": number,
                "financial_year": "25-26",
                "supplier_gstin": SUPPLIER_GSTIN,
                "supplier_state_code": "29",
                "customer_name": f"Customer {key}",
                "customer_email": None,
                "billing_address": "",
                "customer_gstin": gstin,
                "customer_state_code": pos,
                "place_of_supply_state_code": pos,
                "hsn_sac_code": "999293",
                "line_description": "Training and coaching services",
                "quantity": 1,
                "total_paise": total,
                "taxable_value_paise": taxable,
                "gst_rate_bp": 1800,
                "tax_regime": regime,
                "cgst_paise": cgst,
                "sgst_paise": sgst,
                "utgst_paise": 0,
                "igst_paise": igst,
                "reverse_charge": False,
                "captured_at": issued or at(3, 12, 0),
                "issued_at": issued,
                "issued_by": None,
                "version": 1,
                "created_at": issued or at(3, 12, 0),
                "updated_at": issued or at(3, 12, 0),
            }
        )
    return rows


def payment_rows() -> list[dict[str, Any]]:
    def payment(
        pid: uuid.UUID,
        n: int,
        amount: int,
        refunded: int,
        status: str,
        source: str,
        created: datetime,
        captured: datetime | None,
    ) -> dict[str, Any]:
        return {
            "id": pid,
            "razorpay_payment_id": f"pay_test{n:04d}",
            "razorpay_order_id": f"order_test{n:04d}",
            "amount_paise": amount,
            "amount_refunded_paise": refunded,
            "currency": "INR",
            "gateway_status": status,
            "method": "upi",
            "email": f"payer{n}@example.com",
            "notes": {},
            "raw": {},
            "gateway_created_at": created,
            "captured_at": captured,
            "source": source,
            "reconciliation_status": "MATCHED" if n < 3 else "UNMATCHED",
            "synced_at": created,
            "created_at": created,
            "updated_at": created,
        }

    return [
        payment(P1, 1, 35000, 0, "captured", "TOKEN_PURCHASE", at(3, 5, 3), at(3, 5, 4)),
        payment(P2, 2, 11800, 11800, "refunded", "ENROLLMENT", at(3, 5, 19), at(3, 5, 20)),
        payment(P3, 3, 5000, 0, "failed", "UNKNOWN", at(3, 7, 9), None),
        payment(P4, 4, 9000, 0, "captured", "TOKEN_PURCHASE", at(3, 31, 18, 40), at(3, 31, 19)),
    ]


async def seed(c: Any) -> None:
    """Write the month into the container's database (both tables, one transaction)."""
    from sqlalchemy import insert

    from mas.adapters.db.finance.invoicing_tables import gst_invoices
    from mas.adapters.db.finance.payments_tables import global_payments

    async with c.uow() as uow:
        await uow.session.execute(insert(global_payments), payment_rows())
        await uow.session.execute(insert(gst_invoices), invoice_rows())
        await uow.commit()
