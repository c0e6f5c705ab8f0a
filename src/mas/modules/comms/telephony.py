"""The communications manifest's telephony part: its tables, repositories, controllers and how
its services are built from the container.

Exotel is used when the five ``MAS_EXOTEL_*`` settings (subdomain, SID, API key and token,
caller id) are all set; otherwise telephony is disabled (``enabled: false``; calls and SMS
answer 503 ``telephony_disabled``). ``exotel_subdomain`` is the API host Exotel gives the
account (``api.exotel.com``, ``api.in.exotel.com``); ``exotel_base_url`` gives the scheme.

Exotel's status callbacks come to ``public_base_url`` with ``?token=``: the
``exotel_webhook_token`` setting, or, when unset, one derived from the installation's secret
(HMAC-SHA256 of ``encryption_key``, else the JWT secret), so it is never empty and never
guessable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from typing import Any
from urllib.parse import quote, urlsplit

from mas.adapters.comms.exotel import ExotelClient
from mas.adapters.db.comms.telephony import SqlCallLogRepository, SqlSmsLogRepository
from mas.core.comms.ports.telephony import Telephony
from mas.core.comms.telephony import TelephonyPorts, TelephonyServices, build_telephony
from mas.core.comms.telephony.writer import SmsWriter
from mas.modules.container import BoundHandler, Container
from mas.settings import Settings

TABLES: list[str] = ["mas.adapters.db.comms.telephony_tables"]
REPOSITORIES: dict[str, Any] = {
    "call_logs": SqlCallLogRepository,
    "sms_logs": SqlSmsLogRepository,
}
CONTROLLERS: list[str] = [
    "mas.http.comms.telephony:TelephonyController",
    "mas.http.comms.telephony:ExotelWebhookController",
]

CALL_STATUS_PATH = "/api/webhooks/exotel/call-status"
SMS_STATUS_PATH = "/api/webhooks/exotel/sms-status"


def webhook_token(settings: Settings) -> str:
    if settings.exotel_webhook_token:
        return settings.exotel_webhook_token
    secret = settings.encryption_key or settings.effective_jwt_secret
    return hmac.new(secret.encode(), b"mas.comms.exotel.webhook", hashlib.sha256).hexdigest()


def exotel(settings: Settings) -> ExotelClient:
    """The Exotel client from the settings (disabled, sending nothing, when one is missing)."""
    return ExotelClient(
        subdomain=settings.exotel_subdomain,
        sid=settings.exotel_sid,
        api_key=settings.exotel_api_key,
        api_token=settings.exotel_api_token,
        caller_id=settings.exotel_caller_id,
        scheme=urlsplit(settings.exotel_base_url).scheme or "https",
    )


def services(c: Container, telephony: Telephony) -> TelephonyServices:
    """The part's services over ``telephony`` (the manifest's Exotel, or a test's)."""
    from mas.modules.comms import CrmLeads

    settings = c.settings
    token = webhook_token(settings)
    base = settings.public_base_url.rstrip("/")
    return build_telephony(
        TelephonyPorts(
            uow=c.uow,
            clock=c.clock,
            jobs=c.jobs,
            telephony=telephony,
            leads=CrmLeads(c),
            call_status_url=f"{base}{CALL_STATUS_PATH}?token={quote(token, safe='')}",
            sms_status_url=f"{base}{SMS_STATUS_PATH}?token={quote(token, safe='')}",
            webhook_token=token,
            caller_id=settings.exotel_caller_id.strip(),
        )
    )


def writer(c: Container) -> SmsWriter:
    """This part's side of the messenger (built before any domain; platform fields only)."""
    return SmsWriter(c.clock)


def build(c: Container) -> TelephonyServices:
    client = exotel(c.settings)
    c.closers.append(client.aclose)
    return services(c, client)


def install(c: Container, telephony: Telephony) -> TelephonyServices:
    """Swap the built container's telephony adapter (a test's fake Exotel, as the fuzz gate
    does for Google sign-in); HTTP requests read the domain's services per request."""
    part = services(c, telephony)
    before = c.domains["comms"]
    after = c.domains["comms"] = dataclasses.replace(before, telephony=part)
    for name, bound in list(c.tasks.items()):
        if bound.services is before:
            c.tasks[name] = BoundHandler(bound.handler, after)
    return part
