"""In-memory stand-ins for the communications ports (communications.md §8 "Fakes").

``FakeWhatsApp`` records every call, answers with deterministic ids (``fake-1``, ``fake-2``…),
keeps a template catalogue and can be told to fail the next calls, either retryably
(``ProviderUnavailable``) or for good (``ProviderRejected``). Its webhook is signed like Meta's
(``X-Hub-Signature-256`` over the raw body with ``app_secret``); ``signed_webhook`` builds one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import msgspec

from mas.core.comms.ports.whatsapp import (
    BadSignature,
    BadWebhookBody,
    Provider,
    ProviderRejected,
    ProviderSend,
    ProviderTemplate,
    ProviderUnavailable,
    TemplateSpec,
    WhatsAppEvent,
    header,
)
from mas.core.comms.whatsapp.model import Account, PhoneNumber

FAKE_SECRET = "fake-app-secret"
MAX_FAKE_WEBHOOK_BYTES = 1_000_000
_PARAM = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass(frozen=True)
class WhatsAppCall:
    method: Literal[
        "send_template",
        "send_text",
        "list_templates",
        "upsert_template",
        "delete_template",
        "account",
    ]
    args: dict[str, Any]


@dataclass
class _Failure:
    retryable: bool
    code: str
    message: str
    retry_after: int | None


@dataclass
class FakeWhatsApp:
    name: Provider = "META"
    app_secret: str = FAKE_SECRET
    calls: list[WhatsAppCall] = field(default_factory=list)
    templates: dict[tuple[str, str], ProviderTemplate] = field(default_factory=dict)
    _ids: int = 0
    _failures: list[_Failure] = field(default_factory=list)

    def fail_next(
        self,
        n: int = 1,
        *,
        retryable: bool = True,
        code: str = "131026",
        message: str = "Message undeliverable",
        retry_after: int | None = None,
    ) -> None:
        """The next ``n`` calls fail (recorded all the same, as the provider saw them)."""
        self._failures.extend(_Failure(retryable, code, message, retry_after) for _ in range(n))

    def sent(self) -> list[WhatsAppCall]:
        return [c for c in self.calls if c.method in ("send_template", "send_text")]

    def _record(self, call: WhatsAppCall) -> None:
        self.calls.append(call)
        if self._failures:
            failure = self._failures.pop(0)
            if failure.retryable:
                raise ProviderUnavailable(
                    self.name,
                    failure.message,
                    provider_code=failure.code,
                    retry_after=failure.retry_after,
                )
            raise ProviderRejected(self.name, failure.code, failure.message)

    def _next_id(self) -> str:
        self._ids += 1
        return f"fake-{self._ids}"

    async def send_template(
        self, *, to: str, name: str, language: str, params: list[str], media_url: str | None
    ) -> ProviderSend:
        args = {
            "to": to,
            "name": name,
            "language": language,
            "params": list(params),
            "media_url": media_url,
        }
        self._record(WhatsAppCall("send_template", args))
        return ProviderSend(
            provider_message_id=self._next_id(), request_payload=msgspec.json.encode(args)
        )

    async def send_text(self, *, to: str, body: str) -> ProviderSend:
        args = {"to": to, "body": body}
        self._record(WhatsAppCall("send_text", args))
        return ProviderSend(
            provider_message_id=self._next_id(), request_payload=msgspec.json.encode(args)
        )

    async def list_templates(self) -> list[ProviderTemplate]:
        self._record(WhatsAppCall("list_templates", {}))
        return list(self.templates.values())

    async def upsert_template(self, spec: TemplateSpec) -> ProviderTemplate:
        self._record(WhatsAppCall("upsert_template", {"spec": spec}))
        key = (spec.name, spec.language)
        known = self.templates.get(key)
        template = ProviderTemplate(
            provider_id=known.provider_id if known is not None else self._next_id(),
            name=spec.name,
            language=spec.language,
            category=spec.category,
            status="PENDING",
            body=spec.body,
            header=spec.header,
            footer=spec.footer,
            buttons=list(spec.buttons),
            param_count=len(set(_PARAM.findall(spec.body))),
        )
        self.templates[key] = template
        return template

    async def delete_template(self, name: str) -> None:
        self._record(WhatsAppCall("delete_template", {"name": name}))
        gone = [key for key in self.templates if key[0] == name]
        if not gone:
            raise ProviderRejected(self.name, "100/2593002", f"template {name} does not exist")
        for key in gone:
            del self.templates[key]

    async def account(self) -> Account:
        self._record(WhatsAppCall("account", {}))
        return Account(
            provider=self.name,
            account_id="fake-waba",
            name="Fake business account",
            phone_numbers=[PhoneNumber(id="fake-number", display_phone_number="+910000000000")],
        )

    def verify_and_parse(self, headers: Mapping[str, str], body: bytes) -> list[WhatsAppEvent]:
        if len(body) > MAX_FAKE_WEBHOOK_BYTES:
            raise BadWebhookBody("the webhook body is too large")
        given = header(headers, "X-Hub-Signature-256") or ""
        expected = "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise BadSignature("the X-Hub-Signature-256 signature does not match the body")
        try:
            return msgspec.json.decode(body, type=list[WhatsAppEvent])
        except msgspec.DecodeError as exc:
            raise BadWebhookBody(f"not a list of events: {exc}") from None


def signed_webhook(
    events: list[WhatsAppEvent], *, app_secret: str = FAKE_SECRET
) -> tuple[dict[str, str], bytes]:
    """Headers and body of a webhook ``FakeWhatsApp.verify_and_parse`` accepts."""
    body = msgspec.json.encode(events)
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}, body


def status_event(
    provider_message_id: str,
    status: Literal["SENT", "DELIVERED", "READ", "FAILED"],
    *,
    peer_phone: str,
    at: datetime,
) -> WhatsAppEvent:
    return WhatsAppEvent(
        kind="status",
        provider_message_id=provider_message_id,
        status=status,
        peer_phone=peer_phone,
        timestamp=at,
    )
