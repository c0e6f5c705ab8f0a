"""Meta's WhatsApp Cloud API (Graph API) as a ``WhatsAppProvider``.

Sends: ``POST /{version}/{phone-number-id}/messages`` with ``messaging_product: "whatsapp"``.
Templates: ``/{version}/{waba-id}/message_templates`` (list with cursor paging, create, delete
by name); an existing template is edited with ``POST /{version}/{template-id}``. Every call
carries the access token as a bearer token.

Errors come as Graph error objects ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id", "error_data"}}``. HTTP 429/5xx, transport failures, Graph throttling codes and
errors flagged ``is_transient`` become ``ProviderUnavailable`` (retried); everything else is
``ProviderRejected`` with Graph's code (e.g. 131026 receiver not on WhatsApp, 132001 template
does not exist, 190 bad token).

Webhooks: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>``,
checked with ``hmac.compare_digest`` before the body is parsed. ``verify_subscription`` answers
the ``hub.mode``/``hub.verify_token``/``hub.challenge`` handshake of the GET endpoint.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from mas.adapters.comms.whatsapp._common import (
    MAX_EVENTS,
    MAX_WEBHOOK_BYTES,
    Id,
    Phone,
    Short,
    Text,
    check_size,
    digits,
    e164,
    from_unix,
    hmac_sha256_hex,
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
    TemplateButton,
    TemplateCategory,
    TemplateSpec,
    TemplateStatus,
    WhatsAppEvent,
    header,
)
from mas.core.comms.whatsapp.model import Account, PhoneNumber
from mas.core.platform.errors import Forbidden

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("mas.comms")

GRAPH_URL = "https://graph.facebook.com"
GRAPH_VERSION = "v21.0"
PROVIDER = "META"
# Graph codes that mean "slow down" or "try again": rate limits and temporary failures.
TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 133004})
MAX_TEMPLATE_PAGES = 50
_STATUS: dict[str, EventStatus] = {
    "sent": "SENT",
    "delivered": "DELIVERED",
    "read": "READ",
    "failed": "FAILED",
}
_TEMPLATE_STATUS: dict[Any, TemplateStatus] = {
    "PENDING": "PENDING",
    "APPROVED": "APPROVED",
    "REJECTED": "REJECTED",
    "PAUSED": "PAUSED",
    "DISABLED": "DISABLED",
}
_CATEGORIES: dict[str, TemplateCategory] = {
    "MARKETING": "MARKETING",
    "UTILITY": "UTILITY",
    "AUTHENTICATION": "AUTHENTICATION",
}
_PARAM = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_IMAGE = (".jpg", ".jpeg", ".png")
_VIDEO = (".mp4", ".3gp")


class MetaCloudProvider:
    name = "META"

    def __init__(
        self,
        *,
        access_token: str,
        phone_number_id: str,
        waba_id: str,
        app_secret: str,
        verify_token: str,
        graph_version: str = GRAPH_VERSION,
        base_url: str = GRAPH_URL,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
        max_webhook_bytes: int = MAX_WEBHOOK_BYTES,
    ) -> None:
        self._token = access_token
        self._phone_number_id = phone_number_id
        self._waba_id = waba_id
        self._app_secret = app_secret
        self._verify_token = verify_token
        self._root = f"{base_url.rstrip('/')}/{graph_version}"
        self._http = http
        self._owns_http = http is None
        self._timeout_s = timeout_s
        self._max_webhook_bytes = max_webhook_bytes

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- sending ------------------------------------------------------------------------------

    async def send_template(
        self, *, to: str, name: str, language: str, params: list[str], media_url: str | None
    ) -> ProviderSend:
        components: list[dict[str, Any]] = []
        if media_url is not None:
            kind = _media_kind(media_url)
            components.append(
                {"type": "header", "parameters": [{"type": kind, kind: {"link": media_url}}]}
            )
        if params:
            components.append(
                {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
            )
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            template["components"] = components
        return await self._send({"type": "template", "template": template}, to)

    async def send_text(self, *, to: str, body: str) -> ProviderSend:
        return await self._send({"type": "text", "text": {"preview_url": False, "body": body}}, to)

    async def _send(self, content: dict[str, Any], to: str) -> ProviderSend:
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": digits(to),
            **content,
        }
        raw = msgspec.json.encode(payload)
        answer = await self._call("POST", f"/{self._phone_number_id}/messages", content=raw)
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        message_id = first.get("id") if isinstance(first, dict) else None
        if not isinstance(message_id, str) or not message_id:
            raise ProviderRejected(
                PROVIDER, "unreadable_answer", "the send answer carries no message id"
            )
        return ProviderSend(provider_message_id=message_id, request_payload=raw)

    # --- account ------------------------------------------------------------------------------

    async def account(self) -> Account:
        """The business account (WABA) and its phone numbers (the manager's account page)."""
        waba = await self._call("GET", f"/{self._waba_id}", params={"fields": "id,name"})
        numbers = await self._call(
            "GET",
            f"/{self._waba_id}/phone_numbers",
            params={"fields": "id,display_phone_number,verified_name,quality_rating"},
        )
        data = numbers.get("data")
        return Account(
            provider="META",
            account_id=_text(waba.get("id")),
            name=_text(waba.get("name")),
            phone_numbers=[
                PhoneNumber(
                    id=str(item["id"])[:64],
                    display_phone_number=_text(item.get("display_phone_number")),
                    verified_name=_text(item.get("verified_name")),
                    quality_rating=_text(item.get("quality_rating")),
                )
                for item in (data if isinstance(data, list) else [])
                if isinstance(item, dict) and item.get("id") is not None
            ],
        )

    # --- templates ----------------------------------------------------------------------------

    async def list_templates(self) -> list[ProviderTemplate]:
        return await self._templates({})

    async def _templates(self, query: dict[str, str]) -> list[ProviderTemplate]:
        fields = "id,name,language,status,category,components,rejected_reason"
        params = {"fields": fields, "limit": "100", **query}
        found: list[ProviderTemplate] = []
        for _ in range(MAX_TEMPLATE_PAGES):
            answer = await self._call("GET", f"/{self._waba_id}/message_templates", params=params)
            data = answer.get("data")
            for item in data if isinstance(data, list) else []:
                template = _template(item)
                if template is not None:
                    found.append(template)
            # Follow the cursor on our own URL, never the ``next`` link the answer offers.
            paging = answer.get("paging")
            cursors = paging.get("cursors") if isinstance(paging, dict) else None
            after = cursors.get("after") if isinstance(cursors, dict) else None
            if not (isinstance(paging, dict) and paging.get("next") and isinstance(after, str)):
                return found
            params = {**params, "after": after}
        log.warning("whatsapp.meta.template_pages_capped", extra={"pages": MAX_TEMPLATE_PAGES})
        return found

    async def upsert_template(self, spec: TemplateSpec) -> ProviderTemplate:
        components = _components(spec)
        existing = await self._templates({"name": spec.name})
        same = next(
            (t for t in existing if t.name == spec.name and t.language == spec.language), None
        )
        provider_id: str | None
        status: TemplateStatus = "PENDING"
        if same is not None and same.provider_id is not None:
            edit = msgspec.json.encode({"category": spec.category, "components": components})
            await self._call("POST", f"/{same.provider_id}", content=edit)
            provider_id = same.provider_id
        else:
            create = msgspec.json.encode(
                {
                    "name": spec.name,
                    "language": spec.language,
                    "category": spec.category,
                    "components": components,
                }
            )
            answer = await self._call("POST", f"/{self._waba_id}/message_templates", content=create)
            provider_id = str(answer.get("id") or "") or None
            given = answer.get("status")
            status = _TEMPLATE_STATUS.get(given, "PENDING") if isinstance(given, str) else status
        return ProviderTemplate(
            provider_id=provider_id,
            name=spec.name,
            language=spec.language,
            category=spec.category,
            status=status,
            body=spec.body,
            header=spec.header,
            footer=spec.footer,
            buttons=list(spec.buttons),
            param_count=_param_count(spec.body),
        )

    async def delete_template(self, name: str) -> None:
        await self._call("DELETE", f"/{self._waba_id}/message_templates", params={"name": name})

    # --- webhooks -----------------------------------------------------------------------------

    def verify_subscription(self, query: Mapping[str, str]) -> str:
        return verify_subscription(self._verify_token, query)

    def verify_and_parse(self, headers: Mapping[str, str], body: bytes) -> list[WhatsAppEvent]:
        check_size(body, self._max_webhook_bytes)
        if not self._app_secret:  # an empty key would make every forged signature "valid"
            raise BadSignature("no app secret is configured to check webhook signatures")
        given = header(headers, "X-Hub-Signature-256")
        if not given or not given.startswith("sha256="):
            raise BadSignature("the X-Hub-Signature-256 header is missing or malformed")
        expected = "sha256=" + hmac_sha256_hex(self._app_secret, body)
        if not same_secret(given.strip(), expected):
            raise BadSignature("the X-Hub-Signature-256 signature does not match the body")
        return parse_webhook(body)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> dict[str, Any]:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient()
        headers = {"Authorization": f"Bearer {self._token}"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(
                method,
                f"{self._root}{path}",
                params=params,
                content=content,
                headers=headers,
                timeout=self._timeout_s,
            )
        except httpx.TransportError as exc:  # timeouts, refused or dropped connections
            raise ProviderUnavailable(PROVIDER, f"transport error: {exc!r}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code < 300 and isinstance(answer, dict):
            return answer
        raise _graph_error(response, answer)


def _graph_error(response: httpx.Response, answer: Any) -> Exception:
    status = response.status_code
    error = answer.get("error") if isinstance(answer, dict) else None
    wait = retry_after(response.headers.get("retry-after"))
    if not isinstance(error, dict):
        if status < 300:
            # Accepted, but we cannot tell what: retrying could send twice, so it is a verdict
            # (the failures portal can retry it by hand).
            return ProviderRejected(
                PROVIDER, "unreadable_answer", "the answer is not a JSON object", http_status=status
            )
        if status == 429 or status >= 500:
            return ProviderUnavailable(PROVIDER, f"HTTP {status}", retry_after=wait)
        return ProviderRejected(PROVIDER, f"http_{status}", f"HTTP {status}", http_status=status)
    code = error.get("code")
    subcode = error.get("error_subcode")
    code_text = str(code)[:40] if code is not None else f"http_{status}"
    if subcode is not None:
        code_text = f"{code_text}/{str(subcode)[:40]}"
    message = str(error.get("message") or "")[:500]
    details = error.get("error_data")
    if isinstance(details, dict) and isinstance(details.get("details"), str):
        message = f"{message} — {details['details'][:500]}"
    log.warning(
        "whatsapp.meta.error",
        extra={"status": status, "code": code_text, "fbtrace_id": error.get("fbtrace_id")},
    )
    transient_code = isinstance(code, int) and code in TRANSIENT_CODES
    if status == 429 or status >= 500 or transient_code or error.get("is_transient") is True:
        return ProviderUnavailable(PROVIDER, message, provider_code=code_text, retry_after=wait)
    return ProviderRejected(PROVIDER, code_text, message, http_status=status)


def _text(value: Any) -> str | None:
    return str(value)[:200] if value is not None else None


def _media_kind(url: str) -> str:
    path = url.split("?", 1)[0].lower()
    if path.endswith(_IMAGE):
        return "image"
    if path.endswith(_VIDEO):
        return "video"
    return "document"


def _param_count(text: str) -> int:
    return len({m.group(1) for m in _PARAM.finditer(text)})


def _components(spec: TemplateSpec) -> list[dict[str, Any]]:
    components: list[dict[str, Any]] = []
    if spec.header:
        components.append({"type": "HEADER", "format": "TEXT", "text": spec.header})
    body: dict[str, Any] = {"type": "BODY", "text": spec.body}
    if spec.examples:
        body["example"] = {"body_text": [list(spec.examples)]}
    components.append(body)
    if spec.footer:
        components.append({"type": "FOOTER", "text": spec.footer})
    if spec.buttons:
        buttons: list[dict[str, Any]] = []
        for button in spec.buttons:
            item: dict[str, Any] = {"type": button.kind, "text": button.text}
            if button.url is not None:
                item["url"] = button.url
            if button.phone_number is not None:
                item["phone_number"] = button.phone_number
            buttons.append(item)
        components.append({"type": "BUTTONS", "buttons": buttons})
    return components


def _template(item: Any) -> ProviderTemplate | None:
    """One entry of ``message_templates``; entries we cannot read are skipped (and logged)."""
    if not isinstance(item, dict):
        return None
    name, language, status = item.get("name"), item.get("language"), item.get("status")
    known = _TEMPLATE_STATUS.get(status) if isinstance(status, str) else None
    if not (isinstance(name, str) and isinstance(language, str) and known is not None):
        log.warning("whatsapp.meta.template_skipped", extra={"template": str(item)[:200]})
        return None
    texts: dict[str, str] = {}
    buttons: list[TemplateButton] = []
    components = item.get("components")
    for part in components if isinstance(components, list) else []:
        if not isinstance(part, dict):
            continue
        kind = str(part.get("type", "")).upper()
        if kind in ("HEADER", "BODY", "FOOTER") and isinstance(part.get("text"), str):
            texts[kind] = part["text"]
        elif kind == "BUTTONS" and isinstance(part.get("buttons"), list):
            for b in part["buttons"]:
                if isinstance(b, dict) and b.get("type") in ("QUICK_REPLY", "URL", "PHONE_NUMBER"):
                    buttons.append(
                        TemplateButton(
                            kind=b["type"],
                            text=str(b.get("text", "")),
                            url=b.get("url") if isinstance(b.get("url"), str) else None,
                            phone_number=b.get("phone_number")
                            if isinstance(b.get("phone_number"), str)
                            else None,
                        )
                    )
    category = item.get("category")
    reason = item.get("rejected_reason")
    body = texts.get("BODY", "")
    return ProviderTemplate(
        provider_id=str(item["id"]) if item.get("id") is not None else None,
        name=name,
        language=language,
        category=_CATEGORIES.get(category) if isinstance(category, str) else None,
        status=known,
        body=body,
        header=texts.get("HEADER"),
        footer=texts.get("FOOTER"),
        buttons=buttons,
        param_count=_param_count(body),
        rejection_reason=reason if isinstance(reason, str) and reason != "NONE" else None,
    )


# --- webhooks ----------------------------------------------------------------------------------


class _Error(msgspec.Struct):
    code: int | None = None
    title: Text | None = None
    message: Text | None = None


class _Status(msgspec.Struct):
    id: Id
    status: Short
    timestamp: Short
    recipient_id: Phone
    errors: list[_Error] = []


class _Text(msgspec.Struct):
    body: Text


class _Message(msgspec.Struct):
    id: Id
    timestamp: Short
    type: Short
    text: _Text | None = None
    # Sent by Meta for inbound messages; named ``from`` on the wire.
    sender: Phone | None = msgspec.field(name="from", default=None)


class _Profile(msgspec.Struct):
    name: Short | None = None


class _Contact(msgspec.Struct):
    wa_id: Phone
    profile: _Profile | None = None


class _Value(msgspec.Struct):
    messaging_product: str | None = None
    contacts: list[_Contact] = []
    messages: list[_Message] = []
    statuses: list[_Status] = []


class _Change(msgspec.Struct):
    field: str
    value: msgspec.Raw


class _Entry(msgspec.Struct):
    id: str
    changes: list[_Change] = []


class _Envelope(msgspec.Struct):
    object: str
    entry: list[_Entry]


def verify_subscription(verify_token: str, query: Mapping[str, str]) -> str:
    """The GET handshake: echo ``hub.challenge`` when mode and token are right, else 403."""
    mode, token, challenge = (
        query.get("hub.mode"),
        query.get("hub.verify_token"),
        query.get("hub.challenge"),
    )
    if mode != "subscribe" or token is None or not verify_token:
        raise Forbidden("not a valid subscription request", code="bad_verify_token")
    if not same_secret(token, verify_token):
        raise Forbidden("the verify token does not match", code="bad_verify_token")
    if not challenge or len(challenge) > 256:
        raise Forbidden("the challenge is missing or too long", code="bad_verify_token")
    return challenge


def parse_webhook(body: bytes) -> list[WhatsAppEvent]:
    """Meta's ``whatsapp_business_account`` webhook → events; other ``field``s are ignored."""
    try:
        envelope = msgspec.json.decode(body, type=_Envelope)
    except msgspec.DecodeError as exc:
        raise BadWebhookBody(f"not a WhatsApp webhook: {exc}") from None
    if envelope.object != "whatsapp_business_account":
        return []
    events: list[WhatsAppEvent] = []
    for entry in envelope.entry:
        for change in entry.changes:
            if change.field != "messages":
                continue
            try:
                value = msgspec.json.decode(change.value, type=_Value)
            except msgspec.DecodeError as exc:
                raise BadWebhookBody(f"not a WhatsApp messages change: {exc}") from None
            events.extend(_events(value))
            if len(events) > MAX_EVENTS:
                raise BadWebhookBody(f"more than {MAX_EVENTS} events in one webhook")
    return events


def _events(value: _Value) -> list[WhatsAppEvent]:
    events: list[WhatsAppEvent] = []
    names = {c.wa_id: c.profile.name for c in value.contacts if c.profile is not None}
    for message in value.messages:
        at = from_unix(message.timestamp)
        if at is None or not message.sender:
            raise BadWebhookBody(f"message {message.id[:80]} has no sender or timestamp")
        events.append(
            WhatsAppEvent(
                kind="message",
                provider_message_id=message.id,
                status="RECEIVED",
                peer_phone=e164(message.sender),
                timestamp=at,
                text=message.text.body if message.text is not None else None,
                peer_name=names.get(message.sender),
                message_type=message.type,
            )
        )
    for status in value.statuses:
        mapped = _STATUS.get(status.status)
        if mapped is None:  # "deleted", "warning"…: not a state of ours
            continue
        at = from_unix(status.timestamp)
        if at is None:
            raise BadWebhookBody(f"status of {status.id[:80]} has no readable timestamp")
        error = status.errors[0] if status.errors else None
        events.append(
            WhatsAppEvent(
                kind="status",
                provider_message_id=status.id,
                status=mapped,
                peer_phone=e164(status.recipient_id),
                timestamp=at,
                error_code=str(error.code) if error is not None and error.code else None,
                error_message=(error.message or error.title) if error is not None else None,
            )
        )
    return events
