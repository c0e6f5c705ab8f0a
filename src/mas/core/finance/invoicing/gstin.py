"""GSTIN checks (payments-finance.md §5 rule 6): the format, the check character and the
state code.

The 15th character is a mod-36 check over the first fourteen: each character's value in
``0-9A-Z`` is multiplied by 1 and 2 alternately; each product adds its quotient and remainder
by 36; the check value is ``(36 - sum mod 36) mod 36``.
"""

from __future__ import annotations

import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PATTERN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")


def check_character(first_fourteen: str) -> str:
    total = 0
    for position, char in enumerate(first_fourteen):
        product = ALPHABET.index(char) * (1 if position % 2 == 0 else 2)
        total += product // 36 + product % 36
    return ALPHABET[(36 - total % 36) % 36]


def problems(gstin: str, state_code: str | None = None) -> list[str]:
    """Why ``gstin`` is refused (empty when it is valid for ``state_code``)."""
    if not PATTERN.fullmatch(gstin):
        return ["a GSTIN is 2 digits, 5 letters, 4 digits, a letter, an entity code, Z, a check"]
    found = []
    if check_character(gstin[:14]) != gstin[14]:
        found.append("the GSTIN's check character does not match (a typing error?)")
    if state_code is not None and gstin[:2] != state_code:
        found.append(f"the GSTIN belongs to state {gstin[:2]}, not {state_code}")
    return found


def is_valid(gstin: str, state_code: str | None = None) -> bool:
    return not problems(gstin, state_code)
