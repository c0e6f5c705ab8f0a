"""The mail part's side of the messenger (``Messenger.email``): validate, render, queue.

Everything is checked before anything is written: every address (422 ``invalid_address``
naming ``to`` or ``to[i]``; at most 50 recipients), the template (a code template declared in a
manifest's ``mail_templates``, else the live database template with that key: unknown is 404
``template_not_found``, inactive 409 ``template_inactive``) and the data (422
``missing_variables`` listing every name). Values are HTML-escaped in database templates;
code templates are the sending domain's own functions.

The send log is the platform outbox, whose rows have one recipient: a mail to several people is
one row each, keyed ``key`` for the first recipient and ``key:2``, ``key:3``… for the others,
so a repeated call writes nothing (``UnitOfWork.send`` keeps the first row of a key, even
against a concurrent transaction) and returns the first row's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from mas.core.comms.mail.model import MAX_KEY, MAX_RECIPIENTS
from mas.core.comms.mail.ports import AddressSyntax, MailUnitOfWork
from mas.core.comms.mail.rendering import render
from mas.core.comms.ports.templates import TemplateEngine
from mas.core.platform.errors import Conflict, FieldError, NotFound, ValidationFailed
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import MailTemplate, RenderedEmail
from mas.core.platform.ports.uow import UnitOfWork

MAX_ADDRESS = 254
MAX_SUBJECT = 300


class MailWriter:
    def __init__(
        self,
        *,
        clock: Clock,
        templates: Mapping[str, MailTemplate],
        engine: TemplateEngine,
        addresses: AddressSyntax | None = None,
    ) -> None:
        self._clock = clock
        self._templates = templates
        self._engine = engine
        self._addresses = addresses

    async def email(
        self,
        uow: UnitOfWork,
        *,
        template: str,
        to: str | list[str],
        data: Mapping[str, Any],
        key: str,
        related: tuple[str, uuid.UUID] | None = None,
        sent_by: uuid.UUID | None = None,
        attachments: Sequence[str] = (),
    ) -> uuid.UUID:
        recipients = self.recipients(to)
        keys = _keys(key, len(recipients))
        mail = await self.rendered(uow, template, data)
        now = self._clock.now()
        kept: list[uuid.UUID] = []
        for address, row_key in zip(recipients, keys, strict=True):
            row_id = await uow.send(
                OutboxMessage.email(
                    to=address,
                    subject=mail.subject,
                    body_text=mail.text,
                    body_html=mail.html,
                    now=now,
                    template=template,
                    key=row_key,
                    related=related,
                    sent_by=sent_by,
                    attachment_keys=list(attachments),
                )
            )
            kept.append(row_id)
        return kept[0]  # recipients() refuses an empty list

    def recipients(self, to: str | list[str]) -> list[str]:
        """The normalised addresses (trimmed, lower-cased, duplicates dropped), or a 422."""
        given = [to] if isinstance(to, str) else list(to)
        if not given:
            raise _invalid("to", "at least one recipient")
        if len(given) > MAX_RECIPIENTS:
            raise _invalid("to", f"at most {MAX_RECIPIENTS} recipients")
        found: list[str] = []
        for index, raw in enumerate(given):
            field = "to" if isinstance(to, str) else f"to[{index}]"
            address = raw.strip().lower()
            problem = self._problem(address)
            if problem is not None:
                raise _invalid(field, problem)
            if address not in found:
                found.append(address)
        return found

    async def rendered(
        self, uow: UnitOfWork, template: str, data: Mapping[str, Any]
    ) -> RenderedEmail:
        code = self._templates.get(template)
        mail = (
            _from_code(template, code, data) if code else await self._from_db(uow, template, data)
        )
        if len(mail.subject) > MAX_SUBJECT:
            raise ValidationFailed(
                f"The subject is longer than {MAX_SUBJECT} characters",
                code="template_unrenderable",
                errors=[FieldError("subject", f"at most {MAX_SUBJECT} characters")],
            )
        return mail

    async def _from_db(
        self, uow: UnitOfWork, template: str, data: Mapping[str, Any]
    ) -> RenderedEmail:
        stored = await cast(MailUnitOfWork, uow).email_templates.by_key(template)
        if stored is None:
            raise NotFound(f"no email template '{template[:80]}'", code="template_not_found")
        if not stored.is_active:
            raise Conflict(
                f"the email template '{stored.key}' is inactive", code="template_inactive"
            )
        preview = render(self._engine, stored, data)
        return RenderedEmail(subject=preview.subject, text=preview.text, html=preview.html)

    def _problem(self, address: str) -> str | None:
        if not address or len(address) > MAX_ADDRESS:
            return f"an address of 1 to {MAX_ADDRESS} characters"
        if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in address):
            return "an address holds no spaces or control characters"
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain:
            return "not an e-mail address"
        return self._addresses.problem(address) if self._addresses else None


def _from_code(name: str, template: MailTemplate, data: Mapping[str, Any]) -> RenderedEmail:
    try:
        return template(data)
    except KeyError as missing:
        # A code template reads its data by name; a name the sender did not give is the
        # sender's 422, as for a database template.
        raise ValidationFailed(
            f"No value given for: {missing.args[0]} (template {name})",
            code="missing_variables",
            errors=[FieldError(f"data.{missing.args[0]}", "value required")],
        ) from None


def _keys(key: str, count: int) -> list[str]:
    keys = [key] + [f"{key}:{n}" for n in range(2, count + 1)]
    if not key or len(keys[-1]) > MAX_KEY:
        raise ValidationFailed(
            "The idempotency key is too long",
            code="invalid_key",
            errors=[FieldError("key", f"1 to {MAX_KEY} characters with its recipient suffix")],
        )
    return keys


def _invalid(field: str, problem: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {problem}", code="invalid_address", errors=[FieldError(field, problem)]
    )
