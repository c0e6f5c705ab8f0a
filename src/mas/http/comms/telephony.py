"""Telephony over HTTP: click-to-call and SMS for a lead, a lead's calls, recordings streamed
through our API (the provider's URL never leaves the server), and Exotel's status callbacks.

The lead routes use the CRM's lead scope (``sales``, page ``crm.leads``): a lead or call the
caller cannot see is a 404. The webhooks are public and authenticated by their ``?token=``
(a wrong one is a 401 and nothing is read); Exotel posts them form-encoded.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from mas.core.comms.telephony.model import CallView, SmsRequest, SmsView, TelephonyStatus
from mas.core.platform.paging import Page, PageRequest
from mas.http.comms import Comms, CommsController
from mas.http.params import CallerDep, PageNo, PageSize

LEAD_PHONE_RULE = {"lead_has_no_phone": "the lead has a phone number"}
CALL_RULES = {
    **LEAD_PHONE_RULE,
    "agent_has_no_phone": "the caller's profile has a phone number (it is rung first)",
    "call_already_active": "the caller has no other call in progress",
}
WEBHOOK_RULES = {"bad_webhook_token": "token is the webhook token Exotel was given"}
WebhookToken = Annotated[
    str | None,
    QueryParameter(
        max_length=200,
        description="the shared secret in the callback URL given to Exotel",
        schema_extra={"one_of": None, "type": "string"},
    ),
]


class WebhookReceipt(msgspec.Struct, frozen=True):
    applied: bool
    """False when the callback changed nothing (an unknown id, an older or repeated report)."""


class TelephonyController(CommsController):
    """A salesperson's calls and SMS to their leads (heads and admins: their scope)."""

    path = "/api/sales/crm"
    tags = ["comms: telephony"]
    opt = {"policy": "sales", "page": "crm.leads"}

    @get(
        "/telephony/status",
        operation_id="telephonyStatus",
        summary="Whether calls and SMS work (else use tel: links)",
    )
    async def status(self, comms: Comms) -> TelephonyStatus:
        return comms.telephony.status()

    @post(
        "/leads/{lead_id:uuid}/call",
        operation_id="callLead",
        summary="Click-to-call: ring my phone, then bridge the lead",
        status_code=201,
        opt={
            "rules": CALL_RULES,
            "rules_status": {"call_already_active": 409},
            # 502: the provider refused the call; 503: telephony disabled or unreachable
            "problems": (409, 502, 503),
        },
    )
    async def call(self, comms: Comms, caller: CallerDep, lead_id: FromPath[uuid.UUID]) -> CallView:
        return await comms.telephony.calls.place(caller, lead_id)

    @post(
        "/leads/{lead_id:uuid}/sms",
        operation_id="smsLead",
        summary="Send a transactional SMS to the lead (a provider outage is retried later)",
        status_code=201,
        opt={"rules": LEAD_PHONE_RULE, "problems": (503,)},  # 503: telephony disabled
    )
    async def sms(
        self,
        comms: Comms,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        data: JSONBody[SmsRequest],
    ) -> SmsView:
        return await comms.telephony.sms.send(caller, lead_id, data)

    @get(
        "/leads/{lead_id:uuid}/calls",
        operation_id="leadCalls",
        summary="The lead's calls, newest first",
    )
    async def calls(
        self,
        comms: Comms,
        caller: CallerDep,
        lead_id: FromPath[uuid.UUID],
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[CallView]:
        return await comms.telephony.calls.for_lead(caller, lead_id, PageRequest(page, page_size))

    @get(
        "/calls/{call_id:uuid}/recording",
        operation_id="callRecording",
        summary="The call's recording (audio), streamed through the API",
        media_type="audio/mpeg",
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="audio/mpeg",
                description="the recording's audio, streamed",
                generate_examples=False,
            )
        },
        opt={"problems": (502, 503)},  # the provider refused or is down
    )
    async def recording(
        self, comms: Comms, caller: CallerDep, call_id: FromPath[uuid.UUID]
    ) -> Stream:
        chunks = await comms.telephony.calls.recording(caller, call_id)
        return Stream(
            chunks,
            media_type="audio/mpeg",
            headers={"Cache-Control": "private, no-store"},
        )


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    body = await request.body()
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class ExotelWebhookController(CommsController):
    """Exotel's callbacks: a call's end and an SMS's delivery (form-encoded, ``?token=``)."""

    path = "/api/webhooks/exotel"
    tags = ["comms: webhooks"]
    opt = {"public": True}

    @post(
        "/call-status",
        operation_id="exotelCallStatus",
        summary="Exotel's call completion callback",
        status_code=200,
        opt={"rules": WEBHOOK_RULES, "rules_status": 401},
    )
    async def call_status(
        self, comms: Comms, request: Request[Any, Any, Any], token: WebhookToken = None
    ) -> WebhookReceipt:
        comms.telephony.check_token(token)
        applied = await comms.telephony.calls.on_callback(await _form(request))
        return WebhookReceipt(applied=applied)

    @post(
        "/sms-status",
        operation_id="exotelSmsStatus",
        summary="Exotel's SMS delivery callback",
        status_code=200,
        opt={"rules": WEBHOOK_RULES, "rules_status": 401},
    )
    async def sms_status(
        self, comms: Comms, request: Request[Any, Any, Any], token: WebhookToken = None
    ) -> WebhookReceipt:
        comms.telephony.check_token(token)
        applied = await comms.telephony.sms.on_status(await _form(request))
        return WebhookReceipt(applied=applied)
