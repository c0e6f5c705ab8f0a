"""Fake WhatsApp providers speaking their wire formats, and signed-webhook builders.

``FakeGraph`` answers the Graph API calls the Meta adapter makes (messages, message_templates
with cursor paging, template edit by id), checks the bearer token and the request shape, and
refuses like Graph does: error objects ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``. ``FakeAiSensy`` answers the campaign API. Both are ASGI apps reached through
``httpx.ASGITransport``: the adapter's real httpx client builds and sends every request and reads
every answer, without a socket. ``fail_with`` queues raw answers (429 with Retry-After, 5xx, HTML
error pages) served before normal behaviour resumes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

Answer = tuple[int, bytes, dict[str, str]]


def json_answer(status: int, document: Any, headers: dict[str, str] | None = None) -> Answer:
    return (
        status,
        json.dumps(document).encode(),
        {"content-type": "application/json", **(headers or {})},
    )


def graph_error(
    status: int,
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
) -> Answer:
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": "AbCdEf123",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return json_answer(status, {"error": error})


async def _read(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _answer(send: Any, answer: Answer) -> None:
    status, body, headers = answer
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeGraph:
    token: str = "meta-token"
    version: str = "v21.0"
    phone_number_id: str = "106540352242922"
    waba_id: str = "102290129340398"
    # (name, language) → the template as Graph lists it.
    templates: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    not_on_whatsapp: set[str] = field(default_factory=set)  # digits, as sent
    fail_with: list[Answer] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    _ids: int = 0

    def add_template(
        self, name: str, language: str = "en", *, status: str = "APPROVED", body: str = "Hi {{1}}"
    ) -> None:
        self._ids += 1
        self.templates[(name, language)] = {
            "id": str(900000 + self._ids),
            "name": name,
            "language": language,
            "status": status,
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": body}],
        }

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode()).items()}
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        request = Request(scope["method"], scope["path"], query, headers, await _read(receive))
        self.requests.append(request)
        await _answer(send, self._handle(request))

    def _handle(self, request: Request) -> Answer:
        if self.fail_with:
            return self.fail_with.pop(0)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        parts = request.path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != self.version:
            return graph_error(400, 2500, "Unknown path components", kind="OAuthException")
        node, edge = parts[1], parts[2] if len(parts) > 2 else None
        if node == self.phone_number_id and edge == "messages" and request.method == "POST":
            return self._message(request.json())
        if node == self.waba_id and edge == "message_templates":
            if request.method == "GET":
                return self._list(request.query)
            if request.method == "POST":
                return self._create(request.json())
            if request.method == "DELETE":
                return self._delete(request.query)
        if edge is None and request.method == "POST":
            return self._edit(node, request.json())
        return graph_error(400, 100, "Unsupported request", subcode=33, kind="GraphMethodException")

    def _message(self, payload: dict[str, Any]) -> Answer:
        if payload.get("messaging_product") != "whatsapp":
            return graph_error(400, 100, "(#100) The parameter messaging_product is required.")
        to = payload.get("to")
        if not isinstance(to, str) or not to.isdigit():
            return graph_error(400, 100, "(#100) Invalid parameter", kind="OAuthException")
        if payload.get("type") == "template":
            template = payload["template"]
            known = self.templates.get((template["name"], template["language"]["code"]))
            if known is None or known["status"] != "APPROVED":
                return graph_error(
                    404, 132001, "(#132001) Template name does not exist in the translation"
                )
        elif payload.get("type") == "text":
            if not payload.get("text", {}).get("body"):
                return graph_error(400, 100, "(#100) The parameter text['body'] is required.")
        else:
            return graph_error(400, 100, "(#100) Param type must be one of {TEXT, TEMPLATE}")
        if to in self.not_on_whatsapp:
            return graph_error(
                400, 131026, "(#131026) Message undeliverable", kind="OAuthException"
            )
        self._ids += 1
        return json_answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": f"wamid.HBgM{self._ids:06d}"}],
            },
        )

    def _list(self, query: dict[str, str]) -> Answer:
        items = [t for t in self.templates.values() if query.get("name") in (None, t["name"])]
        limit = int(query.get("limit", "25"))
        start = int(query.get("after", "0"))
        page = items[start : start + limit]
        document: dict[str, Any] = {"data": page}
        if start + limit < len(items):
            after = str(start + limit)
            document["paging"] = {
                "cursors": {"before": str(start), "after": after},
                "next": f"https://graph.facebook.com/{self.version}/{self.waba_id}/message_templates?after={after}",
            }
        elif page:
            document["paging"] = {
                "cursors": {"before": str(start), "after": str(start + len(page))}
            }
        return json_answer(200, document)

    def _create(self, payload: dict[str, Any]) -> Answer:
        key = (payload.get("name"), payload.get("language"))
        if not all(isinstance(k, str) for k in key) or payload.get("category") not in (
            "MARKETING",
            "UTILITY",
            "AUTHENTICATION",
        ):
            return graph_error(400, 100, "Invalid parameter", subcode=2388043)
        if key in self.templates:
            return graph_error(
                400, 100, "Message template already exists in this language", subcode=2388024
            )
        self._ids += 1
        template = {
            "id": str(900000 + self._ids),
            "name": key[0],
            "language": key[1],
            "status": "PENDING",
            "category": payload["category"],
            "components": payload.get("components", []),
        }
        self.templates[key] = template  # type: ignore[index]
        return json_answer(
            200, {"id": template["id"], "status": "PENDING", "category": payload["category"]}
        )

    def _edit(self, template_id: str, payload: dict[str, Any]) -> Answer:
        for template in self.templates.values():
            if template["id"] == template_id:
                template["components"] = payload.get("components", template["components"])
                template["status"] = "PENDING"
                return json_answer(200, {"success": True})
        return graph_error(
            400,
            100,
            f"Unsupported post request. Object with ID '{template_id}' does not exist",
            subcode=33,
            kind="GraphMethodException",
        )

    def _delete(self, query: dict[str, str]) -> Answer:
        gone = [key for key in self.templates if key[0] == query.get("name")]
        if not gone:
            return graph_error(400, 100, "Message template not found", subcode=2593002)
        for key in gone:
            del self.templates[key]
        return json_answer(200, {"success": True})


@dataclass
class FakeAiSensy:
    api_key: str = "aisensy-key"
    # campaign name → number of template parameters it expects
    campaigns: dict[str, int] = field(default_factory=dict)
    fail_with: list[Answer] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    _ids: int = 0

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        request = Request(scope["method"], scope["path"], {}, headers, await _read(receive))
        self.requests.append(request)
        await _answer(send, self._handle(request))

    def _handle(self, request: Request) -> Answer:
        if self.fail_with:
            return self.fail_with.pop(0)
        if request.method != "POST" or request.path != "/campaign/t1/api/v2":
            return json_answer(404, {"success": False, "message": "Not Found"})
        try:
            payload = request.json()
        except ValueError:
            return json_answer(400, {"success": False, "message": "Invalid JSON"})
        if payload.get("apiKey") != self.api_key:
            return json_answer(401, {"success": False, "message": "Invalid API Key"})
        for required in ("campaignName", "destination", "userName"):
            if not payload.get(required):
                return json_answer(400, {"success": False, "message": f"{required} is required"})
        expected = self.campaigns.get(payload["campaignName"])
        if expected is None:
            return json_answer(
                400, {"success": False, "message": "Campaign does not exist or is not live"}
            )
        if len(payload.get("templateParams", [])) != expected:
            return json_answer(
                400,
                {
                    "success": False,
                    "message": f"Template params does not match the campaign ({expected})",
                },
            )
        self._ids += 1
        return json_answer(200, {"success": "true", "submitted_message_id": f"aisensy-{self._ids}"})


# --- signed webhooks ---------------------------------------------------------------------------


def meta_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def meta_webhook(
    app_secret: str,
    *,
    statuses: list[dict[str, Any]] | None = None,
    messages: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    extra_changes: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, str], bytes]:
    """A ``whatsapp_business_account`` webhook as Meta posts it, with its signature header."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    }
    if contacts:
        value["contacts"] = contacts
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    changes = [{"value": value, "field": "messages"}, *(extra_changes or [])]
    document = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": changes}],
    }
    body = json.dumps(document).encode()
    return {
        "content-type": "application/json",
        "X-Hub-Signature-256": meta_signature(app_secret, body),
    }, body


def aisensy_webhook(secret: str, document: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """An AiSensy webhook, with the shared secret where the route puts the ``?key=`` value."""
    return {"content-type": "application/json", "X-Webhook-Key": secret}, json.dumps(
        document
    ).encode()
