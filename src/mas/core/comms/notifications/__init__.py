"""Communications: the notifications part (communications.md). Built by its manifest part,
``mas.modules.comms.notifications``.

Exports the part's services (``NotificationServices``), what builds them (``NotificationPorts``,
``build_notifications``) and its tasks (``HANDLERS``, ``CRONS``, ``SUBSCRIPTIONS``: handlers take
the part's services; ``mas.core.comms.handlers`` binds them to the domain's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.platform.events import Subscription
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class NotificationPorts:
    pass


@dataclass(frozen=True)
class NotificationServices:
    pass


def build_notifications(ports: NotificationPorts) -> NotificationServices:
    return NotificationServices()


HANDLERS: Sequence[Handler[NotificationServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[NotificationServices, Any]] = ()
