"""The messenger: how every domain sends email, in-app notifications, WhatsApp messages and SMS.

The communications domain implements it (``mas.core.comms.messenger``); every other domain
receives it as a port and never talks to a provider. Each call writes rows in the *caller's*
unit of work, so a message commits (or not) with the business change that caused it, and is
delivered by a task after the commit, with retries. ``key`` is the idempotency key: the same key
twice is one row and one provider call.

Code templates (system mail) are declared by the domain that sends them, in its manifest's
``mail_templates``: a name (``auth.signup_otp``) and a function from the data to a
``RenderedEmail``. A name that is not a code template is looked up among the editable database
templates of the communications domain.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import msgspec

from mas.core.platform.ports.uow import UnitOfWork


class RenderedEmail(msgspec.Struct, frozen=True, kw_only=True):
    subject: str
    text: str
    html: str | None = None


MailTemplate = Callable[[Mapping[str, Any]], RenderedEmail]
"""A code template: the data a sender passes → the rendered mail (pure)."""


class NotifyOutcome(enum.StrEnum):
    DELIVERED = "delivered"
    CAPPED = "capped"  # a student's daily cap was reached: nothing was written
    DUPLICATE = "duplicate"  # the dedupe key was used before for this user
    SKIPPED_PREF = "skipped_pref"  # the user turned this category off


class NotifyResult(msgspec.Struct, frozen=True, kw_only=True):
    outcome: NotifyOutcome
    notification_id: uuid.UUID | None = None


class Messenger(Protocol):
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
        """Queue an email rendered from ``template`` (a code template, else a database one)
        with ``data``; the id of its send-log row (the existing row's for a known ``key``).
        An invalid address or a variable the template lacks is a 422 before anything is
        written. ``attachments``: storage keys of objects already stored (``Storage.put``);
        delivery reads and attaches them, named by the key's last segment."""
        ...

    async def notify(
        self,
        uow: UnitOfWork,
        user_id: uuid.UUID,
        category: str,
        title: str,
        body: str,
        *,
        link: str | None = None,
        dedupe_key: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> NotifyResult:
        """An in-app notification, unless the user's preferences, the daily cap of students
        or ``dedupe_key`` say otherwise (the outcome says which)."""
        ...

    async def whatsapp(
        self,
        uow: UnitOfWork,
        *,
        to: str,
        template: str,
        language: str,
        params: list[str],
        audience: str,
        ref: uuid.UUID | None,
        key: str,
        sent_by: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Queue an approved WhatsApp template to ``to`` (E.164); the message row's id."""
        ...

    async def sms(
        self,
        uow: UnitOfWork,
        *,
        to: str,
        body: str,
        key: str,
        related: tuple[str, uuid.UUID] | None = None,
        sent_by: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Queue a plain SMS of ``body`` (1 to 480 characters, not only blanks) to ``to``
        (E.164, ``+919900000001``); the SMS log row's id (the existing row's for a known
        ``key``). A bad number, body or key is a 422 before anything is written.
        ``related=("raw_lead", lead_id)`` files it in the lead's SMS log. Sent by the
        telephony provider after the commit; with telephony unconfigured the row ends FAILED
        (``error="telephony is not configured"``) without a provider call."""
        ...
