"""Invoice numbers (payments-finance.md §3 InvoiceSequence, §5 rule 5).

A financial year runs April to March in India's time zone and is written ``25-26``; a number
is ``<PREFIX>/<FY>/<6-digit sequence>`` (``MAS/25-26/000123``, credit notes ``CN/…``), at most
16 characters. The sequence itself is taken under a row lock by the adapter.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30), "IST")
MAX_SEQUENCE = 999_999
MAX_LENGTH = 16


def financial_year(moment: datetime) -> str:
    """``25-26`` for any moment from 1 April 2025 00:00 IST to 31 March 2026 23:59:59 IST."""
    local = moment.astimezone(IST)
    start = local.year if local.month >= 4 else local.year - 1
    return f"{start % 100:02d}-{(start + 1) % 100:02d}"


def format_number(prefix: str, year: str, sequence: int) -> str:
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence {sequence} is outside 1..{MAX_SEQUENCE}")
    number = f"{prefix}/{year}/{sequence:06d}"
    if len(number) > MAX_LENGTH:
        raise ValueError(f"{number!r} is longer than {MAX_LENGTH} characters")
    return number
