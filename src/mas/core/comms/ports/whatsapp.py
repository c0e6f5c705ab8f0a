"""The WhatsApp provider port (communications.md §8) and the errors its adapters raise.

Two adapters implement it: Meta's Cloud API and AiSensy. Whatever the provider, a failure is one
of three things:

- ``ProviderRejected``: the provider refused the request and will refuse it again (unknown or
  unapproved template, number not on WhatsApp, bad credentials). A verdict: never retried; the
  message becomes FAILED with the provider's code.
- ``ProviderUnavailable``: throttled (429), down (5xx), unreachable or timed out. ``Transient``,
  so the task runner retries it; ``retry_after`` carries the provider's hint when it gave one.
- ``ProviderUnsupported``: the provider has no such operation (AiSensy manages templates in its
  dashboard only). Callers that iterate providers (the template sync) skip on it.

Webhooks: ``verify_and_parse`` checks the signature over the raw bytes before reading anything
(``BadSignature`` → 401, nothing stored), then turns the provider's shape into ``WhatsAppEvent``s,
ignoring kinds it does not know; a body too large or not the provider's shape is
``BadWebhookBody`` (→ 400; the caller keeps the raw body for inspection).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal, Protocol

import msgspec

from mas.core.platform.errors import (
    BadRequest,
    Conflict,
    ExternalUnavailable,
    Unauthorized,
    UpstreamRejected,
)

Provider = Literal["META", "AISENSY"]
TemplateCategory = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
TemplateStatus = Literal["PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED"]
EventKind = Literal["message", "status"]
# RECEIVED is an inbound message; the others are the life of an outbound one.
EventStatus = Literal["SENT", "DELIVERED", "READ", "FAILED", "RECEIVED"]


class ProviderSend(msgspec.Struct, frozen=True, kw_only=True):
    """A send the provider accepted."""

    provider_message_id: str
    # The JSON body we sent, secrets removed (AiSensy's apiKey travels in the body): what the
    # message row keeps as ``request_payload``.
    request_payload: bytes


class TemplateButton(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["QUICK_REPLY", "URL", "PHONE_NUMBER"]
    text: str
    url: str | None = None
    phone_number: str | None = None


class TemplateSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A template as we ask the provider to create or change it. ``body`` uses ``{{1}}``…"""

    name: str
    language: str
    category: TemplateCategory
    body: str
    header: str | None = None
    footer: str | None = None
    buttons: list[TemplateButton] = msgspec.field(default_factory=list)
    # Sample values for the body's parameters; Meta requires them when the body has any.
    examples: list[str] = msgspec.field(default_factory=list)


class ProviderTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """A template as the provider holds it."""

    provider_id: str | None
    name: str
    language: str
    category: TemplateCategory | None
    status: TemplateStatus
    body: str
    header: str | None = None
    footer: str | None = None
    buttons: list[TemplateButton] = msgspec.field(default_factory=list)
    param_count: int = 0
    rejection_reason: str | None = None


class WhatsAppEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An inbound message (``kind="message"``, status RECEIVED) or a status change of ours."""

    kind: EventKind
    provider_message_id: str
    status: EventStatus
    peer_phone: str  # E.164 with the leading +
    timestamp: datetime  # timezone-aware UTC
    text: str | None = None
    peer_name: str | None = None
    message_type: str | None = None  # inbound: text, image, button…
    error_code: str | None = None
    error_message: str | None = None


class WhatsAppProvider(Protocol):
    name: Provider

    async def send_template(
        self, *, to: str, name: str, language: str, params: list[str], media_url: str | None
    ) -> ProviderSend: ...

    async def send_text(self, *, to: str, body: str) -> ProviderSend: ...

    async def list_templates(self) -> list[ProviderTemplate]: ...

    async def upsert_template(self, spec: TemplateSpec) -> ProviderTemplate: ...

    async def delete_template(self, name: str) -> None: ...

    def verify_and_parse(self, headers: Mapping[str, str], body: bytes) -> list[WhatsAppEvent]: ...


# --- errors ------------------------------------------------------------------------------------


class ProviderRejected(UpstreamRejected):
    """The provider refused; the same request will be refused again (HTTP 502)."""

    code = "provider_rejected"
    title = "The messaging provider refused the request"

    def __init__(
        self,
        provider: str,
        provider_code: str,
        provider_message: str,
        *,
        http_status: int | None = None,
    ) -> None:
        super().__init__(f"{provider} refused the request: {provider_message} ({provider_code})")
        self.provider = provider
        self.provider_code = provider_code
        self.provider_message = provider_message
        self.http_status = http_status


class ProviderUnavailable(ExternalUnavailable):
    """Throttled, down or unreachable: worth trying again later."""

    code = "provider_unavailable"

    def __init__(
        self,
        provider: str,
        why: str,
        *,
        provider_code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(f"{provider} is unavailable: {why}", retry_after=retry_after)
        self.provider = provider
        self.provider_code = provider_code


class ProviderUnsupported(Conflict):
    """The sender's provider has no such operation (HTTP 409: use a sender of another provider)."""

    code = "provider_unsupported"
    title = "Not supported by the messaging provider"

    def __init__(self, provider: str, operation: str, why: str) -> None:
        super().__init__(f"{provider} does not support {operation}: {why}")
        self.provider = provider
        self.operation = operation


class BadSignature(Unauthorized):
    code = "bad_signature"
    title = "Webhook signature invalid"


class BadWebhookBody(BadRequest):
    code = "bad_webhook_body"
    title = "Webhook body unreadable"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (a plain dict may carry any casing)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, item in headers.items():
        if key.lower() == wanted:
            return item
    return None
