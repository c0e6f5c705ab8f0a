"""GST arithmetic, GSTIN checks, invoice numbers and the audit chain (payments-finance.md §5,
§9 checks 1-3 and 6). Every expected figure below is worked by hand in its comment."""

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from mas.core.finance.audit import chain as audit_chain
from mas.core.finance.invoicing import gst, gstin, numbers

# (total, rate, supplier, place, uses_utgst) -> (taxable, cgst, sgst, utgst, igst)
WORKED = [
    # §9.1: 35000 × 10000 / 11800 = 29661.0169… → 29661; tax 5339; cgst 5339 // 2 = 2669;
    # sgst 5339 − 2669 = 2670.
    ((35000, 1800, "29", "29", False), (29661, 2669, 2670, 0, 0)),
    # §9.2: Maharashtra buyer, Karnataka supplier: all 5339 is IGST.
    ((35000, 1800, "29", "27", False), (29661, 0, 0, 0, 5339)),
    # §9.3: Chandigarh to Chandigarh uses UTGST: same split as SGST would be.
    ((35000, 1800, "04", "04", True), (29661, 2669, 0, 2670, 0)),
    # 118 × 10000 / 11800 = 100 exactly; tax 18 → 9 + 9.
    ((118, 1800, "29", "29", False), (100, 9, 9, 0, 0)),
    # Half up: 59 × 10000 / 11800 = 50.0 exactly → 50; tax 9 → 4 + 5.
    ((59, 1800, "29", "29", False), (50, 4, 5, 0, 0)),
    # 1 paisa at 18 %: 10000 / 11800 = 0.847 → 1; tax 0.
    ((1, 1800, "29", "29", False), (1, 0, 0, 0, 0)),
    # 5 % on ₹999.99: 99999 × 10000 / 10500 = 95237.14… → 95237; tax 4762 IGST.
    ((99999, 500, "29", "07", False), (95237, 0, 0, 0, 4762)),
    # 28 %: 12800 × 10000 / 12800 = 10000; tax 2800 → 1400 + 1400.
    ((12800, 2800, "07", "07", False), (10000, 1400, 1400, 0, 0)),
    # Exempt: 0 % keeps everything taxable.
    ((50000, 0, "29", "29", False), (50000, 0, 0, 0, 0)),
    # 12 %: 56 × 10000 / 11200 = 50.0 → 50; tax 6 → 3 + 3.
    ((56, 1200, "29", "29", False), (50, 3, 3, 0, 0)),
    # Exactly half rounds up: 14 × 10000 / 11200 = 12.5 → 13; tax 1 → cgst 0, sgst 1.
    ((14, 1200, "29", "29", False), (13, 0, 1, 0, 0)),
    # Exactly half at 28 %: 16 × 10000 / 12800 = 12.5 → 13; tax 3 → cgst 1, utgst 2.
    ((16, 2800, "38", "38", True), (13, 1, 0, 2, 0)),
    # Half-up boundary: 3 × 10000 / 10500 = 2.857 → 3, tax 0 at 5 %.
    ((3, 500, "29", "29", False), (3, 0, 0, 0, 0)),
]


@pytest.mark.parametrize(("given", "expected"), WORKED)
def test_worked_examples(given: tuple[int, int, str, str, bool], expected: tuple[int, ...]) -> None:
    breakup = gst.compute(*given)
    got = (
        breakup.taxable_value_paise,
        breakup.cgst_paise,
        breakup.sgst_paise,
        breakup.utgst_paise,
        breakup.igst_paise,
    )
    assert got == expected
    assert breakup.taxable_value_paise + breakup.tax_paise == given[0]


def test_parts_always_add_up_and_round_half_up() -> None:
    for total in range(0, 5000, 7):
        for rate in sorted(gst.ALLOWED_RATES_BP):
            for regime in (("29", "29", False), ("04", "04", True), ("29", "27", False)):
                b = gst.compute(total, rate, *regime)
                assert b.taxable_value_paise + b.tax_paise == total
                exact = total * 10000 / (10000 + rate)
                assert abs(b.taxable_value_paise - exact) <= 0.5
                assert b.cgst_paise >= 0 and b.igst_paise >= 0


def test_refused_inputs() -> None:
    with pytest.raises(ValueError):
        gst.compute(100, 1700, "29", "29", False)
    with pytest.raises(ValueError):
        gst.compute(-1, 1800, "29", "29", False)


def test_gstin_format_checksum_and_state() -> None:
    # Published GSTINs (their check characters agree with the mod-36 rule).
    for valid in ("27AAPFU0939F1ZV", "29AAGCB7383J1Z4", "33AAACH7409R1Z8"):
        assert gstin.is_valid(valid)
        assert gstin.is_valid(valid, valid[:2])
    assert gstin.problems("27AAPFU0939F1ZW") == [
        "the GSTIN's check character does not match (a typing error?)"
    ]
    assert gstin.problems("27AAPFU0939F1ZV", "29") == ["the GSTIN belongs to state 27, not 29"]
    for malformed in (
        "",
        "27aapfu0939f1zv",
        "27AAPFU0939F0ZV",
        "27AAPFU0939F1YV",
        "27AAPFU0939F1Z",
    ):
        assert not gstin.is_valid(malformed)


def test_financial_year_turns_at_april_first_in_ist() -> None:
    # 31 March 2026 18:29 UTC is 23:59 IST: still 25-26; 18:30 UTC is 1 April IST: 26-27.
    assert numbers.financial_year(datetime(2026, 3, 31, 18, 29, tzinfo=UTC)) == "25-26"
    assert numbers.financial_year(datetime(2026, 3, 31, 18, 30, tzinfo=UTC)) == "26-27"
    assert numbers.financial_year(datetime(2099, 12, 1, tzinfo=UTC)) == "99-00"


def test_invoice_numbers() -> None:
    assert numbers.format_number("MAS", "25-26", 123) == "MAS/25-26/000123"
    assert numbers.format_number("CN", "25-26", 7) == "CN/25-26/000007"
    assert len(numbers.format_number("MAS", "25-26", 999_999)) == 16
    for bad in (0, 1_000_000):
        with pytest.raises(ValueError):
            numbers.format_number("MAS", "25-26", bad)


def _row(n: int) -> audit_chain.ChainedRow:
    return audit_chain.ChainedRow(
        id=uuid.UUID(int=n + 1),
        seq=n + 1,
        entity_type="INVOICE",
        entity_id=str(uuid.UUID(int=100 + n)),
        action="UPDATED",
        actor_id=None,
        before={"customer_name": f"A{n}"},
        after={"customer_name": f"B{n}"},
        ip="10.0.0.1",
        created_at=datetime(2026, 12, 5, 10, n, tzinfo=UTC),
        prev_hash="",
        row_hash="",
    )


def test_the_chain_names_the_first_altered_row() -> None:
    chain: list[audit_chain.ChainedRow] = []
    prev = audit_chain.GENESIS
    for n in range(5):
        sealed = audit_chain.seal(_row(n), prev)
        chain.append(sealed)
        prev = sealed.row_hash
    assert audit_chain.first_broken(chain) is None
    tampered = list(chain)
    tampered[2] = msgspec.structs.replace(chain[2], after={"customer_name": "forged"})
    assert audit_chain.first_broken(tampered) == tampered[2]
    removed = chain[:1] + chain[2:]
    assert audit_chain.first_broken(removed) == chain[2]
    resealed = list(chain)
    resealed[3] = audit_chain.seal(
        msgspec.structs.replace(chain[3], action="ISSUED"), chain[2].row_hash
    )
    assert audit_chain.first_broken(resealed) == chain[4]
