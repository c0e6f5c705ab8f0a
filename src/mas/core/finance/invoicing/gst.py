"""GST on a GST-inclusive price (payments-finance.md §5 "GST rules").

All amounts are integer paise and rates integer basis points (1800 = 18 %). The taxable value
is rounded half up; the tax is whatever remains, so the parts always add up to the total. An
intra-state supply splits the tax into CGST and SGST (or UTGST where the state uses it), the
odd paisa going to the state's half; an inter-state supply is all IGST.
"""

from __future__ import annotations

import enum

import msgspec

ALLOWED_RATES_BP = frozenset({0, 500, 1200, 1800, 2800})


class TaxRegime(enum.StrEnum):
    INTRA_SGST = "INTRA_SGST"
    INTRA_UTGST = "INTRA_UTGST"
    INTER_IGST = "INTER_IGST"


class TaxBreakup(msgspec.Struct, frozen=True, kw_only=True):
    total_paise: int
    taxable_value_paise: int
    gst_rate_bp: int
    tax_regime: TaxRegime
    cgst_paise: int
    sgst_paise: int
    utgst_paise: int
    igst_paise: int

    @property
    def tax_paise(self) -> int:
        return self.cgst_paise + self.sgst_paise + self.utgst_paise + self.igst_paise


def divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative integers."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("divide_half_up takes a non-negative numerator and a positive divisor")
    quotient, remainder = divmod(numerator, denominator)
    return quotient + 1 if 2 * remainder >= denominator else quotient


def regime_of(supplier_state: str, place_of_supply: str, uses_utgst: bool) -> TaxRegime:
    """Rule 3: the same state is intra-state (UTGST where the place uses it), else IGST."""
    if supplier_state != place_of_supply:
        return TaxRegime.INTER_IGST
    return TaxRegime.INTRA_UTGST if uses_utgst else TaxRegime.INTRA_SGST


def compute(
    total_paise: int,
    rate_bp: int,
    supplier_state: str,
    place_of_supply: str,
    uses_utgst: bool,
) -> TaxBreakup:
    """Rule 4: the breakup of a GST-inclusive ``total_paise`` at ``rate_bp``."""
    if total_paise < 0:
        raise ValueError("a total is never negative")
    if rate_bp not in ALLOWED_RATES_BP:
        raise ValueError(f"{rate_bp} bp is not a GST rate")
    taxable = divide_half_up(total_paise * 10_000, 10_000 + rate_bp)
    tax = total_paise - taxable
    regime = regime_of(supplier_state, place_of_supply, uses_utgst)
    central = tax // 2 if regime is not TaxRegime.INTER_IGST else 0
    state_half = tax - central if regime is not TaxRegime.INTER_IGST else 0
    return TaxBreakup(
        total_paise=total_paise,
        taxable_value_paise=taxable,
        gst_rate_bp=rate_bp,
        tax_regime=regime,
        cgst_paise=central,
        sgst_paise=state_half if regime is TaxRegime.INTRA_SGST else 0,
        utgst_paise=state_half if regime is TaxRegime.INTRA_UTGST else 0,
        igst_paise=tax if regime is TaxRegime.INTER_IGST else 0,
    )
