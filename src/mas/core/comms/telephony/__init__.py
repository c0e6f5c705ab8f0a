"""Communications: the telephony part (communications.md). Built by its manifest part,
``mas.modules.comms.telephony``.

Exports the part's services (``TelephonyServices``), what builds them (``TelephonyPorts``,
``build_telephony``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.comms.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mas.core.comms.telephony import handlers
from mas.core.comms.telephony.services import TelephonyPorts, TelephonyServices, build_telephony
from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task

HANDLERS: Sequence[Handler[TelephonyServices, Any]] = handlers.HANDLERS
CRONS: Mapping[Task[Any], str] = handlers.CRONS
SUBSCRIPTIONS: Sequence[Subscription[TelephonyServices, Any]] = handlers.SUBSCRIPTIONS

__all__ = [
    "CRONS",
    "HANDLERS",
    "SUBSCRIPTIONS",
    "TelephonyPorts",
    "TelephonyServices",
    "build_telephony",
]
