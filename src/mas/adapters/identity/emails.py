"""The full e-mail address grammar, from ``email-validator`` (core keeps only stdlib rules).

``email-validator`` checks the local part (RFC 5322 dot-atoms, SMTPUTF8), the domain (IDNA,
label and total lengths) and refuses unsafe characters; with ``check_deliverability=False`` it
makes no DNS query. It also refuses special-use domains (``.local``, ``.test``, ``.internal``
is not one, ``.localhost``…) because mail to them does not cross the Internet. mas usually runs
on a closed network where such domains are real (``corp.local``), and the emailed code proves
the mailbox anyway, so only the syntax counts: an address on such a domain is checked with its
top-level label read as ``example`` (a name the library accepts).

The library (with idna) is imported by the first check, not with the app.
"""

from __future__ import annotations


class EmailValidatorSyntax:
    def problem(self, address: str) -> str | None:
        from email_validator import EmailNotValidError, validate_email

        try:
            validate_email(_syntax_only(address), check_deliverability=False)
        except EmailNotValidError as refused:
            return str(refused)
        return None


def _syntax_only(address: str) -> str:
    import email_validator

    head, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if at and labels[-1].lower() in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        return f"{head}@{'.'.join([*labels[:-1], 'example'])}"
    return address
