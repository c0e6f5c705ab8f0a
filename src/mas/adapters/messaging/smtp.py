"""Deliver outbox mail over SMTP with aiosmtplib.

Errors are sorted for the outbox: a 5xx reply (unknown recipient, failed login, no relay) is
permanent because the same attempt will fail again; a 4xx reply, a timeout or a refused or
dropped connection is temporary and the job retries with backoff. The Message-ID is derived
from the outbox id, so a retried send carries the same id and receivers can drop a duplicate.
"""

from __future__ import annotations

import logging
import re
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from mas.adapters.messaging.local import parse_address, recipient_address
from mas.core.platform.ports.mail import Envelope, TransportError
from mas.settings import Settings

log = logging.getLogger("mas.mail")


class SmtpTransport:
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        sender: str,
        starttls: bool,
        implicit_tls: bool,
        timeout_s: float,
    ) -> None:
        """``implicit_tls`` (port 465) wins over ``starttls``; ``timeout_s`` bounds each step."""
        self._host = host
        self._port = port
        self._user = user
        self._password = password
        self._sender = sender
        self._implicit_tls = implicit_tls
        self._starttls = starttls and not implicit_tls
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_pass,
            sender=settings.mail_from,
            starttls=settings.smtp_starttls,
            implicit_tls=settings.smtp_implicit_tls,
            timeout_s=settings.smtp_timeout_ms / 1000,
        )

    @property
    def configured(self) -> bool:
        return bool(self._host)

    async def deliver(self, envelope: Envelope) -> None:
        recipient = recipient_address(envelope)
        message, sender = self._message(envelope)
        try:
            await aiosmtplib.send(
                message,
                sender=sender,
                recipients=[recipient],
                hostname=self._host,
                port=self._port,
                username=self._user or None,
                password=self._password if self._user else None,
                use_tls=self._implicit_tls,
                start_tls=self._starttls,
                timeout=self._timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            permanent = bool(codes) and all(code >= 500 for code in codes)
            raise self._failed(envelope, exc, codes[0] if codes else None, permanent) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise self._failed(envelope, exc, exc.code, exc.code >= 500) from exc
        except aiosmtplib.SMTPNotSupported as exc:
            # The server lacks STARTTLS or AUTH that the settings ask for: fix the settings.
            raise self._failed(envelope, exc, None, True) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise self._failed(envelope, exc, None, False) from exc
        log.info(
            "smtp.delivered", extra={"message_id": envelope.message_id, "smtp_host": self._host}
        )

    def _message(self, envelope: Envelope) -> tuple[EmailMessage, str]:
        from_header = envelope.sender or self._sender
        sender = parse_address(from_header)
        if sender is None:
            raise TransportError(f"sender {from_header!r} is not an email address", permanent=True)
        message = EmailMessage()
        try:
            message["From"] = from_header
            message["To"] = envelope.recipient
            message["Subject"] = envelope.subject
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = message_id(envelope.message_id, sender)
            message.set_content(envelope.body_text)
            if envelope.body_html:
                message.add_alternative(envelope.body_html, subtype="html")
            for attached in envelope.attachments:
                maintype, _, subtype = attached.content_type.partition("/")
                message.add_attachment(
                    attached.data,
                    maintype=maintype or "application",
                    subtype=subtype or "octet-stream",
                    filename=attached.filename,
                )
        except ValueError as exc:  # a line break in a header: the message itself is bad
            raise TransportError(f"message cannot be built: {exc}", permanent=True) from exc
        return message, sender

    def _failed(
        self, envelope: Envelope, exc: Exception, code: int | None, permanent: bool
    ) -> TransportError:
        log.warning(
            "smtp.delivery_failed",
            extra={
                "message_id": envelope.message_id,
                "smtp_host": self._host,
                "smtp_code": code,
                "permanent": permanent,
                "error": repr(exc),
            },
        )
        reason = f"SMTP {code}: {exc}" if code is not None else f"SMTP {type(exc).__name__}: {exc}"
        return TransportError(reason, permanent=permanent)


def message_id(outbox_id: str, sender: str) -> str:
    """``<outbox-id@sender-domain>``: the same for every attempt at one outbox message."""
    local = re.sub(r"[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]", "-", outbox_id) or "message"
    domain = re.sub(r"[^A-Za-z0-9.-]", "-", sender.rpartition("@")[2]) or "mas.local"
    return f"<{local}@{domain}>"
