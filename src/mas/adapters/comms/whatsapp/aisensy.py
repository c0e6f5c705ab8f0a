"""AiSensy as a ``WhatsAppProvider``.

AiSensy sends approved templates through "API campaigns": ``POST /campaign/t1/api/v2`` with
``apiKey``, ``campaignName``, ``destination``, ``userName``, ``templateParams`` and ``media``
(``{url, filename}``) in the JSON body. A campaign fixes its template and language in AiSensy's
dashboard, so **we name each API campaign after its template** (``name`` → ``campaignName``;
``language`` is not sent). The answer is ``{"success": "true", "submitted_message_id": …}``;
refusals carry ``message``/``errorMessage`` and a 4xx status.

What AiSensy cannot do, the adapter refuses with ``ProviderUnsupported`` rather than pretending:
free text (``send_text``; the campaign API sends templates only) and template management
(``list_templates``, ``upsert_template``, ``delete_template``: templates live in AiSensy's
dashboard). The template sync skips a provider that raises it.

Webhooks: AiSensy posts to the URL we register, which carries a shared secret as ``?key=``; the
HTTP route copies that value into the ``X-Webhook-Key`` entry of the mapping it hands to
``verify_and_parse``, which compares it with ``hmac.compare_digest`` before reading the body.
Payload: ``{"topic": "message.status.updated" | "message.sender.user", "created_at",
"data": {"message": {"id" | "messageId", "phone_number", "status", "message_content": {"text"},
"failureResponse": {"code", "reason"}}}}``; other topics are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from mas.adapters.comms.whatsapp._common import (
    MAX_WEBHOOK_BYTES,
    Id,
    Phone,
    Short,
    Text,
    check_size,
    e164,
    retry_after,
    same_secret,
)
from mas.core.comms.ports.whatsapp import (
    BadSignature,
    BadWebhookBody,
    EventStatus,
    ProviderRejected,
    ProviderSend,
    ProviderTemplate,
    ProviderUnavailable,
    ProviderUnsupported,
    TemplateSpec,
    WhatsAppEvent,
    header,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("mas.comms")

AISENSY_URL = "https://backend.aisensy.com"
CAMPAIGN_PATH = "/campaign/t1/api/v2"
SECRET_HEADER = "X-Webhook-Key"
PROVIDER = "AISENSY"
_NO_TEMPLATES = "AiSensy has no template API; templates are managed in the AiSensy dashboard"
_STATUS: dict[str, EventStatus] = {
    "sent": "SENT",
    "delivered": "DELIVERED",
    "read": "READ",
    "failed": "FAILED",
}


class AiSensyProvider:
    name = "AISENSY"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        user_name: str = "MAS",
        base_url: str = AISENSY_URL,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
        max_webhook_bytes: int = MAX_WEBHOOK_BYTES,
    ) -> None:
        self._api_key = api_key
        self._secret = webhook_secret
        self._user_name = user_name
        self._url = f"{base_url.rstrip('/')}{CAMPAIGN_PATH}"
        self._http = http
        self._owns_http = http is None
        self._timeout_s = timeout_s
        self._max_webhook_bytes = max_webhook_bytes

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send_template(
        self, *, to: str, name: str, language: str, params: list[str], media_url: str | None
    ) -> ProviderSend:
        payload: dict[str, Any] = {
            "apiKey": self._api_key,
            "campaignName": name,
            "destination": e164(to),
            "userName": self._user_name,
            "templateParams": list(params),
        }
        if media_url is not None:
            filename = media_url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "file"
            payload["media"] = {"url": media_url, "filename": filename}
        answer = await self._post(msgspec.json.encode(payload))
        message_id = answer.get("submitted_message_id") or answer.get("messageId")
        if not isinstance(message_id, str) or not message_id:
            # Accepted, but we cannot tell what: retrying could send twice, so it is a verdict.
            raise ProviderRejected(
                PROVIDER, "unreadable_answer", "the send answer carries no message id"
            )
        # What the message row keeps: the request without the API key.
        kept = msgspec.json.encode({k: v for k, v in payload.items() if k != "apiKey"})
        return ProviderSend(provider_message_id=message_id, request_payload=kept)

    async def send_text(self, *, to: str, body: str) -> ProviderSend:
        raise ProviderUnsupported(
            PROVIDER, "send_text", "the campaign API sends approved templates only"
        )

    async def list_templates(self) -> list[ProviderTemplate]:
        raise ProviderUnsupported(PROVIDER, "list_templates", _NO_TEMPLATES)

    async def upsert_template(self, spec: TemplateSpec) -> ProviderTemplate:
        raise ProviderUnsupported(PROVIDER, "upsert_template", _NO_TEMPLATES)

    async def delete_template(self, name: str) -> None:
        raise ProviderUnsupported(PROVIDER, "delete_template", _NO_TEMPLATES)

    async def _post(self, raw: bytes) -> dict[str, Any]:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient()
        try:
            response = await self._http.post(
                self._url,
                content=raw,
                headers={"Content-Type": "application/json"},
                timeout=self._timeout_s,
            )
        except httpx.TransportError as exc:
            raise ProviderUnavailable(PROVIDER, f"transport error: {exc!r}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        status = response.status_code
        refused = isinstance(answer, dict) and answer.get("success") in (False, "false")
        if status < 300 and isinstance(answer, dict) and not refused:
            return answer
        wait = retry_after(response.headers.get("retry-after"))
        message = _message(answer) or f"HTTP {status}"
        log.warning("whatsapp.aisensy.error", extra={"status": status, "error": message})
        if status == 429 or status >= 500:
            raise ProviderUnavailable(
                PROVIDER, message, provider_code=f"http_{status}", retry_after=wait
            )
        raise ProviderRejected(PROVIDER, f"http_{status}", message, http_status=status)

    # --- webhooks -----------------------------------------------------------------------------

    def verify_and_parse(self, headers: Mapping[str, str], body: bytes) -> list[WhatsAppEvent]:
        check_size(body, self._max_webhook_bytes)
        given = header(headers, SECRET_HEADER)
        if not given or not self._secret or not same_secret(given, self._secret):
            raise BadSignature("the AiSensy webhook key is missing or wrong")
        return parse_webhook(body)


def _message(answer: Any) -> str | None:
    if not isinstance(answer, dict):
        return None
    for key in ("message", "errorMessage", "error"):
        value = answer.get(key)
        if isinstance(value, str) and value:
            return value[:500]
    return None


class _Failure(msgspec.Struct):
    code: int | Short | None = None
    reason: Text | None = None


class _Content(msgspec.Struct):
    text: Text | None = None


class _Message(msgspec.Struct):
    phone_number: Phone
    id: Id | None = None
    messageId: Id | None = None  # noqa: N815 - the wire name
    status: Short | None = None
    type: Short | None = None
    message_content: _Content | None = None
    failureResponse: _Failure | None = None  # noqa: N815 - the wire name


class _Data(msgspec.Struct):
    message: _Message | None = None


class _Envelope(msgspec.Struct):
    topic: Short
    created_at: Short | int | None = None
    data: msgspec.Raw = msgspec.Raw(b"{}")


def parse_webhook(body: bytes) -> list[WhatsAppEvent]:
    try:
        envelope = msgspec.json.decode(body, type=_Envelope)
    except msgspec.DecodeError as exc:
        raise BadWebhookBody(f"not an AiSensy webhook: {exc}") from None
    if envelope.topic not in ("message.status.updated", "message.sender.user"):
        return []
    try:
        data = msgspec.json.decode(envelope.data, type=_Data)
    except msgspec.DecodeError as exc:
        raise BadWebhookBody(f"not an AiSensy message event: {exc}") from None
    message = data.message
    message_id = message and (message.id or message.messageId)
    if message is None or not message_id:
        raise BadWebhookBody("the AiSensy event names no message")
    at = _when(envelope.created_at)
    if envelope.topic == "message.sender.user":
        content = message.message_content
        return [
            WhatsAppEvent(
                kind="message",
                provider_message_id=message_id,
                status="RECEIVED",
                peer_phone=e164(message.phone_number),
                timestamp=at,
                text=content.text if content is not None else None,
                message_type=message.type,
            )
        ]
    mapped = _STATUS.get((message.status or "").lower())
    if mapped is None:
        return []
    failure = message.failureResponse
    return [
        WhatsAppEvent(
            kind="status",
            provider_message_id=message_id,
            status=mapped,
            peer_phone=e164(message.phone_number),
            timestamp=at,
            error_code=str(failure.code) if failure is not None and failure.code else None,
            error_message=failure.reason if failure is not None else None,
        )
    ]


def _when(value: str | int | None) -> datetime:
    """``created_at`` as ISO 8601 or epoch milliseconds."""
    if isinstance(value, int) and 0 <= value < 10**14:
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise BadWebhookBody("the AiSensy event's created_at is unreadable") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    raise BadWebhookBody("the AiSensy event has no created_at")
