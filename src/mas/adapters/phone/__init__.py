"""Phone-number normalisation with the phonenumbers library.

``phonenumbers.parse`` + ``is_valid_number`` cost about 100 µs a number, which alone would take
10 s for a 100,000-row import of distinct numbers. The common Indian spellings (10 digits,
``0`` + 10 digits, ``+91`` + 10 digits, with spaces, dashes, dots or brackets) take a fast path
that checks the national number against the same metadata patterns ``is_valid_number`` uses, so
the answer is identical (tests compare both on many inputs); anything else goes to the library.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

_SPACING = str.maketrans("", "", " -().\t")
_FALLBACK = object()


class LibPhoneNormalizer:
    def to_e164(self, raw: str, default_region: str = "IN") -> str | None:
        return _to_e164(raw, default_region)


Kinds = list[tuple[frozenset[int], re.Pattern[str]]]


def _compile_region(region: str) -> tuple[re.Pattern[str], Kinds]:
    metadata = PhoneMetadata.metadata_for_region(region)
    assert metadata is not None and metadata.general_desc is not None
    general = re.compile(metadata.general_desc.national_number_pattern or "(?!)")
    kinds = []
    # Valid means "matches the general pattern and some number type"; mobiles first, as most
    # leads give one.
    for name in (
        "mobile",
        "fixed_line",
        "premium_rate",
        "toll_free",
        "shared_cost",
        "voip",
        "personal_number",
        "pager",
        "uan",
        "voicemail",
    ):
        desc = getattr(metadata, name)
        if desc is not None and desc.national_number_pattern:
            lengths = frozenset(desc.possible_length or ())
            kinds.append((lengths, re.compile(desc.national_number_pattern)))
    return general, kinds


_IN_GENERAL, _IN_KINDS = _compile_region("IN")


def _valid_indian(national: str) -> bool:
    """``is_valid_number`` for a 10-digit national number of +91, without parsing."""
    if not _IN_GENERAL.fullmatch(national):
        return False
    size = len(national)
    return any(
        (not lengths or size in lengths) and rx.fullmatch(national) for lengths, rx in _IN_KINDS
    )


def _fast_indian(text: str) -> object:
    """E.164 or None for the plain Indian spellings; ``_FALLBACK`` when unsure."""
    digits = text if text.isdigit() else text.translate(_SPACING)
    if digits.startswith("+91"):
        national = digits[3:]
    elif len(digits) == 11 and digits[0] == "0":
        national = digits[1:]
    else:
        national = digits
    if len(national) != 10 or national[0] == "0" or not (national.isascii() and national.isdigit()):
        return _FALLBACK
    return "+91" + national if _valid_indian(national) else None


@lru_cache(maxsize=65536)
def _to_e164(raw: str, default_region: str) -> str | None:
    text = (raw or "").strip()
    if not text or len(text) > 40:
        return None
    if default_region == "IN":
        fast = _fast_indian(text)
        if fast is not _FALLBACK:
            return fast  # type: ignore[return-value]
    return _library_e164(text, default_region)


def _library_e164(text: str, default_region: str) -> str | None:
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
