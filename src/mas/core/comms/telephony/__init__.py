"""Communications: the telephony part (communications.md). Built by its manifest part,
``mas.modules.comms.telephony``.

Exports the part's services (``TelephonyServices``), what builds them (``TelephonyPorts``,
``build_telephony``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.comms.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class TelephonyPorts:
    pass


@dataclass(frozen=True)
class TelephonyServices:
    pass


def build_telephony(ports: TelephonyPorts) -> TelephonyServices:
    return TelephonyServices()


HANDLERS: Sequence[Handler[TelephonyServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[TelephonyServices, Any]] = ()
