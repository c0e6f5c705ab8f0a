"""The communications domain's services, as the platform builds them once per process."""

from __future__ import annotations

from dataclasses import dataclass

from mas.core.comms.mail import MailServices
from mas.core.comms.messenger import CommsMessenger
from mas.core.comms.notifications import NotificationServices
from mas.core.comms.telephony import TelephonyServices
from mas.core.comms.whatsapp import WhatsAppServices


@dataclass(frozen=True)
class CommsServices:
    messenger: CommsMessenger
    """The facade every domain sends through (also ``container.messenger``)."""
    mail: MailServices
    notifications: NotificationServices
    whatsapp: WhatsAppServices
    telephony: TelephonyServices
