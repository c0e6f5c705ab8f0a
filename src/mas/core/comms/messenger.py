"""The messenger every domain sends through (``mas.core.platform.ports.messenger.Messenger``).

Four writers, one per channel, each owned by its part: ``mail`` (the send log on the outbox,
code and database templates), ``notifications`` (the feed, preferences, the students' daily
cap), ``whatsapp`` (the 24-hour window, approved templates, quiet hours) and ``telephony``
(SMS: the SMS log, sent by Exotel). Every call writes in the caller's unit of work; delivery
happens after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from mas.core.comms.mail.writer import MailWriter
from mas.core.comms.notifications.writer import NotificationWriter
from mas.core.comms.telephony.writer import SmsWriter
from mas.core.comms.whatsapp.writer import WhatsAppMessageWriter
from mas.core.platform.ports.messenger import Messenger, NotifyResult
from mas.core.platform.ports.uow import UnitOfWork


class CommsMessenger:
    def __init__(
        self,
        mail: MailWriter,
        notify: NotificationWriter,
        whatsapp: WhatsAppMessageWriter,
        sms: SmsWriter,
    ) -> None:
        self._mail = mail
        self._notify = notify
        self._whatsapp = whatsapp
        self._sms = sms

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
        return await self._mail.email(
            uow,
            template=template,
            to=to,
            data=data,
            key=key,
            related=related,
            sent_by=sent_by,
            attachments=attachments,
        )

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
        return await self._notify.notify(
            uow, user_id, category, title, body, link=link, dedupe_key=dedupe_key, data=data
        )

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
        return await self._whatsapp.whatsapp(
            uow,
            to=to,
            template=template,
            language=language,
            params=params,
            audience=audience,
            ref=ref,
            key=key,
            sent_by=sent_by,
        )

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
        return await self._sms.sms(uow, to=to, body=body, key=key, related=related, sent_by=sent_by)


def as_port(messenger: CommsMessenger) -> Messenger:
    """The messenger as the platform port every domain takes (mypy checks it implements it)."""
    return messenger
