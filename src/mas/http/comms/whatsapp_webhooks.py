"""The WhatsApp providers' webhooks (public; authenticated by signature or shared secret).

Meta: ``GET`` is the subscription handshake (``hub.verify_token`` → the challenge echoed, else
403); ``POST`` carries ``X-Hub-Signature-256`` over the raw body (wrong → 401, nothing stored).
AiSensy: the URL we register carries a shared secret as ``?key=``. A valid signature over a body
that is not the provider's shape is a 400 (the body is kept for inspection); known or unknown
message ids alike answer 200.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import QueryParameter

from mas.core.comms.whatsapp.inbox import WebhookResult
from mas.http.comms import Comms, CommsController

PRESENT = {"one_of": None, "type": "string"}
SIGNATURE_RULES = {
    "bad_signature": "the request is signed with the configured secret (401)",
    "bad_webhook_body": "the body is the provider's webhook JSON (400)",
}
SIGNATURE_STATUS = {"bad_signature": 401, "bad_webhook_body": 400}
HubField = Annotated[str | None, QueryParameter(max_length=256, schema_extra=PRESENT)]
AiSensyKey = Annotated[
    str | None,
    QueryParameter(max_length=200, description="the shared secret", schema_extra=PRESENT),
]


class WhatsAppWebhookController(CommsController):
    path = "/api/webhooks/whatsapp"
    tags = ["comms: webhooks"]
    opt = {"public": True}

    @get(
        "/meta",
        operation_id="metaWebhookHandshake",
        summary="Meta's subscription handshake: echo hub.challenge",
        media_type="text/plain",
        opt={
            "rules": {"bad_verify_token": "hub.verify_token is the configured token (403)"},
            "rules_status": 403,
        },
    )
    async def handshake(
        self,
        comms: Comms,
        mode: Annotated[
            str | None, QueryParameter(name="hub.mode", max_length=20, schema_extra=PRESENT)
        ] = None,
        verify_token: Annotated[
            str | None,
            QueryParameter(name="hub.verify_token", max_length=256, schema_extra=PRESENT),
        ] = None,
        challenge: Annotated[
            str | None, QueryParameter(name="hub.challenge", max_length=256, schema_extra=PRESENT)
        ] = None,
    ) -> Response[str]:
        query = {
            k: v
            for k, v in (
                ("hub.mode", mode),
                ("hub.verify_token", verify_token),
                ("hub.challenge", challenge),
            )
            if v is not None
        }
        answer = await comms.whatsapp.inbox.handshake(query)
        return Response(answer, media_type="text/plain")

    @post(
        "/meta",
        operation_id="metaWebhook",
        summary="Meta's message and status callbacks (X-Hub-Signature-256)",
        status_code=200,
        opt={"rules": SIGNATURE_RULES, "rules_status": SIGNATURE_STATUS},
    )
    async def meta(self, comms: Comms, request: Request[Any, Any, Any]) -> WebhookResult:
        body = await request.body()
        return await comms.whatsapp.inbox.receive("META", request.headers, body)

    @post(
        "/aisensy",
        operation_id="aisensyWebhook",
        summary="AiSensy's message and status callbacks (?key= shared secret)",
        status_code=200,
        opt={"rules": SIGNATURE_RULES, "rules_status": SIGNATURE_STATUS},
    )
    async def aisensy(
        self, comms: Comms, request: Request[Any, Any, Any], key: AiSensyKey = None
    ) -> WebhookResult:
        body = await request.body()
        headers = {"X-Webhook-Key": key or ""}
        return await comms.whatsapp.inbox.receive("AISENSY", headers, body)
