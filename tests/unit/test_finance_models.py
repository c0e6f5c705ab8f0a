"""The payment mirror's forward-only status and the invoice draft rules (payments-finance.md
§4, §5 GST rules 1-3 and 6)."""

import uuid
from datetime import UTC, date, datetime

import pytest

from mas.core.finance.invoicing import model, states
from mas.core.finance.payments import mirror
from mas.core.platform.errors import InvalidState, ValidationFailed
from mas.core.platform.ports.payments import GatewayPayment, PaymentStatus

S = PaymentStatus

STATES = {row.code: row for row in states.SEED}
RATE = model.RateRow(
    id=uuid.uuid4(),
    code="999293",
    description="Commercial training and coaching",
    gst_rate_bp=1800,
    effective_from=date(2017, 7, 1),
    effective_to=None,
)
SUPPLIER = model.Supplier(gstin="29AAGCB7383J1Z4", state_code="29")


@pytest.mark.parametrize(
    ("current", "new", "forward"),
    [
        (S.CREATED, S.AUTHORIZED, True),
        (S.AUTHORIZED, S.CAPTURED, True),
        (S.CREATED, S.CAPTURED, True),
        (S.CAPTURED, S.REFUNDED, True),
        (S.CREATED, S.FAILED, True),
        (S.AUTHORIZED, S.FAILED, True),
        (S.CAPTURED, S.AUTHORIZED, False),
        (S.REFUNDED, S.CAPTURED, False),
        (S.CAPTURED, S.FAILED, False),
        (S.FAILED, S.CAPTURED, False),
        (S.CAPTURED, S.CAPTURED, False),
    ],
)
def test_the_gateway_status_only_moves_forward(
    current: PaymentStatus, new: PaymentStatus, forward: bool
) -> None:
    assert mirror.moves_forward(current, new) is forward


def _payment(**over: object) -> GatewayPayment:
    fields: dict[str, object] = {
        "id": "pay_1",
        "amount_paise": 35000,
        "currency": "INR",
        "status": S.CAPTURED,
    }
    fields.update(over)
    return GatewayPayment(**fields)  # type: ignore[arg-type]


def test_a_partial_refund_is_news_but_a_replay_is_not() -> None:
    assert mirror.is_news(S.CAPTURED, 0, _payment(amount_refunded_paise=5000))
    assert not mirror.is_news(S.CAPTURED, 5000, _payment(amount_refunded_paise=5000))
    assert not mirror.is_news(S.REFUNDED, 35000, _payment(status=S.CAPTURED))


def test_source_and_note_ids() -> None:
    purchase = uuid.uuid4()
    paid = _payment(notes={"tokenPurchaseId": str(purchase)})
    assert mirror.source_of(paid) is mirror.PaymentSource.TOKEN_PURCHASE
    assert mirror.note_id(paid, "tokenPurchaseId") == purchase
    assert mirror.source_of(_payment()) is mirror.PaymentSource.UNKNOWN
    assert (
        mirror.note_id(_payment(notes={"tokenPurchaseId": "x' OR 1=1"}), "tokenPurchaseId") is None
    )


def test_invoice_moves() -> None:
    model.check_move(model.InvoiceStatus.DRAFT, model.InvoiceStatus.ISSUED)
    model.check_move(model.InvoiceStatus.DRAFT, model.InvoiceStatus.VOID)
    model.check_move(model.InvoiceStatus.ISSUED, model.InvoiceStatus.CANCELLED)
    for current, target in [
        (model.InvoiceStatus.ISSUED, model.InvoiceStatus.DRAFT),
        (model.InvoiceStatus.ISSUED, model.InvoiceStatus.VOID),
        (model.InvoiceStatus.CANCELLED, model.InvoiceStatus.ISSUED),
        (model.InvoiceStatus.VOID, model.InvoiceStatus.ISSUED),
    ]:
        with pytest.raises(InvalidState):
            model.check_move(current, target)


def test_tax_follows_the_place_of_supply() -> None:
    karnataka = model.Customer(customer_name="A", customer_state_code="29")
    assert model.tax_for(35000, karnataka, SUPPLIER, RATE, STATES).sgst_paise == 2670
    maharashtra = model.Customer(customer_name="A", customer_state_code="27")
    assert model.tax_for(35000, maharashtra, SUPPLIER, RATE, STATES).igst_paise == 5339
    unknown = model.Customer(customer_name="A")
    assert model.place_of_supply(unknown, SUPPLIER) == "29"
    chandigarh = model.Supplier(gstin="04AAAAA0000A1Z0", state_code="04")
    buyer = model.Customer(customer_name="A", customer_state_code="04")
    breakup = model.tax_for(35000, buyer, chandigarh, RATE, STATES)
    assert (breakup.utgst_paise, breakup.sgst_paise) == (2670, 0)


def test_customer_checks_name_every_field() -> None:
    model.check_customer(
        model.Customer(
            customer_name="Acme", customer_gstin="29AAGCB7383J1Z4", customer_state_code="29"
        ),
        STATES,
    )
    with pytest.raises(ValidationFailed) as refused:
        model.check_customer(
            model.Customer(customer_name="Acme", customer_gstin="27AAPFU0939F1ZW"), STATES
        )
    fields = sorted(e.field for e in refused.value.errors)
    # No state given: the checksum is wrong and a GSTIN needs a state.
    assert fields == ["customer_gstin", "customer_state_code"]
    with pytest.raises(ValidationFailed):
        model.check_customer(model.Customer(customer_name="A", customer_state_code="99"), STATES)


def test_rate_on_the_capture_day_in_ist() -> None:
    old = model.RateRow(
        id=uuid.uuid4(),
        code="999293",
        description="old",
        gst_rate_bp=1200,
        effective_from=date(2017, 7, 1),
        effective_to=date(2026, 3, 31),
    )
    new = model.RateRow(
        id=uuid.uuid4(),
        code="999293",
        description="new",
        gst_rate_bp=1800,
        effective_from=date(2026, 4, 1),
        effective_to=None,
    )
    # 31 March 2026 19:00 UTC is 1 April 00:30 IST: the new rate applies.
    day = model.capture_day(datetime(2026, 3, 31, 19, 0, tzinfo=UTC))
    assert day == date(2026, 4, 1)
    assert model.rate_on([old, new], "999293", day) is new
    assert model.rate_on([old, new], "999293", date(2026, 3, 31)) is old
    with pytest.raises(ValidationFailed):
        model.rate_on([old, new], "998311", day)
    assert model.overlaps([old, new], date(2026, 1, 1), None) == [old, new]
    assert model.overlaps([old], date(2026, 4, 1), None) == []


def test_the_state_seed() -> None:
    assert len(STATES) == 37
    assert [c for c, row in STATES.items() if row.uses_utgst] == ["04", "26", "31", "35", "38"]
    assert not STATES["07"].uses_utgst and not STATES["34"].uses_utgst
