"""The domain's tasks, crons and subscriptions: each part's, bound to the domain's services.

A part's handler takes the part's services (``comms.whatsapp``); the manifest hands the runner
the domain's (``CommsServices``), so each is lifted to pick its part.
"""

from __future__ import annotations

from typing import Any

from mas.core.comms import mail, notifications, telephony, whatsapp
from mas.core.comms.services import CommsServices
from mas.core.platform.events import Subscription, lift_subscriptions
from mas.core.platform.tasking import Handler, Task, lift_handlers

PARTS = {
    "mail": mail,
    "notifications": notifications,
    "whatsapp": whatsapp,
    "telephony": telephony,
}

HANDLERS: list[Handler[CommsServices, Any]] = [
    h for name, part in PARTS.items() for h in lift_handlers(name, part.HANDLERS)
]
CRONS: dict[Task[Any], str] = {t: e for part in PARTS.values() for t, e in part.CRONS.items()}
SUBSCRIPTIONS: list[Subscription[CommsServices, Any]] = [
    s for name, part in PARTS.items() for s in lift_subscriptions(name, part.SUBSCRIPTIONS)
]
