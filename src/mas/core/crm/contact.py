"""Cleaning what a person typed into a lead: name, phone numbers, email (spec §5.1, §9).

An unreadable phone is not fatal when the email is good: it is kept in ``extra_data`` and the
caller gets a warning. Without any usable contact the lead is refused (``contact_required``).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from mas.core.crm.model import IncomingLead, Lead
from mas.core.crm.phones import PhoneNormalizer
from mas.core.platform.errors import FieldError, ValidationFailed

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_NO_NAMES = frozenset({"unknown", "n/a", "na", "none", "null", "-"})
EXTRA_DATA_MAX_BYTES = 16 * 1024


def clean_name(raw: str, field: str = "name") -> str:
    name = " ".join((raw or "").split())[:200]
    if not name or name.lower() in _NO_NAMES:
        raise ValidationFailed(
            "a lead needs a real name", errors=[FieldError(field, "required; not 'Unknown'")]
        )
    return name


def clean_email(raw: str | None, field: str = "email") -> str | None:
    email = (raw or "").strip().lower()
    if not email:
        return None
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed(
            f"'{raw}' is not an email address", errors=[FieldError(field, "not an email address")]
        )
    return email


def clean_text(raw: str | None, limit: int) -> str | None:
    text = " ".join((raw or "").split())
    return text[:limit] or None


def check_extra_data(extra: dict[str, Any]) -> dict[str, Any]:
    if len(msgspec.json.encode(extra)) > EXTRA_DATA_MAX_BYTES:
        raise ValidationFailed(
            "extra_data is larger than 16 KB",
            errors=[FieldError("extra_data", "at most 16 KB of JSON")],
        )
    return extra


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    phone_e164: str | None
    phone_alt: str | None
    email: str | None
    raw_extra: dict[str, str]
    warnings: list[str]


def clean_contact(
    phones: PhoneNormalizer,
    *,
    phone: str | None,
    email: str | None,
    phone_alt: str | None = None,
    region: str = "IN",
) -> Contact:
    """Normalise the phones and the email; refuse when neither a phone nor an email is usable."""
    mail = clean_email(email)
    raw_extra: dict[str, str] = {}
    warnings: list[str] = []
    e164 = phones.to_e164(phone, region) if phone and phone.strip() else None
    if phone and phone.strip() and e164 is None:
        raw_extra["phone_raw"] = phone.strip()[:40]
        warnings.append(f"'{phone.strip()[:40]}' is not a phone number; kept in extra_data")
    alt = phones.to_e164(phone_alt, region) if phone_alt and phone_alt.strip() else None
    if phone_alt and phone_alt.strip() and alt is None:
        raw_extra["phone_alt_raw"] = phone_alt.strip()[:40]
        warnings.append(f"'{phone_alt.strip()[:40]}' is not a phone number; kept in extra_data")
    if e164 is None and alt is not None:
        e164, alt = alt, None  # the only good number is the main one
    if alt == e164:
        alt = None
    if e164 is None and mail is None:
        fields = [FieldError("phone", "a valid phone number or an email is required")]
        if not (phone and phone.strip()):
            fields.append(FieldError("email", "a valid phone number or an email is required"))
        raise ValidationFailed(
            "a lead needs a valid phone number or an email", code="contact_required", errors=fields
        )
    return Contact(
        phone_e164=e164, phone_alt=alt, email=mail, raw_extra=raw_extra, warnings=warnings
    )


def keep_second_number(lead: Lead, incoming: IncomingLead) -> None:
    """A re-inquiry from another number keeps that number as the lead's alternate phone.

    Without this a merge (which fills only empty fields) would drop a number the prospect gave.
    """
    number = incoming.phone_e164
    if number and lead.phone_e164 and number != lead.phone_e164 and not incoming.phone_alt:
        if lead.phone_alt in (None, "", number):
            incoming.phone_alt = number
