"""Phone-number normalisation with the phonenumbers library."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


class LibPhoneNormalizer:
    def to_e164(self, raw: str, default_region: str = "IN") -> str | None:
        return _to_e164(raw, default_region)


@lru_cache(maxsize=65536)
def _to_e164(raw: str, default_region: str) -> str | None:
    text = (raw or "").strip()
    if not text or len(text) > 40:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
