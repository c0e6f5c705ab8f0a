"""The lead's contact fields, declared once with their bounds, and the cleaning of what a person
typed into them: name, phone numbers, email (spec §5.1, §9).

``LeadContact`` is the one declaration of who the prospect is and what they asked about. The
doors' bodies (manual add, vendor push), the intake (``IncomingLead``), a CSV row
(``IntakeRow``) and the lead itself inherit it, and the set-based import takes its column list
from it. The phones are not in it: a door takes them as typed (``phone``, ``phone_alt``, any
spelling), a lead keeps them in E.164 (``phone_e164``), so each shape declares its own.

An unreadable phone is not fatal when the email is good: it is kept in ``extra_data`` and the
caller gets a warning. Without any usable contact the lead is refused (``contact_required``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
import msgspec.inspect

from mas.core.crm.phones import PhoneNormalizer
from mas.core.platform.bounds import schema_extra
from mas.core.platform.errors import FieldError, ValidationFailed

WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
r"""The characters ``str.strip`` removes (Python's ``\s``), spelled out for a character class:
a JSON Schema ``pattern`` is read by ECMA rules, whose ``\s`` is another set."""
NOT_BLANK = rf"[^{WHITESPACE}]"
"""A pattern: the text has something besides whitespace."""
EMAIL_SHAPE = rf"[^@{WHITESPACE}]+@[^@{WHITESPACE}]+\.[^@{WHITESPACE}.]{{2,}}"
_EMAIL = re.compile(rf"^{EMAIL_SHAPE}$")
EMAIL_OR_BLANK = rf"^[{WHITESPACE}]*(?:{EMAIL_SHAPE})?[{WHITESPACE}]*$"
"""What an email field of a form accepts: an address (spaces around it are trimmed), or blank
for none. The same test as ``clean_email``, stated as a pattern so that the document says it."""
AN_EMAIL = rf"^[{WHITESPACE}]*{EMAIL_SHAPE}[{WHITESPACE}]*$"
_NO_NAMES = frozenset({"unknown", "n/a", "na", "none", "null", "-"})
EXTRA_DATA_MAX_BYTES = 16 * 1024
_FREE_TEXT = {"free_text": True}

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Email = Annotated[str, msgspec.Meta(max_length=254)]
TypedEmail = Annotated[str, msgspec.Meta(max_length=254, pattern=EMAIL_OR_BLANK)]
"""An email as a person types it into a form (``Email`` is what a lead keeps, cleaned)."""
TypedPhone = Annotated[str, msgspec.Meta(max_length=40)]
"""A phone number as a person typed it (a lead keeps it in E.164)."""
# Free text is tidied by ``clean_text``: spaces collapsed, cut to its bound (a CSV cell has no
# decoder to refuse a long one).
Place = Annotated[str, msgspec.Meta(max_length=100, extra=_FREE_TEXT)]
Course = Annotated[str, msgspec.Meta(max_length=120, extra=_FREE_TEXT)]
SessionYear = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}$", max_length=7)]
ExtraData = Annotated[
    dict[Annotated[str, msgspec.Meta(max_length=100)], Any],
    msgspec.Meta(
        max_length=100,
        extra_json_schema=schema_extra(
            max_properties=100, property_names={"type": "string", "maxLength": 100}
        ),
    ),
]
"""Free-form answers: the names and their number are bounded here, the values by
``check_extra_data`` (16 KB of JSON) and the request boundary (nesting)."""


class LeadContact(msgspec.Struct, kw_only=True):
    """Who the prospect is and what they asked about (every shape of a lead inherits this)."""

    name: Name
    email: Email | None = None
    city: Place | None = None
    state: Place | None = None
    course_interest: Course | None = None
    session_year: SessionYear | None = None


def _free_text_bounds() -> dict[str, int]:
    """The free-text fields of ``LeadContact`` with their maximum length."""
    info = msgspec.inspect.type_info(LeadContact)
    assert isinstance(info, msgspec.inspect.StructType)
    bounds: dict[str, int] = {}
    for field in info.fields:
        kinds = field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else ()
        for kind in kinds:
            if isinstance(kind, msgspec.inspect.Metadata) and kind.extra == _FREE_TEXT:
                assert isinstance(kind.type, msgspec.inspect.StrType) and kind.type.max_length
                bounds[field.name] = kind.type.max_length
    return bounds


FREE_TEXT: dict[str, int] = _free_text_bounds()
"""``{"city": 100, "state": 100, "course_interest": 120}``: what ``clean_text`` cuts them to."""


def clean_name(raw: str, field: str = "name") -> str:
    name = " ".join((raw or "").split())[:200]
    if not name or name.lower() in _NO_NAMES:
        raise ValidationFailed(
            "a lead needs a real name",
            code="real_name_required",
            errors=[FieldError(field, "required; not 'Unknown'")],
        )
    return name


def clean_email(raw: str | None, field: str = "email") -> str | None:
    email = (raw or "").strip()
    if not email:
        return None
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationFailed(
            f"'{raw}' is not an email address", errors=[FieldError(field, "not an email address")]
        )
    return email.lower()


def clean_text(raw: str | None, limit: int) -> str | None:
    text = " ".join((raw or "").split())
    return text[:limit] or None


def check_extra_data(extra: dict[str, Any]) -> dict[str, Any]:
    if len(msgspec.json.encode(extra)) > EXTRA_DATA_MAX_BYTES:
        raise ValidationFailed(
            "extra_data is larger than 16 KB",
            code="extra_data_too_large",
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
