"""Communications: the whatsapp part (communications.md). Built by its manifest part,
``mas.modules.comms.whatsapp``.

Exports the part's services (``WhatsAppServices``), what builds them (``WhatsAppPorts``,
``build_whatsapp``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.comms.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class WhatsAppPorts:
    pass


@dataclass(frozen=True)
class WhatsAppServices:
    pass


def build_whatsapp(ports: WhatsAppPorts) -> WhatsAppServices:
    return WhatsAppServices()


HANDLERS: Sequence[Handler[WhatsAppServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[WhatsAppServices, Any]] = ()
