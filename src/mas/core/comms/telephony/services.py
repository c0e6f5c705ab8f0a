"""Telephony's services as the manifest builds them, and the webhooks' shared secret."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from mas.core.comms.ports.leads import LeadDirectory
from mas.core.comms.ports.telephony import Telephony
from mas.core.comms.telephony.calls import CallService
from mas.core.comms.telephony.model import TelephonyStatus
from mas.core.comms.telephony.ports import TelephonyUnitOfWork
from mas.core.comms.telephony.sms import SmsService
from mas.core.platform.errors import Unauthorized
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class TelephonyPorts:
    uow: UnitOfWorkFactory[TelephonyUnitOfWork]
    clock: Clock
    jobs: Enqueuer
    telephony: Telephony
    leads: LeadDirectory
    call_status_url: str
    """Where Exotel posts a call's end (with ``?token=``)."""
    sms_status_url: str
    webhook_token: str
    """What the webhooks' ``?token=`` must be (never empty: the module derives one)."""
    caller_id: str
    """The ExoPhone both parties see."""


@dataclass(frozen=True)
class TelephonyServices:
    calls: CallService
    sms: SmsService
    telephony: Telephony
    webhook_token: str

    def status(self) -> TelephonyStatus:
        """Calls and SMS go through one Exotel account: both work or neither does."""
        enabled = self.telephony.enabled
        return TelephonyStatus(enabled=enabled, sms_enabled=enabled)

    def check_token(self, given: str | None) -> None:
        """401 unless ``given`` is the webhooks' token (compared in constant time)."""
        expected = self.webhook_token.encode()
        if not expected or given is None or not hmac.compare_digest(given.encode(), expected):
            raise Unauthorized("the webhook token is not right", code="bad_webhook_token")


def build_telephony(ports: TelephonyPorts) -> TelephonyServices:
    return TelephonyServices(
        calls=CallService(
            uow=ports.uow,
            clock=ports.clock,
            telephony=ports.telephony,
            leads=ports.leads,
            status_callback=ports.call_status_url,
            caller_id=ports.caller_id,
        ),
        sms=SmsService(
            uow=ports.uow,
            clock=ports.clock,
            jobs=ports.jobs,
            telephony=ports.telephony,
            leads=ports.leads,
            status_callback=ports.sms_status_url,
        ),
        telephony=ports.telephony,
        webhook_token=ports.webhook_token,
    )
