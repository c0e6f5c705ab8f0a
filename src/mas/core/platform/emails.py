"""The one check every e-mail address entering the system passes (identity's sign-ups, the
finance team's discount requests, …): no control or formatting characters, the normal form
(trimmed, lower-cased), a dotted domain; ``EmailSyntax`` (the email-validator adapter in a
running service) adds the full RFC grammar on top."""

from __future__ import annotations

import unicodedata
from typing import Protocol

from mas.core.platform.errors import FieldError, ValidationFailed


class EmailSyntax(Protocol):
    """Port: a full check of an address's syntax (RFC 5321/5322/6531, IDNA); no DNS lookups."""

    def problem(self, address: str) -> str | None:
        """Why ``address`` is not an e-mail address, or None when it is one."""
        ...


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


# Control (Cc: NUL, TAB, LF, DEL…), format (Cf: the bidi overrides U+202A–U+202E and isolates
# U+2066–U+2069, zero-width joiners…), surrogates, private-use and unassigned code points, and
# the line/paragraph separators: none belongs in an address, and some make one display as
# another (``a\u202e@evil.com``).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _unsafe_character(raw: str) -> str | None:
    for char in raw:
        if unicodedata.category(char) in _UNSAFE_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


INVALID_EMAIL = "invalid_email"
"""The code of an address the server refuses though ``format: email`` admits it (a domain with
no dot, a special-use domain): every route taking an address declares it (``mas.http.openapi``)."""


def check_email(raw: str, field: str = "email", syntax: EmailSyntax | None = None) -> str:
    """The one check every e-mail address entering the system passes; returns the normal form
    (trimmed, lower-cased). The rules here are the standard library's; ``syntax`` (the
    email-validator adapter in a running service) adds the full RFC grammar on top."""
    unsafe = _unsafe_character(raw)
    if unsafe is not None:
        raise ValidationFailed(
            "an email address cannot contain control or formatting characters",
            code=INVALID_EMAIL,
            errors=[FieldError(field, f"contains the control or formatting character {unsafe}")],
        )
    email = normalise_email(raw)
    local, at, domain = email.partition("@")
    problem = None
    if (
        not at
        or not local
        or "@" in domain
        or "." not in domain
        or domain.startswith(".")
        or domain.endswith(".")
        or any(char.isspace() for char in email)
        or len(email) > 255
    ):
        problem = "not a valid email"
    elif syntax is not None:
        problem = syntax.problem(email)
    if problem is not None:
        raise ValidationFailed(
            "that is not an email address",
            code=INVALID_EMAIL,
            errors=[FieldError(field, problem)],
        )
    return email
