"""Communications: the whatsapp part (communications.md). Built by its manifest part,
``mas.modules.comms.whatsapp``.

Exports the part's services (``WhatsAppServices``), what builds them (``WhatsAppPorts``,
``build_whatsapp``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.comms.handlers`` binds them to the domain's).

Inside: ``model`` (records, the monotonic status rule), ``writer`` (the messenger's side:
approved templates, the 24-hour window, quiet hours, idempotency), ``sending`` (the send task,
the sweeper, the failures portal's retry), ``inbox`` (webhooks), ``manager`` (templates, their
sync, the account, credentials), ``senders`` (HR recruiters), ``leads`` (a CRM lead's channel),
``reminders`` (for other domains), ``retention``.
"""

from __future__ import annotations

from mas.core.comms.whatsapp.handlers import CRONS, HANDLERS, SUBSCRIPTIONS
from mas.core.comms.whatsapp.services import WhatsAppPorts, WhatsAppServices, build_whatsapp

__all__ = [
    "CRONS",
    "HANDLERS",
    "SUBSCRIPTIONS",
    "WhatsAppPorts",
    "WhatsAppServices",
    "build_whatsapp",
]
